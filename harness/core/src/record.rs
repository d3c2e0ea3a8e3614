//! Result schema v1: one [`RunRecord`] per run, one JSON object per line in
//! `results/<study>/runs.jsonl`.
//!
//! The schema is public and versioned. `harness schema` prints the JSON Schema generated from
//! these types (committed as `schema/run-record.v1.json`); reports read only these records.
//! Adding an optional field keeps the version; renaming or removing one bumps
//! [`SCHEMA_VERSION`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the record layout written by this build.
pub const SCHEMA_VERSION: u32 = 1;

/// One point of a study grid: the cluster shape and workload parameters of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    /// Number of executors (MPI ranks), ≥ 1.
    pub executors: u32,
    /// CPU cores per executor, ≥ 1.
    pub cores: u32,
    /// Memory limit per executor, in bytes.
    pub memory_bytes: u64,
    /// Share of the input files read, in (0, 1].
    pub fraction: f64,
    /// Workload parameters that override the workload's reference parameters.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

impl Point {
    /// A short, stable, human-readable key: `e2-c1-m7g-f0.05`, plus a hash of the parameters
    /// when there are any. Used in run ids and file names.
    pub fn key(&self) -> String {
        let mut key = format!(
            "e{}-c{}-m{}-f{}",
            self.executors,
            self.cores,
            crate::units::format_bytes(self.memory_bytes),
            self.fraction
        );
        if !self.params.is_empty() {
            let text = serde_json::to_string(&self.params).unwrap_or_default();
            key.push_str(&format!("-p{:08x}", fnv1a(text.as_bytes()) as u32));
        }
        key
    }

    /// Whether `other` has the same shape: executors, cores and memory per executor, fraction
    /// (parameters aside: two workloads' points of one cluster shape).
    pub fn same_shape(&self, other: &Point) -> bool {
        self.executors == other.executors
            && self.cores == other.cores
            && self.memory_bytes == other.memory_bytes
            && (self.fraction - other.fraction).abs() < 1e-12
    }

    /// Whether `other` is the same point (same shape, fraction and parameters).
    pub fn same_as(&self, other: &Point) -> bool {
        self.same_shape(other) && self.params == other.params
    }
}

/// FNV-1a, 64 bit: a tiny stable hash for keys (not for security).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Completed and produced metrics.
    Ok,
    /// An executor or the launcher failed; `error` says why.
    Failed,
    /// Killed after exceeding the per-run timeout.
    Timeout,
    /// An executor was killed by its memory limit; `oom` holds the limit and the peak usage.
    Oom,
}

/// Phase times of a run, in seconds. The meaning is identical for every workload (see the
/// README, "Results"). A phase a failed run never reached is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Times {
    /// `mpirun` spawned → `mpirun` exited, on the driver's monotonic clock: one definition for
    /// every status (ok, failed, timeout, oom).
    pub total_time_sec: f64,
    /// Launch → all executors initialised with limits applied and measured (barrier).
    pub startup_sec: Option<f64>,
    /// The clock `startup_sec` was read on: `monotonic` when rank 0 shares the driver's kernel
    /// (one `CLOCK_MONOTONIC`; compose containers on one machine do); across kernels the
    /// difference of two wall clocks, `wall-offset` when rank 0's host's offset from the
    /// driver was measured and subtracted (see `clock_offset_sec`), `wall` when it was not
    /// (then as good as the hosts' time synchronisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_clock: Option<String>,
    /// `--hostfile` runs: rank 0's host's wall clock minus the driver's, seconds, measured by
    /// the driver just before launch (Cristian's algorithm over ssh, best of several probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_sec: Option<f64>,
    /// Half the round trip of the probe `clock_offset_sec` comes from, seconds: the true
    /// offset lies within `clock_offset_sec ± clock_offset_uncertainty_sec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_uncertainty_sec: Option<f64>,
    /// The CPU check after start-up (see `ExecutorReport::cpu_check_ratio`): the maximum
    /// over executors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_check_sec: Option<f64>,
    /// Reading and decoding input: the maximum over executors.
    pub load_sec: Option<f64>,
    /// First training step → model complete, barrier-aligned across executors (see
    /// `training_time_source`).
    pub training_time_sec: Option<f64>,
    /// Where `training_time_sec` comes from: `phase` (the harness's barrier-aligned training
    /// phase, every native workload), `job` (a `command` job's own `training_time_sec`), or
    /// `process-wall` (a `command` job that gave none: its process's wall time, spawn → exit,
    /// barrier-aligned). Absent in records made before it was kept (they are `phase`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_time_source: Option<String>,
    /// Prediction and metrics, barrier-aligned.
    pub eval_sec: Option<f64>,
    /// Time inside collectives: the maximum over executors.
    pub comm_sec: Option<f64>,
}

