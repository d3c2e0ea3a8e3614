//! The `Workload` trait — the one seam between the harness and a workload crate — and the
//! context an executor hands to it.
//!
//! A workload crate implements [`Workload`] once and is listed in the CLI's registry; nothing
//! else in the harness knows its name. The trait has three groups of methods:
//!
//! - **driver, before a study**: [`Workload::prepare_params`] checks (and may normalise) the
//!   study's parameters, [`Workload::check_data`] checks a data location, and
//!   [`Workload::default_data`] / [`Workload::generator`] / [`Workload::default_study`] say what
//!   runs when the user gives no data or grid — all before the first run, so bad input never
//!   leaves a record behind;
//! - **executor**: [`Workload::run`], on every rank, through the [`ExecutorContext`], which
//!   times phases the same way for every workload: `load` is local to each executor (the run's
//!   `load_sec` is the maximum), `train` and `eval` are barrier-aligned so every executor
//!   measures the same interval;
//! - **driver, after a run**: [`Workload::tracking`] describes what to log to an experiment
//!   tracker, [`Workload::model_format`] loads the models the workload saves (batch scoring and
//!   serving), [`Workload::progress_metrics`] names the metrics of its progress line.
//!
//! Every driver-side method has a default, so a minimal workload implements `name`, `summary`,
//! `check_data`, `default_study` and `run`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use harness_core::record::{
    ExecutorReport, FarmStats, KernelPhases, Metrics, PhaseKernel, Point, Rows,
};
use harness_core::shard::FileEntry;
use harness_core::{JobSpec, RunRecord, StudySpec};
use serde_json::Value;

use crate::kernel;
use crate::model::ModelFormat;
use crate::tracking::TrackedRun;
use crate::world::World;

/// Any error a workload reports; it is written to the run's error file and recorded (executor
/// side), or stops the study before its first run (driver side).
pub type WorkloadError = Box<dyn std::error::Error + Send + Sync>;

/// The machine a default study is adapted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Logical CPUs.
    pub logical_cpus: u32,
    /// Physical memory, bytes.
    pub memory_bytes: u64,
}

/// Where a workload's data comes from when the user gives no `--data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultData {
    /// There is none: `--data` is required; the text says how to make some.
    Required(String),
    /// A location the workload resolves itself (data compiled into the binary), passed to the
    /// executors as is, e.g. `embedded`.
    Builtin(&'static str),
    /// Made once by the workload's [`Generator`] at its default options into
    /// `<cache>/data/<key>`, then reused. `describe` tells the user what is being made.
    Generated { key: String, describe: String },
}

/// How the processes of a run are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// One process (MPI rank) per executor, each with its cores and memory.
    PerExecutor,
    /// One process given every executor's CPUs and memory together (executors × cores CPUs,
    /// executors × memory bytes) in one cgroup, for programs with a scheduler of their own
    /// (Spark `local[N]`, Dask, Ray); the record keeps the point's executor count
    /// ([`JobSpec::once`]).
    Once,
}

/// One option of a data generator: `--<name> VALUE` on `harness data generate <generator>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenOption {
    /// Long flag name without dashes, e.g. `rows`.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Default value, shown in `--help`; `None` when the option is optional without one.
    pub default: Option<String>,
}

/// A deterministic data generator (`harness data generate <name> --out DIR …`).
pub trait Generator: Send + Sync {
    /// Name on the command line (`fractal`, `gbm-folds`); may differ from the workload's.
    fn name(&self) -> &'static str;

    /// One line for `harness data generate --help`.
    fn about(&self) -> &'static str;

    /// Its options besides `--out`.
    fn options(&self) -> Vec<GenOption>;

    /// Writes the data set into the directory `out`; `options` holds every option given or
    /// defaulted, by name, as text. `progress(done, total)` is called as files are written.
    /// Returns one line describing what was written.
    ///
    /// # Errors
    /// An option that does not parse or is out of range (named), write failures.
    fn generate(
        &self,
        out: &Path,
        options: &BTreeMap<String, String>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<String, WorkloadError>;
}

/// One training job type (`fractal-rf`, `wine`, `gbm-folds`, …): see the module doc.
pub trait Workload: Send + Sync {
    /// The workload's name as used on the command line and in records.
    fn name(&self) -> &'static str;

    /// One line saying what it trains on what, for `--help` and listings.
    fn summary(&self) -> &'static str;

