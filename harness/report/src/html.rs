//! The study page and the index of studies: static HTML, inline SVG, no script, no network.

use std::fmt::Write;

use harness_core::units::format_bytes;
use harness_core::{RunRecord, RunStatus};
use serde_json::json;

use crate::summary::PointSummary;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1220px;color:#222;padding:0 16px}\
table{border-collapse:collapse;margin:8px 0 24px;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}\
th{background:#f2f2f2}td.l,th.l{text-align:left}tr.bad td{background:#fde8e8}span.bad{color:#b00020;font-weight:600}\
span.ok{color:#1b7f3b}figure{margin:8px 0;display:inline-block}.charts svg{max-width:100%;height:auto}\
code{background:#f5f5f5;padding:1px 4px}footer{color:#777;font-size:12px;margin-top:32px}";

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

/// Metadata of a study for the index: name, workload, grid, counts and headline numbers.
pub fn meta(records: &[RunRecord], points: &[PointSummary]) -> serde_json::Value {
    let first = &records[0];
    let mut ex: Vec<u32> = points.iter().map(|p| p.point.executors).collect();
    ex.sort_unstable();
    ex.dedup();
    let mut fr: Vec<f64> = points.iter().map(|p| p.point.fraction).collect();
    fr.sort_by(f64::total_cmp);
    fr.dedup();
    let best = points
        .iter()
        .filter_map(|p| {
            p.speedup
                .map(|s| (s.0, p.point.executors, p.point.fraction))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
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
        "fractions": fr,
        "last_run": last.to_rfc3339(),
        "best_speedup": best.map(|b| json!({"speedup": b.0, "executors": b.1, "fraction": b.2})),
    })
}

/// The HTML page of one study.
pub fn study_page(
    records: &[RunRecord],
    points: &[PointSummary],
    charts: &[(&str, String)],
) -> String {
    let first = &records[0];
    let ok = records.iter().filter(|r| r.status == RunStatus::Ok).count();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{study} — scaling report</title>\
         <style>{STYLE}</style></head><body><h1>Scaling study <code>{study}</code></h1>\
         <p>Workload <b>{wl}</b> · {n} runs ({ok} ok, {bad} not ok) · {p} points</p>",
        study = esc(&first.study),
        wl = esc(&first.workload),
        n = records.len(),
        bad = records.len() - ok,
        p = points.len()
    );

    h.push_str("<h2 id=\"summary\">Summary per point</h2><table id=\"summary-table\"><tr><th>executors</th><th>cores</th><th>memory</th><th>fraction</th><th>runs ok</th><th>training time median (s)</th><th>min–max (s)</th><th>total median (s)</th><th>speedup</th><th>efficiency</th><th>val acc</th><th>test acc</th><th class=\"l\">limits</th></tr>");
    for p in points {
        let (med, range) = match p.train {
            Some((m, lo, hi)) => (format!("{m:.3}"), format!("{lo:.3}–{hi:.3}")),
            None => ("–".into(), "–".into()),
        };
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
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{med}</td><td>{range}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{limits}</td></tr>",
            p.point.executors,
            p.point.cores,
            format_bytes(p.point.memory_bytes),
            p.point.fraction,
            p.ok,
            p.runs,
            opt(p.total, 3),
            opt(p.speedup.map(|s| s.0), 2),
            opt(p.speedup.map(|s| s.1), 2),
            opt(p.val_accuracy, 4),
            opt(p.test_accuracy, 4),
        );
    }
    h.push_str("</table>");

    h.push_str("<h2 id=\"charts\">Charts</h2><div class=\"charts\">");
    for (name, svg) in charts {
        let id = name.trim_end_matches(".svg");
        let _ = write!(h, "<figure id=\"chart-{id}\">{svg}</figure>");
    }
    h.push_str("</div>");

    h.push_str("<h2 id=\"runs\">Runs</h2><table id=\"runs-table\"><tr><th class=\"l\">run</th><th class=\"l\">status</th><th>total (s)</th><th>startup (s)</th><th>load (s)</th><th>training (s)</th><th>eval (s)</th><th>comm (s)</th><th>train rows</th><th>val acc</th><th>test acc</th><th class=\"l\">executors: cores measured / memory limit / parallelism</th><th class=\"l\">error</th></tr>");
    for r in records {
        let bad = r.status != RunStatus::Ok || !r.all_enforced() || r.oversubscribed;
        let execs: Vec<String> = r
            .executor_reports
            .iter()
            .map(|e| {
                let text = format!(
                    "r{}: {}/{} cpus [{}] · {} · ×{:.2}",
                    e.rank,
                    e.cores_measured,
                    e.cores_requested,
                    esc(&e.cpuset),
                    e.memory_limit_bytes
                        .map_or("unlimited".into(), format_bytes),
                    e.effective_parallelism
                );
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
            "<tr{}><td class=\"l\">{}</td><td class=\"l\">{}{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            if bad { " class=\"bad\"" } else { "" },
            esc(&r.run_id),
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
            execs.join("<br>"),
            esc(r.error.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</table>");

    let pv = &first.provenance;
    let _ = write!(
        h,
        "<h2 id=\"provenance\">Provenance</h2><table><tr><th class=\"l\">harness</th><td class=\"l\">{} {}</td></tr>\
         <tr><th class=\"l\">host</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">CPU</th><td class=\"l\">{} ({} logical CPUs)</td></tr>\
         <tr><th class=\"l\">memory</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">kernel</th><td class=\"l\">{}</td></tr>\
         <tr><th class=\"l\">MPI</th><td class=\"l\">{}</td></tr><tr><th class=\"l\">LightGBM</th><td class=\"l\">{}</td></tr>\
         <tr><th class=\"l\">nix store path</th><td class=\"l\">{}</td></tr></table>\
         <footer>Rendered from {} records of <code>runs.jsonl</code> (schema v{}).</footer></body></html>",
        esc(&pv.harness_version),
        esc(pv.git_rev.as_deref().unwrap_or("")),
        esc(&pv.host),
        esc(&pv.cpu_model),
        pv.logical_cpus,
        format_bytes(pv.memory_bytes),
        esc(&pv.kernel),
        esc(&pv.mpi_version),
        esc(&pv.lightgbm_version),
        esc(pv.nix_store_path.as_deref().unwrap_or("–")),
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
         <h1>Scaling studies</h1><table id=\"studies\"><tr><th class=\"l\">study</th><th class=\"l\">workload</th><th class=\"l\">last run</th><th class=\"l\">executors</th><th class=\"l\">fractions</th><th>runs ok</th><th class=\"l\">best speedup</th></tr>"
    );
    for m in metas {
        let study = m["study"].as_str().unwrap_or("?");
        let best = m["best_speedup"]
            .as_object()
            .map(|b| {
                format!(
                    "{:.2}× at {} executors, fraction {}",
                    b["speedup"].as_f64().unwrap_or(0.0),
                    b["executors"],
                    b["fraction"]
                )
            })
            .unwrap_or_else(|| "–".into());
        let _ = write!(
            h,
            "<tr><td class=\"l\"><a href=\"{s}/index.html\">{s}</a></td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}/{}</td><td class=\"l\">{best}</td></tr>",
            esc(m["workload"].as_str().unwrap_or("?")),
            esc(m["last_run"].as_str().unwrap_or("")),
            m["executors"],
            m["fractions"],
            m["ok"],
            m["runs"],
            s = esc(study),
        );
    }
    h.push_str("</table></body></html>\n");
    h
}
