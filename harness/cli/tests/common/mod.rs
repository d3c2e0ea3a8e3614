//! Helpers shared by the end-to-end test binaries (each includes this module with `mod common;`
//! and uses a part of it).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, MutexGuard};

use harness_core::RunRecord;

/// Tests that measure CPUs or share a cluster run one at a time within a test binary (cargo runs
/// the binaries one after another).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `out` if the command succeeded; otherwise fails the test with its stderr.
pub fn assert_ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "harness failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Generates FRACTAL data with `harness data generate` into `<dir>/<name>`: `train_files` files
/// of `rows` points in train/, 2 each in val/ and test/.
pub fn generate_fractal(dir: &Path, name: &str, train_files: &str, rows: &str) -> PathBuf {
    let data = dir.join(name);
    assert_ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["data", "generate", "fractal", "--out"])
            .arg(&data)
            .args(["--train-files", train_files, "--rows-per-file", rows])
            .args(["--val-files", "2", "--test-files", "2"])
            .output()
            .expect("harness runs"),
    );
    data
}

/// The records of `<dir>/results/<study>/runs.jsonl`.
pub fn records(dir: &Path, study: &str) -> Vec<RunRecord> {
    std::fs::read_to_string(dir.join("results").join(study).join("runs.jsonl"))
        .expect("runs.jsonl exists")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a schema v1 record"))
        .collect()
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tool `.ci/install` puts under `~/.cache/harness-tools/<rel>`, or `$<env>`.
pub fn installed_tool(env: &str, rel: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(std::env::var_os("HOME").expect("HOME"))
        .join(".cache/harness-tools")
        .join(rel);
    assert!(
        p.exists(),
        "{} is not installed: run `bash .ci/install` (or set {env})",
        p.display()
    );
    p
}
