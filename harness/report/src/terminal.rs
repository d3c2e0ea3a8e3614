//! The closing summary a study prints in the terminal: per series (same cores, memory,
//! fraction and parameters), one row per executor count with the median training time, the
//! speedup and parallel efficiency against the series' smallest executor count, the
//! workload's headline quality metric and how many runs had their limits enforced — what the
//! study found, before the reader opens the report (as hyperfine closes with its summary).
//!
//! Pure text from an [`Analysis`]; colour only when the caller asks for it ([`Style`]).

use std::fmt::Write as _;

use harness_core::units::format_bytes;

use crate::analysis::{params_label, Analysis, PointSummary};

/// Whether the summary may use ANSI colours (the caller decides: a terminal, and `NO_COLOR`
/// unset or empty — <https://no-color.org>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

impl Style {
    /// `Color` when `is_terminal` and `no_color` (the value of `NO_COLOR`) is absent or empty.
    pub fn detect(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        match (is_terminal, no_color) {
            (true, None) => Style::Color,
            (true, Some(v)) if v.is_empty() => Style::Color,
            _ => Style::Plain,
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Style::Plain => text.to_string(),
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

/// The headline quality metric of a study: the first of test accuracy, ROC AUC and RMSE that
/// any point reports (the record's own names: `metrics.test_accuracy`, `auc`, `rmse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headline {
    TestAccuracy,
    RocAuc,
    Rmse,
}

impl Headline {
    /// The metric the points of `a` report, or `None` when they report none of the three.
    pub fn of(a: &Analysis) -> Option<Headline> {
        let any = |f: fn(&PointSummary) -> Option<f64>| a.points.iter().any(|p| f(p).is_some());
        if any(|p| p.test_accuracy) {
            Some(Headline::TestAccuracy)
        } else if any(|p| p.auc) {
            Some(Headline::RocAuc)
        } else if any(|p| p.rmse) {
            Some(Headline::Rmse)
        } else {
            None
        }
    }

    /// Column title.
    pub fn title(self) -> &'static str {
        match self {
            Headline::TestAccuracy => "test accuracy",
            Headline::RocAuc => "ROC AUC",
            Headline::Rmse => "RMSE",
        }
    }

    /// The point's median value of this metric.
    pub fn value(self, p: &PointSummary) -> Option<f64> {
        match self {
            Headline::TestAccuracy => p.test_accuracy,
            Headline::RocAuc => p.auc,
            Headline::Rmse => p.rmse,
        }
    }
}

/// Seconds with three significant digits at most a thousandth apart: `0.0123 s`, `1.51 s`,
/// `14.1 s`, `312 s`.
pub fn seconds(s: f64) -> String {
    if s < 0.1 {
        format!("{s:.4} s")
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 100.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// The closing summary of a study's records analysed as `a`: a title line, then per series a
/// label line and one row per executor count (`*` marks an oversubscribed point). Only `ok`
/// runs enter the times and metrics; `runs ok` counts the point's runs (repetitions) that ended
/// ok in some attempt, of all its runs recorded; `enforced` counts the ok runs whose every
/// executor had its limits applied as requested and not contended.
pub fn summary(study: &str, a: &Analysis, style: Style) -> String {
    let mut out = String::new();
    let records: usize = a.points.iter().map(|p| p.runs).sum();
    let ok: usize = a.points.iter().map(|p| p.ok).sum();
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            "1",
            &format!(
                "Summary of `{study}`: {records} records, {ok} ok (medians over the ok repetitions)"
            )
        )
    );
    let headline = Headline::of(a);
    let mut header = vec!["executors", "runs ok", "training", "speedup", "efficiency"];
    if let Some(h) = headline {
        header.push(h.title());
    }
    header.push("enforced");

    // Series (same cores, memory, fraction and parameters) in the analysis order.
    let mut series: Vec<(String, Vec<&PointSummary>)> = Vec::new();
    for p in &a.points {
        let label = series_title(p, &a.varying_params);
        match series.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(p),
            None => series.push((label, vec![p])),
        }
    }
    let oversubscribed = a.points.iter().any(|p| p.oversubscribed);
    let rows: Vec<Vec<Vec<String>>> = series
        .iter()
        .map(|(_, pts)| pts.iter().map(|p| cells(p, headline)).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .flatten()
                .map(|r| r[c].chars().count())
                .chain(std::iter::once(header[c].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}", w = *w))
            .collect::<Vec<_>>()
            .join("  ")
    };
    for ((label, points), rows) in series.iter().zip(&rows) {
        let _ = writeln!(out, "\n  {}", style.paint("1", label));
        let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        let _ = writeln!(out, "    {}", style.paint("2", &line(&head)));
        for (p, r) in points.iter().zip(rows) {
            let text = line(r);
            // The enforced column last: green when every ok run was enforced, red otherwise.
            let all = p.ok > 0 && p.enforced == p.ok;
            let (body, tail) = text.split_at(text.len() - r.last().map_or(0, String::len));
            let _ = writeln!(
                out,
                "    {body}{}",
                style.paint(if all { "32" } else { "31" }, tail)
            );
        }
    }
    let _ = writeln!(
        out,
        "\n  training: median training time; speedup and efficiency against the series' \
         smallest executor count;\n  enforced: ok runs whose every executor had its limits \
         applied as requested and not contended."
    );
    if oversubscribed {
        let _ = writeln!(
            out,
            "  *: oversubscribed (executors × cores > logical CPUs): executors share CPUs."
        );
    }
    out
}

fn series_title(p: &PointSummary, varying: &[String]) -> String {
    let mut t = format!(
        "fraction {}, {} core{} and {} per executor",
        p.point.fraction,
        p.point.cores,
        if p.point.cores == 1 { "" } else { "s" },
        format_bytes(p.point.memory_bytes)
    );
    // Only the varying parameters this point has (a point without one is the workload's default).
    let own: Vec<String> = varying
        .iter()
        .filter(|n| p.point.params.contains_key(*n))
        .cloned()
        .collect();
    let params = params_label(&p.point, &own);
    if !params.is_empty() {
        t.push_str(", ");
        t.push_str(&params);
    }
    t
}

fn cells(p: &PointSummary, headline: Option<Headline>) -> Vec<String> {
    let dash = || "–".to_string();
    let mut c = vec![
        format!(
            "{}{}",
            p.point.executors,
            if p.oversubscribed { "*" } else { "" }
        ),
        format!("{}/{}", p.ok, p.repetitions),
        p.train.as_ref().map_or_else(dash, |d| seconds(d.median)),
        p.scaling_train
            .map_or_else(dash, |s| format!("{:.2}", s.speedup)),
        p.scaling_train
            .map_or_else(dash, |s| format!("{:.2}", s.efficiency)),
    ];
    if let Some(h) = headline {
        c.push(h.value(p).map_or_else(dash, |v| format!("{v:.4}")));
    }
    c.push(format!("{}/{}", p.enforced, p.ok));
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyse;

    fn fixture(text: &str) -> Vec<harness_core::RunRecord> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn fractal() -> Vec<harness_core::RunRecord> {
        fixture(include_str!("../tests/fixtures/fractal-fixture.jsonl"))
    }

    /// The row of `executors` under the series whose label starts with `series`, as cells.
    fn row(text: &str, series: &str, executors: &str) -> Vec<String> {
        let mut lines = text
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(series));
        lines.next().expect("series label");
        lines
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.split("  ").map(str::trim).filter(|c| !c.is_empty()))
            .map(|cells| cells.map(String::from).collect::<Vec<_>>())
            .find(|cells| cells.first().map(String::as_str) == Some(executors))
            .unwrap_or_else(|| panic!("no row for {executors} executors in {series}:\n{text}"))
    }

    #[test]
    fn rows_give_median_time_speedup_efficiency_accuracy_and_enforcement() {
        let recs = fractal();
        let text = summary("fixture", &analyse(&recs), Style::Plain);
        assert!(
            text.starts_with("Summary of `fixture`: 26 records, 25 ok"),
            "{text}"
        );
        // Fraction 1, 2 executors: training 0.6286, 0.5398, 0.5650 s → median 0.5650 s; one
        // executor's median 0.7082 s → speedup 1.2534, efficiency 0.6267.
        let two = row(&text, "fraction 1, 1 core and 1g per executor", "2");
        assert_eq!(
            two,
            ["2", "3/3", "0.57 s", "1.25", "0.63", "0.9188", "3/3"],
            "{text}"
        );
        let one = row(&text, "fraction 1, 1 core and 1g per executor", "1");
        assert_eq!(one[2..5], ["0.71 s", "1.00", "1.00"]);
        // 3 and 4 executors of one core on the fixture's 2-CPU machine: same series, marked.
        let four = row(&text, "fraction 1, 1 core and 1g per executor", "4*");
        assert_eq!(four[1..3], ["3/3", "1.04 s"], "{text}");
        assert!(text.contains("*: oversubscribed"), "{text}");
        // The run whose executors were not enforced is counted as such.
        let quarter = row(&text, "fraction 0.25", "2");
        assert_eq!(quarter.last().map(String::as_str), Some("0/1"), "{text}");
        assert!(text.contains("test accuracy"));
        assert!(!text.contains('\x1b'), "plain text has no ANSI codes");
    }

    #[test]
    fn a_point_without_ok_runs_shows_dashes_and_its_own_series() {
        let recs = fractal();
        let text = summary("fixture", &analyse(&recs), Style::Plain);
        // The timed-out run differs by a parameter: its series is labelled with it.
        let label = text
            .lines()
            .find(|l| l.contains("fraction 1, 1 core and 1g per executor, "))
            .expect("a series labelled with its parameter");
        let timed_out = row(&text, label.trim(), "2");
        assert_eq!(timed_out, ["2", "0/1", "–", "–", "–", "–", "0/0"], "{text}");
    }

    #[test]
    fn colour_only_when_asked_and_the_metric_follows_the_workload() {
        let recs = fractal();
        let a = analyse(&recs);
        let coloured = summary("fixture", &a, Style::Color);
        assert!(coloured.contains("\x1b[32m3/3\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[31m0/1\x1b[0m"), "{coloured}");
        let gbm = fixture(include_str!("../tests/fixtures/gbm-folds-fixture.jsonl"));
        let text = summary("gbm", &analyse(&gbm), Style::Plain);
        assert_eq!(Headline::of(&analyse(&gbm)), Some(Headline::RocAuc));
        assert!(
            text.contains("ROC AUC") && !text.contains("test accuracy"),
            "{text}"
        );
    }

    #[test]
    fn colour_detection_follows_no_color_and_the_terminal() {
        use std::ffi::OsStr;
        assert_eq!(Style::detect(true, None), Style::Color);
        assert_eq!(Style::detect(true, Some(OsStr::new(""))), Style::Color);
        assert_eq!(Style::detect(true, Some(OsStr::new("1"))), Style::Plain);
        assert_eq!(Style::detect(false, None), Style::Plain);
    }

    #[test]
    fn seconds_keep_three_significant_digits() {
        assert_eq!(seconds(0.01234), "0.0123 s");
        assert_eq!(seconds(1.513), "1.51 s");
        assert_eq!(seconds(14.14), "14.1 s");
        assert_eq!(seconds(312.4), "312 s");
    }
}
