//! The report in a real browser: renders a committed fixture of real records (a failed run, a
//! run without enforced limits and oversubscribed points among them), opens it in headless
//! Chromium (Debian's `chromium`), and checks what a reader sees and does: the findings first,
//! every chart and table in the rendered DOM, a hover target per plotted point carrying the
//! record's median, legend clicks hiding and showing a series, header clicks sorting a table,
//! no legend over a data point, a colour-blind-safe palette, the page readable at 390 px, and
//! no network request: Chromium is pointed at a loopback proxy that records every request line.
//! Chromium's own background services (clock, updater, accounts) call out even for a blank
//! page, so their hosts are ignored; a control run with an injected external image proves the
//! proxy sees page requests. Interactions are driven by a probe script appended to a copy of
//! the page: it clicks with real DOM events and writes what it saw into `<pre id="probe">`.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness_core::RunRecord;
use harness_report::figures::FARM_CHARTS;

fn parse(text: &str) -> Vec<RunRecord> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("fixture record"))
        .collect()
}

fn fixture() -> Vec<RunRecord> {
    parse(include_str!("fixtures/fractal-fixture.jsonl"))
}

/// Real records of a task-parallel study: gbm-folds, 12 tasks per run, executors {1, 2} ×
/// fractions {0.5, 1} × 2 repetitions.
fn farm_fixture() -> Vec<RunRecord> {
    parse(include_str!("fixtures/gbm-folds-fixture.jsonl"))
}

/// Asserts that the rendered DOM holds chart `id` as an inline SVG.
fn has_chart(dom: &str, id: &str) {
    let at = dom
        .find(&format!("id=\"chart-{id}\""))
        .unwrap_or_else(|| panic!("chart {id} missing"));
    let rest = &dom[at..];
    let open = rest.find('>').expect("figure tag ends");
    assert!(
        rest[open + 1..].starts_with("<svg"),
        "chart {id} has no SVG"
    );
}

fn chromium() -> String {
    if let Ok(c) = std::env::var("HARNESS_CHROMIUM") {
        return c;
    }
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!("no Chromium found: install Debian's `chromium` (bash .ci/install does) or set HARNESS_CHROMIUM");
}

/// Hosts Chromium itself calls (time, component updater, accounts) whatever the page.
const BROWSER_SERVICES: [&str; 7] = [
    "clients2.google.com",
    "accounts.google.com",
    "update.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "safebrowsingohttpgateway.googleapis.com",
    "content-autofill.googleapis.com",
    ".gvt1.com",
];

fn from_page(request_line: &str) -> bool {
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let host = target
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    !BROWSER_SERVICES
        .iter()
        .any(|s| host == *s || (s.starts_with('.') && host.ends_with(s)))
}

/// Runs Chromium headless with every request sent to a loopback proxy; returns its stdout and
/// the request lines that came from the page (browser services filtered out).
fn browse(page: &Path, extra: &[&str]) -> (String, Vec<String>) {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    proxy.set_nonblocking(true).unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicUsize::new(0));
    let (log, s) = (seen.clone(), stop.clone());
    let t = std::thread::spawn(move || {
        while s.load(Ordering::SeqCst) == 0 {
            match proxy.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_millis(300)));
                    let mut buf = [0u8; 2048];
                    let n = c.read(&mut buf).unwrap_or(0);
                    let text = String::from_utf8_lossy(&buf[..n]);
                    log.lock()
                        .unwrap()
                        .push(text.lines().next().unwrap_or("").to_string());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--proxy-server=http://127.0.0.1:{port}"))
        .arg("--proxy-bypass-list=<-loopback>")
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    // Give late connections a moment to be counted.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(1, Ordering::SeqCst);
    t.join().unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page_requests = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|l| from_page(l))
        .cloned()
        .collect();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        page_requests,
    )
}

#[test]
fn the_proxy_catches_a_page_request() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("leaky.html");
    std::fs::write(
        &page,
        "<html><body><img src=\"http://harness-canary.invalid/x.png\"></body></html>",
    )
    .unwrap();
    let (_, requests) = browse(&page, &["--dump-dom"]);
    assert!(
        requests
            .iter()
            .any(|r| r.contains("harness-canary.invalid")),
        "the control page's request was not seen: {requests:?}"
    );
}

/// Charts a data-parallel fractal study with 1–4 executors must show.
const FIXTURE_CHARTS: [&str; 13] = [
    "time",
    "speedup",
    "efficiency",
    "karp-flatt",
    "fits",
    "time-vs-fraction",
    "time-per-row",
    "accuracy",
    "memory",
    "memory-per-row",
    "phases",
    "limits-cores",
    "limits-memory",
];

