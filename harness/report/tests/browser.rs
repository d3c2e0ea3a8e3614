//! The report in a real browser: renders a committed fixture of real records (a failed run, a
//! run without enforced limits and oversubscribed points among them), opens it in headless
//! Chromium (Debian's `chromium`), checks that every chart and table is in the rendered DOM,
//! that the screenshot shows drawn charts, and that the page made no network request: Chromium
//! is pointed at a loopback proxy that records every request line. Chromium's own background
//! services (clock, updater, accounts) call out even for a blank page, so their hosts are
//! ignored; a control run with an injected external image proves the proxy sees page requests.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness_core::RunRecord;
use harness_report::figures::{CHARTS, FARM_CHARTS};

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

#[test]
fn report_renders_in_chromium_with_every_chart_and_no_network() {
    let records = fixture();
    assert!(records
        .iter()
        .any(|r| r.status != harness_core::RunStatus::Ok));
    assert!(records.iter().any(|r| r.oversubscribed));
    assert!(records
        .iter()
        .any(|r| r.status == harness_core::RunStatus::Ok && !r.all_enforced()));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fixture");
    let page = harness_report::render_study(&records, &out, Some(&records)).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    // Statically self-contained: no script, stylesheet link or external URL (the SVG namespace
    // is an identifier, not a request).
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    for bad in [
        "<script", "<link", "http://", "https://", "<img", "@import", "url(",
    ] {
        assert!(!without_ns.contains(bad), "page contains {bad}");
    }

    let (dom, requests) = browse(&page, &["--dump-dom"]);
    for (id, _) in CHARTS {
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
        "comparison-table",
        "failed-table",
        "runs-table",
        "provenance-table",
    ] {
        assert!(
            dom.contains(&format!("id=\"{table}\"")),
            "table {table} missing"
        );
    }
    assert!(dom.contains("timeout"), "the failed run is listed");
    assert!(
        dom.contains("NOT enforced"),
        "non-enforced limits are flagged"
    );
    assert!(
        dom.contains("oversubscribed"),
        "oversubscribed points are flagged"
    );
    assert!(
        dom.contains("USL σ="),
        "USL fitted over ≥ 3 executor counts"
    );
    assert!(
        requests.is_empty(),
        "the page made network requests: {requests:?}"
    );

    // A screenshot at 1280 px: the charts really drew (a good share of non-white pixels).
    let shot = dir.path().join("shot.png");
    let (_, requests) = browse(
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,3000",
            "--hide-scrollbars",
        ],
    );
    assert!(requests.is_empty(), "{requests:?}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width, 1280);
    let px = info.color_type.samples();
    let inked = buf[..info.buffer_size()]
        .chunks(px)
        .filter(|p| p.iter().take(3).any(|c| *c < 200))
        .count();
    let share = inked as f64 / f64::from(info.width * info.height);
    assert!(
        share > 0.02,
        "screenshot is nearly blank ({share:.3} inked)"
    );
}

#[test]
fn farm_report_shows_throughput_utilisation_and_task_timelines() {
    let records = farm_fixture();
    assert!(records.iter().all(|r| r.farm.is_some()));
    let dir = tempfile::tempdir().unwrap();
    let page = harness_report::render_study(&records, &dir.path().join("farm"), None).unwrap();
    let (dom, requests) = browse(&page, &["--dump-dom"]);
    assert!(requests.is_empty(), "{requests:?}");
    for (id, _) in CHARTS.iter().chain(&FARM_CHARTS) {
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
        svg.matches("<rect").count() >= tasks,
        "{} rects for {tasks} tasks",
        svg.matches("<rect").count()
    );
}
