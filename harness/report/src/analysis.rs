//! Records → numbers a report shows: per-point distributions over repetitions, scaling metrics,
//! Amdahl/USL fits per series, stragglers, and the comparison with a baseline study.
//!
//! Only `ok` runs enter statistics and fits; other runs are listed with their errors. Every
//! formula lives in `harness_core::{stats, fit}`; this module only groups records.

use harness_core::fit::{fit_amdahl, fit_usl, predict, AmdahlFit, Law, Prediction, UslFit};
use harness_core::record::{FarmStats, Point};
use harness_core::stats::{
    bootstrap_median_ci, karp_flatt, median, median_ratio, min_max, speedup, tukey_outliers,
    Outlier, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED,
};
use harness_core::{RunRecord, RunStatus};
use serde::Serialize;

/// A quantity over the ok repetitions of a point.
#[derive(Debug, Clone, Serialize)]
pub struct Dist {
    pub n: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// 95 % percentile-bootstrap interval of the median.
    pub ci: (f64, f64),
    /// Tukey class of each repetition, by run id (never dropped).
    pub outliers: Vec<(String, Outlier)>,
}

impl Dist {
    fn of(values: &[(String, f64)]) -> Option<Dist> {
        let xs: Vec<f64> = values.iter().map(|v| v.1).collect();
        let median = median(&xs)?;
        let (min, max) = min_max(&xs)?;
        let ci = bootstrap_median_ci(&xs, 0.95, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)?;
        let outliers = values
            .iter()
            .zip(tukey_outliers(&xs))
            .filter(|(_, o)| *o != Outlier::None)
            .map(|((id, _), o)| (id.clone(), o))
            .collect();
        Some(Dist {
            n: xs.len(),
            median,
            min,
            max,
            ci,
            outliers,
        })
    }
}

/// Speedup, efficiency and Karp–Flatt of a point against the series' base.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scaling {
    pub speedup: f64,
    pub efficiency: f64,
    /// Karp–Flatt serial fraction; absent at the base itself.
    pub karp_flatt: Option<f64>,
}

/// One point with its repetitions summarised.
#[derive(Debug, Clone, Serialize)]
pub struct PointSummary {
    pub point: Point,
    /// Records of the point, every attempt counted.
    pub runs: usize,
    /// Of those, the `ok` ones.
    pub ok: usize,
    /// Distinct runs (repetitions) of the point, however many attempts each took.
    pub repetitions: usize,
    /// Ok runs whose every executor had its limits enforced.
    pub enforced: usize,
    pub train: Option<Dist>,
    pub total: Option<Dist>,
    pub startup: Option<Dist>,
    pub load: Option<Dist>,
    pub eval: Option<Dist>,
    pub comm: Option<Dist>,
    pub val_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    /// Median ROC AUC (classification workloads that report one).
    pub auc: Option<f64>,
    /// Median test RMSE and MAE (regression workloads that report them), in the target's unit.
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    /// Median of each workload-specific metric (`metrics.extra`) over ok runs, by name.
    pub extra: std::collections::BTreeMap<String, f64>,
    /// Median training rows.
    pub train_rows: Option<f64>,
    /// Against the smallest executor count of the series (training time).
    pub scaling_train: Option<Scaling>,
    /// Against the smallest executor count of the series (total time).
    pub scaling_total: Option<Scaling>,
    /// Training-time speedup against the smallest total core count (executors × cores) at the
    /// same memory and fraction.
    pub scaling_cores: Option<Scaling>,
    pub all_enforced: bool,
    pub oversubscribed: bool,
    /// Task-parallel runs ([`RunRecord::farm`]): tasks per second of the farm's wall time.
    pub throughput: Option<Dist>,
    /// Task-parallel runs: busy share of all slots, Σ task seconds / (slots × wall seconds).
    pub utilisation: Option<Dist>,
    /// Task-parallel runs: median tasks and slots per run.
    pub tasks: Option<f64>,
    pub slots: Option<f64>,
    /// Peak resident memory of the run's largest executor, bytes (over ok runs).
    pub peak_memory: Option<Dist>,
    /// Median over ok runs of Σ executors' peak resident bytes / training rows.
    pub peak_per_row: Option<f64>,
}

