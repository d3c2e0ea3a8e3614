//! The study page and the index of studies: HTML through minijinja templates
//! (`templates/*.html`, HTML-escaped by default), inline SVG charts, our own small script and
//! stylesheet inline — one self-contained file that works from `file://` with no network.
//!
//! This module turns the analysis into template data (tables as [`Table`]s); the templates
//! only lay them out.

use harness_core::fit::{AmdahlFit, UslFit};
use harness_core::stats::Outlier;
use harness_core::units::format_bytes;
use harness_core::{RunRecord, RunStatus};
use minijinja::{context, Environment, Value};
use serde::Serialize;
use serde_json::json;

use crate::analysis::{params_label, series_label, Analysis, Change, Dist, PointSummary, Verdict};
use crate::figures::Chart;
use crate::findings::Findings;
use crate::table::{Cell, Table};
use crate::theme;
use crate::versus::{Pair, Versus};
use crate::ReportError;

/// Escapes text for HTML (charts write SVG text themselves).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATES: [(&str, &str); 4] = [
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("study.html", include_str!("../templates/study.html")),
    ("index.html", include_str!("../templates/index.html")),
];
const STYLE: &str = include_str!("../templates/style.css");
const SCRIPT: &str = include_str!("../templates/script.js");

fn render(name: &str, ctx: Value) -> Result<String, ReportError> {
    let mut env = Environment::new();
    for (n, src) in TEMPLATES {
        env.add_template(n, src)
            .map_err(|e| ReportError::Template(e.to_string()))?;
    }
    let ctx = context! { style => Value::from_safe_string(STYLE.into()), script => Value::from_safe_string(SCRIPT.into()), ..ctx };
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| ReportError::Template(format!("{name}: {e:#}")))
}

/// A chart with its SVG marked safe for the template (it is our own, escaped text).
#[derive(Serialize)]
struct ChartView {
    id: String,
    title: String,
    svg: Value,
    wide: bool,
}

fn views(charts: &[Chart]) -> Vec<ChartView> {
    charts
        .iter()
        .map(|c| ChartView {
            id: c.id.clone(),
            title: c.title.clone(),
            svg: Value::from_safe_string(c.svg.clone()),
            wide: c.wide,
        })
        .collect()
}

/// A distribution's cell: median, the interval on a second line, min–max and n on hover.
fn dist_cell(d: Option<&Dist>, fmt: fn(f64) -> String) -> Cell {
    match d {
        Some(d) if d.ci.0 == d.ci.1 => {
            Cell::num(Some(d.median), fmt).title(format!("{} ok run(s): no interval", d.n))
        }
        Some(d) => Cell::num(Some(d.median), fmt)
            .under(format!("[{} … {}]", fmt(d.ci.0), fmt(d.ci.1)))
            .title(format!(
                "median of {} ok runs; 95 % CI {} … {}; min–max {} – {}",
                d.n,
                fmt(d.ci.0),
                fmt(d.ci.1),
                fmt(d.min),
                fmt(d.max)
            )),
        None => Cell::default(),
    }
}

fn two(v: f64) -> String {
    format!("{v:.2}")
}

fn three(v: f64) -> String {
    format!("{v:.3}")
}

fn four(v: f64) -> String {
    format!("{v:.4}")
}

fn outliers(d: Option<&Dist>) -> Cell {
    let Some(d) = d else { return Cell::default() };
    let mild = d.outliers.iter().filter(|o| o.1 == Outlier::Mild).count();
    let severe = d.outliers.iter().filter(|o| o.1 == Outlier::Severe).count();
    match (mild, severe) {
        (0, 0) => Cell::default(),
        (m, 0) => Cell::text(format!("{m} mild")).class("mild"),
        (m, s) => Cell::text(format!("{m} mild, {s} severe")).class("severe"),
    }
}

