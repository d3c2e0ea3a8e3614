//! End-to-end tests of the `harness` binary with real `mpirun -np 2`, real cgroups (when the
//! host lets us create them) and real parquet data made by the generator.

mod common;

use std::path::Path;
use std::process::Command;

// These tests measure CPUs (limits, parallelism, timings): `serial` keeps them from competing
// for the machine's cores.
use common::{assert_ok, cgroups_writable, generate_fractal, harness, records, serial};
use harness_core::record::ExecutorReport;
use harness_core::RunStatus;

#[test]
fn two_executors_train_data_parallel_and_agree_with_one() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "8", "15000");
    let d = data.to_str().unwrap();
    for (e, study) in [("1", "one"), ("2", "two")] {
        assert_ok(harness(
            dir,
            &[
                "run",
                "fractal-rf",
                "--data",
                d,
                "--executors",
                e,
                "--cores",
                "1",
                "--memory",
                "1g",
                "--fraction",
                "1",
                "--study",
                study,
            ],
        ));
    }
    let one = &records(dir, "one")[0];
    let two = &records(dir, "two")[0];
    for r in [one, two] {
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        assert_eq!(r.schema_version, 1);
        assert!(!r.oversubscribed);
        assert_eq!(
            r.data.rows.train,
            8 * 15000,
            "every training point read once"
        );
        assert_eq!(r.data.rows.val, 2 * 15000);
        let acc = r.metrics.test_accuracy.unwrap();
        assert!(acc > 0.7 && acc < 0.99, "plausible, not trivial: {acc}");
        // Rare classes are classified worse than the common ones: mean IoU and macro-F1 sit
        // below accuracy, and ground (39 % of points) is found far better than `other`.
        let x = &r.metrics.extra;
        assert!(x["test_miou"] > 0.0 && x["test_miou"] < acc, "{x:?}");
        assert!(
            x["test_macro_f1"] > x["test_miou"] && x["test_macro_f1"] < 1.0,
            "{x:?}"
        );
        assert!(x["test_iou_ground"] > x.get("test_iou_other").copied().unwrap_or(0.0));
        assert!(r.metrics.val_accuracy.unwrap() > 0.7);
        assert_eq!(
            r.metrics.extra["trees_built"], 40.0,
            "MLlib's forest: 40 multi-class trees"
        );
        assert_eq!(r.point.params["engine"], "mllib", "the default engine");
        let t = &r.times;
        assert!(t.training_time_sec.unwrap() > 0.0);
        assert!(t.total_time_sec > t.training_time_sec.unwrap());
        assert!(t.startup_sec.unwrap() > 0.0 && t.startup_sec.unwrap() < t.total_time_sec);
        assert_eq!(
            t.startup_clock.as_deref(),
            Some("monotonic"),
            "driver and executors share this kernel's clock"
        );
    }
    // Data-parallel: two executors, each with its own byte-balanced half of the files.
    assert_eq!(two.executor_reports.len(), 2);
    assert_eq!(two.data.num_partitions, 2);
    let (a, b) = (&two.executor_reports[0], &two.executor_reports[1]);
    assert_eq!(
        a.files.len() + b.files.len(),
        12,
        "8 train + 2 val + 2 test files"
    );
    assert!(
        a.files.iter().all(|f| !b.files.contains(f)),
        "no file read twice"
    );
    assert!(a.rows > 0 && b.rows > 0);
    // Both executors communicated through LightGBM's network over MPI.
    assert!(a.comm_sec > 0.0 && b.comm_sec > 0.0);
    // The MLlib forest does not depend on how rows are spread: two executors grow the very
    // forest one grows, so the metrics are equal too; the histograms went over MPI.
    assert_eq!(
        one.executor_reports[0].model_digest,
        two.executor_reports[0].model_digest
    );
    assert_eq!(one.metrics.val_accuracy, two.metrics.val_accuracy);
    assert_eq!(one.metrics.test_accuracy, two.metrics.test_accuracy);
    assert_eq!(one.executor_reports[0].train_comm_bytes, Some(0));
    let levels = two.metrics.extra["levels"] as usize;
    assert_eq!(
        levels, 6,
        "depth 6: levels 0 to 5 are split, depth-6 nodes are leaves"
    );
    let per_level: u64 = (0..levels)
        .map(|l| two.metrics.extra[&format!("allreduce_bytes_level_{l}")] as u64)
        .sum();
    // Training moved exactly every level's histograms through the allreduce on each rank
    // (the threshold sample was gathered while loading).
    assert!(per_level > 0, "{per_level}");
    for e in [a, b] {
        assert_eq!(e.train_comm_bytes, Some(per_level), "rank {}", e.rank);
    }

    if cgroups_writable() {
        for e in &two.executor_reports {
            assert!(e.enforced, "rank {}: {:?}", e.rank, e.enforcement_note);
            assert_eq!(e.cores_measured, 1);
            assert_eq!(e.cpu_quota, Some(1.0));
            assert_eq!(e.memory_limit_bytes, Some(1 << 30));
            assert!(e.effective_parallelism > 0.5 && e.effective_parallelism < 1.3);
            // Idle machine: the CPU check got its CPU, training waited for none.
            assert!(e.cpu_check_ratio.unwrap() >= 0.9, "{:?}", e.cpu_check_ratio);
            let k = &e.kernel.as_ref().unwrap().train;
            assert!(!k.contended, "{k:?}");
            assert!(k.cpu_sec > 0.0 && k.cpu_sec <= k.wall_sec * 1.1, "{k:?}");
        }
        assert_ne!(a.cpuset, b.cpuset, "executors got disjoint CPUs");
    } else {
        assert!(two
            .executor_reports
            .iter()
            .all(|e| !e.enforced && e.enforcement_note.is_some()));
    }

    // The report renders every chart (training time and speedup among them) and the runs.
    let page = std::fs::read_to_string(dir.join("reports/two/index.html")).unwrap();
    assert!(page.contains("id=\"chart-time\"") && page.contains("id=\"chart-speedup\""));
    assert!(page.contains(&two.run_id));
    assert_eq!(
        page.matches("<svg").count(),
        harness_report::figures::CHARTS.len()
    );
    assert!(
        dir.join("reports/two/summary.csv").exists() && dir.join("reports/two/summary.md").exists()
    );
    let index = std::fs::read_to_string(dir.join("reports/index.html")).unwrap();
    assert!(index.contains("href=\"two/index.html\"") && index.contains("href=\"one/index.html\""));
}

