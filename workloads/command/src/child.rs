//! Starting the job's process, passing its output through, and collecting what it left: its
//! exit status, its last stdout line, the last lines of its stderr, and its CPU time and peak
//! memory from the kernel.
//!
//! The process inherits the executor's cgroup (its CPUs, CPU quota and memory limit), so the
//! limits hold for the job's whole process tree, and the driver's kill of the run's cgroups on
//! a timeout kills the tree. It also gets `PR_SET_PDEATHSIG = SIGKILL`: when the executor dies
//! (the MPI job aborted because another rank failed), the job dies with it instead of waiting
//! for a peer that is gone.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use thiserror::Error;

/// Lines of the job's stderr quoted when it fails.
pub const STDERR_TAIL_LINES: usize = 20;
/// Longest line kept (stdout's last line, each stderr line), bytes; a longer one is cut.
const MAX_LINE_BYTES: usize = 64 << 10;

/// The job did not run to a zero exit.
#[derive(Debug, Error)]
pub enum ChildError {
    #[error("cannot start `{program}` on {host}: {source} (is it installed there, and on PATH or given with its path?)")]
    Spawn {
        program: String,
        host: String,
        source: std::io::Error,
    },
    #[error("`{command}` {how}{tail}")]
    Exit {
        command: String,
        how: String,
        tail: String,
    },
}

/// A finished job process.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its last non-empty stdout line (cut to 64 KiB), if any.
    pub last_stdout_line: Option<String>,
    /// Spawn → exit, seconds.
    pub wall_sec: f64,
    /// CPU time of the process and the descendants it waited for, seconds (`getrusage`
    /// `RUSAGE_CHILDREN`, user + system).
    pub cpu_sec: f64,
    /// Largest resident set of one process of its tree, bytes (`RUSAGE_CHILDREN` `ru_maxrss`).
    pub max_process_rss_bytes: u64,
}

/// Runs `argv` with `env` added to this process's environment, minus every variable whose
/// name starts with one of `strip` (Open MPI's own, so a job is not mistaken for a rank of the
/// executors' MPI job). Its stdout and stderr pass through to this process's (the run's log).
///
/// # Errors
/// [`ChildError::Spawn`] when it cannot start; [`ChildError::Exit`] when it exits non-zero
/// or is killed, quoting the last [`STDERR_TAIL_LINES`] lines of its stderr.
pub fn run(
    argv: &[String],
    env: &[(String, String)],
    strip: &[&str],
    host: &str,
) -> Result<Finished, ChildError> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if let Some(name) = k.to_str() {
            if strip.iter().any(|p| name.starts_with(p)) {
                cmd.env_remove(name);
            }
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid, kill) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The executor may have died between fork and prctl.
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            Ok(())
        });
    }
    // Descendants the job leaves orphaned (pyspark's JVM, a daemonised helper) are re-parented
    // to this process instead of init, so they can be waited for and their CPU time counted.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
    // The job leads a process group of its own: what is left of its tree can be told apart.
    cmd.process_group(0);
    let before = harness_runtime::kernel::children_usage();
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| ChildError::Spawn {
        program: argv[0].clone(),
        host: host.to_string(),
        source,
    })?;
    let out = reader(child.stdout.take().expect("piped"), std::io::stdout, 1);
    let err = reader(
        child.stderr.take().expect("piped"),
        std::io::stderr,
        STDERR_TAIL_LINES,
    );
    let status = child.wait();
    let wall_sec = start.elapsed().as_secs_f64();
    let deadline = Instant::now() + PIPE_GRACE;
    let killed = reap_group(child.id() as libc::pid_t, deadline);
    if killed > 0 {
        eprintln!(
            "harness: the job left {killed} process(es) running {} s after it exited; killed them",
            PIPE_GRACE.as_secs()
        );
    }
    // A process the job left behind may hold its pipes open: what was read by then is enough.
    let drained = |(kept, done): Reader| {
        let _ = done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        let lines = kept.lock().map(|k| k.clone()).unwrap_or_default();
        lines
    };
    let (last, tail) = (drained(out), drained(err));
    let status = status.map_err(|source| ChildError::Spawn {
        program: argv[0].clone(),
        host: host.to_string(),
        source,
    })?;
    let after = harness_runtime::kernel::children_usage();
    if !status.success() {
        return Err(ChildError::Exit {
            command: argv.join(" "),
            how: describe(status),
            tail: if tail.is_empty() {
                "; it wrote nothing on stderr".into()
            } else {
                format!(
                    "; the last {} lines of its stderr:\n{}",
                    tail.len(),
                    tail.iter().cloned().collect::<Vec<_>>().join("\n")
                )
            },
        });
    }
    Ok(Finished {
        last_stdout_line: last.into_iter().next(),
        wall_sec,
        cpu_sec: (after.0 - before.0).max(0.0),
        max_process_rss_bytes: after.1,
    })
}

/// Waits for what is left of process group `pgid` (the job's processes that outlived it and
/// were re-parented here) until `deadline`, then kills the rest and waits for them, so that
/// every process of the job's tree has ended and its CPU time is in `RUSAGE_CHILDREN`.
/// Returns how many were still running at the deadline.
fn reap_group(pgid: libc::pid_t, deadline: Instant) -> usize {
    loop {
        // SAFETY: waitpid with a null status pointer.
        let r = unsafe { libc::waitpid(-pgid, std::ptr::null_mut(), libc::WNOHANG) };
        if r > 0 {
            continue;
        }
        if r < 0 {
            return 0; // ECHILD: nothing of the group is left.
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut killed = 0;
    // SAFETY: kill and waitpid on our own process group's members.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
        while libc::waitpid(-pgid, std::ptr::null_mut(), 0) > 0 {
            killed += 1;
        }
    }
    killed
}

/// "exited with status N" or "was killed by signal N (NAME)".
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => {
            let name = match s {
                libc::SIGKILL => " (SIGKILL: the memory limit, a timeout or an operator)",
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGINT => " (SIGINT)",
                _ => "",
            };
            format!("was killed by signal {s}{name}")
        }
        (None, None) => format!("ended with {status}"),
    }
}

