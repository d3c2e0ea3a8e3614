//! What a study found, in a few sentences computed from its records: the block a report opens
//! with (HTML) and `summary.md` repeats (Markdown).
//!
//! Per series (same cores, memory, fraction and parameters; executors vary): the speedup and
//! parallel efficiency at the largest executor count against the smallest, each with the 95 %
//! two-sample bootstrap interval of the ratio of medians (`harness_core::stats::median_ratio`);
//! the Amdahl serial fraction and the USL σ and κ with their bootstrap intervals, and where the
//! USL's speedup peaks, `√((1 − σ)/κ)` (Gunther 2007), or that it does not peak in the range
//! measured; the training time both laws predict at 2× and 4× the largest executor count
//! measured, with bootstrap intervals, marked as predictions; and the spread of the headline
//! quality metric across executor counts (the same model should score the same). Study-wide:
//! the start-up cost (median launch → every executor ready) and whether every ok run's limits
//! were enforced, naming those that were not.

use harness_core::fit::{Law, Prediction};
use harness_core::stats::{
    bootstrap_median_ci, median, median_ratio, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED,
};
use harness_core::{RunRecord, RunStatus};
use serde::Serialize;

use crate::analysis::{ok_training_times, series_label, Analysis, PointSummary, SeriesFit};
use crate::terminal::Headline;
use crate::theme;

/// A value with its 95 % interval when one could be computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub ci: Option<(f64, f64)>,
}

impl Estimate {
    /// `1.85 [1.80 … 1.90]` with `fmt` for each number; the value alone when there is no
    /// interval or it is a single value (one run).
    pub fn text(&self, fmt: impl Fn(f64) -> String) -> String {
        self.text_with(fmt, "")
    }

    /// As [`Estimate::text`] with `unit` after the value: `1.85× [1.80 … 1.90]`.
    pub fn text_with(&self, fmt: impl Fn(f64) -> String, unit: &str) -> String {
        match self.ci {
            Some((lo, hi)) if lo != hi => {
                format!("{}{unit} [{} … {}]", fmt(self.value), fmt(lo), fmt(hi))
            }
            _ => format!("{}{unit}", fmt(self.value)),
        }
    }
}

/// The headline metric's range across the executor counts of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub metric: &'static str,
    pub min: f64,
    pub max: f64,
    /// Executor counts where the minimum and maximum were measured.
    pub min_at: u32,
    pub max_at: u32,
}

/// What one series found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesFindings {
    pub label: String,
    /// Smallest and largest executor counts with ok runs.
    pub base: u32,
    pub top: u32,
    /// Median training time at `top`, seconds.
    pub top_time: Option<Estimate>,
    /// T(base) / T(top) and speedup / (top / base).
    pub speedup: Option<Estimate>,
    pub efficiency: Option<Estimate>,
    pub serial_fraction: Option<Estimate>,
    pub sigma: Option<Estimate>,
    pub kappa: Option<Estimate>,
    /// Executor count of the USL's peak speedup, when κ > 0.
    pub usl_peak: Option<f64>,
    pub usl_fitted: bool,
    /// Root-mean-square relative residuals of the two fits.
    pub amdahl_error: Option<f64>,
    pub usl_error: Option<f64>,
    /// Amdahl and USL training times at 2× and 4× `top`.
    pub predictions: Vec<Prediction>,
    pub quality: Option<Spread>,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Findings {
    pub series: Vec<SeriesFindings>,
    /// Median start-up seconds over ok runs and its share of the median total time.
    pub startup: Option<Estimate>,
    pub startup_share: Option<f64>,
    pub runs: usize,
    pub ok: usize,
    /// Ok runs whose every executor had its limits enforced, and the run ids of the others.
    pub enforced: usize,
    pub not_enforced: Vec<String>,
}

/// One sentence of the findings: a short head and its text (plain, units written out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub head: String,
    pub text: String,
}

fn est(value: f64, ci: Option<(f64, f64)>) -> Estimate {
    Estimate { value, ci }
}

/// The spread of the study's headline metric over a series' points.
fn spread(points: &[&PointSummary], headline: Option<Headline>) -> Option<Spread> {
    let h = headline?;
    let vals: Vec<(u32, f64)> = points
        .iter()
        .filter_map(|p| Some((p.point.executors, h.value(p)?)))
        .collect();
    if vals.len() < 2 {
        return None;
    }
    let min = vals.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let max = vals.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(Spread {
        metric: h.title(),
        min: min.1,
        max: max.1,
        min_at: min.0,
        max_at: max.0,
    })
}

