//! `harness server` end to end, with the compose cluster's containers standing in for the cloud
//! nodes terraform/ provisions: `harness compose-up` starts a head and two executor containers
//! (1 CPU, 1 GiB each) and prints their `terraform output -json`; `harness server --tf-outputs`
//! then does what it does on AWS — ssh to the head, authorise the head's key on the executors,
//! ship the binary and its libraries to /opt/harness on every node, upload the data through the
//! head to the bucket, run the study from the head with the records mirrored to S3, copy them back
//! and render the report. The nodes share no directory with the head's staging copy, so every
//! job file travels over ssh. The study is made in two halves (the second with --resume); during
//! the second one executor container is killed: the run that loses it is recorded naming the dead
//! node, the retry round finds one executor node answering, and the point that no longer fits is
//! recorded as "not enough nodes". Skipped, with the reason, without Docker.

mod common;

use std::path::Path;
use std::process::Command;

use common::{generate_fractal, harness_cached, records, serial, skipped_without_docker};
use harness_core::{RunRecord, RunStatus};

/// Every file under `dir`, recursively.
fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_below(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The container holding `address` on the cluster's network.
fn container_with_address(address: &str) -> String {
    let ids = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            "label=com.docker.compose.service=executor",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&ids.stdout)
        .split_whitespace()
        .find(|id| {
            let o = Command::new("docker")
                .args([
                    "inspect",
                    "-f",
                    "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                    id,
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).trim() == address
        })
        .expect("a container holds the address")
        .to_string()
}

/// Tears the stand-in nodes down even when an assertion fails.
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = harness_cached(self.0, &["compose-down"]);
    }
}

/// `harness compose-up --executors 2 --cores 1 <extra>` in `dir`: the guard that tears the
/// nodes down (made before anything can fail) and their terraform-shaped outputs, also written
/// to `dir/nodes.json` for `harness server --tf-outputs`.
fn start_nodes<'a>(dir: &'a Path, extra: &[&str]) -> (Down<'a>, serde_json::Value) {
    let mut args = vec!["compose-up", "--executors", "2", "--cores", "1"];
    args.extend_from_slice(extra);
    let up = harness_cached(dir, &args);
    let down = Down(dir);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let outputs = serde_json::from_slice(&up.stdout).expect("terraform-shaped JSON");
    std::fs::write(dir.join("nodes.json"), &up.stdout).unwrap();
    (down, outputs)
}

/// `harness server` on the nodes of `dir/nodes.json`: fractal-rf at executors 1,2 × 1 core ×
/// `memory`, `fractions` of the `small` data, one repetition, as study `study`.
fn server_study(
    dir: &Path,
    study: &str,
    memory: &str,
    fractions: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "server",
        "--tf-outputs",
        "nodes.json",
        "--workload",
        "fractal-rf",
        "--executors",
        "1,2",
        "--cores",
        "1",
        "--memory",
        memory,
        "--fractions",
        fractions,
        "--reps",
        "1",
        "--data",
        "small",
        "--study",
        study,
    ];
    args.extend_from_slice(extra);
    harness_cached(dir, &args)
}

