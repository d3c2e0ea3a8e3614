//! `wine`: UCI wine quality — a random-forest baseline and a TPE search of LightGBM or XGBoost
//! models, task-parallel over MPI executors.
//!
//! Reference pipeline (the MLflow wine-quality tutorial): red then white
//! concatenated with `is_red`, label `quality >= 7`, seeded 75/25 split ([`data`]); baseline
//! random forest of 10 trees → test ROC AUC ≈ 0.89 ([`baseline`]); TPE over the reference space,
//! 96 trials of ≤ 1000 rounds with early stopping 50 on the test split ([`search`]), trained
//! with LightGBM (default) or XGBoost — the reference notebook's library — by the parameter
//! `engine`.
//!
//! Phases of a run: `load` = read + split (every executor); `train` = the search (the quantity
//! that scales with executors); `eval` = the baseline forest and writing artifacts (rank 0).
//! The fraction scales the training rows; the test split stays whole.
//!
//! Metrics: `auc` = best trial's test AUC; `extra`: `baseline_auc`, `baseline_accuracy`,
//! `trials`, `failed_trials`, `trials_per_sec`, `slot_utilisation`, `slots`, `best_rounds`,
//! `best_trial`. Artifacts (rank 0, in the job's artifacts directory): `trials.jsonl` (one
//! [`search::Trial`] per line), `baseline.json`, `model/` ([`model`]). Records carry `engine`
//! in `point.params`, the default included.

pub mod baseline;
pub mod data;
pub mod export;
pub mod model;
pub mod search;
mod tracking;

use std::collections::BTreeMap;
use std::path::Path;

use harness_core::record::{Metrics, Rows};
use harness_core::units::format_bytes;
use harness_core::{RunRecord, StudySpec};
use harness_runtime::model::ModelFormat;
use harness_runtime::tracking::TrackedRun;
use harness_runtime::workload::{fitting_memory, DefaultData, Machine};
use harness_runtime::{ExecutorContext, Workload, WorkloadError, WorkloadOutput};
use serde_json::Value;

use search::{Engine, SearchConfig};

/// Name of the workload on the command line and in records.
pub const NAME: &str = "wine";

/// Seed of the baseline forest.
pub const BASELINE_SEED: u64 = 62;

/// Parameters of a run: the search settings and whether to fit the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct WineParams {
    pub search: SearchConfig,
    pub baseline: bool,
}

impl WineParams {
    /// Reference defaults overridden by `engine`, `evaluations`, `rounds`, `early_stopping`,
    /// `threads_per_task`, `parallelism`, `startup`, `seed`, `baseline` from `params`.
    ///
    /// # Errors
    /// An unknown name or a value of the wrong type.
    pub fn from_point(params: &BTreeMap<String, Value>) -> Result<Self, WorkloadError> {
        let mut p = WineParams {
            search: SearchConfig::default(),
            baseline: true,
        };
        for (k, v) in params {
            let bad = || format!("wine parameter `{k}` has an invalid value {v}");
            let positive = || {
                v.as_u64()
                    .filter(|n| *n > 0)
                    .map(|n| n as u32)
                    .ok_or_else(bad)
            };
            match k.as_str() {
                "engine" => {
                    p.search.engine = v
                        .as_str()
                        .ok_or_else(bad)
                        .and_then(|s| Engine::parse(s).map_err(|e| format!("wine parameter `engine`: {e}")))?
                }
                "evaluations" => p.search.evaluations = positive()?,
                "rounds" => p.search.rounds = positive()?,
                "early_stopping" => p.search.early_stopping = positive()?,
                "threads_per_task" => p.search.threads_per_task = positive()?,
                "parallelism" => p.search.parallelism = Some(positive()?),
                "startup" => p.search.startup = v.as_u64().ok_or_else(bad)? as u32,
                "seed" => p.search.seed = v.as_u64().ok_or_else(bad)?,
                "baseline" => p.baseline = v.as_bool().ok_or_else(bad)?,
                _ => return Err(format!("unknown wine parameter `{k}` (known: engine, evaluations, rounds, early_stopping, threads_per_task, parallelism, startup, seed, baseline)").into()),
            }
        }
        Ok(p)
    }
}

