//! The hybrid LSTM in libtorch (through `tch`), its weights as named flat arrays, and the saved
//! model directory.
//!
//! Architecture (the reference's PyTorch module): `LSTM(3 → 64)` over the real steps of the
//! post-padded sequence — its output at step `length − 1`, zero for a row with no history — ‖
//! `ReLU(Linear(3 → 64))` of the statics → `Linear(128 → 1)`. Parameter names and shapes are
//! PyTorch's (`lstm.weight_ih_l0` `[256, 3]`, `lstm.weight_hh_l0` `[256, 64]`,
//! `lstm.bias_ih_l0`/`lstm.bias_hh_l0` `[256]`, `static.weight` `[64, 3]`, `static.bias`,
//! `head.weight` `[1, 128]`, `head.bias` `[1]`): 18,049 parameters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, RNN};
use tch::{Device, Kind, Tensor};

use crate::prepare::{Scaler, SEQ_FEATURES, STATICS, STEPS};

/// LSTM and static-branch width.
pub const HIDDEN: i64 = 64;
/// The saved weights in a model directory (safetensors, PyTorch parameter names).
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The model's description in a model directory.
pub const META_FILE: &str = "harness-model.json";

/// The network; its variables live in the [`nn::VarStore`] it was built from.
#[derive(Debug)]
pub struct Net {
    lstm: nn::LSTM,
    statics: nn::Linear,
    head: nn::Linear,
}

impl Net {
    /// Builds the layers under `root` with libtorch's default initialisation (seed it with
    /// [`tch::manual_seed`] first for reproducible weights).
    pub fn new(root: &nn::Path) -> Net {
        let cfg = nn::RNNConfig {
            batch_first: true,
            ..Default::default()
        };
        Net {
            lstm: nn::lstm(root / "lstm", SEQ_FEATURES.len() as i64, HIDDEN, cfg),
            statics: nn::linear(
                root / "static",
                STATICS.len() as i64,
                HIDDEN,
                Default::default(),
            ),
            head: nn::linear(root / "head", 2 * HIDDEN, 1, Default::default()),
        }
    }

    /// Predictions `[B]` (kWh) of `seq` `[B, STEPS, 3]` (f32), `length` `[B]` (i64, 0..=STEPS)
    /// and `statics` `[B, 3]` (f32).
    pub fn forward(&self, seq: &Tensor, length: &Tensor, statics: &Tensor) -> Tensor {
        let (out, _) = self.lstm.seq(seq);
        // The output at step `length − 1` as a one-hot weighted sum over the steps: `[B, STEPS,
        // 1]` with 1 at that step, all zeros for a row with no history. Exactly the selected
        // values (the other terms are zeros), and backward is one multiplication, where a
        // `gather` costs a strided scatter into a zeroed `[B, STEPS, 64]` per step.
        let steps = Tensor::arange_start(1, STEPS as i64 + 1, (Kind::Int64, length.device()));
        let last = length
            .unsqueeze(1)
            .eq_tensor(&steps)
            .to_kind(Kind::Float)
            .unsqueeze(2);
        let h = (out * last).sum_dim_intlist(1, false, Kind::Float);
        let s = self.statics.forward(statics).relu();
        self.head.forward(&Tensor::cat(&[h, s], 1)).squeeze_dim(1)
    }
}

/// A batch of model inputs as tensors on one device.
#[derive(Debug)]
pub struct Inputs {
    /// `[B, STEPS, 3]` f32.
    pub seq: Tensor,
    /// `[B]` i64.
    pub length: Tensor,
    /// `[B, 3]` f32.
    pub statics: Tensor,
    /// `[B]` f32, kWh.
    pub target: Tensor,
}

