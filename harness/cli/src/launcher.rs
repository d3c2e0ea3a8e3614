//! Launching one run with `mpirun` (Open MPI) and turning what happened into a record.
//!
//! One attempt is four steps: [`spawn_and_wait`] (start `mpirun`, enforce the timeout),
//! [`classify_exit`] (ok / failed / timeout, with the executors' own error texts),
//! collect OOM kills from whoever applied the memory limit ([`collect_oom`] for the run's
//! cgroups, here or on `--hostfile` nodes through `harness node-cgroup` over ssh,
//! [`collect_oom_nodes`] for nodes that limit themselves), and
//! [`build_record`]. [`Launcher`] ties them together for the study loop.
//!
//! `mpirun -np <executors> [--oversubscribe] --bind-to none <harness> exec <job.json>` (`-np 1`
//! when the workload launches the point once, `Workload::launch`: one process with every
//! executor's cores and memory):
//! executors bind themselves (their cgroup's CPU set is the binding), so mpirun's own binding is
//! off. `--oversubscribe` is passed only when executors × cores exceed the logical CPUs, and the
//! record then says `oversubscribed: true`; such runs also get `OMP_WAIT_POLICY=PASSIVE`, because
//! spinning OpenMP threads of one executor otherwise starve the others (a 370× slowdown
//! measured on a 2-CPU machine). As root, Open MPI needs
//! `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use harness_core::record::{ExecutorReport, OomInfo, Times};
use harness_core::{
    ExecutorOutcome, JobSpec, Provenance, RunPlan, RunRecord, RunStatus, SCHEMA_VERSION,
};
use harness_runtime::limits;
use harness_runtime::progress::Progress;

use crate::runner::Launch;
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
#[derive(Clone)]
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
    /// The hosts do not see the results directory (measured by [`shares_directory`]): each
    /// attempt's job file is copied to them over ssh before `mpirun`, and what the executors
    /// wrote (outcome, per-rank reports and errors, artifacts) is copied back after it.
    pub copy_to_hosts: bool,
}

/// `ssh` to `host` for a one-off command: never asks for a password, gives up after 5 s.
pub fn ssh(host: &str) -> Command {
    let mut c = Command::new("ssh");
    c.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", host]);
    c
}

