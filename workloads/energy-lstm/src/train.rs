//! Data-parallel training over MPI: every executor holds the training rows and the same
//! initial weights (broadcast from rank 0); each step's **global batch** is the next
//! `batch` positions of the epoch's seeded order, each executor computes the gradient of its
//! contiguous share, and one allreduce over a flat buffer (all gradients + the share's loss)
//! gives every executor the gradient of the global batch's mean loss; then each runs the same
//! Adam step. The optimisation path is therefore the same at every executor count (up to float
//! summation order), and every executor ends with the same weights.
//!
//! The epoch order is a documented function, so other frameworks can replay it (the PyTorch
//! parity test does): row `i` of `n` gets the key `mix64(mix64(seed ^ mix64(epoch)) ^ i)`
//! ([`crate::prepare::mix64`], SplitMix64's finaliser) and rows are taken by ascending key.
//!
//! PyTorch's DDP keeps one gradient bucket per 25 MB; this model's 18,049 gradients (72 KB) fit
//! one buffer, so every step is one allreduce of 18,050 `f32`.

use std::time::Instant;

use harness_runtime::World;
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::model::{Inputs, Net};
use crate::prepare::mix64;

/// Training settings (the reference's: Adam 1e-3, MSE, 6 epochs, batch 500, seed 42).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub epochs: u32,
    /// Rows per optimiser step over all executors (the global batch).
    pub batch: usize,
    /// When set, rows per executor per step instead (the global batch is this × executors),
    /// as the reference's DDP did.
    pub batch_per_executor: Option<usize>,
    pub learning_rate: f64,
    /// Seed of the initial weights and of the epoch orders.
    pub seed: u64,
    /// libtorch intra-op threads per executor.
    pub threads: u32,
    pub device: Device,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 6,
            batch: 500,
            batch_per_executor: None,
            learning_rate: 1e-3,
            seed: 42,
            threads: 1,
            device: Device::Cpu,
        }
    }
}

impl TrainConfig {
    /// The global batch at `executors` executors.
    pub fn global_batch(&self, executors: u32) -> usize {
        match self.batch_per_executor {
            Some(b) => b * executors as usize,
            None => self.batch,
        }
    }
}

/// What training measured, the same on every executor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainOutcome {
    /// Mean training loss (MSE, kWh²) of every step, in order, over all epochs.
    pub step_loss: Vec<f64>,
    /// Mean training loss per epoch (rows-weighted mean of its steps).
    pub epoch_loss: Vec<f64>,
    /// Wall seconds per epoch on this executor.
    pub epoch_sec: Vec<f64>,
    /// Optimiser steps per epoch.
    pub steps_per_epoch: usize,
    /// Seconds this executor spent in the gradient allreduce.
    pub allreduce_sec: f64,
}