/// Rows per split.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rows {
    pub train: u64,
    pub val: u64,
    pub test: u64,
}

/// What a run read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DataStats {
    /// Number of input files read, all splits together.
    pub files: u64,
    /// Rows read per split.
    pub rows: Rows,
    /// Bytes of the input files read (on-disk, compressed size).
    pub bytes: u64,
    /// Number of partitions the input was split into (one per executor that received files).
    pub num_partitions: u32,
}

/// Quality metrics of a run. Classification workloads fill the accuracy-type fields, regression
/// workloads `rmse`/`mae`; `extra` holds workload-specific metrics (e.g. `trials_per_sec`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rmse: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mae: Option<f64>,
    /// Workload-specific metrics by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

/// What one executor was given and what it measured, with its phase times.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutorReport {
    /// MPI rank.
    pub rank: u32,
    /// Host name the executor ran on.
    pub host: String,
    /// Cores requested for this executor.
    pub cores_requested: u32,
    /// CPUs in the executor's affinity mask after limits were applied.
    pub cores_measured: u32,
    /// The CPU list of the affinity mask, e.g. `0-1` or `3`.
    pub cpuset: String,
    /// CFS quota in CPUs (quota / period) of the executor's cgroup; absent when unlimited.
    pub cpu_quota: Option<f64>,
    /// Memory limit of the executor's cgroup in bytes; absent when unlimited.
    pub memory_limit_bytes: Option<u64>,
    /// Effective parallelism from the CPU check: `cores_requested` threads spin for 0.25 s
    /// (per attempt, once all run) and this is the CPU seconds they got over their wall
    /// seconds, times `cores_requested`, in the best attempt. Close to `cores_requested` when
    /// the cores are really there; 0 when the check was disabled.
    pub effective_parallelism: f64,
    /// Whether the executor had what was requested, measured: limits applied and read back as
    /// requested, the CPU check at least [`CPU_CHECK_MIN`], no other executor of the run on
    /// the same host sharing one of its CPUs, and the training phase not contended
    /// ([`PhaseKernel::contended`]).
    pub enforced: bool,
    /// Why `enforced` is false (or what was only partly applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforcement_note: Option<String>,
    /// Which cgroup version applied the limits: `v1`, `v2` or `none`.
    pub cgroup: String,
    /// Peak resident set size of the executor process, bytes; for a `command` job, the larger
    /// of the executor's and that of the largest process of the job's tree.
    pub peak_rss_bytes: u64,
    /// Seconds this executor spent loading its input.
    pub load_sec: f64,
    /// Seconds of the barrier-aligned training phase as seen by this executor.
    pub train_sec: f64,
    /// Seconds of the evaluation phase as seen by this executor.
    pub eval_sec: f64,
    /// Seconds this executor spent inside collectives over the whole run: start-up barrier,
    /// phase-aligning barriers, the training phase's collectives and the evaluation's.
    pub comm_sec: f64,
    /// Seconds inside collectives *within* the training phase (LightGBM's network callbacks,
    /// the task farm's messages, a workload's own reductions), without the barriers that open
    /// and close the phase. Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_comm_sec: Option<f64>,
    /// Seconds this executor waited in the barrier that closes the training phase, i.e. for
    /// the slowest executor to finish training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_wait_sec: Option<f64>,
    /// Bytes this executor sent during training: its share of every reduce-scatter and
    /// all-gather of LightGBM's network callbacks, plus the buffers it put into the
    /// harness's own reductions (e.g. the MLlib forest's per-level histograms); 0 when it
    /// trained alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_comm_bytes: Option<u64>,
    /// What the kernel says this executor's threads got in each timed phase (see
    /// [`PhaseKernel`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelPhases>,
    /// The CPU check's ratio: CPU seconds the check's `cores_requested` spinning threads got
    /// over their wall time, the best of its attempts; below [`CPU_CHECK_MIN`] the executor
    /// did not get its cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_check_ratio: Option<f64>,
    /// Where each CPU of `cpuset` sits on the node (socket and physical core, from sysfs):
    /// CPUs with the same `(package, core)` are SMT siblings sharing one core.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_places: Vec<CpuPlace>,
    /// Every attempt's ratio, in order: the check stops at the first that reaches
    /// [`CPU_CHECK_MIN`] and makes at most [`CPU_CHECK_ATTEMPTS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_check_ratios: Vec<f64>,
    /// Wall seconds the CPU check took (after start-up, before loading; not part of
    /// `startup_sec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_check_sec: Option<f64>,
    /// How fast this executor's CPUs ran during the CPU check: millions of iterations of the
    /// check's dependent multiply–xor chain per CPU-second (best attempt, mean over its
    /// threads). The ratio says how much CPU the executor got; this says how fast that CPU
    /// was. On a VM the host can slow a vCPU (a busy hyperthread sibling, a lower clock)
    /// without the guest kernel seeing steal, so two runs with equal ratios can differ here;
    /// compare it across the runs of a study before reading a speedup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_check_rate: Option<f64>,
    /// SHA-256 (hex) of the model text this executor held after training, for workloads whose
    /// executors train one model together: equal on every rank is the proof, read from the
    /// models themselves, that they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_digest: Option<String>,
    /// Input files this executor read (paths relative to the data location).
    pub files: Vec<String>,
    /// Rows this executor read, all splits together.
    pub rows: u64,
    /// Bytes of the files this executor read.
    pub bytes: u64,
    /// Process id of the executor on its host, to match it with what `mpirun` or the kernel
    /// said about a process that died. Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Absent when the executor finished the run. Otherwise this report is the last one the
    /// executor wrote before the run failed, and `stage` is the phase it had reached:
    /// `started` (limits applied and measured), `load`, `train` or `eval`. Its times and kernel
    /// counters then cover the phases it completed, and `enforced` is false (training was not
    /// seen to its end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// A logical CPU's place on its node: `/sys/devices/system/cpu/cpu<cpu>/topology/`
