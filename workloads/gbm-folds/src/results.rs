//! Aggregating the farmed tasks per grid point, and the run's parquet artifacts:
//! `tasks.parquet` (one row per task) and `grid.parquet` (one row per grid point).
//!
//! Aggregation is mean and sample standard deviation (ddof 1, as pandas' `groupby().std()`)
//! over the folds whose task succeeded; a grid point whose tasks all failed has no means. The
//! best grid point has the highest mean test AUC (ties: the lower index).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::{ArrayRef, Float64Array, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use harness_core::record::Metrics;
use harness_runtime::farm::FarmOutcome;
use parquet::arrow::ArrowWriter;

use crate::grid::GridPoint;
use crate::{Task, TaskResult};

/// Names of the per-task metrics, in column order.
pub const METRICS: [&str; 5] = ["auc", "accuracy", "precision", "recall", "f1"];

fn metric(r: &TaskResult, name: &str) -> f64 {
    match name {
        "auc" => r.auc,
        "accuracy" => r.accuracy,
        "precision" => r.precision,
        "recall" => r.recall,
        "f1" => r.f1,
        _ => unreachable!("one of METRICS"),
    }
}

/// Mean and sample standard deviation (`None` below two values).
fn mean_std(xs: &[f64]) -> (Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.len() > 1)
        .then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (Some(mean), std)
}

/// One grid point over its folds.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSummary {
    /// Folds whose task succeeded.
    pub folds_ok: u32,
    /// (mean, std) of each of [`METRICS`].
    pub metrics: Vec<(Option<f64>, Option<f64>)>,
    pub rounds_mean: Option<f64>,
    /// Σ seconds of the point's tasks on their slots.
    pub seconds_total: f64,
}

/// Every grid point's summary and the best one.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub points: Vec<PointSummary>,
    /// Index of the best grid point (highest mean AUC), if any task succeeded.
    pub best: Option<usize>,
    pub folds: usize,
}

/// Aggregates `outcome`'s tasks per grid point of `points`.
pub fn summarise(
    outcome: &FarmOutcome<Task, TaskResult>,
    points: &[GridPoint],
    folds: usize,
) -> Summary {
    let mut per: Vec<Vec<(&TaskResult, f64)>> = vec![Vec::new(); points.len()];
    let mut seconds = vec![0f64; points.len()];
    for t in &outcome.tasks {
        let i = t.task.point as usize;
        seconds[i] += t.seconds;
        if let Ok(r) = &t.result {
            per[i].push((r, t.seconds));
        }
    }
    let summaries: Vec<PointSummary> = per
        .iter()
        .zip(&seconds)
        .map(|(rs, secs)| PointSummary {
            folds_ok: rs.len() as u32,
            metrics: METRICS
                .iter()
                .map(|m| mean_std(&rs.iter().map(|(r, _)| metric(r, m)).collect::<Vec<_>>()))
                .collect(),
            rounds_mean: mean_std(
                &rs.iter()
                    .map(|(r, _)| f64::from(r.rounds))
                    .collect::<Vec<_>>(),
            )
            .0,
            seconds_total: *secs,
        })
        .collect();
    let best = summaries
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.metrics[0].0.map(|auc| (i, auc)))
        .fold(None::<(usize, f64)>, |best, (i, auc)| match best {
            Some((_, b)) if b >= auc => best,
            _ => Some((i, auc)),
        })
        .map(|(i, _)| i);
    Summary {
        points: summaries,
        best,
        folds,
    }
}

/// The record's metrics (see the crate doc).
pub fn metrics(
    outcome: &FarmOutcome<Task, TaskResult>,
    s: &Summary,
    points: &[GridPoint],
) -> Metrics {
    let mut m = Metrics::default();
    let x = &mut m.extra;
    x.insert("tasks".into(), outcome.tasks.len() as f64);
    x.insert("failed_tasks".into(), outcome.failed() as f64);
    x.insert("tasks_per_sec".into(), outcome.tasks_per_sec());
    x.insert("slot_utilisation".into(), outcome.utilisation());
    x.insert("slots".into(), f64::from(outcome.total_slots()));
    x.insert("grid_points".into(), points.len() as f64);
    x.insert("folds".into(), s.folds as f64);
    if let Some(b) = s.best {
        let p = &s.points[b];
        m.auc = p.metrics[0].0;
        m.accuracy = p.metrics[1].0;
        m.precision = p.metrics[2].0;
        m.recall = p.metrics[3].0;
        m.f1 = p.metrics[4].0;
        let x = &mut m.extra;
        x.insert("best_grid_point".into(), b as f64);
        if let Some(std) = p.metrics[0].1 {
            x.insert("best_auc_std".into(), std);
        }
        for (name, v) in &points[b] {
            x.insert(format!("best_params.{name}"), *v);
        }
    }
    m
}

