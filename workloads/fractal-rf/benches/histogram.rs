//! The forest's inner cost: nanoseconds per histogram update (one in-bag row reaching one open
//! node, counted once per feature the node considers), on a fixed binned set of FRACTAL's
//! shape — 7 features binned to 32, 6 classes, labels that depend on the features so trees grow
//! to full depth — with the reference forest (40 trees, depth 6, √p features per node), one
//! executor, one thread.
//!
//! `cargo bench -p workload-fractal-rf --bench histogram` prints criterion's time per forest;
//! the line before it gives the update count, so ns/update = time / updates.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use workload_fractal_rf::forest::{row_id, train_counted, BinnedRows, ForestParams, Splits};

const ROWS: usize = 200_000;
const P: usize = 7;
const CLASSES: usize = 6;

/// Seeded rows: bins uniform in 0..32; the label mixes three features with 10 % noise.
fn rows() -> (BinnedRows, Splits) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(62);
    let mut bins = Vec::with_capacity(ROWS * P);
    let mut labels = Vec::with_capacity(ROWS);
    let mut ids = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        let r: Vec<u8> = (0..P).map(|_| rng.random_range(0..32u8)).collect();
        let mut label =
            (usize::from(r[0] / 11) * 2 + usize::from(r[2] > 15) + usize::from(r[5] > 20))
                % CLASSES;
        if rng.random_range(0..10) == 0 {
            label = rng.random_range(0..CLASSES);
        }
        bins.extend(&r);
        labels.push(label as u8);
        ids.push(row_id("bench.parquet", i as u64));
    }
    let sample: Vec<Vec<f32>> = (0..P)
        .map(|_| (0..32).map(|b| b as f32).collect())
        .collect();
    (
        BinnedRows {
            p: P,
            bins,
            labels,
            ids,
        },
        Splits::from_sample(&sample, 32),
    )
}

fn bench(c: &mut Criterion) {
    let (rows, splits) = rows();
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