/// `physical_package_id` (socket) and `core_id` (core within the socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CpuPlace {
    pub cpu: usize,
    pub package: u32,
    pub core: u32,
}

/// Least CPU-check ratio (CPU time / (wall × threads) of spinning threads) of an executor that
/// really had its cores.
pub const CPU_CHECK_MIN: f64 = 0.9;

/// Most attempts of the CPU check: an executor fails it only when every attempt is below
/// [`CPU_CHECK_MIN`] (a lasting loss of CPU, not one burst of someone else's work).
pub const CPU_CHECK_ATTEMPTS: u32 = 3;

/// Run-queue wait or throttled time, as a share of a phase's core-seconds (wall × cores), above
/// which the phase counts as contended.
pub const CONTENDED_SHARE: f64 = 0.05;

/// Seconds of run-queue wait or throttling per core below which a phase never counts as
/// contended: on a sub-second phase one burst of kernel work (writeback, an interrupt storm)
/// would otherwise cross [`CONTENDED_SHARE`]. Still recorded, never hidden.
pub const CONTENDED_MIN_SEC: f64 = 0.1;

/// What the kernel reports about one executor process over one timed phase (the sum over every
/// call of that phase). Sources: `getrusage(RUSAGE_SELF)` (plus `RUSAGE_CHILDREN`: the
/// processes a `command` executor started and waited for) for CPU time,
/// `/proc/self/task/*/schedstat` (2nd field, ns) for the time the executor's threads were
/// runnable but waiting for a CPU, the executor's cgroup `cpu.stat` (v2 `throttled_usec`,
/// v1 `throttled_time`) for CFS throttling, and `/proc/stat`'s `steal` column of the
/// executor's CPUs for time the hypervisor gave to someone else.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseKernel {
    /// Wall-clock seconds of the phase.
    pub wall_sec: f64,
    /// User + system CPU seconds of the executor process and of the processes it started and
    /// waited for during the phase (a `command` job's tree).
    pub cpu_sec: f64,
    /// Seconds the executor's threads were runnable but not running (summed over threads).
    /// Includes waits behind the executor's own threads (a coordinating thread sharing one
    /// core with a busy worker waits nearly all the time), so it is shown, not judged.
    pub run_queue_wait_sec: f64,
    /// CPU seconds other processes (and the kernel) got on the executor's CPUs during the
    /// phase: their busy time in `/proc/stat` minus the executor's own CPU time. Absent when
    /// `/proc/stat` is unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_cpu_sec: Option<f64>,
    /// Seconds the executor's cgroup was throttled by its CFS quota (summed over CPUs);
    /// absent when the cgroup has no `cpu.stat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_sec: Option<f64>,
    /// CFS periods in which the cgroup was throttled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_periods: Option<u64>,
    /// Steal seconds of the executor's CPUs (summed over CPUs); absent when `/proc/stat` is
    /// unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal_sec: Option<f64>,
    /// Whether other processes' CPU time on the executor's CPUs, or throttled time, exceeded
    /// [`CONTENDED_SHARE`] of the phase's core-seconds (`wall_sec × cores`) and
    /// [`CONTENDED_MIN_SEC`] per core ([`PhaseKernel::is_contended`]).
    pub contended: bool,
}