fn write(path: &Path, batch: RecordBatch) -> Result<(), String> {
    let file = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), None)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    w.write(&batch)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    w.close().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn f64_col(name: &str, values: Vec<Option<f64>>) -> (Field, ArrayRef) {
    (
        Field::new(name, DataType::Float64, true),
        Arc::new(Float64Array::from(values)),
    )
}

fn u32_col(name: &str, values: Vec<u32>) -> (Field, ArrayRef) {
    (
        Field::new(name, DataType::UInt32, false),
        Arc::new(UInt32Array::from(values)),
    )
}

fn batch(cols: Vec<(Field, ArrayRef)>) -> Result<RecordBatch, String> {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())
}

/// The grid parameters' columns for `rows` (each a grid point index).
fn param_cols(points: &[GridPoint], rows: &[usize]) -> Vec<(Field, ArrayRef)> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(j, (name, _))| f64_col(name, rows.iter().map(|&i| Some(points[i][j].1)).collect()))
        .collect()
}

/// Writes `tasks.parquet`: task id, grid point, fold, the point's parameters, the metrics,
/// rounds, training seconds, seconds on the slot, rank, slot, hand-out and finish times
/// (seconds since the farm started), and the error of a failed task — in completion order.
///
/// # Errors
/// Write failures, naming the file.
pub fn write_tasks(
    path: &Path,
    outcome: &FarmOutcome<Task, TaskResult>,
    points: &[GridPoint],
) -> Result<(), String> {
    let t = &outcome.tasks;
    let ok = |f: &dyn Fn(&TaskResult) -> f64| -> Vec<Option<f64>> {
        t.iter().map(|t| t.result.as_ref().ok().map(f)).collect()
    };
    let mut cols = vec![
        u32_col("task", t.iter().map(|t| t.id).collect()),
        u32_col("grid_point", t.iter().map(|t| t.task.point).collect()),
        u32_col("fold", t.iter().map(|t| t.task.fold).collect()),
    ];
    cols.extend(param_cols(
        points,
        &t.iter().map(|t| t.task.point as usize).collect::<Vec<_>>(),
    ));
    for name in METRICS {
        cols.push(f64_col(name, ok(&|r| metric(r, name))));
    }
    cols.push(f64_col("rounds", ok(&|r| f64::from(r.rounds))));
    cols.push(f64_col("train_sec", ok(&|r| r.train_sec)));
    cols.push(f64_col(
        "seconds",
        t.iter().map(|t| Some(t.seconds)).collect(),
    ));
    cols.push(u32_col("rank", t.iter().map(|t| t.rank).collect()));
    cols.push(u32_col("slot", t.iter().map(|t| t.slot).collect()));
    cols.push(f64_col(
        "dispatched_sec",
        t.iter().map(|t| Some(t.dispatched_sec)).collect(),
    ));
    cols.push(f64_col(
        "finished_sec",
        t.iter().map(|t| Some(t.finished_sec)).collect(),
    ));
    cols.push((
        Field::new("error", DataType::Utf8, true),
        Arc::new(StringArray::from(
            t.iter()
                .map(|t| t.result.as_ref().err().cloned())
                .collect::<Vec<_>>(),
        )),
    ));
    write(path, batch(cols)?)
}