/// The task timeline of one task-parallel run, for a Gantt chart (rank × slot × time).
#[derive(Debug, Clone, Serialize)]
pub struct Gantt {
    pub run_id: String,
    pub executors: u32,
    pub fraction: f64,
    pub farm: FarmStats,
}

/// Fits of one series (same cores, memory, fraction, params; executors vary).
#[derive(Debug, Clone, Serialize)]
pub struct SeriesFit {
    pub label: String,
    pub cores: u32,
    pub memory_bytes: u64,
    pub fraction: f64,
    pub amdahl_train: Option<AmdahlFit>,
    pub usl_train: Option<UslFit>,
    pub amdahl_total: Option<AmdahlFit>,
    pub usl_total: Option<UslFit>,
    /// Training time both laws predict at 2× and 4× the largest executor count measured,
    /// from the same runs as the fits.
    pub predictions: Vec<Prediction>,
}

/// One executor's phases in seconds. Training splits into compute, communication inside
/// training (`train_comm_sec`) and waiting for the slowest executor (`train_wait_sec`), so
/// compute = train − comm − wait. Records written before that split have only `comm_sec`
/// (which includes start-up and evaluation collectives); for them comm is `comm_sec` capped at
/// the phases' sum and wait is 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankPhases {
    pub rank: u32,
    pub load: f64,
    pub compute: f64,
    pub comm: f64,
    pub wait: f64,
    pub eval: f64,
    /// Run-queue wait of the executor's threads during training, seconds (from the kernel).
    pub run_queue_wait: Option<f64>,
    /// Whether training was contended (run-queue wait or throttling above 5 % of core-seconds).
    pub contended: bool,
}

impl RankPhases {
    /// The phases of one executor report.
    pub fn of(e: &harness_core::record::ExecutorReport) -> Self {
        let (comm, wait) = match (e.train_comm_sec, e.train_wait_sec) {
            (Some(c), Some(w)) => (c.min(e.train_sec), w.min(e.train_sec - c.min(e.train_sec))),
            _ => (e.comm_sec.min(e.train_sec + e.load_sec + e.eval_sec), 0.0),
        };
        let train = e.kernel.as_ref().map(|k| &k.train);
        RankPhases {
            rank: e.rank,
            load: e.load_sec,
            compute: (e.train_sec - comm - wait).max(0.0),
            comm,
            wait,
            eval: e.eval_sec,
            run_queue_wait: train.map(|k| k.run_queue_wait_sec),
            contended: train.is_some_and(|k| k.contended),
        }
    }

    /// Seconds the executor was busy with its own work: load + compute + eval.
    pub fn busy(&self) -> f64 {
        self.load + self.compute + self.eval
    }
}

/// Per-executor phase times of one representative run, with the straggler ratio.
#[derive(Debug, Clone, Serialize)]
pub struct Straggler {
    pub run_id: String,
    /// One entry per rank.
    pub phases: Vec<RankPhases>,
    /// max / median of per-executor busy time (load + compute + eval).
    pub ratio: f64,
}

/// Everything a study page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub points: Vec<PointSummary>,
    /// Workload parameters whose value differs between points (e.g. `engine` when one results
    /// directory holds studies of two engines): series are told apart by them.
    pub varying_params: Vec<String>,
    pub fits: Vec<SeriesFit>,
    pub stragglers: Vec<Straggler>,
    /// One task timeline per executor count of a task-parallel study: the median-training-time
    /// run at the largest fraction (empty when no record has farm data).
    pub gantts: Vec<Gantt>,
}

/// Whether two points belong to one series (same cores, memory, fraction and parameters).
pub fn same_series(a: &Point, b: &Point) -> bool {
    a.cores == b.cores
        && a.memory_bytes == b.memory_bytes
        && (a.fraction - b.fraction).abs() < 1e-12
        && a.params == b.params
}

/// A parameter value as a short text: strings without quotes, anything longer than 40
/// characters (a stored grid) cut with an ellipsis.
pub fn param_text(v: &serde_json::Value) -> String {
    let t = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if t.chars().count() > 40 {
        format!("{}…", t.chars().take(39).collect::<String>())
    } else {
        t
    }
}

