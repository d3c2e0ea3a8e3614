//! What does the MPI path cost? Trains fractal-rf on ≥ 5 M points (a) through the harness —
//! `mpirun -np 1 harness exec`, cgroup limits, MPI world — and (b) in one plain LightGBM
//! process without MPI, with the same data, parameters and threads, and reports
//! rows × trees per second per core for both and the overhead of (a).
//!
//! Both variants time the same span: LightGBM `Dataset` construction + training
//! (`training_time_sec` of the record for (a)). Variants alternate over the repetitions so
//! drift of the machine hits both. Run: `cargo bench -p harness --bench mpi_overhead`
//! (env: `BENCH_TRAIN_FILES` (75), `BENCH_ROWS_PER_FILE` (70000), `BENCH_REPS` (3),
//! `BENCH_CORES` (1)). Not a timed test: it prints numbers, it does not assert them.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use harness_core::stats::median;
use lightgbm3::{Booster, Dataset};
use workload_fractal_rf::generate::{generate, GenerateOptions};
use workload_fractal_rf::load::{read_file, Points};
use workload_fractal_rf::{schema, RfParams};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn plain_lightgbm(points: &Points, labels: &[f32], cores: u32) -> f64 {
    let params = RfParams::default().lightgbm(cores, 1);
    let t = Instant::now();
    let ds = Dataset::from_slice(
        &points.features,
        labels,
        schema::FEATURES.len() as i32,
        true,
    )
    .expect("dataset");
    let booster = Booster::train(ds, &params).expect("training");
    let dt = t.elapsed().as_secs_f64();
    assert_eq!(booster.num_iterations(), 40);
    dt
}

fn mpi_path(dir: &Path, data: &Path, cores: u32, rep: usize) -> f64 {
    let study = format!("bench-{rep}");
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "run",
            "fractal-rf",
            "--executors",
            "1",
            "--memory",
            "16g",
            "--fraction",
            "1",
        ])
        .args(["--cores", &cores.to_string(), "--study", &study, "--data"])
        .arg(data)
        .current_dir(dir)
        .output()
        .expect("harness runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text =
        std::fs::read_to_string(dir.join("results").join(&study).join("runs.jsonl")).unwrap();
    let record: harness_core::RunRecord =
        serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(record.all_enforced() || unsafe { libc::geteuid() } != 0);
    record.times.training_time_sec.expect("ok run")
}

fn main() {
    let train_files = env_or("BENCH_TRAIN_FILES", 75);
    let rows_per_file = env_or("BENCH_ROWS_PER_FILE", 70_000);
    let reps = env_or("BENCH_REPS", 3);
    let cores = env_or("BENCH_CORES", 1) as u32;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut opts = GenerateOptions::new(data.clone(), train_files, rows_per_file, 62);
    opts.val_files = 1;
    opts.test_files = 1;
    generate(&opts, &|_, _| {}).expect("generate");

    let mut points = Points::default();
    for i in 0..train_files {
        let f = data
            .join("train")
            .join(workload_fractal_rf::generate::file_name("train", i));
        read_file(&f, &mut points).expect("read");
    }
    let labels: Vec<f32> = points.labels.iter().map(|l| *l as f32).collect();
    let rows = points.rows() as f64;
    let trees = 40.0 * schema::CLASSES.len() as f64;
    eprintln!(
        "fractal-rf: {} training points, {trees} trees, {cores} core(s), {reps} repetitions",
        points.rows()
    );

    let (mut plain, mut mpi) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        plain.push(plain_lightgbm(&points, &labels, cores));
        mpi.push(mpi_path(tmp.path(), &data, cores, rep));
        eprintln!(
            "rep {rep}: plain {:.2} s, mpi path {:.2} s",
            plain[rep], mpi[rep]
        );
    }
    let (p, m) = (median(&plain).unwrap(), median(&mpi).unwrap());
    let thr = |t: f64| rows * trees / t / f64::from(cores);
    println!(
        "plain LightGBM (no MPI): median {p:.2} s  → {:.3e} rows×trees/s/core",
        thr(p)
    );
    println!(
        "harness MPI path, 1 executor: median {m:.2} s  → {:.3e} rows×trees/s/core",
        thr(m)
    );
    println!("MPI path overhead: {:+.1} %", (m / p - 1.0) * 100.0);
}
