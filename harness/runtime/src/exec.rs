//! `harness exec <job.json>`: what every executor does for one run.
//!
//! Steps: read the job; initialise MPI; apply limits (cgroup) and measure them; barrier →
//! `startup_sec`; the CPU check (its own phase); barrier; run the workload; gather executor reports at rank 0, which writes the
//! [`ExecutorOutcome`] atomically (temp file + rename).
//!
//! A failing executor writes `<error_prefix>.<rank>.err` and aborts the whole MPI job, so no
//! rank waits forever in a collective; the driver records the error text.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use harness_core::record::{DataStats, ExecutorReport, Rows, CPU_CHECK_ATTEMPTS, CPU_CHECK_MIN};
use harness_core::{ExecutorOutcome, JobSpec};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::kernel;
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

    // Limits: apply, then measure what we really got.
    let (cores, memory_bytes) = (job.process_cores(), job.process_memory_bytes());
    // On a node of its own (`--hostfile`) an executor that cannot apply its limits may still
    // have them from the node (a container's limits): then it is judged by what it measures,
    // and the note says why its own cgroup is missing.
    let mut node_note = None;
    let (cgroup, mut note) = match &job.cgroup {
        Some(name) => match limits::apply_as_root(&LimitRequest {
            cgroup: name.clone(),
            rank: world.rank(),
            local_rank: world.local_rank(),
            local_size: world.local_size(),
            cores,
            memory_bytes,
        }) {
            Ok((v, swap)) => (v.as_str(), swap),
            Err(e) if job.limits_by_node => {
                node_note = Some(format!(
                    "limits measured as the node sets them: the executor could not apply its \
                     own ({e})"
                ));
                ("node", None)
            }
            Err(e) => ("none", Some(format!("limits not applied: {e}"))),
        },
        None if job.limits_by_node => ("node", None),
        None => ("none", Some("limits disabled (--no-limits)".to_string())),
    };
    let measured = limits::measure();
    let mut problems = limits::check(&measured, cores, memory_bytes);
    if let Some(n) = node_note.filter(|_| !problems.is_empty()) {
        problems.insert(0, n);
    }
    // Start-up ends when every executor has applied and measured its limits; only then may
    // any check its CPUs (until then another one may still run on any CPU).
    world.barrier();
    let (startup_sec, startup_clock) = crate::clock::since_launch(
        job.launch_monotonic_ns,
        job.driver_boot_id.as_deref(),
        job.launch_unix,
        job.clock_offset_sec,
    );
    let check = kernel::cpu_check(cores, job.burn_sec, CPU_CHECK_ATTEMPTS, CPU_CHECK_MIN);
    let cpu_check_ratio = (!check.ratios.is_empty()).then(|| check.ratio());
    if cpu_check_ratio.is_some() && !check.passed(CPU_CHECK_MIN) {
        let got: Vec<String> = check
            .ratios
            .iter()
            .map(|r| format!("{:.0} %", r * 100.0))
            .collect();
        problems.push(format!(
            "CPU check: {} spinning threads got {} of {} CPUs in {} attempts (least {:.0} %)",
            cores,
            got.join(", "),
            cores,
            check.ratios.len(),
            CPU_CHECK_MIN * 100.0
        ));
    }
    world.barrier();

    // What this executor knows before the workload starts; kept in a file while the run is in
    // flight, so a run whose executor dies still records what every rank had.
    let mut report = ExecutorReport {
        rank: world.rank(),
        host: world.host(),
        cores_requested: cores,
        cores_measured: measured.cores,
        cpuset: measured.cpuset.clone(),
        cpu_places: crate::topology::read(
            Path::new(crate::topology::SYSFS_CPUS),
            &limits::parse_cpu_list(&measured.cpuset),
        ),
        cpu_quota: measured.cpu_quota,
        memory_limit_bytes: measured.memory_limit_bytes,
        effective_parallelism: check.parallelism,
        enforced: false,
        enforcement_note: None,
        cgroup: cgroup.to_string(),
        cpu_check_ratio,
        cpu_check_ratios: check.ratios.clone(),
        cpu_check_sec: cpu_check_ratio.map(|_| check.sec),
        cpu_check_rate: cpu_check_ratio.map(|_| check.rate),
        pid: Some(std::process::id()),
        ..ExecutorReport::default()
    };
    let mut partial = report.clone();
    partial.enforcement_note = Some(
        note.iter()
            .cloned()
            .chain(problems.iter().map(|p| format!("measured: {p}")))
            .chain(["the executor did not finish the run".to_string()])
            .collect::<Vec<_>>()
            .join("; "),
    );
    let mut ctx = ExecutorContext::new(world, job).with_partial_report(
        crate::progress::partial_report_path(&job.error_prefix, world.rank()),
        partial,
    );
    let output = workload.run(&mut ctx).map_err(ExecError::Workload)?;

    if ctx.kernel.train.contended {
        let t = &ctx.kernel.train;
        problems.push(format!(
            "contended during training: other processes got {:.1} % of its CPUs (its threads \
             waited {:.1} %), throttled {:.1} % of {} core-seconds",
            t.other_share(cores) * 100.0,
            t.wait_share(cores) * 100.0,
            t.throttled_share(cores) * 100.0,
            cores
        ));
    }
    let enforced = note.is_none() && problems.is_empty();
    if !problems.is_empty() {
        let p = problems.join("; ");
        note = Some(match note {
            Some(n) => format!("{n}; measured: {p}"),
            None => format!("measured: {p}"),
        });
    }
    report.enforced = enforced;
    report.enforcement_note = note;
    report.peak_rss_bytes = limits::peak_rss_bytes().max(kernel::children_usage().1);
    report.load_sec = ctx.load_sec;
    report.train_sec = ctx.train_sec;
    report.eval_sec = ctx.eval_sec;
    report.train_comm_sec = Some(ctx.train_comm_sec);
    report.train_wait_sec = Some(ctx.train_wait_sec);
    report.train_comm_bytes = Some(crate::lgbm_net::sent_bytes() + ctx.train_comm_bytes);
    report.kernel = Some(ctx.kernel.clone());
    report.model_digest = output.model_digest.clone();
    report.files = output.files.iter().map(|f| f.path.clone()).collect();
    report.rows = output.rows.train + output.rows.val + output.rows.test;
    report.bytes = output.files.iter().map(|f| f.bytes).sum();
    ctx.finish_partial();
    let mut result = RankResult {
        report,
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
        let load_sec = all.iter().map(|r| r.load_sec).fold(0.0, f64::max);
        let cpu_check_sec = all
            .iter()
            .filter_map(|r| r.report.cpu_check_sec)
            .fold(0.0, f64::max);
        let comm_sec = all.iter().map(|r| r.report.comm_sec).fold(0.0, f64::max);
        let mut reports: Vec<ExecutorReport> = all.into_iter().map(|r| r.report).collect();
        mark_shared_cpus(&mut reports);
        let outcome = ExecutorOutcome {
            startup_sec,
            startup_clock: startup_clock.to_string(),
            cpu_check_sec,
            load_sec,
            training_time_sec: output.training_time_sec.unwrap_or(ctx.train_sec),
            training_time_source: output.training_time_source.unwrap_or("phase").to_string(),
            eval_sec: ctx.eval_sec,
            comm_sec,
            finished_unix: now_unix(),
            data: DataStats {
                files,
                rows,
                bytes: total_bytes,
                num_partitions: partitions,
            },
            metrics: output.metrics,
            executor_reports: reports,
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

/// Marks executors that share a CPU with another executor of the run on the same host as not
/// enforced (their cores were not theirs alone), naming the other ranks in the note. Executors
/// on different CPUs of one physical core (SMT siblings, from `cpu_places`) keep their verdict
/// — each has the logical CPUs it asked for — but the note says which core they share: the
/// CPU choice only does that when the node has too few whole cores for every executor.
pub fn mark_shared_cpus(reports: &mut [ExecutorReport]) {
    let siblings = per_other_on_host(reports, |a, b| {
        a.cpu_places
            .iter()
            .flat_map(|x| b.cpu_places.iter().map(move |y| (x, y)))
            .filter(|(x, y)| x.cpu != y.cpu && (x.package, x.core) == (y.package, y.core))
            .map(|(x, y)| {
                format!(
                    "CPU {} is an SMT sibling of rank {}'s CPU {} (socket {}, core {})",
                    x.cpu, b.rank, y.cpu, x.package, x.core
                )
            })
            .collect()
    });
    for (r, n) in reports.iter_mut().zip(siblings) {
        if !n.is_empty() {
            add_note(r, format!("shares a physical core: {}", n.join(", ")), "");
        }
    }
    let shared = per_other_on_host(reports, |a, b| {
        let theirs = limits::parse_cpu_list(&b.cpuset);
        let shared: Vec<usize> = limits::parse_cpu_list(&a.cpuset)
            .into_iter()
            .filter(|c| theirs.contains(c))
            .collect();
        (!shared.is_empty())
            .then(|| {
                format!(
                    "shares CPU {} with rank {}",
                    limits::cpu_list(&shared),
                    b.rank
                )
            })
            .into_iter()
            .collect()
    });
    for (r, n) in reports.iter_mut().zip(shared) {
        if !n.is_empty() {
            r.enforced = false;
            add_note(r, n.join(", "), "measured: ");
        }
    }
}

/// For each report, what `f(it, other)` says about every other executor of the run on the
/// same host, in rank order.
fn per_other_on_host(
    reports: &[ExecutorReport],
    f: impl Fn(&ExecutorReport, &ExecutorReport) -> Vec<String>,
) -> Vec<Vec<String>> {
    reports
        .iter()
        .enumerate()
        .map(|(i, a)| {
            reports
                .iter()
                .enumerate()
                .filter(|(j, b)| *j != i && b.host == a.host)
                .flat_map(|(_, b)| f(a, b))
                .collect()
        })
        .collect()
}

/// Appends `text` to the report's note (after "; "), or starts the note with `prefix` + `text`.
fn add_note(r: &mut ExecutorReport, text: String, prefix: &str) {
    r.enforcement_note = Some(match r.enforcement_note.take() {
        Some(old) => format!("{old}; {text}"),
        None => format!("{prefix}{text}"),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rank: u32, host: &str, cpuset: &str) -> ExecutorReport {
        ExecutorReport {
            rank,
            host: host.into(),
            cpuset: cpuset.into(),
            enforced: true,
            ..ExecutorReport::default()
        }
    }

    #[test]
    fn executors_sharing_a_cpu_are_not_enforced() {
        let mut r = vec![
            report(0, "a", "0"),
            report(1, "a", "1"),
            report(2, "a", "0-1"),
            report(3, "b", "0"),
        ];
        mark_shared_cpus(&mut r);
        let enforced: Vec<bool> = r.iter().map(|e| e.enforced).collect();
        assert_eq!(enforced, vec![false, false, false, true]);
        assert_eq!(
            r[2].enforcement_note.as_deref(),
            Some("measured: shares CPU 0 with rank 0, shares CPU 1 with rank 1")
        );
        assert!(
            r[3].enforcement_note.is_none(),
            "another host is another CPU"
        );
    }

    #[test]
    fn smt_siblings_are_named_but_keep_their_verdict() {
        use harness_core::record::CpuPlace;
        let place = |cpu, core| CpuPlace {
            cpu,
            package: 0,
            core,
        };
        let mut r = vec![
            report(0, "a", "0"),
            report(1, "a", "4"),
            report(2, "a", "1"),
        ];
        r[0].cpu_places = vec![place(0, 0)];
        r[1].cpu_places = vec![place(4, 0)];
        r[2].cpu_places = vec![place(1, 1)];
        mark_shared_cpus(&mut r);
        assert!(r.iter().all(|e| e.enforced));
        assert_eq!(
            r[0].enforcement_note.as_deref(),
            Some("shares a physical core: CPU 0 is an SMT sibling of rank 1's CPU 4 (socket 0, core 0)")
        );
        assert!(r[1]
            .enforcement_note
            .as_deref()
            .unwrap()
            .contains("rank 0's CPU 0"));
        assert!(r[2].enforcement_note.is_none());
    }
}
