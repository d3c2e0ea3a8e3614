//! The study page and the index of studies: static HTML, inline SVG, no script, no external
//! resource. Readable at 1280 px.

use std::fmt::Write;

use harness_core::fit::{AmdahlFit, UslFit};
use harness_core::stats::Outlier;
use harness_core::units::format_bytes;
use harness_core::{Point, RunRecord, RunStatus};
use serde_json::json;

use crate::analysis::{param_text, params_label, Analysis, Change, Dist, Verdict};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1240px;color:#222;padding:0 16px}\
table{border-collapse:collapse;margin:8px 0 24px;font-size:12px}th,td{border:1px solid #ccc;padding:3px 5px;text-align:right}\
th{background:#f2f2f2}td.l,th.l{text-align:left}tr.bad td{background:#fde8e8}span.bad{color:#b00020;font-weight:600}\
span.ok{color:#1b7f3b}span.mild{color:#a15c00}span.severe{color:#b00020}figure{margin:0}.charts{display:grid;grid-template-columns:1fr 1fr;gap:14px}\
.charts svg{width:100%;height:auto}figcaption{font-size:12px;color:#555}small{color:#666}\
figure.wide{grid-column:1/-1}div.scroll{overflow-x:auto;max-width:100%}code{background:#f5f5f5;padding:1px 4px}footer{color:#777;font-size:12px;margin-top:32px}p.note{color:#555;font-size:13px;max-width:1000px}";

/// The `parameters` header cell of a per-point table: empty when no parameter varies over the
/// study, so single-series studies keep their narrower tables.
fn params_th(a: &Analysis) -> &'static str {
    if a.varying_params.is_empty() {
        ""
    } else {
        "<th class=\"l\">parameters</th>"
    }
}

/// The point's varying parameters (`engine=xgboost`) as the first cell of its row; empty when
/// no parameter varies. Keeps rows of different series apart in every per-point table.
fn params_td(a: &Analysis, point: &Point) -> String {
    if a.varying_params.is_empty() {
        String::new()
    } else {
        format!(
            "<td class=\"l\">{}</td>",
            esc(&params_label(point, &a.varying_params))
        )
    }
}

/// Workload-specific metrics (`metrics.extra`, e.g. the wine search's `trials_per_sec` and
/// `slot_utilisation`): medians over ok runs per point; empty when no run has any.
fn extra_table(a: &Analysis) -> String {
    let mut keys: Vec<&String> = a.points.iter().flat_map(|p| p.extra.keys()).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return String::new();
    }
    let mut h = String::from("<h3 id=\"workload-metrics\">Workload metrics</h3><p class=\"note\">Medians over ok runs of the metrics the workload reports besides times and accuracy.</p><div class=\"scroll\"><table id=\"workload-metrics-table\"><tr>");
    h.push_str(params_th(a));
    h.push_str("<th>executors</th><th>cores</th><th>memory</th><th>fraction</th>");
    for k in &keys {
        let _ = write!(h, "<th>{}</th>", esc(k));
    }
    h.push_str("</tr>");
    for p in &a.points {
        let _ = write!(
            h,
            "<tr>{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            params_td(a, &p.point),
            p.point.executors,
            p.point.cores,
            format_bytes(p.point.memory_bytes),
            p.point.fraction
        );
        for k in &keys {
            let _ = write!(h, "<td>{}</td>", opt(p.extra.get(*k).copied(), 4));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></div>");
    h
}

/// Task-parallel studies: tasks, slots, throughput and slot utilisation per point, with the
/// throughput's speedup and efficiency against the smallest executor count of the series;
/// empty when no record has farm data.
fn farm_table(a: &Analysis) -> String {
    if a.points.iter().all(|p| p.throughput.is_none()) {
        return String::new();
    }
    let mut h = String::from("<h3 id=\"task-farm\">Task farm</h3><p class=\"note\">Task-parallel runs: tasks per second of the farm's wall time and the busy share of all slots (Σ task seconds / (slots × wall seconds)), median over ok runs with the 95 % bootstrap interval and min–max. Throughput speedup and efficiency are against the smallest executor count of the same series. The task timelines below show where every task ran.</p><table id=\"farm-table\"><tr>{params_th}<th>executors</th><th>cores</th><th>memory</th><th>fraction</th><th>tasks</th><th>slots</th><th>tasks/s<br><small>[95 % CI]<br>min–max</small></th><th>utilisation<br><small>[95 % CI]<br>min–max</small></th><th>throughput speedup</th><th>efficiency</th></tr>".replace("{params_th}", params_th(a)).as_str());
    for p in a.points.iter().filter(|p| p.throughput.is_some()) {
        let base = a
            .points
            .iter()
            .filter(|b| {
                b.throughput.is_some()
                    && b.point.cores == p.point.cores
                    && b.point.memory_bytes == p.point.memory_bytes
                    && (b.point.fraction - p.point.fraction).abs() < 1e-12
                    && b.point.params == p.point.params
            })
            .min_by_key(|b| b.point.executors);
        let (speedup, efficiency) = match (base, &p.throughput) {
            (Some(b), Some(t)) => {
                let s = t.median / b.throughput.as_ref().expect("filtered").median;
                let n = f64::from(p.point.executors) / f64::from(b.point.executors);
                (Some(s), Some(s / n))
            }
            _ => (None, None),
        };
        let _ = write!(
            h,
            "<tr>{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}{}<td>{}</td><td>{}</td></tr>",
            params_td(a, &p.point),
            p.point.executors,
            p.point.cores,
            format_bytes(p.point.memory_bytes),
            p.point.fraction,
            opt(p.tasks, 0),
            opt(p.slots, 0),
            dist_cells(p.throughput.as_ref()),
            dist_cells(p.utilisation.as_ref()),
            opt(speedup, 2),
            opt(efficiency, 2),
        );
    }
    h.push_str("</table>");
    h
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

fn ci(c: Option<(f64, f64)>, digits: usize) -> String {
    c.map_or_else(
        || "–".into(),
        |(a, b)| format!("{a:.digits$} … {b:.digits$}"),
    )
}

fn dist_cells(d: Option<&Dist>) -> String {
    match d {
        Some(d) => format!(
            "<td>{:.3}<br><small>[{:.3} … {:.3}]<br>{:.3}–{:.3}</small></td>",
            d.median, d.ci.0, d.ci.1, d.min, d.max
        ),
        None => "<td>–</td>".into(),
    }
}

fn outlier_text(d: Option<&Dist>) -> String {
    let Some(d) = d else { return "–".into() };
    let mild = d.outliers.iter().filter(|o| o.1 == Outlier::Mild).count();
    let severe = d.outliers.iter().filter(|o| o.1 == Outlier::Severe).count();
    match (mild, severe) {
        (0, 0) => "0".into(),
        _ => format!(
            "<span class=\"mild\">{mild} mild</span> <span class=\"severe\">{severe} severe</span>"
        ),
    }
}

/// " (attempt N)" after a run id for retries; empty for the first attempt.
fn attempt_text(attempt: u32) -> String {
    if attempt == 0 {
        String::new()
    } else {
        format!(" <small>(attempt {})</small>", attempt + 1)
    }
}

/// Metadata of a study for the index: name, workload, grid, counts, date, headline numbers.
pub fn meta(records: &[RunRecord], a: &Analysis) -> serde_json::Value {
    let first = &records[0];
    let uniq = |f: &dyn Fn(&RunRecord) -> String| {
        let mut v: Vec<String> = records.iter().map(f).collect();
        v.sort();
        v.dedup();
        v
    };
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
        "study": first.study,
        "workload": first.workload,
        "runs": records.len(),
        "ok": records.iter().filter(|r| r.status == RunStatus::Ok).count(),
        "executors": ex,
        "cores": uniq(&|r| r.point.cores.to_string()),
        "memory": uniq(&|r| format_bytes(r.point.memory_bytes)),
        "fractions": fr,
        "last_run": last.to_rfc3339(),
        "best_speedup": best.map(|b| json!({"speedup": b.0, "efficiency": b.1, "executors": b.2, "fraction": b.3})),
        "amdahl": amdahl.map(|(l, s)| json!({"series": l, "serial_fraction": s})),
    })
}

fn amdahl_cells(m: Option<&AmdahlFit>) -> String {
    match m {
        Some(m) => format!(
            "<td>{:.4}</td><td>{}</td><td>{:.2}</td><td>{:.1} %</td>",
            m.serial_fraction,
            ci(m.serial_fraction_ci, 4),
            m.t1,
            m.rms_relative_error * 100.0
        ),
        None => "<td colspan=\"4\" class=\"l\">needs ≥ 2 executor counts</td>".into(),
    }
}

fn usl_cells(m: Option<&UslFit>) -> String {
    match m {
        Some(m) => format!(
            "<td>{:.4}</td><td>{}</td><td>{:.5}</td><td>{}</td><td>{}</td><td>{:.1} %</td>",
            m.sigma,
            ci(m.sigma_ci, 4),
            m.kappa,
            ci(m.kappa_ci, 5),
            opt(m.peak_executors, 1),
            m.rms_relative_error * 100.0
        ),
        None => "<td colspan=\"6\" class=\"l\">needs ≥ 3 executor counts</td>".into(),
    }
}

/// The HTML page of one study.
pub fn study_page(
    records: &[RunRecord],
    a: &Analysis,
    charts: &[crate::figures::Chart],
    changes: Option<&[Change]>,
) -> String {
    let first = &records[0];
    let ok = records.iter().filter(|r| r.status == RunStatus::Ok).count();
    let not_enforced = records
        .iter()
        .filter(|r| r.status == RunStatus::Ok && !r.all_enforced())
        .count();
    let over = records.iter().filter(|r| r.oversubscribed).count();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{study} — scaling report</title><style>{STYLE}</style></head><body>\
         <h1>Scaling study <code>{study}</code></h1>\
         <p>Workload <b>{wl}</b> · {n} runs ({ok} ok, {bad} not ok) · {p} points · \
         {ne} ok runs without enforced limits · {over} oversubscribed runs · \
         exports: <a href=\"summary.csv\">summary.csv</a>, <a href=\"summary.md\">summary.md</a></p>",
        study = esc(&first.study),
        wl = esc(&first.workload),
        n = records.len(),
        bad = records.len() - ok,
        p = a.points.len(),
        ne = not_enforced,
    );
    // Parameters every point shares (defaults included where the workload records them, e.g.
    // fractal-rf's `engine` and `eval_fraction`); those that differ get a column.
    if let Some(first) = a.points.first() {
        let common: Vec<String> = first
            .point
            .params
            .iter()
            .filter(|(k, _)| !a.varying_params.contains(k))
            .map(|(k, v)| format!("<code>{}</code> = {}", esc(k), esc(&param_text(v))))
            .collect();
        if !common.is_empty() {
            let _ = write!(h, "<p id=\"params\">Parameters: {}</p>", common.join(" · "));
        }
    }

    h.push_str("<h2 id=\"summary\">Summary per point</h2><p class=\"note\">Times in seconds over the ok repetitions: median, 95 % bootstrap interval of the median, min–max. Speedup, efficiency and Karp–Flatt are of the median training time against the smallest executor count of the same series; “vs cores” against the smallest executors × cores at the same memory and fraction. Outliers are Tukey-fence classes of training time, shown, never dropped. Start-up is reported apart so a fixed launch cost is not mistaken for serial work.</p>\
        <table id=\"summary-table\"><tr>{params_th}<th>executors</th><th>cores</th><th>memory</th><th>fraction</th><th>ok/runs</th><th>training median<br><small>[95 % CI]<br>min–max</small></th><th class=\"l\">outliers</th><th>total median<br><small>[95 % CI]<br>min–max</small></th><th>startup median</th><th>speedup</th><th>efficiency</th><th>Karp–Flatt</th><th>speedup (total)</th><th>efficiency (total)</th><th>speedup vs cores</th><th>val acc</th><th>test acc</th><th>ROC AUC</th><th>RMSE</th><th>MAE</th><th class=\"l\">limits</th></tr>".replace("{params_th}", params_th(a)).as_str());
    for p in &a.points {
        let limits = match (p.all_enforced, p.oversubscribed) {
            (true, false) => "<span class=\"ok\">enforced</span>".to_string(),
            (true, true) => "<span class=\"bad\">enforced, oversubscribed</span>".to_string(),
            (false, o) => format!(
                "<span class=\"bad\">NOT enforced{}</span>",
                if o { ", oversubscribed" } else { "" }
            ),
        };
        let _ = write!(
            h,
            "<tr{}>{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td>{}<td class=\"l\">{}</td>{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{limits}</td></tr>",
            if p.all_enforced && !p.oversubscribed { "" } else { " class=\"bad\"" },
            params_td(a, &p.point),
            p.point.executors,
            p.point.cores,
            format_bytes(p.point.memory_bytes),
            p.point.fraction,
            p.ok,
            p.runs,
            dist_cells(p.train.as_ref()),
            outlier_text(p.train.as_ref()),
            dist_cells(p.total.as_ref()),
            opt(p.startup.as_ref().map(|d| d.median), 3),
            opt(p.scaling_train.map(|s| s.speedup), 2),
            opt(p.scaling_train.map(|s| s.efficiency), 2),
            opt(p.scaling_train.and_then(|s| s.karp_flatt), 3),
            opt(p.scaling_total.map(|s| s.speedup), 2),
            opt(p.scaling_total.map(|s| s.efficiency), 2),
            opt(p.scaling_cores.map(|s| s.speedup), 2),
            opt(p.val_accuracy, 4),
            opt(p.test_accuracy, 4),
            opt(p.auc, 4),
            opt(p.rmse, 4),
            opt(p.mae, 4),
        );
    }
    h.push_str("</table>");
    h.push_str(&extra_table(a));
    h.push_str(&farm_table(a));

    h.push_str("<h2 id=\"fits\">Scaling-law fits</h2><p class=\"note\">Amdahl T(p) = T1·(s + (1 − s)/p) and USL T(p) = T1·(1 + σ(p − 1) + κp(p − 1))/p fitted to every ok run by Levenberg–Marquardt on relative residuals; intervals are 95 % bootstrap over runs. Peak executors √((1 − σ)/κ) when κ &gt; 0. Failed runs are excluded.</p>\
        <table id=\"fits-table\"><tr><th class=\"l\">series</th><th class=\"l\">time</th><th>Amdahl s</th><th>s 95 % CI</th><th>T1 (s)</th><th>rms error</th><th>USL σ</th><th>σ 95 % CI</th><th>USL κ</th><th>κ 95 % CI</th><th>peak executors</th><th>rms error</th></tr>");
    for f in &a.fits {
        for (what, am, usl) in [
            ("training", f.amdahl_train.as_ref(), f.usl_train.as_ref()),
            ("total", f.amdahl_total.as_ref(), f.usl_total.as_ref()),
        ] {
            let _ = write!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{what}</td>{}{}</tr>",
                esc(&f.label),
                amdahl_cells(am),
                usl_cells(usl)
            );
        }
    }
    h.push_str("</table>");

    h.push_str("<h2 id=\"charts\">Charts</h2><div class=\"charts\">");
    for (id, title, svg) in charts {
        // Task timelines are read left to right over the whole run: full width.
        let class = if id.starts_with("gantt-") {
            " class=\"wide\""
        } else {
            ""
        };
        let _ = write!(
            h,
            "<figure id=\"chart-{id}\"{class}>{svg}<figcaption>{} — <a href=\"{id}.svg\">{id}.svg</a></figcaption></figure>",
            esc(title)
        );
    }
    h.push_str("</div>");

    h.push_str("<h2 id=\"stragglers\">Stragglers</h2><p class=\"note\">Per executor of the median run of each multi-executor point: load; training split into compute, communication inside training (collectives, LightGBM\u{2019}s network) and waiting for the slowest executor at the phase\u{2019}s closing barrier; evaluation. Run-queue wait is the time the executor\u{2019}s threads were runnable but had no CPU during training, read from the kernel (<code>/proc/self/task/*/schedstat</code>; it includes waits behind the executor\u{2019}s own threads); <em>contended</em> means other processes got more than 5 % of the executor\u{2019}s core-seconds on its CPUs (<code>/proc/stat</code>), or CFS throttling did, and more than 0.1 s per core. The straggler ratio is max / median of executor busy time (load + compute + eval); 1.00 is perfectly balanced.</p><table id=\"stragglers-table\"><tr><th class=\"l\">run</th><th>rank</th><th>load</th><th>compute</th><th>train comm</th><th>waiting</th><th>eval</th><th>run-queue wait</th><th>straggler ratio</th></tr>");
    for s in &a.stragglers {
        for p in &s.phases {
            let rq = match p.run_queue_wait {
                Some(w) if p.contended => format!("<span class=\"bad\">{w:.3} contended</span>"),
                Some(w) => format!("{w:.3}"),
                None => "\u{2014}".to_string(),
            };
            let _ = write!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{rq}</td><td>{:.2}</td></tr>",
                esc(&s.run_id),
                p.rank,
                p.load,
                p.compute,
                p.comm,
                p.wait,
                p.eval,
                s.ratio
            );
        }
    }
    h.push_str("</table>");

    if let Some(changes) = changes {
        h.push_str("<h2 id=\"comparison\">Comparison with the baseline</h2><p class=\"note\">Change of the median training time per common point with its 95 % bootstrap interval; faster or slower only when the interval excludes zero and the change exceeds 2 %.</p><table id=\"comparison-table\"><tr><th>executors</th><th>cores</th><th>memory</th><th>fraction</th><th>baseline median (s)</th><th>median (s)</th><th>change</th><th>95 % CI</th><th class=\"l\">verdict</th></tr>");
        for c in changes {
            let class = match c.verdict {
                Verdict::Faster => "ok",
                Verdict::Slower => "bad",
                Verdict::WithinNoise => "",
            };
            let cells = crate::export::change_cells(c);
            h.push_str("<tr>");
            for cell in &cells[..8] {
                let _ = write!(h, "<td>{}</td>", esc(cell));
            }
            let _ = write!(
                h,
                "<td class=\"l\"><span class=\"{class}\">{}</span></td></tr>",
                cells[8]
            );
        }
        if changes.is_empty() {
            h.push_str(
                "<tr><td colspan=\"9\" class=\"l\">no point in common with the baseline</td></tr>",
            );
        }
        h.push_str("</table>");
    }

    let failed: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.status != RunStatus::Ok)
        .collect();
    let _ = write!(
        h,
        "<h2 id=\"failed\">Runs that did not finish ok ({})</h2>",
        failed.len()
    );
    if failed.is_empty() {
        h.push_str("<p class=\"note\">None.</p>");
    } else {
        h.push_str("<table id=\"failed-table\"><tr><th class=\"l\">run</th><th class=\"l\">status</th><th class=\"l\">error</th></tr>");
        for r in &failed {
            let _ = write!(
                h,
                "<tr class=\"bad\"><td class=\"l\">{}{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                esc(&r.run_id),
                attempt_text(r.attempt),
                format!("{:?}", r.status).to_lowercase(),
                esc(r.error.as_deref().unwrap_or("")).replace('\n', "<br>")
            );
        }
        h.push_str("</table>");
    }

    h.push_str("<h2 id=\"runs\">Runs</h2><table id=\"runs-table\"><tr><th class=\"l\">run</th><th class=\"l\">status</th><th>total (s)</th><th>startup (s)</th><th>load (s)</th><th>training (s)</th><th>eval (s)</th><th>comm (s)</th><th>train rows</th><th>val acc</th><th>test acc</th><th>ROC AUC</th><th>RMSE</th><th>MAE</th><th class=\"l\">outlier</th><th class=\"l\">executors: CPUs measured/requested [cpuset] · memory limit · parallelism · training run-queue wait</th></tr>");
    for r in records {
        let bad = r.status != RunStatus::Ok || !r.all_enforced() || r.oversubscribed;
        let outlier = a
            .points
            .iter()
            .find(|p| p.point.same_as(&r.point))
            .and_then(|p| p.train.as_ref())
            .and_then(|d| d.outliers.iter().find(|o| o.0 == r.run_id))
            .map_or("", |o| {
                if o.1 == Outlier::Severe {
                    "<span class=\"severe\">severe</span>"
                } else {
                    "<span class=\"mild\">mild</span>"
                }
            });
        let execs: Vec<String> = r
            .executor_reports
            .iter()
            .map(|e| {
                let mut text = format!(
                    "r{}: {}/{} [{}] · {} · ×{:.2}",
                    e.rank,
                    e.cores_measured,
                    e.cores_requested,
                    esc(&e.cpuset),
                    e.memory_limit_bytes
                        .map_or("unlimited".into(), format_bytes),
                    e.effective_parallelism
                );
                if let Some(k) = e.kernel.as_ref().map(|k| &k.train) {
                    let _ = write!(
                        text,
                        " · run-queue wait {:.1} %{}",
                        k.wait_share(e.cores_requested) * 100.0,
                        if k.contended { " contended" } else { "" }
                    );
                }
                if let Some(stage) = &e.stage {
                    let _ = write!(text, " · stopped in {}", esc(stage));
                }
                if e.enforced {
                    text
                } else {
                    format!(
                        "<span class=\"bad\" title=\"{}\">{text} NOT enforced</span>",
                        esc(e.enforcement_note.as_deref().unwrap_or(""))
                    )
                }
            })
            .collect();
        let t = &r.times;
        let _ = write!(
            h,
            "<tr{}><td class=\"l\">{}{}</td><td class=\"l\">{}{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{outlier}</td><td class=\"l\">{}</td></tr>",
            if bad { " class=\"bad\"" } else { "" },
            esc(&r.run_id),
            attempt_text(r.attempt),
            format!("{:?}", r.status).to_lowercase(),
            if r.oversubscribed { " (oversubscribed)" } else { "" },
            t.total_time_sec,
            opt(t.startup_sec, 3),
            opt(t.load_sec, 3),
            opt(t.training_time_sec, 3),
            opt(t.eval_sec, 3),
            opt(t.comm_sec, 3),
            r.data.rows.train,
            opt(r.metrics.val_accuracy, 4),
            opt(r.metrics.test_accuracy, 4),
            opt(r.metrics.auc, 4),
            opt(r.metrics.rmse, 4),
            opt(r.metrics.mae, 4),
            execs.join("<br>"),
        );
    }
    h.push_str("</table>");

    let pv = &first.provenance;
    let _ = write!(
        h,
        "<h2 id=\"provenance\">Provenance</h2><table id=\"provenance-table\"><tr><th class=\"l\">harness</th><td class=\"l\">{} {}</td></tr>\
         <tr><th class=\"l\">host</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">CPU</th><td class=\"l\">{} ({} logical CPUs)</td></tr>\
         <tr><th class=\"l\">memory</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">kernel</th><td class=\"l\">{}</td></tr>\
         <tr><th class=\"l\">MPI</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">LightGBM</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">XGBoost</th><td class=\"l\">{}</td></tr>\
         <tr><th class=\"l\">nix store path</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">runs</th><td class=\"l\">{} … {}</td></tr></table>\
         <footer>Rendered from {} records of <code>runs.jsonl</code> (schema v{}) by <code>harness report</code>.</footer></body></html>",
        esc(&pv.harness_version),
        esc(pv.git_rev.as_deref().unwrap_or("")),
        esc(&pv.host),
        esc(&pv.cpu_model),
        pv.logical_cpus,
        format_bytes(pv.memory_bytes),
        esc(&pv.kernel),
        esc(&pv.mpi_version),
        esc(&pv.lightgbm_version),
        esc(pv.xgboost_version.as_deref().unwrap_or("–")),
        esc(pv.nix_store_path.as_deref().unwrap_or("–")),
        records.iter().map(|r| r.started_at).min().map(|d| d.to_rfc3339()).unwrap_or_default(),
        records.iter().map(|r| r.finished_at).max().map(|d| d.to_rfc3339()).unwrap_or_default(),
        records.len(),
        first.schema_version,
    );
    h.push('\n');
    h
}

