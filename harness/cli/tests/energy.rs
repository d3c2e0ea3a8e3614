//! End-to-end tests of the `energy-lstm` workload over real `mpirun`: step-by-step parity of
//! the libtorch training with PyTorch (PyPI `torch`, installed by `.ci/install`) at 1 and 2
//! executors, the embedded-data run with its baseline and identical weights on every rank,
//! preparation and generation from the command line, and bad CSV input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_ok as ok, harness, installed_tool, records, serial};
use harness_core::{RunRecord, RunStatus};
use serde_json::Value;

fn artifacts(dir: &Path, study: &str, r: &RunRecord) -> PathBuf {
    dir.join("results")
        .join(study)
        .join(r.artifacts.as_ref().expect("artifacts"))
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn losses(v: &Value) -> Vec<f64> {
    v["step_loss"]
        .as_array()
        .expect("step_loss")
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn only_ok_record(dir: &Path, study: &str) -> RunRecord {
    let rs = records(dir, study);
    assert_eq!(rs.len(), 1, "{study}: one record");
    let r = rs.into_iter().next().unwrap();
    assert_eq!(r.status, RunStatus::Ok, "{study}: {:?}", r.error);
    r
}

#[test]
fn training_matches_pytorch_step_by_step_at_one_and_two_executors() {
    let _serial = serial();
    let python = installed_tool("HARNESS_TORCH_PYTHON", "torch/bin/python");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let prepared = dir.join("prepared");
    let out = ok(harness(
        dir,
        &[
            "data",
            "prepare",
            "energy",
            "--input",
            "embedded",
            "--out",
            prepared.to_str().unwrap(),
            "--files",
            "3",
        ],
    ));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("in 3 files"), "{said}");
    let mut runs = Vec::new();
    // 1 executor; 2 with shares that follow their speeds (the default); 2 with equal shares.
    for (executors, balance) in [("1", true), ("2", true), ("2", false)] {
        let study = format!("parity-{executors}-{balance}");
        ok(harness(
            dir,
            &[
                "run",
                "energy-lstm",
                "--data",
                prepared.to_str().unwrap(),
                "--executors",
                executors,
                "--cores",
                "1",
                "--param",
                "epochs=1",
                "--param",
                "export_weights=true",
                "--param",
                "baseline=false",
                "--param",
                &format!("balance={balance}"),
                "--study",
                &study,
            ],
        ));
        let r = only_ok_record(dir, &study);
        let a = artifacts(dir, &study, &r);
        runs.push((r, json(&a.join("training.json")), a));
    }
    // Same seeded initial weights at both executor counts.
    assert_eq!(
        std::fs::read(runs[0].2.join("initial-weights.json")).unwrap(),
        std::fs::read(runs[1].2.join("initial-weights.json")).unwrap()
    );
    let reference = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/energy_pytorch.py"))
        .arg(&prepared)
        .arg(runs[0].2.join("initial-weights.json"))
        .args(["500", "1", "42"])
        .output()
        .expect("the torch venv's python runs");
    assert!(
        reference.status.success(),
        "PyTorch reference failed: {}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let reference: Value = serde_json::from_slice(&reference.stdout).unwrap();
    let want = losses(&reference);
    assert_eq!(
        reference["rows"].as_u64().unwrap(),
        runs[0].0.data.rows.train,
        "PyTorch read the same training rows"
    );
    // The largest executor's share of the rows: all of them, a balanced half or more (at most
    // 4/5 by the split's bound), exactly half with equal shares (every batch of this data has an
    // even number of rows).
    let share = |i: usize| runs[i].0.metrics.extra["batch_share_max"];
    assert_eq!(share(0), 1.0);
    assert!((0.5..=0.8).contains(&share(1)), "{}", share(1));
    assert_eq!(share(2), 0.5);
    // training.json has every step's rows and compute seconds per executor: the rows of a step
    // sum to its batch (500, the last one less), equal halves when even, and every executor
    // computed for a positive time.
    for (i, even) in [(1, false), (2, true)] {
        let t = &runs[i].1;
        let rows = t["step_rows"].as_array().unwrap();
        let secs = t["step_compute_sec"].as_array().unwrap();
        assert_eq!(rows.len(), secs.len());
        assert_eq!(t["split"], if even { "even" } else { "balanced" });
        for (k, (r, c)) in rows.iter().zip(secs).enumerate() {
            let r: Vec<u64> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(r.len(), 2);
            let len = r.iter().sum::<u64>();
            assert!(len == 500 || k == rows.len() - 1, "step {k}: {r:?}");
            if even {
                assert_eq!(r[0], r[1], "step {k}");
            }
            assert!(c
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v.as_f64().unwrap() > 0.0));
        }
    }
    for ((r, training, _), tolerance) in runs.iter().zip([1e-4, 1e-3, 1e-3]) {
        let got = losses(training);
        assert_eq!(got.len(), want.len(), "steps per epoch");
        assert_eq!(got.len(), want.len().max(1));
        for (s, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                ((g - w) / w).abs() <= tolerance,
                "{} executor(s), step {s}: harness {g} vs PyTorch {w} (tolerance {tolerance} relative)",
                r.point.executors
            );
        }
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| ((g - w) / w).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "parity: {} executor(s), {} steps, largest relative loss difference to PyTorch {worst:.2e}",
            r.point.executors,
            got.len()
        );
        // The loss really fell: not a model that never trained.
        assert!(got[got.len() - 1] < got[0] / 4.0, "{got:?}");
    }
    // Both ranks of each 2-executor run hold bit-identical weights.
    for (two, _, _) in &runs[1..] {
        assert_eq!(two.executor_reports.len(), 2);
        assert_eq!(two.one_model(), Some(true), "{:?}", two.executor_reports);
    }
}

