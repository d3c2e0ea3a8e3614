//! The saved fractal-rf model: a directory that `harness predict` scores FRACTAL files with.
//!
//! Layout (`<run artifacts>/model/`):
//! - `forest.json` — the `mllib` engine's [`Forest`] (trees of feature, threshold and leaf
//!   class counts), or `model.txt` — the `lightgbm` engine's LightGBM text model;
//! - `harness-model.json` — [`ModelMeta`]: the engine, the feature names in model order, the
//!   LAS class code of each class, the run and its accuracies.
//!
//! Input files are raw FRACTAL parquet (`xyz`, `Intensity`, `Red`, `Green`, `Blue`,
//! `Infrared`; `Classification` is not needed): the model derives its seven features exactly as
//! training did ([`crate::load::batch_features`]). The score of a point is the LAS class code
//! of the most probable class (e.g. 2 = ground, 6 = building).

use std::path::Path;
use std::sync::Arc;

use harness_runtime::metrics::argmax_rows;
use harness_runtime::model::{Model, ModelFormat, Scorer, MODEL_META};
use harness_runtime::WorkloadError;
use lightgbm3::Booster;
use serde::{Deserialize, Serialize};

use crate::forest::{Forest, ARTIFACT};
use crate::schema::{CLASSES, FEATURES};

/// The LightGBM engine's model file inside a model directory.
pub const LIGHTGBM_FILE: &str = "model.txt";

/// What a model directory says about its model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Always `fractal-rf`.
    pub workload: String,
    /// `mllib` (`forest.json`) or `lightgbm` (`model.txt`).
    pub engine: String,
    /// Input features in model order.
    pub features: Vec<String>,
    /// LAS code of each class index (the model's outputs are in this order).
    pub class_codes: Vec<u8>,
    /// Study and run that produced it.
    pub study: String,
    pub run_id: String,
    /// Accuracy on the run's validation and test points, over all executors.
    pub val_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
}

impl ModelMeta {
    /// Metadata of a model of `engine` trained by `run_id` of `study`.
    pub fn new(engine: &str, study: &str, run_id: &str) -> Self {
        ModelMeta {
            workload: crate::NAME.into(),
            engine: engine.into(),
            features: FEATURES.iter().map(|f| f.to_string()).collect(),
            class_codes: CLASSES.iter().map(|c| c.code).collect(),
            study: study.into(),
            run_id: run_id.into(),
            val_accuracy: None,
            test_accuracy: None,
        }
    }

    /// The file holding the model of this engine.
    pub fn model_file(&self) -> &'static str {
        if self.engine == "lightgbm" {
            LIGHTGBM_FILE
        } else {
            ARTIFACT
        }
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> WorkloadError {
    format!("{}: {e}", path.display()).into()
}

/// Writes `model_text` (the file [`ModelMeta::model_file`] names) and `meta` into `dir`,
/// created if needed.
///
/// # Errors
/// A file that cannot be written, named.
pub fn save(dir: &Path, model_text: &str, meta: &ModelMeta) -> Result<(), WorkloadError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let w = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| io(&path, e))
    };
    w(meta.model_file(), model_text.as_bytes())?;
    w(MODEL_META, &serde_json::to_vec_pretty(meta)?)
}

/// A loaded model: its metadata and either the forest or LightGBM's model text (each scoring
/// thread builds its own booster: boosters are not `Send`).
#[derive(Debug, Clone)]
pub struct FractalModel {
    pub meta: ModelMeta,
    engine: Loaded,
}

#[derive(Debug, Clone)]
enum Loaded {
    Forest(Arc<Forest>),
    LightGbm(String),
}

