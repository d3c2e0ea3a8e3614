//! The job file the driver writes for one run, and the outcome rank 0 writes back.
//!
//! Flow: driver writes `jobs/<run_id>.json` → `mpirun … harness exec <job>` →
//! executors run the workload → rank 0 gathers the executor reports and writes an
//! [`ExecutorOutcome`] to `outcome_path` → the driver turns it into a [`crate::RunRecord`].

use serde::{Deserialize, Serialize};

use crate::record::{DataStats, ExecutorReport, FarmStats, Metrics, Point};

/// Everything an executor needs to make one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub study: String,
    pub run_id: String,
    pub workload: String,
    pub point: Point,
    pub repetition: u32,
    /// Data location: a directory (absolute path) or `s3://bucket/prefix`.
    pub data: String,
    /// Driver's wall-clock time at launch, seconds since the Unix epoch (used for `startup_sec`
    /// only when rank 0 runs under another kernel than the driver).
    pub launch_unix: f64,
    /// Driver's `CLOCK_MONOTONIC` at launch, ns: every process under the same kernel (compose
    /// containers on one machine included) reads the same clock.
    #[serde(default)]
    pub launch_monotonic_ns: Option<u64>,
    /// The driver kernel's boot id (`/proc/sys/kernel/random/boot_id`): equal on rank 0 means
    /// the same kernel, hence the same monotonic clock.
    #[serde(default)]
    pub driver_boot_id: Option<String>,
    /// Rank 0's host's wall clock minus the driver's, seconds, as the driver measured it
    /// (`--hostfile` runs); subtracted when `startup_sec` falls back to wall clocks.
    #[serde(default)]
    pub clock_offset_sec: Option<f64>,
    /// Where rank 0 writes the [`ExecutorOutcome`] (absolute path).
    pub outcome_path: String,
    /// Where a failing rank writes its error text: `<error_prefix>.<rank>.err`.
    pub error_prefix: String,
    /// Name of the per-run cgroup (`harness/<study>/<run_id>`), created under the launcher's own
    /// cgroup; `None` disables cgroup limits.
    pub cgroup: Option<String>,
    /// Wall seconds of each attempt of the CPU check — `cores` threads spin and the CPU time
    /// they got is read back (0 disables it; the check then does not count against
    /// `enforced`).
    #[serde(default = "default_burn")]
    pub burn_sec: f64,
    /// Directory (absolute path) where rank 0 may write the run's artifacts — models, per-trial
    /// logs — for workloads that produce them; `None` when the driver provides none.
    #[serde(default)]
    pub artifacts_dir: Option<String>,
    /// Limits are set by the nodes themselves (containers with `cpus`/`mem_limit`, a cluster
    /// hostfile): executors apply nothing and only measure; `enforced` then says whether what
    /// they measured matches the point.
    #[serde(default)]
    pub limits_by_node: bool,
    /// The point's executors run as one process (`mpirun -np 1`) given all their CPUs and
    /// memory — [`JobSpec::process_cores`], [`JobSpec::process_memory_bytes`] — for programs
    /// with a scheduler of their own (a `command` job with `launch = "once"`). The record
    /// keeps the point's executor count.
    #[serde(default)]
    pub once: bool,
}

impl JobSpec {
    /// Executors each process stands for: all of them when [`JobSpec::once`], else 1.
    fn executors_per_process(&self) -> u32 {
        if self.once {
            self.point.executors
        } else {
            1
        }
    }

    /// Cores each process gets: executors × cores when [`JobSpec::once`], else cores.
    pub fn process_cores(&self) -> u32 {
        self.point.cores * self.executors_per_process()
    }

    /// Memory limit of each process, bytes: executors × memory when [`JobSpec::once`], else
    /// the point's memory per executor.
    pub fn process_memory_bytes(&self) -> u64 {
        self.point.memory_bytes * u64::from(self.executors_per_process())
    }
}

fn default_burn() -> f64 {
    0.5
}

/// What rank 0 reports for a run: executor reports and run-level phase times (seconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutorOutcome {
    /// Launch → all executors initialised (barrier), seconds, on the clock `startup_clock` names.
    pub startup_sec: f64,
    /// `monotonic` (rank 0 shares the driver's kernel: one `CLOCK_MONOTONIC`) or `wall` (another
    /// host: the difference of two wall clocks, as good as their time synchronisation).
    #[serde(default)]
    pub startup_clock: String,
    /// Maximum over executors of their CPU check's time, seconds.
    #[serde(default)]
    pub cpu_check_sec: f64,
    /// Maximum over executors of their load time, seconds.
    pub load_sec: f64,
    /// Training time, seconds: the barrier-aligned `train` phase unless the workload gave its
    /// own (see `training_time_source`).
    pub training_time_sec: f64,
    /// `phase`, `job` or `process-wall` (see `Times::training_time_source`); empty from older
    /// executors.
    #[serde(default)]
    pub training_time_source: String,
    /// Barrier-aligned evaluation time, seconds.
    pub eval_sec: f64,
    /// Maximum over executors of their time inside collectives, seconds.
    pub comm_sec: f64,
    /// Rank 0's wall-clock time when the outcome was complete, seconds since the Unix epoch
    /// (informational; `total_time_sec` is the driver's own clock).
    pub finished_unix: f64,
    pub data: DataStats,
    pub metrics: Metrics,
    pub executor_reports: Vec<ExecutorReport>,
    /// LightGBM version the executors were built with.
    pub lightgbm_version: String,
    /// Task placement and timing, for task-parallel workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub farm: Option<FarmStats>,
}