/// MLlib's forest at 1, 2 and 3 executors (3 oversubscribe 2 CPUs) on the same files: one
/// forest, byte for byte — every rank's digest, and rank 0's saved `forest.json`.
#[test]
fn mllib_forests_are_identical_at_one_two_and_three_executors() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "6", "4000");
    let mut digests = Vec::new();
    for n in ["1", "2", "3"] {
        assert_ok(harness(
            dir,
            &[
                "run",
                "fractal-rf",
                "--data",
                data.to_str().unwrap(),
                "--executors",
                n,
                "--cores",
                "1",
                "--memory",
                "1g",
                "--param",
                "trees=10",
                "--study",
                &format!("m{n}"),
            ],
        ));
        let r = records(dir, &format!("m{n}")).remove(0);
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        assert_eq!(r.one_model(), Some(true), "{n} executors: one forest");
        let art = dir
            .join("results")
            .join(&r.study)
            .join(r.artifacts.as_ref().unwrap());
        let text =
            std::fs::read_to_string(art.join("model/forest.json")).expect("forest.json saved");
        let digest = r.executor_reports[0].model_digest.clone().unwrap();
        assert_eq!(harness_runtime::model::digest(&text), digest);
        let forest: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(forest["trees"].as_array().unwrap().len(), 10);
        assert_eq!(r.metrics.extra["trees_built"], 10.0);
        assert_eq!(
            r.point.params["engine"], "mllib",
            "the default engine is recorded"
        );
        assert_eq!(r.point.params["eval_fraction"], 1.0);
        digests.push(digest);
        if n == "2" {
            predict_reproduces_the_test_accuracy(dir, &data, &art.join("model"), &r);
        }
    }
    assert!(digests.iter().all(|d| *d == digests[0]), "{digests:?}");
}

