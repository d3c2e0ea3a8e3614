//! End-to-end tests of `gbm-folds`: generated time-series folds, tasks farmed over real
//! `mpirun -np 2`, per-task and per-grid-point parquet, the report's task timeline; and bad
//! grids or data refused before any run.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_array::{Array, Float64Array, UInt32Array};
use common::{assert_ok, harness, records, serial};
use harness_core::RunStatus;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// 6,000 hourly rows × 40 features, 2 files per time block: fold K trains on 2(K + 1) files.
fn generate(dir: &Path) -> PathBuf {
    let data = dir.join("ts");
    assert_ok(harness(
        dir,
        &[
            "data",
            "generate",
            "gbm-folds",
            "--out",
            data.to_str().unwrap(),
            "--rows",
            "6000",
            "--features",
            "40",
            "--files-per-fold",
            "2",
            "--seed",
            "5",
        ],
    ));
    data
}

fn read(path: &Path) -> RecordBatch {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn u32s(b: &RecordBatch, name: &str) -> Vec<u32> {
    let c = b.column_by_name(name).unwrap();
    let c = c.as_any().downcast_ref::<UInt32Array>().unwrap();
    c.values().to_vec()
}

fn f64s(b: &RecordBatch, name: &str) -> Vec<f64> {
    let c = b.column_by_name(name).unwrap();
    let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
    (0..c.len()).map(|i| c.value(i)).collect()
}

#[test]
fn tasks_are_farmed_over_two_executors_into_parquet_and_a_timeline() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate(dir);
    let layout = std::fs::read_to_string(data.join("gbm-folds.json")).unwrap();
    assert!(layout.contains("\"blocks\""), "{layout}");
    std::fs::write(
        dir.join("grid.toml"),
        "max_depth = [3, 6, 9]\nlambda_l1 = [0.3]\n",
    )
    .unwrap();
    let out = assert_ok(harness(
        dir,
        &[
            "run",
            "gbm-folds",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "2g",
            "--fraction",
            "0.5",
            "--grid",
            "grid.toml",
            "--param",
            "rounds=40",
            "--param",
            "early_stopping=5",
            "--param",
            "num_leaves=15",
            "--study",
            "g",
        ],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tasks/s"), "{stderr}");

    let recs = records(dir, "g");
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
    // The grid file's content, not its path, is in the record.
    assert_eq!(
        r.point.params["grid"],
        serde_json::json!({"lambda_l1": [0.3], "max_depth": [3.0, 6.0, 9.0]})
    );
    let x = &r.metrics.extra;
    assert_eq!(x["tasks"], 12.0);
    assert_eq!(x["failed_tasks"], 0.0);
    assert_eq!(x["grid_points"], 3.0);
    assert_eq!(x["folds"], 4.0);
    assert_eq!(x["slots"], 2.0);
    // Fraction 0.5 of fold K's 2(K + 1) train files = the oldest K + 1 files; blocks are
    // 1,200 rows (6,000 / 5) of 600 rows per file.
    assert_eq!(r.data.rows.train, 600 * (1 + 2 + 3 + 4));
    assert_eq!(r.data.rows.test, 4 * 1200);

    // Farm stats in the record: 12 tasks on both executors.
    let farm = r.farm.as_ref().expect("farm stats");
    assert_eq!(farm.slots, vec![1, 1]);
    assert_eq!(farm.tasks.len(), 12);
    let ranks: BTreeSet<u32> = farm.tasks.iter().map(|t| t.rank).collect();
    assert_eq!(ranks, BTreeSet::from([0, 1]));
    assert!((x["tasks_per_sec"] - farm.tasks_per_sec()).abs() < 1e-9);

    // tasks.parquet: every (grid point, fold) once, placed as the record says.
    let art = dir
        .join("results/g")
        .join(r.artifacts.as_ref().expect("artifacts"));
    let tasks = read(&art.join("tasks.parquet"));
    assert_eq!(tasks.num_rows(), 12);
    let pairs: BTreeSet<(u32, u32)> = u32s(&tasks, "grid_point")
        .into_iter()
        .zip(u32s(&tasks, "fold"))
        .collect();
    assert_eq!(pairs.len(), 12);
    let by_id: Vec<(u32, u32)> = u32s(&tasks, "task")
        .into_iter()
        .zip(u32s(&tasks, "rank"))
        .collect();
    for (id, rank) in by_id {
        let span = farm.tasks.iter().find(|t| t.id == id).unwrap();
        assert_eq!(span.rank, rank);
    }
    let aucs = f64s(&tasks, "auc");
    assert!(aucs.iter().all(|a| (0.5..=1.0).contains(a)), "{aucs:?}");
    assert!(f64s(&tasks, "rounds")
        .iter()
        .all(|r| (1.0..=40.0).contains(r)));

    // grid.parquet: the mean AUC over folds per point; the best is the record's AUC.
    let grid = read(&art.join("grid.parquet"));
    assert_eq!(grid.num_rows(), 3);
    assert_eq!(u32s(&grid, "folds_ok"), vec![4, 4, 4]);
    let means = f64s(&grid, "auc_mean");
    for (g, mean) in means.iter().enumerate() {
        let folds: Vec<f64> = u32s(&tasks, "grid_point")
            .iter()
            .zip(&aucs)
            .filter(|(p, _)| **p == g as u32)
            .map(|(_, a)| *a)
            .collect();
        assert!((mean - folds.iter().sum::<f64>() / 4.0).abs() < 1e-12);
    }
    let best = means.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(r.metrics.auc, Some(best));
    let best_point = means.iter().position(|m| *m == best).unwrap();
    assert_eq!(x["best_params.max_depth"], [3.0, 6.0, 9.0][best_point]);

    // The report: throughput, utilisation and the task timeline of the 2-executor run.
    let page = std::fs::read_to_string(dir.join("reports/g/index.html")).unwrap();
    for id in [
        "chart-throughput",
        "chart-utilisation",
        "chart-gantt-e2",
        "farm-table",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    let gantt = std::fs::read_to_string(dir.join("reports/g/gantt-e2.svg")).unwrap();
    assert!(gantt.contains("executor 1 · slot 0"), "one row per slot");
}

#[test]
fn bad_grids_and_data_are_refused_before_any_run() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate(dir);
    let d = data.to_str().unwrap();
    let run = |grid: &str, data: &str| {
        std::fs::write(dir.join("bad.toml"), grid).unwrap();
        harness(
            dir,
            &[
                "run",
                "gbm-folds",
                "--data",
                data,
                "--grid",
                "bad.toml",
                "--study",
                "bad",
            ],
        )
    };
    for (grid, message) in [
        ("max_dept = [3]\n", "unknown grid parameter `max_dept`"),
        ("max_depth = []\n", "`max_depth` has an empty list"),
        ("feature_fraction = [0.5, 1.5]\n", "out of LightGBM's range"),
        ("num_leaves = [1]\n", "out of LightGBM's range"),
        ("max_depth = [3\n", "grid file bad.toml"),
    ] {
        let out = run(grid, d);
        assert_eq!(out.status.code(), Some(1), "{grid}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{grid}: {err}");
    }
    let out = harness(
        dir,
        &[
            "run",
            "gbm-folds",
            "--data",
            d,
            "--param",
            "rounds=0",
            "--study",
            "bad",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("`rounds`"));
    // A directory without fold=K/.
    std::fs::create_dir_all(dir.join("flat/train")).unwrap();
    let out = run("max_depth = [3]\n", dir.join("flat").to_str().unwrap());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fold=0/train") && err.contains("harness data generate gbm-folds"),
        "{err}"
    );
    assert!(
        !dir.join("results/bad/runs.jsonl").exists(),
        "nothing recorded for bad input"
    );
}