impl Inputs {
    /// All rows of `t` on `device`.
    pub fn of(t: &crate::prepare::Table, device: Device) -> Inputs {
        let b = t.rows() as i64;
        Inputs {
            seq: Tensor::from_slice(&t.seq)
                .view([b, STEPS as i64, SEQ_FEATURES.len() as i64])
                .to_device(device),
            length: Tensor::from_slice(&t.length).to_device(device),
            statics: Tensor::from_slice(&t.statics)
                .view([b, STATICS.len() as i64])
                .to_device(device),
            target: Tensor::from_slice(&t.target).to_device(device),
        }
    }

    /// The rows at `index` (`[k]` i64 on the same device).
    pub fn select(&self, index: &Tensor) -> Inputs {
        Inputs {
            seq: self.seq.index_select(0, index),
            length: self.length.index_select(0, index),
            statics: self.statics.index_select(0, index),
            target: self.target.index_select(0, index),
        }
    }

    /// Rows `start..end`.
    pub fn slice(&self, start: i64, end: i64) -> Inputs {
        Inputs {
            seq: self.seq.slice(0, start, end, 1),
            length: self.length.slice(0, start, end, 1),
            statics: self.statics.slice(0, start, end, 1),
            target: self.target.slice(0, start, end, 1),
        }
    }
}

/// One named parameter's values, row-major, with its shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedArray {
    pub shape: Vec<i64>,
    pub values: Vec<f32>,
}

/// Every variable of `vs` by name (sorted), copied to host memory.
pub fn weights(vs: &nn::VarStore) -> BTreeMap<String, NamedArray> {
    vs.variables()
        .into_iter()
        .map(|(name, t)| {
            let t = t.detach().to_device(Device::Cpu).contiguous();
            let shape = t.size();
            let values = Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32 weights");
            (name, NamedArray { shape, values })
        })
        .collect()
}

/// SHA-256 (hex) of every variable's bytes in name order: equal on executors that hold
/// bit-identical weights.
pub fn weights_digest(vs: &nn::VarStore) -> String {
    let mut bytes = Vec::new();
    for (name, a) in weights(vs) {
        bytes.extend_from_slice(name.as_bytes());
        for v in a.values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    harness_runtime::model::digest_bytes(&bytes)
}

/// Number of scalar parameters.
pub fn parameter_count(vs: &nn::VarStore) -> usize {
    vs.trainable_variables().iter().map(|t| t.numel()).sum()
}

/// Describes a saved model (`harness-model.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Always `energy-lstm`.
    pub workload: String,
    /// `hybrid-lstm`, with its sizes.
    pub architecture: Architecture,
    /// The sequence features' scaler fitted on the training households.
    pub scaler: Scaler,
    /// Test RMSE and MAE, kWh.
    pub test_rmse: f64,
    pub test_mae: f64,
    pub epochs: u32,
    pub study: String,
    pub run_id: String,
}

/// Sizes of the hybrid LSTM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub kind: String,
    pub steps: usize,
    pub sequence_features: Vec<String>,
    pub statics: Vec<String>,
    pub hidden: i64,
    pub parameters: usize,
}

impl Architecture {
    /// This build's architecture.
    pub fn current(parameters: usize) -> Architecture {
        Architecture {
            kind: "hybrid-lstm".into(),
            steps: STEPS,
            sequence_features: SEQ_FEATURES.iter().map(|s| s.to_string()).collect(),
            statics: STATICS.iter().map(|s| s.to_string()).collect(),
            hidden: HIDDEN,
            parameters,
        }
    }
}

/// Writes `dir/model.safetensors` and `dir/harness-model.json`.
///
/// # Errors
/// A file that cannot be written, naming it.
pub fn save(dir: &Path, vs: &nn::VarStore, meta: &ModelMeta) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let w = dir.join(WEIGHTS_FILE);
    vs.save(&w)
        .map_err(|e| format!("cannot write {}: {e}", w.display()))?;
    let m = dir.join(META_FILE);
    std::fs::write(
        &m,
        serde_json::to_vec_pretty(meta).expect("meta serialises"),
    )
    .map_err(|e| format!("cannot write {}: {e}", m.display()))
}