/// `harness predict` with the saved forest on the raw test files (2 executors): one prediction
/// per point, LAS class codes, and the accuracy against `Classification` is the run's test
/// accuracy (every test file was scored in the run: `eval_fraction` 1).
fn predict_reproduces_the_test_accuracy(
    dir: &Path,
    data: &Path,
    model: &Path,
    r: &harness_core::RunRecord,
) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt8Type};
    use arrow_array::Array;
    let out = dir.join("scored");
    let o = assert_ok(harness(
        dir,
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            data.join("test").to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--executors",
            "2",
        ],
    ));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("fractal-rf mllib model of run"), "{stderr}");
    let (mut right, mut all) = (0u64, 0u64);
    let codes: Vec<u8> = workload_fractal_rf::schema::CLASSES
        .iter()
        .map(|c| c.code)
        .collect();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&path).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let pred = batch.column_by_name("prediction").unwrap();
            let pred = pred.as_primitive::<Float64Type>();
            let cls = arrow_cast::cast(
                batch.column_by_name("Classification").unwrap(),
                &arrow_schema::DataType::UInt8,
            )
            .unwrap();
            let cls = cls.as_primitive::<UInt8Type>();
            for i in 0..batch.num_rows() {
                let p = pred.value(i) as u8;
                assert!(codes.contains(&p), "prediction {p} is a LAS class code");
                let truth = codes[workload_fractal_rf::schema::label_of(cls.value(i))];
                right += u64::from(p == truth);
                all += 1;
            }
            assert_eq!(pred.null_count(), 0);
        }
    }
    assert_eq!(all, r.data.rows.test, "every test point scored once");
    let acc = right as f64 / all as f64;
    let recorded = r.metrics.test_accuracy.unwrap();
    assert!(
        (acc - recorded).abs() < 1e-12,
        "predict {acc} vs run {recorded}"
    );
}

/// By default every fraction is scored on the same validation and test files; with
/// `eval_fraction = "fraction"` (the reference's behaviour) the test set follows the fraction.
#[test]
fn every_fraction_is_scored_on_the_same_evaluation_files_by_default() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "4", "3000");
    for (study, extra) in [
        ("same", None),
        ("follows", Some("eval_fraction=\"fraction\"")),
    ] {
        let mut args = vec![
            "profile",
            "local",
            "--workload",
            "fractal-rf",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "1",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--fractions",
            "0.5,1",
            "--reps",
            "1",
            "--study",
            study,
            "--param",
            "trees=5",
        ];
        if let Some(e) = extra {
            args.extend(["--param", e]);
        }
        assert_ok(harness(dir, &args));
        let rs = records(dir, study);
        assert_eq!(rs.len(), 2);
        let rows = |f: f64| {
            let r = rs.iter().find(|r| r.point.fraction == f).unwrap();
            assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
            (r.data.rows.train, r.data.rows.val, r.data.rows.test)
        };
        let (half, full) = (rows(0.5), rows(1.0));
        assert_eq!(half.0 * 2, full.0, "half of the train files");
        if extra.is_none() {
            assert_eq!((half.1, half.2), (full.1, full.2), "{study}: same val/test");
            assert_eq!(full.1, 6000, "both val files");
        } else {
            assert_eq!((half.1 * 2, half.2 * 2), (full.1, full.2), "{study}");
            assert_eq!(rs[0].point.params["eval_fraction"], "fraction");
        }
    }
    let html = std::fs::read_to_string(dir.join("reports/same/index.html")).unwrap();
    assert!(
        html.contains("<code>engine</code> = mllib")
            && html.contains("<code>eval_fraction</code> = 1"),
        "the report says which engine and evaluation set"
    );
}

