//! Load test of `harness serve` on loopback: single-row `dataframe_split` requests at 1 and 32
//! concurrent clients, bounded in count and time; prints p50/p99 latency and requests/s.
//!
//! Needs a model directory: `HARNESS_SERVE_MODEL=results/<study>/artifacts/<run>/model cargo
//! bench -p harness --bench serve_load`. Without it, the bench trains one quickly with
//! `harness run wine --param evaluations=4` into a temporary directory.
//!
//! `HARNESS_SERVE_URL=http://127.0.0.1:5090` load-tests a server that is already running
//! instead, e.g. `mlflow models serve -m <model dir> --env-manager local -p 5090` on the same
//! model directory (its `MLmodel` has the `python_function` flavor).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const REQUESTS_PER_LEVEL: usize = 20_000;
const TIME_LIMIT: Duration = Duration::from_secs(30);

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_harness"))
}

fn model_dir(tmp: &Path) -> PathBuf {
    if let Ok(m) = std::env::var("HARNESS_SERVE_MODEL") {
        return PathBuf::from(m);
    }
    let ok = Command::new(harness())
        .args([
            "run",
            "wine",
            "--param",
            "evaluations=4",
            "--param",
            "baseline=false",
            "--study",
            "serve-bench",
        ])
        .arg("--results")
        .arg(tmp.join("results"))
        .arg("--reports")
        .arg(tmp.join("reports"))
        .status()
        .expect("harness runs");
    assert!(ok.success());
    tmp.join("results/serve-bench/artifacts/e1-c1-m7g-f1-r0/model")
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, _server, what) = match std::env::var("HARNESS_SERVE_URL") {
        Ok(url) => (url.clone(), None, url),
        Err(_) => {
            let model = model_dir(tmp.path());
            let port = free_port();
            let server = Server(
                Command::new(harness())
                    .args(["serve", "--port", &port.to_string(), "--model"])
                    .arg(&model)
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("serve starts"),
            );
            (
                format!("http://127.0.0.1:{port}"),
                Some(server),
                format!("harness serve {}", model.display()),
            )
        }
    };
    let url = format!("{base}/invocations");
    let agent = ureq::AgentBuilder::new().build();
    let t = Instant::now();
    while agent.get(&format!("{base}/ping")).call().is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = r#"{"dataframe_split": {"columns": ["fixed_acidity","volatile_acidity","citric_acid","residual_sugar","chlorides","free_sulfur_dioxide","total_sulfur_dioxide","density","pH","sulphates","alcohol","is_red"], "data": [[7.4,0.7,0.0,1.9,0.076,11.0,34.0,0.9978,3.51,0.56,9.4,1.0]]}}"#;
    println!(
        "{what}: single-row requests (≤ {REQUESTS_PER_LEVEL} requests, ≤ {TIME_LIMIT:?} per level)"
    );
    for clients in [1usize, 32] {
        let per_client = REQUESTS_PER_LEVEL / clients;
        let barrier = Arc::new(Barrier::new(clients));
        let start = Instant::now();
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let (url, barrier) = (url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let agent = ureq::AgentBuilder::new().build();
                    // Warm-up: connection and the worker's booster.
                    for _ in 0..20 {
                        agent
                            .post(&url)
                            .set("Content-Type", "application/json")
                            .send_string(body)
                            .unwrap();
                    }
                    barrier.wait();
                    let t0 = Instant::now();
                    let mut lat = Vec::with_capacity(per_client);
                    while lat.len() < per_client && t0.elapsed() < TIME_LIMIT {
                        let t = Instant::now();
                        let r = agent
                            .post(&url)
                            .set("Content-Type", "application/json")
                            .send_string(body)
                            .unwrap();
                        let _ = r.into_string().unwrap();
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<f64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let wall = start.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        println!(
            "clients {clients:>2}: {} requests, p50 {:.3} ms, p99 {:.3} ms, {:.0} requests/s",
            lat.len(),
            quantile(&lat, 0.5),
            quantile(&lat, 0.99),
            lat.len() as f64 / wall
        );
    }
}
