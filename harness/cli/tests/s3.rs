//! S3 data locations against a real S3-compatible server (`s3s-fs`, built with `cargo install` by
//! `.ci/install`): generate and upload to `s3://`, run a 2-executor study that lists, shards and
//! reads objects, and the clear errors for a missing bucket or prefix, rejected credentials, an
//! unreachable endpoint and an object that is not parquet.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_ok as ok, free_port, installed_tool, records, serial, Server};
use harness_core::RunStatus;

struct Store {
    _server: Server,
    endpoint: String,
    root: PathBuf,
}

fn s3s_binary() -> PathBuf {
    installed_tool("HARNESS_S3S", "s3s/bin/s3s-fs")
}

/// Starts s3s-fs on a free port with bucket `data`.
fn start(dir: &Path) -> Store {
    let root = dir.join("s3root");
    std::fs::create_dir_all(root.join("data")).unwrap();
    let port = free_port();
    let mut cmd = Command::new(s3s_binary());
    cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", "harness", "--secret-key", "harness-secret"])
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Server::spawn(cmd).expect("s3s-fs starts");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "s3s-fs did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Store {
        _server: server,
        endpoint: format!("http://127.0.0.1:{port}"),
        root,
    }
}

fn harness(cwd: &Path, store: &Store, args: &[&str], secret: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(cwd)
        .env("AWS_ACCESS_KEY_ID", "harness")
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_ENDPOINT_URL", &store.endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HARNESS_CACHE", cwd.join("cache"))
        .output()
        .expect("harness runs")
}

const GEN: [&str; 8] = [
    "--train-files",
    "6",
    "--rows-per-file",
    "12000",
    "--val-files",
    "2",
    "--test-files",
    "2",
];

#[test]
fn studies_read_s3_objects_like_local_files() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = start(dir);
    let s = |a: &[&str]| ok(harness(dir, &store, a, "harness-secret"));

    // Same seed into S3 (generate --out s3://) and locally, then upload the local copy too.
    let mut args = vec!["data", "generate", "fractal", "--out", "s3://data/gen"];
    args.extend(GEN);
    s(&args);
    let mut args = vec!["data", "generate", "fractal", "--out", "local"];
    args.extend(GEN);
    s(&args);
    let out = s(&["data", "upload", "local", "s3://data/up/fractal"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("uploaded 10 objects"));

    for (study, data) in [
        ("local", "local"),
        ("gen", "s3://data/gen"),
        ("up", "s3://data/up/fractal"),
    ] {
        s(&[
            "run",
            "fractal-rf",
            "--data",
            data,
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--study",
            study,
        ]);
    }
    let local = &records(dir, "local")[0];
    for study in ["gen", "up"] {
        let r = &records(dir, study)[0];
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        // The same bytes, listed, sharded and read from objects: the same model.
        assert_eq!(r.data.files, 10);
        assert_eq!(r.data.bytes, local.data.bytes);
        assert_eq!(r.data.rows, local.data.rows);
        assert_eq!(r.metrics.val_accuracy, local.metrics.val_accuracy);
        assert_eq!(r.metrics.test_accuracy, local.metrics.test_accuracy);
        let (a, b) = (&r.executor_reports[0], &r.executor_reports[1]);
        assert_eq!(a.files, local.executor_reports[0].files);
        assert!(a.files.iter().all(|f| !b.files.contains(f)));
        assert!(a.rows > 0 && b.rows > 0);
    }

    // Batch scoring reads its input from S3 too: same AUC as logged for the model.
    s(&[
        "run",
        "wine",
        "--param",
        "evaluations=3",
        "--param",
        "baseline=false",
        "--study",
        "w",
    ]);
    let w = &records(dir, "w")[0];
    s(&["data", "export", "wine", "--out", "wexp", "--files", "3"]);
    s(&["data", "upload", "wexp/test", "s3://data/wine-test"]);
    let model = dir
        .join("results/w")
        .join(w.artifacts.as_ref().unwrap())
        .join("model");
    let out = s(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        "s3://data/wine-test",
        "--output",
        "scored",
        "--executors",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("scored 1625 rows on 2 executors"),
        "{stdout}"
    );
    let auc: f64 = stdout
        .split("ROC AUC against `label` ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!((auc - w.metrics.auc.unwrap()).abs() < 1e-6);

    // --results s3://: records mirrored after the run; a fresh machine (no local staging copy)
    // resumes from the mirror and runs nothing twice.
    let mirror = [
        "run",
        "wine",
        "--param",
        "evaluations=2",
        "--param",
        "baseline=false",
        "--study",
        "mir",
        "--results",
        "s3://data/results",
    ];
    s(&mirror);
    let staged = dir.join("cache/s3-results/data/results/mir/runs.jsonl");
    let mirrored = store.root.join("data/results/mir/runs.jsonl");
    assert_eq!(
        std::fs::read(&staged).unwrap(),
        std::fs::read(&mirrored).unwrap()
    );
    assert!(store.root.join("data/results/mir/logs").is_dir());
    std::fs::remove_dir_all(dir.join("cache")).unwrap();
    let mut again = mirror.to_vec();
    again.push("--resume");
    let out = s(&again);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("restored 1 records") && err.contains("0 runs made, 1 already recorded"),
        "{err}"
    );

    // Bad locations: exit 1, a message naming the place, nothing recorded.
    std::fs::create_dir_all(dir.join("bad/train")).unwrap();
    std::fs::write(dir.join("bad/train/notes.parquet"), b"not parquet at all").unwrap();
    s(&["data", "upload", "bad", "s3://data/bad"]);
    let cases: [(&str, &str, &str); 4] = [
        (
            "s3://nobucket/fractal",
            "harness-secret",
            "s3://nobucket/fractal/train/: the bucket does not exist",
        ),
        (
            "s3://data/missing",
            "harness-secret",
            "s3://data/missing holds no *.parquet objects for split `train`",
        ),
        ("s3://data/gen", "wrong-secret", "credentials rejected"),
        (
            "s3://data/bad",
            "harness-secret",
            "s3://data/bad/train/notes.parquet is not a readable parquet file",
        ),
    ];
    for (i, (data, secret, expect)) in cases.iter().enumerate() {
        let study = format!("bad{i}");
        let out = harness(
            dir,
            &store,
            &["run", "fractal-rf", "--data", data, "--study", &study],
            secret,
        );
        assert_eq!(out.status.code(), Some(1), "{data}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{data}: {err}");
        assert!(
            !dir.join("results").join(&study).exists(),
            "{data}: nothing recorded"
        );
    }
    let unreachable = Store {
        _server: Server::spawn(Command::new("true")).unwrap(),
        endpoint: "http://127.0.0.1:9".into(),
        root: store.root.clone(),
    };
    let out = harness(
        dir,
        &unreachable,
        &[
            "run",
            "fractal-rf",
            "--data",
            "s3://data/gen",
            "--study",
            "x",
        ],
        "harness-secret",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the S3 endpoint http://127.0.0.1:9"),
        "{err}"
    );
}