/// The proof that LightGBM's executors train one model: at 2 and at 3 executors every rank
/// holds a byte-identical model (the digest each rank computed from its own model text, and
/// rank 0's saved `model.txt`), LightGBM's network moved bytes on every rank, and the model
/// differs from the one a single executor trains on rank 0's shard alone.
#[test]
fn executors_hold_one_model_trained_over_the_network() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "6", "4000");
    let d = data.to_str().unwrap();
    let run = |data: &str, executors: &str, study: &str| {
        assert_ok(harness(
            dir,
            &[
                "run",
                "fractal-rf",
                "--data",
                data,
                "--executors",
                executors,
                "--cores",
                "1",
                "--memory",
                "1g",
                "--fraction",
                "1",
                "--param",
                "trees=8",
                "--param",
                "engine=lightgbm",
                "--study",
                study,
            ],
        ));
        let r = records(dir, study).remove(0);
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        r
    };
    let model_text = |r: &harness_core::RunRecord| {
        let art = dir
            .join("results")
            .join(&r.study)
            .join(r.artifacts.as_ref().unwrap());
        std::fs::read_to_string(art.join("model/model.txt")).expect("rank 0 saved model.txt")
    };
    let mut two_digest = String::new();
    let mut rank0_files = Vec::new();
    for (n, study) in [(2usize, "two"), (3, "three")] {
        let r = run(d, &n.to_string(), study);
        assert_eq!(r.executor_reports.len(), n);
        assert_eq!(
            r.one_model(),
            Some(true),
            "{study}: every rank holds the same model"
        );
        let digest = r.executor_reports[0].model_digest.clone().unwrap();
        assert_eq!(digest.len(), 64);
        assert_eq!(
            harness_runtime::model::digest(&model_text(&r)),
            digest,
            "the saved model is the one the ranks hold"
        );
        for e in &r.executor_reports {
            let bytes = e.train_comm_bytes.unwrap();
            assert!(
                bytes > 0,
                "{study} rank {}: LightGBM's network moved bytes",
                e.rank
            );
            let comm = e.train_comm_sec.unwrap();
            assert!(
                comm > 0.0 && comm <= e.train_sec,
                "{study} rank {}: {comm}",
                e.rank
            );
            eprintln!(
                "{study} rank {}: train_comm_bytes {bytes} ({} per tree of 56), train_comm_sec {comm:.3}",
                e.rank,
                bytes / 56
            );
        }
        if n == 2 {
            two_digest = digest;
            rank0_files = r.executor_reports[0].files.clone();
        }
    }

    // Rank 0's shard alone: its train files, the same val and test.
    let solo = dir.join("solo");
    std::fs::create_dir_all(solo.join("train")).unwrap();
    for f in rank0_files.iter().filter(|f| f.starts_with("train/")) {
        std::fs::copy(data.join(f), solo.join(f)).unwrap();
    }
    for split in ["val", "test"] {
        std::fs::create_dir_all(solo.join(split)).unwrap();
        for f in std::fs::read_dir(data.join(split)).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), solo.join(split).join(f.file_name())).unwrap();
        }
    }
    let one = run(solo.to_str().unwrap(), "1", "solo");
    assert!(one.data.rows.train < 6 * 4000, "a shard, not the whole set");
    assert_eq!(
        one.executor_reports[0].train_comm_bytes,
        Some(0),
        "trained alone"
    );
    assert_ne!(
        one.executor_reports[0].model_digest.as_deref(),
        Some(two_digest.as_str()),
        "the shared model is not what rank 0 trains on its shard alone"
    );
}

/// A busy loop pinned to CPU 1 for the whole run: the executor given CPU 1 records run-queue
/// wait, `contended` training and `enforced: false`, read from the kernel.
#[test]
fn a_competing_process_on_an_executors_cpu_is_recorded_as_contention() {
    let _serial = serial();
    if !cgroups_writable() {
        harness_runtime::testing::skip(
            "a_competing_process_on_an_executors_cpu_is_recorded_as_contention",
            "executors cannot create cgroups here (not root), so no CPU is theirs",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "4", "20000");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // SAFETY: cpu_set_t is plain data; pins this thread to CPU 1.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(1, &mut set);
                assert_eq!(
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
                    0
                );
            }
            let mut x = 1u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
            }
        })
    };
    let out = harness(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--fraction",
            "1",
            "--study",
            "busy",
        ],
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.join().unwrap();
    assert_ok(out);
    let r = records(dir, "busy").remove(0);
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
    let on_cpu1 = r
        .executor_reports
        .iter()
        .find(|e| e.cpuset == "1")
        .expect("one executor was given CPU 1");
    let train = &on_cpu1.kernel.as_ref().unwrap().train;
    for e in &r.executor_reports {
        let k = &e.kernel.as_ref().unwrap().train;
        eprintln!(
            "rank {} [{}]: training {:.2} s, run-queue wait {:.2} s ({:.0} %), CPU check {:?}, enforced {}",
            e.rank,
            e.cpuset,
            k.wall_sec,
            k.run_queue_wait_sec,
            k.wait_share(1) * 100.0,
            e.cpu_check_ratio,
            e.enforced
        );
    }
    assert!(train.contended, "{train:?}");
    assert!(
        train.wait_share(1) > 0.2,
        "sharing a CPU with a busy loop: {train:?}"
    );
    assert!(!on_cpu1.enforced);
    let note = on_cpu1.enforcement_note.as_deref().unwrap();
    assert!(note.contains("contended during training"), "{note}");
    assert!(
        on_cpu1.cpu_check_ratio.unwrap() < 0.9,
        "the CPU check saw the busy loop too: {:?}",
        on_cpu1.cpu_check_ratio
    );
    assert!(!r.all_enforced());
}

