//! `energy-lstm`: household daily energy forecasting with a hybrid LSTM in libtorch (`tch`),
//! trained data-parallel over MPI executors, with a gradient-boosted lag-feature baseline
//! (LightGBM and XGBoost).
//!
//! Reference: a Spark + PyTorch job — Spark ML preprocessing (scaler, sequencer) writes sharded
//! parquet, `TorchDistributor` runs PyTorch DDP (gloo) on a hybrid LSTM, and a gradient-boosted
//! regressor on lag features is the baseline. Here: preprocessing in Rust to sharded parquet ([`prepare`]), the
//! model in libtorch ([`model`]), gradients averaged with one MPI allreduce per step
//! ([`train`]), LightGBM and XGBoost for the baseline ([`baseline`]).
//!
//! Every executor reads all the rows (each epoch's global batches need every row, as every
//! process of PyTorch's DDP holds the whole dataset); the rows an executor reports are those it
//! trains and tests on — its shares of the last epoch's global batches and its share of the
//! test rows — so a record's rows sum to the data set; its files are counted once, as rank 0's.
//!
//! Phases of a run: `load` = read (and, for CSV input, preprocess) on every executor; `train` =
//! weight broadcast + all epochs (the allreduce is `train_comm_sec`); `eval` = test RMSE/MAE
//! (rows shared over executors), the baseline and the saved model (rank 0).
//!
//! Metrics: `rmse`, `mae` (kWh, test split); `extra`: `baseline_rmse`, `baseline_mae` (the
//! baseline of the parameter `engine`: `lightgbm`, the default, or `xgboost`, the reference's),
//! `baseline_lightgbm_rmse`, `baseline_lightgbm_mae`, `baseline_xgboost_rmse`,
//! `baseline_xgboost_mae` (both engines, side by side),
//! `epoch_sec` (mean seconds per epoch), `epoch_<k>_sec` and `epoch_<k>_loss` (k = 1…),
//! `samples_per_sec`, `steps_per_epoch`, `global_batch`, `allreduce_share` (allreduce seconds
//! / training seconds, summed over executors; an allreduce's seconds include waiting for the
//! slowest executor to arrive, so imbalance shows here too), `batch_share_max` (the largest
//! executor's share of all rows trained: `1 / executors` when the split is even; with
//! `balance = true`, the default, shares follow the executors' measured speeds,
//! [`train::Split`]), `train_rows`, `test_rows`, `parameters`. Artifacts (rank 0):
//! `training.json` (every step's loss, every step's rows and compute seconds per executor,
//! epochs' losses and seconds), `model/`
//! (`model.safetensors` + `harness-model.json` with the scaler and architecture), and with
//! `export_weights = true` the initial and final weights as JSON (`initial-weights.json`,
//! `final-weights.json`) for replay in another framework.

pub mod baseline;
pub mod generate;
pub mod load;
pub mod model;
pub mod prepare;
pub mod raw;
pub mod train;

use std::collections::BTreeMap;
use std::path::Path;

use harness_core::record::{Metrics, Rows};
use harness_core::units::format_bytes;
use harness_core::StudySpec;
use harness_runtime::workload::{fitting_memory, DefaultData, Generator, Machine};
use harness_runtime::{ExecutorContext, Workload, WorkloadError, WorkloadOutput};
use serde_json::{json, Value};
use tch::Device;

use train::TrainConfig;

/// Name of the workload on the command line and in records.
pub const NAME: &str = "energy-lstm";

/// Parameters of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyParams {
    pub train: TrainConfig,
    /// Train and score the lag-feature baselines (both engines).
    pub baseline: bool,
    /// The engine whose baseline is `baseline_rmse` / `baseline_mae`.
    pub engine: baseline::Engine,
    /// Write initial and final weights as JSON artifacts.
    pub export_weights: bool,
}

/// The known parameter names.
pub const PARAMS: &str = "epochs, batch, batch_per_executor, learning_rate, seed, balance, device, baseline, engine, export_weights";

impl EnergyParams {
    /// The reference's settings overridden by `params`.
    ///
    /// # Errors
    /// An unknown name or a value of the wrong type, naming it.
    pub fn from_point(params: &BTreeMap<String, Value>) -> Result<Self, WorkloadError> {
        let mut p = EnergyParams {
            train: TrainConfig::default(),
            baseline: true,
            engine: baseline::Engine::LightGbm,
            export_weights: false,
        };
        for (k, v) in params {
            let bad = || format!("energy-lstm parameter `{k}` has an invalid value {v}");
            let positive = || v.as_u64().filter(|n| *n > 0).ok_or_else(bad);
            match k.as_str() {
                "epochs" => p.train.epochs = positive()? as u32,
                "batch" => p.train.batch = positive()? as usize,
                "batch_per_executor" => p.train.batch_per_executor = Some(positive()? as usize),
                "learning_rate" => {
                    p.train.learning_rate = v.as_f64().filter(|x| *x > 0.0).ok_or_else(bad)?
                }
                "seed" => p.train.seed = v.as_u64().ok_or_else(bad)?,
                "balance" => p.train.balance = v.as_bool().ok_or_else(bad)?,
                "device" => {
                    p.train.device = match v.as_str() {
                        Some("cpu") => Device::Cpu,
                        Some("cuda") => Device::Cuda(0),
                        _ => return Err(format!("{} (use \"cpu\" or \"cuda\")", bad()).into()),
                    }
                }
                "baseline" => p.baseline = v.as_bool().ok_or_else(bad)?,
                "engine" => {
                    p.engine = v.as_str().ok_or_else(bad).and_then(|s| {
                        baseline::Engine::parse(s)
                            .map_err(|e| format!("energy-lstm parameter `engine`: {e}"))
                    })?
                }
                "export_weights" => p.export_weights = v.as_bool().ok_or_else(bad)?,
                _ => {
                    return Err(
                        format!("unknown energy-lstm parameter `{k}` (known: {PARAMS})").into(),
                    )
                }
            }
        }
        Ok(p)
    }
}