/// The `wine` workload.
#[derive(Debug, Default, Clone, Copy)]
pub struct Wine;

fn write_json_lines<T: serde::Serialize>(path: &Path, items: &[T]) -> std::io::Result<()> {
    let mut text = String::new();
    for i in items {
        text.push_str(&serde_json::to_string(i).expect("serialises"));
        text.push('\n');
    }
    std::fs::write(path, text)
}

impl Workload for Wine {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        "UCI wine quality: linfa random-forest baseline + 96-trial TPE search of LightGBM (engine=lightgbm) or XGBoost (engine=xgboost) models farmed over executors (embedded data)"
    }

    fn prepare_params(
        &self,
        params: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, WorkloadError> {
        let p = WineParams::from_point(params)?;
        // Records name the engine, the default included, so reports can tell engines apart.
        let mut out = params.clone();
        out.insert("engine".into(), Value::from(p.search.engine.name()));
        Ok(out)
    }

    fn check_data(&self, location: &str) -> Result<(), WorkloadError> {
        if location == data::EMBEDDED {
            return Ok(());
        }
        if location.starts_with("s3://") {
            return Err(format!("the wine workload reads its two CSV files from a local directory or the embedded copy, not from {location}").into());
        }
        data::load_dir(Path::new(location))?;
        Ok(())
    }

    fn default_data(&self) -> DefaultData {
        DefaultData::Builtin(data::EMBEDDED)
    }

    fn export(&self, source: &str, out: &Path, files: usize) -> Result<String, WorkloadError> {
        let all = data::load(source)?;
        let split = data::split(&all, data::SPLIT_SEED, 1.0);
        let mut lines = Vec::new();
        for (name, d) in [("train", &split.train), ("test", &split.test)] {
            export::export(d, &out.join(name), files)?;
            lines.push(format!(
                "{name}: {} rows in {} files",
                d.rows(),
                files.clamp(1, d.rows().max(1))
            ));
        }
        Ok(lines.join("; "))
    }

    /// The 96-trial search at executors {1, 2, 4, 8} that fit the logical CPUs with 1 core each
    /// (one trial slot per executor), 2g per executor (less if RAM is short), all training
    /// rows, 3 repetitions, on the embedded UCI data.
    fn default_study(&self, machine: &Machine) -> StudySpec {
        let executors: Vec<u32> = [1, 2, 4, 8]
            .into_iter()
            .filter(|e| *e <= machine.logical_cpus.max(1))
            .collect();
        let largest = *executors.iter().max().expect("1 always fits");
        StudySpec {
            name: "wine-local".into(),
            workload: NAME.into(),
            executors,
            cores: vec![1],
            memory: vec![format_bytes(fitting_memory(machine, largest, 2 << 30))],
            fractions: vec![1.0],
            repetitions: 3,
            timeout_sec: 3600,
            data: None,
            params: Default::default(),
        }
    }

    fn progress_metrics(&self) -> &'static [(&'static str, &'static str)] {
        &[("trials_per_sec", "trials/s")]
    }

    fn tracking(
        &self,
        record: &RunRecord,
        artifacts: Option<&Path>,
    ) -> Result<Vec<TrackedRun>, WorkloadError> {
        tracking::runs(record, artifacts)
    }

    fn model_format(&self) -> Option<&dyn ModelFormat> {
        Some(&model::WineModels)
    }

    fn run(&self, ctx: &mut ExecutorContext<'_>) -> Result<WorkloadOutput, WorkloadError> {
        let params = WineParams::from_point(&ctx.job.point.params)?;
        let location = ctx.job.data.clone();
        let fraction = ctx.job.point.fraction;
        let split = ctx.load(|| -> Result<_, WorkloadError> {
            let all = data::load(&location)?;
            Ok(data::split(&all, data::SPLIT_SEED, fraction))
        })?;
        let rows = Rows {
            train: split.train.rows() as u64,
            val: 0,
            test: split.test.rows() as u64,
        };
        let cores = ctx.cores();
        let world = ctx.world;
        let progress = Some(ctx.progress_path());
        let outcome = ctx.train(|| {
            search::run(
                world,
                cores,
                &split.train,
                &split.test,
                &params.search,
                progress,
            )
        });
        let Some(outcome) = outcome else {
            // Not rank 0: the search's results live at rank 0.
            ctx.eval(|| ());
            return Ok(WorkloadOutput::default());
        };
        let job = ctx.job;
        let result = ctx.eval(|| -> Result<Metrics, WorkloadError> {
            let mut m = Metrics::default();
            let best = outcome.best_trial();
            m.auc = best.map(|t| t.auc);
            let failed = outcome.trials.iter().filter(|t| t.error.is_some()).count();
            let extra = &mut m.extra;
            extra.insert("trials".into(), outcome.trials.len() as f64);
            extra.insert("failed_trials".into(), failed as f64);
            extra.insert("trials_per_sec".into(), outcome.trials_per_sec());
            extra.insert("slot_utilisation".into(), outcome.utilisation());
            extra.insert("slots".into(), f64::from(outcome.slots()));
            if let Some(b) = best {
                extra.insert("best_rounds".into(), f64::from(b.rounds));
                extra.insert("best_trial".into(), f64::from(b.id));
            }
            let base = if params.baseline {
                let b = baseline::run(&split.train, &split.test, BASELINE_SEED)?;
                extra.insert("baseline_auc".into(), b.test_auc);
                extra.insert("baseline_accuracy".into(), b.test_accuracy);
                Some(b)
            } else {
                None
            };
            if let Some(dir) = &job.artifacts_dir {
                let dir = Path::new(dir);
                let io = |e: std::io::Error| format!("cannot write artifacts in {}: {e}", dir.display());
                write_json_lines(&dir.join("trials.jsonl"), &outcome.trials).map_err(io)?;
                if let Some(b) = &base {
                    let json = serde_json::json!({
                        "model": format!("linfa-ensemble random forest, {} trees, seed {BASELINE_SEED}", baseline::TREES),
                        "test_auc": b.test_auc,
                        "test_accuracy": b.test_accuracy,
                        "importance": "permutation importance on the test split (mean AUC drop over 5 shuffles)",
                        "importances": b.importances.iter().map(|(n, v)| serde_json::json!({"feature": n, "auc_drop": v})).collect::<Vec<_>>(),
                    });
                    std::fs::write(dir.join("baseline.json"), serde_json::to_vec_pretty(&json)?).map_err(io)?;
                }
                if let (Some(b), Some(text)) = (best, &outcome.best_model) {
                    let meta = model::ModelMeta {
                        workload: NAME.into(),
                        engine: params.search.engine,
                        features: data::FEATURES.iter().map(|s| s.to_string()).collect(),
                        params: b.params,
                        rounds: b.rounds,
                        test_auc: b.auc,
                        study: job.study.clone(),
                        run_id: job.run_id.clone(),
                    };
                    model::save(&dir.join("model"), text, &meta)?;
                }
            }
            Ok(m)
        });
        Ok(WorkloadOutput {
            metrics: result?,
            files: Vec::new(),
            rows,
            farm: Some(outcome.farm),
            model_digest: None,
            ..WorkloadOutput::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn engine_is_a_parameter_and_records_name_it() {
        let p = Wine.prepare_params(&params(&[])).unwrap();
        assert_eq!(p["engine"], "lightgbm");
        let p = Wine
            .prepare_params(&params(&[("engine", "xgboost".into())]))
            .unwrap();
        assert_eq!(p["engine"], "xgboost");
        let w = WineParams::from_point(&p).unwrap();
        assert_eq!(w.search.engine, Engine::XgBoost);
        let e = Wine
            .prepare_params(&params(&[("engine", "catboost".into())]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown engine `catboost` (known: lightgbm, xgboost)"),
            "{e}"
        );
        let e = WineParams::from_point(&params(&[("engine", 3.into())]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`engine` has an invalid value 3"), "{e}");
    }
}