/// The shape cells every per-point table starts with.
fn shape(a: &Analysis, p: &harness_core::Point) -> Vec<Cell> {
    vec![
        Cell::text(params_label(p, &a.varying_params)),
        Cell::num(Some(f64::from(p.executors)), |v| format!("{v:.0}")),
        Cell::num(Some(f64::from(p.cores)), |v| format!("{v:.0}")),
        Cell::num(Some(p.memory_bytes as f64), |_| {
            format_bytes(p.memory_bytes)
        }),
        Cell::num(Some(p.fraction), |v| v.to_string()),
    ]
}

const SHAPE: [(&str, bool); 5] = [
    ("parameters", true),
    ("executors", false),
    ("cores", false),
    ("memory", false),
    ("fraction", false),
];

fn limits_cell(p: &PointSummary) -> Cell {
    let over = if p.oversubscribed {
        ", oversubscribed"
    } else {
        ""
    };
    if p.all_enforced {
        Cell::text(format!("enforced{over}"))
    } else {
        Cell::text(format!("NOT enforced{over}"))
            .class("bad")
            .title(format!("{} of {} ok runs enforced", p.enforced, p.ok))
    }
}

fn summary_table(a: &Analysis) -> Table {
    let cols = [
        ("runs ok", false),
        ("training", false),
        ("outliers", false),
        ("total", false),
        ("start-up", false),
        ("speedup", false),
        ("efficiency", false),
        ("Karp–Flatt", false),
        ("total speedup", false),
        ("speedup vs cores", false),
        ("val accuracy", false),
        ("test accuracy", false),
        ("ROC AUC", false),
        ("RMSE", false),
        ("MAE", false),
        ("peak memory", false),
        ("limits", true),
    ];
    let mut t = Table::new("summary-table", &[&SHAPE[..], &cols[..]].concat());
    for p in &a.points {
        let mut cells = shape(a, &p.point);
        cells.extend([
            Cell::num(Some(p.ok as f64), |v| format!("{v:.0}")).under(format!("of {}", p.runs)),
            dist_cell(p.train.as_ref(), theme::seconds),
            outliers(p.train.as_ref()),
            dist_cell(p.total.as_ref(), theme::seconds),
            Cell::num(p.startup.as_ref().map(|d| d.median), theme::seconds),
            Cell::num(p.scaling_train.map(|s| s.speedup), two),
            Cell::num(p.scaling_train.map(|s| s.efficiency), two),
            Cell::num(p.scaling_train.and_then(|s| s.karp_flatt), three),
            Cell::num(p.scaling_total.map(|s| s.speedup), two),
            Cell::num(p.scaling_cores.map(|s| s.speedup), two),
            Cell::num(p.val_accuracy, four),
            Cell::num(p.test_accuracy, four),
            Cell::num(p.auc, four),
            Cell::num(p.rmse, four),
            Cell::num(p.mae, four),
            dist_cell(p.peak_memory.as_ref(), theme::bytes),
            limits_cell(p),
        ]);
        t.push(cells, !p.all_enforced || p.oversubscribed);
    }
    t.prune()
}

/// Workload-specific metrics (`metrics.extra`): medians over ok runs.
fn extra_table(a: &Analysis) -> Option<Table> {
    let mut keys: Vec<&String> = a.points.iter().flat_map(|p| p.extra.keys()).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return None;
    }
    let cols: Vec<(&str, bool)> = SHAPE
        .iter()
        .copied()
        .chain(keys.iter().map(|k| (k.as_str(), false)))
        .collect();
    let mut t = Table::new("workload-metrics-table", &cols);
    for p in &a.points {
        let mut cells = shape(a, &p.point);
        cells.extend(
            keys.iter()
                .map(|k| Cell::num(p.extra.get(*k).copied(), theme::number)),
        );
        t.push(cells, false);
    }
    Some(t.prune())
}