/// What the probe script reports: hover targets of the time chart, the legend and sorting
/// experiments, overlaps, colours and widths.
const PROBE: &str = r###"<script>
(function () {
  var out = {};
  function box(e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
  function hits(id) {
    return Array.prototype.map.call(document.querySelectorAll("#chart-" + id + " circle.hit"), function (h) {
      var g = h.closest("g.series");
      return { series: g.getAttribute("data-label"), x: +h.getAttribute("data-x"), y: +h.getAttribute("data-y"),
               lo: +h.getAttribute("data-lo"), hi: +h.getAttribute("data-hi"), n: h.getAttribute("data-n"),
               tip: h.getAttribute("data-tip") || "" };
    });
  }
  out.time = hits("time");
  var entry = document.querySelector('#chart-time g.legend-entry[data-series]');
  var k = entry.getAttribute("data-series");
  var group = document.querySelector('#chart-time g.series[data-series="' + k + '"]');
  out.visible_before = getComputedStyle(group).display !== "none";
  entry.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  out.visible_hidden = getComputedStyle(group).display !== "none";
  entry.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  out.visible_after = getComputedStyle(group).display !== "none";
  var table = document.getElementById("summary-table");
  var ths = Array.prototype.slice.call(table.querySelectorAll("thead th"));
  var col = ths.findIndex(function (th) { return th.textContent.trim() === "training"; });
  function column() {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      var s = r.cells[col].getAttribute("data-sort"); return s === null ? null : +s; });
  }
  out.unsorted = column();
  ths[col].dispatchEvent(new MouseEvent("click", { bubbles: true }));
  out.ascending = column();
  ths[col].dispatchEvent(new MouseEvent("click", { bubbles: true }));
  out.descending = column();
  out.overlaps = [];
  document.querySelectorAll("svg").forEach(function (svg) {
    var legends = svg.querySelectorAll("g.legend-entry");
    var marks = svg.querySelectorAll(".mark, circle.hit");
    legends.forEach(function (l) {
      var a = box(l);
      marks.forEach(function (m) {
        var b = box(m);
        if (a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]) {
          out.overlaps.push(svg.closest("figure").id + ": " + l.textContent);
        }
      });
    });
  });
  out.series_colors = Array.prototype.map.call(
    document.querySelectorAll("#chart-time-vs-fraction g.series path.line"), function (p) { return p.getAttribute("stroke"); });
  out.order = Array.prototype.map.call(document.querySelectorAll("body > section, body > h2"), function (e) { return e.id; });
  out.findings = document.getElementById("findings").textContent;
  out.findings_top = document.getElementById("findings").getBoundingClientRect().top;
  out.charts_top = document.getElementById("charts").getBoundingClientRect().top;
  out.inner_width = window.innerWidth;
  out.scroll_width = document.documentElement.scrollWidth;
  out.legend_entries = document.querySelectorAll("g.legend-entry[data-series]").length;
  out.too_wide = Array.prototype.filter.call(document.body.querySelectorAll("*"), function (e) {
    return e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest("div.scroll") && !e.closest("svg");
  }).slice(0, 8).map(function (e) { return e.tagName + "#" + e.id + "." + e.getAttribute("class"); });
  if (window.parent !== window) { window.parent.postMessage(JSON.stringify(out), "*"); }
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"###;

/// Renders `records`, appends the probe to a copy of the page and opens it at `width` px;
/// returns the page's path, the DOM and the probe's report. Headless Chromium's windows are at
/// least 500 px wide, so narrower widths load the page in an iframe of that width, whose probe
/// posts its report to the frame around it.
fn probe(
    records: &[RunRecord],
    baseline: Option<&[RunRecord]>,
    dir: &Path,
    width: u32,
) -> (std::path::PathBuf, String, serde_json::Value) {
    let page = harness_report::render_study(records, &dir.join("study"), baseline).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let probed = page.with_file_name("probed.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let opened = if width >= 500 {
        probed
    } else {
        let frame = page.with_file_name("frame.html");
        std::fs::write(
            &frame,
            format!("<!doctype html><html><body style=\"margin:0\"><iframe src=\"probed.html\" style=\"width:{width}px;height:900px;border:0\"></iframe><pre id=\"probe\"></pre><script>window.addEventListener(\"message\", function (e) {{ document.getElementById(\"probe\").textContent = e.data; }});</script></body></html>"),
        )
        .unwrap();
        frame
    };
    let (dom, requests) = browse(
        &opened,
        &[
            "--dump-dom",
            "--virtual-time-budget=5000",
            &format!("--window-size={},900", width.max(500)),
        ],
    );
    assert!(
        requests.is_empty(),
        "the page made network requests: {requests:?}"
    );
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"");
    (
        page,
        dom,
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe JSON ({e}): {json}")),
    )
}