#[test]
fn embedded_run_records_lstm_and_baseline_with_identical_weights_on_every_rank() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(harness(
        dir,
        &[
            "run",
            "energy-lstm",
            "--executors",
            "2",
            "--cores",
            "1",
            "--study",
            "embedded",
            "--param",
            "engine=xgboost",
        ],
    ));
    let r = only_ok_record(dir, "embedded");
    let rmse = r.metrics.rmse.expect("rmse");
    let mae = r.metrics.mae.expect("mae");
    let x = &r.metrics.extra;
    // Predicting the training mean gives 5.55 kWh; PyTorch's run of the reference gave 1.47.
    assert!(rmse < 2.0 && mae < rmse, "rmse {rmse} mae {mae}");
    // Both engines' baselines are recorded; `engine=xgboost` makes XGBoost's the headline one.
    for engine in ["lightgbm", "xgboost"] {
        let (b_rmse, b_mae) = (
            x[&format!("baseline_{engine}_rmse")],
            x[&format!("baseline_{engine}_mae")],
        );
        assert!(b_rmse < 2.5 && b_mae < b_rmse, "{engine}: {x:?}");
    }
    assert_eq!(x["baseline_rmse"], x["baseline_xgboost_rmse"]);
    assert_eq!(x["baseline_mae"], x["baseline_xgboost_mae"]);
    // Two libraries, two models: the scores differ.
    assert_ne!(x["baseline_lightgbm_rmse"], x["baseline_xgboost_rmse"]);
    for k in 1..=6 {
        assert!(x[&format!("epoch_{k}_sec")] > 0.0 && x[&format!("epoch_{k}_loss")] > 0.0);
    }
    assert!(x["epoch_6_loss"] < x["epoch_1_loss"]);
    assert_eq!(r.one_model(), Some(true), "{:?}", r.executor_reports);
    // Every step is one allreduce of 18,049 gradients + the loss + 2 executors' compute
    // seconds (f32), after one broadcast of the initial weights: the bytes are measured by the
    // MPI layer, not assumed.
    let steps = x["steps_per_epoch"] as u64;
    assert_eq!(steps, r.data.rows.train.div_ceil(500));
    assert_eq!(x["parameters"], 18_049.0);
    for e in &r.executor_reports {
        assert_eq!(
            e.train_comm_bytes,
            Some(6 * steps * (18_049 + 1 + 2) * 4 + 18_049 * 4),
            "rank {}",
            e.rank
        );
        assert!(e.train_comm_sec.unwrap() > 0.0);
    }
    // 90/10 split by household of the 12,857 Kaggle households.
    assert_eq!(r.data.rows.train + r.data.rows.test, 90_000);
    let model = artifacts(dir, "embedded", &r).join("model");
    let meta = json(&model.join("harness-model.json"));
    assert_eq!(
        meta["scaler"]["train_households"].as_u64().unwrap()
            + meta["scaler"]["test_households"].as_u64().unwrap(),
        12_857
    );
    assert_eq!(meta["scaler"]["test_households"], 1286);
    assert!(model.join("model.safetensors").metadata().unwrap().len() > 18_049 * 4);
}