    /// Checks the study's workload parameters before any run and returns them as every run
    /// gets them — unchanged by default; a workload may resolve a file reference into its
    /// content (e.g. a grid file into the grid), so records and executors on other hosts see
    /// the values, not a path.
    ///
    /// # Errors
    /// An unknown name or a value out of range, naming the parameter.
    fn prepare_params(
        &self,
        params: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, WorkloadError> {
        Ok(params.clone())
    }

    /// Checks the data location (an absolute directory, an `s3://` prefix, or a
    /// [`DefaultData::Builtin`] name) before any run.
    ///
    /// # Errors
    /// A missing directory or split, a missing column, an unreadable file — naming it.
    fn check_data(&self, location: &str) -> Result<(), WorkloadError>;

    /// Data used when the user gives none.
    fn default_data(&self) -> DefaultData {
        DefaultData::Required(format!("pass --data DIR for `{}`", self.name()))
    }

    /// The workload's data generator, if it has one.
    fn generator(&self) -> Option<&dyn Generator> {
        None
    }

    /// Writes the workload's built-in data as parquet (`harness data export`), e.g. as input of
    /// `harness predict`; `source` is a [`DefaultData::Builtin`] name or a directory. Returns one
    /// line describing what was written.
    ///
    /// # Errors
    /// The workload has no such export, or writing fails.
    fn export(&self, _source: &str, _out: &Path, _files: usize) -> Result<String, WorkloadError> {
        Err(format!("workload `{}` has no data to export", self.name()).into())
    }

    /// The default local study (`harness profile local --workload <name>`), adapted to
    /// `machine` so that no point is oversubscribed.
    fn default_study(&self, machine: &Machine) -> StudySpec;

    /// Runs on every executor. Load through [`ExecutorContext::load`], train through
    /// [`ExecutorContext::train`], evaluate through [`ExecutorContext::eval`]; return metrics
    /// over all executors (rank 0's are recorded) and what this executor read.
    ///
    /// # Errors
    /// Any failure; the executor writes it to its error file and aborts the run.
    fn run(&self, ctx: &mut ExecutorContext<'_>) -> Result<WorkloadOutput, WorkloadError>;

    /// Extra metrics of the progress line after each run: (`metrics.extra` key, label), e.g.
    /// `("trials_per_sec", "trials/s")`.
    fn progress_metrics(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// What to log to an experiment tracker (MLflow) for an ok run whose record is written;
    /// `artifacts` is the run's artifacts directory, if it wrote one. Empty (the default):
    /// nothing is logged.
    ///
    /// # Errors
    /// An artifact that cannot be read; the driver warns and goes on.
    fn tracking(
        &self,
        _record: &RunRecord,
        _artifacts: Option<&Path>,
    ) -> Result<Vec<TrackedRun>, WorkloadError> {
        Ok(Vec::new())
    }

    /// Whether the workload runs a program the user gives (`harness run <name> -- PROGRAM
    /// ARGS`, or `command = [...]` in a study file), passed to it as the parameter
    /// `command = {"argv": [...]}`. Only such a workload may be given one.
    fn takes_program(&self) -> bool {
        false
    }

    /// How a run of `point` is launched: one process per executor (the default), or
    /// [`Launch::Once`].
    fn launch(&self, _point: &Point) -> Launch {
        Launch::PerExecutor
    }

    /// How to load the models this workload saves, if it saves any (batch scoring with
    /// `harness predict`, serving with `harness serve`).
    fn model_format(&self) -> Option<&dyn ModelFormat> {
        None
    }
}

/// What one executor reports back from a workload.
#[derive(Debug, Clone, Default)]
pub struct WorkloadOutput {
    /// Metrics over the whole run (rank 0's are recorded).
    pub metrics: Metrics,
    /// Files this executor read.
    pub files: Vec<FileEntry>,
    /// Rows this executor read, per split.
    pub rows: Rows,
    /// Task placement and timing of a task-parallel workload (rank 0's
    /// [`crate::farm::FarmOutcome::spans`]); recorded as the run's `farm`.
    pub farm: Option<FarmStats>,
    /// [`crate::model::digest`] of the model this executor holds after training, for workloads
    /// whose executors train one model together; recorded in its executor report.
    pub model_digest: Option<String>,
    /// The run's training time, seconds, when the workload knows it better than its `train`
    /// phase does (a `command` job that times its own training); rank 0's is recorded.
    /// `None`: the barrier-aligned `train` phase.
    pub training_time_sec: Option<f64>,
    /// Where the recorded training time comes from, as `times.training_time_source` says it:
    /// `None` is `phase` (the `train` phase); a workload sets e.g. `job` (the job's own figure)
    /// or `process-wall` (the phase was one process's life).
    pub training_time_source: Option<&'static str>,
}

/// The executor's view of a run: the MPI world, the job, and phase timers. Every phase is
/// also measured from the kernel ([`crate::kernel`]): CPU time, run-queue wait, throttling and
/// steal over the phase.
///
/// While the run is in flight the context keeps the executor's report so far in a file of its
/// own (see [`ExecutorContext::with_partial_report`]), rewritten as each phase starts and when
/// the workload names its input ([`ExecutorContext::reading`]), so that a run whose executor
/// dies still records what every rank had and how far it got.
pub struct ExecutorContext<'a> {
    pub world: &'a World,
    pub job: &'a JobSpec,
    pub(crate) load_sec: f64,
    pub(crate) train_sec: f64,
    pub(crate) eval_sec: f64,
    /// Collectives inside training phases (without their aligning barriers), seconds.
    pub(crate) train_comm_sec: f64,
    /// Time in the barriers that close training phases, seconds.
    pub(crate) train_wait_sec: f64,
    /// Payload bytes of the world's collectives inside training phases.
    pub(crate) train_comm_bytes: u64,
    pub(crate) kernel: KernelPhases,
    sources: kernel::Sources,
    /// The report so far and the file it is kept in; `None` when not kept.
    partial: Option<(std::path::PathBuf, ExecutorReport)>,
}

impl<'a> ExecutorContext<'a> {
    /// A context for `job` in `world`; kernel counters are read from this process's cgroup
    /// and affinity as they are now (create it after limits are applied).
    pub fn new(world: &'a World, job: &'a JobSpec) -> Self {
        ExecutorContext {
            world,
            job,
            load_sec: 0.0,
            train_sec: 0.0,
            eval_sec: 0.0,
            train_comm_sec: 0.0,
            train_wait_sec: 0.0,
            train_comm_bytes: 0,
            kernel: KernelPhases::default(),
            sources: kernel::Sources::own(),
            partial: None,
        }
    }

    /// Keeps `report` (what the executor knows before the workload starts: limits, CPU check,
    /// host, pid) in the file `path` from now on, with [`ExecutorReport::stage`] `started`,
    /// then the phase each timer enters. The file is replaced atomically (temp file + rename),
    /// so a reader never sees half of it.
    pub fn with_partial_report(mut self, path: std::path::PathBuf, report: ExecutorReport) -> Self {
        self.partial = Some((path, report));
        self.checkpoint(Some("started"));
        self
    }

    /// Names the input files this executor reads (its shard), for its report if the run fails
    /// before it finishes. Workloads that shard files call it once they know their shard.
    pub fn reading(&mut self, files: &[FileEntry]) {
        if let Some((_, r)) = &mut self.partial {
            r.files.extend(files.iter().map(|f| f.path.clone()));
            r.bytes += files.iter().map(|f| f.bytes).sum::<u64>();
        }
        self.checkpoint(None);
    }

    /// Writes the report so far with the phases measured until now, entering `stage` when
    /// given (else staying in the current one). A file that cannot be written is said on
    /// stderr (the run's log) and does not stop the run.
    fn checkpoint(&mut self, stage: Option<&str>) {
        let Some((path, r)) = &mut self.partial else {
            return;
        };
        if let Some(stage) = stage {
            r.stage = Some(stage.to_string());
        }
        r.load_sec = self.load_sec;
        r.train_sec = self.train_sec;
        r.eval_sec = self.eval_sec;
        r.train_comm_sec = Some(self.train_comm_sec);
        r.train_wait_sec = Some(self.train_wait_sec);
        r.kernel = Some(self.kernel.clone());
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec(r)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, &*path));
        if let Err(e) = written {
            eprintln!(
                "harness exec: rank {}: cannot write its report so far to {}: {e}",
                r.rank,
                path.display()
            );
        }
    }

