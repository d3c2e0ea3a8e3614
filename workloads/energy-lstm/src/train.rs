//! Data-parallel training over MPI: every executor holds the training rows and the same
//! initial weights (broadcast from rank 0); each step's **global batch** is the next
//! `batch` positions of the epoch's seeded order, each executor computes the gradient of its
//! contiguous share, and one allreduce over a flat buffer (all gradients + the share's loss)
//! gives every executor the gradient of the global batch's mean loss; then each runs the same
//! Adam step. The optimisation path is therefore the same at every executor count (up to float
//! summation order), and every executor ends with the same weights.
//!
//! **The split** ([`Split`]). The gradient of the global batch does not depend on how its rows
//! are shared out (each share's loss is divided by the global batch's length and the shares'
//! gradients are summed), so the shares need not be equal. PyTorch's DDP gives every process
//! the same number of rows; with `balance` (the default) the shares follow each executor's
//! measured speed instead, so that a slowed executor (a noisy neighbour on its core, a slower
//! node) does not keep the others waiting in the allreduce at every step. Every executor adds
//! its compute seconds of the step to the allreduce buffer; from the summed buffer each keeps
//! the same moving estimate of every executor's seconds per row and cuts the next batch in
//! proportion to the speeds, so all executors cut it identically. The fixed point equalises the
//! executors' compute seconds per step. This is straggler-aware load balancing as in
//! LB-BSP (Chen et al., "Semi-dynamic load balancing: efficient distributed learning in
//! non-dedicated environments", SoCC 2020), here per step with an exponential moving average.
//! With `balance = false` every share is [`share`]'s even one, and a run is bit-for-bit
//! repeatable; balanced shares depend on the timings, so a balanced run's weights can differ
//! from another run's in the last bits (the float sums group the rows differently).
//!
//! The epoch order is a documented function, so other frameworks can replay it (the PyTorch
//! parity test does): row `i` of `n` gets the key `mix64(mix64(seed ^ mix64(epoch)) ^ i)`
//! ([`crate::prepare::mix64`], SplitMix64's finaliser) and rows are taken by ascending key.
//!
//! PyTorch's DDP keeps one gradient bucket per 25 MB; this model's 18,049 gradients (72 KB) fit
//! one buffer, so every step is one allreduce of 18,049 + 1 + executors `f32` (gradients, the
//! loss, each executor's compute seconds).

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
    /// Share each global batch in proportion to the executors' measured speeds ([`Split`]);
    /// `false`: equal shares, as PyTorch's DDP.
    pub balance: bool,
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
            balance: true,
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
    /// Per step, in order: every executor's rows of the global batch, in rank order.
    pub step_rows: Vec<Vec<usize>>,
    /// Per step, in order: every executor's compute seconds before the allreduce, in rank
    /// order (the same on every executor; the wait in the allreduce is the gap to the slowest).
    pub step_compute_sec: Vec<Vec<f64>>,
}

impl TrainOutcome {
    /// Rows executor `rank` trained on in the last epoch (over all executors these sum to the
    /// training rows).
    pub fn rows_last_epoch(&self, rank: u32) -> usize {
        let last = self.step_rows.len().saturating_sub(self.steps_per_epoch);
        self.step_rows[last..]
            .iter()
            .map(|r| r[rank as usize])
            .sum()
    }

    /// The largest executor's share of all rows trained over all epochs: `1 / executors` with
    /// equal shares.
    pub fn max_share(&self) -> f64 {
        let executors = self.step_rows.first().map_or(0, Vec::len);
        let trained: Vec<usize> = (0..executors)
            .map(|r| self.step_rows.iter().map(|s| s[r]).sum())
            .collect();
        let all: usize = trained.iter().sum();
        trained.iter().copied().max().unwrap_or(0) as f64 / all.max(1) as f64
    }
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

/// Weight of the newest observation in [`Split`]'s moving estimate of seconds per row.
const SPLIT_EMA: f64 = 0.25;
/// In a balanced split an executor's speed counts as at most this factor of the executors'
/// mean speed, and at least its inverse, so no executor's share falls to nothing (two
/// executors: each keeps at least 1/5 of a batch).
const SPLIT_BOUND: f64 = 2.0;

/// How each global batch is cut into the executors' contiguous shares: evenly ([`share`]), or
/// in proportion to each executor's measured rows per second (module docs). Every executor
/// holds an identical `Split` (the same observations from the same allreduced buffer), so all
/// cut every batch the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    balance: bool,
    /// Moving estimate of each executor's compute seconds per row; 0 until first measured.
    sec_per_row: Vec<f64>,
}

