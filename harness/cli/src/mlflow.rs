//! MLflow tracking and model registry over MLflow's REST API (`/api/2.0/mlflow/...`).
//!
//! What a finished `wine` run logs (driver side, after its record is written, so nothing is lost
//! locally if the server is down):
//! - a baseline run (`<run_id>-baseline`): the forest's parameters, test AUC and accuracy,
//!   `baseline.json` as artifact;
//! - a search run (`<run_id>-search`) with one nested run per trial (`mlflow.parentRunId`):
//!   params, `auc`, `rounds`, `seconds`; the parent holds the search's metrics, `trials.jsonl`
//!   and the best model under `model/`;
//! - the best model registered as a new version of `wine_quality`; the alias `champion` moves to
//!   it only if its test AUC beats the current champion's (version tag `test_auc`).
//!
//! Artifacts go through the tracking server's artifact proxy
//! (`/api/2.0/mlflow-artifacts/artifacts/...`, `mlflow server --serve-artifacts`, the default).
//! Every run carries the tags `harness.study`, `harness.run_id`, `harness.workload`.
//! Reference: MLflow REST API documentation (mlflow.org/docs/latest/rest-api.html).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness_core::RunRecord;
use serde_json::{json, Value};
use thiserror::Error;

/// Registered model name of the wine search's best model.
pub const REGISTERED_MODEL: &str = "wine_quality";
/// Alias that points at the best version so far.
pub const CHAMPION: &str = "champion";

/// Failures talking to MLflow.
#[derive(Debug, Error)]
pub enum MlflowError {
    #[error("MLflow at {uri} is unreachable: {message}")]
    Unreachable { uri: String, message: String },
    #[error("MLflow {call} answered {status}: {body}")]
    Http {
        call: String,
        status: u16,
        body: String,
    },
    #[error("{0}")]
    Other(String),
}

impl MlflowError {
    fn code(&self) -> Option<String> {
        match self {
            MlflowError::Http { body, .. } => serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["error_code"].as_str().map(String::from)),
            _ => None,
        }
    }
}