/// The `energy-lstm` workload.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnergyLstm;

fn write_json(dir: &Path, name: &str, value: &Value) -> Result<(), WorkloadError> {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(value)?)
        .map_err(|e| format!("cannot write {}: {e}", p.display()).into())
}

impl Workload for EnergyLstm {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        "household daily energy: hybrid LSTM in libtorch, data-parallel with an MPI gradient allreduce, + LightGBM and XGBoost lag baselines (embedded Kaggle data)"
    }

    fn prepare_params(
        &self,
        params: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, WorkloadError> {
        let p = EnergyParams::from_point(params)?;
        if p.train.device != Device::Cpu && !tch::Cuda::is_available() {
            return Err("device \"cuda\": libtorch finds no CUDA device in this build or on this machine (use \"cpu\")".into());
        }
        Ok(params.clone())
    }

    fn check_data(&self, location: &str) -> Result<(), WorkloadError> {
        match load::Source::of(location) {
            load::Source::Csv(input) if input == raw::EMBEDDED => Ok(()),
            load::Source::Csv(input) => {
                let days = raw::load(&input)?;
                prepare::prepare(&days)?;
                Ok(())
            }
            load::Source::Prepared(dir) => {
                for split in ["train", "test"] {
                    let files = harness_runtime::data::list_split(&dir, split)?;
                    load::read_tables(&dir, &files[..1])?;
                }
                load::read_scaler(&dir)?;
                Ok(())
            }
        }
    }

    fn default_data(&self) -> DefaultData {
        DefaultData::Builtin(raw::EMBEDDED)
    }

    fn generator(&self) -> Option<&dyn Generator> {
        Some(&generate::EnergyGenerator)
    }

    /// Writes the prepared copy of `source` (the embedded CSV, a CSV file or a directory of
    /// them): `train/` and `test/` of `files` parquet files each and `scaler.json`.
    fn export(&self, source: &str, out: &Path, files: usize) -> Result<String, WorkloadError> {
        let days = raw::load(source)?;
        let p = prepare::prepare(&days)?;
        Ok(prepare::write(&p, out, files)?)
    }

    /// Executors {1, 2, 4, 8} that fit the logical CPUs at 1 core each, training fractions
    /// {0.25, 0.5, 1}, 2g per executor (less if RAM is short), 2 repetitions, embedded data.
    fn default_study(&self, machine: &Machine) -> StudySpec {
        let executors: Vec<u32> = [1, 2, 4, 8]
            .into_iter()
            .filter(|e| *e <= machine.logical_cpus.max(1))
            .collect();
        let largest = *executors.iter().max().expect("1 always fits");
        StudySpec {
            name: "energy-lstm-local".into(),
            workload: NAME.into(),
            executors,
            cores: vec![1],
            memory: vec![format_bytes(fitting_memory(machine, largest, 2 << 30))],
            fractions: vec![0.25, 0.5, 1.0],
            repetitions: 2,
            timeout_sec: 1800,
            data: None,
            params: Default::default(),
        }
    }

    fn progress_metrics(&self) -> &'static [(&'static str, &'static str)] {
        &[("epoch_sec", "s/epoch"), ("samples_per_sec", "samples/s")]
    }

    fn run(&self, ctx: &mut ExecutorContext<'_>) -> Result<WorkloadOutput, WorkloadError> {
        let mut params = EnergyParams::from_point(&ctx.job.point.params)?;
        // train::train sets the intra-op threads from this.
        params.train.threads = ctx.cores();
        tch::set_num_interop_threads(1);
        let location = ctx.job.data.clone();
        let fraction = ctx.job.point.fraction;
        let data = ctx.load(|| load::load(&location, fraction))?;
        if data.train.rows() == 0 || data.test.rows() == 0 {
            return Err(
                format!("{location}: no training or no test rows at fraction {fraction}").into(),
            );
        }
        ctx.reading(&data.files);
        let device = params.train.device;
        let train_in = model::Inputs::of(&data.train, device);
        let test_in = model::Inputs::of(&data.test, device);
        let world = ctx.world;
        let cfg = params.train.clone();
        let progress_path = ctx.progress_path();
        let (vs, net, initial, outcome) = ctx.train(|| {
            let (vs, net) = train::init(world, &cfg);
            let initial = params.export_weights.then(|| model::weights(&vs));
            let file = harness_runtime::progress::ProgressFile::new(progress_path, "epochs");
            let mut progress = |epoch: u32, epochs: u32, _loss: f64| {
                if world.is_root() {
                    file.write(u64::from(epoch), Some(u64::from(epochs)), 0);
                }
            };
            let outcome = train::train(world, &vs, &net, &train_in, &cfg, &mut progress);
            (vs, net, initial, outcome)
        });
        let digest = model::weights_digest(&vs);
        let job = ctx.job;
        let cores = ctx.cores();
        let result = ctx.eval(|| -> Result<Metrics, WorkloadError> {
            let (rmse, mae) = train::evaluate(world, &net, &test_in);
            let train_sec: f64 = outcome.epoch_sec.iter().sum();
            // Allreduce and training seconds summed over executors: the share is their mean.
            let mut comm = [outcome.allreduce_sec, train_sec];
            world.sum_in_place(&mut comm);
            let mut m = Metrics {
                rmse: Some(rmse),
                mae: Some(mae),
                ..Default::default()
            };
            if !world.is_root() {
                return Ok(m);
            }
            let x = &mut m.extra;
            for (k, (l, s)) in outcome.epoch_loss.iter().zip(&outcome.epoch_sec).enumerate() {
                x.insert(format!("epoch_{}_loss", k + 1), *l);
                x.insert(format!("epoch_{}_sec", k + 1), *s);
            }
            x.insert("epoch_sec".into(), train_sec / outcome.epoch_sec.len().max(1) as f64);
            x.insert(
                "samples_per_sec".into(),
                (data.train.rows() * outcome.epoch_sec.len()) as f64 / train_sec.max(1e-9),
            );
            x.insert("steps_per_epoch".into(), outcome.steps_per_epoch as f64);
            x.insert("global_batch".into(), cfg.global_batch(world.size()) as f64);
            x.insert("allreduce_share".into(), comm[0] / comm[1].max(1e-9));
            x.insert("batch_share_max".into(), outcome.max_share());
            x.insert("train_rows".into(), data.train.rows() as f64);
            x.insert("test_rows".into(), data.test.rows() as f64);
            x.insert("parameters".into(), model::parameter_count(&vs) as f64);
            if params.baseline {
                for engine in baseline::Engine::ALL {
                    let (b_rmse, b_mae) =
                        baseline::run(engine, &data.train, &data.test, cores, cfg.seed)?;
                    let name = engine.name();
                    x.insert(format!("baseline_{name}_rmse"), b_rmse);
                    x.insert(format!("baseline_{name}_mae"), b_mae);
                    if engine == params.engine {
                        x.insert("baseline_rmse".into(), b_rmse);
                        x.insert("baseline_mae".into(), b_mae);
                    }
                }
            }
            if let Some(dir) = &job.artifacts_dir {
                let dir = Path::new(dir);
                write_json(
                    dir,
                    "training.json",
                    &json!({
                        "step_loss": outcome.step_loss,
                        "epoch_loss": outcome.epoch_loss,
                        "epoch_sec": outcome.epoch_sec,
                        "steps_per_epoch": outcome.steps_per_epoch,
                        "global_batch": cfg.global_batch(world.size()),
                        "split": if cfg.balance { "balanced" } else { "even" },
                        "step_rows": outcome.step_rows,
                        "step_compute_sec": outcome.step_compute_sec,
                        "executors": world.size(),
                        "seed": cfg.seed,
                        "order": "rows by ascending mix64(mix64(seed ^ mix64(epoch)) ^ row), SplitMix64 finaliser",
                    }),
                )?;
                if let Some(w) = &initial {
                    write_json(dir, "initial-weights.json", &serde_json::to_value(w)?)?;
                    write_json(dir, "final-weights.json", &serde_json::to_value(model::weights(&vs))?)?;
                }
                let meta = model::ModelMeta {
                    workload: NAME.into(),
                    architecture: model::Architecture::current(model::parameter_count(&vs)),
                    scaler: data.scaler.clone(),
                    test_rmse: rmse,
                    test_mae: mae,
                    epochs: cfg.epochs,
                    study: job.study.clone(),
                    run_id: job.run_id.clone(),
                };
                model::save(&dir.join("model"), &vs, &meta)?;
            }
            Ok(m)
        });
        Ok(WorkloadOutput {
            metrics: result?,
            // Every executor reads every file; the record counts them once, as rank 0's.
            files: if world.is_root() {
                data.files.clone()
            } else {
                Vec::new()
            },
            rows: Rows {
                train: outcome.rows_last_epoch(world.rank()) as u64,
                val: 0,
                test: train::share(data.test.rows(), world.rank(), world.size()).len() as u64,
            },
            farm: None,
            model_digest: Some(digest),
            ..WorkloadOutput::default()
        })
    }
}