impl PhaseKernel {
    /// Run-queue wait as a share of the phase's core-seconds for `cores` cores.
    pub fn wait_share(&self, cores: u32) -> f64 {
        share(self.run_queue_wait_sec, self.wall_sec, cores)
    }

    /// Throttled time as a share of the phase's core-seconds for `cores` cores (0 when unknown).
    pub fn throttled_share(&self, cores: u32) -> f64 {
        share(self.throttled_sec.unwrap_or(0.0), self.wall_sec, cores)
    }

    /// CPU time others got on the executor's CPUs as a share of the phase's core-seconds.
    pub fn other_share(&self, cores: u32) -> f64 {
        share(self.other_cpu_sec.unwrap_or(0.0), self.wall_sec, cores)
    }

    /// Whether the phase counts as contended for an executor of `cores` cores: CPU time other
    /// processes got on its CPUs (or, where `/proc/stat` gave none, its run-queue wait), or its
    /// throttled time, above [`CONTENDED_SHARE`] of the core-seconds and above
    /// [`CONTENDED_MIN_SEC`] per core.
    pub fn is_contended(&self, cores: u32) -> bool {
        let floor = CONTENDED_MIN_SEC * f64::from(cores.max(1));
        let over = |sec: f64, share: f64| sec > floor && share > CONTENDED_SHARE;
        let others = match self.other_cpu_sec {
            Some(o) => over(o, self.other_share(cores)),
            None => over(self.run_queue_wait_sec, self.wait_share(cores)),
        };
        others
            || over(
                self.throttled_sec.unwrap_or(0.0),
                self.throttled_share(cores),
            )
    }
}

fn share(sec: f64, wall: f64, cores: u32) -> f64 {
    if wall > 0.0 {
        sec / (wall * f64::from(cores.max(1)))
    } else {
        0.0
    }
}

/// [`PhaseKernel`] of the three timed phases of an executor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KernelPhases {
    pub load: PhaseKernel,
    pub train: PhaseKernel,
    pub eval: PhaseKernel,
}

/// A run killed by its memory limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OomInfo {
    /// The limit that was hit, bytes.
    pub memory_limit_bytes: u64,
    /// Peak memory usage of the killed executor's cgroup, bytes.
    pub peak_bytes: u64,
    /// Ranks whose cgroup recorded an OOM kill.
    pub ranks: Vec<u32>,
}