/// A failure in the workload itself (here: more executors than selected training files) is
/// recorded once with `retryable: false` and not retried, and the console says why.
#[test]
fn a_workload_failure_is_not_retried() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "2", "1000");
    let out = harness(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "2",
            "--memory",
            "1g",
            "--fraction",
            "0.5",
            "--retries",
            "3",
            "--study",
            "nofiles",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "a study with a failed run exits 3"
    );
    let recs = records(dir, "nofiles");
    assert_eq!(recs.len(), 1, "one attempt despite --retries 3");
    assert_eq!(recs[0].status, RunStatus::Failed);
    assert_eq!(recs[0].retryable, Some(false));
    assert!(
        recs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("received no training files"),
        "{:?}",
        recs[0].error
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not retried"), "{err}");
}

#[test]
fn resume_completes_only_missing_runs_and_bad_input_keeps_records() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "4", "4000");
    let d = data.to_str().unwrap();
    let base = [
        "profile",
        "local",
        "--data",
        d,
        "--executors",
        "1,2",
        "--cores",
        "1",
        "--memory",
        "1g",
        "--fractions",
        "0.5",
        "--study",
        "res",
        "--timeout",
        "300",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        harness(dir, &a)
    };
    assert_ok(run(with(&["--reps", "1"])));
    assert_eq!(records(dir, "res").len(), 2);
    let before = std::fs::read(dir.join("results/res/runs.jsonl")).unwrap();

    // Re-running without --resume refuses and keeps the records byte for byte.
    let out = run(with(&["--reps", "2"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    // So does bad input.
    let out = run(with(&["--reps", "2", "--resume", "--memory", "lots"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"lots\""));
    assert_eq!(
        std::fs::read(dir.join("results/res/runs.jsonl")).unwrap(),
        before
    );

    // --resume with two repetitions makes exactly the two missing runs.
    assert_ok(run(with(&["--reps", "2", "--resume"])));
    let recs = records(dir, "res");
    assert_eq!(recs.len(), 4);
    let mut keys: Vec<(u32, u32)> = recs
        .iter()
        .map(|r| (r.point.executors, r.repetition))
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![(1, 0), (1, 1), (2, 0), (2, 1)],
        "each (point, repetition) once"
    );
    assert!(std::fs::read(dir.join("results/res/runs.jsonl"))
        .unwrap()
        .starts_with(&before));
}

#[test]
fn memory_limit_kill_is_recorded_as_oom() {
    let _serial = serial();
    if common::skipped_without_cgroups("memory_limit_kill_is_recorded_as_oom") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 2 × 1,000,000 training points per executor (8 bytes each once binned, plus ~3.8 for the
    // tree being grown: ~24 MB) on top of the process itself need more than 32 MiB. (2 ×
    // 400,000 stopped being enough once row ids were no longer held.)
    let data = generate_fractal(dir, "data", "4", "1000000");
    let out = harness(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "32m",
            "--study",
            "oom",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "a study with a failed run exits 3"
    );
    let recs = records(dir, "oom");
    let attempts: Vec<(u32, RunStatus)> = recs.iter().map(|r| (r.attempt, r.status)).collect();
    assert_eq!(
        attempts,
        vec![(0, RunStatus::Oom), (1, RunStatus::Oom)],
        "recorded, retried once"
    );
    let r = &recs[0];
    let oom = r.oom.as_ref().expect("oom details");
    assert_eq!(oom.memory_limit_bytes, 32 << 20);
    assert!(
        oom.peak_bytes >= 30 << 20,
        "peak at the limit: {}",
        oom.peak_bytes
    );
    assert!(r.error.as_ref().unwrap().contains("32m"));
}

#[test]
fn timeout_kills_the_run_and_records_it() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "2", "50000");
    let out = harness(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "2",
            "--memory",
            "1g",
            "--param",
            "trees=100000",
            "--timeout",
            "3",
            "--retries",
            "0",
            "--study",
            "slow",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "runs not ok");
    let r = &records(dir, "slow")[0];
    assert_eq!(r.status, RunStatus::Timeout);
    assert!(r.times.total_time_sec >= 3.0 && r.times.total_time_sec < 30.0);
    let ps = Command::new("pgrep")
        .args(["-f", "exec .*slow/jobs"])
        .output()
        .unwrap();
    assert!(ps.stdout.is_empty(), "no executor left running");
}

#[test]
fn missing_column_is_named_with_its_file() {
    let _serial = serial();
    use std::sync::Arc;

    use arrow_array::RecordBatch;
    use arrow_array::{ArrayRef, UInt16Array};
    use arrow_schema::{DataType, Field, Schema};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "2", "100");
    // Replace the first train file by one without `Infrared`.
    let bad = data.join("train/train-000000.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new(
        "Intensity",
        DataType::UInt16,
        false,
    )]));
    let col: ArrayRef = Arc::new(UInt16Array::from(vec![1u16, 2, 3]));
    let batch = RecordBatch::try_new(schema.clone(), vec![col]).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&bad).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = harness(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            data.to_str().unwrap(),
            "--study",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train-000000.parquet") && err.contains("`xyz`"),
        "{err}"
    );
    assert!(
        !dir.join("results/x/runs.jsonl").exists(),
        "nothing recorded for bad input"
    );
}