    /// Removes the report-so-far file once the executor's full report is on its way.
    pub(crate) fn finish_partial(&mut self) {
        if let Some((path, _)) = self.partial.take() {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Where rank 0 reports progress while the run is in flight (see [`crate::progress`]):
    /// give it to the task farm ([`crate::farm::FarmConfig::progress`]) or write it with a
    /// [`crate::progress::ProgressFile`].
    pub fn progress_path(&self) -> std::path::PathBuf {
        crate::progress::path_for(&self.job.outcome_path)
    }

    /// Cores given to this executor (its thread count): the point's cores, or every
    /// executor's together when the run is one process ([`JobSpec::once`]).
    pub fn cores(&self) -> u32 {
        self.job.process_cores()
    }

    /// Times a local loading phase (adds to this executor's `load_sec`).
    pub fn load<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.checkpoint(Some("load"));
        let k0 = kernel::sample(&self.sources);
        let t = Instant::now();
        let out = f();
        self.load_sec += t.elapsed().as_secs_f64();
        let k = kernel::between(&k0, &kernel::sample(&self.sources), self.cores());
        let cores = self.cores();
        kernel::accumulate(&mut self.kernel.load, &k, cores);
        out
    }

    /// Times a barrier-aligned training phase: barrier, `f`, barrier. Collectives inside `f`
    /// add to `train_comm_sec`, the closing barrier to `train_wait_sec`.
    pub fn train<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.checkpoint(Some("train"));
        let b0 = self.world.comm_bytes();
        let (out, p) = self.aligned(f);
        self.train_comm_bytes += self.world.comm_bytes() - b0;
        self.train_sec += p.wall_sec;
        self.train_comm_sec += p.comm_sec;
        self.train_wait_sec += p.closing_wait_sec;
        let cores = self.cores();
        kernel::accumulate(&mut self.kernel.train, &p.kernel, cores);
        out
    }