impl Split {
    /// A split over `world` executors, balanced when `balance`.
    pub fn new(world: u32, balance: bool) -> Split {
        Split {
            balance,
            sec_per_row: vec![0.0; world as usize],
        }
    }

    /// Every executor's share of a batch of `len` positions, in rank order: contiguous ranges
    /// that cover `0..len` once. Even until every executor has been measured (and always
    /// without `balance`); then proportional to each executor's speed `1 / sec_per_row`,
    /// bounded by [`SPLIT_BOUND`].
    pub fn shares(&self, len: usize) -> Vec<std::ops::Range<usize>> {
        let w = self.sec_per_row.len() as u32;
        if !self.balance || w < 2 || self.sec_per_row.iter().any(|s| *s <= 0.0) {
            return (0..w).map(|r| share(len, r, w)).collect();
        }
        let speed: Vec<f64> = self.sec_per_row.iter().map(|s| 1.0 / s).collect();
        let mean = speed.iter().sum::<f64>() / f64::from(w);
        let speed: Vec<f64> = speed
            .iter()
            .map(|v| v.clamp(mean / SPLIT_BOUND, mean * SPLIT_BOUND))
            .collect();
        let sum: f64 = speed.iter().sum();
        let mut cut = Vec::with_capacity(w as usize + 1);
        let mut acc = 0.0;
        cut.push(0);
        for v in &speed[..speed.len() - 1] {
            acc += v;
            cut.push(((len as f64 * acc / sum).round() as usize).min(len));
        }
        cut.push(len);
        cut.windows(2).map(|c| c[0]..c[1].max(c[0])).collect()
    }