/// The order of `n` rows in `epoch` (0-based): rows by ascending
/// `mix64(mix64(seed ^ mix64(epoch)) ^ i)`.
pub fn epoch_order(n: usize, seed: u64, epoch: u32) -> Vec<i64> {
    let base = mix64(seed ^ mix64(u64::from(epoch)));
    let mut keyed: Vec<(u64, i64)> = (0..n as u64).map(|i| (mix64(base ^ i), i as i64)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Rank `rank`'s share of a batch of `len` rows over `world` executors: a contiguous range of
/// positions, sizes differing by at most one.
pub fn share(len: usize, rank: u32, world: u32) -> std::ops::Range<usize> {
    let (r, w) = (rank as usize, world as usize);
    len * r / w..len * (r + 1) / w
}

/// Rows executor `rank` trains on per epoch: the sum of its shares of every global batch of
/// `batch` rows over `n` rows (over all executors these sum to `n`).
pub fn rows_trained(n: usize, batch: usize, rank: u32, world: u32) -> usize {
    let batch = batch.max(1);
    (0..n.div_ceil(batch))
        .map(|s| share(((s + 1) * batch).min(n) - s * batch, rank, world).len())
        .sum()
}

/// The initial weights: seeded libtorch initialisation on rank 0, broadcast to every rank.
pub fn init(world: &World, cfg: &TrainConfig) -> (nn::VarStore, Net) {
    tch::manual_seed(cfg.seed as i64);
    let vs = nn::VarStore::new(cfg.device);
    let net = Net::new(&vs.root());
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut flat: Vec<f32> = Vec::new();
    for (_, t) in &vars {
        flat.extend(
            Vec::<f32>::try_from(t.detach().to_device(Device::Cpu).flatten(0, -1)).expect("f32"),
        );
    }
    world.broadcast(&mut flat);
    tch::no_grad(|| {
        let mut at = 0;
        for (_, t) in &mut vars {
            let n = t.numel();
            let src = Tensor::from_slice(&flat[at..at + n])
                .view(t.size().as_slice())
                .to_device(cfg.device);
            t.copy_(&src);
            at += n;
        }
    });
    (vs, net)
}

/// Copies `t`'s values (any device, any layout; `out.len()` of them) into `out`, row-major.
fn copy_flat(t: &Tensor, out: &mut [f32]) {
    t.to_device(Device::Cpu)
        .contiguous()
        .flatten(0, -1)
        .copy_data(out, out.len());
}

/// Adam's constants (PyTorch's and libtorch's defaults): β₁, β₂, ε.
const ADAM_BETAS: (f32, f32) = (0.9, 0.999);
const ADAM_EPS: f32 = 1e-8;

/// One executor's optimiser state and gradient buffer: [`Stepper::step`] is one data-parallel
/// optimisation step (the inner loop of [`train`], apart so benches can time it).
///
/// Adam runs on the flat, allreduced gradient buffer itself, over a flat copy of the weights
/// that every executor updates identically, and the new weights are written back into the
/// model's tensors: per step that is 8 tensor copies instead of libtorch's 7 tensor
/// operations per parameter plus copying the summed gradients back. The update is PyTorch's
/// `torch.optim.Adam` (Kingma & Ba 2015, Algorithm 1, with ε added after the bias-corrected
/// square root), computed in `f32` in the same order:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`.
pub struct Stepper {
    params: Vec<Tensor>,
    /// Every parameter's values in one 1-D tensor on the device, in parameter order: each
    /// parameter is a view of its range ([`Tensor::set_data`]), so one copy writes them all.
    flat: Tensor,
    /// All gradients flattened in parameter order, then the share's loss: the allreduce buffer.
    buf: Vec<f32>,
    /// The weights, flattened in parameter order (the master copy the update is applied to).
    weights: Vec<f32>,
    /// Adam's first and second moments, flat like `weights`.
    m: Vec<f32>,
    v: Vec<f32>,
    /// Steps taken (Adam's `t`).
    t: i32,
    learning_rate: f64,
    device: Device,
    /// Seconds this executor spent in the gradient allreduce so far.
    pub allreduce_sec: f64,
}

impl Stepper {
    /// Adam (`cfg.learning_rate`, β = (0.9, 0.999), ε = 1e-8) over `vs`'s trainable variables,
    /// starting from their current values.
    pub fn new(vs: &nn::VarStore, cfg: &TrainConfig) -> Stepper {
        let mut params = vs.trainable_variables();
        let total: usize = params.iter().map(Tensor::numel).sum();
        let mut weights = vec![0f32; total];
        let mut at = 0;
        for p in &params {
            let n = p.numel();
            copy_flat(&p.detach(), &mut weights[at..at + n]);
            at += n;
        }
        let flat = Tensor::from_slice(&weights).to_device(cfg.device);
        tch::no_grad(|| {
            let mut at = 0;
            for p in &mut params {
                let n = p.numel() as i64;
                let view = flat.narrow(0, at, n).view(p.size().as_slice());
                p.set_data(&view);
                at += n;
            }
        });
        Stepper {
            params,
            flat,
            buf: vec![0f32; total + 1],
            weights,
            m: vec![0f32; total],
            v: vec![0f32; total],
            t: 0,
            learning_rate: cfg.learning_rate,
            device: cfg.device,
            allreduce_sec: 0.0,
        }
    }

    /// One step on a global batch of `len` rows of which this executor holds `rows` (its
    /// contiguous share; empty when it has none): gradient of the share's summed squared error
    /// / `len`, allreduced, then one Adam step. Returns the global batch's mean loss (MSE,
    /// kWh²), the same on every executor.
    pub fn step(
        &mut self,
        world: &World,
        net: &Net,
        train: &Inputs,
        rows: &[i64],
        len: usize,
    ) -> f64 {
        let total = self.buf.len() - 1;
        {
            // An executor with no share (a last batch smaller than the world) still
            // backpropagates one row times zero, so its gradients exist and are zero.
            let (rows, weight) = if rows.is_empty() {
                (&[0i64][..], 0.0)
            } else {
                (rows, 1.0)
            };
            let idx = Tensor::from_slice(rows).to_device(self.device);
            let b = train.select(&idx);
            let pred = net.forward(&b.seq, &b.length, &b.statics);
            let loss = (pred - &b.target).square().sum(Kind::Float) * (weight / len as f64);
            // The gradients as new tensors (nothing accumulates into `.grad`, so nothing to
            // clear), concatenated and copied into the allreduce buffer in one go.
            let grads = Tensor::run_backward(&[&loss], &self.params, false, false);
            let flat: Vec<Tensor> = grads.iter().map(|g| g.view([-1])).collect();
            copy_flat(&Tensor::cat(&flat, 0), &mut self.buf[..total]);
            self.buf[total] = loss.double_value(&[]) as f32;
        }
        let c0 = world.comm_sec();
        world.sum_in_place(&mut self.buf);
        self.allreduce_sec += world.comm_sec() - c0;
        self.adam(total);
        // Every parameter is a view of `flat`: one copy writes the new weights into all.
        tch::no_grad(|| {
            self.flat
                .copy_(&Tensor::from_slice(&self.weights).to_device(self.device))
        });
        f64::from(self.buf[total])
    }

    /// Adam's update of `weights` from the summed gradients `buf[..total]`.
    fn adam(&mut self, total: usize) {
        self.t += 1;
        let (b1, b2) = ADAM_BETAS;
        // Scalars in f64 and rounded once, as libtorch passes them to its f32 kernels.
        let step_size = (self.learning_rate / (1.0 - f64::from(b1).powi(self.t))) as f32;
        let bc2_sqrt = (1.0 - f64::from(b2).powi(self.t)).sqrt() as f32;
        let (one_b1, one_b2) = ((1.0 - f64::from(b1)) as f32, (1.0 - f64::from(b2)) as f32);
        let grads = &self.buf[..total];
        for (((w, m), v), g) in self
            .weights
            .iter_mut()
            .zip(&mut self.m)
            .zip(&mut self.v)
            .zip(grads)
        {
            *m = *m * b1 + *g * one_b1;
            *v = *v * b2 + one_b2 * *g * *g;
            let denom = v.sqrt() / bc2_sqrt + ADAM_EPS;
            *w -= step_size * (*m / denom);
        }
    }
}

/// Trains `net` on `train` (every executor passes the same rows) for `cfg.epochs`, calling
/// `progress(epoch, epochs, loss)` after each epoch.
pub fn train(
    world: &World,
    vs: &nn::VarStore,
    net: &Net,
    train: &Inputs,
    cfg: &TrainConfig,
    progress: &mut dyn FnMut(u32, u32, f64),
) -> TrainOutcome {
    tch::set_num_threads(cfg.threads as i32);
    let n = train.target.size()[0] as usize;
    let batch = cfg.global_batch(world.size()).max(1);
    let steps = n.div_ceil(batch);
    let mut stepper = Stepper::new(vs, cfg);
    let mut out = TrainOutcome {
        steps_per_epoch: steps,
        ..Default::default()
    };
    for epoch in 0..cfg.epochs {
        let t0 = Instant::now();
        let order = epoch_order(n, cfg.seed, epoch);
        let mut sse = 0.0;
        for s in 0..steps {
            let positions = s * batch..((s + 1) * batch).min(n);
            let len = positions.len();
            let mine = share(len, world.rank(), world.size());
            let rows = &order[positions.start + mine.start..positions.start + mine.end];
            let step_loss = stepper.step(world, net, train, rows, len);
            sse += step_loss * len as f64;
            out.step_loss.push(step_loss);
        }
        let loss = sse / n.max(1) as f64;
        out.epoch_loss.push(loss);
        out.epoch_sec.push(t0.elapsed().as_secs_f64());
        progress(epoch + 1, cfg.epochs, loss);
    }
    out.allreduce_sec = stepper.allreduce_sec;
    out
}

/// Test RMSE and MAE (kWh) of `net` on `test`, each executor scoring a contiguous share of
/// the rows, sums combined with one allreduce.
pub fn evaluate(world: &World, net: &Net, test: &Inputs) -> (f64, f64) {
    let n = test.target.size()[0] as usize;
    let mine = share(n, world.rank(), world.size());
    let mut sums = [0f64; 2];
    if !mine.is_empty() {
        tch::no_grad(|| {
            let b = test.slice(mine.start as i64, mine.end as i64);
            let err = net.forward(&b.seq, &b.length, &b.statics) - &b.target;
            sums[0] = err.square().sum(Kind::Double).double_value(&[]);
            sums[1] = err.abs().sum(Kind::Double).double_value(&[]);
        });
    }
    world.sum_in_place(&mut sums);
    let n = n.max(1) as f64;
    ((sums[0] / n).sqrt(), sums[1] / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_a_batch_once() {
        for len in [0usize, 1, 7, 500] {
            for w in 1..=5u32 {
                let mut covered = Vec::new();
                for r in 0..w {
                    covered.extend(share(len, r, w));
                }
                assert_eq!(covered, (0..len).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn trained_rows_sum_to_the_data() {
        for (n, b, w) in [(1001usize, 500usize, 2u32), (7, 3, 4), (81_000, 500, 3)] {
            let sum: usize = (0..w).map(|r| rows_trained(n, b, r, w)).sum();
            assert_eq!(sum, n);
        }
        assert_eq!(rows_trained(1001, 500, 0, 2), 250 + 250);
    }

    #[test]
    fn epoch_orders_are_permutations_that_change_per_epoch() {
        let a = epoch_order(1000, 42, 0);
        let b = epoch_order(1000, 42, 1);
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, (0..1000).collect::<Vec<i64>>());
        assert_ne!(a, b);
        assert_eq!(a, epoch_order(1000, 42, 0));
    }
}