/// Task-parallel points: tasks, slots, throughput, utilisation, throughput speedup.
fn farm_table(a: &Analysis) -> Option<Table> {
    if a.points.iter().all(|p| p.throughput.is_none()) {
        return None;
    }
    let cols = [
        ("tasks", false),
        ("slots", false),
        ("tasks/s", false),
        ("utilisation", false),
        ("throughput speedup", false),
        ("efficiency", false),
    ];
    let mut t = Table::new("farm-table", &[&SHAPE[..], &cols[..]].concat());
    for p in a.points.iter().filter(|p| p.throughput.is_some()) {
        let base = a
            .points
            .iter()
            .filter(|b| b.throughput.is_some() && crate::analysis::same_series(&b.point, &p.point))
            .min_by_key(|b| b.point.executors);
        let s =
            base.and_then(|b| Some(p.throughput.as_ref()?.median / b.throughput.as_ref()?.median));
        let n = base.map(|b| f64::from(p.point.executors) / f64::from(b.point.executors));
        let mut cells = shape(a, &p.point);
        cells.extend([
            Cell::num(p.tasks, |v| format!("{v:.0}")),
            Cell::num(p.slots, |v| format!("{v:.0}")),
            dist_cell(p.throughput.as_ref(), three),
            dist_cell(p.utilisation.as_ref(), theme::percent),
            Cell::num(s, two),
            Cell::num(s.zip(n).map(|(s, n)| s / n), two),
        ]);
        t.push(cells, false);
    }
    Some(t.prune())
}

fn ci_cell(v: f64, ci: Option<(f64, f64)>, fmt: fn(f64) -> String) -> Cell {
    let c = Cell::num(Some(v), fmt);
    match ci {
        Some((lo, hi)) => c.under(format!("[{} … {}]", fmt(lo), fmt(hi))),
        None => c,
    }
}

fn fit_cells(am: Option<&AmdahlFit>, usl: Option<&UslFit>) -> Vec<Cell> {
    let pct = |v: f64| format!("{:.1} %", v * 100.0);
    let mut cells = match am {
        Some(m) => vec![
            ci_cell(m.serial_fraction, m.serial_fraction_ci, three),
            Cell::num(Some(m.t1), theme::seconds),
            Cell::num(Some(m.rms_relative_error), pct),
        ],
        None => vec![
            Cell::text("needs ≥ 2 executor counts"),
            Cell::default(),
            Cell::default(),
        ],
    };
    cells.extend(match usl {
        Some(m) => vec![
            ci_cell(m.sigma, m.sigma_ci, three),
            ci_cell(m.kappa, m.kappa_ci, |v| format!("{v:.5}")),
            m.peak_executors.map_or(Cell::text("no peak"), |p| {
                Cell::num(Some(p), |v| format!("{v:.1}"))
            }),
            Cell::num(Some(m.rms_relative_error), pct),
        ],
        None => vec![
            Cell::text("needs ≥ 3 executor counts"),
            Cell::default(),
            Cell::default(),
            Cell::default(),
        ],
    });
    cells
}

fn fits_table(a: &Analysis) -> Table {
    let cols = [
        ("series", true),
        ("time", true),
        ("Amdahl s", false),
        ("T1", false),
        ("rms error", false),
        ("USL σ", false),
        ("USL κ", false),
        ("peak executors", false),
        ("USL rms error", false),
    ];
    let mut t = Table::new("fits-table", &cols);
    for f in &a.fits {
        for (what, am, usl) in [
            ("training", f.amdahl_train.as_ref(), f.usl_train.as_ref()),
            ("total", f.amdahl_total.as_ref(), f.usl_total.as_ref()),
        ] {
            let mut cells = vec![Cell::text(f.label.clone()), Cell::text(what)];
            cells.extend(fit_cells(am, usl));
            t.push(cells, false);
        }
    }
    t.prune()
}

