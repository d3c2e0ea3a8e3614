//! Side by side: every other study of an overlay against the first, point by point — e.g. a
//! reference engine (Spark MLlib, PyTorch DDP) run as a `command` job against our engine on the
//! same cluster shapes.
//!
//! Points are matched by their shape — executors, cores per executor, memory per executor and
//! fraction — since the two studies' parameters differ (their workloads differ). Where the
//! first study has several points of one shape (a parameter axis), the one with the same
//! parameters is taken; a point with no single match is left out of the table (its runs stay
//! on the charts and in the other tables).
//!
//! Per matched point: the ratio of training-time medians (compared ÷ first) and of total-time
//! and peak-memory medians, each with its 95 % two-sample bootstrap interval
//! (`harness_core::stats::median_ratio`); the quality metric's difference of medians
//! (compared − first) with its interval (`harness_core::stats::median_difference`), the
//! metric being test accuracy (validation where there is no test set), ROC AUC or RMSE,
//! whichever both report first.

use harness_core::record::Point;
use harness_core::stats::{median, median_difference, median_ratio};
use harness_core::{RunRecord, RunStatus};
use serde::Serialize;

use crate::analysis::{distinct_points, peak_memory, Metric};
use crate::STUDY_PARAM;

/// Medians of one quantity in both studies, the number of ok runs behind each, and how they
/// compare: `value` is the ratio (compared ÷ first) or the difference (compared − first),
/// `ci` its 95 % bootstrap interval.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub first: f64,
    pub first_n: usize,
    pub compared: f64,
    pub compared_n: usize,
    pub value: f64,
    pub ci: (f64, f64),
}

/// One point of a compared study against the first study's point of the same shape.
#[derive(Debug, Clone, Serialize)]
pub struct Versus {
    /// The first study's name (the denominator of ratios).
    pub first: String,
    /// The compared study's name.
    pub compared: String,
    /// The compared study's point (its parameters include [`STUDY_PARAM`]).
    pub point: Point,
    /// The first study's point of the same shape.
    pub first_point: Point,
    /// Training time, seconds: ratio compared ÷ first.
    pub training: Option<Pair>,
    /// Total time of the run (launch to records), seconds: ratio compared ÷ first.
    pub total: Option<Pair>,
    /// Peak resident bytes of the largest executor process (for a `command` job, of the job's
    /// largest process): ratio compared ÷ first.
    pub peak: Option<Pair>,
    /// The quality metric both report and its difference compared − first.
    pub quality: Option<(Metric, Pair)>,
    /// How the compared study's training time was taken (`job`: the job's own timer;
    /// `process-wall`: the job's wall time; `phase`: the harness's phase), when its ok runs
    /// agree on one.
    pub training_time_source: Option<String>,
}

impl Versus {
    /// The compared study's label in tables: its series name in a comparison (the overlay's
    /// [`STUDY_PARAM`], `spark-mllib`), else its study name.
    pub fn label(&self) -> &str {
        self.point
            .params
            .get(STUDY_PARAM)
            .and_then(serde_json::Value::as_str)
            .unwrap_or(&self.compared)
    }
}

/// The studies of `records` in the order their first records appear: for records made by
/// [`crate::overlay`], the order the studies were given.
pub fn studies_in_order(records: &[RunRecord]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in records {
        if !names.contains(&r.study) {
            names.push(r.study.clone());
        }
    }
    names
}

fn without_study(p: &Point) -> Point {
    let mut p = p.clone();
    p.params.remove(STUDY_PARAM);
    p
}

fn values(
    records: &[&RunRecord],
    point: &Point,
    f: impl Fn(&RunRecord) -> Option<f64>,
) -> Vec<f64> {
    records
        .iter()
        .filter(|r| r.status == RunStatus::Ok && r.point.same_as(point))
        .filter_map(|r| f(r))
        .collect()
}

fn pair(compared: &[f64], first: &[f64], ratio: bool) -> Option<Pair> {
    let (value, ci) = if ratio {
        median_ratio(compared, first)?
    } else {
        median_difference(compared, first)?
    };
    Some(Pair {
        first: median(first)?,
        first_n: first.len(),
        compared: median(compared)?,
        compared_n: compared.len(),
        value,
        ci,
    })
}

