//! Clocks that two processes can compare: `CLOCK_MONOTONIC` is one clock for every process
//! under the same kernel (compose containers on one machine included), and the kernel's boot
//! id says whether two processes share it. Across hosts only wall clocks are left; the driver
//! measures how far another host's wall clock is from its own ([`measure_offset`], Cristian's
//! algorithm over a `harness clock-probe` it starts there) and executors subtract it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// `CLOCK_MONOTONIC` now, ns.
pub fn monotonic_ns() -> u64 {
    // SAFETY: clock_gettime fills a plain timespec.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }
}

/// This kernel's boot id (`/proc/sys/kernel/random/boot_id`), if readable.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Wall-clock time now, ns since the Unix epoch (0 before it).
pub fn wall_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Seconds from the driver's launch to now, and the clock they were read on: `monotonic` when
/// this process runs under the driver's kernel (same boot id); else the difference of two
/// hosts' wall clocks, `wall-offset` when `clock_offset_sec` (this host's wall clock minus the
/// driver's, measured by the driver) is known and subtracted, plain `wall` when it is not.
pub fn since_launch(
    launch_monotonic_ns: Option<u64>,
    driver_boot_id: Option<&str>,
    launch_unix: f64,
    clock_offset_sec: Option<f64>,
) -> (f64, &'static str) {
    match launch_monotonic_ns {
        Some(t0) if driver_boot_id.is_some() && driver_boot_id == boot_id().as_deref() => {
            (monotonic_ns().saturating_sub(t0) as f64 * 1e-9, "monotonic")
        }
        _ => {
            let now = wall_ns() as f64 * 1e-9;
            match clock_offset_sec {
                Some(off) => (now - off - launch_unix, "wall-offset"),
                None => (now - launch_unix, "wall"),
            }
        }
    }
}

/// Answers clock probes: for every line read from `input`, one line with this host's wall
/// clock in ns since the Unix epoch, flushed at once. Ends at the end of `input`. This is
/// `harness clock-probe`, which the driver runs on another host over ssh.
///
/// # Errors
/// Reading or writing fails.
pub fn serve_probes(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        line?;
        writeln!(output, "{}", wall_ns())?;
        output.flush()?;
    }
    Ok(())
}

/// Another host's wall clock as measured from here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockOffset {
    /// The other clock minus this one, seconds.
    pub offset_sec: f64,
    /// Half the round trip of the probe the offset comes from, seconds: the true offset lies
    /// within `offset_sec ± uncertainty_sec`.
    pub uncertainty_sec: f64,
}

/// Why a clock offset could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("cannot start the clock probe `{command}`: {source}")]
    Start {
        command: String,
        source: std::io::Error,
    },
    #[error("the clock probe `{command}` {what}")]
    Probe { command: String, what: String },
}

/// Measures the wall-clock offset of whatever answers `probe` (a command speaking the
/// [`serve_probes`] protocol on stdin/stdout, e.g. `ssh HOST harness clock-probe`) by
/// Cristian's algorithm (F. Cristian, "Probabilistic clock synchronization", Distributed
/// Computing 3, 1989): `samples` probes; for each, `offset = remote − (sent + received) / 2`;
/// the probe with the shortest round trip wins, and half its round trip bounds the error.
///
/// # Errors
/// The command cannot be started, exits early, or answers something that is not a number.
pub fn measure_offset(mut probe: Command, samples: u32) -> Result<ClockOffset, ClockError> {
    let command = format!("{probe:?}");
    let fail = |what: String| ClockError::Probe {
        command: command.clone(),
        what,
    };
    let mut child = probe
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ClockError::Start {
            command: command.clone(),
            source,
        })?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut best: Option<ClockOffset> = None;
    let mut result = Ok(());
    for _ in 0..samples.max(1) {
        let mut line = String::new();
        let sent = wall_ns();
        let answered = stdin
            .write_all(b"?\n")
            .and_then(|()| stdin.flush())
            .and_then(|()| stdout.read_line(&mut line));
        let received = wall_ns();
        let remote: i128 = match answered {
            Ok(0) => {
                result = Err(fail("ended before answering".into()));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                result = Err(fail("ended before answering".into()));
                break;
            }
            Err(e) => {
                result = Err(fail(format!("failed: {e}")));
                break;
            }
            Ok(_) => match line.trim().parse() {
                Ok(v) => v,
                Err(_) => {
                    result = Err(fail(format!(
                        "answered {:?}, not a time in ns",
                        line.trim()
                    )));
                    break;
                }
            },
        };
        let rtt = (received - sent) as f64 * 1e-9;
        let sample = ClockOffset {
            offset_sec: (remote - (sent + received) / 2) as f64 * 1e-9,
            uncertainty_sec: rtt / 2.0,
        };
        if best.is_none_or(|b| sample.uncertainty_sec < b.uncertainty_sec) {
            best = Some(sample);
        }
    }
    drop(stdin);
    let _ = child.wait();
    result.map(|()| best.expect("at least one sample"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_kernel_reads_the_monotonic_clock() {
        let t0 = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let boot = boot_id();
        assert!(boot.is_some(), "Linux has a boot id");
        let (sec, clock) = since_launch(Some(t0), boot.as_deref(), 0.0, Some(100.0));
        assert_eq!(clock, "monotonic");
        assert!((0.02..1.0).contains(&sec), "{sec}");
        // Another kernel: the wall clock, here against a launch 5 s ago.
        let five_ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            - 5.0;
        let (sec, clock) = since_launch(Some(t0), Some("another-kernel"), five_ago, None);
        assert_eq!(clock, "wall");
        assert!((5.0..6.0).contains(&sec), "{sec}");
        // Its wall clock 2 s ahead of the driver's, as measured: 5 s, not 7.
        let (sec, clock) =
            since_launch(Some(t0), Some("another-kernel"), five_ago - 2.0, Some(2.0));
        assert_eq!(clock, "wall-offset");
        assert!((5.0..6.0).contains(&sec), "{sec}");
    }

    #[test]
    fn probes_are_answered_line_by_line() {
        let mut out = Vec::new();
        let before = wall_ns();
        serve_probes(&b"?\n?\n"[..], &mut out).unwrap();
        let lines: Vec<i128> = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0] >= before && lines[1] >= lines[0] && lines[1] <= wall_ns());
    }

    /// A real process whose clock runs 100 s ahead: a shell loop answering with its wall
    /// clock + 100 s. The sign and size of the offset, and a bound that holds it.
    #[test]
    fn a_clock_100_s_ahead_is_measured_as_plus_100_s() {
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            "while read l; do echo $(( $(date +%s%N) + 100000000000 )); done",
        ]);
        let o = measure_offset(sh, 5).unwrap();
        assert!(
            (o.offset_sec - 100.0).abs() <= o.uncertainty_sec + 0.01,
            "{o:?}"
        );
        assert!(o.uncertainty_sec < 0.5, "{o:?}");
    }

    #[test]
    fn a_probe_that_answers_nonsense_is_an_error() {
        let mut sh = Command::new("sh");
        sh.args(["-c", "read l; echo soon"]);
        let e = measure_offset(sh, 3).unwrap_err().to_string();
        assert!(e.contains("\"soon\", not a time in ns"), "{e}");
        let e = measure_offset(Command::new("true"), 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ended before answering"), "{e}");
    }
}