/// One task of a task farm (wine trials, gbm-folds fold × grid tasks): where it ran and when.
/// Times are seconds since the farm started, on rank 0's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskSpan {
    /// Order in which the task was handed out, from 0.
    pub id: u32,
    /// Executor (rank) that ran the task.
    pub rank: u32,
    /// Slot within the executor that ran the task, from 0.
    pub slot: u32,
    /// When rank 0 handed the task out, seconds.
    pub dispatched_sec: f64,
    /// When the task's result reached rank 0, seconds.
    pub finished_sec: f64,
    /// Seconds the task ran on its slot (the executor's own clock).
    pub seconds: f64,
    /// Whether the task succeeded.
    pub ok: bool,
}

/// How a task-parallel run used its slots: every task's placement and timing, from which a
/// report draws the per-task Gantt chart and computes throughput and utilisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FarmStats {
    /// Slots per executor (rank order): `cores / threads_per_task`, capped by `parallelism`.
    pub slots: Vec<u32>,
    /// Seconds from the first hand-out to the last result.
    pub wall_sec: f64,
    /// Every task in the order its result reached rank 0.
    pub tasks: Vec<TaskSpan>,
    /// CPU seconds rank 0's coordinating thread used during the farm
    /// (`getrusage(RUSAGE_THREAD)`): the cost of handing out tasks and polling for results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator_cpu_sec: Option<f64>,
    /// Times that thread went to sleep of its own accord during the farm (voluntary context
    /// switches): about one per poll while it waits for other executors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator_wakeups: Option<u64>,
    /// Of `coordinator_cpu_sec`, the CPU seconds of its looks for results that found none (a
    /// wait of up to 1 ms on its own slots, then an `MPI_Improbe`): the cost of polling alone,
    /// apart from handling tasks and results. Absent with one executor (nothing to poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator_poll_cpu_sec: Option<f64>,
    /// How many such looks found nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator_empty_polls: Option<u64>,
}

impl FarmStats {
    /// Tasks per second of the farm's wall time.
    pub fn tasks_per_sec(&self) -> f64 {
        self.tasks.len() as f64 / self.wall_sec.max(f64::MIN_POSITIVE)
    }

    /// Busy share of all slots: Σ task seconds / (slots × wall seconds), in [0, 1].
    pub fn utilisation(&self) -> f64 {
        let busy: f64 = self.tasks.iter().map(|t| t.seconds).sum();
        let slots: u32 = self.slots.iter().sum();
        busy / (f64::from(slots) * self.wall_sec).max(f64::MIN_POSITIVE)
    }
}

/// Where and with what a run was made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    pub harness_version: String,
    pub git_rev: Option<String>,
    pub nix_store_path: Option<String>,
    pub host: String,
    pub cpu_model: String,
    pub logical_cpus: u32,
    pub memory_bytes: u64,
    pub kernel: String,
    pub mpi_version: String,
    pub lightgbm_version: String,
    /// Version of the XGBoost library the harness binary loaded (read from the library with
    /// `XGBoostVersion`, so a mismatched `libxgboost.so` shows here); absent in records made
    /// before XGBoost was an engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xgboost_version: Option<String>,
}

/// One run: one execution of a point (schema v1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunRecord {
    pub schema_version: u32,
    pub study: String,
    /// Stable id: `<point key>-r<repetition>`.
    pub run_id: String,
    pub workload: String,
    pub point: Point,
    pub repetition: u32,
    /// Attempt of this (point, repetition): 0 first, 1.. retries after a run that was not ok.
    #[serde(default)]
    pub attempt: u32,
    pub status: RunStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub times: Times,
    pub data: DataStats,
    pub metrics: Metrics,
    pub executor_reports: Vec<ExecutorReport>,
    /// True when executors × cores exceeded the logical CPUs and `mpirun --oversubscribe` was used.
    pub oversubscribed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom: Option<OomInfo>,
    /// Where the run's full launcher output is kept, relative to the study directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Where the run's artifacts (models, per-trial logs) are kept, relative to the study
    /// directory; only for workloads that write some (optional, added within schema v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<String>,
    /// Task placement and timing of a task-parallel run (optional, added within schema v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub farm: Option<FarmStats>,
    /// For a run that is not ok: whether another attempt can fix it — `true` when an executor
    /// died, hit its memory limit or timed out; `false` when the workload itself failed (bad
    /// input, bad parameters; its message is in `error`) or `mpirun` could not start. Only
    /// retryable runs are retried. Absent for ok runs and in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    pub provenance: Provenance,
}

