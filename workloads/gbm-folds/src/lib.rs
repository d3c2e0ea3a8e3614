//! `gbm-folds`: a LightGBM binary classifier trained for every (grid point × time-series fold),
//! the tasks farmed over all executors' slots, results aggregated per grid point.
//!
//! Reference (a Spark + LightGBM testbed of fold × grid LightGBM training): synthetic hourly series
//! ([`generate`]), 4-fold expanding-window split, one LightGBM classifier per (fold × grid
//! point) with `num_leaves` 2048, `learning_rate` 0.03, `max_bin` 256, up to 20,000 rounds and
//! early stopping after 500 rounds without a better AUC on the fold's test split; the grid
//! ([`grid`]) `lambda_l1` {0.3, 12, 40} × `max_depth` {10, 15, 17} × `feature_fraction`
//! {0.1, 0.3, 0.4} × `lambda_l2` {0.01, 0.1} = 54 points × 4 folds = 216 tasks.
//!
//! Phases: `load` = every executor reads every fold (a task may land on any slot): the first
//! `max(1, ⌊n·fraction⌋)` train files of each fold (its oldest rows) and its whole test split;
//! `train` = the task farm ([`harness_runtime::farm`]); `eval` = rank 0 aggregates per grid
//! point and writes the artifacts. Every executor reads the same files, so the record counts
//! them once (rank 0's).
//!
//! Metrics: `auc`, `accuracy`, `precision`, `recall`, `f1` = the best grid point's means over
//! folds (best = highest mean test AUC); `extra`: `tasks`, `failed_tasks`, `tasks_per_sec`,
//! `slot_utilisation`, `slots`, `grid_points`, `folds`, `best_grid_point`, `best_auc_std`,
//! `best_params.<name>` for each grid parameter. Artifacts (rank 0): `tasks.parquet` (one row
//! per task: grid point, fold, parameters, metrics, rounds, seconds, rank, slot, times, error)
//! and `grid.parquet` (per grid point: mean and standard deviation of every metric over folds,
//! total seconds).

pub mod booster;
pub mod generate;
pub mod grid;
pub mod load;
pub mod results;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use harness_core::classify::roc_auc;
use harness_core::record::{Metrics, Rows};
use harness_core::units::format_bytes;
use harness_core::StudySpec;
use harness_runtime::farm::{self, FarmConfig};
use harness_runtime::workload::{fitting_memory, DefaultData, Generator, Machine};
use harness_runtime::{ExecutorContext, Workload, WorkloadError, WorkloadOutput};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use booster::{Matrix, TrainSpec};
use grid::Grid;
use load::Fold;

/// Name of the workload on the command line and in records.
pub const NAME: &str = "gbm-folds";

/// Parameters of a run: the grid and the fixed LightGBM settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldsParams {
    pub grid: Grid,
    /// Most boosting rounds per task (20,000).
    pub rounds: u32,
    /// Early-stopping patience in rounds (500).
    pub early_stopping: u32,
    /// Leaves per tree unless the grid varies it (2048).
    pub num_leaves: u32,
    /// Shrinkage unless the grid varies it (0.03).
    pub learning_rate: f64,
    /// Histogram bins per feature, a dataset parameter (256).
    pub max_bin: u32,
    /// LightGBM threads per task; an executor offers `cores / threads_per_task` slots.
    pub threads_per_task: u32,
    /// Cap on tasks in flight over all executors.
    pub parallelism: Option<u32>,
    /// LightGBM's seed.
    pub seed: u64,
}

impl Default for FoldsParams {
    fn default() -> Self {
        FoldsParams {
            grid: Grid::reference(),
            rounds: 20_000,
            early_stopping: 500,
            num_leaves: 2048,
            learning_rate: 0.03,
            max_bin: 256,
            threads_per_task: 1,
            parallelism: None,
            seed: 42,
        }
    }
}

const KNOWN: &str = "grid (a TOML file or a table of lists), rounds, early_stopping, num_leaves, learning_rate, max_bin, threads_per_task, parallelism, seed";