/// A client of one MLflow tracking server.
pub struct Mlflow {
    base: String,
    agent: ureq::Agent,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn tags(pairs: &[(&str, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

impl Mlflow {
    /// A client for `uri` (e.g. `http://127.0.0.1:5000`).
    pub fn new(uri: &str) -> Self {
        Mlflow {
            base: uri.trim_end_matches('/').to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(5))
                .timeout(Duration::from_secs(60))
                .build(),
        }
    }

    /// The tracking URI.
    pub fn uri(&self) -> &str {
        &self.base
    }

    fn handle(
        &self,
        call: &str,
        r: Result<ureq::Response, ureq::Error>,
    ) -> Result<ureq::Response, MlflowError> {
        match r {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(status, resp)) => Err(MlflowError::Http {
                call: call.to_string(),
                status,
                body: resp.into_string().unwrap_or_default(),
            }),
            Err(e) => Err(MlflowError::Unreachable {
                uri: self.base.clone(),
                message: e.to_string(),
            }),
        }
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let resp = self.handle(path, self.agent.post(&url).send_json(body))?;
        resp.into_json()
            .map_err(|e| MlflowError::Other(format!("{path}: bad JSON answer: {e}")))
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, MlflowError> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let mut req = self.agent.get(&url);
        for (k, v) in query {
            req = req.query(k, v);
        }
        let resp = self.handle(path, req.call())?;
        resp.into_json()
            .map_err(|e| MlflowError::Other(format!("{path}: bad JSON answer: {e}")))
    }

    /// Id of experiment `name`, created if missing.
    ///
    /// # Errors
    /// Transport or server errors.
    pub fn experiment(&self, name: &str) -> Result<String, MlflowError> {
        match self.get("experiments/get-by-name", &[("experiment_name", name)]) {
            Ok(v) => Ok(v["experiment"]["experiment_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()),
            Err(e) if e.code().as_deref() == Some("RESOURCE_DOES_NOT_EXIST") => {
                let v = self.post("experiments/create", json!({"name": name}))?;
                Ok(v["experiment_id"].as_str().unwrap_or_default().to_string())
            }
            Err(e) => Err(e),
        }
    }

    /// Creates a run; returns (run id, artifact URI).
    ///
    /// # Errors
    /// Transport or server errors.
    pub fn create_run(
        &self,
        experiment_id: &str,
        name: &str,
        run_tags: &[(&str, String)],
    ) -> Result<(String, String), MlflowError> {
        let v = self.post(
            "runs/create",
            json!({"experiment_id": experiment_id, "run_name": name, "start_time": now_ms(), "tags": tags(run_tags)}),
        )?;
        let info = &v["run"]["info"];
        Ok((
            info["run_id"].as_str().unwrap_or_default().to_string(),
            info["artifact_uri"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ))
    }

    /// Logs params, metrics and tags of a run in one call (MLflow allows 100 params and
    /// 1000 metrics per batch).
    ///
    /// # Errors
    /// Transport or server errors.
    pub fn log_batch(
        &self,
        run_id: &str,
        params: &[(&str, String)],
        metrics: &[(&str, f64)],
        run_tags: &[(&str, String)],
    ) -> Result<(), MlflowError> {
        let ts = now_ms();
        let metrics: Vec<Value> = metrics
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| json!({"key": k, "value": v, "timestamp": ts, "step": 0}))
            .collect();
        self.post(
            "runs/log-batch",
            json!({"run_id": run_id, "params": tags(params), "metrics": metrics, "tags": tags(run_tags)}),
        )?;
        Ok(())
    }

    /// Marks a run finished.
    ///
    /// # Errors
    /// Transport or server errors.
    pub fn finish_run(&self, run_id: &str) -> Result<(), MlflowError> {
        self.post(
            "runs/update",
            json!({"run_id": run_id, "status": "FINISHED", "end_time": now_ms()}),
        )?;
        Ok(())
    }

    fn artifact_url(&self, artifact_uri: &str) -> Result<String, MlflowError> {
        let rest = artifact_uri.strip_prefix("mlflow-artifacts:").ok_or_else(|| {
            MlflowError::Other(format!(
                "artifact location `{artifact_uri}` is not served by the tracking server: start it with --serve-artifacts (the default of `mlflow server`)"
            ))
        })?;
        let rest = rest.trim_start_matches('/');
        Ok(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{rest}",
            self.base
        ))
    }

    /// Uploads the file `local` as `<artifact_uri>/<rel>`.
    ///
    /// # Errors
    /// An unreadable file, an artifact location not proxied by the server, transport errors.
    pub fn upload(&self, artifact_uri: &str, rel: &str, local: &Path) -> Result<(), MlflowError> {
        let bytes = std::fs::read(local)
            .map_err(|e| MlflowError::Other(format!("cannot read {}: {e}", local.display())))?;
        let url = format!("{}/{rel}", self.artifact_url(artifact_uri)?);
        self.handle("artifact upload", self.agent.put(&url).send_bytes(&bytes))?;
        Ok(())
    }

    /// Downloads `<artifact_uri>/<rel>` into `local`.
    ///
    /// # Errors
    /// As [`Mlflow::upload`], or the file cannot be written.
    pub fn download(&self, artifact_uri: &str, rel: &str, local: &Path) -> Result<(), MlflowError> {
        let url = format!("{}/{rel}", self.artifact_url(artifact_uri)?);
        let resp = self.handle("artifact download", self.agent.get(&url).call())?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes)
            .map_err(|e| MlflowError::Other(format!("download {url}: {e}")))?;
        std::fs::write(local, bytes)
            .map_err(|e| MlflowError::Other(format!("cannot write {}: {e}", local.display())))
    }

    /// The model version an alias points at, if any: (version, source, tags).
    ///
    /// # Errors
    /// Transport or server errors other than "no such alias/model".
    pub fn alias(&self, model: &str, alias: &str) -> Result<Option<Value>, MlflowError> {
        match self.get(
            "registered-models/alias",
            &[("name", model), ("alias", alias)],
        ) {
            Ok(v) => Ok(Some(v["model_version"].clone())),
            Err(e)
                if matches!(
                    e.code().as_deref(),
                    Some("RESOURCE_DOES_NOT_EXIST") | Some("INVALID_PARAMETER_VALUE")
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Registers `source` (an artifact URI of run `run_id`) as a new version of `model`, tagged
    /// with `test_auc`; moves `alias` to it when its AUC beats the alias's current version.
    /// Returns (version, whether the alias moved).
    ///
    /// # Errors
    /// Transport or server errors.
    pub fn register(
        &self,
        model: &str,
        alias: &str,
        source: &str,
        run_id: &str,
        test_auc: f64,
    ) -> Result<(String, bool), MlflowError> {
        match self.post("registered-models/create", json!({"name": model})) {
            Ok(_) => {}
            Err(e) if e.code().as_deref() == Some("RESOURCE_ALREADY_EXISTS") => {}
            Err(e) => return Err(e),
        }
        let v = self.post(
            "model-versions/create",
            json!({"name": model, "source": source, "run_id": run_id,
                   "tags": [{"key": "test_auc", "value": test_auc.to_string()}]}),
        )?;
        let version = v["model_version"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let current_auc = self.alias(model, alias)?.and_then(|mv| {
            mv["tags"].as_array().and_then(|t| {
                t.iter()
                    .find(|t| t["key"] == "test_auc")
                    .and_then(|t| t["value"].as_str()?.parse::<f64>().ok())
            })
        });
        let better = current_auc.is_none_or(|c| test_auc > c);
        if better {
            self.post(
                "registered-models/alias",
                json!({"name": model, "alias": alias, "version": version}),
            )?;
        }
        Ok((version, better))
    }
}

/// The tracking URI from `--mlflow` or `MLFLOW_TRACKING_URI`.
pub fn tracking_uri(flag: Option<&str>) -> Option<String> {
    flag.map(String::from)
        .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok())
        .filter(|u| !u.is_empty())
}

/// What [`log_wine_run`] created.
#[derive(Debug, Clone)]
pub struct Logged {
    pub baseline_run: Option<String>,
    pub search_run: String,
    pub trials: usize,
    pub version: Option<String>,
    pub champion: bool,
}

/// Logs one finished `wine` run (see the module doc). `study_dir` holds its artifacts.
///
/// # Errors
/// The first MLflow or file error; the caller warns and goes on.
pub fn log_wine_run(
    m: &Mlflow,
    record: &RunRecord,
    study_dir: &Path,
) -> Result<Logged, MlflowError> {
    let artifacts = record
        .artifacts
        .as_ref()
        .map(|a| study_dir.join(a))
        .ok_or_else(|| MlflowError::Other(format!("run {} has no artifacts", record.run_id)))?;
    let exp = m.experiment(&record.study)?;
    let base_tags = vec![
        ("harness.study", record.study.clone()),
        ("harness.run_id", record.run_id.clone()),
        ("harness.workload", record.workload.clone()),
        ("harness.repetition", record.repetition.to_string()),
    ];
    let extra = &record.metrics.extra;
    let get = |k: &str| extra.get(k).copied().unwrap_or(f64::NAN);
    let point = &record.point;

    let baseline_run = if artifacts.join("baseline.json").exists() {
        let (id, uri) = m.create_run(&exp, &format!("{}-baseline", record.run_id), &base_tags)?;
        m.log_batch(
            &id,
            &[
                ("model", "random_forest".into()),
                ("library", "linfa-ensemble".into()),
                ("trees", workload_wine::baseline::TREES.to_string()),
                ("seed", workload_wine::BASELINE_SEED.to_string()),
            ],
            &[
                ("test_auc", get("baseline_auc")),
                ("test_accuracy", get("baseline_accuracy")),
            ],
            &[("harness.kind", "baseline".into())],
        )?;
        m.upload(&uri, "baseline.json", &artifacts.join("baseline.json"))?;
        m.finish_run(&id)?;
        Some(id)
    } else {
        None
    };

    let (parent, uri) = m.create_run(&exp, &format!("{}-search", record.run_id), &base_tags)?;
    m.log_batch(
        &parent,
        &[
            ("executors", point.executors.to_string()),
            ("cores", point.cores.to_string()),
            ("memory_bytes", point.memory_bytes.to_string()),
            ("fraction", point.fraction.to_string()),
            ("algorithm", "tpe".into()),
            ("evaluations", (get("trials") as u64).to_string()),
            ("slots", (get("slots") as u64).to_string()),
        ],
        &[
            ("best_auc", record.metrics.auc.unwrap_or(f64::NAN)),
            ("trials_per_sec", get("trials_per_sec")),
            ("slot_utilisation", get("slot_utilisation")),
            (
                "training_time_sec",
                record.times.training_time_sec.unwrap_or(f64::NAN),
            ),
            ("total_time_sec", record.times.total_time_sec),
        ],
        &[("harness.kind", "search".into())],
    )?;
    let text = std::fs::read_to_string(artifacts.join("trials.jsonl"))
        .map_err(|e| MlflowError::Other(format!("cannot read trials of {}: {e}", record.run_id)))?;
    let trials: Vec<workload_wine::search::Trial> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for t in &trials {
        let mut tags = base_tags.clone();
        tags.push(("mlflow.parentRunId", parent.clone()));
        let (id, _) = m.create_run(&exp, &format!("trial-{:03}", t.id), &tags)?;
        let p = &t.params;
        m.log_batch(
            &id,
            &[
                ("max_depth", p.max_depth.to_string()),
                ("learning_rate", p.learning_rate.to_string()),
                ("reg_alpha", p.reg_alpha.to_string()),
                ("reg_lambda", p.reg_lambda.to_string()),
                ("min_child_weight", p.min_child_weight.to_string()),
            ],
            &[
                ("auc", t.auc),
                ("rounds", f64::from(t.rounds)),
                ("seconds", t.seconds),
            ],
            &[
                ("harness.kind", "trial".into()),
                ("harness.trial", t.id.to_string()),
                ("harness.executor", t.rank.to_string()),
            ],
        )?;
        m.finish_run(&id)?;
    }
    m.upload(&uri, "trials.jsonl", &artifacts.join("trials.jsonl"))?;
    let model_dir = artifacts.join("model");
    let mut version = None;
    let mut champion = false;
    if model_dir.exists() {
        for f in [
            workload_wine::model::MODEL_FILE,
            workload_wine::model::META_FILE,
            workload_wine::model::MLMODEL_FILE,
        ] {
            m.upload(&uri, &format!("model/{f}"), &model_dir.join(f))?;
        }
        if let Some(auc) = record.metrics.auc {
            let (v, moved) = m.register(
                REGISTERED_MODEL,
                CHAMPION,
                &format!("{uri}/model"),
                &parent,
                auc,
            )?;
            version = Some(v);
            champion = moved;
        }
    }
    m.finish_run(&parent)?;
    Ok(Logged {
        baseline_run,
        search_run: parent,
        trials: trials.len(),
        version,
        champion,
    })
}

/// Resolves `models:/<name>@<alias>` or `models:/<name>/<version>` to a local model directory
/// under `cache` (downloaded from the tracking server's artifact proxy).
///
/// # Errors
/// A malformed URI, an unknown model/alias/version, transport errors.
pub fn fetch_model(m: &Mlflow, uri: &str, cache: &Path) -> Result<PathBuf, MlflowError> {
    let rest = uri
        .strip_prefix("models:/")
        .ok_or_else(|| MlflowError::Other(format!("`{uri}` is not a models:/ URI")))?;
    let mv = if let Some((name, alias)) = rest.split_once('@') {
        m.alias(name, alias)?.ok_or_else(|| {
            MlflowError::Other(format!(
                "registered model `{name}` has no alias `{alias}` at {}",
                m.uri()
            ))
        })?
    } else if let Some((name, version)) = rest.split_once('/') {
        m.get(
            "model-versions/get",
            &[("name", name), ("version", version)],
        )?["model_version"]
            .clone()
    } else {
        return Err(MlflowError::Other(format!(
            "`{uri}`: expected models:/<name>@<alias> or models:/<name>/<version>"
        )));
    };
    let name = mv["name"].as_str().unwrap_or("model");
    let version = mv["version"].as_str().unwrap_or("0");
    let source = mv["source"].as_str().unwrap_or_default();
    let dir = cache.join(format!("{name}-v{version}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| MlflowError::Other(format!("cannot create {}: {e}", dir.display())))?;
    for f in [
        workload_wine::model::MODEL_FILE,
        workload_wine::model::META_FILE,
    ] {
        m.download(source, f, &dir.join(f))?;
    }
    Ok(dir)
}