/// Parameter names whose values differ between `points` (a name missing from some point
/// counts as differing). In overlaid studies (points carrying [`crate::STUDY_PARAM`]), a
/// parameter that is constant within each study — e.g. each workload's own parameters when a
/// comparison overlays two workloads — tells no more than the study's name and is left out.
pub fn varying_params<'a>(points: impl IntoIterator<Item = &'a Point> + Clone) -> Vec<String> {
    let mut names: Vec<&String> = points
        .clone()
        .into_iter()
        .flat_map(|p| p.params.keys())
        .collect();
    names.sort();
    names.dedup();
    let differs = |n: &str, within: Option<&serde_json::Value>| {
        let mut vals = points
            .clone()
            .into_iter()
            .filter(|p| within.is_none() || p.params.get(crate::STUDY_PARAM) == within)
            .map(|p| p.params.get(n));
        let first = vals.next();
        vals.any(|v| Some(v) != first)
    };
    let studies: Vec<&serde_json::Value> = {
        let mut s: Vec<&serde_json::Value> = Vec::new();
        for v in points
            .clone()
            .into_iter()
            .filter_map(|p| p.params.get(crate::STUDY_PARAM))
        {
            if !s.contains(&v) {
                s.push(v);
            }
        }
        s
    };
    names
        .into_iter()
        .filter(|n| differs(n, None))
        .filter(|n| {
            n.as_str() == crate::STUDY_PARAM
                || studies.is_empty()
                || studies.iter().any(|s| differs(n, Some(s)))
        })
        .cloned()
        .collect()
}