impl FoldsParams {
    /// Reference defaults overridden by the point's parameters. `grid` may be a path to a
    /// TOML file (read here) or a table of lists.
    ///
    /// # Errors
    /// An unknown name, a value of the wrong type or out of range, an unreadable or invalid
    /// grid — naming the parameter.
    pub fn from_point(params: &BTreeMap<String, Value>) -> Result<Self, WorkloadError> {
        let mut p = FoldsParams::default();
        for (k, v) in params {
            let bad = || format!("gbm-folds parameter `{k}` has an invalid value {v}");
            let positive = || {
                v.as_u64()
                    .filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
                    .map(|n| n as u32)
                    .ok_or_else(bad)
            };
            match k.as_str() {
                "grid" => {
                    p.grid = match v {
                        Value::String(path) => {
                            let text = std::fs::read_to_string(path)
                                .map_err(|e| format!("cannot read the grid file {path}: {e}"))?;
                            Grid::from_toml(&text).map_err(|e| format!("grid file {path}: {e}"))?
                        }
                        other => Grid::from_json(other)?,
                    }
                }
                "rounds" => p.rounds = positive()?,
                "early_stopping" => p.early_stopping = positive()?,
                "num_leaves" => {
                    p.num_leaves = positive()?;
                    if !(2..=131_072).contains(&p.num_leaves) {
                        return Err(format!("{}: num_leaves must lie in [2, 131072]", bad()).into());
                    }
                }
                "learning_rate" => {
                    p.learning_rate = v.as_f64().filter(|x| *x > 0.0).ok_or_else(bad)?
                }
                "max_bin" => {
                    p.max_bin = positive()?;
                    if p.max_bin < 2 {
                        return Err(format!("{}: max_bin must be at least 2", bad()).into());
                    }
                }
                "threads_per_task" => p.threads_per_task = positive()?,
                "parallelism" => p.parallelism = Some(positive()?),
                "seed" => p.seed = v.as_u64().ok_or_else(bad)?,
                _ => {
                    return Err(
                        format!("unknown gbm-folds parameter `{k}` (known: {KNOWN})").into(),
                    )
                }
            }
        }
        Ok(p)
    }

    /// LightGBM dataset parameters (binning happens when the dataset is made).
    pub fn dataset_params(&self) -> String {
        format!(
            "max_bin={} num_threads={} seed={} verbosity=-1",
            self.max_bin, self.threads_per_task, self.seed
        )
    }

    /// LightGBM booster parameters of grid point `point`: binary objective, AUC metric, the
    /// fixed settings, then the point's values (which win).
    pub fn booster_params(&self, point: &[(String, f64)]) -> String {
        let mut p: BTreeMap<String, String> = [
            ("objective", "binary".to_string()),
            ("metric", "auc".to_string()),
            ("num_leaves", self.num_leaves.to_string()),
            ("learning_rate", self.learning_rate.to_string()),
            ("num_threads", self.threads_per_task.to_string()),
            ("seed", self.seed.to_string()),
            ("deterministic", "true".to_string()),
            ("verbosity", "-1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in point {
            let text = grid::lightgbm_text(&[(k.clone(), *v)]);
            let (_, value) = text.split_once('=').expect("key=value");
            p.insert(k.clone(), value.to_string());
        }
        if p.contains_key("bagging_fraction") {
            // LightGBM bags only with a bagging frequency.
            p.insert("bagging_freq".into(), "1".into());
        }
        // `metric` first: early stopping watches the first metric.
        let mut out = vec![format!("metric={}", p.remove("metric").expect("set above"))];
        out.extend(p.into_iter().map(|(k, v)| format!("{k}={v}")));
        out.join(" ")
    }

    /// How tasks map onto executors' slots.
    pub fn farm(&self) -> FarmConfig {
        FarmConfig {
            threads_per_task: self.threads_per_task,
            parallelism: self.parallelism,
            progress: None,
        }
    }
}

/// One task: a grid point on a fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Index into the grid's points.
    pub point: u32,
    pub fold: u32,
}

/// What a task measured on its fold's test split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub auc: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Boosting rounds kept after early stopping.
    pub rounds: u32,
    /// Seconds of dataset construction + training (prediction and metrics excluded).
    pub train_sec: f64,
}

/// The tasks of a run: every grid point on every fold, the largest folds first (they take
/// longest; handing them out first keeps the slots busy to the end).
pub fn tasks(points: usize, folds: usize) -> Vec<Task> {
    let mut out = Vec::with_capacity(points * folds);
    for fold in (0..folds).rev() {
        for point in 0..points {
            out.push(Task {
                point: point as u32,
                fold: fold as u32,
            });
        }
    }
    out
}