fn hex_hue(hex: &str) -> (f64, f64) {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    harness_report::theme::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8).hue_saturation()
}

#[test]
fn report_opens_with_findings_and_every_chart_with_no_network() {
    let records = fixture();
    assert!(records
        .iter()
        .any(|r| r.status != harness_core::RunStatus::Ok));
    assert!(records.iter().any(|r| r.oversubscribed));
    assert!(records
        .iter()
        .any(|r| r.status == harness_core::RunStatus::Ok && !r.all_enforced()));
    let dir = tempfile::tempdir().unwrap();
    let page = harness_report::render_study(&records, &dir.path().join("fixture"), None).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: our inline script only, no stylesheet link or external URL (the SVG
    // namespace is an identifier, not a request).
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    for bad in [
        "<script src",
        "<link",
        "http://",
        "https://",
        "<img",
        "@import",
        "url(",
        " src=",
    ] {
        assert!(!without_ns.contains(bad), "page contains {bad}");
    }
    assert!(html.len() < 2_000_000, "one page of {} bytes", html.len());

    let (dom, requests) = browse(&page, &["--dump-dom"]);
    assert!(
        requests.is_empty(),
        "the page made network requests: {requests:?}"
    );
    for id in FIXTURE_CHARTS {
        has_chart(&dom, id);
    }
    for (id, _) in FARM_CHARTS {
        assert!(
            !dom.contains(&format!("id=\"chart-{id}\"")),
            "{id}: no farm charts for a data-parallel study"
        );
    }
    for table in [
        "summary-table",
        "fits-table",
        "stragglers-table",
        "failed-table",
        "runs-table",
        "provenance-table",
    ] {
        assert!(
            dom.contains(&format!("id=\"{table}\"")),
            "table {table} missing"
        );
    }
    // Only columns with data: the fixture reports no ROC AUC, RMSE or MAE.
    let summary = &dom[dom.find("id=\"summary-table\"").unwrap()..];
    let head = &summary[..summary.find("</thead>").unwrap()];
    for absent in ["ROC AUC", "RMSE", "MAE"] {
        assert!(!head.contains(absent), "{absent} column without data");
    }
    assert!(head.contains("test accuracy") && head.contains("peak memory"));
    assert!(!dom.contains("215040.0000"), "no four-decimal byte counts");
    assert!(dom.contains("timeout"), "the failed run is listed");
    assert!(
        dom.contains("NOT enforced"),
        "non-enforced limits are flagged"
    );
    assert!(
        dom.contains("oversubscribed"),
        "oversubscribed points are flagged"
    );
    assert!(dom.contains("USL σ"), "USL fitted over ≥ 3 executor counts");
    let accuracy = std::fs::read_to_string(page.with_file_name("accuracy.svg")).unwrap();
    assert!(
        !accuracy.contains("ROC AUC"),
        "no ROC AUC series for a workload without one"
    );
}

#[test]
fn findings_hover_targets_legend_and_sorting_work_in_chromium() {
    let records = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (_, _, p) = probe(&records, None, dir.path(), 1400);
    // The findings come first and name the speedup and efficiency with their intervals.
    assert!(p["findings_top"].as_f64().unwrap() < p["charts_top"].as_f64().unwrap());
    let a = harness_report::analysis::analyse(&records);
    let f = harness_report::findings::of(&records, &a);
    let s = f
        .series
        .iter()
        .find(|s| s.speedup.is_some())
        .expect("a scaling series");
    let (sp, ef) = (s.speedup.unwrap(), s.efficiency.unwrap());
    let (slo, shi) = sp.ci.unwrap();
    let (elo, ehi) = ef.ci.unwrap();
    let text = p["findings"].as_str().unwrap();
    let want_s = format!("speedup {:.2}× [{slo:.2} … {shi:.2}]", sp.value);
    let want_e = format!("parallel efficiency {:.2} [{elo:.2} … {ehi:.2}]", ef.value);
    assert!(
        text.contains(&want_s) && text.contains(&want_e),
        "{want_s} / {want_e} in {text}"
    );
    assert!(text.contains("Predicted, not measured") && text.contains("NOT enforced"));

    // A hover target for every plotted point of the time chart, carrying the record's median.
    let hits = p["time"].as_array().unwrap();
    let with_train: Vec<_> = a.points.iter().filter(|q| q.train.is_some()).collect();
    assert_eq!(hits.len(), with_train.len(), "{hits:?}");
    for q in with_train {
        let label = harness_report::analysis::series_label(&q.point, &a.varying_params);
        let d = q.train.as_ref().unwrap();
        let h = hits
            .iter()
            .find(|h| {
                h["series"] == label.as_str()
                    && h["x"].as_f64() == Some(f64::from(q.point.executors))
            })
            .unwrap_or_else(|| panic!("no hover target for {label} at {}", q.point.executors));
        assert_eq!(h["y"].as_f64().unwrap(), d.median);
        assert_eq!((h["lo"].as_f64().unwrap(), h["hi"].as_f64().unwrap()), d.ci);
        assert_eq!(h["n"].as_str().unwrap(), d.n.to_string());
        assert!(
            h["tip"].as_str().unwrap().contains("95 % CI"),
            "the tooltip text moved to data-tip"
        );
    }
    // Legend: a click hides the series, a second shows it again.
    assert_eq!(
        (
            p["visible_before"].as_bool(),
            p["visible_hidden"].as_bool(),
            p["visible_after"].as_bool()
        ),
        (Some(true), Some(false), Some(true))
    );
    // Sorting by training time: ascending, then descending (points without ok runs last/first).
    let col = |k: &str| -> Vec<f64> {
        p[k].as_array()
            .unwrap()
            .iter()
            .filter_map(serde_json::Value::as_f64)
            .collect()
    };
    let (asc, desc) = (col("ascending"), col("descending"));
    assert!(
        asc.len() > 3 && asc.windows(2).all(|w| w[0] <= w[1]),
        "{asc:?}"
    );
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    assert_ne!(
        col("unsorted"),
        asc,
        "the fixture's rows are not already in that order"
    );
    // No legend entry over a data point, on any chart.
    assert!(
        p["overlaps"].as_array().unwrap().is_empty(),
        "{}",
        p["overlaps"]
    );
    // The first four series colours: no red, so no red/green pair.
    let colors: Vec<&str> = p["series_colors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(colors.len() >= 4, "{colors:?}");
    let mut first: Vec<&str> = colors.clone();
    first.dedup();
    for c in &first[..4] {
        let (h, s) = hex_hue(c);
        assert!(s < 0.4 || (20.0..=340.0).contains(&h), "{c} is red");
    }
    let distinct: std::collections::BTreeSet<&str> = first[..4].iter().copied().collect();
    assert_eq!(distinct.len(), 4, "four series, four colours: {first:?}");
}

#[test]
fn the_page_reads_at_phone_width() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, p) = probe(&fixture(), None, dir.path(), 390);
    assert!(p["findings_top"].as_f64().unwrap() < p["charts_top"].as_f64().unwrap());
    // Wide tables scroll inside themselves: the page itself does not scroll sideways.
    let (inner, scroll) = (
        p["inner_width"].as_f64().unwrap(),
        p["scroll_width"].as_f64().unwrap(),
    );
    assert_eq!(inner, 390.0, "the page was laid out at phone width");
    assert!(
        scroll <= inner + 1.0,
        "page {scroll} px wide in a {inner} px window: {}",
        p["too_wide"]
    );
}