/// `name=value` of each of `names` in `p`'s parameters, joined by ", " (empty for none).
pub fn params_label(p: &Point, names: &[String]) -> String {
    names
        .iter()
        .map(|n| {
            let v = p
                .params
                .get(n)
                .map(param_text)
                .unwrap_or_else(|| "–".into());
            format!("{n}={v}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Label of a series in charts and tables: fraction, cores and memory, then the parameters
/// in `varying` that tell series apart.
pub fn series_label(p: &Point, varying: &[String]) -> String {
    let base = format!(
        "fraction {} ({}c, {})",
        p.fraction,
        p.cores,
        harness_core::format_bytes(p.memory_bytes)
    );
    match params_label(p, varying) {
        l if l.is_empty() => base,
        l => format!("{base} {l}"),
    }
}

/// The training times of `point`'s ok runs, seconds.
pub fn ok_training_times(records: &[RunRecord], point: &Point) -> Vec<f64> {
    ok_runs(records, point)
        .iter()
        .filter_map(|r| r.times.training_time_sec)
        .collect()
}

fn ok_runs<'a>(records: &'a [RunRecord], point: &Point) -> Vec<&'a RunRecord> {
    records
        .iter()
        .filter(|r| r.status == RunStatus::Ok && r.point.same_as(point))
        .collect()
}

fn scaling(base_t: f64, base_e: u32, t: f64, e: u32) -> Scaling {
    let (s, eff) = speedup(base_t, base_e, t, e);
    Scaling {
        speedup: s,
        efficiency: eff,
        karp_flatt: karp_flatt(s, f64::from(e) / f64::from(base_e)),
    }
}

/// The distinct points of `records`, ordered by (cores, memory, fraction, executors).
pub(crate) fn distinct_points<'a>(records: impl IntoIterator<Item = &'a RunRecord>) -> Vec<Point> {
    let mut keys: Vec<Point> = Vec::new();
    for r in records {
        if !keys.iter().any(|p| p.same_as(&r.point)) {
            keys.push(r.point.clone());
        }
    }
    keys.sort_by(|a, b| {
        (a.cores, a.memory_bytes)
            .cmp(&(b.cores, b.memory_bytes))
            .then(a.fraction.total_cmp(&b.fraction))
            .then(a.executors.cmp(&b.executors))
    });
    keys
}

/// Peak resident bytes of a run's largest executor; `None` without executor reports.
pub fn peak_memory(r: &RunRecord) -> Option<f64> {
    r.executor_reports
        .iter()
        .map(|e| e.peak_rss_bytes)
        .max()
        .filter(|m| *m > 0)
        .map(|m| m as f64)
}

/// Analyses a study's records.
pub fn analyse(records: &[RunRecord]) -> Analysis {
    let keys = distinct_points(records);
    let varying = varying_params(keys.iter());
    let mut points: Vec<PointSummary> = keys.iter().map(|p| summarise(records, p)).collect();
    add_scaling(&mut points);
    let fits = fit_series(records, &keys, &varying);
    let stragglers = stragglers(records, &points);
    let gantts = gantts(records, &points);
    Analysis {
        points,
        varying_params: varying,
        fits,
        stragglers,
        gantts,
    }
}

/// One point's runs summarised (scaling is added by [`add_scaling`]).
fn summarise(records: &[RunRecord], point: &Point) -> PointSummary {
    let ok = ok_runs(records, point);
    let col = |f: &dyn Fn(&RunRecord) -> Option<f64>| -> Vec<(String, f64)> {
        ok.iter()
            .filter_map(|r| f(r).map(|v| (r.run_id.clone(), v)))
            .collect()
    };
    let vals = |f: &dyn Fn(&RunRecord) -> Option<f64>| -> Vec<f64> {
        col(f).into_iter().map(|v| v.1).collect()
    };
    PointSummary {
        point: point.clone(),
        runs: records.iter().filter(|r| r.point.same_as(point)).count(),
        ok: ok.len(),
        repetitions: {
            let mut ids: Vec<&str> = records
                .iter()
                .filter(|r| r.point.same_as(point))
                .map(|r| r.run_id.as_str())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        },
        enforced: ok.iter().filter(|r| r.all_enforced()).count(),
        train: Dist::of(&col(&|r| r.times.training_time_sec)),
        total: Dist::of(&col(&|r| Some(r.times.total_time_sec))),
        startup: Dist::of(&col(&|r| r.times.startup_sec)),
        load: Dist::of(&col(&|r| r.times.load_sec)),
        eval: Dist::of(&col(&|r| r.times.eval_sec)),
        comm: Dist::of(&col(&|r| r.times.comm_sec)),
        val_accuracy: median(&vals(&|r| r.metrics.val_accuracy)),
        test_accuracy: median(&vals(&|r| r.metrics.test_accuracy)),
        auc: median(&vals(&|r| r.metrics.auc)),
        rmse: median(&vals(&|r| r.metrics.rmse)),
        mae: median(&vals(&|r| r.metrics.mae)),
        extra: {
            let mut keys: Vec<&String> = ok.iter().flat_map(|r| r.metrics.extra.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter_map(|k| {
                    let v: Vec<f64> = ok
                        .iter()
                        .filter_map(|r| r.metrics.extra.get(k).copied())
                        .collect();
                    median(&v).map(|m| (k.clone(), m))
                })
                .collect()
        },
        train_rows: median(&vals(&|r| Some(r.data.rows.train as f64))),
        scaling_train: None,
        scaling_total: None,
        scaling_cores: None,
        all_enforced: !ok.is_empty() && ok.iter().all(|r| r.all_enforced()),
        oversubscribed: records
            .iter()
            .any(|r| r.point.same_as(point) && r.oversubscribed),
        throughput: Dist::of(&col(&|r| r.farm.as_ref().map(FarmStats::tasks_per_sec))),
        utilisation: Dist::of(&col(&|r| r.farm.as_ref().map(FarmStats::utilisation))),
        tasks: median(&vals(&|r| r.farm.as_ref().map(|f| f.tasks.len() as f64))),
        slots: median(&vals(&|r| {
            r.farm
                .as_ref()
                .map(|f| f64::from(f.slots.iter().sum::<u32>()))
        })),
        peak_memory: Dist::of(&col(&peak_memory)),
        peak_per_row: median(&vals(&|r| {
            let sum: u64 = r.executor_reports.iter().map(|e| e.peak_rss_bytes).sum();
            (r.data.rows.train > 0 && sum > 0).then(|| sum as f64 / r.data.rows.train as f64)
        })),
    }
}

/// Speedup, efficiency and Karp–Flatt of every point against its series' smallest executor
/// count, and the training speedup against the smallest total core count.
fn add_scaling(points: &mut [PointSummary]) {
    for i in 0..points.len() {
        let p = points[i].point.clone();
        let base = points
            .iter()
            .filter(|b| same_series(&b.point, &p) && b.train.is_some())
            .min_by_key(|b| b.point.executors)
            .map(|b| (b.point.executors, b.train.clone(), b.total.clone()));
        if let Some((be, Some(bt), btot)) = base {
            if let Some(t) = &points[i].train {
                points[i].scaling_train = Some(scaling(bt.median, be, t.median, p.executors));
            }
            if let (Some(b), Some(t)) = (btot, &points[i].total) {
                points[i].scaling_total = Some(scaling(b.median, be, t.median, p.executors));
            }
        }
        let base_cores = points
            .iter()
            .filter(|b| {
                b.point.memory_bytes == p.memory_bytes
                    && (b.point.fraction - p.fraction).abs() < 1e-12
                    && b.point.params == p.params
                    && b.train.is_some()
            })
            .min_by_key(|b| b.point.executors * b.point.cores)
            .map(|b| {
                (
                    b.point.executors * b.point.cores,
                    b.train.as_ref().map(|d| d.median),
                )
            });
        if let (Some((bc, Some(bt))), Some(t)) = (base_cores, &points[i].train) {
            points[i].scaling_cores = Some(scaling(bt, bc, t.median, p.executors * p.cores));
        }
    }
}

/// Amdahl and USL fits of every series, over all its ok runs.
fn fit_series(records: &[RunRecord], keys: &[Point], varying: &[String]) -> Vec<SeriesFit> {
    let mut fits: Vec<SeriesFit> = Vec::new();
    let mut fitted: Vec<&Point> = Vec::new();
    for p in keys {
        if fitted.iter().any(|f| same_series(f, p)) {
            continue;
        }
        fitted.push(p);
        let obs = |f: &dyn Fn(&RunRecord) -> Option<f64>| -> Vec<(f64, f64)> {
            records
                .iter()
                .filter(|r| r.status == RunStatus::Ok && same_series(&r.point, p))
                .filter_map(|r| f(r).map(|t| (f64::from(r.point.executors), t)))
                .collect()
        };
        let train = obs(&|r| r.times.training_time_sec);
        let total = obs(&|r| Some(r.times.total_time_sec));
        let n = 500;
        let top = train.iter().map(|o| o.0).fold(0.0, f64::max);
        let at = [2.0 * top, 4.0 * top];
        let mut predictions = predict(&train, Law::Amdahl, &at, n, BOOTSTRAP_SEED);
        predictions.extend(predict(&train, Law::Usl, &at, n, BOOTSTRAP_SEED));
        fits.push(SeriesFit {
            label: series_label(p, varying),
            cores: p.cores,
            memory_bytes: p.memory_bytes,
            fraction: p.fraction,
            amdahl_train: fit_amdahl(&train, n, BOOTSTRAP_SEED),
            usl_train: fit_usl(&train, n, BOOTSTRAP_SEED),
            amdahl_total: fit_amdahl(&total, n, BOOTSTRAP_SEED),
            usl_total: fit_usl(&total, n, BOOTSTRAP_SEED),
            predictions,
        });
    }
    fits
}

/// The median-training-time run of every multi-executor point, per executor.
fn stragglers(records: &[RunRecord], points: &[PointSummary]) -> Vec<Straggler> {
    points
        .iter()
        .filter(|p| p.point.executors > 1)
        .filter_map(|p| {
            let t = p.train.as_ref()?.median;
            let run = ok_runs(records, &p.point).into_iter().min_by(|a, b| {
                let d = |r: &RunRecord| (r.times.training_time_sec.unwrap_or(f64::MAX) - t).abs();
                d(a).total_cmp(&d(b))
            })?;
            let phases: Vec<RankPhases> = run.executor_reports.iter().map(RankPhases::of).collect();
            let busy: Vec<f64> = phases.iter().map(RankPhases::busy).collect();
            let ratio = busy.iter().copied().fold(0.0, f64::max) / median(&busy)?;
            Some(Straggler {
                run_id: run.run_id.clone(),
                phases,
                ratio,
            })
        })
        .collect()
}

/// The median-training-time ok run with farm data of each executor count, at its largest
/// fraction.
fn gantts(records: &[RunRecord], points: &[PointSummary]) -> Vec<Gantt> {
    let mut execs: Vec<u32> = points
        .iter()
        .filter(|p| p.throughput.is_some())
        .map(|p| p.point.executors)
        .collect();
    execs.sort_unstable();
    execs.dedup();
    execs
        .into_iter()
        .filter_map(|e| {
            let p = points
                .iter()
                .filter(|p| p.point.executors == e && p.throughput.is_some())
                .max_by(|a, b| a.point.fraction.total_cmp(&b.point.fraction))?;
            let t = p.train.as_ref()?.median;
            let run = ok_runs(records, &p.point)
                .into_iter()
                .filter(|r| r.farm.is_some())
                .min_by(|a, b| {
                    let d =
                        |r: &RunRecord| (r.times.training_time_sec.unwrap_or(f64::MAX) - t).abs();
                    d(a).total_cmp(&d(b))
                })?;
            Some(Gantt {
                run_id: run.run_id.clone(),
                executors: e,
                fraction: p.point.fraction,
                farm: run.farm.clone()?,
            })
        })
        .collect()
}

/// Verdict of a comparison, as criterion.rs reports changes: better or worse only when the
/// interval of the change excludes zero and the change exceeds the metric's noise threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Better,
    Worse,
    WithinNoise,
}

/// What a comparison with a baseline compares, per common point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    TrainingTime,
    TotalTime,
    /// Test accuracy, or validation accuracy where a workload has no test set.
    Accuracy,
    RocAuc,
    Rmse,
    /// Peak resident memory of the largest executor.
    PeakMemory,
}

