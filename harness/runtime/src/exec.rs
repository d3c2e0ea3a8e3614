//! `harness exec <job.json>`: what every executor does for one run.
//!
//! Steps: read the job; initialise MPI; apply limits (cgroup) and measure them; barrier →
//! `startup_sec`; run the workload; gather executor reports at rank 0, which writes the
//! [`ExecutorOutcome`] atomically (temp file + rename).
//!
//! A failing executor writes `<error_prefix>.<rank>.err` and aborts the whole MPI job, so no
//! rank waits forever in a collective; the driver records the error text.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use harness_core::record::{DataStats, ExecutorReport, Rows};
use harness_core::{ExecutorOutcome, JobSpec};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::limits::{self, LimitRequest};
use crate::workload::{ExecutorContext, Workload, WorkloadError};
use crate::world::World;

/// Failures of an executor before or around the workload.
#[derive(Debug, Error)]
pub enum ExecError {
    #[error("cannot read job file {path}: {message}")]
    Job { path: String, message: String },
    #[error(transparent)]
    Mpi(#[from] crate::world::MpiInitError),
    #[error("unknown workload `{0}`")]
    UnknownWorkload(String),
    #[error("workload failed: {0}")]
    Workload(WorkloadError),
    #[error("cannot write outcome {path}: {source}")]
    Outcome {
        path: String,
        source: std::io::Error,
    },
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What each rank sends to rank 0.
#[derive(Serialize, Deserialize)]
struct RankResult {
    report: ExecutorReport,
    rows: Rows,
    load_sec: f64,
}

/// Runs the job at `job_path` as one executor. `lookup` maps a workload name to its
/// implementation (the CLI's registry).
///
/// # Errors
/// Before MPI is up: returned. After: written to the rank's error file, then the MPI job is
/// aborted when it has more than one executor (and returned when it has one).
pub fn execute<'w>(
    job_path: &Path,
    lookup: impl Fn(&str) -> Option<&'w dyn Workload>,
) -> Result<(), ExecError> {
    let text = std::fs::read_to_string(job_path).map_err(|e| ExecError::Job {
        path: job_path.display().to_string(),
        message: e.to_string(),
    })?;
    let job: JobSpec = serde_json::from_str(&text).map_err(|e| ExecError::Job {
        path: job_path.display().to_string(),
        message: e.to_string(),
    })?;
    let world = World::init()?;
    match run(&world, &job, lookup) {
        Ok(()) => Ok(()),
        Err(e) => {
            let path = format!("{}.{}.err", job.error_prefix, world.rank());
            let _ = std::fs::write(&path, format!("rank {}: {e}\n", world.rank()));
            eprintln!("harness exec: rank {}: {e}", world.rank());
            if world.size() > 1 {
                world.abort(3);
            }
            Err(e)
        }
    }
}

fn run<'w>(
    world: &World,
    job: &JobSpec,
    lookup: impl Fn(&str) -> Option<&'w dyn Workload>,
) -> Result<(), ExecError> {
    let workload =
        lookup(&job.workload).ok_or_else(|| ExecError::UnknownWorkload(job.workload.clone()))?;
    let point = &job.point;

    // Limits: apply, then measure what we really got.
    let local_rank = std::env::var("OMPI_COMM_WORLD_LOCAL_RANK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(world.rank());
    let (cgroup, mut note) = match &job.cgroup {
        Some(name) => match limits::apply(&LimitRequest {
            cgroup: name.clone(),
            rank: world.rank(),
            local_rank,
            cores: point.cores,
            memory_bytes: point.memory_bytes,
        }) {
            Ok(v) => (v.as_str(), None),
            Err(e) => ("none", Some(format!("limits not applied: {e}"))),
        },
        None if job.limits_by_node => ("node", None),
        None => ("none", Some("limits disabled (--no-limits)".to_string())),
    };
    let measured = limits::measure();
    let problems = limits::check(&measured, point.cores, point.memory_bytes);
    let enforced = note.is_none() && problems.is_empty();
    if !problems.is_empty() {
        let p = problems.join("; ");
        note = Some(match note {
            Some(n) => format!("{n}; measured: {p}"),
            None => format!("measured: {p}"),
        });
    }
    let parallelism = limits::effective_parallelism(point.cores, job.burn_sec);
    world.barrier();
    let startup_sec = now_unix() - job.launch_unix;

    let mut ctx = ExecutorContext::new(world, job);
    let output = workload.run(&mut ctx).map_err(ExecError::Workload)?;

    let bytes: u64 = output.files.iter().map(|f| f.bytes).sum();
    let mut result = RankResult {
        report: ExecutorReport {
            rank: world.rank(),
            host: world.host(),
            cores_requested: point.cores,
            cores_measured: measured.cores,
            cpuset: measured.cpuset.clone(),
            cpu_quota: measured.cpu_quota,
            memory_limit_bytes: measured.memory_limit_bytes,
            effective_parallelism: parallelism,
            enforced,
            enforcement_note: note,
            cgroup: cgroup.to_string(),
            peak_rss_bytes: limits::peak_rss_bytes(),
            load_sec: ctx.load_sec,
            train_sec: ctx.train_sec,
            eval_sec: ctx.eval_sec,
            comm_sec: 0.0,
            files: output.files.iter().map(|f| f.path.clone()).collect(),
            rows: output.rows.train + output.rows.val + output.rows.test,
            bytes,
        },
        rows: output.rows.clone(),
        load_sec: ctx.load_sec,
    };
    // Read last, so it covers everything but the gather itself.
    result.report.comm_sec = world.comm_sec();
    let gathered = world.gather_json(&result);
    if let Some(all) = gathered {
        let mut rows = Rows::default();
        let mut files = 0u64;
        let mut total_bytes = 0u64;
        let mut partitions = 0u32;
        for r in &all {
            rows.train += r.rows.train;
            rows.val += r.rows.val;
            rows.test += r.rows.test;
            files += r.report.files.len() as u64;
            total_bytes += r.report.bytes;
            partitions += u32::from(!r.report.files.is_empty());
        }
        let outcome = ExecutorOutcome {
            startup_sec,
            load_sec: all.iter().map(|r| r.load_sec).fold(0.0, f64::max),
            training_time_sec: ctx.train_sec,
            eval_sec: ctx.eval_sec,
            comm_sec: all.iter().map(|r| r.report.comm_sec).fold(0.0, f64::max),
            finished_unix: now_unix(),
            data: DataStats {
                files,
                rows,
                bytes: total_bytes,
                num_partitions: partitions,
            },
            metrics: output.metrics,
            executor_reports: all.into_iter().map(|r| r.report).collect(),
            lightgbm_version: crate::LIGHTGBM_VERSION.to_string(),
            farm: output.farm,
        };
        let tmp = format!("{}.tmp", job.outcome_path);
        let write = |p: &str| -> std::io::Result<()> {
            std::fs::write(
                p,
                serde_json::to_vec_pretty(&outcome).expect("outcome serialises"),
            )?;
            std::fs::rename(p, &job.outcome_path)
        };
        write(&tmp).map_err(|source| ExecError::Outcome {
            path: job.outcome_path.clone(),
            source,
        })?;
    }
    Ok(())
}
