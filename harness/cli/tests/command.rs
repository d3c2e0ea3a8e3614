//! The `command` workload end to end: real `mpirun`, real cgroups, a real PyTorch process
//! group (the torch venv `.ci/install --tests` makes), and every bad-input case.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_ok as ok, harness, installed_tool, records, serial};
use harness_core::record::RunStatus;

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn per_executor_jobs_see_their_rank_and_shard_and_form_a_torch_process_group() {
    let _serial = serial();
    let python = installed_tool("HARNESS_TORCH_PYTHON", "torch/bin/python");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Five training files of different sizes, one test file; fraction 0.8 takes a b c d.
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("train")).unwrap();
    std::fs::create_dir_all(data.join("test")).unwrap();
    for (name, kib) in [("a", 40), ("b", 10), ("c", 30), ("d", 20), ("e", 5)] {
        std::fs::write(data.join("train").join(name), vec![7u8; kib << 10]).unwrap();
    }
    std::fs::write(data.join("test/t"), "x").unwrap();
    let out_dir = dir.join("seen");
    std::fs::create_dir_all(&out_dir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/command_ddp.py");
    let out = ok(harness(
        dir,
        &[
            "run",
            "command",
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "2g",
            "--fraction",
            "0.8",
            "--data",
            data.to_str().unwrap(),
            "--param",
            &format!("out={}", out_dir.display()),
            "--param",
            "seed=7",
            "--study",
            "ddp",
            "--",
            python.to_str().unwrap(),
            script.to_str().unwrap(),
        ],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let recs = records(dir, "ddp");
    assert_eq!(recs.len(), 1, "{stderr}");
    let r = &recs[0];
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
    assert_eq!(r.workload, "command");
    assert_eq!(
        r.metrics.extra["allreduce_sum"], 3.0,
        "1 + 2 over the group"
    );
    assert_eq!(r.times.training_time_sec, Some(0.25), "the job's own time");
    assert_eq!(r.times.training_time_source.as_deref(), Some("job"));
    for k in [
        "job_wall_sec",
        "job_startup_sec",
        "job_cpu_sec",
        "job_peak_bytes",
    ] {
        assert!(r.metrics.extra[k] > 0.0, "{k}: {:?}", r.metrics.extra);
    }
    assert!(r.metrics.extra["job_startup_sec"] < r.times.total_time_sec);
    assert!(
        r.metrics.extra["job_peak_bytes"] > 50e6,
        "python with torch holds more than 50 MB: {}",
        r.metrics.extra["job_peak_bytes"]
    );
    assert!(
        !r.metrics.extra.contains_key("engine"),
        "text is not a metric"
    );
    // The record counts the shards' files: 4 of the 5 training files.
    assert_eq!(r.data.files, 4);
    assert_eq!(r.data.bytes, 100 << 10);

    let seen: Vec<serde_json::Value> = (0..2)
        .map(|k| read_json(&out_dir.join(format!("rank{k}.json"))))
        .collect();
    let files = |v: &serde_json::Value, k: &str| -> Vec<String> {
        v[k].as_str()
            .unwrap()
            .lines()
            .map(|l| l.rsplit('/').next().unwrap().to_string())
            .collect()
    };
    for (rank, s) in seen.iter().enumerate() {
        assert_eq!(s["RANK"], rank.to_string());
        assert_eq!(s["LOCAL_RANK"], rank.to_string());
        assert_eq!(s["WORLD_SIZE"], "2");
        assert_eq!(s["LOCAL_WORLD_SIZE"], "2");
        assert_eq!(s["MASTER_ADDR"], "127.0.0.1");
        assert_eq!(s["MASTER_PORT"], seen[0]["MASTER_PORT"]);
        assert_eq!(s["OMP_NUM_THREADS"], "1");
        assert_eq!(s["torch_threads"], 1, "torch follows OMP_NUM_THREADS");
        assert_eq!(s["HARNESS_EXECUTORS"], "2");
        assert_eq!(s["HARNESS_CORES"], "1");
        assert_eq!(s["HARNESS_MEMORY_BYTES"], (2u64 << 30).to_string());
        assert_eq!(s["HARNESS_FRACTION"], "0.8");
        assert_eq!(s["HARNESS_REPETITION"], "0");
        assert_eq!(s["HARNESS_SEED"], "7");
        let params: serde_json::Value =
            serde_json::from_str(s["HARNESS_PARAMS"].as_str().unwrap()).unwrap();
        assert_eq!(params["seed"], 7);
        assert_eq!(params["command"]["argv"][1], script.to_str().unwrap());
        assert_eq!(
            s["HARNESS_DATA"],
            std::fs::canonicalize(&data).unwrap().to_str().unwrap()
        );
        assert_eq!(files(s, "HARNESS_FILES"), ["a", "b", "c", "d"]);
        assert_eq!(files(s, "HARNESS_TEST_FILES"), ["t"]);
        assert_eq!(s["HARNESS_VAL_FILES"], "");
        assert!(s["HARNESS_RESULT"]
            .as_str()
            .unwrap()
            .ends_with(&format!(".{rank}.result.json")));
        assert!(
            s["OMPI_COMM_WORLD_RANK"].is_null(),
            "Open MPI's own variables are not passed"
        );
        assert_eq!(s["allreduce_sum"], 3.0);
    }
    // Byte-balanced shards: a (40) + b (10) and c (30) + d (20).
    assert_eq!(files(&seen[0], "HARNESS_SHARD_FILES"), ["a", "b"]);
    assert_eq!(files(&seen[1], "HARNESS_SHARD_FILES"), ["c", "d"]);
    let log =
        std::fs::read_to_string(dir.join("results/ddp").join(r.log.as_deref().unwrap())).unwrap();
    assert!(
        log.contains("rank 1 of 2 done"),
        "the job's output is in the run's log"
    );
}

/// Four processes spinning for 3 s; prints what it was given as numbers.
const SPINNERS: &str = "import json, os, time
pids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            pass
        os._exit(0)
    pids.append(pid)
for p in pids:
    os.waitpid(p, 0)
e = os.environ
print(json.dumps({k: int(e[k]) for k in ['WORLD_SIZE', 'OMP_NUM_THREADS', 'HARNESS_EXECUTORS', 'HARNESS_PROCESS_CORES', 'HARNESS_PROCESS_MEMORY_BYTES']} | {'once': e['HARNESS_LAUNCH'] == 'once'}))";

#[test]
fn a_job_spinning_more_processes_than_its_cores_is_held_to_its_cgroup_per_executor_or_once() {
    let _serial = serial();
    if common::skipped_without_cgroups(
        "a_job_spinning_more_processes_than_its_cores_is_held_to_its_cgroup_per_executor_or_once",
    ) {
        return;
    }
    let python = installed_tool("HARNESS_TORCH_PYTHON", "torch/bin/python");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(harness(
        dir,
        &[
            "run",
            "command",
            "--executors",
            "1",
            "--cores",
            "1,2",
            "--memory",
            "1g",
            "--study",
            "spin",
            "--",
            python.to_str().unwrap(),
            "-c",
            SPINNERS,
        ],
    ));
    // Two executors of 1 core launched once: one process with both CPUs and 2 × 1g.
    ok(harness(
        dir,
        &[
            "run",
            "command",
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--param",
            "launch=once",
            "--study",
            "spin",
            "--resume",
            "--",
            python.to_str().unwrap(),
            "-c",
            SPINNERS,
        ],
    ));
    let recs = records(dir, "spin");
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        let once = r.point.params.contains_key("launch");
        let cores = r.point.cores * r.point.executors;
        let x = &r.metrics.extra;
        assert_eq!(x["once"], f64::from(u8::from(once)));
        assert_eq!(x["HARNESS_EXECUTORS"], f64::from(r.point.executors));
        assert_eq!(x["WORLD_SIZE"], 1.0);
        assert_eq!(x["OMP_NUM_THREADS"], f64::from(cores));
        assert_eq!(x["HARNESS_PROCESS_CORES"], f64::from(cores));
        assert_eq!(
            x["HARNESS_PROCESS_MEMORY_BYTES"],
            f64::from(r.point.executors) * (1u64 << 30) as f64
        );
        assert_eq!(r.executor_reports.len(), 1, "one process");
        let e = &r.executor_reports[0];
        assert_eq!(e.cores_requested, cores);
        assert_eq!(
            e.memory_limit_bytes,
            Some(u64::from(r.point.executors) << 30)
        );
        let k = &e.kernel.as_ref().unwrap().train;
        // The job's whole tree is measured: its CPU time over the phase's wall time is the
        // cores it was held to, not the 4 it asked for (nor the executor's own ~0).
        let used = k.cpu_sec / k.wall_sec;
        assert!(
            (f64::from(cores) * 0.75..f64::from(cores) * 1.1).contains(&used),
            "{cores} cores: the tree used {used:.2} CPUs ({k:?})"
        );
        assert_eq!(e.cores_measured, cores);
        assert!(!k.contended, "its own tree is not contention: {k:?}");
        assert!(e.enforced, "{:?}", e.enforcement_note);
        assert!(
            (r.metrics.extra["job_cpu_sec"] - k.cpu_sec).abs() < 0.2 * k.cpu_sec,
            "job_cpu_sec {} against the phase's {}",
            r.metrics.extra["job_cpu_sec"],
            k.cpu_sec
        );
        assert_eq!(
            r.times.training_time_source.as_deref(),
            Some("process-wall")
        );
        let t = r.times.training_time_sec.unwrap();
        assert!((3.0..6.0).contains(&t), "the process's wall time: {t}");
    }
}

/// `sh -c SCRIPT`.
fn sh(script: &str) -> Vec<&str> {
    vec!["sh", "-c", script]
}

/// `harness run command --study bad --resume --retries 0 <extra> -- <argv>` in `dir`.
fn run_bad(dir: &Path, extra: &[&str], argv: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        "command",
        "--study",
        "bad",
        "--resume",
        "--retries",
        "0",
        "--memory",
        "1g",
    ];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(argv);
    harness(dir, &args)
}

