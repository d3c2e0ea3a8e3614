//! The saved model: a directory that batch scoring, serving and MLflow all use.
//!
//! Layout (`<dir>/`):
//! - the booster, by engine: `model.txt`, LightGBM's text model
//!   (`LGBM_BoosterSaveModelToString`), or `model.json`, XGBoost's JSON model
//!   (`XGBoosterSaveModelToBuffer` with `format = json`, what `Booster.save_model("model.json")`
//!   writes);
//! - `harness-model.json` — [`ModelMeta`]: the engine, the feature names in model order, the
//!   parameters and test AUC of the trial it came from;
//! - `MLmodel` — an MLflow model descriptor with the engine's flavor (`lightgbm`, or `xgboost`
//!   with `model_format: json`) and `python_function` (loader `mlflow.lightgbm` /
//!   `mlflow.xgboost`) and the input signature, so MLflow's UI and registry show the artifact as
//!   a model and `mlflow models serve` can serve the very same files.
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
use crate::search::{Engine, TrialParams};

/// File names inside a model directory.
pub const MODEL_FILE: &str = "model.txt";
pub const XGBOOST_MODEL_FILE: &str = "model.json";
pub const META_FILE: &str = MODEL_META;
pub const MLMODEL_FILE: &str = "MLmodel";

/// The booster file of `engine`'s models.
pub fn model_file(engine: Engine) -> &'static str {
    match engine {
        Engine::LightGbm => MODEL_FILE,
        Engine::XgBoost => XGBOOST_MODEL_FILE,
    }
}

/// Every file of a model directory of `engine`.
pub fn files(engine: Engine) -> [&'static str; 3] {
    [model_file(engine), META_FILE, MLMODEL_FILE]
}

/// What a model directory says about its model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Always `wine`.
    pub workload: String,
    /// The library that trained it (absent in models saved before XGBoost: LightGBM).
    #[serde(default)]
    pub engine: Engine,
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

/// Writes `model_text` (the booster in `meta.engine`'s format) and `meta` into `dir` (created
/// if needed).
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
    let file = model_file(meta.engine);
    w(file, model_text.as_bytes())?;
    w(
        META_FILE,
        &serde_json::to_vec_pretty(meta).expect("meta serialises"),
    )?;
    let inputs: Vec<String> = meta
        .features
        .iter()
        .map(|f| format!("{{\"name\": \"{f}\", \"type\": \"double\"}}"))
        .collect();
    let flavor = match meta.engine {
        Engine::LightGbm => format!(
            "  lightgbm:\n    code: null\n    data: {file}\n    lgb_version: {}\n    model_class: lightgbm.basic.Booster\n",
            harness_runtime::LIGHTGBM_VERSION
        ),
        // As `mlflow.xgboost.save_model(booster, path, model_format="json")` writes it.
        Engine::XgBoost => format!(
            "  xgboost:\n    code: null\n    data: {file}\n    model_class: xgboost.core.Booster\n    model_format: json\n    xgb_version: {}\n",
            harness_xgboost::XGBOOST_VERSION
        ),
    };
    let mlmodel = format!(
        "artifact_path: model\nflavors:\n{flavor}  python_function:\n    data: {file}\n    loader_module: mlflow.{engine}\n    python_version: \"3.11\"\nsignature:\n  inputs: '[{inputs}]'\n",
        engine = meta.engine.name(),
        inputs = inputs.join(", "),
    );
    w(MLMODEL_FILE, mlmodel.as_bytes())
}

/// A loaded wine model: its metadata and the booster's text (each scoring thread builds its
/// own booster from it: LightGBM boosters are not `Send`, XGBoost's not `Sync`).
#[derive(Debug, Clone)]
pub struct WineModel {
    pub meta: ModelMeta,
    /// LightGBM's text model or XGBoost's JSON model, by `meta.engine`.
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
        let file = model_file(meta.engine);
        let text = read(file)?;
        let model = WineModel { meta, text };
        // Parse once here, so a corrupt model is reported at load time, not per request.
        model.booster().map_err(|message| ModelError::Invalid {
            path: dir.join(file).display().to_string(),
            message,
        })?;
        Ok(model)
    }

    /// A booster of this model for the calling thread, predicting with one thread.
    ///
    /// # Errors
    /// The engine's message for a text that is not a model.
    pub fn booster(&self) -> Result<WineBooster, String> {
        match self.meta.engine {
            Engine::LightGbm => Booster::from_string(&self.text)
                .map(WineBooster::LightGbm)
                .map_err(|e| e.to_string()),
            Engine::XgBoost => {
                let mut m = harness_xgboost::Model::from_json(self.text.as_bytes())
                    .map_err(|e| e.to_string())?;
                m.set_threads(1).map_err(|e| e.to_string())?;
                Ok(WineBooster::XgBoost(m))
            }
        }
    }
}