/// The index of studies.
pub fn index_page(metas: &[serde_json::Value]) -> String {
    let mut h = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Scaling studies</title><style>{STYLE}</style></head><body>\
         <h1>Scaling studies</h1><table id=\"studies\"><tr><th class=\"l\">study</th><th class=\"l\">workload</th><th class=\"l\">last run</th><th class=\"l\">grid: executors × cores × memory × fractions</th><th>runs ok</th><th class=\"l\">best speedup</th><th class=\"l\">Amdahl serial fraction</th></tr>"
    );
    for m in metas {
        let study = m["study"].as_str().unwrap_or("?");
        let best = m["best_speedup"]
            .as_object()
            .map(|b| {
                format!(
                    "{:.2}× (efficiency {:.2}) at {} executors, fraction {}",
                    b["speedup"].as_f64().unwrap_or(0.0),
                    b["efficiency"].as_f64().unwrap_or(0.0),
                    b["executors"],
                    b["fraction"]
                )
            })
            .unwrap_or_else(|| "–".into());
        let amdahl = m["amdahl"]
            .as_object()
            .map(|a| {
                format!(
                    "{:.3} ({})",
                    a["serial_fraction"].as_f64().unwrap_or(0.0),
                    esc(a["series"].as_str().unwrap_or(""))
                )
            })
            .unwrap_or_else(|| "–".into());
        let list = |k: &str| {
            m[k].as_array()
                .map(|v| {
                    v.iter()
                        .map(|x| x.to_string().trim_matches('"').to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        let _ = write!(
            h,
            "<tr><td class=\"l\"><a href=\"{s}/index.html\">{s}</a></td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{{{}}} × {{{}}} × {{{}}} × {{{}}}</td><td>{}/{}</td><td class=\"l\">{best}</td><td class=\"l\">{amdahl}</td></tr>",
            esc(m["workload"].as_str().unwrap_or("?")),
            esc(m["last_run"].as_str().unwrap_or("")),
            list("executors"),
            list("cores"),
            esc(&list("memory")),
            list("fractions"),
            m["ok"],
            m["runs"],
            s = esc(study),
        );
    }
    h.push_str("</table></body></html>\n");
    h
}
