//! The saved model: a directory that batch scoring, serving and MLflow all use.
//!
//! Layout (`<dir>/`):
//! - `model.txt` — LightGBM's text model (`LGBM_BoosterSaveModelToString`);
//! - `harness-model.json` — [`ModelMeta`]: the feature names in model order, the parameters and
//!   test AUC of the trial it came from;
//! - `MLmodel` — an MLflow model descriptor with the `lightgbm` and `python_function` flavors
//!   (loader `mlflow.lightgbm`) and the input signature, so MLflow's UI and registry show the
//!   artifact as a model and `mlflow models serve` can serve the very same files.
//!
//! Scoring returns the probability of the positive class (`quality >= 7`).

use std::path::Path;
use std::sync::Arc;

use harness_runtime::model::{Model, ModelFormat, Scorer, MODEL_META};
use harness_runtime::WorkloadError;
use lightgbm3::Booster;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::data::FEATURES;
use crate::search::TrialParams;

/// File names inside a model directory.
pub const MODEL_FILE: &str = "model.txt";
pub const META_FILE: &str = MODEL_META;
pub const MLMODEL_FILE: &str = "MLmodel";

/// What a model directory says about its model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Always `wine`.
    pub workload: String,
    /// Input columns in model order.
    pub features: Vec<String>,
    /// Parameters of the trial that produced it.
    pub params: TrialParams,
    /// Boosting rounds kept.
    pub rounds: u32,
    /// ROC AUC on the test split when it was trained.
    pub test_auc: f64,
    /// Study and run that produced it.
    pub study: String,
    pub run_id: String,
}

/// Problems reading or writing a model directory.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("cannot read model {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write model {path}: {message}")]
    Write { path: String, message: String },
    #[error("model {path} is not a wine model: {message}")]
    Invalid { path: String, message: String },
}

/// Writes `model_text` and `meta` into `dir` (created if needed).
///
/// # Errors
/// [`ModelError::Write`] naming the file.
pub fn save(dir: &Path, model_text: &str, meta: &ModelMeta) -> Result<(), ModelError> {
    let w = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| ModelError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    };
    std::fs::create_dir_all(dir).map_err(|e| ModelError::Write {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    w(MODEL_FILE, model_text.as_bytes())?;
    w(
        META_FILE,
        &serde_json::to_vec_pretty(meta).expect("meta serialises"),
    )?;
    let inputs: Vec<String> = meta
        .features
        .iter()
        .map(|f| format!("{{\"name\": \"{f}\", \"type\": \"double\"}}"))
        .collect();
    let mlmodel = format!(
        "artifact_path: model\nflavors:\n  lightgbm:\n    code: null\n    data: {MODEL_FILE}\n    lgb_version: {lgb}\n    model_class: lightgbm.basic.Booster\n  python_function:\n    data: {MODEL_FILE}\n    loader_module: mlflow.lightgbm\n    python_version: \"3.11\"\nsignature:\n  inputs: '[{inputs}]'\n",
        lgb = harness_runtime::LIGHTGBM_VERSION,
        inputs = inputs.join(", "),
    );
    w(MLMODEL_FILE, mlmodel.as_bytes())
}

/// A loaded wine model: its metadata and LightGBM's model text (each scoring thread builds its
/// own booster from the text: LightGBM boosters are not `Send`).
#[derive(Debug, Clone)]
pub struct WineModel {
    pub meta: ModelMeta,
    /// LightGBM's text model.
    pub text: String,
}

impl WineModel {
    /// Loads the model directory `dir`.
    ///
    /// # Errors
    /// Missing files, unparsable metadata or model text, a model whose features are not
    /// [`FEATURES`].
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| ModelError::Read {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        };
        let meta: ModelMeta =
            serde_json::from_str(&read(META_FILE)?).map_err(|e| ModelError::Invalid {
                path: dir.join(META_FILE).display().to_string(),
                message: e.to_string(),
            })?;
        if meta.features != FEATURES {
            return Err(ModelError::Invalid {
                path: dir.display().to_string(),
                message: format!("features {:?}, expected {:?}", meta.features, FEATURES),
            });
        }
        let text = read(MODEL_FILE)?;
        // Parse once here, so a corrupt model is reported at load time, not per request.
        Booster::from_string(&text).map_err(|e| ModelError::Invalid {
            path: dir.join(MODEL_FILE).display().to_string(),
            message: e.to_string(),
        })?;
        Ok(WineModel { meta, text })
    }
}

impl Model for WineModel {
    fn features(&self) -> &[String] {
        &self.meta.features
    }

    fn describe(&self) -> String {
        format!(
            "wine model of run {} (test AUC {:.6})",
            self.meta.run_id, self.meta.test_auc
        )
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::to_value(&self.meta).expect("meta serialises")
    }

    fn scorer(&self) -> Result<Box<dyn Scorer>, WorkloadError> {
        Ok(Box::new(WineScorer(Booster::from_string(&self.text)?)))
    }
}

/// One thread's booster.
struct WineScorer(Booster);

impl Scorer for WineScorer {
    fn score(&self, rows: &[f64]) -> Result<Vec<f64>, WorkloadError> {
        Ok(predict_with(&self.0, rows)?)
    }
}

/// The wine model directory format (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct WineModels;

impl ModelFormat for WineModels {
    fn files(&self) -> &'static [&'static str] {
        &[MODEL_FILE, META_FILE, MLMODEL_FILE]
    }

    fn load(&self, dir: &Path) -> Result<Arc<dyn Model>, WorkloadError> {
        Ok(Arc::new(WineModel::load(dir)?))
    }
}

/// Positive-class probabilities of `features` (row-major, 12 per row) with `booster`,
/// single-threaded (callers parallelise over executors or requests).
///
/// # Errors
/// LightGBM's prediction errors.
pub fn predict_with(booster: &Booster, features: &[f64]) -> Result<Vec<f64>, lightgbm3::Error> {
    if features.is_empty() {
        return Ok(Vec::new());
    }
    booster.predict_with_params(features, FEATURES.len() as i32, true, "num_threads=1")
}