impl Model for WineModel {
    fn features(&self) -> &[String] {
        &self.meta.features
    }

    fn describe(&self) -> String {
        format!(
            "wine {} model of run {} (test AUC {:.6})",
            self.meta.engine.name(),
            self.meta.run_id,
            self.meta.test_auc
        )
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::to_value(&self.meta).expect("meta serialises")
    }

    fn scorer(&self) -> Result<Box<dyn Scorer>, WorkloadError> {
        Ok(Box::new(self.booster()?))
    }
}

/// One thread's booster of either engine.
pub enum WineBooster {
    LightGbm(Booster),
    XgBoost(harness_xgboost::Model),
}

impl Scorer for WineBooster {
    fn score(&self, rows: &[f64]) -> Result<Vec<f64>, WorkloadError> {
        match self {
            WineBooster::LightGbm(b) => Ok(predict_with(b, rows)?),
            WineBooster::XgBoost(m) => Ok(m.predict(rows, FEATURES.len())?),
        }
    }
}

/// The wine model directory format (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct WineModels;

impl ModelFormat for WineModels {
    /// The engine's booster file, [`META_FILE`] and [`MLMODEL_FILE`]; the engine is read from
    /// `dir`'s metadata (LightGBM when it cannot be read: `load` then names the problem).
    fn files(&self, dir: &Path) -> Vec<&'static str> {
        let engine = std::fs::read_to_string(dir.join(META_FILE))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|m| serde_json::from_value::<Engine>(m["engine"].clone()).ok())
            .unwrap_or_default();
        files(engine).to_vec()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data;
    use crate::search::{evaluate, SearchConfig};
    use harness_core::classify::roc_auc;

    /// Each engine: one trial on the real split, saved, loaded back through the model format
    /// and scored — the AUC is the trial's, and the directory names the engine's files.
    #[test]
    fn either_engine_saves_a_model_that_scores_the_test_split_to_its_auc() {
        let split = data::split(&data::load_embedded().unwrap(), data::SPLIT_SEED, 1.0);
        let params = TrialParams {
            max_depth: 6,
            learning_rate: 0.1,
            reg_alpha: 0.01,
            reg_lambda: 0.01,
            min_child_weight: 1.0,
        };
        for engine in Engine::ALL {
            let cfg = SearchConfig {
                engine,
                rounds: 60,
                early_stopping: 10,
                ..SearchConfig::default()
            };
            let r = evaluate(&split.train, &split.test, &params, &cfg).unwrap();
            assert!(r.auc > 0.8, "{engine:?}: AUC {}", r.auc);
            assert!((1..=60).contains(&r.rounds));
            let dir = tempfile::tempdir().unwrap();
            let meta = ModelMeta {
                workload: "wine".into(),
                engine,
                features: FEATURES.iter().map(|s| s.to_string()).collect(),
                params,
                rounds: r.rounds,
                test_auc: r.auc,
                study: "s".into(),
                run_id: "r".into(),
            };
            save(dir.path(), &r.model, &meta).unwrap();
            let names = WineModels.files(dir.path());
            assert_eq!(names, files(engine).to_vec());
            for f in &names {
                assert!(dir.path().join(f).exists(), "{f}");
            }
            let mlmodel = std::fs::read_to_string(dir.path().join(MLMODEL_FILE)).unwrap();
            assert!(
                mlmodel.contains(&format!("\n  {}:\n", engine.name())),
                "{mlmodel}"
            );
            assert!(mlmodel.contains(&format!("loader_module: mlflow.{}\n", engine.name())));
            let model = WineModels.load(dir.path()).unwrap();
            assert!(model.describe().contains(engine.name()));
            let scores = model.scorer().unwrap().score(&split.test.features).unwrap();
            assert_eq!(
                roc_auc(&scores, &split.test.labels),
                Some(r.auc),
                "{engine:?}"
            );
        }
    }

    #[test]
    fn a_model_saved_before_engines_is_lightgbm_and_a_corrupt_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let meta = serde_json::json!({
            "workload": "wine", "features": FEATURES, "rounds": 1, "test_auc": 0.5,
            "study": "s", "run_id": "r",
            "params": {"max_depth": 4, "learning_rate": 0.1, "reg_alpha": 0.1, "reg_lambda": 0.1, "min_child_weight": 1.0},
        });
        std::fs::write(dir.path().join(META_FILE), meta.to_string()).unwrap();
        assert_eq!(
            WineModels.files(dir.path()),
            files(Engine::LightGbm).to_vec()
        );
        let mut meta = meta;
        meta["engine"] = "xgboost".into();
        std::fs::write(dir.path().join(META_FILE), meta.to_string()).unwrap();
        std::fs::write(dir.path().join(XGBOOST_MODEL_FILE), "{\"learner\": 1").unwrap();
        let e = WineModel::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("model.json") && e.contains("is not a wine model"),
            "{e}"
        );
    }
}