#[test]
fn bad_csv_input_is_named_by_file_line_and_column_and_nothing_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let head = "Household_ID,Date,Day_of_Week,Energy_Consumption_kWh,Household_Size,Avg_Temperature_C,Has_AC,Peak_Hours_Usage_kWh\n";
    let good = "H00001,4/1/2025,Tuesday,8.4,4,17.8,No,3.2\n";
    let cases = [
        ("missing.csv", "Household_ID,Date,Energy_Consumption_kWh,Household_Size,Has_AC,Peak_Hours_Usage_kWh\nH1,4/1/2025,8.4,4,No,3.2\n".to_string(), "no column `Avg_Temperature_C`"),
        ("number.csv", format!("{head}{good}H00001,4/2/2025,Wednesday,8.4,four,17.8,No,3.2\n"), "line 3, column `Household_Size`: `four` is not a number"),
        ("ac.csv", format!("{head}{good}H00001,4/2/2025,Wednesday,8.4,4,17.8,Sometimes,3.2\n"), "line 3, column `Has_AC`: `Sometimes` is neither Yes nor No"),
        ("date.csv", format!("{head}{good}H00001,2025-04-02,Wednesday,8.4,4,17.8,No,3.2\n"), "line 3, column `Date`: `2025-04-02` is not a date in M/D/YYYY form"),
    ];
    for (name, text, want) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out = harness(
            dir,
            &[
                "run",
                "energy-lstm",
                "--data",
                path.to_str().unwrap(),
                "--study",
                name,
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: accepted");
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
        assert!(
            !dir.join("results").join(name).join("runs.jsonl").exists(),
            "{name}: a record was written"
        );
    }
}

#[test]
fn generated_data_is_prepared_and_trains_at_a_fraction() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("gen");
    ok(harness(
        dir,
        &[
            "data",
            "generate",
            "energy",
            "--out",
            data.to_str().unwrap(),
            "--households",
            "3000",
            "--days",
            "10",
            "--files",
            "4",
        ],
    ));
    for split in ["train", "test"] {
        assert_eq!(
            std::fs::read_dir(data.join(split)).unwrap().count(),
            4,
            "{split}"
        );
    }
    ok(harness(
        dir,
        &[
            "run",
            "energy-lstm",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "2",
            "--fraction",
            "0.5",
            "--param",
            "epochs=3",
            "--param",
            "batch=50",
            "--study",
            "gen",
        ],
    ));
    let r = only_ok_record(dir, "gen");
    // 2 of 4 train files (households never split) and all 4 test files, counted once.
    assert_eq!(r.data.files, 6, "{:?}", r.data);
    assert_eq!(r.data.rows.test, 300 * 10);
    assert!(
        (r.data.rows.train as f64 - 1350.0 * 10.0).abs() < 10.0 * 20.0,
        "{}",
        r.data.rows.train
    );
    assert!(r.metrics.rmse.unwrap() < 3.0, "{:?}", r.metrics);
}