fn stragglers_table(a: &Analysis) -> Table {
    let cols = [
        ("run", true),
        ("rank", false),
        ("load", false),
        ("compute", false),
        ("train comm", false),
        ("waiting", false),
        ("eval", false),
        ("run-queue wait", false),
        ("straggler ratio", false),
    ];
    let mut t = Table::new("stragglers-table", &cols);
    t.empty = "No multi-executor point.".into();
    for s in &a.stragglers {
        for p in &s.phases {
            let rq = match p.run_queue_wait {
                Some(w) if p.contended => Cell::num(Some(w), theme::seconds)
                    .class("bad")
                    .under("contended"),
                w => Cell::num(w, theme::seconds),
            };
            t.push(
                vec![
                    Cell::text(s.run_id.clone()),
                    Cell::num(Some(f64::from(p.rank)), |v| format!("{v:.0}")),
                    Cell::num(Some(p.load), theme::seconds),
                    Cell::num(Some(p.compute), theme::seconds),
                    Cell::num(Some(p.comm), theme::seconds),
                    Cell::num(Some(p.wait), theme::seconds),
                    Cell::num(Some(p.eval), theme::seconds),
                    rq,
                    Cell::num(Some(s.ratio), two),
                ],
                p.contended,
            );
        }
    }
    t
}

fn comparison_table(changes: &[Change], a: &Analysis) -> Table {
    let cols = [
        ("series", true),
        ("executors", false),
        ("metric", true),
        ("baseline median", false),
        ("median", false),
        ("change", false),
        ("verdict", true),
    ];
    let mut t = Table::new("comparison-table", &cols);
    t.empty = "No point in common with the baseline.".into();
    for c in changes {
        let class = match c.verdict {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::WithinNoise => "",
        };
        let mut verdict = Cell::text(c.metric.verdict_text(c.verdict));
        if !class.is_empty() {
            verdict = verdict.class(class);
        }
        t.push(
            vec![
                Cell::text(series_label(&c.point, &a.varying_params)),
                Cell::num(Some(f64::from(c.point.executors)), |v| format!("{v:.0}")),
                Cell::text(c.metric.title()),
                Cell::num(Some(c.baseline_median), theme::number),
                Cell::num(Some(c.median), theme::number),
                ci_cell(c.change, Some(c.ci), theme::change),
                verdict,
            ],
            false,
        );
    }
    t
}

/// A ratio for a person: `30.1×`, `0.96×`.
fn times(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.1}×")
    } else {
        format!("{v:.2}×")
    }
}

/// A signed difference in a metric's own unit: `+0.0012`, `−0.0092`.
fn signed(v: f64) -> String {
    format!("{v:+.4}").replace('-', "−")
}

/// The first study's median, the compared study's, and their ratio or difference with its
/// interval (n of each on hover).
fn pair_cells(p: Option<&Pair>, fmt: fn(f64) -> String, value: fn(f64) -> String) -> [Cell; 3] {
    let Some(p) = p else {
        return [Cell::default(), Cell::default(), Cell::default()];
    };
    let n = |n: usize| format!("median of {n} ok run(s)");
    [
        Cell::num(Some(p.first), fmt).title(n(p.first_n)),
        Cell::num(Some(p.compared), fmt).title(n(p.compared_n)),
        ci_cell(p.value, (p.ci.0 != p.ci.1).then_some(p.ci), value).title(format!(
            "95 % two-sample bootstrap interval {} … {} ({} and {} ok runs)",
            value(p.ci.0),
            value(p.ci.1),
            p.first_n,
            p.compared_n
        )),
    ]
}

/// The side-by-side table: per compared point, training time, quality and peak memory of
/// both studies with the ratio (or difference) and its interval.
fn versus_table(v: &[Versus]) -> Table {
    let cols = [
        ("compared", true),
        ("executors", false),
        ("per executor", true),
        ("training, first", false),
        ("training, compared", false),
        ("training ÷", false),
        ("metric", true),
        ("first", false),
        ("compared", false),
        ("difference", false),
        ("peak, first", false),
        ("peak, compared", false),
        ("peak ÷", false),
        ("total time ÷", false),
        ("training time taken by", true),
    ];
    let mut t = Table::new("versus-table", &cols);
    t.empty = "No point of a compared study has the shape of one of the first study's.".into();
    for r in v {
        let p = &r.point;
        let mut cells = vec![
            Cell::text(r.label()).title(&r.compared),
            Cell::num(Some(f64::from(p.executors)), |v| format!("{v:.0}")),
            Cell::text(format!(
                "{}c, {}, fraction {}",
                p.cores,
                format_bytes(p.memory_bytes),
                p.fraction
            )),
        ];
        cells.extend(pair_cells(r.training.as_ref(), theme::seconds, times));
        let (metric, quality) = match &r.quality {
            Some((m, q)) => (Cell::text(m.title()), Some(q)),
            None => (Cell::default(), None),
        };
        cells.push(metric);
        cells.extend(pair_cells(quality, four, signed));
        cells.extend(pair_cells(r.peak.as_ref(), theme::bytes, times));
        cells.push(match &r.total {
            Some(p) => ci_cell(p.value, (p.ci.0 != p.ci.1).then_some(p.ci), times),
            None => Cell::default(),
        });
        cells.push(Cell::text(match r.training_time_source.as_deref() {
            Some("job") => "the job's own timer",
            Some("process-wall") => "the job's wall time",
            Some("phase") => "the harness's phase",
            Some(other) => other,
            None => "",
        }));
        t.push(cells, r.training.is_none());
    }
    t.prune()
}