    /// Times a barrier-aligned evaluation phase: barrier, `f`, barrier.
    pub fn eval<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.checkpoint(Some("eval"));
        let (out, p) = self.aligned(f);
        self.eval_sec += p.wall_sec;
        let cores = self.cores();
        kernel::accumulate(&mut self.kernel.eval, &p.kernel, cores);
        out
    }

    fn aligned<T>(&self, f: impl FnOnce() -> T) -> (T, AlignedPhase) {
        self.world.barrier();
        let k0 = kernel::sample(&self.sources);
        let c0 = self.world.comm_sec();
        let t = Instant::now();
        let out = f();
        let comm_sec = self.world.comm_sec() - c0;
        let closing = Instant::now();
        self.world.barrier();
        let closing_wait_sec = closing.elapsed().as_secs_f64();
        let wall_sec = t.elapsed().as_secs_f64();
        let k = kernel::between(&k0, &kernel::sample(&self.sources), self.cores());
        (
            out,
            AlignedPhase {
                wall_sec,
                comm_sec,
                closing_wait_sec,
                kernel: k,
            },
        )
    }
}

/// One barrier-aligned phase as measured.
struct AlignedPhase {
    wall_sec: f64,
    comm_sec: f64,
    closing_wait_sec: f64,
    kernel: PhaseKernel,
}

/// Option `name` of a generator's `options`, parsed as `T`; `None` when absent.
///
/// # Errors
/// A value that does not parse, naming the option and the value.
pub fn gen_option<T: std::str::FromStr>(
    options: &BTreeMap<String, String>,
    name: &str,
) -> Result<Option<T>, WorkloadError> {
    match options.get(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            format!(
                "--{name}: `{v}` is not a valid {}",
                std::any::type_name::<T>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("value")
            )
            .into()
        }),
    }
}

/// The largest memory per executor, in bytes, that gives `executors` executors at most 80 % of
/// `machine`'s RAM together, rounded down to 256 MiB and capped at `design` (the workload's
/// reference memory). At least 256 MiB.
pub fn fitting_memory(machine: &Machine, executors: u32, design: u64) -> u64 {
    const STEP: u64 = 256 << 20;
    let fit =
        (machine.memory_bytes as f64 * 0.8 / f64::from(executors.max(1))) as u64 / STEP * STEP;
    design.min(fit).max(STEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_fits_the_machine() {
        let m = Machine {
            logical_cpus: 16,
            memory_bytes: 16 << 30,
        };
        // 80 % of 16 GiB over 7 executors = 1.83 GiB → 1.75 GiB in 256 MiB steps.
        assert_eq!(fitting_memory(&m, 7, 7 << 30), 7 << 28);
        assert_eq!(
            fitting_memory(&m, 1, 7 << 30),
            7 << 30,
            "capped at the design"
        );
        let tiny = Machine {
            logical_cpus: 1,
            memory_bytes: 100 << 20,
        };
        assert_eq!(
            fitting_memory(&tiny, 4, 7 << 30),
            256 << 20,
            "at least 256 MiB"
        );
    }
}