#[test]
fn a_baseline_gives_change_charts_with_verdicts() {
    let base = fixture();
    let mut slower = base.clone();
    for r in &mut slower {
        if let Some(t) = r.times.training_time_sec.as_mut() {
            *t *= 1.5;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (page, dom, p) = probe(&slower, Some(&base), dir.path(), 1400);
    has_chart(&dom, "change-training-time");
    has_chart(&dom, "change-accuracy");
    let svg = std::fs::read_to_string(page.with_file_name("change-training-time.svg")).unwrap();
    let common = harness_report::analysis::compare(&slower, &base)
        .iter()
        .filter(|c| c.metric == harness_report::analysis::Metric::TrainingTime)
        .count();
    assert_eq!(
        svg.matches("class=\"hit\"").count(),
        common,
        "a point and interval per common point"
    );
    assert!(
        svg.contains("data-y=\"0.5") || svg.contains("data-y=\"0.49"),
        "the change is +50 %"
    );
    assert!(dom.contains("id=\"comparison-table\"") && dom.contains("slower"));
    assert!(
        p["overlaps"].as_array().unwrap().is_empty(),
        "{}",
        p["overlaps"]
    );
}

#[test]
fn two_studies_overlay_on_one_page() {
    let a = fixture();
    let mut b = fixture();
    for r in &mut b {
        r.study = "fixture-b".into();
        if let Some(t) = r.times.training_time_sec.as_mut() {
            *t *= 0.8;
        }
    }
    let both = harness_report::overlay(vec![a.clone(), b]).unwrap();
    assert!(
        harness_report::overlay(vec![a.clone(), a]).is_err(),
        "one study twice is refused"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, dom, p) = probe(&both, None, dir.path(), 1400);
    assert!(dom.contains("<h1>fixture + fixture-b</h1>"));
    let labels: std::collections::BTreeSet<String> = p["time"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["series"].as_str().unwrap().to_string())
        .collect();
    for study in ["study=fixture,", "study=fixture-b,"] {
        assert!(
            labels.iter().any(|l| l.contains(study)),
            "{study} in {labels:?}"
        );
    }
    // Side by side: fixture-b against fixture, one row per point, 0.80× training time each
    // (every run 20 % faster) and no accuracy difference.
    let at = dom
        .find("id=\"versus-table\"")
        .expect("the side-by-side table is rendered");
    let table = &dom[at..at + dom[at..].find("</table>").unwrap()];
    let rows = harness_report::versus::versus(&both).len();
    assert_eq!(
        table.matches("<tr").count(),
        rows + 1,
        "a header and a row per point"
    );
    assert_eq!(
        table.matches(">0.80×").count(),
        rows - 1,
        "all but the timed-out point"
    );
    assert!(table.contains("+0.0000"), "{table}");
    assert!(dom.contains("id=\"studies-table\""));
    assert!(dom.find("id=\"side-by-side\"").unwrap() < dom.find("id=\"charts\"").unwrap());
}

#[test]
fn the_screenshot_script_takes_the_top_and_the_chart_grid_at_1400_px() {
    let dir = tempfile::tempdir().unwrap();
    let page = harness_report::render_study(&fixture(), &dir.path().join("fixture"), None).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots.sh");
    let out = dir.path().join("shots");
    let status = Command::new("bash")
        .arg(&script)
        .arg(page.parent().unwrap())
        .arg(&out)
        .env("HARNESS_CHROMIUM", chromium())
        .status()
        .unwrap();
    assert!(status.success());
    for name in ["report-top.png", "report-charts.png"] {
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(out.join(name)).unwrap(),
        ));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.width, 1400, "{name}");
        let px = info.color_type.samples();
        let inked = buf[..info.buffer_size()]
            .chunks(px)
            .filter(|p| p.iter().take(3).any(|c| *c < 200))
            .count();
        let share = inked as f64 / f64::from(info.width * info.height);
        assert!(share > 0.02, "{name} is nearly blank ({share:.3} inked)");
    }
}

