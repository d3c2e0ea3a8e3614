//! The forest's inner cost: nanoseconds per histogram update (one in-bag row reaching one open
//! node, counted once per feature the node considers), on a fixed binned set of FRACTAL's
//! shape — 7 features binned to 32, 6 classes, labels that depend on the features so trees grow
//! to full depth — with the reference forest (40 trees, depth 6, √p features per node), one
//! executor, one thread.
//!
//! `cargo bench -p workload-fractal-rf --bench histogram` prints criterion's time per forest;
//! the line before it gives the update count, so ns/update = time / updates.

use criterion::{criterion_group, criterion_main, Criterion};
use workload_fractal_rf::forest::{synthetic, train_counted, ForestParams};

const ROWS: usize = 200_000;
const CLASSES: usize = 6;

fn bench(c: &mut Criterion) {
    let (rows, splits) = synthetic(ROWS, 62);
    let params = ForestParams::default();
    let (_, _, updates) = train_counted(&rows, &splits, CLASSES, &params, 1, &mut |_| {});
    println!("histogram updates per forest: {updates} ({ROWS} rows)");
    let mut g = c.benchmark_group("forest");
    g.sample_size(10);
    g.bench_function("train_40x6_200k_rows", |b| {
        b.iter(|| train_counted(&rows, &splits, CLASSES, &params, 1, &mut |_| {}))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
