//! What a finished wine run logs to MLflow (the driver's tracking sink makes the calls):
//! - a baseline run (`<run_id>-baseline`): the forest's parameters, test AUC and accuracy,
//!   `baseline.json` as artifact;
//! - a search run (`<run_id>-search`) with one nested run per trial: params, `auc`, `rounds`,
//!   `seconds`; the parent holds the search's settings (`engine` among them), its metrics,
//!   `trials.jsonl` and the best model under `model/`;
//! - the best model registered as a new version of [`REGISTERED_MODEL`]; the alias
//!   [`CHAMPION`] moves to it only if its test AUC beats the current champion's.

use std::path::Path;

use harness_core::RunRecord;
use harness_runtime::tracking::{pairs, Registration, TrackedRun};
use harness_runtime::WorkloadError;

use harness_runtime::model::ModelFormat;

use crate::model::WineModels;
use crate::search::{Engine, Trial};
use crate::{baseline, BASELINE_SEED};

/// Registered model name of the search's best model.
pub const REGISTERED_MODEL: &str = "wine_quality";
/// Alias that points at the best version so far.
pub const CHAMPION: &str = "champion";

fn kind(k: &str) -> Vec<(String, String)> {
    vec![("harness.kind".into(), k.into())]
}

/// The runs to log for `record`, whose artifacts are in `artifacts`.
///
/// # Errors
/// No artifacts directory, or an unreadable `trials.jsonl`.
pub fn runs(
    record: &RunRecord,
    artifacts: Option<&Path>,
) -> Result<Vec<TrackedRun>, WorkloadError> {
    let artifacts = artifacts.ok_or_else(|| format!("run {} has no artifacts", record.run_id))?;
    let extra = &record.metrics.extra;
    let get = |k: &str| extra.get(k).copied().unwrap_or(f64::NAN);
    let mut runs = Vec::new();

    let baseline_json = artifacts.join("baseline.json");
    if baseline_json.exists() {
        runs.push(TrackedRun {
            name: format!("{}-baseline", record.run_id),
            params: pairs(&[
                ("model", "random_forest".to_string()),
                ("library", "linfa-ensemble".to_string()),
                ("trees", baseline::TREES.to_string()),
                ("seed", BASELINE_SEED.to_string()),
            ]),
            metrics: pairs(&[
                ("test_auc", get("baseline_auc")),
                ("test_accuracy", get("baseline_accuracy")),
            ]),
            tags: kind("baseline"),
            artifacts: vec![("baseline.json".into(), baseline_json)],
            ..TrackedRun::default()
        });
    }

    let trials_path = artifacts.join("trials.jsonl");
    let text = std::fs::read_to_string(&trials_path)
        .map_err(|e| format!("cannot read trials of {}: {e}", record.run_id))?;
    let trials: Vec<Trial> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let children = trials
        .iter()
        .map(|t| {
            let p = &t.params;
            let mut tags = kind("trial");
            tags.push(("harness.trial".into(), t.id.to_string()));
            tags.push(("harness.executor".into(), t.rank.to_string()));
            TrackedRun {
                name: format!("trial-{:03}", t.id),
                params: pairs(&[
                    ("max_depth", p.max_depth.to_string()),
                    ("learning_rate", p.learning_rate.to_string()),
                    ("reg_alpha", p.reg_alpha.to_string()),
                    ("reg_lambda", p.reg_lambda.to_string()),
                    ("min_child_weight", p.min_child_weight.to_string()),
                ]),
                metrics: pairs(&[
                    ("auc", t.auc),
                    ("rounds", f64::from(t.rounds)),
                    ("seconds", t.seconds),
                ]),
                tags,
                ..TrackedRun::default()
            }
        })
        .collect();

    let point = &record.point;
    let mut search = TrackedRun {
        name: format!("{}-search", record.run_id),
        params: pairs(&[
            ("executors", point.executors.to_string()),
            ("cores", point.cores.to_string()),
            ("memory_bytes", point.memory_bytes.to_string()),
            ("fraction", point.fraction.to_string()),
            ("algorithm", "tpe".to_string()),
            (
                "engine",
                point
                    .params
                    .get("engine")
                    .and_then(|v| v.as_str())
                    .unwrap_or(Engine::LightGbm.name())
                    .to_string(),
            ),
            ("evaluations", (get("trials") as u64).to_string()),
            ("slots", (get("slots") as u64).to_string()),
        ]),
        metrics: pairs(&[
            ("best_auc", record.metrics.auc.unwrap_or(f64::NAN)),
            ("trials_per_sec", get("trials_per_sec")),
            ("slot_utilisation", get("slot_utilisation")),
            (
                "training_time_sec",
                record.times.training_time_sec.unwrap_or(f64::NAN),
            ),
            ("total_time_sec", record.times.total_time_sec),
        ]),
        tags: kind("search"),
        artifacts: vec![("trials.jsonl".into(), trials_path)],
        children,
        register: None,
    };
    let model_dir = artifacts.join("model");
    if model_dir.exists() {
        for f in WineModels.files(&model_dir) {
            search
                .artifacts
                .push((format!("model/{f}"), model_dir.join(f)));
        }
        search.register = record.metrics.auc.map(|auc| Registration {
            model: REGISTERED_MODEL.into(),
            artifact_dir: "model".into(),
            score_name: "test_auc".into(),
            score: auc,
            alias: CHAMPION.into(),
        });
    }
    runs.push(search);
    Ok(runs)
}