#[test]
fn server_runs_the_study_on_stand_in_nodes_and_survives_a_dead_node() {
    if skipped_without_docker("server_runs_the_study_on_stand_in_nodes_and_survives_a_dead_node") {
        return;
    }
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_fractal(dir, "small", "8", "15000");

    let (_down, outputs) = start_nodes(dir, &["--memory", "1g"]);
    let executors: Vec<String> = outputs["executor_private_ips"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(executors.len(), 2);

    let server = |fractions: &str, extra: &[&str]| server_study(dir, "srv", "1g", fractions, extra);

    // First half of the study: both executor nodes alive.
    let first = server("0.5", &[]);
    let stderr = String::from_utf8_lossy(&first.stderr).to_string();
    eprintln!("first half:\n{stderr}");
    assert!(first.status.success(), "{}\n{stderr}", first.status);
    assert!(stderr.contains("shipping harness"), "{stderr}");
    assert!(
        stderr.contains("every node (") && stderr.contains("+ 2 executors) runs this harness"),
        "{stderr}"
    );
    assert!(
        stderr.contains("uploading small to s3://data/data/small through the head"),
        "{stderr}"
    );
    assert!(
        stderr.contains("does not see") && stderr.contains("copied to the hosts over ssh"),
        "the head's staging copy is not shared with the executors: {stderr}"
    );
    let recs = records(dir, "srv");
    assert_eq!(recs.len(), 2, "{recs:?}");
    let mut hosts = std::collections::BTreeSet::new();
    for r in &recs {
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        assert_eq!(r.executor_reports.len(), r.point.executors as usize);
        assert_eq!(
            r.data.rows.train,
            4 * 15000,
            "fraction 0.5 of 8 files × 15,000"
        );
        for e in &r.executor_reports {
            // The limits the nodes applied, measured by the executors on each node.
            assert_eq!(e.cgroup, "node", "{e:?}");
            assert_eq!(e.cpu_quota, Some(1.0), "{e:?}");
            assert_eq!(e.memory_limit_bytes, Some(1 << 30), "{e:?}");
            hosts.insert(e.host.clone());
        }
    }
    assert_eq!(
        hosts.len(),
        2,
        "the two executors ran on two nodes: {hosts:?}"
    );
    assert!(
        dir.join("reports/srv/index.html").exists(),
        "report rendered here"
    );
    assert!(
        dir.join("cache/compose/s3data/data/results/srv/runs.jsonl")
            .exists(),
        "records mirrored to the bucket"
    );

    // The rest of the study (--resume): executor node 2 is killed as soon as the first new run
    // (1 executor, fraction 1) is mirrored to the bucket, so the 2-executor run that follows
    // loses it.
    let ip = executors[1].clone();
    let victim = container_with_address(&ip);
    let second = std::thread::scope(|s| {
        let run = s.spawn(|| server("0.5,1", &["--resume"]));
        let mirrored = dir.join("cache/compose/s3data/data/results/srv/runs.jsonl");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
        while std::fs::read_to_string(&mirrored)
            .map(|t| t.lines().count())
            .unwrap_or(0)
            < 3
        {
            assert!(
                !run.is_finished() && std::time::Instant::now() < deadline,
                "the third record never reached the bucket"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(Command::new("docker")
            .args(["kill", &victim])
            .status()
            .unwrap()
            .success());
        run.join().unwrap()
    });
    let stderr = String::from_utf8_lossy(&second.stderr).to_string();
    eprintln!("second half:\n{stderr}");
    assert_eq!(second.status.code(), Some(3), "some runs not ok: {stderr}");
    assert!(stderr.contains("1 of 2 executor nodes answer"), "{stderr}");
    assert!(
        stderr.contains("small is in s3://data/data/small already (unchanged since its upload)")
            && !stderr.contains("uploading small"),
        "the unchanged data is not sent again: {stderr}"
    );
    let recs = records(dir, "srv");
    let of = |executors: u32, fraction: f64| -> Vec<&RunRecord> {
        recs.iter()
            .filter(|r| r.point.executors == executors && r.point.fraction == fraction)
            .collect()
    };
    assert_eq!(of(1, 0.5).len(), 1, "resume keeps the first half's records");
    assert_eq!(of(2, 0.5).len(), 1);
    let one = of(1, 1.0);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].status, RunStatus::Ok, "{:?}", one[0].error);
    assert_eq!(one[0].data.rows.train, 8 * 15000);
    let two = of(2, 1.0);
    assert_eq!(two.len(), 2, "the first attempt and its retry: {two:?}");
    let dead = two.iter().find(|r| r.attempt == 0).unwrap();
    assert_ne!(dead.status, RunStatus::Ok);
    assert!(
        dead.error.as_deref().unwrap_or_default().contains(&ip),
        "the failed record names the dead node {ip}: {:?}",
        dead.error
    );
    let retry = two.iter().find(|r| r.attempt == 1).unwrap();
    assert_eq!(retry.status, RunStatus::Failed);
    assert!(
        retry
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("not enough nodes: the point needs 2 executors (one per node)"),
        "{:?}",
        retry.error
    );

    for r in &recs {
        eprintln!(
            "{} attempt {}: {:?} {}",
            r.run_id,
            r.attempt,
            r.status,
            r.error.as_deref().unwrap_or("")
        );
        for e in &r.executor_reports {
            eprintln!(
                "  rank {} on {}: cores {} cpu_quota {:?} memory_limit {:?} cgroup {}",
                e.rank, e.host, e.cores_measured, e.cpu_quota, e.memory_limit_bytes, e.cgroup
            );
        }
    }

    // No credential of the nodes' S3 access in what came back, nor in what was printed.
    let secret = "harness-secret";
    for f in files_below(&dir.join("results")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        assert!(
            !text.contains(secret),
            "{} holds the S3 secret",
            f.display()
        );
    }
    for out in [&first, &second] {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    }
}

/// Cloud nodes have no container limits: the executors must limit themselves on their node.
/// The stand-in nodes here have no CPU quota and no memory limit (only a CPU each, standing in
/// for separate machines) and a writable cgroup file system (this machine's, mounted), so a
/// run is enforced only if each executor made its own cgroup on its node — which its record
/// shows (`cgroup` `v1`/`v2`, not `node`) together with the quota and memory limit it measured
/// there. The run cgroups are gone from the nodes afterwards.
#[test]
fn executors_apply_their_limits_on_nodes_without_container_limits() {
    if skipped_without_docker("executors_apply_their_limits_on_nodes_without_container_limits") {
        return;
    }
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_fractal(dir, "small", "4", "15000");
    let (_down, outputs) = start_nodes(dir, &["--node-limits"]);
    let node = container_with_address(
        outputs["executor_private_ips"]["value"][0]
            .as_str()
            .unwrap(),
    );
    let inspect = |format: &str| {
        let o = Command::new("docker")
            .args(["inspect", "-f", format, &node])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(
        inspect("{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.CpuQuota}}"),
        "0 0 0",
        "no container CPU quota or memory limit"
    );

    let out = server_study(dir, "nodelim", "768m", "0.5", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{}\n{stderr}", out.status);
    let recs = records(dir, "nodelim");
    assert_eq!(recs.len(), 2, "{recs:?}");
    let version = harness_runtime::limits::detect().as_str();
    for r in &recs {
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        for e in &r.executor_reports {
            assert_eq!(
                e.cgroup, version,
                "the executor's own cgroup on its node: {e:?}"
            );
            assert_eq!(e.cores_measured, 1, "{e:?}");
            assert_eq!(e.cpu_quota, Some(1.0), "{e:?}");
            assert_eq!(e.memory_limit_bytes, Some(768 << 20), "{e:?}");
            assert!(e.enforced, "idle stand-in nodes: {e:?}");
        }
    }
    // `harness node-cgroup` removed the run cgroups after each run.
    let left = Command::new("docker")
        .args([
            "exec",
            &node,
            "sh",
            "-c",
            "ls -d /sys/fs/cgroup/*/harness/nodelim/* 2>/dev/null | wc -l",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "0");
}