impl FractalModel {
    /// Loads the model directory `dir`.
    ///
    /// # Errors
    /// Missing files, unparsable metadata or model, features or classes other than this
    /// build's.
    pub fn load(dir: &Path) -> Result<Self, WorkloadError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| io(&path, e))
        };
        let meta: ModelMeta =
            serde_json::from_str(&read(MODEL_META)?).map_err(|e| io(&dir.join(MODEL_META), e))?;
        let fresh = ModelMeta::new(&meta.engine, "", "");
        if meta.features != fresh.features || meta.class_codes != fresh.class_codes {
            return Err(io(
                dir,
                format!(
                    "features {:?} and classes {:?}; this build scores features {:?} and classes {:?}",
                    meta.features, meta.class_codes, fresh.features, fresh.class_codes
                ),
            ));
        }
        let path = dir.join(meta.model_file());
        let text = read(meta.model_file())?;
        let engine = match meta.engine.as_str() {
            "mllib" => {
                let forest: Forest = serde_json::from_str(&text).map_err(|e| io(&path, e))?;
                forest.check().map_err(|e| io(&path, e))?;
                Loaded::Forest(Arc::new(forest))
            }
            "lightgbm" => {
                // Parse once here, so a corrupt model is reported at load time.
                Booster::from_string(&text).map_err(|e| io(&path, e))?;
                Loaded::LightGbm(text)
            }
            other => return Err(io(dir, format!("unknown engine `{other}`"))),
        };
        Ok(FractalModel { meta, engine })
    }
}

impl Model for FractalModel {
    fn features(&self) -> &[String] {
        &self.meta.features
    }

    fn describe(&self) -> String {
        format!(
            "fractal-rf {} model of run {} (test accuracy {})",
            self.meta.engine,
            self.meta.run_id,
            self.meta
                .test_accuracy
                .map(|a| format!("{a:.4}"))
                .unwrap_or_else(|| "unknown".into())
        )
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::to_value(&self.meta).expect("meta serialises")
    }

    /// The seven features derived from the raw FRACTAL columns, as training derived them.
    fn inputs(&self, batch: &arrow_array::RecordBatch) -> Result<Vec<f64>, String> {
        let mut x = Vec::new();
        crate::load::batch_features(Path::new(""), batch, 0, &mut x)
            .map_err(|e| e.to_string().trim_start_matches(": ").to_string())?;
        Ok(x.into_iter().map(f64::from).collect())
    }

    fn scorer(&self) -> Result<Box<dyn Scorer>, WorkloadError> {
        let codes = self.meta.class_codes.clone();
        Ok(match &self.engine {
            Loaded::Forest(f) => Box::new(FractalScorer {
                codes,
                engine: ScoringEngine::Forest(f.clone()),
            }),
            Loaded::LightGbm(text) => Box::new(FractalScorer {
                codes,
                engine: ScoringEngine::LightGbm(Booster::from_string(text)?),
            }),
        })
    }
}

enum ScoringEngine {
    Forest(Arc<Forest>),
    LightGbm(Booster),
}

/// One thread's scorer: class probabilities, then the LAS code of the most probable class.
struct FractalScorer {
    codes: Vec<u8>,
    engine: ScoringEngine,
}

impl Scorer for FractalScorer {
    fn score(&self, rows: &[f64]) -> Result<Vec<f64>, WorkloadError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let probs = match &self.engine {
            ScoringEngine::Forest(f) => {
                let x: Vec<f32> = rows.iter().map(|v| *v as f32).collect();
                f.predict_proba(&x)
            }
            ScoringEngine::LightGbm(b) => {
                b.predict_with_params(rows, FEATURES.len() as i32, true, "num_threads=1")?
            }
        };
        Ok(argmax_rows(&probs, self.codes.len())
            .into_iter()
            .map(|c| f64::from(self.codes[c]))
            .collect())
    }
}

/// The fractal-rf model directory format (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct FractalModels;

impl ModelFormat for FractalModels {
    /// The `mllib` engine's files (the default engine; a `lightgbm` model directory holds
    /// `model.txt` instead of `forest.json`).
    fn files(&self, _dir: &Path) -> Vec<&'static str> {
        vec![ARTIFACT, MODEL_META]
    }

    fn load(&self, dir: &Path) -> Result<Arc<dyn Model>, WorkloadError> {
        Ok(Arc::new(FractalModel::load(dir)?))
    }
}
