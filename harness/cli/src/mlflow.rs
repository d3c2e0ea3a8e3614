//! MLflow tracking and model registry over MLflow's REST API (`/api/2.0/mlflow/...`).
//!
//! What a finished run logs is the workload's description ([`TrackedRun`]s, from
//! `Workload::tracking`): runs with params, metrics, tags and artifacts, nested runs
//! (`mlflow.parentRunId`), and a model version registered from a run's artifacts whose alias
//! (e.g. `champion`) moves to it only if its score (a version tag) beats the alias's current
//! version. The driver logs after the run's record is written, so nothing is lost locally if
//! the server is down. `models:/<name>@<alias>` and `models:/<name>/<version>` resolve to a
//! local model directory for batch scoring and serving.
//!
//! Artifacts go through the tracking server's artifact proxy
//! (`/api/2.0/mlflow-artifacts/artifacts/...`, `mlflow server --serve-artifacts`, the default).
//! Every run carries the tags `harness.study`, `harness.run_id`, `harness.workload`.
//! Reference: MLflow REST API documentation (mlflow.org/docs/latest/rest-api.html).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness_core::RunRecord;
use harness_runtime::model::MODEL_META;
use harness_runtime::tracking::TrackedRun;
use serde_json::{json, Value};
use thiserror::Error;

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
    /// with `score_name` = `score`; moves `alias` to it when its score beats the alias's current
    /// version (higher is better). Returns (version, whether the alias moved).
    ///
    /// # Errors
    /// Transport or server errors.
    pub fn register(
        &self,
        model: &str,
        alias: &str,
        source: &str,
        run_id: &str,
        score_name: &str,
        score: f64,
    ) -> Result<(String, bool), MlflowError> {
        match self.post("registered-models/create", json!({"name": model})) {
            Ok(_) => {}
            Err(e) if e.code().as_deref() == Some("RESOURCE_ALREADY_EXISTS") => {}
            Err(e) => return Err(e),
        }
        let v = self.post(
            "model-versions/create",
            json!({"name": model, "source": source, "run_id": run_id,
                   "tags": [{"key": score_name, "value": score.to_string()}]}),
        )?;
        let version = v["model_version"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let current = self.alias(model, alias)?.and_then(|mv| {
            mv["tags"].as_array().and_then(|t| {
                t.iter()
                    .find(|t| t["key"] == score_name)
                    .and_then(|t| t["value"].as_str()?.parse::<f64>().ok())
            })
        });
        let better = current.is_none_or(|c| score > c);
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

/// What [`Mlflow::log_runs`] created.
#[derive(Debug, Clone, Default)]
pub struct Logged {
    /// Names and ids of the top-level runs.
    pub runs: Vec<(String, String)>,
    /// Nested runs under them.
    pub nested: usize,
    /// Registered versions: (model, version, whether the alias moved to it).
    pub versions: Vec<(String, String, bool)>,
}

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|(name, id)| format!("{name} {id}"))
            .collect();
        write!(f, "runs {}", runs.join(", "))?;
        if self.nested > 0 {
            write!(f, " with {} nested runs", self.nested)?;
        }
        for (model, version, moved) in &self.versions {
            write!(f, ", registered {model} v{version}")?;
            if *moved {
                write!(f, " (new champion)")?;
            }
        }
        Ok(())
    }
}

impl Mlflow {
    /// Logs `runs` (a workload's [`TrackedRun`]s for `record`) into the experiment named after
    /// the study: each run with its params, metrics, tags and artifacts, its nested runs, and
    /// the model version it registers. Every run also gets the tags `harness.study`,
    /// `harness.run_id`, `harness.workload` and `harness.repetition`.
    ///
    /// # Errors
    /// The first MLflow or file error; the caller warns and goes on.
    pub fn log_runs(&self, record: &RunRecord, runs: &[TrackedRun]) -> Result<Logged, MlflowError> {
        let exp = self.experiment(&record.study)?;
        let base = vec![
            ("harness.study".to_string(), record.study.clone()),
            ("harness.run_id".to_string(), record.run_id.clone()),
            ("harness.workload".to_string(), record.workload.clone()),
            (
                "harness.repetition".to_string(),
                record.repetition.to_string(),
            ),
        ];
        let mut logged = Logged::default();
        for run in runs {
            let id = self.log_run(&exp, &base, None, run, &mut logged)?;
            logged.runs.push((run.name.clone(), id));
        }
        Ok(logged)
    }

    fn log_run(
        &self,
        exp: &str,
        base: &[(String, String)],
        parent: Option<&str>,
        run: &TrackedRun,
        logged: &mut Logged,
    ) -> Result<String, MlflowError> {
        let mut create_tags: Vec<(&str, String)> =
            base.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        if let Some(p) = parent {
            create_tags.push(("mlflow.parentRunId", p.to_string()));
        }
        let (id, uri) = self.create_run(exp, &run.name, &create_tags)?;
        let params: Vec<(&str, String)> = run
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let metrics: Vec<(&str, f64)> = run.metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let tags: Vec<(&str, String)> = run
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        self.log_batch(&id, &params, &metrics, &tags)?;
        for child in &run.children {
            self.log_run(exp, base, Some(&id), child, logged)?;
            logged.nested += 1;
        }
        for (rel, local) in &run.artifacts {
            self.upload(&uri, rel, local)?;
        }
        if let Some(r) = &run.register {
            let (version, moved) = self.register(
                &r.model,
                &r.alias,
                &format!("{uri}/{}", r.artifact_dir),
                &id,
                &r.score_name,
                r.score,
            )?;
            logged.versions.push((r.model.clone(), version, moved));
        }
        self.finish_run(&id)?;
        Ok(id)
    }
}

/// Resolves `models:/<name>@<alias>` or `models:/<name>/<version>` to a local model directory
/// under `cache` (downloaded from the tracking server's artifact proxy).
///
/// # Errors
/// A malformed URI, an unknown model/alias/version, transport errors.
pub fn fetch_model(
    m: &Mlflow,
    uri: &str,
    cache: &Path,
    files_of: impl Fn(&Path) -> Result<Vec<&'static str>, String>,
) -> Result<PathBuf, MlflowError> {
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
    // The metadata names the workload, which knows the rest of the directory.
    m.download(source, MODEL_META, &dir.join(MODEL_META))?;
    for f in files_of(&dir).map_err(MlflowError::Other)? {
        if f != MODEL_META {
            m.download(source, f, &dir.join(f))?;
        }
    }
    Ok(dir)
}
