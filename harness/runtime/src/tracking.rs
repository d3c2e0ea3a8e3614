//! What a workload asks to log to an experiment tracker after a run: plain data that the
//! driver's MLflow sink turns into REST calls (runs, nested runs, params, metrics, tags,
//! artifacts, a registered model version and an alias).
//!
//! Workloads describe, the driver talks: no workload crate holds a network client, and a
//! tracker that is down costs a warning, never a record.

use std::path::PathBuf;

/// One tracker run (an MLflow run) and the runs nested under it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackedRun {
    /// Run name, e.g. `<run_id>-search` or `trial-007`.
    pub name: String,
    /// Parameters (name, value as text).
    pub params: Vec<(String, String)>,
    /// Metrics (name, value); non-finite values are not logged.
    pub metrics: Vec<(String, f64)>,
    /// Tags besides the ones the driver adds to every run (`harness.study`, `harness.run_id`,
    /// `harness.workload`, `harness.repetition`).
    pub tags: Vec<(String, String)>,
    /// Files to upload: (artifact path inside the run, local file).
    pub artifacts: Vec<(String, PathBuf)>,
    /// Runs nested under this one (MLflow's `mlflow.parentRunId` tag).
    pub children: Vec<TrackedRun>,
    /// A model among this run's artifacts to register as a new model version.
    pub register: Option<Registration>,
}

/// A model version to register from a run's artifacts.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// Registered model name, e.g. `wine_quality`.
    pub model: String,
    /// Artifact directory of the model inside the run, e.g. `model`.
    pub artifact_dir: String,
    /// Score that decides the alias (higher is better), kept as a version tag `score_name`.
    pub score_name: String,
    pub score: f64,
    /// Alias moved to the new version only when its score beats the alias's current version.
    pub alias: String,
}

impl TrackedRun {
    /// Number of runs this describes, nested ones included.
    pub fn count(&self) -> usize {
        1 + self.children.iter().map(TrackedRun::count).sum::<usize>()
    }
}

/// `(name, value)` pairs with the names as `String`s.
pub fn pairs<V: Clone>(items: &[(&str, V)]) -> Vec<(String, V)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}
