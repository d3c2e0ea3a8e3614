//! `harness profile compose` on a real docker-compose cluster built from local files: executors
//! are containers with `cpus`/`mem_limit` and a pinned CPU set, data is on the cluster's s3s-fs
//! store, `mpirun` reaches the executors over ssh. Skipped, with the reason, when no Docker daemon
//! is reachable.

mod common;

use std::process::Command;

use common::{generate_fractal, harness_cached, records, serial, skipped_without_docker};
use harness_core::{RunRecord, RunStatus};

#[test]
fn compose_cluster_runs_the_study_with_measured_container_limits() {
    if skipped_without_docker("compose_cluster_runs_the_study_with_measured_container_limits") {
        return;
    }
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_fractal(dir, "small", "8", "15000");
    let out = harness_cached(
        dir,
        &[
            "profile",
            "compose",
            "--workload",
            "fractal-rf",
            "--executors",
            "1,2",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--fractions",
            "0.5",
            "--reps",
            "1",
            "--data",
            "small",
            "--study",
            "cmp",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", out.status);
    assert!(
        stderr.contains("uploading small to the cluster store as s3://data/small"),
        "{stderr}"
    );
    let records = records(dir, "cmp");
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        assert_eq!(
            r.data.files, 8,
            "half of 8 train files + all 2 val and 2 test files (eval_fraction 1), read from S3"
        );
        assert_eq!(r.executor_reports.len() as u32, r.point.executors);
        // The driver measured rank 0's container's clock over ssh: the same kernel's clock,
        // so the offset is 0 within the probe's bound; start-up used the monotonic clock.
        let (off, bound) = (
            r.times.clock_offset_sec.expect("clock offset measured"),
            r.times.clock_offset_uncertainty_sec.unwrap(),
        );
        assert!(off.abs() <= bound + 0.005 && bound < 0.5, "{:?}", r.times);
        assert_eq!(r.times.startup_clock.as_deref(), Some("monotonic"));
        for e in &r.executor_reports {
            // Measured inside each container, exactly as local executors measure.
            assert_eq!(e.cores_measured, 1, "{e:?}");
            assert_eq!(e.memory_limit_bytes, Some(1 << 30), "{e:?}");
            assert_eq!(e.cpu_quota, Some(1.0), "{e:?}");
            // The limits are the containers' own. On a 2-CPU host the cluster's other
            // processes (sshd, the S3 store, the network stack) run on the executors' CPUs, so
            // training may be recorded as contended — from the kernel, which is the point; any
            // other reason not to be enforced is a failure.
            let k = &e.kernel.as_ref().expect("kernel counters").train;
            eprintln!(
                "compose rank {} [{}]: training run-queue wait {:.3} s of {:.3} s, enforced {}",
                e.rank, e.cpuset, k.run_queue_wait_sec, k.wall_sec, e.enforced
            );
            if !e.enforced {
                let note = e.enforcement_note.as_deref().unwrap_or("");
                let contention_only = note.starts_with("measured: ")
                    && ["affinity", "quota", "memory limit", "shares CPU", "swap"]
                        .iter()
                        .all(|w| !note.contains(w));
                assert!(
                    contention_only,
                    "not enforced for another reason than contention: {e:?}"
                );
            }
            assert_eq!(e.cgroup, "node");
        }
    }
    let two = &records[1].executor_reports;
    assert_ne!(two[0].host, two[1].host, "one container per executor");
    assert_ne!(two[0].cpuset, two[1].cpuset, "pinned to different CPUs");
    assert!(dir.join("reports/cmp/index.html").exists());
    // Torn down: no container of the project is left.
    let ps = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            "label=com.docker.compose.project=harness",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ps.stdout).trim().is_empty(),
        "containers left running"
    );
}

#[test]
fn killed_executor_container_is_recorded_and_retried_on_a_clean_cluster() {
    if skipped_without_docker(
        "killed_executor_container_is_recorded_and_retried_on_a_clean_cluster",
    ) {
        return;
    }
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "profile",
            "compose",
            "--workload",
            "wine",
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--reps",
            "1",
            "--study",
            "kill",
        ])
        .current_dir(dir)
        .env("HARNESS_CACHE", dir.join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the run's job file (mpirun is about to start), let training begin, then kill
    // one executor container.
    let jobs = dir.join("results/kill/jobs");
    let t = std::time::Instant::now();
    while std::fs::read_dir(&jobs)
        .map(|d| d.count() == 0)
        .unwrap_or(true)
    {
        assert!(t.elapsed().as_secs() < 300, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_secs(6));
    let kill = Command::new("docker")
        .args(["kill", "harness_executor_2"])
        .output()
        .unwrap();
    assert!(
        kill.status.success(),
        "{}",
        String::from_utf8_lossy(&kill.stderr)
    );
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the study completes after the retry: {status}"
    );
    let records = records(dir, "kill");
    assert_eq!(records.len(), 2, "attempt 0 and its retry");
    assert_eq!(
        (records[0].attempt, records[0].status),
        (0, RunStatus::Failed)
    );
    let cause = records[0].error.as_deref().unwrap_or_default();
    assert!(
        cause.contains("rank 1") && cause.contains("no longer answer"),
        "{cause}"
    );
    // What the killed container's executor measured before it died is kept.
    let gone = records[0].executor_reports.iter().find(|e| e.rank == 1);
    assert!(
        gone.is_some_and(|e| e.cgroup == "node" && e.stage.is_some()),
        "{:?}",
        records[0].executor_reports
    );
    assert_eq!((records[1].attempt, records[1].status), (1, RunStatus::Ok));
    assert_eq!(records[1].run_id, records[0].run_id);
    assert_eq!(records[1].metrics.extra["trials"], 96.0);
}

#[test]
fn killed_driver_resumes_with_each_run_exactly_once() {
    if skipped_without_docker("killed_driver_resumes_with_each_run_exactly_once") {
        return;
    }
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_fractal(dir, "small", "8", "15000");
    let args = [
        "profile",
        "compose",
        "--workload",
        "fractal-rf",
        "--executors",
        "1,2",
        "--cores",
        "1",
        "--memory",
        "1g",
        "--fractions",
        "0.5,1",
        "--reps",
        "2",
        "--data",
        "small",
        "--study",
        "resume",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(dir)
        .env("HARNESS_CACHE", dir.join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runs = dir.join("results/resume/runs.jsonl");
    let t = std::time::Instant::now();
    while std::fs::read_to_string(&runs)
        .map(|s| s.lines().count() < 2)
        .unwrap_or(true)
    {
        assert!(t.elapsed().as_secs() < 300, "no records appeared");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind
    child.wait().unwrap();
    let mut again: Vec<&str> = args.to_vec();
    again.push("--resume");
    let out = harness_cached(dir, &again);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&runs).unwrap();
    assert!(text.ends_with('\n'), "no torn last line");
    let records: Vec<RunRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut pairs: Vec<(String, u32)> = records
        .iter()
        .filter(|r| r.status == RunStatus::Ok)
        .map(|r| (r.point.key(), r.repetition))
        .collect();
    let n = pairs.len();
    pairs.sort();
    pairs.dedup();
    assert_eq!(
        pairs.len(),
        n,
        "no (point, repetition) recorded ok twice: {records:?}"
    );
    assert_eq!(n, 8, "2 executor counts × 2 fractions × 2 repetitions");
}