#[test]
fn oversubscription_and_disabled_limits_are_recorded() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "2", "3000");
    let d = data.to_str().unwrap();
    // Two executors that each ask for every CPU of the machine: executors × cores > CPUs.
    let cpus = harness_runtime::limits::affinity().len().to_string();
    assert_ok(harness(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            d,
            "--executors",
            "2",
            "--cores",
            &cpus,
            "--memory",
            "1g",
            "--study",
            "over",
        ],
    ));
    let r = &records(dir, "over")[0];
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
    assert!(r.oversubscribed);
    let page = std::fs::read_to_string(dir.join("reports/over/index.html")).unwrap();
    assert!(page.contains("oversubscribed"));

    assert_ok(harness(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            d,
            "--no-limits",
            "--study",
            "free",
        ],
    ));
    let r = &records(dir, "free")[0];
    assert_eq!(r.status, RunStatus::Ok);
    assert!(!r.oversubscribed);
    let e = &r.executor_reports[0];
    assert!(!e.enforced);
    assert!(e
        .enforcement_note
        .as_deref()
        .unwrap()
        .contains("--no-limits"));
    let page = std::fs::read_to_string(dir.join("reports/free/index.html")).unwrap();
    assert!(page.contains("NOT enforced"), "the report shows it in red");
}

