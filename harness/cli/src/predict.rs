//! `harness predict`: batch scoring of parquet files with a saved model across executors.
//!
//! The driver resolves the model (a model directory, or `models:/<name>@<alias>` /
//! `models:/<name>/<version>` fetched from MLflow), finds the workload that saved it (its
//! `harness-model.json`), checks model and input, then runs
//! `mpirun -np E harness predict-exec <job>`; each executor scores its byte-balanced share of
//! the files ([`harness_runtime::scoring`]). The summary (`<output>/_predict_summary.json`) holds
//! rows, seconds and rows/s, per executor and in all; when the input carries a `label` column
//! the driver also reports the ROC AUC of the predictions.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use harness_core::classify::roc_auc;
use harness_runtime::model::Model;
use harness_runtime::scoring::{self as batch, PredictJob, PredictSummary};

use crate::mlflow::{fetch_model, tracking_uri, Mlflow};
use crate::{launcher, provenance, registry};

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
    let cache = crate::cache::cache_dir().join("models");
    let files_of = |dir: &Path| {
        registry::for_model(dir)
            .map_err(|e| format!("{e:#}"))?
            .model_format()
            .map(|f| f.files(dir))
            .ok_or_else(|| format!("{} holds no model this build can load", dir.display()))
    };
    Ok(fetch_model(&Mlflow::new(&uri), model, &cache, files_of)?)
}

/// Loads the model directory `dir` with the format of the workload that saved it.
///
/// # Errors
/// No `harness-model.json`, an unknown workload, or the workload's load errors.
pub fn load_model(dir: &Path) -> Result<Arc<dyn Model>> {
    let workload = registry::for_model(dir)?;
    let format = workload.model_format().with_context(|| {
        format!(
            "model {}: workload `{}` saves no models",
            dir.display(),
            workload.name()
        )
    })?;
    format
        .load(dir)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot load model {}", dir.display()))
}

/// `harness predict-exec <job>`: one executor's part of a batch scoring job.
///
/// # Errors
/// The job file cannot be read, MPI cannot start, or rank 0 cannot write the summary.
pub fn execute(job: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(job).with_context(|| format!("cannot read {}", job.display()))?;
    let job: PredictJob = serde_json::from_str(&text)?;
    let world = harness_runtime::World::init()?;
    batch::run(&world, &job, |dir| {
        load_model(dir).map_err(|e| format!("{e:#}"))
    })
    .map_err(anyhow::Error::msg)
}

/// `harness predict`: runs batch scoring and prints what each executor did, rows/s and the
/// AUC against `label` when the input has one.
///
/// # Errors
/// As [`predict`].
pub fn command(a: &crate::cli::PredictArgs) -> Result<()> {
    let (s, auc) = predict(
        &a.model,
        &a.input,
        &a.output,
        a.executors,
        a.mlflow.as_deref(),
    )?;
    for r in &s.per_rank {
        eprintln!(
            "  executor {}: {} files, {} rows, {:.3}s",
            r.rank,
            r.files.len(),
            r.rows,
            r.seconds
        );
    }
    println!(
        "scored {} rows on {} executors in {:.3}s: {:.0} rows/s{}; output in {}",
        s.rows,
        s.executors,
        s.seconds,
        s.rows_per_sec,
        auc.map(|a| format!("; ROC AUC against `label` {a:.6}"))
            .unwrap_or_default(),
        a.output.display()
    );
    Ok(())
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
    let m = load_model(&dir)?;
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
    eprintln!("model: {}", m.describe());
    Ok((summary, auc))
}