/// Every other study of `records` against the first ([`studies_in_order`]), per point of the
/// compared study that has one match of its shape in the first; empty for a single study.
pub fn versus(records: &[RunRecord]) -> Vec<Versus> {
    let order = studies_in_order(records);
    let Some((first, others)) = order.split_first() else {
        return Vec::new();
    };
    let of = |s: &str| -> Vec<&RunRecord> { records.iter().filter(|r| r.study == s).collect() };
    let base = of(first);
    let base_points = distinct_points(base.iter().copied());
    let mut out = Vec::new();
    for study in others {
        let recs = of(study);
        for point in distinct_points(recs.iter().copied()) {
            let shaped: Vec<&Point> = base_points
                .iter()
                .filter(|b| b.same_shape(&point))
                .collect();
            let matched = match shaped[..] {
                [one] => Some(one),
                _ => {
                    let same: Vec<&&Point> = shaped
                        .iter()
                        .filter(|b| without_study(b).same_as(&without_study(&point)))
                        .collect();
                    (same.len() == 1).then(|| *same[0])
                }
            };
            let Some(first_point) = matched else { continue };
            let both = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
                (values(&recs, &point, f), values(&base, first_point, f))
            };
            let ratio = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
                let (c, b) = both(f);
                pair(&c, &b, true)
            };
            let quality = [Metric::Accuracy, Metric::RocAuc, Metric::Rmse]
                .into_iter()
                .find_map(|m| {
                    let (c, b) = both(&|r| m.value(r));
                    pair(&c, &b, false).map(|p| (m, p))
                });
            let mut sources: Vec<&str> = recs
                .iter()
                .filter(|r| r.status == RunStatus::Ok && r.point.same_as(&point))
                .filter_map(|r| r.times.training_time_source.as_deref())
                .collect();
            sources.sort_unstable();
            sources.dedup();
            out.push(Versus {
                first: first.clone(),
                compared: study.clone(),
                point: point.clone(),
                first_point: first_point.clone(),
                training: ratio(&|r| r.times.training_time_sec),
                total: ratio(&|r| Some(r.times.total_time_sec)),
                peak: ratio(&peak_memory),
                quality,
                training_time_source: (sources.len() == 1).then(|| sources[0].to_string()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::fixture;

    /// The fixture as our engine, and a copy as a "reference" that is 3× slower, 1 point less
    /// accurate and uses twice the memory. With `own_params`, the reference's points carry
    /// another workload's parameters (and the fixture's one point with parameters, a timed-out
    /// run of the same shape as another point, is left out of both).
    fn pair_of_studies(own_params: bool) -> Vec<RunRecord> {
        let mut ours = fixture();
        if own_params {
            ours.retain(|r| r.point.params.is_empty());
        }
        let mut reference = ours.clone();
        for r in &mut reference {
            r.study = "reference".into();
            r.workload = "command".into();
            if own_params {
                r.point.params.insert("launch".into(), "once".into());
            }
            if let Some(t) = r.times.training_time_sec.as_mut() {
                *t *= 3.0;
            }
            r.times.training_time_source = Some("job".into());
            if let Some(a) = r.metrics.test_accuracy.as_mut() {
                *a -= 0.01;
            }
            for e in &mut r.executor_reports {
                e.peak_rss_bytes *= 2;
            }
        }
        crate::overlay(vec![ours, reference]).unwrap()
    }

    #[test]
    fn each_compared_point_gets_its_ratio_and_difference_against_the_same_shape() {
        for own_params in [true, false] {
            let records = pair_of_studies(own_params);
            assert_eq!(studies_in_order(&records), ["fixture", "reference"]);
            let v = versus(&records);
            let compared = distinct_points(records.iter().filter(|r| r.study == "reference"));
            assert_eq!(
                v.len(),
                compared.len(),
                "every point matched (own params: {own_params})"
            );
            for row in &v {
                assert_eq!(
                    (row.first.as_str(), row.compared.as_str()),
                    ("fixture", "reference")
                );
                assert!(row.point.same_shape(&row.first_point));
                assert_eq!(
                    row.point.params.get("trees"),
                    row.first_point.params.get("trees"),
                    "same shape, same parameters where the shape is ambiguous"
                );
                let Some(t) = row.training.as_ref() else {
                    assert!(
                        row.first_point.params.contains_key("trees"),
                        "only the timed-out point has no times"
                    );
                    continue;
                };
                assert!((t.value - 3.0).abs() < 1e-9, "{}", t.value);
                assert!(t.ci.0 <= 3.0 + 1e-9 && t.ci.1 >= 3.0 - 1e-9);
                assert!((t.compared - 3.0 * t.first).abs() < 1e-9);
                assert!(t.first_n == t.compared_n && t.first_n >= 1);
                let (metric, q) = row.quality.as_ref().expect("both have accuracy");
                assert_eq!(*metric, Metric::Accuracy);
                assert!((q.value + 0.01).abs() < 1e-9, "{}", q.value);
                assert!(q.ci.1 < 0.0, "a 1-point drop in every run: {:?}", q.ci);
                assert!((row.peak.as_ref().unwrap().value - 2.0).abs() < 1e-9);
                assert_eq!(row.training_time_source.as_deref(), Some("job"));
            }
            assert_eq!(
                v.iter().filter(|r| r.training.is_none()).count(),
                usize::from(!own_params)
            );
        }
    }

    #[test]
    fn the_series_of_a_comparison_are_labelled_by_their_own_names() {
        let mut a = fixture();
        let mut b = fixture();
        for r in &mut a {
            r.study = "vs.harness".into();
        }
        for r in &mut b {
            r.study = "vs.spark-mllib".into();
        }
        let both = crate::overlay(vec![a.clone(), b]).unwrap();
        let labels: std::collections::BTreeSet<&str> = both
            .iter()
            .map(|r| r.point.params[STUDY_PARAM].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["harness", "spark-mllib"].into());
        assert_eq!(studies_in_order(&both), ["vs.harness", "vs.spark-mllib"]);
        // Names without one shared prefix stay whole.
        let mut c = fixture();
        for r in &mut c {
            r.study = "other".into();
        }
        let mixed = crate::overlay(vec![a, c]).unwrap();
        assert!(mixed
            .iter()
            .any(|r| r.point.params[STUDY_PARAM] == "vs.harness"));
    }

    #[test]
    fn one_study_has_no_side_by_side() {
        assert!(versus(&fixture()).is_empty());
    }
}