fn series_findings(
    records: &[RunRecord],
    fit: &SeriesFit,
    points: &[&PointSummary],
    headline: Option<Headline>,
) -> Option<SeriesFindings> {
    let base = points.first()?;
    let top = points.last()?;
    let (tb, tt) = (
        ok_training_times(records, &base.point),
        ok_training_times(records, &top.point),
    );
    let ratio = (top.point.executors > base.point.executors)
        .then(|| median_ratio(&tb, &tt))
        .flatten();
    let n = f64::from(top.point.executors) / f64::from(base.point.executors);
    Some(SeriesFindings {
        label: fit.label.clone(),
        base: base.point.executors,
        top: top.point.executors,
        top_time: top.train.as_ref().map(|d| est(d.median, Some(d.ci))),
        speedup: ratio.map(|(s, ci)| est(s, Some(ci))),
        efficiency: ratio.map(|(s, (lo, hi))| est(s / n, Some((lo / n, hi / n)))),
        serial_fraction: fit
            .amdahl_train
            .as_ref()
            .map(|m| est(m.serial_fraction, m.serial_fraction_ci)),
        sigma: fit.usl_train.as_ref().map(|m| est(m.sigma, m.sigma_ci)),
        kappa: fit.usl_train.as_ref().map(|m| est(m.kappa, m.kappa_ci)),
        usl_peak: fit.usl_train.as_ref().and_then(|m| m.peak_executors),
        usl_fitted: fit.usl_train.is_some(),
        amdahl_error: fit.amdahl_train.as_ref().map(|m| m.rms_relative_error),
        usl_error: fit.usl_train.as_ref().map(|m| m.rms_relative_error),
        predictions: fit.predictions.clone(),
        quality: spread(points, headline),
    })
}

/// The findings of `records` analysed as `a`.
pub fn of(records: &[RunRecord], a: &Analysis) -> Findings {
    let headline = Headline::of(a);
    let series = a
        .fits
        .iter()
        .filter_map(|fit| {
            let mut pts: Vec<&PointSummary> = a
                .points
                .iter()
                .filter(|p| {
                    p.train.is_some() && series_label(&p.point, &a.varying_params) == fit.label
                })
                .collect();
            pts.sort_by_key(|p| p.point.executors);
            series_findings(records, fit, &pts, headline)
        })
        .collect();
    let ok: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.status == RunStatus::Ok)
        .collect();
    let startups: Vec<f64> = ok.iter().filter_map(|r| r.times.startup_sec).collect();
    let totals: Vec<f64> = ok.iter().map(|r| r.times.total_time_sec).collect();
    let startup = median(&startups).map(|m| {
        est(
            m,
            bootstrap_median_ci(&startups, 0.95, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED),
        )
    });
    Findings {
        series,
        startup_share: startup.and_then(|s| Some(s.value / median(&totals)?)),
        startup,
        runs: records.len(),
        ok: ok.len(),
        enforced: ok.iter().filter(|r| r.all_enforced()).count(),
        not_enforced: ok
            .iter()
            .filter(|r| !r.all_enforced())
            .map(|r| r.run_id.clone())
            .collect(),
    }
}

fn two(v: f64) -> String {
    format!("{v:.2}")
}

fn scaling_text(s: &SeriesFindings) -> String {
    let (Some(sp), Some(ef)) = (s.speedup, s.efficiency) else {
        return match s.top_time {
            Some(t) => format!(
                "training {} at {} executor{}; one executor count, so no speedup.",
                t.text(theme::seconds),
                s.top,
                if s.top == 1 { "" } else { "s" }
            ),
            None => "no ok run.".into(),
        };
    };
    format!(
        "speedup {} and parallel efficiency {} at {} executors against {} (95 % CI in brackets); training {} at {}.",
        sp.text_with(two, "×"),
        ef.text(two),
        s.top,
        s.base,
        s.top_time.map_or("–".into(), |t| t.text(theme::seconds)),
        s.top
    )
}

fn laws_text(s: &SeriesFindings) -> Option<String> {
    let amdahl = s.serial_fraction?;
    let mut t = format!(
        "Amdahl serial fraction {}",
        amdahl.text(|v| format!("{v:.3}"))
    );
    if let (Some(sg), Some(k)) = (s.sigma, s.kappa) {
        let peak = match s.usl_peak {
            Some(p) if p <= f64::from(s.top) => {
                format!("its speedup peaks at {p:.1} executors, inside the range measured")
            }
            Some(p) => format!(
                "its speedup peaks at {p:.1} executors, beyond the {} measured (no peak in range)",
                s.top
            ),
            None => "no peak (κ ≤ 0): no slowdown predicted".into(),
        };
        t.push_str(&format!(
            "; USL σ {}, κ {}, {peak}",
            sg.text(|v| format!("{v:.3}")),
            k.text(|v| format!("{v:.4}"))
        ));
    } else {
        t.push_str("; USL needs ≥ 3 executor counts");
    }
    t.push('.');
    Some(t)
}

