//! Aggregation of runs per point: median and range over repetitions, and speedup against the
//! smallest executor count at the same (cores, memory, fraction).

use harness_core::record::Point;
use harness_core::stats::{median, min_max, speedup};
use harness_core::{RunRecord, RunStatus};

/// One point of a study with its repetitions summarised (ok runs only).
#[derive(Debug, Clone)]
pub struct PointSummary {
    pub point: Point,
    pub runs: usize,
    pub ok: usize,
    /// Median, min and max training time of ok runs, seconds.
    pub train: Option<(f64, f64, f64)>,
    /// Median total time of ok runs, seconds.
    pub total: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    /// Speedup and parallel efficiency of the median training time against the smallest
    /// executor count with the same cores, memory, fraction and params.
    pub speedup: Option<(f64, f64)>,
    pub all_enforced: bool,
    pub oversubscribed: bool,
}

fn same_series(a: &Point, b: &Point) -> bool {
    a.cores == b.cores
        && a.memory_bytes == b.memory_bytes
        && (a.fraction - b.fraction).abs() < 1e-12
        && a.params == b.params
}

/// Summarises records per point, in order of first appearance sorted by (fraction, executors).
pub fn summarise(records: &[RunRecord]) -> Vec<PointSummary> {
    let mut points: Vec<Point> = Vec::new();
    for r in records {
        if !points.iter().any(|p| p.same_as(&r.point)) {
            points.push(r.point.clone());
        }
    }
    points.sort_by(|a, b| {
        (a.cores, a.memory_bytes)
            .cmp(&(b.cores, b.memory_bytes))
            .then(a.fraction.total_cmp(&b.fraction))
            .then(a.executors.cmp(&b.executors))
    });
    let mut out: Vec<PointSummary> = points
        .into_iter()
        .map(|point| {
            let runs: Vec<&RunRecord> =
                records.iter().filter(|r| r.point.same_as(&point)).collect();
            let ok: Vec<&&RunRecord> = runs.iter().filter(|r| r.status == RunStatus::Ok).collect();
            let col = |f: &dyn Fn(&RunRecord) -> Option<f64>| -> Vec<f64> {
                ok.iter().filter_map(|r| f(r)).collect()
            };
            let train = col(&|r| r.times.training_time_sec);
            PointSummary {
                runs: runs.len(),
                ok: ok.len(),
                train: median(&train)
                    .zip(min_max(&train))
                    .map(|(m, (lo, hi))| (m, lo, hi)),
                total: median(&col(&|r| Some(r.times.total_time_sec))),
                val_accuracy: median(&col(&|r| r.metrics.val_accuracy)),
                test_accuracy: median(&col(&|r| r.metrics.test_accuracy)),
                speedup: None,
                all_enforced: !ok.is_empty() && ok.iter().all(|r| r.all_enforced()),
                oversubscribed: runs.iter().any(|r| r.oversubscribed),
                point,
            }
        })
        .collect();
    for i in 0..out.len() {
        let base = out
            .iter()
            .filter(|b| same_series(&b.point, &out[i].point) && b.train.is_some())
            .min_by_key(|b| b.point.executors);
        if let (Some(b), Some((t, _, _))) = (base, out[i].train) {
            let (tb, eb) = (b.train.expect("filtered").0, b.point.executors);
            out[i].speedup = Some(speedup(tb, eb, t, out[i].point.executors));
        }
    }
    out
}
