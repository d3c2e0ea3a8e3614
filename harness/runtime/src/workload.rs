//! The `Workload` trait and the context an executor hands to it.
//!
//! A workload crate implements [`Workload::run`], which every executor calls with its
//! [`ExecutorContext`]. The context times phases the same way for every workload: `load` is
//! local to each executor (the run's `load_sec` is the maximum), `train` and `eval` are
//! barrier-aligned so every executor measures the same interval.

use std::time::Instant;

use harness_core::record::{Metrics, Rows};
use harness_core::shard::FileEntry;
use harness_core::JobSpec;

use crate::world::World;

/// Any error a workload reports; it is written to the run's error file and recorded.
pub type WorkloadError = Box<dyn std::error::Error + Send + Sync>;

/// One training job type (`fractal-rf`, …), run by every executor of a run.
pub trait Workload {
    /// The workload's name as used on the command line and in records.
    fn name(&self) -> &'static str;

    /// Runs on every executor. Load through [`ExecutorContext::load`], train through
    /// [`ExecutorContext::train`], evaluate through [`ExecutorContext::eval`]; return metrics
    /// over all executors (every rank returns the same metrics) and what this executor read.
    ///
    /// # Errors
    /// Any failure; the executor writes it to its error file and aborts the run.
    fn run(&self, ctx: &mut ExecutorContext<'_>) -> Result<WorkloadOutput, WorkloadError>;
}

/// What one executor reports back from a workload.
#[derive(Debug, Clone, Default)]
pub struct WorkloadOutput {
    /// Metrics over the whole run (identical on every rank).
    pub metrics: Metrics,
    /// Files this executor read.
    pub files: Vec<FileEntry>,
    /// Rows this executor read, per split.
    pub rows: Rows,
}

/// The executor's view of a run: the MPI world, the job, and phase timers.
pub struct ExecutorContext<'a> {
    pub world: &'a World,
    pub job: &'a JobSpec,
    pub(crate) load_sec: f64,
    pub(crate) train_sec: f64,
    pub(crate) eval_sec: f64,
}

impl<'a> ExecutorContext<'a> {
    /// A context for `job` in `world`.
    pub fn new(world: &'a World, job: &'a JobSpec) -> Self {
        ExecutorContext {
            world,
            job,
            load_sec: 0.0,
            train_sec: 0.0,
            eval_sec: 0.0,
        }
    }

    /// Cores given to this executor (its thread count).
    pub fn cores(&self) -> u32 {
        self.job.point.cores
    }

    /// Times a local loading phase (adds to this executor's `load_sec`).
    pub fn load<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.load_sec += t.elapsed().as_secs_f64();
        out
    }

    /// Times a barrier-aligned training phase: barrier, `f`, barrier.
    pub fn train<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let (out, dt) = self.aligned(f);
        self.train_sec += dt;
        out
    }

    /// Times a barrier-aligned evaluation phase: barrier, `f`, barrier.
    pub fn eval<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let (out, dt) = self.aligned(f);
        self.eval_sec += dt;
        out
    }

    fn aligned<T>(&self, f: impl FnOnce() -> T) -> (T, f64) {
        self.world.barrier();
        let t = Instant::now();
        let out = f();
        self.world.barrier();
        (out, t.elapsed().as_secs_f64())
    }
}