#[test]
fn bad_jobs_get_their_status_and_cause_and_nothing_recorded_is_lost() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // A good run first.
    ok(run_bad(dir, &[], &sh("echo '{\"rmse\": 1.5}'")));
    // A program that cannot be found: an error before any run.
    let o = run_bad(dir, &[], &["no-such-program-xyz", "--flag"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`no-such-program-xyz` is not found on PATH"),
        "{}",
        stderr(&o)
    );
    assert_eq!(records(dir, "bad").len(), 1, "nothing recorded for it");

    // A non-zero exit: failed, with the end of its stderr.
    let o = run_bad(
        dir,
        &["--executors", "2"],
        &sh("echo oops-$RANK >&2; exit 4"),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // No result line; malformed JSON.
    run_bad(dir, &[], &sh("echo starting; echo"));
    run_bad(dir, &[], &sh("echo '{\"auc\": 0.8,, }'"));
    // The result file wins over stdout.
    ok(run_bad(
        dir,
        &[],
        &sh("echo '{\"auc\": 0.9}' > \"$HARNESS_RESULT\"; echo not-json"),
    ));
    // A timeout kills the job's whole tree.
    run_bad(
        dir,
        &["--timeout", "4"],
        &sh("sleep 300 & sleep 301; echo '{}'"),
    );
    let recs = records(dir, "bad");
    let got: Vec<(RunStatus, String)> = recs
        .iter()
        .map(|r| (r.status, r.error.clone().unwrap_or_default()))
        .collect();
    assert_eq!(got.len(), 6, "{got:#?}");
    assert_eq!(got[0].0, RunStatus::Ok);
    assert_eq!(recs[0].metrics.rmse, Some(1.5));
    assert_eq!(got[1].0, RunStatus::Failed);
    assert!(got[1].1.contains("exited with status 4"), "{}", got[1].1);
    assert!(
        got[1].1.contains("oops-"),
        "its stderr is quoted: {}",
        got[1].1
    );
    assert_eq!(got[2].0, RunStatus::Failed);
    assert!(got[2].1.contains("`starting`"), "{}", got[2].1);
    assert_eq!(got[3].0, RunStatus::Failed);
    assert!(
        got[3].1.contains(r#"`{"auc": 0.8,, }`"#) && got[3].1.contains("column 13"),
        "{}",
        got[3].1
    );
    assert_eq!(got[4].0, RunStatus::Ok, "{}", got[4].1);
    assert_eq!(recs[4].metrics.auc, Some(0.9));
    assert_eq!(got[5].0, RunStatus::Timeout, "{}", got[5].1);
    // Without cgroups the driver kills only mpirun; the job's own children may outlive it.
    if !common::cgroups_writable() {
        return;
    }
    let left = Command::new("pgrep")
        .args(["-f", "sleep 30[01]"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the job's tree is killed: {:?}",
        left
    );
}

#[test]
fn a_job_over_its_memory_limit_is_recorded_as_oom() {
    let _serial = serial();
    if common::skipped_without_cgroups("a_job_over_its_memory_limit_is_recorded_as_oom") {
        return;
    }
    let python = installed_tool("HARNESS_TORCH_PYTHON", "torch/bin/python");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = harness(
        dir,
        &[
            "run",
            "command",
            "--memory",
            "128m",
            "--retries",
            "0",
            "--study",
            "oom",
            "--",
            python.to_str().unwrap(),
            "-c",
            "b = b'x' * (400 << 20); print('{}')",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let r = &records(dir, "oom")[0];
    assert_eq!(r.status, RunStatus::Oom, "{:?}", r.error);
    assert_eq!(r.oom.as_ref().unwrap().memory_limit_bytes, 128 << 20);
}

#[test]
fn spark_mllib_and_our_engine_side_by_side_in_one_comparison_study() {
    let _serial = serial();
    let python = installed_tool("HARNESS_SPARK_PYTHON", "spark/bin/python");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = common::generate_fractal(dir, "data", "4", "20000");
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spark-rf-fractal/job.py");
    // The shipped comparison's series on a small grid: Spark launched once gets local[E].
    let file = dir.join("vs.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "vs"
executors = [1, 2]
cores = [1]
memory = ["2g"]
fractions = [1.0]
repetitions = 1
data = "{}"

[[series]]
name = "harness"
workload = "fractal-rf"
params = {{ eval_fraction = 0.5 }}

[[series]]
name = "spark"
workload = "command"
command = ["{}", "{}"]
params = {{ launch = "once", eval_fraction = 0.5 }}
"#,
            data.display(),
            python.display(),
            job.display()
        ),
    )
    .unwrap();
    let out = ok(harness(dir, &["study", file.to_str().unwrap()]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ours = records(dir, "vs.harness");
    let spark = records(dir, "vs.spark");
    assert_eq!((ours.len(), spark.len()), (2, 2));
    // Interleaved point by point: ours e1, Spark e1, ours e2, Spark e2.
    let mut order: Vec<(&str, u32, chrono::DateTime<chrono::Utc>)> = ours
        .iter()
        .chain(&spark)
        .map(|r| (r.study.as_str(), r.point.executors, r.started_at))
        .collect();
    order.sort_by_key(|o| o.2);
    let order: Vec<(&str, u32)> = order.iter().map(|o| (o.0, o.1)).collect();
    assert_eq!(
        order,
        [
            ("vs.harness", 1),
            ("vs.spark", 1),
            ("vs.harness", 2),
            ("vs.spark", 2)
        ]
    );
    let ours_acc = ours[0].metrics.test_accuracy.unwrap();
    assert_eq!(
        ours[1].metrics.test_accuracy,
        Some(ours_acc),
        "the same forest at 2 executors"
    );
    for r in &spark {
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        let acc = r.metrics.test_accuracy.unwrap();
        assert!(
            (acc - ours_acc).abs() <= 0.01,
            "Spark MLlib {acc} against our MLlib engine {ours_acc} at local[{}]",
            r.point.executors
        );
        assert!(r.metrics.val_accuracy.is_some());
        assert_eq!(r.metrics.extra["train_rows"], 80_000.0);
        assert_eq!(r.times.training_time_source.as_deref(), Some("job"));
        let e = &r.executor_reports[0];
        let k = &e.kernel.as_ref().unwrap().train;
        // pyspark leaves its JVM to end on its own: it is waited for, and its CPU time is the
        // job's, not "other processes" on the executor's CPUs.
        assert!(
            k.cpu_sec > r.times.training_time_sec.unwrap(),
            "the JVM's CPU time is counted: {k:?}"
        );
        assert!(!k.contended, "{:?}", e.enforcement_note);
        assert_eq!(
            e.cores_measured, r.point.executors,
            "launched once: E × 1 cores"
        );
    }
    // The side-by-side table, from the records as the page computes it, on the page, in
    // summary.md and on stdout.
    let side = harness_report::versus::versus(
        &harness_report::overlay(vec![ours.clone(), spark.clone()]).unwrap(),
    );
    assert_eq!(side.len(), 2);
    for v in &side {
        let t = v.training.as_ref().unwrap();
        let spark_t = spark
            .iter()
            .find(|r| r.point.executors == v.point.executors)
            .and_then(|r| r.times.training_time_sec)
            .unwrap();
        assert_eq!(t.compared, spark_t);
        assert!((t.value - t.compared / t.first).abs() < 1e-12);
        let (metric, q) = v.quality.as_ref().unwrap();
        assert_eq!(metric.title(), "accuracy");
        assert!(q.value.abs() <= 0.01 && q.first == ours_acc, "{q:?}");
        assert_eq!(v.training_time_source.as_deref(), Some("job"));
    }
    let page = std::fs::read_to_string(dir.join("reports/vs/index.html")).unwrap();
    assert!(page.contains("id=\"versus-table\"") && page.contains("id=\"side-by-side\""));
    let table = &page[page.find("id=\"versus-table\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(
        table.matches(">spark</td>").count(),
        2,
        "a row per point: {table}"
    );
    let md = std::fs::read_to_string(dir.join("reports/vs/summary.md")).unwrap();
    assert!(md.contains("## Side by side (against vs.harness)"), "{md}");
    assert!(stdout.contains("| spark | 2 | 1 |"), "{stdout}");
}
