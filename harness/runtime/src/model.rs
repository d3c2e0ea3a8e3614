//! Saved models, as the harness sees them: a directory with a `harness-model.json` that names
//! the workload which saved it, and a [`Model`] that scores rows of named numeric features.
//!
//! Batch scoring ([`crate::scoring`]), the scoring server and the model registry work on any
//! workload's models through these traits; the workload ([`crate::Workload::model_format`])
//! says which files make up a model directory and how to load one.

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;

use crate::workload::WorkloadError;

/// Metadata file of every model directory: a JSON object with at least `workload`.
pub const MODEL_META: &str = "harness-model.json";

/// Problems identifying a model directory.
#[derive(Debug, Error)]
pub enum ModelDirError {
    #[error("cannot read model {path}: {message} (a model directory holds {MODEL_META}, e.g. results/<study>/artifacts/<run>/model)")]
    Read { path: String, message: String },
    #[error("model {path} is not a harness model: {message}")]
    Invalid { path: String, message: String },
}

/// The workload that saved the model in `dir`: its [`MODEL_META`]'s `workload`.
///
/// # Errors
/// A missing or unreadable metadata file, or one without `workload`.
pub fn model_workload(dir: &Path) -> Result<String, ModelDirError> {
    let path = dir.join(MODEL_META);
    let text = std::fs::read_to_string(&path).map_err(|e| ModelDirError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let meta: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ModelDirError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    meta["workload"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| ModelDirError::Invalid {
            path: path.display().to_string(),
            message: "no `workload` field".into(),
        })
}

/// How a workload's model directories look and load.
pub trait ModelFormat: Send + Sync {
    /// Every file of the model directory `dir`, [`MODEL_META`] included (what a registry
    /// download fetches). `dir` holds at least [`MODEL_META`], for formats whose files depend on
    /// the model (e.g. on the library that trained it).
    fn files(&self, dir: &Path) -> Vec<&'static str>;

    /// Loads the model directory `dir`.
    ///
    /// # Errors
    /// Missing files, unparsable metadata or model, features the workload does not know.
    fn load(&self, dir: &Path) -> Result<Arc<dyn Model>, WorkloadError>;
}

/// A loaded model. Shareable between threads; each thread scores through its own
/// [`Scorer`] (native boosters are often not thread-safe objects).
pub trait Model: Send + Sync {
    /// Input columns in model order.
    fn features(&self) -> &[String];

    /// One line naming the model for messages, e.g. its run and test AUC.
    fn describe(&self) -> String;

    /// The metadata, for `GET /version`.
    fn meta(&self) -> serde_json::Value;

    /// The model's input rows from one batch of an input file: row-major,
    /// `features().len()` values per row. The default reads the numeric columns named by
    /// [`Model::features`]; a model whose features are derived from stored columns (e.g. a
    /// coordinate taken out of a list column, or a band ratio) overrides it.
    ///
    /// # Errors
    /// A missing, mistyped or null column, naming it (the caller adds the file).
    fn inputs(&self, batch: &arrow_array::RecordBatch) -> Result<Vec<f64>, String> {
        crate::scoring::columns_as_rows(batch, self.features())
    }

    /// A scorer for the calling thread.
    ///
    /// # Errors
    /// The model cannot be instantiated.
    fn scorer(&self) -> Result<Box<dyn Scorer>, WorkloadError>;
}

/// Scores rows with one thread.
pub trait Scorer {
    /// One score per row of `rows` (row-major, `features().len()` values per row), e.g. the
    /// positive-class probability.
    ///
    /// # Errors
    /// The model's prediction errors.
    fn score(&self, rows: &[f64]) -> Result<Vec<f64>, WorkloadError>;
}

/// SHA-256 of a model's text, lower-case hex (64 characters). Executors that trained one model
/// together report equal digests; a rank that trained alone on its shard reports another.
pub fn digest(model_text: &str) -> String {
    digest_bytes(model_text.as_bytes())
}

/// SHA-256 of a model's bytes (e.g. its weights), lower-case hex, as [`digest`].
pub fn digest_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