impl Metric {
    /// Every metric, in the order reports show them.
    pub const ALL: [Metric; 6] = [
        Metric::TrainingTime,
        Metric::TotalTime,
        Metric::Accuracy,
        Metric::RocAuc,
        Metric::Rmse,
        Metric::PeakMemory,
    ];

    /// Its name in tables and chart titles.
    pub fn title(self) -> &'static str {
        match self {
            Metric::TrainingTime => "training time",
            Metric::TotalTime => "total time",
            Metric::Accuracy => "accuracy",
            Metric::RocAuc => "ROC AUC",
            Metric::Rmse => "RMSE",
            Metric::PeakMemory => "peak memory",
        }
    }

    /// Chart and file id: `change-training-time`.
    pub fn id(self) -> String {
        format!("change-{}", self.title().replace(' ', "-").to_lowercase())
    }

    /// Whether a smaller value is the better one.
    pub fn lower_is_better(self) -> bool {
        !matches!(self, Metric::Accuracy | Metric::RocAuc)
    }

    /// Relative changes within ±this are noise: 2 % for times and memory (run-to-run spread
    /// on a quiet machine), 0.2 % for quality metrics.
    pub fn noise_threshold(self) -> f64 {
        match self {
            Metric::TrainingTime | Metric::TotalTime | Metric::PeakMemory => NOISE_THRESHOLD,
            _ => 0.002,
        }
    }

    /// The metric's value in an ok run.
    pub fn value(self, r: &RunRecord) -> Option<f64> {
        match self {
            Metric::TrainingTime => r.times.training_time_sec,
            Metric::TotalTime => Some(r.times.total_time_sec),
            Metric::Accuracy => r.metrics.test_accuracy.or(r.metrics.val_accuracy),
            Metric::RocAuc => r.metrics.auc,
            Metric::Rmse => r.metrics.rmse,
            Metric::PeakMemory => peak_memory(r),
        }
    }

    /// The verdict's words for this metric: `faster`, `more memory`, `higher`.
    pub fn verdict_text(self, v: Verdict) -> &'static str {
        match (self, v) {
            (_, Verdict::WithinNoise) => "within noise",
            (Metric::TrainingTime | Metric::TotalTime, Verdict::Better) => "faster",
            (Metric::TrainingTime | Metric::TotalTime, Verdict::Worse) => "slower",
            (Metric::PeakMemory, Verdict::Better) => "less memory",
            (Metric::PeakMemory, Verdict::Worse) => "more memory",
            (Metric::Rmse, Verdict::Better) => "lower error",
            (Metric::Rmse, Verdict::Worse) => "higher error",
            (_, Verdict::Better) => "higher",
            (_, Verdict::Worse) => "lower",
        }
    }
}