/// Each study of an overlay with its workload and its own parameters (those the series
/// labels leave out because they only tell the studies apart).
fn studies_table(records: &[RunRecord]) -> Table {
    let mut t = Table::new(
        "studies-table",
        &[("study", true), ("workload", true), ("parameters", true)],
    );
    for study in crate::versus::studies_in_order(records) {
        let first = records
            .iter()
            .find(|r| r.study == study)
            .expect("a record of it");
        let params = first
            .point
            .params
            .iter()
            .filter(|(k, _)| k.as_str() != crate::STUDY_PARAM)
            .filter(|(k, v)| {
                records
                    .iter()
                    .filter(|r| r.study == study)
                    .all(|r| r.point.params.get(*k) == Some(*v))
            })
            .map(|(k, v)| format!("{k}={}", crate::analysis::param_text(v)))
            .collect::<Vec<_>>()
            .join(", ");
        t.push(
            vec![
                Cell::text(&study),
                Cell::text(&first.workload),
                Cell::text(params),
            ],
            false,
        );
    }
    t
}

fn status_text(r: &RunRecord) -> String {
    let s = format!("{:?}", r.status).to_lowercase();
    if r.attempt > 0 {
        format!("{s} (attempt {})", r.attempt + 1)
    } else {
        s
    }
}

fn failed_table(records: &[RunRecord]) -> Table {
    let mut t = Table::new(
        "failed-table",
        &[("run", true), ("status", true), ("error", true)],
    );
    for r in records.iter().filter(|r| r.status != RunStatus::Ok) {
        let err = r.error.as_deref().unwrap_or("");
        let mut lines = err.lines();
        let mut cell = Cell::text(lines.next().unwrap_or(""));
        for l in lines {
            cell = cell.under(l);
        }
        t.push(
            vec![
                Cell::text(r.run_id.clone()),
                Cell::text(status_text(r)).class("bad"),
                cell,
            ],
            true,
        );
    }
    t
}

/// One line per executor: CPUs measured/requested [cpuset] · memory limit · parallelism.
fn executor_lines(r: &RunRecord) -> Cell {
    let mut cell = Cell::default();
    let mut notes = Vec::new();
    for e in &r.executor_reports {
        let mut text = format!(
            "r{}: {}/{} CPUs [{}] · {} · ×{:.2}",
            e.rank,
            e.cores_measured,
            e.cores_requested,
            e.cpuset,
            e.memory_limit_bytes
                .map_or("no memory limit".into(), format_bytes),
            e.effective_parallelism
        );
        if let Some(k) = e.kernel.as_ref().map(|k| &k.train) {
            text.push_str(&format!(
                " · run-queue wait {:.1} %{}",
                k.wait_share(e.cores_requested) * 100.0,
                if k.contended { " contended" } else { "" }
            ));
        }
        if !e.enforced {
            text.push_str(" · NOT enforced");
            notes.extend(e.enforcement_note.clone());
            cell.class = Some("bad");
        }
        cell.sub.push(text);
    }
    if !notes.is_empty() {
        cell.title = Some(notes.join("\n"));
    }
    cell
}