/// Writes `grid.parquet`: per grid point its parameters, folds that succeeded, mean and
/// standard deviation of every metric, mean rounds and total seconds.
///
/// # Errors
/// Write failures, naming the file.
pub fn write_grid(path: &Path, s: &Summary, points: &[GridPoint]) -> Result<(), String> {
    let idx: Vec<usize> = (0..points.len()).collect();
    let mut cols = vec![u32_col(
        "grid_point",
        idx.iter().map(|&i| i as u32).collect(),
    )];
    cols.extend(param_cols(points, &idx));
    cols.push(u32_col(
        "folds_ok",
        s.points.iter().map(|p| p.folds_ok).collect(),
    ));
    for (j, name) in METRICS.iter().enumerate() {
        cols.push(f64_col(
            &format!("{name}_mean"),
            s.points.iter().map(|p| p.metrics[j].0).collect(),
        ));
        cols.push(f64_col(
            &format!("{name}_std"),
            s.points.iter().map(|p| p.metrics[j].1).collect(),
        ));
    }
    cols.push(f64_col(
        "rounds_mean",
        s.points.iter().map(|p| p.rounds_mean).collect(),
    ));
    cols.push(f64_col(
        "seconds_total",
        s.points.iter().map(|p| Some(p.seconds_total)).collect(),
    ));
    write(path, batch(cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_runtime::farm::TaskRecord;

    fn result(auc: f64) -> TaskResult {
        TaskResult {
            auc,
            accuracy: auc - 0.1,
            precision: 0.5,
            recall: 0.5,
            f1: 0.5,
            rounds: 10,
            train_sec: 1.0,
        }
    }

    fn outcome() -> FarmOutcome<Task, TaskResult> {
        let rec = |id, point, fold, r: Result<TaskResult, String>| TaskRecord {
            id,
            task: Task { point, fold },
            rank: id % 2,
            slot: 0,
            dispatched_sec: f64::from(id),
            finished_sec: f64::from(id) + 1.0,
            seconds: 1.0,
            result: r,
        };
        FarmOutcome {
            tasks: vec![
                rec(0, 0, 1, Ok(result(0.8))),
                rec(1, 0, 0, Ok(result(0.9))),
                rec(2, 1, 1, Ok(result(0.95))),
                rec(3, 1, 0, Err("LightGBM: bad".into())),
            ],
            slots: vec![1, 1],
            wall_sec: 4.0,
            coordinator_cpu_sec: 0.0,
            coordinator_wakeups: 0,
            coordinator_poll: None,
        }
    }

    #[test]
    fn summary_means_over_ok_folds_and_picks_the_best_auc() {
        let points = vec![
            vec![("max_depth".to_string(), 3.0)],
            vec![("max_depth".to_string(), 5.0)],
        ];
        let o = outcome();
        let s = summarise(&o, &points, 2);
        assert_eq!(s.points[0].folds_ok, 2);
        let (mean, std) = s.points[0].metrics[0];
        assert!((mean.unwrap() - 0.85).abs() < 1e-12);
        assert!(
            (std.unwrap() - (0.005f64).sqrt()).abs() < 1e-12,
            "sample std"
        );
        assert_eq!(s.points[1].folds_ok, 1);
        assert_eq!(s.points[1].metrics[0], (Some(0.95), None));
        assert_eq!(s.points[1].seconds_total, 2.0, "failed tasks' time counts");
        assert_eq!(s.best, Some(1));
        let m = metrics(&o, &s, &points);
        assert_eq!(m.auc, Some(0.95));
        assert_eq!(m.extra["failed_tasks"], 1.0);
        assert_eq!(m.extra["best_params.max_depth"], 5.0);
        assert_eq!(m.extra["tasks_per_sec"], 1.0);
        assert_eq!(m.extra["slot_utilisation"], 0.5);

        let dir = tempfile::tempdir().unwrap();
        write_tasks(&dir.path().join("tasks.parquet"), &o, &points).unwrap();
        write_grid(&dir.path().join("grid.parquet"), &s, &points).unwrap();
        let read = |name: &str| {
            let f = File::open(dir.path().join(name)).unwrap();
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                .unwrap()
                .build()
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
        };
        let tasks = read("tasks.parquet");
        assert_eq!(tasks.num_rows(), 4);
        let err = tasks
            .column_by_name("error")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(arrow_array::Array::is_null(err, 0));
        assert_eq!(err.value(3), "LightGBM: bad");
        let grid = read("grid.parquet");
        assert_eq!(grid.num_rows(), 2);
        let auc = grid
            .column_by_name("auc_mean")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert!((auc.value(0) - 0.85).abs() < 1e-12);
        assert!(grid.column_by_name("max_depth").is_some());
    }
}