/// Change of one metric's median at one point against a baseline study.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub metric: Metric,
    pub point: Point,
    pub baseline_median: f64,
    pub median: f64,
    /// Relative change of the median, (new − base) / base.
    pub change: f64,
    /// 95 % bootstrap interval of the change.
    pub ci: (f64, f64),
    pub verdict: Verdict,
}

/// Noise threshold of times and memory: a change whose interval lies within ±2 % is noise.
pub const NOISE_THRESHOLD: f64 = 0.02;

/// Compares every point the two studies share, for every [`Metric`] both report: the
/// bootstrap interval of the relative change of the median (both samples resampled
/// independently) and the verdict.
pub fn compare(records: &[RunRecord], baseline: &[RunRecord]) -> Vec<Change> {
    let mut out = Vec::new();
    for metric in Metric::ALL {
        for point in distinct_points(records) {
            let vals = |rs: &[RunRecord]| -> Vec<f64> {
                ok_runs(rs, &point)
                    .iter()
                    .filter_map(|r| metric.value(r))
                    .collect()
            };
            let (new, old) = (vals(records), vals(baseline));
            let Some((ratio, (lo, hi))) = median_ratio(&new, &old) else {
                continue;
            };
            let (change, ci) = (ratio - 1.0, (lo - 1.0, hi - 1.0));
            let up = ci.0 > 0.0 && change > metric.noise_threshold();
            let down = ci.1 < 0.0 && change < -metric.noise_threshold();
            let verdict = match (up, down, metric.lower_is_better()) {
                (true, _, true) | (_, true, false) => Verdict::Worse,
                (_, true, true) | (true, _, false) => Verdict::Better,
                _ => Verdict::WithinNoise,
            };
            out.push(Change {
                metric,
                point: point.clone(),
                baseline_median: median(&old).expect("non-empty"),
                median: median(&new).expect("non-empty"),
                change,
                ci,
                verdict,
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The committed fixture of real fractal-rf records (shared by the crate's unit tests).
    pub(crate) fn fixture() -> Vec<RunRecord> {
        include_str!("../tests/fixtures/fractal-fixture.jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn failed_runs_are_excluded_from_statistics_and_fits() {
        let recs = fixture();
        let a = analyse(&recs);
        let timed_out = a
            .points
            .iter()
            .find(|p| !p.point.params.is_empty())
            .expect("the timed-out point");
        assert_eq!((timed_out.runs, timed_out.ok), (1, 0));
        assert!(timed_out.train.is_none() && timed_out.scaling_train.is_none());
        let full = a
            .fits
            .iter()
            .find(|f| f.fraction == 1.0 && f.usl_train.is_some())
            .expect("fraction 1 has 4 executor counts");
        assert!(full.amdahl_train.is_some());
    }

    #[test]
    fn speedup_is_against_the_smallest_executor_count() {
        let a = analyse(&fixture());
        for p in a
            .points
            .iter()
            .filter(|p| p.point.executors == 1 && p.train.is_some())
        {
            let s = p.scaling_train.unwrap();
            assert!((s.speedup - 1.0).abs() < 1e-12 && s.karp_flatt.is_none());
        }
        let two = a
            .points
            .iter()
            .find(|p| {
                p.point.executors == 2 && p.point.fraction == 1.0 && p.point.params.is_empty()
            })
            .unwrap();
        let one = a
            .points
            .iter()
            .find(|p| p.point.executors == 1 && p.point.fraction == 1.0)
            .unwrap();
        let s = two.scaling_train.unwrap();
        let expect = one.train.as_ref().unwrap().median / two.train.as_ref().unwrap().median;
        assert!((s.speedup - expect).abs() < 1e-12);
        assert!((s.efficiency - expect / 2.0).abs() < 1e-12);
    }

    /// Records of two engines in one results directory: each engine is its own series (fits,
    /// speedup base, label), told apart by the parameter that differs.
    #[test]
    fn series_differ_by_the_parameters_that_vary() {
        let mut recs: Vec<RunRecord> = fixture()
            .into_iter()
            .filter(|r| r.point.params.is_empty())
            .collect();
        let mut other = recs.clone();
        for r in &mut recs {
            r.point
                .params
                .insert("engine".into(), serde_json::json!("mllib"));
        }
        for r in &mut other {
            r.run_id.push_str("-lgbm");
            r.point
                .params
                .insert("engine".into(), serde_json::json!("lightgbm"));
            if let Some(t) = r.times.training_time_sec.as_mut() {
                *t *= 2.0;
            }
        }
        recs.extend(other);
        let a = analyse(&recs);
        assert_eq!(a.varying_params, vec!["engine".to_string()]);
        let fit = |engine: &str| {
            a.fits
                .iter()
                .find(|f| f.fraction == 1.0 && f.label.ends_with(&format!("engine={engine}")))
                .unwrap_or_else(|| {
                    panic!(
                        "a fit of {engine}: {:?}",
                        a.fits.iter().map(|f| &f.label).collect::<Vec<_>>()
                    )
                })
        };
        let (m, l) = (fit("mllib"), fit("lightgbm"));
        let t1 = |f: &SeriesFit| f.amdahl_train.as_ref().unwrap().t1;
        assert!((t1(l) / t1(m) - 2.0).abs() < 1e-6, "{} vs {}", t1(l), t1(m));
        let two = |engine: &str| {
            a.points
                .iter()
                .find(|p| {
                    p.point.executors == 2
                        && p.point.fraction == 1.0
                        && p.point.params["engine"] == engine
                })
                .unwrap()
                .scaling_train
                .unwrap()
                .speedup
        };
        assert!(
            (two("mllib") - two("lightgbm")).abs() < 1e-9,
            "each against its own base"
        );
        assert_eq!(
            varying_params(std::iter::empty::<&Point>()),
            Vec::<String>::new()
        );
        assert_eq!(
            param_text(&serde_json::json!("x".repeat(50)))
                .chars()
                .count(),
            40
        );
    }

    #[test]
    fn comparison_detects_slower_and_noise() {
        let base = fixture();
        let mut slower = base.clone();
        for r in &mut slower {
            if let Some(t) = r.times.training_time_sec.as_mut() {
                *t *= 1.5;
            }
        }
        let changes = compare(&slower, &base);
        let train: Vec<&Change> = changes
            .iter()
            .filter(|c| c.metric == Metric::TrainingTime)
            .collect();
        assert!(!train.is_empty());
        for c in &train {
            assert_eq!(c.verdict, Verdict::Worse, "{c:?}");
            assert_eq!(Metric::TrainingTime.verdict_text(c.verdict), "slower");
            assert!((c.change - 0.5).abs() < 1e-9);
            assert!(c.ci.0 > 0.0);
        }
        // Accuracy and memory did not change: within noise, and reported for every point.
        for m in [Metric::Accuracy, Metric::PeakMemory] {
            let of_m: Vec<&Change> = changes.iter().filter(|c| c.metric == m).collect();
            assert_eq!(of_m.len(), train.len(), "{m:?}");
            assert!(of_m.iter().all(|c| c.verdict == Verdict::WithinNoise));
        }
        assert!(
            !changes.iter().any(|c| c.metric == Metric::Rmse),
            "the fixture has no RMSE"
        );
        let mut better = base.clone();
        for r in &mut better {
            if let Some(a) = r.metrics.test_accuracy.as_mut() {
                *a *= 1.05;
            }
        }
        assert!(compare(&better, &base)
            .iter()
            .filter(|c| c.metric == Metric::Accuracy)
            .all(|c| c.verdict == Verdict::Better
                && Metric::Accuracy.verdict_text(c.verdict) == "higher"));
        for c in compare(&base, &base) {
            assert_eq!(c.verdict, Verdict::WithinNoise);
            assert!(c.change.abs() < 1e-12);
        }
    }
}
