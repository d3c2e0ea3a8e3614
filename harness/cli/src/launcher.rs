//! Launching one run with `mpirun` (Open MPI) and turning what happened into a record.
//!
//! `mpirun -np <executors> [--oversubscribe] --bind-to none <harness> exec <job.json>`:
//! executors bind themselves (their cgroup's CPU set is the binding), so mpirun's own binding is
//! off. `--oversubscribe` is passed only when executors × cores exceed the logical CPUs, and the
//! record then says `oversubscribed: true`; such runs also get `OMP_WAIT_POLICY=PASSIVE`, because
//! spinning OpenMP threads of one executor otherwise starve the others (a 370× slowdown
//! measured on a 2-CPU machine). As root, Open MPI needs
//! `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use harness_core::record::{OomInfo, Times};
use harness_core::{
    ExecutorOutcome, JobSpec, Provenance, RunPlan, RunRecord, RunStatus, SCHEMA_VERSION,
};
use harness_runtime::limits;

use crate::store::{write_synced, Store};

/// Checks that `mpirun` is installed and is Open MPI.
///
/// # Errors
/// Names the package to install when it is missing.
pub fn check_mpirun() -> Result<String> {
    match crate::provenance::mpi_version() {
        Some(v) if v.contains("Open MPI") => Ok(v),
        Some(v) => bail!("`mpirun` is not Open MPI ({v}): install Open MPI (Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`)"),
        None => bail!("`mpirun` not found: install Open MPI (Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`; Nix: `nix develop`)"),
    }
}

/// Settings shared by every run of a study.
pub struct LaunchSettings {
    pub study: String,
    pub workload: String,
    /// Absolute data location.
    pub data: String,
    pub timeout: Duration,
    /// Apply cgroup limits (off only with `--no-limits`).
    pub limits: bool,
    pub logical_cpus: u32,
    pub provenance: Provenance,
    /// `--hostfile`: executors run on the hosts listed there (reached by mpirun over ssh), whose
    /// limits are set by the nodes (compose containers); nothing is applied locally.
    pub hostfile: Option<PathBuf>,
}

/// The first `n` hosts of an Open MPI hostfile (one executor per host, as the compose cluster
/// writes it): rank i runs on host i.
pub fn hostfile_hosts(path: &Path, n: u32) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split('#')
                .next()?
                .split_whitespace()
                .next()
                .map(String::from)
        })
        .take(n as usize)
        .collect()
}

/// Memory accounting of each host's own cgroup (`harness node-memory` over ssh); `None` for a
/// host that does not answer.
fn node_memory(hosts: &[String]) -> Vec<Option<limits::RankMemory>> {
    hosts
        .iter()
        .map(|h| {
            let out = Command::new("ssh")
                .args([
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "ConnectTimeout=5",
                    h,
                    "harness",
                    "node-memory",
                ])
                .stdin(Stdio::null())
                .output()
                .ok()?;
            serde_json::from_slice(&out.stdout).ok()
        })
        .collect()
}