#[test]
fn killing_the_driver_then_resuming_completes_each_run_exactly_once() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Runs of a few seconds each, so one is in flight when the driver dies.
    let data = generate_fractal(dir, "data", "4", "90000");
    let args = [
        "profile",
        "local",
        "--data",
        data.to_str().unwrap(),
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
        "--study",
        "crash",
    ];
    let runs = dir.join("results/crash/runs.jsonl");
    let mut driver = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill the driver (SIGKILL: no handler runs) once some, but not all, runs are recorded.
    let t = std::time::Instant::now();
    loop {
        let n = std::fs::read_to_string(&runs)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if n >= 2 {
            break;
        }
        assert!(t.elapsed().as_secs() < 120, "no records appeared");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    driver.kill().unwrap();
    driver.wait().unwrap();
    let before = records(dir, "crash").len();
    assert!((2..8).contains(&before), "killed mid-study: {before} of 8");
    // Its mpirun and executors stop within moments; an orphaned run would go on for seconds.
    let t = std::time::Instant::now();
    loop {
        let ps = Command::new("pgrep")
            .args(["-f", "exec .*crash/jobs"])
            .output()
            .unwrap();
        if ps.stdout.is_empty() {
            break;
        }
        assert!(
            t.elapsed().as_millis() < 3000,
            "executors outlived the driver: {}",
            String::from_utf8_lossy(&ps.stdout)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let mut resume: Vec<&str> = args.to_vec();
    resume.push("--resume");
    assert_ok(harness(dir, &resume));
    let text = std::fs::read_to_string(&runs).unwrap();
    assert!(text.ends_with('\n'), "no torn last line");
    let recs = records(dir, "crash");
    assert_eq!(recs.len(), 8);
    let mut keys: Vec<(u32, String, u32)> = recs
        .iter()
        .map(|r| {
            (
                r.point.executors,
                r.point.fraction.to_string(),
                r.repetition,
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 8, "each (point, repetition) exactly once");
    assert!(recs.iter().all(|r| r.status == RunStatus::Ok));
}

#[test]
fn a_killed_executor_is_recorded_with_its_cause_and_retried() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "4", "90000");
    let mut driver = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "run",
            "fractal-rf",
            "--data",
            data.to_str().unwrap(),
            "--executors",
            "2",
        ])
        .args(["--memory", "1g", "--study", "kill"])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until rank 1 of the first attempt says (in the report it keeps while in flight)
    // that it is training, then kill it.
    // (The run id carries a hash of the recorded parameters: find the file by its ending.)
    let jobs = dir.join("results/kill/jobs");
    let t = std::time::Instant::now();
    let victim = loop {
        let report1 = std::fs::read_dir(&jobs).ok().and_then(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.to_string_lossy().ends_with("-r0.1.report.json"))
        });
        let so_far: Option<ExecutorReport> = report1
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(r) = so_far.filter(|r| r.stage.as_deref() == Some("train")) {
            break r.pid.expect("the report names its pid");
        }
        assert!(t.elapsed().as_secs() < 120, "rank 1 never started training");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap()
        .success());
    assert!(
        driver.wait().unwrap().success(),
        "the retry succeeded, so the study is ok"
    );
    let recs = records(dir, "kill");
    assert_eq!(recs.len(), 2, "the failed attempt and its retry");
    assert_eq!((recs[0].attempt, recs[0].status), (0, RunStatus::Failed));
    assert_eq!(
        recs[0].retryable,
        Some(true),
        "an executor that died can be retried"
    );
    // The console shows the first line: who died, how, and in which phase.
    let cause = recs[0].error.as_deref().unwrap();
    let first = cause.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("executor rank 1 (pid {victim} on "))
            && first.contains("killed by signal 9 (Killed) in train"),
        "cause named: {cause}"
    );
    // What the executors knew is kept: both ranks, their limits, host, pid, files and phase.
    let reports = &recs[0].executor_reports;
    assert_eq!(reports.len(), 2, "{reports:?}");
    for (rank, r) in reports.iter().enumerate() {
        assert_eq!(r.rank, rank as u32);
        if cgroups_writable() {
            assert_eq!(r.memory_limit_bytes, Some(1 << 30), "limit measured: {r:?}");
            assert_eq!(r.cores_measured, 1);
        }
        assert!(!r.host.is_empty() && !r.cpuset.is_empty());
        assert!(!r.files.is_empty() && r.bytes > 0, "its shard: {r:?}");
        assert!(r.load_sec > 0.0, "the load phase it completed: {r:?}");
        assert!(!r.enforced, "training was not seen to its end");
    }
    assert_eq!(reports[1].pid, Some(victim));
    assert_eq!(reports[1].stage.as_deref(), Some("train"));
    assert_eq!((recs[1].attempt, recs[1].status), (1, RunStatus::Ok));
    assert_eq!(recs[0].run_id, recs[1].run_id);
    let logs = dir.join("results/kill/logs");
    assert!(logs.join(format!("{}.log", recs[0].run_id)).exists());
    assert!(
        logs.join(format!("{}-a1.log", recs[0].run_id)).exists(),
        "each attempt keeps its log"
    );
}