fn runs_table(records: &[RunRecord], a: &Analysis) -> Table {
    let cols = [
        ("run", true),
        ("status", true),
        ("total", false),
        ("start-up", false),
        ("load", false),
        ("training", false),
        ("eval", false),
        ("comm", false),
        ("train rows", false),
        ("val acc", false),
        ("test acc", false),
        ("ROC AUC", false),
        ("RMSE", false),
        ("MAE", false),
        ("peak memory", false),
        ("outlier", true),
        ("executors", true),
    ];
    let mut t = Table::new("runs-table", &cols);
    for r in records {
        let bad = r.status != RunStatus::Ok || !r.all_enforced() || r.oversubscribed;
        let outlier = a
            .points
            .iter()
            .find(|p| p.point.same_as(&r.point))
            .and_then(|p| p.train.as_ref())
            .and_then(|d| d.outliers.iter().find(|o| o.0 == r.run_id))
            .map_or(Cell::default(), |o| {
                if o.1 == Outlier::Severe {
                    Cell::text("severe").class("severe")
                } else {
                    Cell::text("mild").class("mild")
                }
            });
        let tm = &r.times;
        let mut status = Cell::text(
            status_text(r)
                + if r.oversubscribed {
                    ", oversubscribed"
                } else {
                    ""
                },
        );
        if bad {
            status = status.class("bad");
        }
        t.push(
            vec![
                Cell::text(r.run_id.clone()),
                status,
                Cell::num(Some(tm.total_time_sec), theme::seconds),
                Cell::num(tm.startup_sec, theme::seconds),
                Cell::num(tm.load_sec, theme::seconds),
                Cell::num(tm.training_time_sec, theme::seconds),
                Cell::num(tm.eval_sec, theme::seconds),
                Cell::num(tm.comm_sec, theme::seconds),
                Cell::num(Some(r.data.rows.train as f64), |v| format!("{v:.0}")),
                Cell::num(r.metrics.val_accuracy, four),
                Cell::num(r.metrics.test_accuracy, four),
                Cell::num(r.metrics.auc, four),
                Cell::num(r.metrics.rmse, four),
                Cell::num(r.metrics.mae, four),
                Cell::num(crate::analysis::peak_memory(r), theme::bytes),
                outlier,
                executor_lines(r),
            ],
            bad,
        );
    }
    t.prune()
}

fn provenance_table(records: &[RunRecord]) -> Table {
    let pv = &records[0].provenance;
    let mut t = Table::new("provenance-table", &[("", true), ("", true)]);
    let first = records
        .iter()
        .map(|r| r.started_at)
        .min()
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    let last = records
        .iter()
        .map(|r| r.finished_at)
        .max()
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    for (k, v) in [
        (
            "harness",
            format!(
                "{} {}",
                pv.harness_version,
                pv.git_rev.as_deref().unwrap_or("")
            ),
        ),
        ("host", pv.host.clone()),
        (
            "CPU",
            format!("{} ({} logical CPUs)", pv.cpu_model, pv.logical_cpus),
        ),
        ("memory", format_bytes(pv.memory_bytes)),
        ("kernel", pv.kernel.clone()),
        ("MPI", pv.mpi_version.clone()),
        ("LightGBM", pv.lightgbm_version.clone()),
        (
            "XGBoost",
            pv.xgboost_version.clone().unwrap_or_else(|| "–".into()),
        ),
        (
            "nix store path",
            pv.nix_store_path.clone().unwrap_or_else(|| "–".into()),
        ),
        ("runs", format!("{first} … {last}")),
    ] {
        t.push(vec![Cell::text(k), Cell::text(v)], false);
    }
    t
}

