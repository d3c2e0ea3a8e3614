//! End-to-end tests of the `wine` workload: the TPE search farmed over real `mpirun -np 2`,
//! tracking and registry in a real MLflow server (PyPI `mlflow`, started here), batch scoring of
//! the registered champion across 2 executors, and the scoring endpoint over loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use arrow_array::{Array, Float64Array};
use common::{assert_ok as ok, free_port, installed_tool, records, serial, Server};
use harness_core::{RunRecord, RunStatus};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};
use workload_wine::data::{self, FEATURES};
use workload_wine::search::Trial;

fn harness(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.args(args).current_dir(cwd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("harness runs")
}

fn trials(dir: &Path, study: &str, r: &RunRecord) -> Vec<Trial> {
    let path = dir
        .join("results")
        .join(study)
        .join(r.artifacts.as_ref().expect("artifacts"))
        .join("trials.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for(url: &str, what: &str, limit: Duration) {
    let t = Instant::now();
    loop {
        if ureq::get(url).call().is_ok() {
            return;
        }
        assert!(
            t.elapsed() < limit,
            "{what} did not answer {url} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn search_is_farmed_over_two_executors_and_survives_an_unreachable_mlflow() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = ok(harness(
        dir,
        &[
            "run",
            "wine",
            "--executors",
            "2",
            "--param",
            "evaluations=10",
            "--param",
            "baseline=false",
            "--study",
            "farm",
            "--mlflow",
            "http://127.0.0.1:9",
        ],
        &[],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: MLflow logging of") && stderr.contains("unreachable"),
        "{stderr}"
    );
    let recs = records(dir, "farm");
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.status, RunStatus::Ok);
    assert_eq!(r.executor_reports.len(), 2);
    let x = &r.metrics.extra;
    assert_eq!(x["trials"], 10.0);
    assert_eq!(x["slots"], 2.0);
    let util = x["slot_utilisation"];
    assert!(util > 0.3 && util <= 1.0, "utilisation {util}");
    let t = trials(dir, "farm", r);
    assert_eq!(
        t.iter().map(|t| t.id).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    // Both executors ran trials: rank 0 on its own slot and rank 1 over MPI.
    assert!(
        t.iter().any(|t| t.rank == 0) && t.iter().any(|t| t.rank == 1),
        "{t:?}"
    );
    assert!(t
        .iter()
        .all(|t| t.error.is_none() && t.auc > 0.8 && t.rounds >= 1));
    let best = t.iter().map(|t| t.auc).fold(f64::MIN, f64::max);
    assert_eq!(r.metrics.auc, Some(best));
    // The reported throughput is the trials over the search's wall time.
    let wall = t.iter().map(|t| t.finished_sec).fold(0.0, f64::max);
    assert!((x["trials_per_sec"] - 10.0 / wall).abs() / x["trials_per_sec"] < 0.05);
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join("results/farm")
                .join(r.artifacts.as_ref().unwrap())
                .join("model/harness-model.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["test_auc"].as_f64(), Some(best));

    // --parallelism 1 caps concurrent trials: one slot in all, on rank 0.
    ok(harness(
        dir,
        &[
            "run",
            "wine",
            "--executors",
            "2",
            "--parallelism",
            "1",
            "--param",
            "evaluations=4",
            "--param",
            "baseline=false",
            "--study",
            "capped",
        ],
        &[],
    ));
    let r = records(dir, "capped").remove(0);
    assert_eq!(r.metrics.extra["slots"], 1.0);
    assert_eq!(r.point.params["parallelism"], 1);
    let t = trials(dir, "capped", &r);
    assert_eq!(t.len(), 4);
    assert!(t.iter().all(|t| t.rank == 0), "{t:?}");
    // Serial trials: each is handed out after the previous one came back.
    for w in t.windows(2) {
        assert!(w[1].dispatched_sec >= w[0].finished_sec - 1e-3, "{w:?}");
    }
}

fn mlflow_binary() -> PathBuf {
    installed_tool("HARNESS_MLFLOW", "mlflow/bin/mlflow")
}

fn api(base: &str, path: &str, query: &[(&str, &str)]) -> Value {
    let mut req = ureq::get(&format!("{base}/api/2.0/mlflow/{path}"));
    for (k, v) in query {
        req = req.query(k, v);
    }
    req.call().unwrap().into_json().unwrap()
}

fn post(base: &str, path: &str, body: Value) -> Value {
    ureq::post(&format!("{base}/api/2.0/mlflow/{path}"))
        .send_json(body)
        .unwrap()
        .into_json()
        .unwrap()
}

fn scored_predictions(dir: &Path) -> Vec<f64> {
    let file = std::fs::File::open(dir.join("part-00000.parquet")).unwrap();
    let mut out = Vec::new();
    for b in ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        let p = b.column_by_name("prediction").unwrap();
        let p = p.as_any().downcast_ref::<Float64Array>().unwrap();
        out.extend((0..p.len()).map(|i| p.value(i)));
    }
    out
}

/// Waits for the scoring server at `surl`, posts the first 40 test rows and checks it answers
/// with the probabilities batch scoring wrote to `scored`; returns the test split, those rows
/// and the batch predictions.
fn served_matches_batch(surl: &str, scored: &Path) -> (data::WineData, Vec<Vec<f64>>, Vec<f64>) {
    wait_for(
        &format!("{surl}/ping"),
        "harness serve",
        Duration::from_secs(30),
    );
    let test = data::split(&data::load_embedded().unwrap(), data::SPLIT_SEED, 1.0).test;
    let n = 40;
    let rows: Vec<Vec<f64>> = (0..n).map(|i| test.row(i).to_vec()).collect();
    let resp: Value = ureq::post(&format!("{surl}/invocations"))
        .set("Content-Type", "application/json")
        .send_json(json!({"dataframe_split": {"columns": FEATURES, "data": rows}}))
        .unwrap()
        .into_json()
        .unwrap();
    let served: Vec<f64> = resp["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let batch = scored_predictions(scored);
    assert_eq!(served.len(), n);
    for (s, p) in served.iter().zip(&batch[..n]) {
        assert!((s - p).abs() < 1e-12, "served {s} vs batch {p}");
    }
    (test, rows, batch)
}

/// Starts MLflow's own scoring server on `model` (a directory, or a `models:/` URI resolved
/// through `tracking`) with the MLflow environment's Python (`--env-manager local`; .ci/install
/// puts the LightGBM and XGBoost flavours' libraries there) and checks it answers with the
/// probabilities batch scoring wrote to `scored`: MLflow reads the MLmodel the harness wrote.
fn mlflow_serves_like_batch(model: &str, tracking: Option<&str>, scored: &Path, log: &Path) {
    let mlflow = mlflow_binary();
    let venv_bin = mlflow.parent().unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let port = free_port();
    let mut cmd = Command::new(&mlflow);
    cmd.args(["models", "serve", "-m", model, "--env-manager", "local"])
        .args(["--host", "127.0.0.1", "-p", &port.to_string()])
        // uvicorn is started by name.
        .env("PATH", format!("{}:{path}", venv_bin.display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if let Some(uri) = tracking {
        cmd.env("MLFLOW_TRACKING_URI", uri);
    }
    let _server = Server::spawn(cmd).expect("mlflow models serve starts");
    let url = format!("http://127.0.0.1:{port}");
    wait_for(
        &format!("{url}/ping"),
        "mlflow models serve",
        Duration::from_secs(180),
    );
    served_matches_batch(&url, scored);
}

/// The 20+ malformed requests of the issue: each must get 400, never 500 or a dropped
/// connection.
fn malformed() -> Vec<(&'static str, String)> {
    let cols: Vec<&str> = FEATURES.to_vec();
    let row: Vec<Value> = (0..12).map(|i| json!(i as f64 * 0.5)).collect();
    let with = |i: usize, v: Value| {
        let mut r = row.clone();
        r[i] = v;
        json!({"dataframe_split": {"columns": cols, "data": [r]}}).to_string()
    };
    let record: serde_json::Map<String, Value> =
        cols.iter().map(|c| (c.to_string(), json!(1.0))).collect();
    let mut missing = record.clone();
    missing.remove("alcohol");
    let mut text = record.clone();
    text.insert("pH".into(), json!("acidic"));
    vec![
        ("not json", "{oops".into()),
        ("duplicated column", {
            // `pH` twice: the second copy (a string) would never be checked.
            let mut c = cols.clone();
            c.push("pH");
            let mut r = row.clone();
            r.push(json!("acidic"));
            json!({"dataframe_split": {"columns": c, "data": [r]}}).to_string()
        }),
        ("empty body", String::new()),
        ("array body", "[1, 2]".into()),
        ("string body", "\"wine\"".into()),
        ("no known key", json!({"foo": 1}).to_string()),
        (
            "both formats",
            json!({"dataframe_split": {}, "dataframe_records": []}).to_string(),
        ),
        ("tensor input", json!({"instances": [[1, 2]]}).to_string()),
        (
            "split not object",
            json!({"dataframe_split": [1]}).to_string(),
        ),
        (
            "columns missing",
            json!({"dataframe_split": {"data": [row]}}).to_string(),
        ),
        (
            "columns not array",
            json!({"dataframe_split": {"columns": "a", "data": [row]}}).to_string(),
        ),
        (
            "column not string",
            json!({"dataframe_split": {"columns": [1], "data": [row]}}).to_string(),
        ),
        (
            "feature missing",
            json!({"dataframe_split": {"columns": cols[..11], "data": [row[..11]]}}).to_string(),
        ),
        (
            "data missing",
            json!({"dataframe_split": {"columns": cols}}).to_string(),
        ),
        (
            "data not array",
            json!({"dataframe_split": {"columns": cols, "data": 3}}).to_string(),
        ),
        (
            "row not array",
            json!({"dataframe_split": {"columns": cols, "data": [5]}}).to_string(),
        ),
        (
            "short row",
            json!({"dataframe_split": {"columns": cols, "data": [row[..5]]}}).to_string(),
        ),
        ("string value", with(3, json!("sweet"))),
        ("null value", with(0, Value::Null)),
        ("boolean value", with(11, json!(true))),
        ("nested value", with(10, json!([12.5]))),
        (
            "number out of range",
            with(2, json!(0.25)).replace("0.25", "1e400"),
        ),
        (
            "no rows",
            json!({"dataframe_split": {"columns": cols, "data": []}}).to_string(),
        ),
        (
            "records not array",
            json!({"dataframe_records": {"a": 1}}).to_string(),
        ),
        (
            "record not object",
            json!({"dataframe_records": [1]}).to_string(),
        ),
        (
            "record missing field",
            json!({"dataframe_records": [missing]}).to_string(),
        ),
        (
            "record string value",
            json!({"dataframe_records": [text]}).to_string(),
        ),
    ]
}

#[test]
fn mlflow_tracking_registry_batch_scoring_and_serving() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut mlflow = Command::new(mlflow_binary());
    mlflow
        .args([
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--workers",
            "1",
        ])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.join("mlartifacts"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("mlflow.log")).unwrap());
    let _server = Server::spawn(mlflow).expect("mlflow server starts");
    wait_for(
        &format!("{base}/health"),
        "mlflow server",
        Duration::from_secs(120),
    );

    // Run A (6 trials) becomes champion; run B (3 trials: the first 3 of A's seeded sequence,
    // so no better) registers version 2 but must not take the alias.
    ok(harness(
        dir,
        &[
            "run",
            "wine",
            "--param",
            "evaluations=6",
            "--study",
            "ml",
            "--mlflow",
            &base,
        ],
        &[],
    ));
    let a = records(dir, "ml").remove(0);
    let cache = dir.join("cache");
    ok(harness(
        dir,
        &[
            "run",
            "wine",
            "--param",
            "evaluations=3",
            "--param",
            "baseline=false",
            "--study",
            "ml2",
        ],
        &[("MLFLOW_TRACKING_URI", Path::new(&base))],
    ));
    let b = records(dir, "ml2").remove(0);
    let best_a = a.metrics.auc.unwrap();
    assert!(b.metrics.auc.unwrap() <= best_a);

    // Runs: baseline + parent search + 6 nested trials, tagged with the study and run ids.
    let exp = api(
        &base,
        "experiments/get-by-name",
        &[("experiment_name", "ml")],
    );
    let exp_id = exp["experiment"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let runs = post(
        &base,
        "runs/search",
        json!({"experiment_ids": [exp_id], "max_results": 100}),
    );
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 8, "{runs:?}");
    let tag = |r: &Value, k: &str| {
        r["data"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == k)
            .map(|t| t["value"].as_str().unwrap().to_string())
    };
    let metric = |r: &Value, k: &str| {
        r["data"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == k)
            .and_then(|m| m["value"].as_f64())
    };
    let parent = runs
        .iter()
        .find(|r| tag(r, "harness.kind").as_deref() == Some("search"))
        .unwrap();
    let parent_id = parent["info"]["run_id"].as_str().unwrap();
    assert_eq!(metric(parent, "best_auc"), Some(best_a));
    let nested: Vec<&Value> = runs
        .iter()
        .filter(|r| tag(r, "mlflow.parentRunId").as_deref() == Some(parent_id))
        .collect();
    assert_eq!(nested.len(), 6);
    let best_nested = nested
        .iter()
        .filter_map(|r| metric(r, "auc"))
        .fold(f64::MIN, f64::max);
    assert_eq!(best_nested, best_a);
    for r in &nested {
        assert_eq!(tag(r, "harness.run_id").as_deref(), Some(a.run_id.as_str()));
        assert_eq!(r["data"]["params"].as_array().unwrap().len(), 5);
    }
    let baseline = runs
        .iter()
        .find(|r| tag(r, "harness.kind").as_deref() == Some("baseline"))
        .unwrap();
    let base_auc = metric(baseline, "test_auc").unwrap();
    assert_eq!(Some(base_auc), a.metrics.extra.get("baseline_auc").copied());
    assert!(base_auc >= 0.87, "baseline AUC {base_auc}");
    let listed = api(
        &base,
        "artifacts/list",
        &[("run_id", parent_id), ("path", "model")],
    );
    let files: Vec<&str> = listed["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"model/model.txt") && files.contains(&"model/MLmodel"),
        "{files:?}"
    );

    // Registry: two versions, champion stays on version 1 (run A's model).
    let versions = api(
        &base,
        "model-versions/search",
        &[("filter", "name='wine_quality'")],
    );
    assert_eq!(versions["model_versions"].as_array().unwrap().len(), 2);
    let champ = api(
        &base,
        "registered-models/alias",
        &[("name", "wine_quality"), ("alias", "champion")],
    );
    assert_eq!(champ["model_version"]["version"], "1");
    assert_eq!(champ["model_version"]["run_id"], parent_id);

    // Batch scoring of the champion over 2 executors reproduces the logged test AUC.
    ok(harness(
        dir,
        &["data", "export", "wine", "--out", "wexp", "--files", "4"],
        &[],
    ));
    let out = ok(harness(
        dir,
        &[
            "predict",
            "--model",
            "models:/wine_quality@champion",
            "--mlflow",
            &base,
            "--input",
            "wexp/test",
            "--output",
            "scored",
            "--executors",
            "2",
        ],
        &[("HARNESS_CACHE", &cache)],
    ));
    let auc = printed_auc(&out);
    assert!(
        (auc - best_a).abs() < 1e-6,
        "predict AUC {auc} vs logged {best_a}"
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("scored/_predict_summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["rows"], 1625);
    assert_eq!(summary["per_rank"].as_array().unwrap().len(), 2);
    assert!(summary["rows_per_sec"].as_f64().unwrap() > 0.0);

    // Serving the champion answers with the same probabilities as batch scoring.
    let sport = free_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_harness"));
    serve
        .args([
            "serve",
            "--model",
            "models:/wine_quality@champion",
            "--mlflow",
            &base,
        ])
        .args(["--port", &sport.to_string()])
        .env("HARNESS_CACHE", &cache)
        .stderr(Stdio::null());
    let _serve = Server::spawn(serve).unwrap();
    let surl = format!("http://127.0.0.1:{sport}");
    let (test, rows, batch) = served_matches_batch(&surl, &dir.join("scored"));
    let records: Vec<Value> = (0..3)
        .map(|i| {
            Value::Object(
                FEATURES
                    .iter()
                    .zip(test.row(i))
                    .map(|(f, v)| (f.to_string(), json!(v)))
                    .collect(),
            )
        })
        .collect();
    let resp: Value = ureq::post(&format!("{surl}/invocations"))
        .send_json(json!({ "dataframe_records": records }))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(resp["predictions"].as_array().unwrap().len(), 3);
    assert_eq!(resp["predictions"][2].as_f64(), Some(batch[2]));

    // Malformed requests: 400 with a message, and the server keeps serving.
    let cases = malformed();
    assert!(cases.len() >= 20);
    for (what, body) in cases {
        match ureq::post(&format!("{surl}/invocations"))
            .set("Content-Type", "application/json")
            .send_string(&body)
        {
            Err(ureq::Error::Status(400, r)) => {
                let v: Value = r.into_json().unwrap();
                assert_eq!(v["error_code"], "BAD_REQUEST", "{what}");
                assert!(!v["message"].as_str().unwrap().is_empty(), "{what}");
            }
            other => panic!("{what}: expected 400, got {other:?}"),
        }
    }
    // Content type: missing or not JSON → 415, as MLflow's scoring server answers.
    let one = json!({"dataframe_split": {"columns": FEATURES, "data": [rows[0].clone()]}});
    for ct in [None, Some("text/csv")] {
        let mut req = ureq::post(&format!("{surl}/invocations"));
        if let Some(ct) = ct {
            req = req.set("Content-Type", ct);
        }
        match req.send_bytes(one.to_string().as_bytes()) {
            Err(ureq::Error::Status(415, r)) => {
                let v: Value = r.into_json().unwrap();
                assert_eq!(v["error_code"], "UNSUPPORTED_MEDIA_TYPE", "{ct:?}");
            }
            other => panic!("{ct:?}: expected 415, got {other:?}"),
        }
    }
    assert!(ureq::get(&format!("{surl}/health")).call().is_ok());

    // MLflow's own server serves the registered LightGBM champion from the registry.
    mlflow_serves_like_batch(
        "models:/wine_quality@champion",
        Some(&base),
        &dir.join("scored"),
        &dir.join("mlflow-serve.log"),
    );
}

/// The AUC `harness predict` printed against the input's `label`.
fn printed_auc(out: &Output) -> f64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split("ROC AUC against `label` ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no AUC in {stdout}"))
}

/// XGBoost, the reference notebook's library: the search farmed over 2 executors, the best
/// model saved as XGBoost JSON with MLflow's `xgboost` flavour, batch scoring over 2 executors
/// and serving reproducing the logged AUC; then a study over both engines, one series each.
#[test]
fn xgboost_search_saves_a_model_that_predict_and_serve_reproduce_and_engines_are_an_axis() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(harness(
        dir,
        &[
            "run",
            "wine",
            "--executors",
            "2",
            "--param",
            "engine=xgboost",
            "--param",
            "evaluations=8",
            "--param",
            "baseline=false",
            "--study",
            "xgb",
        ],
        &[],
    ));
    let r = records(dir, "xgb").remove(0);
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
    assert_eq!(r.point.params["engine"], "xgboost");
    let t = trials(dir, "xgb", &r);
    assert_eq!(t.len(), 8);
    assert!(
        t.iter().any(|t| t.rank == 0) && t.iter().any(|t| t.rank == 1),
        "{t:?}"
    );
    assert!(
        t.iter()
            .all(|t| t.error.is_none() && t.auc > 0.8 && (1..=1000).contains(&t.rounds)),
        "{t:?}"
    );
    let best = r.metrics.auc.unwrap();
    assert_eq!(best, t.iter().map(|t| t.auc).fold(f64::MIN, f64::max));

    // The model directory: XGBoost's JSON holding exactly the kept rounds, and an MLmodel with
    // the xgboost flavour.
    let model = dir
        .join("results/xgb")
        .join(r.artifacts.as_ref().unwrap())
        .join("model");
    assert!(!model.join("model.txt").exists());
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    let trees = json["learner"]["gradient_booster"]["model"]["trees"]
        .as_array()
        .expect("an XGBoost JSON model")
        .len();
    assert_eq!(trees as f64, r.metrics.extra["best_rounds"]);
    let mlmodel = std::fs::read_to_string(model.join("MLmodel")).unwrap();
    for line in [
        "  xgboost:\n",
        "    data: model.json\n",
        "    model_format: json\n",
        "    loader_module: mlflow.xgboost\n",
    ] {
        assert!(mlmodel.contains(line), "{line:?} in {mlmodel}");
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("harness-model.json")).unwrap())
            .unwrap();
    assert_eq!(meta["engine"], "xgboost");
    assert_eq!(meta["test_auc"].as_f64(), Some(best));

    // Batch scoring over 2 executors reproduces the logged test AUC.
    ok(harness(
        dir,
        &["data", "export", "wine", "--out", "wexp", "--files", "4"],
        &[],
    ));
    let model_arg = model.to_str().unwrap();
    let out = ok(harness(
        dir,
        &[
            "predict",
            "--model",
            model_arg,
            "--input",
            "wexp/test",
            "--output",
            "scored",
            "--executors",
            "2",
        ],
        &[],
    ));
    let auc = printed_auc(&out);
    assert!(
        (auc - best).abs() < 1e-6,
        "predict AUC {auc} vs logged {best}"
    );

    // Serving answers with the batch probabilities.
    let sport = free_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_harness"));
    serve
        .args(["serve", "--model", model_arg])
        .args(["--port", &sport.to_string()])
        .stderr(Stdio::null());
    let _serve = Server::spawn(serve).unwrap();
    let surl = format!("http://127.0.0.1:{sport}");
    served_matches_batch(&surl, &dir.join("scored"));
    let version: Value = ureq::get(&format!("{surl}/version"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(version.to_string().contains("xgboost"), "{version}");
    // So does MLflow's own server, through the MLmodel's xgboost flavour.
    mlflow_serves_like_batch(
        model_arg,
        None,
        &dir.join("scored"),
        &dir.join("mlflow-serve.log"),
    );

    // A list of engines is an axis of the study: one record and one report series each.
    ok(harness(
        dir,
        &[
            "run",
            "wine",
            "--executors",
            "1",
            "--param",
            r#"engine=["lightgbm","xgboost"]"#,
            "--param",
            "evaluations=3",
            "--param",
            "baseline=false",
            "--study",
            "engines",
        ],
        &[],
    ));
    let rs = records(dir, "engines");
    let mut engines: Vec<&str> = rs
        .iter()
        .map(|r| {
            assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
            // The version read from the loaded library, not the constant.
            assert_eq!(
                r.provenance.xgboost_version.as_deref(),
                Some(harness_xgboost::XGBOOST_VERSION)
            );
            r.point.params["engine"].as_str().unwrap()
        })
        .collect();
    engines.sort();
    assert_eq!(engines, ["lightgbm", "xgboost"]);
    assert_ne!(rs[0].run_id, rs[1].run_id);
    let page = std::fs::read_to_string(dir.join("reports/engines/index.html")).unwrap();
    // Every per-point table names each row's engine, or the two 1-executor rows are twins.
    for table in ["summary-table", "workload-metrics-table", "farm-table"] {
        let start = page
            .find(&format!("id=\"{table}\""))
            .unwrap_or_else(|| panic!("{table} in the report"));
        let body = &page[start..start + page[start..].find("</table>").unwrap()];
        for engine in ["engine=lightgbm", "engine=xgboost"] {
            assert_eq!(body.matches(engine).count(), 1, "{engine} in {table}");
        }
    }
}
