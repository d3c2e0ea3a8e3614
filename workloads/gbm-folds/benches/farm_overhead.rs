//! What does the task farm cost? The same gbm-folds tasks run (a) back to back in this process
//! without MPI and (b) through `harness_runtime::farm` on one executor (an MPI world of one,
//! one slot), alternating a, b for several rounds so drift of the machine hits both alike.
//! Prints tasks/s of each (median over rounds, min–max) and the farm's relative cost.
//!
//! `cargo bench -p workload-gbm-folds --bench farm_overhead`; environment: `BENCH_ROWS` (rows
//! of the generated series, default 20,000), `BENCH_TASKS` (default 32), `BENCH_ROUNDS`
//! (default 5), `BENCH_BOOST_ROUNDS` (boosting rounds per task, default 100).

use std::collections::VecDeque;
use std::time::Instant;

use harness_core::stats::{median, min_max};
use harness_runtime::farm::{self, FarmConfig};
use harness_runtime::World;
use workload_gbm_folds::generate::{generate, GenerateOptions};
use workload_gbm_folds::{load, run_task, tasks, FoldsParams};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rows = env("BENCH_ROWS", 20_000);
    let n_tasks = env("BENCH_TASKS", 32);
    let rounds = env("BENCH_ROUNDS", 5);
    let dir = tempfile::tempdir().expect("temporary directory");
    let opts = GenerateOptions {
        rows,
        files_per_fold: 2,
        ..GenerateOptions::default()
    };
    generate(&opts, dir.path(), &|_, _| {}).expect("generate");
    let location = dir.path().display().to_string();
    let (folds, _) = load::read_folds(&location, 1.0).expect("read folds");
    let params = FoldsParams {
        rounds: env("BENCH_BOOST_ROUNDS", 100) as u32,
        early_stopping: 20,
        ..FoldsParams::default()
    };
    let points = params.grid.points();
    let all: Vec<_> = tasks(points.len(), folds.len())
        .into_iter()
        .take(n_tasks)
        .collect();
    let work = |t: &workload_gbm_folds::Task| {
        run_task(&params, &points[t.point as usize], &folds[t.fold as usize])
    };
    let world = World::init().expect("MPI");
    println!(
        "gbm-folds farm overhead: {} rows × {} features, {} tasks of ≤ {} rounds, 1 executor × 1 slot, {rounds} rounds",
        rows, opts.features, all.len(), params.rounds
    );
    let (mut direct, mut farmed) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let t = Instant::now();
        for task in &all {
            work(task).expect("task");
        }
        direct.push(all.len() as f64 / t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut queue: VecDeque<_> = all.iter().copied().collect();
        let out = farm::run(&world, 1, &FarmConfig::default(), &mut queue, work)
            .expect("rank 0 of a world of one");
        assert_eq!(out.failed(), 0);
        farmed.push(all.len() as f64 / t.elapsed().as_secs_f64());
        println!(
            "  round {round}: back to back {:.3} tasks/s, farm {:.3} tasks/s",
            direct[round], farmed[round]
        );
    }
    let (d, f) = (median(&direct).unwrap(), median(&farmed).unwrap());
    let (dl, dh) = min_max(&direct).unwrap();
    let (fl, fh) = min_max(&farmed).unwrap();
    println!("back to back: {d:.3} tasks/s (min–max {dl:.3}–{dh:.3})");
    println!("farm:         {f:.3} tasks/s (min–max {fl:.3}–{fh:.3})");
    println!(
        "farm throughput relative to back to back: {:+.2} %",
        (f / d - 1.0) * 100.0
    );
}