#[test]
fn farm_report_shows_throughput_utilisation_and_task_timelines() {
    let records = farm_fixture();
    assert!(records.iter().all(|r| r.farm.is_some()));
    let dir = tempfile::tempdir().unwrap();
    let page = harness_report::render_study(&records, &dir.path().join("farm"), None).unwrap();
    let (dom, requests) = browse(&page, &["--dump-dom"]);
    assert!(requests.is_empty(), "{requests:?}");
    for (id, _) in &FARM_CHARTS {
        has_chart(&dom, id);
    }
    for e in [1, 2] {
        has_chart(&dom, &format!("gantt-e{e}"));
    }
    assert!(dom.contains("id=\"farm-table\""));

    // The table's throughput is the median over repetitions of tasks / farm wall time.
    let mut tput: Vec<f64> = records
        .iter()
        .filter(|r| r.point.executors == 2 && r.point.fraction == 1.0)
        .map(|r| r.farm.as_ref().unwrap().tasks_per_sec())
        .collect();
    tput.sort_by(f64::total_cmp);
    let median = harness_core::stats::median(&tput).unwrap();
    assert!(dom.contains(&format!("{median:.3}")), "median {median:.3}");

    // The 2-executor timeline: a row per slot, a bar per task.
    let svg = std::fs::read_to_string(dir.path().join("farm/gantt-e2.svg")).unwrap();
    assert!(svg.contains("executor 0 · slot 0") && svg.contains("executor 1 · slot 0"));
    let tasks = records[0].farm.as_ref().unwrap().tasks.len();
    assert!(
        svg.matches("<rect class=\"mark\"").count() >= tasks,
        "{} bars for {tasks} tasks",
        svg.matches("<rect class=\"mark\"").count()
    );
}