/// `text` quoted for a POSIX shell (the remote side of `ssh`).
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Whether `host` sees `dir` as this machine does: a probe file with a fresh token is written
/// into `dir` here and read back over ssh (a shared file system, as the compose cluster's /work).
///
/// # Errors
/// `dir` is not writable, or `host` does not answer over ssh.
pub fn shares_directory(host: &str, dir: &Path) -> Result<bool> {
    std::fs::create_dir_all(dir)?;
    let token = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let probe = std::path::absolute(dir)?.join(format!(".share-probe-{token}"));
    std::fs::write(&probe, &token)?;
    let out = ssh(host)
        .arg(format!(
            "cat {} 2>/dev/null || true",
            shell_quote(&probe.display().to_string())
        ))
        .stdin(Stdio::null())
        .output();
    let _ = std::fs::remove_file(&probe);
    let out = out.context("cannot run ssh")?;
    if !out.status.success() {
        bail!(
            "{host} does not answer over ssh: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout == token.as_bytes())
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

/// With one executor per node, the cause a point cannot run on the nodes a hostfile lists
/// (`None` when it can): "not enough nodes: …" naming both counts and the file, e.g. after a
/// node died and `harness server` rewrote the hostfile with the nodes still answering.
pub fn not_enough_nodes(hostfile: &Path, executors: u32) -> Option<String> {
    let nodes = hostfile_hosts(hostfile, u32::MAX).len();
    (nodes < executors as usize).then(|| {
        format!(
            "not enough nodes: the point needs {executors} executors (one per node) and the hostfile {} lists {nodes}",
            hostfile.display()
        )
    })
}

/// This binary's path, which mpirun also starts on the hosts (they hold it at the same path).
fn same_binary() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "harness".into())
}

/// Memory accounting of each host's own cgroup (`harness node-memory` over ssh); `None` for a
/// host that does not answer.
fn node_memory(hosts: &[String]) -> Vec<Option<limits::RankMemory>> {
    hosts
        .iter()
        .map(|h| {
            let out = ssh(h)
                .args([&same_binary(), "node-memory"])
                .stdin(Stdio::null())
                .output()
                .ok()?;
            serde_json::from_slice(&out.stdout).ok()
        })
        .collect()
}

/// The run cgroup `cgroup` on each host (`harness node-cgroup` over ssh): what is left in it is
/// killed, its ranks' memory accounting returned (rank numbers are global: the cgroups are
/// named by rank) and the cgroup removed. A host that does not answer gives nothing.
fn node_cgroups(hosts: &[String], cgroup: &str) -> Vec<limits::RankMemory> {
    let mut unique: Vec<&String> = hosts.iter().collect();
    unique.sort();
    unique.dedup();
    unique
        .into_iter()
        .flat_map(|h| {
            let out = ssh(h)
                .args([&same_binary(), "node-cgroup", &shell_quote(cgroup)])
                .stdin(Stdio::null())
                .output()
                .ok();
            out.and_then(|o| serde_json::from_slice::<Vec<limits::RankMemory>>(&o.stdout).ok())
                .unwrap_or_default()
        })
        .collect()
}

/// Rank 0's host's wall clock minus the driver's (`harness clock-probe` over ssh, best of 8
/// probes); `None`, with a warning, when it cannot be measured (`startup_sec` then falls back
/// to the plain difference of wall clocks and says `wall`).
fn host_clock_offset(host: &str) -> Option<harness_runtime::clock::ClockOffset> {
    let mut probe = ssh(host);
    probe.args([&same_binary(), "clock-probe"]);
    harness_runtime::clock::measure_offset(probe, 8)
        .map_err(|e| tracing::warn!("clock offset of {host} not measured: {e}"))
        .ok()
}

/// Wall seconds of one attempt of each executor's CPU check (see
/// `harness_runtime::kernel::cpu_check`): long enough for the thread's CPU clock to be
/// exact to well under 1 %, short enough to keep a run's overhead small (a second and a
/// third attempt run only after a failed one).
const CPU_CHECK_SEC: f64 = 0.25;

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

/// `hosts` without repetitions, in first-seen order.
fn unique(hosts: &[String]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for h in hosts {
        if !seen.contains(&h.as_str()) {
            seen.push(h);
        }
    }
    seen
}

/// The files of one attempt of a run: job, outcome, per-rank error files, log and artifacts.
/// Each attempt keeps its own (`<run_id>-a<attempt>` after the first).
struct AttemptFiles {
    /// `<run_id>` or `<run_id>-a<attempt>`: the stem of every file of the attempt.
    name: String,
    /// The study's results directory, which holds jobs/, logs/ and artifacts/.
    dir: PathBuf,
    job: PathBuf,
    outcome: PathBuf,
    error_prefix: PathBuf,
    log_rel: PathBuf,
    log: PathBuf,
    artifacts_rel: PathBuf,
    artifacts: PathBuf,
}

impl AttemptFiles {
    fn new(store: &Store, plan: &RunPlan, attempt: u32) -> Self {
        let jobs = store.dir().join("jobs");
        let name = if attempt == 0 {
            plan.run_id.clone()
        } else {
            format!("{}-a{attempt}", plan.run_id)
        };
        let log_rel = PathBuf::from("logs").join(format!("{name}.log"));
        let artifacts_rel = PathBuf::from("artifacts").join(&name);
        AttemptFiles {
            dir: store.dir().to_path_buf(),
            job: jobs.join(format!("{name}.json")),
            outcome: jobs.join(format!("{name}.outcome.json")),
            error_prefix: jobs.join(&name),
            log: store.dir().join(&log_rel),
            log_rel,
            artifacts: store.dir().join(&artifacts_rel),
            artifacts_rel,
            name,
        }
    }

    /// Puts the job file on every host at the same path (after removing what an earlier try of
    /// this attempt left there), for hosts that do not share the results directory.
    ///
    /// # Errors
    /// A host does not answer or cannot write the path: the cause, naming the host.
    fn copy_job_to(&self, hosts: &[String]) -> Result<(), String> {
        let job = std::fs::read(&self.job).map_err(|e| format!("cannot read the job file: {e}"))?;
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let jobs = self.job.parent().expect("jobs/ holds the job file");
        let script = format!(
            "rm -rf {art} {jobs}/{stem}.* && mkdir -p {jobs} {art} && cat > {job}",
            art = q(&self.artifacts),
            jobs = q(jobs),
            stem = shell_quote(&self.name),
            job = q(&self.job),
        );
        for host in unique(hosts) {
            let mut child = ssh(host)
                .arg(&script)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run ssh: {e}"))?;
            let written = child
                .stdin
                .take()
                .expect("piped")
                .write_all(&job)
                .map_err(|e| e.to_string());
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            if !out.status.success() || written.is_err() {
                return Err(format!(
                    "cannot copy the job file to {host}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(())
    }

    /// Copies back what executors wrote on each host (outcome, progress, per-rank errors and
    /// reports, artifacts) into the results directory here; a host that no longer answers is
    /// skipped (its executor's death is told by mpirun's notice and the missing reports).
    fn fetch_from(&self, hosts: &[String]) {
        let script = format!(
            "cd {dir} && ls -d jobs/{stem}.* artifacts/{stem} 2>/dev/null | grep -vx {job} | tar -cf - -T -",
            dir = shell_quote(&self.dir.display().to_string()),
            stem = shell_quote(&self.name),
            job = shell_quote(&format!("jobs/{}.json", self.name)),
        );
        for host in unique(hosts) {
            let Ok(remote) = ssh(host)
                .arg(&script)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
            else {
                continue;
            };
            let untar = Command::new("tar")
                .args(["-xf", "-", "-C"])
                .arg(&self.dir)
                .stdin(remote.stdout.expect("piped"))
                .stderr(Stdio::null())
                .status();
            if !matches!(untar, Ok(s) if s.success()) {
                tracing::warn!("{}: nothing copied back from {host}", self.name);
            }
        }
    }

    fn rank_error(&self, rank: u32) -> PathBuf {
        PathBuf::from(format!("{}.{rank}.err", self.error_prefix.display()))
    }

    fn rank_partial_report(&self, rank: u32) -> PathBuf {
        harness_runtime::progress::partial_report_path(
            &self.error_prefix.display().to_string(),
            rank,
        )
    }

    /// Removes what an earlier try of this very attempt may have left; creates the artifacts
    /// directory.
    fn reset(&self, executors: u32) -> Result<()> {
        let _ = std::fs::remove_dir_all(&self.artifacts);
        std::fs::create_dir_all(&self.artifacts)
            .with_context(|| format!("cannot create {}", self.artifacts.display()))?;
        let _ = std::fs::remove_file(&self.outcome);
        let _ = std::fs::remove_file(harness_runtime::progress::path_for(
            &self.outcome.display().to_string(),
        ));
        for r in 0..executors {
            let _ = std::fs::remove_file(self.rank_error(r));
            let _ = std::fs::remove_file(self.rank_partial_report(r));
        }
        Ok(())
    }
}

/// How `mpirun` ended.
#[derive(Debug)]
pub enum Exit {
    /// It could not be started.
    NotStarted(String),
    /// It exited by itself.
    Exited(ExitStatus),
    /// It ran past the timeout and was stopped.
    TimedOut,
    /// Waiting for it failed.
    WaitFailed(String),
}

/// Starts `cmd` in its own process group (registered for Ctrl-C, and killed with the driver
/// through `PR_SET_PDEATHSIG`) and waits for it, stopping it after `timeout`. While it runs,
/// the progress file `progress` is read about once a second and every new count handed to
/// `on_progress`. Returns how it ended and the wall-clock seconds from start to end.
pub fn spawn_and_wait(
    mut cmd: Command,
    timeout: Duration,
    progress: &Path,
    on_progress: &dyn Fn(&Progress),
) -> (Exit, f64) {
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
    let exit = match cmd.spawn() {
        Err(e) => Exit::NotStarted(format!("cannot start mpirun: {e}")),
        Ok(mut child) => {
            crate::interrupt::set_current_group(child.id() as i32);
            let mut polled = Instant::now();
            let mut shown: Option<u64> = None;
            let exit = loop {
                if polled.elapsed() >= Duration::from_secs(1) {
                    polled = Instant::now();
                    if let Some(p) = harness_runtime::progress::read(progress) {
                        if shown != Some(p.done) {
                            shown = Some(p.done);
                            on_progress(&p);
                        }
                    }
                }
                match child.try_wait() {
                    Ok(Some(s)) => break Exit::Exited(s),
                    Ok(None) if t0.elapsed() > timeout => {
                        stop(&mut child);
                        break Exit::TimedOut;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                    Err(e) => break Exit::WaitFailed(format!("waiting for mpirun failed: {e}")),
                }
            };
            crate::interrupt::set_current_group(0);
            exit
        }
    };
    (exit, t0.elapsed().as_secs_f64())
}

/// The reports executors kept while the run was in flight
/// ([`harness_runtime::progress::partial_report_path`]), by rank; a rank that wrote none (it
/// died before its limits were measured) is left out.
fn partial_reports(files: &AttemptFiles, executors: u32) -> Vec<ExecutorReport> {
    (0..executors)
        .filter_map(|r| {
            let bytes = std::fs::read(files.rank_partial_report(r)).ok()?;
            serde_json::from_slice(&bytes)
                .map_err(|e| tracing::warn!("rank {r}'s report so far does not parse: {e}"))
                .ok()
        })
        .collect()
}

/// What Open MPI's `mpirun` said about the executor whose death ended the job: "mpirun
/// noticed that process rank N with PID P on node H exited on signal S (Name)." (or "… exited
/// on non-zero status S").
#[derive(Debug, PartialEq)]
struct Death {
    rank: u32,
    pid: Option<u32>,
    node: String,
    /// `killed by signal 9 (Killed)` or `exited with status 3`.
    how: String,
}

/// The last [`Death`] notice in `mpirun`'s output, if any.
fn mpirun_death(log: &str) -> Option<Death> {
    let text = log.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = text.rfind("noticed that process rank ")?;
    let rest = &text[at + "noticed that process rank ".len()..];
    let mut words = rest.split(' ');
    let rank = words.next()?.parse().ok()?;
    let pid = rest
        .split_once("with PID ")
        .and_then(|(_, r)| r.split(' ').next()?.parse().ok())
        .filter(|p| *p != 0);
    let node = rest
        .split_once(" on node ")
        .and_then(|(_, r)| r.split(' ').next())
        .unwrap_or("?")
        .to_string();
    let how = if let Some((_, r)) = rest.split_once("exited on signal ") {
        let sig = r.split_once(')').map_or(r, |(a, _)| a);
        format!("was killed by signal {})", sig.trim_end_matches(')'))
    } else if let Some((_, r)) = rest.split_once("exited on non-zero status ") {
        format!("exited with status {}", r.split(['.', ' ']).next()?)
    } else {
        return None;
    };
    Some(Death {
        rank,
        pid,
        node,
        how,
    })
}

/// `rank 0 in train, rank 1 in load, rank 2 never reported`: how far each executor got,
/// from the reports they kept.
fn stages(partials: &[ExecutorReport], executors: u32) -> String {
    (0..executors)
        .map(|r| match partials.iter().find(|p| p.rank == r) {
            Some(p) => format!("rank {r} in {}", p.stage.as_deref().unwrap_or("?")),
            None => format!("rank {r} before its limits were measured"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why an attempt in which no executor reported an error failed, first line first: the
/// executor `mpirun` saw die and the phase it was in, how far each executor got, then
/// `mpirun`'s exit and the log's tail.
fn silent_death_cause(
    status: ExitStatus,
    log: &Path,
    partials: &[ExecutorReport],
    executors: u32,
) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let first = match mpirun_death(&text) {
        Some(d) => {
            let pid = d
                .pid
                .or_else(|| partials.iter().find(|p| p.rank == d.rank)?.pid)
                .map_or(String::new(), |p| format!("pid {p} "));
            let stage = partials
                .iter()
                .find(|p| p.rank == d.rank)
                .and_then(|p| p.stage.clone())
                .map_or(String::new(), |s| format!(" in {s}"));
            format!(
                "executor rank {} ({pid}on {}) {}{stage} without reporting an error (stopped \
                 from outside: the kernel's OOM killer, a signal, its node)",
                d.rank, d.node, d.how
            )
        }
        None => "no executor reported an error".to_string(),
    };
    format!(
        "{first}; executors had reached: {}\nmpirun exited with {status}; last output:\n{}",
        stages(partials, executors),
        tail(log, 12)
    )
}

/// Status and error text of an attempt from how `mpirun` ended: ok only when it exited 0 and
/// rank 0 wrote its outcome; a failure carries the executors' own error files, or — when no
/// executor wrote one — who died in which phase ([`silent_death_cause`]).
fn classify_exit(
    exit: &Exit,
    files: &AttemptFiles,
    partials: &[ExecutorReport],
    executors: u32,
    timeout: Duration,
) -> (RunStatus, Option<String>, Option<bool>) {
    match exit {
        Exit::NotStarted(e) => (RunStatus::Failed, Some(e.clone()), Some(false)),
        Exit::WaitFailed(e) => (RunStatus::Failed, Some(e.clone()), Some(true)),
        Exit::TimedOut => (
            RunStatus::Timeout,
            Some(format!(
                "run exceeded the timeout of {} s and was killed; executors had reached: {}",
                timeout.as_secs(),
                stages(partials, executors)
            )),
            Some(true),
        ),
        Exit::Exited(s) if s.success() && files.outcome.exists() => (RunStatus::Ok, None, None),
        Exit::Exited(s) => {
            let rank_errors: Vec<String> = (0..executors)
                .filter_map(|r| std::fs::read_to_string(files.rank_error(r)).ok())
                .map(|t| t.trim().to_string())
                .collect();
            // An executor that reported an error failed in the workload (input, parameters):
            // the same attempt fails the same way. One that died without a word can be retried.
            let retryable = rank_errors.is_empty();
            let error = if rank_errors.is_empty() {
                silent_death_cause(*s, &files.log, partials, executors)
            } else {
                rank_errors.join("\n")
            };
            (RunStatus::Failed, Some(error), Some(retryable))
        }
    }
}

/// OOM kills in the run's cgroups: kills executors that outlived `mpirun`, reads each rank's
/// `oom_kill` counter and peak, removes the cgroups — here, or on every `hosts` node (over
/// ssh) when the executors applied their limits there. `Some` with the OOM info and cause when
/// any executor was killed by its memory limit; `Some` without info, with a cause saying so,
/// when a counter could not be read.
fn collect_oom(
    cgroup: &str,
    hosts: &[String],
    run_id: &str,
    memory_bytes: u64,
) -> Option<(Option<OomInfo>, String)> {
    let mem = if hosts.is_empty() {
        let stray = limits::kill_remaining(cgroup, Duration::from_secs(5));
        if stray > 0 {
            tracing::warn!("{run_id}: killed {stray} executor(s) that outlived mpirun");
        }
        limits::inspect_and_remove(cgroup)
    } else {
        node_cgroups(hosts, cgroup)
    };
    let unreadable: Vec<String> = mem
        .iter()
        .filter_map(|m| {
            m.unreadable
                .as_ref()
                .map(|e| format!("rank {}: {e}", m.rank))
        })
        .collect();
    let killed: Vec<_> = mem.iter().filter(|m| m.oom_kills > 0).collect();
    if killed.is_empty() {
        // An OOM kill cannot be ruled out: say so rather than report a plain failure.
        return (!unreadable.is_empty()).then(|| {
            (
                None,
                format!(
                    "OOM counters unreadable, so an OOM kill cannot be ruled out ({})",
                    unreadable.join("; ")
                ),
            )
        });
    }
    let info = OomInfo {
        memory_limit_bytes: killed[0].limit_bytes.unwrap_or(memory_bytes),
        peak_bytes: killed
            .iter()
            .filter_map(|m| m.peak_bytes)
            .max()
            .unwrap_or(0),
        ranks: killed.iter().map(|m| m.rank).collect(),
    };
    let error = format!(
        "executor(s) {:?} killed by the memory limit of {} ({memory_bytes} bytes)",
        info.ranks,
        harness_core::format_bytes(memory_bytes),
    );
    Some((Some(info), error))
}

/// What the nodes that set their own limits say after a failed attempt: the nodes that no
/// longer answer (named in the error), and `Some` OOM info when a node's memory cgroup
/// counted a new OOM kill since `before`.
fn collect_oom_nodes(
    hosts: &[String],
    before: &[Option<limits::RankMemory>],
    memory_bytes: u64,
    error: Option<String>,
) -> (Option<OomInfo>, Option<String>) {
    let after = node_memory(hosts);
    let gone: Vec<String> = after
        .iter()
        .zip(hosts)
        .enumerate()
        .filter(|(_, (a, _))| a.is_none())
        .map(|(rank, (_, h))| format!("rank {rank} ({h})"))
        .collect();
    let mut error = error;
    if !gone.is_empty() {
        error = Some(format!(
            "executor node(s) {} no longer answer (container killed or stopped?); {}",
            gone.join(", "),
            error.unwrap_or_default()
        ));
    }
    let killed: Vec<(u32, limits::RankMemory)> = after
        .into_iter()
        .zip(before)
        .enumerate()
        .filter_map(|(rank, (a, b))| {
            let a = a?;
            let before = b.as_ref().map_or(0, |b| b.oom_kills);
            (a.oom_kills > before).then_some((rank as u32, a))
        })
        .collect();
    if killed.is_empty() {
        return (None, error);
    }
    let info = OomInfo {
        memory_limit_bytes: killed[0].1.limit_bytes.unwrap_or(memory_bytes),
        peak_bytes: killed
            .iter()
            .filter_map(|(_, m)| m.peak_bytes)
            .max()
            .unwrap_or(0),
        ranks: killed.iter().map(|(r, _)| *r).collect(),
    };
    let error = format!(
        "executor(s) {:?} killed by the memory limit of their node ({} bytes)",
        info.ranks, info.memory_limit_bytes
    );
    (Some(info), Some(error))
}

/// Rank 0's outcome file, or why it cannot be used (unreadable, or not an outcome — with the
/// parse error and its position).
fn read_outcome(path: &Path) -> Result<ExecutorOutcome, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "rank 0 wrote no readable outcome at {}: {e}",
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("rank 0's outcome {} does not parse: {e}", path.display()))
}

/// What an attempt produced, for [`build_record`].
struct Attempt<'a> {
    plan: &'a RunPlan,
    attempt: u32,
    status: RunStatus,
    error: Option<String>,
    started_at: DateTime<Utc>,
    wall_sec: f64,
    oversubscribed: bool,
    oom: Option<OomInfo>,
    outcome: Option<ExecutorOutcome>,
    /// The reports executors kept while in flight, for a run without an outcome.
    partials: Vec<ExecutorReport>,
    /// Rank 0's host's clock offset from the driver (`--hostfile` runs).
    clock: Option<harness_runtime::clock::ClockOffset>,
    /// Whether a retry can fix a run that is not ok.
    retryable: Option<bool>,
}

impl<'a> Attempt<'a> {
    /// An attempt that failed before `mpirun` started: `cause` is its error.
    fn not_launched(plan: &'a RunPlan, attempt: u32, cause: String, retryable: bool) -> Self {
        Attempt {
            plan,
            attempt,
            status: RunStatus::Failed,
            error: Some(cause),
            started_at: Utc::now(),
            wall_sec: 0.0,
            oversubscribed: false,
            oom: None,
            outcome: None,
            partials: Vec::new(),
            clock: None,
            retryable: Some(retryable),
        }
    }
}

/// The record of an attempt that never launched, with its cause written to the run's log (the
/// record names the log, which the S3 mirror uploads).
///
/// # Errors
/// The log cannot be written.
fn not_launched(
    settings: &LaunchSettings,
    files: &AttemptFiles,
    failed: Attempt<'_>,
) -> Result<RunRecord> {
    let cause = failed.error.clone().unwrap_or_default();
    std::fs::write(&files.log, format!("{cause}\n"))
        .with_context(|| format!("cannot write {}", files.log.display()))?;
    Ok(build_record(settings, files, failed))
}

/// The record of an attempt: the outcome's times, data, metrics and executor reports when
/// rank 0 wrote one, else the status, cause, wall time and the reports the executors kept
/// while in flight (limits, host, pid, files, the phase each reached).
fn build_record(settings: &LaunchSettings, files: &AttemptFiles, a: Attempt<'_>) -> RunRecord {
    let mut record = RunRecord {
        schema_version: SCHEMA_VERSION,
        study: settings.study.clone(),
        run_id: a.plan.run_id.clone(),
        workload: settings.workload.clone(),
        point: a.plan.point.clone(),
        repetition: a.plan.repetition,
        attempt: a.attempt,
        status: a.status,
        error: a.error,
        started_at: a.started_at,
        finished_at: Utc::now(),
        times: Times {
            total_time_sec: a.wall_sec,
            clock_offset_sec: a.clock.map(|c| c.offset_sec),
            clock_offset_uncertainty_sec: a.clock.map(|c| c.uncertainty_sec),
            ..Times::default()
        },
        data: Default::default(),
        metrics: Default::default(),
        executor_reports: a.partials,
        oversubscribed: a.oversubscribed,
        oom: a.oom,
        log: Some(files.log_rel.display().to_string()),
        // Kept only when the workload wrote something there.
        artifacts: match std::fs::remove_dir(&files.artifacts) {
            Ok(()) => None,
            Err(_) => Some(files.artifacts_rel.display().to_string()),
        },
        farm: None,
        retryable: a.retryable,
        provenance: settings.provenance.clone(),
    };
    if let Some(o) = a.outcome {
        record.provenance.lightgbm_version = o.lightgbm_version;
        record.times = Times {
            total_time_sec: a.wall_sec,
            clock_offset_sec: record.times.clock_offset_sec,
            clock_offset_uncertainty_sec: record.times.clock_offset_uncertainty_sec,
            startup_sec: Some(o.startup_sec),
            startup_clock: (!o.startup_clock.is_empty()).then_some(o.startup_clock),
            cpu_check_sec: (o.cpu_check_sec > 0.0).then_some(o.cpu_check_sec),
            load_sec: Some(o.load_sec),
            training_time_sec: Some(o.training_time_sec),
            training_time_source: (!o.training_time_source.is_empty())
                .then_some(o.training_time_source),
            eval_sec: Some(o.eval_sec),
            comm_sec: Some(o.comm_sec),
        };
        record.data = o.data;
        record.metrics = o.metrics;
        record.executor_reports = o.executor_reports;
        record.farm = o.farm;
    }
    record
}

/// Launches the runs of one study on this machine (or on `--hostfile` hosts) with `mpirun`.
pub struct Launcher<'a> {
    pub settings: LaunchSettings,
    pub store: &'a Store,
}

impl Launch for Launcher<'_> {
    fn launch(
        &self,
        plan: &RunPlan,
        attempt: u32,
        on_progress: &dyn Fn(&Progress),
    ) -> Result<RunRecord> {
        run_one(&self.settings, self.store, plan, attempt, on_progress)
    }
}

/// Runs one planned run to completion and returns its record (never an `Err` for a failed run:
/// failures become records); progress rank 0 reports while it runs goes to `on_progress`.
///
/// # Errors
/// The job file or log cannot be created.
pub fn run_one(
    settings: &LaunchSettings,
    store: &Store,
    plan: &RunPlan,
    attempt: u32,
    on_progress: &dyn Fn(&Progress),
) -> Result<RunRecord> {
    let point = &plan.point;
    // One process for all the point's executors, or one each (`Workload::launch`).
    let once = crate::registry::get(&settings.workload)
        .is_ok_and(|w| w.launch(point) == harness_runtime::workload::Launch::Once);
    let ranks = if once { 1 } else { point.executors };
    let files = AttemptFiles::new(store, plan, attempt);
    files.reset(ranks)?;
    if let Some(short) = settings
        .hostfile
        .as_deref()
        .and_then(|h| not_enough_nodes(h, ranks))
    {
        // Nothing to launch: mpirun would only refuse the oversubscription.
        let failed = Attempt::not_launched(plan, attempt, short, false);
        return not_launched(settings, &files, failed);
    }
    // Executors on `--hostfile` nodes make their cgroups at the root of the node's hierarchy
    // (an absolute name); here they hang below the driver's own cgroup.
    let cgroup = settings.limits.then(|| {
        let root = if settings.hostfile.is_some() { "/" } else { "" };
        format!("{root}harness/{}/{}", settings.study, plan.run_id)
    });
    // With a hostfile each executor has a node of its own; mpirun refuses to oversubscribe it.
    let oversubscribed =
        settings.hostfile.is_none() && point.executors * point.cores > settings.logical_cpus;
    let node_hosts = settings
        .hostfile
        .as_ref()
        .map(|h| hostfile_hosts(h, ranks))
        .unwrap_or_default();
    if let (Some(cg), true) = (&cgroup, node_hosts.is_empty()) {
        // Executors left over from an interrupted earlier attempt of this very run.
        let stale = limits::kill_remaining(cg, Duration::from_secs(5));
        if stale > 0 {
            tracing::warn!(
                "{}: killed {stale} executor(s) left by an earlier attempt",
                plan.run_id
            );
        }
        limits::inspect_and_remove(cg);
    } else if let Some(cg) = &cgroup {
        node_cgroups(&node_hosts, cg);
    }
    // On nodes that set their own limits, OOM kills are counted by the node's cgroup.
    let memory_before = node_memory(&node_hosts);
    let clock = node_hosts.first().and_then(|h| host_clock_offset(h));

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
        launch_monotonic_ns: Some(harness_runtime::clock::monotonic_ns()),
        driver_boot_id: harness_runtime::clock::boot_id(),
        clock_offset_sec: clock.map(|c| c.offset_sec),
        outcome_path: files.outcome.display().to_string(),
        error_prefix: files.error_prefix.display().to_string(),
        cgroup: cgroup.clone(),
        burn_sec: CPU_CHECK_SEC,
        artifacts_dir: Some(files.artifacts.display().to_string()),
        limits_by_node: settings.hostfile.is_some(),
        once,
    };
    write_synced(&files.job, &serde_json::to_vec_pretty(&job)?)?;
    if settings.copy_to_hosts {
        if let Err(cause) = files.copy_job_to(&node_hosts) {
            let failed = Attempt {
                started_at,
                clock,
                ..Attempt::not_launched(plan, attempt, cause, true)
            };
            return not_launched(settings, &files, failed);
        }
    }

    let exe = std::env::current_exe().context("cannot find the harness binary")?;
    let mut cmd = mpirun_command(ranks, job.process_cores(), oversubscribed);
    if let Some(h) = &settings.hostfile {
        cmd.arg("--hostfile").arg(h);
        for v in FORWARDED_ENV {
            if std::env::var_os(v).is_some() {
                cmd.args(["-x", v]);
            }
        }
    }
    cmd.arg(&exe).arg("exec").arg(&files.job);
    let log = File::create(&files.log)
        .with_context(|| format!("cannot create {}", files.log.display()))?;
    cmd.stdout(log.try_clone()?)
        .stderr(log)
        .stdin(Stdio::null());

    let progress = harness_runtime::progress::path_for(&files.outcome.display().to_string());
    let (exit, wall_sec) = spawn_and_wait(cmd, settings.timeout, &progress, on_progress);
    if settings.copy_to_hosts {
        files.fetch_from(&node_hosts);
    }
    let partials = partial_reports(&files, ranks);
    let (mut status, mut error, mut retryable) =
        classify_exit(&exit, &files, &partials, ranks, settings.timeout);
    let mut oom = None;
    if let Some(cg) = &cgroup {
        match collect_oom(cg, &node_hosts, &plan.run_id, point.memory_bytes) {
            Some((Some(info), cause)) => {
                status = RunStatus::Oom;
                error = Some(format!(
                    "{cause}; executors had reached: {}",
                    stages(&partials, ranks)
                ));
                oom = Some(info);
                retryable = Some(true);
            }
            Some((None, cause)) if status != RunStatus::Ok => {
                error = Some(match error {
                    Some(e) => format!("{e}; {cause}"),
                    None => cause,
                });
            }
            _ => {}
        }
    }
    if status != RunStatus::Ok && !node_hosts.is_empty() {
        let (info, cause) =
            collect_oom_nodes(&node_hosts, &memory_before, point.memory_bytes, error);
        error = cause;
        if let Some(info) = info {
            status = RunStatus::Oom;
            oom = Some(info);
            retryable = Some(true);
        }
    }
    let mut outcome: Option<ExecutorOutcome> = None;
    if status == RunStatus::Ok {
        match read_outcome(&files.outcome) {
            Ok(o) => outcome = Some(o),
            Err(cause) => {
                status = RunStatus::Failed;
                error = Some(cause);
                retryable = Some(false);
            }
        }
    }
    Ok(build_record(
        settings,
        &files,
        Attempt {
            plan,
            attempt,
            status,
            error,
            started_at,
            wall_sec,
            oversubscribed,
            oom,
            outcome,
            partials,
            clock,
            retryable,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open MPI 4.1.4's own words after `kill -9` of rank 1 (it prints PID 0).
    const KILLED: &str = "[LightGBM] [Info] Local rank: 1, total number of machines: 2
--------------------------------------------------------------------------
Primary job  terminated normally, but 1 process returned
a non-zero exit code. Per user-direction, the job has been aborted.
--------------------------------------------------------------------------
--------------------------------------------------------------------------
mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).
--------------------------------------------------------------------------
";

    #[test]
    fn mpiruns_notice_names_the_dead_executor() {
        assert_eq!(
            mpirun_death(KILLED),
            Some(Death {
                rank: 1,
                pid: None,
                node: "vm".into(),
                how: "was killed by signal 9 (Killed)".into(),
            })
        );
        let exited = "mpirun noticed that process rank 2 with PID 4242 on node\nnode-2 exited \
                      on non-zero status 3.";
        assert_eq!(
            mpirun_death(exited),
            Some(Death {
                rank: 2,
                pid: Some(4242),
                node: "node-2".into(),
                how: "exited with status 3".into(),
            })
        );
        assert_eq!(mpirun_death("nothing to see"), None);
    }

    #[test]
    fn a_point_needs_a_node_per_executor() {
        let dir = tempfile::tempdir().unwrap();
        let hostfile = dir.path().join("hosts");
        std::fs::write(
            &hostfile,
            "10.0.1.11 slots=1\n# a comment\n\n10.0.1.12 slots=1\n",
        )
        .unwrap();
        assert_eq!(not_enough_nodes(&hostfile, 1), None);
        assert_eq!(not_enough_nodes(&hostfile, 2), None);
        let short = not_enough_nodes(&hostfile, 3).expect("3 executors do not fit 2 nodes");
        assert!(
            short.starts_with("not enough nodes: the point needs 3 executors (one per node)"),
            "{short}"
        );
        assert!(short.ends_with("lists 2"), "{short}");
    }

    #[test]
    fn stages_say_how_far_each_executor_got() {
        let r = |rank, stage: &str| ExecutorReport {
            rank,
            stage: Some(stage.into()),
            ..ExecutorReport::default()
        };
        assert_eq!(
            stages(&[r(0, "train"), r(2, "load")], 3),
            "rank 0 in train, rank 1 before its limits were measured, rank 2 in load"
        );
    }
}