impl RunRecord {
    /// Whether the executors hold one model: `Some(true)` when every report has a
    /// [`ExecutorReport::model_digest`] and all are equal, `Some(false)` when they differ,
    /// `None` when the workload reports none.
    pub fn one_model(&self) -> Option<bool> {
        let digests: Option<Vec<&str>> = self
            .executor_reports
            .iter()
            .map(|e| e.model_digest.as_deref())
            .collect();
        let d = digests.filter(|d| !d.is_empty())?;
        Some(d.iter().all(|x| *x == d[0]))
    }

    /// Whether every executor report says its limits were enforced (false if there are none).
    pub fn all_enforced(&self) -> bool {
        !self.executor_reports.is_empty() && self.executor_reports.iter().all(|r| r.enforced)
    }
}

/// The JSON Schema of [`RunRecord`], pretty-printed. Committed as `schema/run-record.v1.json`;
/// a test keeps the committed file equal to this output.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RunRecord);
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> Point {
        Point {
            executors: 2,
            cores: 1,
            memory_bytes: 7 << 30,
            fraction: 0.05,
            params: BTreeMap::new(),
        }
    }

    #[test]
    fn key_is_readable_and_param_sensitive() {
        let p = point();
        assert_eq!(p.key(), "e2-c1-m7g-f0.05");
        let mut q = p.clone();
        q.params.insert("trees".into(), serde_json::json!(10));
        assert!(q.key().starts_with("e2-c1-m7g-f0.05-p"));
        assert_ne!(q.key(), p.key());
        assert!(!p.same_as(&q));
        assert!(p.same_as(&p.clone()));
    }

    #[test]
    fn contention_needs_a_share_and_a_floor() {
        let k = |wall_sec, wait, throttled| PhaseKernel {
            wall_sec,
            run_queue_wait_sec: wait,
            throttled_sec: throttled,
            ..PhaseKernel::default()
        };
        assert!(k(10.0, 0.6, None).is_contended(1), "6 % of 10 s");
        assert!(!k(10.0, 0.4, None).is_contended(1), "4 %");
        assert!(
            !k(10.0, 0.6, None).is_contended(2),
            "3 % of 20 core-seconds"
        );
        assert!(
            !k(0.8, 0.06, None).is_contended(1),
            "7.5 % but 60 ms: one hiccup"
        );
        assert!(k(10.0, 0.0, Some(1.0)).is_contended(1), "throttled 10 %");
        assert!(!k(0.0, 1.0, None).is_contended(1), "no wall time, no share");
        assert!((k(10.0, 1.0, None).wait_share(2) - 0.05).abs() < 1e-12);
        // With /proc/stat's view, waits behind the executor's own threads do not count.
        let own_wait = PhaseKernel {
            other_cpu_sec: Some(0.05),
            ..k(10.0, 9.0, None)
        };
        assert!(!own_wait.is_contended(1), "90 % wait, but nobody else ran");
        let others = PhaseKernel {
            other_cpu_sec: Some(3.0),
            ..k(10.0, 0.0, None)
        };
        assert!(others.is_contended(1), "others took 30 % of the CPU");
    }

    #[test]
    fn status_serialises_lowercase() {
        assert_eq!(serde_json::to_string(&RunStatus::Oom).unwrap(), "\"oom\"");
        assert_eq!(
            serde_json::from_str::<RunStatus>("\"timeout\"").unwrap(),
            RunStatus::Timeout
        );
    }

    #[test]
    fn committed_schema_is_current() {
        let committed = include_str!("../../../schema/run-record.v1.json");
        assert_eq!(
            committed,
            json_schema(),
            "schema/run-record.v1.json is stale: regenerate with `harness schema > schema/run-record.v1.json`"
        );
    }
}