/// The study page's sections, for the table of contents.
fn toc(
    side_by_side: bool,
    has_comparison: bool,
    extra: bool,
    farm: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("findings", "Findings")];
    if side_by_side {
        v.push(("side-by-side", "Side by side"));
    }
    v.push(("charts", "Charts"));
    if has_comparison {
        v.push(("comparison", "Comparison"));
    }
    v.push(("points", "Points"));
    if extra {
        v.push(("workload-metrics", "Workload metrics"));
    }
    if farm {
        v.push(("task-farm", "Task farm"));
    }
    v.extend([
        ("fits", "Fits"),
        ("stragglers", "Stragglers"),
        ("failed", "Failed runs"),
        ("runs", "Runs"),
        ("provenance", "Provenance"),
    ]);
    v
}

/// Parameters every point shares, `(name, value)` (defaults included where the workload
/// records them, e.g. fractal-rf's `engine` and `eval_fraction`); those that differ are a
/// column of the tables instead.
fn common_params(a: &Analysis) -> Vec<(String, String)> {
    a.points.first().map_or_else(Vec::new, |first| {
        first
            .point
            .params
            .iter()
            .filter(|(k, v)| {
                !a.varying_params.contains(k)
                    && a.points.iter().all(|p| p.point.params.get(*k) == Some(*v))
            })
            .map(|(k, v)| (k.clone(), crate::analysis::param_text(v)))
            .collect()
    })
}

/// The studies a page shows, for its title: `fixture` or `a + b`.
fn studies(records: &[RunRecord]) -> String {
    let mut names: Vec<&str> = records.iter().map(|r| r.study.as_str()).collect();
    names.dedup();
    names.sort_unstable();
    names.dedup();
    names.join(" + ")
}

fn subtitle(records: &[RunRecord], a: &Analysis) -> String {
    let ok = records.iter().filter(|r| r.status == RunStatus::Ok).count();
    let mut workloads: Vec<&str> = records.iter().map(|r| r.workload.as_str()).collect();
    workloads.sort_unstable();
    workloads.dedup();
    format!(
        "Workload {} · {} points · {} runs, {} ok · {} · host {}",
        workloads.join(", "),
        a.points.len(),
        records.len(),
        ok,
        records
            .iter()
            .map(|r| r.finished_at)
            .max()
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        records[0].provenance.host
    )
}

/// The HTML page of one study (or of several overlaid), its comparison with a baseline when
/// `comparison` holds the changes and their charts, and for overlaid studies the side-by-side
/// table of every other study against the first (`side_by_side`, [`crate::versus::versus`]).
///
/// # Errors
/// [`ReportError::Template`] if a template fails to render.
pub fn study_page(
    records: &[RunRecord],
    a: &Analysis,
    findings: &Findings,
    charts: &[Chart],
    comparison: Option<(&[Change], &[Chart])>,
    side_by_side: &[Versus],
) -> Result<String, ReportError> {
    let (extra, farm) = (extra_table(a), farm_table(a));
    let order = crate::versus::studies_in_order(records);
    let overlaid = order.len() > 1;
    let failed = failed_table(records);
    let ctx = context! {
        title => studies(records),
        subtitle => subtitle(records, a),
        params => common_params(a),
        toc => toc(overlaid, comparison.is_some(), extra.is_some(), farm.is_some()),
        side_by_side => overlaid.then(|| context! {
            first => order[0].clone(),
            studies => studies_table(records),
            table => versus_table(side_by_side),
        }),
        findings => findings.sentences(),
        charts => views(charts),
        comparison => comparison.map(|(c, ch)| context! { charts => views(ch), table => comparison_table(c, a) }),
        summary => summary_table(a),
        extra => extra,
        farm => farm,
        fits => fits_table(a),
        stragglers => stragglers_table(a),
        failed => failed,
        runs => runs_table(records, a),
        provenance => provenance_table(records),
        records => records.len(),
        schema => records[0].schema_version,
    };
    render("study.html", ctx)
}

