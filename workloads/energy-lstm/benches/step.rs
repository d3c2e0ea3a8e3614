//! One optimisation step of the hybrid LSTM at the reference's batch (500 rows, one libtorch
//! thread, one executor): the whole step ([`Stepper::step`]: select, forward, backward,
//! gradient copy, allreduce, Adam) and its forward and forward + backward parts, on the
//! embedded data's training rows; and the whole step on a 250-row share, what each of 2
//! executors computes per step of the same global batch. `step(250) / step(500)` bounds the
//! 2-executor speedup from the compute side: 1 / that ratio with free communication.
//! `cargo bench -p workload-energy-lstm --bench step`.

use criterion::{criterion_group, criterion_main, Criterion};
use harness_runtime::World;
use tch::{Kind, Tensor};
use workload_energy_lstm::model::Inputs;
use workload_energy_lstm::train::{self, Stepper, TrainConfig};
use workload_energy_lstm::{prepare, raw};

const BATCH: usize = 500;

fn step(c: &mut Criterion) {
    let world = World::init().expect("MPI (singleton) initialises");
    let prepared = prepare::prepare(&raw::embedded()).expect("embedded data prepares");
    let cfg = TrainConfig::default();
    tch::set_num_threads(1);
    tch::set_num_interop_threads(1);
    let data = Inputs::of(&prepared.train.table, cfg.device);
    let n = prepared.train.table.rows();
    let order = train::epoch_order(n, cfg.seed, 0);
    let batches: Vec<&[i64]> = order.chunks_exact(BATCH).collect();
    let (vs, net) = train::init(&world, &cfg);
    let mut stepper = Stepper::new(&world, &vs, &cfg);
    let params = vs.trainable_variables();
    let mut g = c.benchmark_group("energy_lstm_step_500");
    g.sample_size(50);
    let mut k = 0;
    g.bench_function("train_step", |b| {
        b.iter(|| {
            k = (k + 1) % batches.len();
            stepper.step(&world, &net, &data, batches[k], BATCH)
        })
    });
    // A 2-executor share: half of each global batch, the loss still divided by the global 500.
    let mut k = 0;
    g.bench_function("train_step_share_250", |b| {
        b.iter(|| {
            k = (k + 1) % batches.len();
            stepper.step(&world, &net, &data, &batches[k][..BATCH / 2], BATCH)
        })
    });
    for rows in [BATCH, BATCH / 2] {
        let batch = data.select(&Tensor::from_slice(&batches[0][..rows]));
        g.bench_function(format!("forward_{rows}"), |b| {
            b.iter(|| tch::no_grad(|| net.forward(&batch.seq, &batch.length, &batch.statics)))
        });
        // The step's backward: gradients as new tensors, nothing accumulated into `.grad`.
        g.bench_function(format!("forward_backward_{rows}"), |b| {
            b.iter(|| {
                let pred = net.forward(&batch.seq, &batch.length, &batch.statics);
                let loss = (pred - &batch.target).square().mean(Kind::Float);
                Tensor::run_backward(&[&loss], &params, false, false)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);