/// Accuracy, precision, recall and F1 of `scores` thresholded at 0.5 against `labels`
/// (scikit-learn's definitions; precision or recall without any positive prediction or label
/// is 0, as scikit-learn's `zero_division=0`).
pub fn threshold_metrics(scores: &[f64], labels: &[f32]) -> (f64, f64, f64, f64) {
    let (mut tp, mut fp, mut tn, mut fn_) = (0u64, 0u64, 0u64, 0u64);
    for (s, l) in scores.iter().zip(labels) {
        match (*s >= 0.5, *l > 0.5) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    (ratio(tp + tn, tp + fp + tn + fn_), precision, recall, f1)
}

/// Trains and evaluates one task.
///
/// # Errors
/// LightGBM's errors (e.g. invalid parameters), or a test split with one class only.
pub fn run_task(
    params: &FoldsParams,
    point: &[(String, f64)],
    fold: &Fold,
) -> Result<TaskResult, String> {
    let t = std::time::Instant::now();
    let spec = TrainSpec {
        dataset_params: params.dataset_params(),
        booster_params: params.booster_params(point),
        rounds: params.rounds,
        early_stopping: params.early_stopping,
    };
    let b = booster::train(&fold.train, &fold.test, &spec).map_err(|e| e.to_string())?;
    let train_sec = t.elapsed().as_secs_f64();
    let scores = b
        .predict(&fold.test, params.threads_per_task)
        .map_err(|e| e.to_string())?;
    evaluate(&scores, &fold.test, b.rounds, train_sec)
}

fn evaluate(
    scores: &[f64],
    test: &Matrix,
    rounds: u32,
    train_sec: f64,
) -> Result<TaskResult, String> {
    let labels: Vec<bool> = test.y.iter().map(|l| *l > 0.5).collect();
    let auc = roc_auc(scores, &labels).ok_or("test AUC undefined: the test split has one class")?;
    let (accuracy, precision, recall, f1) = threshold_metrics(scores, &test.y);
    Ok(TaskResult {
        auc,
        accuracy,
        precision,
        recall,
        f1,
        rounds,
        train_sec,
    })
}

/// The `gbm-folds` workload.
#[derive(Debug, Default, Clone, Copy)]
pub struct GbmFolds;

/// Default data set: the generator's defaults (300,000 rows × 100 features, seed 42).
fn default_key() -> String {
    let o = generate::GenerateOptions::default();
    format!(
        "gbm-folds-s{}-r{}-f{}-k{}",
        o.seed, o.rows, o.features, o.files_per_fold
    )
}

impl Workload for GbmFolds {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        "synthetic hourly time series: a LightGBM classifier per (grid point × expanding-window fold), 216 tasks farmed over executors"
    }

    /// Reads a grid file into the grid it holds, so every record and every executor (also on
    /// other hosts) gets the values.
    fn prepare_params(
        &self,
        params: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, WorkloadError> {
        let p = FoldsParams::from_point(params)?;
        let mut out = params.clone();
        if out.contains_key("grid") {
            out.insert("grid".into(), p.grid.to_json());
        }
        Ok(out)
    }

    /// `fold=0..K/{train,test}/` with parquet files, the first one with `feature_*` columns and
    /// `label`.
    fn check_data(&self, location: &str) -> Result<(), WorkloadError> {
        let folds = load::list_folds(location)?;
        load::feature_columns(location, &folds[0].0[0].path)?;
        Ok(())
    }

    fn default_data(&self) -> DefaultData {
        let o = generate::GenerateOptions::default();
        DefaultData::Generated {
            key: default_key(),
            describe: format!(
                "the default gbm-folds series ({} hourly rows × {} features, seed {}, 4 folds)",
                o.rows, o.features, o.seed
            ),
        }
    }

    fn generator(&self) -> Option<&dyn Generator> {
        Some(&generate::SeriesGenerator)
    }

    /// The reference's 216 tasks at executors {1, 2, 4, 8} that fit the logical CPUs with 1
    /// core each (one task slot per executor), 4g per executor (less if RAM is short), on a
    /// quarter of each fold's training files, 1 repetition.
    fn default_study(&self, machine: &Machine) -> StudySpec {
        let executors: Vec<u32> = [1, 2, 4, 8]
            .into_iter()
            .filter(|e| *e <= machine.logical_cpus.max(1))
            .collect();
        let largest = *executors.iter().max().expect("1 always fits");
        StudySpec {
            name: "gbm-folds-local".into(),
            workload: NAME.into(),
            executors,
            cores: vec![1],
            memory: vec![format_bytes(fitting_memory(machine, largest, 4 << 30))],
            fractions: vec![0.25],
            repetitions: 1,
            timeout_sec: 6 * 3600,
            data: None,
            params: Default::default(),
        }
    }

    fn run(&self, ctx: &mut ExecutorContext<'_>) -> Result<WorkloadOutput, WorkloadError> {
        let params = FoldsParams::from_point(&ctx.job.point.params)?;
        let location = ctx.job.data.clone();
        let fraction = ctx.job.point.fraction;
        let (folds, _features) = ctx.load(|| load::read_folds(&location, fraction))?;
        let points = params.grid.points();
        let cores = ctx.cores();
        let world = ctx.world;
        let farm_cfg = FarmConfig {
            progress: Some(ctx.progress_path()),
            ..params.farm()
        };
        let outcome = ctx.train(|| {
            let mut queue: VecDeque<Task> = tasks(points.len(), folds.len()).into();
            farm::run(world, cores, &farm_cfg, &mut queue, |t: &Task| {
                run_task(&params, &points[t.point as usize], &folds[t.fold as usize])
            })
        });
        let Some(outcome) = outcome else {
            // Not rank 0: the results live at rank 0.
            ctx.eval(|| ());
            return Ok(WorkloadOutput::default());
        };
        let job = ctx.job;
        let metrics = ctx.eval(|| -> Result<Metrics, WorkloadError> {
            let summary = results::summarise(&outcome, &points, folds.len());
            if let Some(dir) = &job.artifacts_dir {
                let dir = Path::new(dir);
                results::write_tasks(&dir.join("tasks.parquet"), &outcome, &points)?;
                results::write_grid(&dir.join("grid.parquet"), &summary, &points)?;
            }
            Ok(results::metrics(&outcome, &summary, &points))
        })?;
        let rows = Rows {
            train: folds.iter().map(|f| f.train.rows() as u64).sum(),
            val: 0,
            test: folds.iter().map(|f| f.test.rows() as u64).sum(),
        };
        Ok(WorkloadOutput {
            metrics,
            files: folds.iter().flat_map(|f| f.files.iter().cloned()).collect(),
            rows,
            farm: Some(outcome.spans()),
            model_digest: None,
            ..WorkloadOutput::default()
        })
    }

    fn progress_metrics(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("tasks_per_sec", "tasks/s"),
            ("slot_utilisation", "utilisation"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_parameters_and_overrides() {
        let p = FoldsParams::default();
        assert_eq!(
            (p.rounds, p.early_stopping, p.num_leaves, p.max_bin),
            (20_000, 500, 2048, 256)
        );
        assert_eq!(p.learning_rate, 0.03);
        assert_eq!(tasks(p.grid.points().len(), 4).len(), 216);
        let mut m = BTreeMap::new();
        m.insert("rounds".to_string(), json!(50));
        m.insert("grid".to_string(), json!({"max_depth": [3, 4]}));
        let q = FoldsParams::from_point(&m).unwrap();
        assert_eq!(q.rounds, 50);
        assert_eq!(q.grid.points().len(), 2);
        m.insert("round".to_string(), json!(5));
        let e = FoldsParams::from_point(&m).unwrap_err().to_string();
        assert!(e.contains("unknown gbm-folds parameter `round`"), "{e}");
        let e = FoldsParams::from_point(&BTreeMap::from([(
            "grid".to_string(),
            json!("/nonexistent/grid.toml"),
        )]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent/grid.toml"), "{e}");
    }

    #[test]
    fn booster_parameters_put_auc_first_and_let_the_grid_win() {
        let p = FoldsParams::default();
        let point = vec![
            ("max_depth".to_string(), 10.0),
            ("learning_rate".to_string(), 0.1),
            ("bagging_fraction".to_string(), 0.8),
        ];
        let text = p.booster_params(&point);
        assert!(text.starts_with("metric=auc "), "{text}");
        assert!(text.contains("max_depth=10 "), "{text}");
        assert!(text.contains("learning_rate=0.1 "), "{text}");
        assert!(!text.contains("learning_rate=0.03"), "{text}");
        assert!(text.contains("bagging_freq=1"), "{text}");
        assert!(text.contains("num_leaves=2048"), "{text}");
        assert_eq!(
            p.dataset_params(),
            "max_bin=256 num_threads=1 seed=42 verbosity=-1"
        );
    }

    #[test]
    fn tasks_hand_out_the_largest_folds_first() {
        let t = tasks(3, 4);
        assert_eq!(t.len(), 12);
        assert_eq!(t[0], Task { point: 0, fold: 3 });
        assert_eq!(t[11], Task { point: 2, fold: 0 });
        let mut seen: Vec<(u32, u32)> = t.iter().map(|t| (t.point, t.fold)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 12, "every (point, fold) once");
    }

    #[test]
    fn threshold_metrics_follow_scikit_learn() {
        // TP 2, FP 1, TN 1, FN 1.
        let scores = [0.9, 0.6, 0.7, 0.2, 0.4];
        let labels = [1.0, 1.0, 0.0, 0.0, 1.0];
        let (acc, p, r, f1) = threshold_metrics(&scores, &labels);
        assert!((acc - 0.6).abs() < 1e-12);
        assert!((p - 2.0 / 3.0).abs() < 1e-12);
        assert!((r - 2.0 / 3.0).abs() < 1e-12);
        assert!((f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(threshold_metrics(&[0.1], &[1.0]), (0.0, 0.0, 0.0, 0.0));
    }
}