fn predictions_text(s: &SeriesFindings) -> Option<String> {
    if s.predictions.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for (law, name, err) in [
        (Law::Amdahl, "Amdahl", s.amdahl_error),
        (Law::Usl, "USL", s.usl_error),
    ] {
        let at: Vec<String> = s
            .predictions
            .iter()
            .filter(|p| p.law == law)
            .map(|p| {
                let t = est(p.seconds, p.ci).text(theme::seconds);
                format!("{t} at {:.0}", p.executors)
            })
            .collect();
        if at.is_empty() {
            continue;
        }
        let fit = err.map_or(String::new(), |e| {
            let poor = if e > POOR_FIT {
                ", a poor fit: treat with care"
            } else {
                ""
            };
            format!("; fit rms error {}{poor}", theme::percent(e))
        });
        parts.push(format!("{} ({name}{fit})", at.join(", ")));
    }
    Some(format!(
        "Predicted, not measured: training {}.",
        parts.join("; ")
    ))
}

/// A law whose root-mean-square relative residual exceeds this fits the runs poorly, and its
/// predictions are flagged.
pub const POOR_FIT: f64 = 0.10;

fn quality_text(q: &Spread) -> String {
    let d = q.max - q.min;
    if d == 0.0 {
        return format!(
            "{} {:.4} at every executor count (no spread).",
            q.metric, q.min
        );
    }
    format!(
        "{} from {:.4} ({} executor{}) to {:.4} ({}): a spread of {:.4} across executor counts.",
        q.metric,
        q.min,
        q.min_at,
        if q.min_at == 1 { "" } else { "s" },
        q.max,
        q.max_at,
        d
    )
}

impl Findings {
    /// The findings as sentences, in reading order.
    pub fn sentences(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for s in &self.series {
            let mut text = scaling_text(s);
            for extra in [
                laws_text(s),
                predictions_text(s),
                s.quality.as_ref().map(quality_text),
            ]
            .into_iter()
            .flatten()
            {
                text.push(' ');
                text.push_str(&extra);
            }
            out.push(Finding {
                head: s.label.clone(),
                text,
            });
        }
        if let Some(st) = self.startup {
            out.push(Finding {
                head: "Start-up".into(),
                text: format!(
                    "launch → every executor ready takes {} (median of ok runs){}.",
                    st.text(theme::seconds),
                    self.startup_share.map_or(String::new(), |s| format!(
                        ", {} of the median total time",
                        theme::percent(s)
                    ))
                ),
            });
        }
        out.push(Finding {
            head: "Limits".into(),
            text: self.limits_text(),
        });
        out
    }

    fn limits_text(&self) -> String {
        let failed = self.runs - self.ok;
        let failed = if failed == 0 {
            String::new()
        } else {
            format!(" {failed} run(s) did not finish ok (listed below).")
        };
        if self.not_enforced.is_empty() {
            return format!(
                "every ok run ({}) had its limits enforced, as measured.{failed}",
                self.ok
            );
        }
        let shown: Vec<&str> = self
            .not_enforced
            .iter()
            .take(8)
            .map(String::as_str)
            .collect();
        let more = self.not_enforced.len().saturating_sub(shown.len());
        format!(
            "{} of {} ok runs had their limits enforced; NOT enforced: {}{}.{failed}",
            self.enforced,
            self.ok,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    }

    /// The findings as a Markdown section.
    pub fn markdown(&self) -> String {
        let mut md = String::from("## Findings\n\n");
        for f in self.sentences() {
            md.push_str(&format!("- **{}**: {}\n", f.head, f.text));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyse;
    use crate::analysis::tests::fixture;

    #[test]
    fn findings_hold_the_speedup_of_the_largest_count_with_its_interval() {
        let recs = fixture();
        let a = analyse(&recs);
        let f = of(&recs, &a);
        let s = f
            .series
            .iter()
            .find(|s| s.label.starts_with("fraction 1 ") && s.top > 2)
            .expect("the fraction-1 series scales");
        let point = |e: u32| {
            a.points
                .iter()
                .find(|p| {
                    p.point.executors == e && p.point.fraction == 1.0 && p.point.params.is_empty()
                })
                .unwrap()
        };
        let expect = point(s.base).train.as_ref().unwrap().median
            / point(s.top).train.as_ref().unwrap().median;
        let sp = s.speedup.unwrap();
        assert!((sp.value - expect).abs() < 1e-12);
        let (lo, hi) = sp.ci.unwrap();
        assert!(lo <= sp.value && sp.value <= hi);
        let ef = s.efficiency.unwrap();
        assert!((ef.value - expect / f64::from(s.top / s.base)).abs() < 1e-12);
        assert!(
            s.usl_fitted && s.predictions.len() == 4,
            "{:?}",
            s.predictions
        );
        assert_eq!(s.predictions[0].executors, 2.0 * f64::from(s.top));
        let text = f.markdown();
        assert!(
            text.contains(&format!("speedup {}", sp.text_with(two, "×"))),
            "{text}"
        );
        assert!(text.contains("Predicted, not measured"));
        assert!(
            text.contains("NOT enforced"),
            "the fixture has a run without enforced limits"
        );
        assert!(f.not_enforced.len() < f.ok && f.ok < f.runs);
        assert!(s
            .quality
            .as_ref()
            .is_some_and(|q| q.metric == "test accuracy" && q.max >= q.min));
    }
}
