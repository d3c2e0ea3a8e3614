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

/// Runs this package's `harness` binary with `args` in `cwd` and waits for it.
pub fn harness(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("harness runs")
}

/// Runs `harness` in `cwd` with its cache in `<cwd>/cache` and none of this machine's S3
/// settings (the compose cluster's nodes have their own): for tests of the compose cluster.
pub fn harness_cached(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(cwd)
        .env("HARNESS_CACHE", cwd.join("cache"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("harness runs")
}

/// Whether test `name` must be skipped for want of a Docker daemon; if so, says why through
/// `harness_runtime::testing::skip` (which fails the test on CI).
pub fn skipped_without_docker(name: &str) -> bool {
    match docker_unavailable() {
        Some(why) => {
            harness_runtime::testing::skip(name, &why);
            true
        }
        None => false,
    }
}

/// Whether this host lets an executor create cgroups (root with a cgroup hierarchy).
pub fn cgroups_writable() -> bool {
    harness_runtime::limits::is_root()
        && harness_runtime::limits::detect() != harness_runtime::limits::CgroupVersion::None
}

/// Whether test `name` must be skipped because executors cannot create cgroups here; if so,
/// says why through `harness_runtime::testing::skip` (which fails the test on CI).
pub fn skipped_without_cgroups(name: &str) -> bool {
    if cgroups_writable() {
        return false;
    }
    harness_runtime::testing::skip(
        name,
        "cgroups cannot be created here (needs root and a cgroup hierarchy)",
    );
    true
}

/// Why the Docker tests cannot run here (`None` when a Docker daemon answers).
fn docker_unavailable() -> Option<String> {
    match std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Err(e) => Some(format!("docker is not installed ({e})")),
        Ok(o) if !o.status.success() => Some(format!(
            "no Docker daemon reachable: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
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

/// A tool `.ci/install --tests` puts under `/opt/harness-tools/<rel>` (`$HARNESS_TOOLS`), or
/// `$<env>`.
pub fn installed_tool(env: &str, rel: &str) -> PathBuf {
    let p = harness_runtime::tools::tool(env, rel);
    assert!(
        p.exists(),
        "{} is not installed: run `bash .ci/install --tests` (or set {env})",
        p.display()
    );
    p
}

/// A server a test started (MLflow, s3s-fs, `harness serve`), in its own process group.
/// Dropping it ends the whole group — SIGTERM, then SIGKILL after 10 s — and fails the test if
/// any process of the group is still alive (helpers such as MLflow's uvicorn and huey workers
/// included), so nothing a test started outlives it.
pub struct Server {
    child: std::process::Child,
    pgid: i32,
}

impl Server {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(mut cmd: std::process::Command) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let child = cmd.spawn()?;
        let pgid = child.id() as i32;
        Ok(Server { child, pgid })
    }
}

/// Live (not zombie) processes of process group `pgid`, read from `/proc/*/stat`.
pub fn live_in_group(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // pid (comm) state ppid pgrp …; comm may hold spaces, so split after the last ')'.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.len() > 2 && f[0] != "Z" && f[2].parse::<i32>() == Ok(pgid)
        })
        .collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        let deadline = |secs| std::time::Instant::now() + std::time::Duration::from_secs(secs);
        for (signal, wait) in [(libc::SIGTERM, 10), (libc::SIGKILL, 5)] {
            // SAFETY: kill has no memory preconditions; a negative pid names the group.
            unsafe { libc::kill(-self.pgid, signal) };
            let until = deadline(wait);
            while std::time::Instant::now() < until {
                let _ = self.child.try_wait();
                if live_in_group(self.pgid).is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            if live_in_group(self.pgid).is_empty() {
                break;
            }
        }
        let _ = self.child.wait();
        let left = live_in_group(self.pgid);
        if !left.is_empty() && !std::thread::panicking() {
            panic!(
                "processes {left:?} of the server's group {} outlived the test",
                self.pgid
            );
        }
    }
}
