//! `summary.csv` and `summary.md`: one row per point, for spreadsheets, issues and PRs.

use harness_core::units::format_bytes;

use crate::analysis::{params_label, Analysis, Change};
use crate::findings::Findings;
use crate::theme;
use crate::versus::{Pair, Versus};
use crate::ReportError;

const HEADER: [&str; 25] = [
    "executors",
    "cores",
    "memory",
    "fraction",
    "runs_ok",
    "runs",
    "train_median_s",
    "train_ci_low_s",
    "train_ci_high_s",
    "train_min_s",
    "train_max_s",
    "total_median_s",
    "startup_median_s",
    "speedup",
    "efficiency",
    "karp_flatt",
    "speedup_total",
    "speedup_vs_cores",
    "val_accuracy",
    "test_accuracy",
    "auc",
    "rmse",
    "mae",
    "limits",
    "params",
];

fn f(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| format!("{x:.6}"))
}

fn rows(a: &Analysis) -> Vec<Vec<String>> {
    a.points
        .iter()
        .map(|p| {
            let t = p.train.as_ref();
            vec![
                p.point.executors.to_string(),
                p.point.cores.to_string(),
                format_bytes(p.point.memory_bytes),
                p.point.fraction.to_string(),
                p.ok.to_string(),
                p.runs.to_string(),
                f(t.map(|d| d.median)),
                f(t.map(|d| d.ci.0)),
                f(t.map(|d| d.ci.1)),
                f(t.map(|d| d.min)),
                f(t.map(|d| d.max)),
                f(p.total.as_ref().map(|d| d.median)),
                f(p.startup.as_ref().map(|d| d.median)),
                f(p.scaling_train.map(|s| s.speedup)),
                f(p.scaling_train.map(|s| s.efficiency)),
                f(p.scaling_train.and_then(|s| s.karp_flatt)),
                f(p.scaling_total.map(|s| s.speedup)),
                f(p.scaling_cores.map(|s| s.speedup)),
                f(p.val_accuracy),
                f(p.test_accuracy),
                f(p.auc),
                f(p.rmse),
                f(p.mae),
                match (p.all_enforced, p.oversubscribed) {
                    (true, false) => "enforced",
                    (true, true) => "enforced+oversubscribed",
                    (false, false) => "not_enforced",
                    (false, true) => "not_enforced+oversubscribed",
                }
                .to_string(),
                params_label(
                    &p.point,
                    &p.point.params.keys().cloned().collect::<Vec<_>>(),
                ),
            ]
        })
        .collect()
}

/// The per-point summary as CSV (header + one row per point; empty cells where undefined).
///
/// # Errors
/// [`ReportError::Csv`] if the writer fails.
pub fn csv(a: &Analysis) -> Result<String, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    for r in rows(a) {
        w.write_record(&r)
            .map_err(|e| ReportError::Csv(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 text"))
}

/// `summary.md`: the findings, the per-point summary and the comparison with a baseline
/// (when given), as GitHub-flavoured Markdown.
pub fn markdown(
    a: &Analysis,
    findings: &Findings,
    changes: Option<&[Change]>,
    side_by_side: &[Versus],
) -> String {
    let mut s = findings.markdown();
    if !side_by_side.is_empty() {
        s.push_str(&versus_markdown(side_by_side));
    }
    s.push_str("\n## Points\n\n");
    let mut cols = vec![0, 1, 2, 3, 4, 6, 7, 8, 11, 13, 14, 15, 18, 19, 20, 21, 22];
    if !a.varying_params.is_empty() {
        cols.push(24);
    }
    let all = rows(a);
    // Only the columns some point fills (a workload without ROC AUC has no AUC column).
    cols.retain(|c| *c < 6 || all.iter().any(|r| !r[*c].is_empty()));
    s.push_str(&format!(
        "| {} |\n",
        cols.iter()
            .map(|c| HEADER[*c])
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    s.push_str(&format!("|{}\n", "---|".repeat(cols.len())));
    for r in all {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| match r[*c].parse::<f64>() {
                // Measured values to 4 decimals; the grid (first six columns) as given.
                Ok(v) if *c > 5 && r[*c].contains('.') => format!("{v:.4}"),
                _ => r[*c].clone(),
            })
            .collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    if let Some(changes) = changes {
        s.push_str("\n## Comparison with the baseline\n\n| metric | executors | cores | memory | fraction | baseline median | median | change | 95 % CI | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for c in changes {
            s.push_str(&format!("| {} |\n", change_cells(c).join(" | ")));
        }
    }
    s
}

/// The side-by-side table in Markdown: per compared point, the medians of both studies (n in
/// parentheses), the ratio compared ÷ first (difference compared − first for the quality
/// metric) and its 95 % bootstrap interval.
pub fn versus_markdown(v: &[Versus]) -> String {
    let Some(first) = v.first().map(|r| r.first.as_str()) else {
        return String::new();
    };
    let mut s = format!(
        "\n## Side by side (against {first})\n\n| compared | executors | cores | memory | fraction | training, first | training, compared | ÷ (95 % CI) | metric | first | compared | − (95 % CI) | peak, first | peak, compared | ÷ (95 % CI) | total time ÷ (95 % CI) | training time from |\n|{}\n",
        "---|".repeat(17)
    );
    let cells = |p: Option<&Pair>,
                 fmt: &dyn Fn(f64) -> String,
                 value: &dyn Fn(f64) -> String|
     -> [String; 3] {
        match p {
            Some(p) => [
                format!("{} ({})", fmt(p.first), p.first_n),
                format!("{} ({})", fmt(p.compared), p.compared_n),
                format!("{} ({} … {})", value(p.value), value(p.ci.0), value(p.ci.1)),
            ],
            None => Default::default(),
        }
    };
    let ratio = |v: f64| format!("{v:.2}×");
    let diff = |v: f64| format!("{v:+.4}").replace('-', "−");
    for r in v {
        let p = &r.point;
        let mut row = vec![
            r.label().to_string(),
            p.executors.to_string(),
            p.cores.to_string(),
            format_bytes(p.memory_bytes),
            p.fraction.to_string(),
        ];
        row.extend(cells(r.training.as_ref(), &theme::seconds, &ratio));
        row.push(
            r.quality
                .as_ref()
                .map(|q| q.0.title().to_string())
                .unwrap_or_default(),
        );
        row.extend(cells(
            r.quality.as_ref().map(|q| &q.1),
            &|v: f64| format!("{v:.4}"),
            &diff,
        ));
        row.extend(cells(r.peak.as_ref(), &theme::bytes, &ratio));
        row.push(
            r.total
                .as_ref()
                .map(|p| format!("{} ({} … {})", ratio(p.value), ratio(p.ci.0), ratio(p.ci.1)))
                .unwrap_or_default(),
        );
        row.push(r.training_time_source.clone().unwrap_or_default());
        s.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    s
}

/// The cells of one comparison row: metric, point, baseline and new median, change, its 95 %
/// CI and the verdict.
pub fn change_cells(c: &Change) -> [String; 10] {
    [
        c.metric.title().to_string(),
        c.point.executors.to_string(),
        c.point.cores.to_string(),
        format_bytes(c.point.memory_bytes),
        c.point.fraction.to_string(),
        format!("{:.4}", c.baseline_median),
        format!("{:.4}", c.median),
        theme::change(c.change),
        format!("{} … {}", theme::change(c.ci.0), theme::change(c.ci.1)),
        c.metric.verdict_text(c.verdict).to_string(),
    ]
}