/// Metadata of a study for the index: name, workload, grid, counts, date, headline numbers.
pub fn meta(records: &[RunRecord], a: &Analysis) -> serde_json::Value {
    let first = &records[0];
    let mut ex: Vec<u32> = a.points.iter().map(|p| p.point.executors).collect();
    ex.sort_unstable();
    ex.dedup();
    let mut fr: Vec<f64> = a.points.iter().map(|p| p.point.fraction).collect();
    fr.sort_by(f64::total_cmp);
    fr.dedup();
    let best = a
        .points
        .iter()
        .filter_map(|p| {
            p.scaling_train
                .map(|s| (s.speedup, s.efficiency, p.point.executors, p.point.fraction))
        })
        .max_by(|x, y| x.0.total_cmp(&y.0));
    let amdahl = a.fits.iter().rev().find_map(|f| {
        f.amdahl_train
            .as_ref()
            .map(|m| (f.label.clone(), m.serial_fraction))
    });
    let last = records
        .iter()
        .map(|r| r.finished_at)
        .max()
        .unwrap_or(first.finished_at);
    json!({
        "study": studies(records),
        "workload": first.workload,
        "runs": records.len(),
        "ok": records.iter().filter(|r| r.status == RunStatus::Ok).count(),
        "executors": ex,
        "fractions": fr,
        "last_run": last.to_rfc3339(),
        "best_speedup": best.map(|b| json!({"speedup": b.0, "efficiency": b.1, "executors": b.2, "fraction": b.3})),
        "amdahl": amdahl.map(|(l, s)| json!({"series": l, "serial_fraction": s})),
    })
}

/// The index of studies: one row per `meta.json` found, linking `<dir>/index.html`.
///
/// # Errors
/// [`ReportError::Template`] if the template fails to render.
pub fn index_page(metas: &[(String, serde_json::Value)]) -> Result<String, ReportError> {
    let cols = [
        ("study", true),
        ("workload", true),
        ("last run", true),
        ("executors", true),
        ("fractions", true),
        ("runs ok", false),
        ("best speedup", true),
        ("Amdahl serial fraction", true),
    ];
    let mut t = Table::new("studies", &cols);
    t.empty = "No study yet: run `harness profile local` or `harness run`.".into();
    let list = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    for (dir, m) in metas {
        let best = m["best_speedup"].as_object().map_or(String::new(), |b| {
            format!(
                "{:.2}× (efficiency {:.2}) at {} executors, fraction {}",
                b["speedup"].as_f64().unwrap_or(0.0),
                b["efficiency"].as_f64().unwrap_or(0.0),
                b["executors"],
                b["fraction"]
            )
        });
        let amdahl = m["amdahl"].as_object().map_or(String::new(), |a| {
            format!(
                "{:.3} ({})",
                a["serial_fraction"].as_f64().unwrap_or(0.0),
                a["series"].as_str().unwrap_or("")
            )
        });
        let mut study = Cell::text(m["study"].as_str().unwrap_or(dir));
        // Inserted unescaped by the template: escaped here (our `esc` keeps `/` readable).
        study.href = Some(esc(&format!("{dir}/index.html")));
        t.push(
            vec![
                study,
                Cell::text(m["workload"].as_str().unwrap_or("?")),
                Cell::text(m["last_run"].as_str().unwrap_or("")),
                Cell::text(list(&m["executors"])),
                Cell::text(list(&m["fractions"])),
                Cell::num(m["ok"].as_f64(), |v| format!("{v:.0}"))
                    .under(format!("of {}", m["runs"])),
                Cell::text(best),
                Cell::text(amdahl),
            ],
            false,
        );
    }
    render("index.html", context! { studies => t })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_links_each_study_and_escapes_names() {
        let m = json!({"study": "a<b", "workload": "wine", "runs": 3, "ok": 2, "executors": [1, 2], "fractions": [1.0], "last_run": "2026-12-03"});
        let page = index_page(&[("a<b".into(), m)]).unwrap();
        assert!(page.contains("a&lt;b"), "escaped by default");
        assert!(!page.contains("<td class=\"l\">a<b"));
        assert!(
            page.contains("href=\"a&lt;b/index.html\">a&lt;b</a>"),
            "{page}"
        );
        assert!(page.contains("<script>") && page.contains("table.sortable"));
        let empty = index_page(&[]).unwrap();
        assert!(empty.contains("No study yet"));
    }
}