/// Environment variables forwarded to executors on other hosts (`mpirun -x`): S3 access.
const FORWARDED_ENV: [&str; 6] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_S3_FORCE_PATH_STYLE",
    "AWS_EC2_METADATA_DISABLED",
];

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Stops a running `mpirun`: SIGTERM to its process group (mpirun forwards it to the executors,
/// which Open MPI runs in process groups of their own, and reaps them), then SIGKILL after a
/// grace period.
pub fn stop(child: &mut std::process::Child) {
    let pg = -(child.id() as i32);
    // SAFETY: signals our own child's process group.
    unsafe {
        libc::kill(pg, libc::SIGTERM);
    }
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(pg, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// `mpirun -np <executors>` with the harness's standard environment, ready for the program and
/// its arguments: `OMP_NUM_THREADS=<threads>` exported to every rank, `--bind-to none` (limits
/// come from cgroups), `--oversubscribe` + `OMP_WAIT_POLICY=PASSIVE` when `oversubscribed`,
/// no single-copy shared memory (containers lack the ptrace right), and Open MPI's run-as-root
/// variables when running as root.
pub fn mpirun_command(executors: u32, threads: u32, oversubscribed: bool) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.arg("-np").arg(executors.to_string());
    cmd.env("OMP_NUM_THREADS", threads.to_string())
        .args(["-x", "OMP_NUM_THREADS"]);
    if oversubscribed {
        // OpenMP threads spin while they wait; with more threads than CPUs they steal the CPU
        // the other executors need (measured: 137 s instead of 0.4 s for one small point).
        cmd.arg("--oversubscribe")
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .args(["-x", "OMP_WAIT_POLICY"]);
    }
    cmd.args(["--bind-to", "none"])
        // Shared-memory single copy needs ptrace rights that containers often lack.
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
    cmd
}

/// Runs one planned run to completion and returns its record (never an `Err` for a failed run:
/// failures become records). `Err` only when the job file cannot be written.
///
/// # Errors
/// The job file or log cannot be created.
pub fn run_one(
    settings: &LaunchSettings,
    store: &Store,
    plan: &RunPlan,
    attempt: u32,
) -> Result<RunRecord> {
    let point = &plan.point;
    let jobs = store.dir().join("jobs");
    // Each attempt keeps its own job, outcome and log files.
    let name = if attempt == 0 {
        plan.run_id.clone()
    } else {
        format!("{}-a{attempt}", plan.run_id)
    };
    let job_path = jobs.join(format!("{name}.json"));
    let outcome_path = jobs.join(format!("{name}.outcome.json"));
    let error_prefix = jobs.join(&name);
    let log_rel = PathBuf::from("logs").join(format!("{name}.log"));
    let log_path = store.dir().join(&log_rel);
    let artifacts_rel = PathBuf::from("artifacts").join(&name);
    let artifacts_path = store.dir().join(&artifacts_rel);
    let _ = std::fs::remove_dir_all(&artifacts_path);
    std::fs::create_dir_all(&artifacts_path)
        .with_context(|| format!("cannot create {}", artifacts_path.display()))?;
    let _ = std::fs::remove_file(&outcome_path);
    for r in 0..point.executors {
        let _ = std::fs::remove_file(format!("{}.{r}.err", error_prefix.display()));
    }
    let cgroup = (settings.limits && settings.hostfile.is_none())
        .then(|| format!("harness/{}/{}", settings.study, plan.run_id));
    // With a hostfile each executor has a node of its own; mpirun refuses to oversubscribe it.
    let oversubscribed =
        settings.hostfile.is_none() && point.executors * point.cores > settings.logical_cpus;
    if let Some(cg) = &cgroup {
        // Executors left over from an interrupted earlier attempt of this very run.
        let stale = limits::kill_remaining(cg, Duration::from_secs(5));
        if stale > 0 {
            tracing::warn!(
                "{}: killed {stale} executor(s) left by an earlier attempt",
                plan.run_id
            );
        }
        limits::inspect_and_remove(cg);
    }

    // On nodes that set their own limits, OOM kills are counted by the node's cgroup.
    let node_hosts = settings
        .hostfile
        .as_ref()
        .map(|h| hostfile_hosts(h, point.executors))
        .unwrap_or_default();
    let memory_before = node_memory(&node_hosts);

    let started_at: DateTime<Utc> = Utc::now();
    let launch_unix = now_unix();
    let job = JobSpec {
        study: settings.study.clone(),
        run_id: plan.run_id.clone(),
        workload: settings.workload.clone(),
        point: point.clone(),
        repetition: plan.repetition,
        data: settings.data.clone(),
        launch_unix,
        outcome_path: outcome_path.display().to_string(),
        error_prefix: error_prefix.display().to_string(),
        cgroup: cgroup.clone(),
        burn_sec: 0.2,
        artifacts_dir: Some(artifacts_path.display().to_string()),
        limits_by_node: settings.hostfile.is_some(),
    };
    write_synced(&job_path, &serde_json::to_vec_pretty(&job)?)?;

    let exe = std::env::current_exe().context("cannot find the harness binary")?;
    let mut cmd = mpirun_command(point.executors, point.cores, oversubscribed);
    if let Some(h) = &settings.hostfile {
        cmd.arg("--hostfile").arg(h);
        for v in FORWARDED_ENV {
            if std::env::var_os(v).is_some() {
                cmd.args(["-x", v]);
            }
        }
    }
    cmd.arg(&exe).arg("exec").arg(&job_path);
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    cmd.stdout(log.try_clone()?)
        .stderr(log)
        .stdin(Stdio::null());
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        // SAFETY: prctl in the forked child before exec; it only sets a signal to receive.
        unsafe {
            cmd.pre_exec(|| {
                // If the driver dies (even by SIGKILL), mpirun gets SIGTERM and stops its
                // executors instead of running on orphaned.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    let t0 = Instant::now();
    let mut status = RunStatus::Ok;
    let mut error = None;
    match cmd.spawn() {
        Err(e) => {
            status = RunStatus::Failed;
            error = Some(format!("cannot start mpirun: {e}"));
        }
        Ok(mut child) => {
            crate::runner::set_current_group(child.id() as i32);
            let exit = loop {
                match child.try_wait() {
                    Ok(Some(s)) => break Some(s),
                    Ok(None) if t0.elapsed() > settings.timeout => {
                        stop(&mut child);
                        break None;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                    Err(e) => {
                        error = Some(format!("waiting for mpirun failed: {e}"));
                        break None;
                    }
                }
            };
            match exit {
                None if error.is_none() => {
                    status = RunStatus::Timeout;
                    error = Some(format!(
                        "run exceeded the timeout of {} s and was killed",
                        settings.timeout.as_secs()
                    ));
                }
                None => status = RunStatus::Failed,
                Some(s) if s.success() && outcome_path.exists() => {}
                Some(s) => {
                    status = RunStatus::Failed;
                    let rank_errors: Vec<String> = (0..point.executors)
                        .filter_map(|r| {
                            std::fs::read_to_string(format!("{}.{r}.err", error_prefix.display()))
                                .ok()
                        })
                        .map(|t| t.trim().to_string())
                        .collect();
                    error = Some(if rank_errors.is_empty() {
                        format!(
                            "mpirun exited with {s}; last output:\n{}",
                            tail(&log_path, 12)
                        )
                    } else {
                        rank_errors.join("\n")
                    });
                }
            }
        }
    }
    let wall = t0.elapsed().as_secs_f64();

    // Memory accounting of the run's cgroups, then remove them. Executors that outlived
    // mpirun (it was killed, or crashed) are killed first: they are all in the run's cgroups.
    let mut oom = None;
    if let Some(cg) = &cgroup {
        let stray = limits::kill_remaining(cg, Duration::from_secs(5));
        if stray > 0 {
            tracing::warn!(
                "{}: killed {stray} executor(s) that outlived mpirun",
                plan.run_id
            );
        }
        let mem = limits::inspect_and_remove(cg);
        let killed: Vec<_> = mem.iter().filter(|m| m.oom_kills > 0).collect();
        if !killed.is_empty() {
            status = RunStatus::Oom;
            oom = Some(OomInfo {
                memory_limit_bytes: killed[0].limit_bytes.unwrap_or(point.memory_bytes),
                peak_bytes: killed
                    .iter()
                    .filter_map(|m| m.peak_bytes)
                    .max()
                    .unwrap_or(0),
                ranks: killed.iter().map(|m| m.rank).collect(),
            });
            error = Some(format!(
                "executor(s) {:?} killed by the memory limit of {} ({} bytes)",
                oom.as_ref().map(|o| o.ranks.clone()).unwrap_or_default(),
                harness_core::format_bytes(point.memory_bytes),
                point.memory_bytes
            ));
        }
    }

    if status != RunStatus::Ok && !node_hosts.is_empty() {
        let after = node_memory(&node_hosts);
        let gone: Vec<String> = after
            .iter()
            .zip(&node_hosts)
            .enumerate()
            .filter(|(_, (a, _))| a.is_none())
            .map(|(rank, (_, h))| format!("rank {rank} ({h})"))
            .collect();
        if !gone.is_empty() {
            error = Some(format!(
                "executor node(s) {} no longer answer (container killed or stopped?); {}",
                gone.join(", "),
                error.unwrap_or_default()
            ));
        }
        let killed: Vec<(u32, limits::RankMemory)> = after
            .into_iter()
            .zip(&memory_before)
            .enumerate()
            .filter_map(|(rank, (a, b))| {
                let a = a?;
                let before = b.as_ref().map_or(0, |b| b.oom_kills);
                (a.oom_kills > before).then_some((rank as u32, a))
            })
            .collect();
        if !killed.is_empty() {
            status = RunStatus::Oom;
            let info = OomInfo {
                memory_limit_bytes: killed[0].1.limit_bytes.unwrap_or(point.memory_bytes),
                peak_bytes: killed
                    .iter()
                    .filter_map(|(_, m)| m.peak_bytes)
                    .max()
                    .unwrap_or(0),
                ranks: killed.iter().map(|(r, _)| *r).collect(),
            };
            error = Some(format!(
                "executor(s) {:?} killed by the memory limit of their node ({} bytes)",
                info.ranks, info.memory_limit_bytes
            ));
            oom = Some(info);
        }
    }

    let outcome: Option<ExecutorOutcome> = (status == RunStatus::Ok)
        .then(|| std::fs::read(&outcome_path).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if status == RunStatus::Ok && outcome.is_none() {
        status = RunStatus::Failed;
        error = Some(format!(
            "rank 0 wrote no readable outcome at {}",
            outcome_path.display()
        ));
    }
    let mut record = RunRecord {
        schema_version: SCHEMA_VERSION,
        study: settings.study.clone(),
        run_id: plan.run_id.clone(),
        workload: settings.workload.clone(),
        point: point.clone(),
        repetition: plan.repetition,
        attempt,
        status,
        error,
        started_at,
        finished_at: Utc::now(),
        times: Times {
            total_time_sec: wall,
            ..Times::default()
        },
        data: Default::default(),
        metrics: Default::default(),
        executor_reports: Vec::new(),
        oversubscribed,
        oom,
        log: Some(log_rel.display().to_string()),
        // Kept only when the workload wrote something there.
        artifacts: match std::fs::remove_dir(&artifacts_path) {
            Ok(()) => None,
            Err(_) => Some(artifacts_rel.display().to_string()),
        },
        provenance: settings.provenance.clone(),
    };
    if let Some(o) = outcome {
        record.provenance.lightgbm_version = o.lightgbm_version;
        record.times = Times {
            total_time_sec: o.finished_unix - launch_unix,
            startup_sec: Some(o.startup_sec),
            load_sec: Some(o.load_sec),
            training_time_sec: Some(o.training_time_sec),
            eval_sec: Some(o.eval_sec),
            comm_sec: Some(o.comm_sec),
        };
        record.data = o.data;
        record.metrics = o.metrics;
        record.executor_reports = o.executor_reports;
    }
    Ok(record)
}