    /// Takes in one step: `rows[r]` rows took executor `r` `compute_sec[r]` seconds (executors
    /// without rows are not measured).
    pub fn observe(&mut self, rows: &[usize], compute_sec: &[f64]) {
        for ((est, &n), &sec) in self.sec_per_row.iter_mut().zip(rows).zip(compute_sec) {
            if n == 0 || sec <= 0.0 {
                continue;
            }
            let x = sec / n as f64;
            *est = if *est <= 0.0 {
                x
            } else {
                *est + SPLIT_EMA * (x - *est)
            };
        }
    }
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
/// model's tensors, which are views of one flat tensor: per step that is one tensor copy
/// instead of libtorch's 7 tensor operations per parameter plus copying the summed gradients
/// back into each parameter's `.grad`. The update is PyTorch's
/// `torch.optim.Adam` (Kingma & Ba 2015, Algorithm 1, with ε added after the bias-corrected
/// square root), computed in `f32` in the same order:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`.
pub struct Stepper {
    params: Vec<Tensor>,
    /// Every parameter's values in one 1-D tensor on the device, in parameter order: each
    /// parameter is a view of its range ([`Tensor::set_data`]), so one copy writes them all.
    flat: Tensor,
    /// The allreduce buffer: all gradients flattened in parameter order, then the share's
    /// loss, then every executor's compute seconds of the step (each fills its own slot).
    buf: Vec<f32>,
    /// Gradients in `buf`.
    total: usize,
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
    /// starting from their current values, for one executor of `world`.
    pub fn new(world: &World, vs: &nn::VarStore, cfg: &TrainConfig) -> Stepper {
        let mut params = vs.trainable_variables();
        let total: usize = params.iter().map(Tensor::numel).sum();
        let parts: Vec<Tensor> = params.iter().map(|p| p.detach().flatten(0, -1)).collect();
        let flat = Tensor::cat(&parts, 0).to_device(cfg.device);
        let mut weights = vec![0f32; total];
        copy_flat(&flat, &mut weights);
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
            buf: vec![0f32; total + 1 + world.size() as usize],
            total,
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
    /// kWh²), the same on every executor; [`Stepper::compute_sec`] then holds every executor's
    /// compute seconds of this step.
    pub fn step(
        &mut self,
        world: &World,
        net: &Net,
        train: &Inputs,
        rows: &[i64],
        len: usize,
    ) -> f64 {
        let total = self.total;
        let started = Instant::now();
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
        let timing = &mut self.buf[total + 1..];
        timing.fill(0.0);
        timing[world.rank() as usize] = started.elapsed().as_secs_f32();
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

    /// Every executor's compute seconds (select, forward, backward, gradient copy: all before
    /// the allreduce) of the last step, in rank order, as the allreduce delivered them (the
    /// same on every executor).
    pub fn compute_sec(&self) -> Vec<f64> {
        self.buf[self.total + 1..]
            .iter()
            .map(|s| f64::from(*s))
            .collect()
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
    let mut stepper = Stepper::new(world, vs, cfg);
    let mut split = Split::new(world.size(), cfg.balance);
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
            let shares = split.shares(len);
            let mine = shares[world.rank() as usize].clone();
            let rows = &order[positions.start + mine.start..positions.start + mine.end];
            let step_loss = stepper.step(world, net, train, rows, len);
            let counts: Vec<usize> = shares.iter().map(|r| r.len()).collect();
            let compute = stepper.compute_sec();
            split.observe(&counts, &compute);
            out.step_rows.push(counts);
            out.step_compute_sec.push(compute);
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
    fn the_split_is_even_until_measured_then_follows_the_speeds() {
        let mut s = Split::new(2, true);
        assert_eq!(s.shares(500), vec![0..250, 250..500]);
        // Rank 0 took 6 ms for 250 rows, rank 1 4 ms: rank 1 is 1.5x as fast.
        s.observe(&[250, 250], &[0.006, 0.004]);
        assert_eq!(s.shares(500), vec![0..200, 200..500]);
        // The fixed point: equal compute seconds (200 rows at 24 us = 300 rows at 16 us).
        s.observe(&[200, 300], &[0.0048, 0.0048]);
        assert_eq!(s.shares(500), vec![0..200, 200..500]);
        // The estimate moves by a quarter of a new observation's difference.
        s.observe(&[200, 300], &[0.0048, 0.0096]);
        let est: [f64; 2] = [0.000024, 0.000016 + 0.25 * (0.000032 - 0.000016)];
        let want = (500.0 * (1.0 / est[0]) / (1.0 / est[0] + 1.0 / est[1])).round() as usize;
        assert_eq!(s.shares(500), vec![0..want, want..500]);
        // A rank 10x slower counts at half the mean speed: (1/200 + 1/20) / 2 / 2 per us
        // against the other's 1/20, 108 of 500 rows.
        let mut s = Split::new(2, true);
        s.observe(&[250, 250], &[0.05, 0.005]);
        let shares = s.shares(500);
        assert_eq!(shares[0].len(), 108, "{shares:?}");
        // Unbalanced: always even.
        let mut s = Split::new(3, false);
        s.observe(&[2, 2, 3], &[1.0, 0.1, 0.1]);
        assert_eq!(s.shares(7), vec![0..2, 2..4, 4..7]);
    }

    #[test]
    fn balanced_shares_cover_every_batch_once() {
        let mut s = Split::new(3, true);
        s.observe(&[1, 1, 1], &[0.001, 0.003, 0.0007]);
        for len in [0usize, 1, 2, 7, 498, 500] {
            let shares = s.shares(len);
            assert_eq!(shares.len(), 3);
            let covered: Vec<usize> = shares.into_iter().flatten().collect();
            assert_eq!(covered, (0..len).collect::<Vec<_>>(), "len {len}");
        }
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