/// How long the pipes may stay open after the job's process has exited.
const PIPE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The lines a [`reader`] has kept so far, and a channel that closes when it is done.
type Reader = (
    std::sync::Arc<std::sync::Mutex<VecDeque<String>>>,
    std::sync::mpsc::Receiver<()>,
);

/// [`pass_through`] on a thread of its own.
fn reader<R: Read + Send + 'static, W: Write + 'static>(
    from: R,
    to: fn() -> W,
    keep: usize,
) -> Reader {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(VecDeque::with_capacity(keep + 1)));
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = kept.clone();
    std::thread::spawn(move || {
        pass_through(from, to(), keep, &shared);
        drop(tx);
    });
    (kept, rx)
}

/// Copies `from` to `to` line by line (flushing each line, so the run's log follows the job),
/// keeping its last `keep` non-empty lines in `kept`, each cut to [`MAX_LINE_BYTES`]. Output
/// that is not UTF-8 is passed through as is and kept lossily.
fn pass_through(
    from: impl Read,
    mut to: impl Write,
    keep: usize,
    kept: &std::sync::Mutex<VecDeque<String>>,
) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let _ = to.write_all(&line).and_then(|()| to.flush());
        let text = String::from_utf8_lossy(&line[..line.len().min(MAX_LINE_BYTES)]);
        let text = text.trim();
        if !text.is_empty() {
            let Ok(mut k) = kept.lock() else { break };
            k.push_back(text.to_string());
            if k.len() > keep {
                k.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `RUSAGE_CHILDREN` is the whole test process's: tests that start processes run one at a
    /// time, so one test's CPU time is never another's.
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        LOCK.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn last_line_environment_and_stripped_variables() {
        let _serial = serial();
        std::env::set_var("OMPI_TEST_ONLY_VAR", "1");
        let f = run(
            &sh("echo first; echo \"x=$X ompi=${OMPI_TEST_ONLY_VAR:-unset}\"; echo"),
            &[("X".into(), "42".into())],
            &["OMPI_"],
            "here",
        )
        .unwrap();
        assert_eq!(f.last_stdout_line.as_deref(), Some("x=42 ompi=unset"));
        assert!(f.wall_sec > 0.0);
    }

    #[test]
    fn cpu_time_of_the_tree_is_measured() {
        let _serial = serial();
        // Two busy processes for ~0.4 s each: the shell waits for both.
        let f = run(
            &sh("t=$(($(date +%s%N)+400000000)); for i in 1 2; do (while [ $(date +%s%N) -lt $t ]; do :; done) & done; wait"),
            &[],
            &[],
            "here",
        )
        .unwrap();
        assert!(f.cpu_sec > 0.3, "{} CPU seconds", f.cpu_sec);
        assert!(f.max_process_rss_bytes > 0);
    }

    #[test]
    fn a_failure_quotes_the_end_of_stderr() {
        let _serial = serial();
        let e = run(
            &sh("for i in $(seq 1 30); do echo line $i >&2; done; exit 7"),
            &[],
            &[],
            "here",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("`sh -c "), "{e}");
        assert!(e.contains("exited with status 7"), "{e}");
        assert!(
            e.contains("the last 20 lines of its stderr:\nline 11\n"),
            "{e}"
        );
        assert!(e.ends_with("line 30"), "{e}");
        assert!(!e.contains("line 10\n"), "{e}");
        let e = run(&sh("kill -9 $$"), &[], &[], "here")
            .unwrap_err()
            .to_string();
        assert!(e.contains("killed by signal 9 (SIGKILL"), "{e}");
        assert!(e.ends_with("it wrote nothing on stderr"), "{e}");
    }

    #[test]
    fn a_process_left_behind_holding_stdout_does_not_hold_the_executor() {
        let _serial = serial();
        let t = Instant::now();
        let f = run(&sh("echo '{}'; sleep 8 &"), &[], &[], "here").unwrap();
        assert!(t.elapsed().as_secs_f64() < 7.5, "{:?}", t.elapsed());
        assert_eq!(f.last_stdout_line.as_deref(), Some("{}"));
    }

    #[test]
    fn orphans_are_waited_for_and_their_cpu_time_counted() {
        let _serial = serial();
        // The shell starts a 0.5 s spinner in the background and exits at once: the spinner
        // is orphaned, re-parented here, waited for, and its CPU time counted.
        let f = run(
            &sh("(t=$(($(date +%s%N)+500000000)); while [ $(date +%s%N) -lt $t ]; do :; done) > /dev/null 2>&1 & echo '{}'"),
            &[],
            &[],
            "here",
        )
        .unwrap();
        assert!(f.cpu_sec > 0.3, "the orphan's CPU time: {}", f.cpu_sec);
        assert!(
            f.wall_sec < 0.4,
            "the job itself ended at once: {}",
            f.wall_sec
        );
    }

    #[test]
    fn a_missing_program_is_named() {
        let _serial = serial();
        let e = run(&["no-such-program-xyz".into()], &[], &[], "node-a")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`no-such-program-xyz` on node-a"), "{e}");
    }
}
