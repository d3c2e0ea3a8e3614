//! `harness predict`: batch scoring of parquet files with a wine model across executors.
//!
//! The driver resolves the model (a model directory, or `models:/<name>@<alias>` /
//! `models:/<name>/<version>` fetched from MLflow), checks model and input, then runs
//! `mpirun -np E harness predict-exec <job>`; each executor scores its byte-balanced share of
//! the files ([`workload_wine::batch`]). The summary (`<output>/_predict_summary.json`) holds
//! rows, seconds and rows/s, per executor and in all; when the input carries a `label` column
//! the driver also reports the ROC AUC of the predictions.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use harness_core::classify::roc_auc;
use workload_wine::batch::{self, PredictJob, PredictSummary};
use workload_wine::model::Model;

use crate::mlflow::{fetch_model, tracking_uri, Mlflow};
use crate::{launcher, provenance};

/// Summary file name inside the output directory.
pub const SUMMARY: &str = "_predict_summary.json";

/// A local model directory for `model` (a path or a `models:/` URI).
///
/// # Errors
/// A `models:/` URI without a tracking URI, or MLflow errors.
pub fn resolve_model(model: &str, mlflow: Option<&str>) -> Result<PathBuf> {
    if !model.starts_with("models:/") {
        return Ok(PathBuf::from(model));
    }
    let uri = tracking_uri(mlflow).with_context(|| {
        format!("{model} needs an MLflow server: pass --mlflow URI or set MLFLOW_TRACKING_URI")
    })?;
    let cache = crate::profile::cache_dir().join("models");
    Ok(fetch_model(&Mlflow::new(&uri), model, &cache)?)
}

/// Runs batch scoring; returns the summary and the AUC when the input had labels.
///
/// # Errors
/// Bad model or input (named), `mpirun` failing, an executor's error.
pub fn predict(
    model: &str,
    input: &str,
    output: &Path,
    executors: u32,
    mlflow: Option<&str>,
) -> Result<(PredictSummary, Option<f64>)> {
    if executors == 0 {
        bail!("--executors must be at least 1");
    }
    let dir = resolve_model(model, mlflow)?;
    let m = Model::load(&dir)?;
    batch::list_parquet(input).map_err(anyhow::Error::msg)?;
    launcher::check_mpirun()?;
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create output directory {}", output.display()))?;
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let summary_path = abs(output).join(SUMMARY);
    let _ = std::fs::remove_file(&summary_path);
    let job = PredictJob {
        model_dir: abs(&dir).display().to_string(),
        input_dir: if input.starts_with("s3://") {
            input.to_string()
        } else {
            abs(Path::new(input)).display().to_string()
        },
        output_dir: abs(output).display().to_string(),
        summary_path: summary_path.display().to_string(),
    };
    let job_path = abs(output).join("_predict_job.json");
    std::fs::write(&job_path, serde_json::to_vec_pretty(&job)?)
        .with_context(|| format!("cannot write {}", job_path.display()))?;
    let oversubscribed = executors > provenance::logical_cpus();
    let exe = std::env::current_exe().context("cannot find the harness binary")?;
    let mut cmd = launcher::mpirun_command(executors, 1, oversubscribed);
    cmd.arg(&exe).arg("predict-exec").arg(&job_path);
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .context("cannot start mpirun")?;
    let _ = std::fs::remove_file(&job_path);
    let text = std::fs::read_to_string(&summary_path).with_context(|| {
        format!(
            "mpirun exited with {status} and wrote no summary ({})",
            summary_path.display()
        )
    })?;
    let summary: PredictSummary = serde_json::from_str(&text)?;
    if let Some(e) = &summary.error {
        bail!("batch scoring failed: {e}");
    }
    let auc = batch::scored_with_labels(output)
        .map_err(anyhow::Error::msg)?
        .and_then(|(p, l)| roc_auc(&p, &l));
    eprintln!(
        "model {} (logged test AUC {:.6})",
        m.meta.run_id, m.meta.test_auc
    );
    Ok((summary, auc))
}
