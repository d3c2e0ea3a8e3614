//! Contention and throttling of this executor, read from the kernel — never inferred from what
//! was requested.
//!
//! A [`Sample`] is a snapshot of this process's counters; the difference of two samples taken
//! around a phase is a [`PhaseKernel`]:
//!
//! - **CPU time**: `getrusage(RUSAGE_SELF)` user + system (includes threads that have exited),
//!   plus `RUSAGE_CHILDREN`: the processes a `command` executor started and waited for.
//! - **Run-queue wait**: `/proc/self/task/<tid>/schedstat`, 2nd field — nanoseconds each
//!   thread spent runnable but waiting for a CPU (needs `CONFIG_SCHED_INFO`, on in every
//!   distribution kernel). A thread's counters vanish with it, so threads the executor spawns
//!   call [`retire_thread`] as they end, which banks their wait.
//! - **Throttling**: the executor's cgroup `cpu.stat` — v2 `nr_throttled` / `throttled_usec`,
//!   v1 `nr_throttled` / `throttled_time` (ns).
//! - **Steal**: `/proc/stat`, the 8th column of each of the executor's CPUs, in `USER_HZ` ticks.
//!
//! - **Others on the executor's CPUs**: the busy ticks of its CPUs in `/proc/stat` (user, nice,
//!   system, irq, softirq) minus its own CPU time.
//!
//! A phase is *contended* when others' CPU time on the executor's CPUs, or throttled time,
//! exceeds [`harness_core::record::CONTENDED_SHARE`] of its core-seconds (`wall × cores`) and
//! 0.1 s per core. Run-queue wait is recorded but not judged: summed over threads it also counts
//! a thread waiting behind its own executor's busy thread (the task farm's coordinating thread
//! on a 1-core executor waits nearly the whole phase).
//!
//! The CPU check ([`cpu_check`]) is absolute: `n` threads spin for a fixed wall time and the CPU
//! time they got is compared with `wall × n`, in up to three attempts, so one burst of
//! someone else's work does not fail it and a lasting loss of CPU does.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use harness_core::record::PhaseKernel;

/// Run-queue wait (ns) of threads that have ended, banked by [`retire_thread`].
static RETIRED_WAIT_NS: AtomicU64 = AtomicU64::new(0);

/// Banks the calling thread's run-queue wait before it ends, so phases that spanned it keep
/// it. Call as the last thing of every thread an executor spawns for a phase.
pub fn retire_thread() {
    if let Some(ns) = schedstat_wait_ns(Path::new("/proc/thread-self/schedstat")) {
        RETIRED_WAIT_NS.fetch_add(ns, Ordering::Relaxed);
    }
}

/// A snapshot of this process's kernel counters.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    cpu_ns: u64,
    wait_ns: u64,
    throttled_ns: Option<u64>,
    throttled_periods: Option<u64>,
    steal_ticks: Option<u64>,
    busy_ticks: Option<u64>,
}

/// Where to read the counters that are not per process: the cgroup's `cpu.stat` and the CPUs
/// whose steal counts.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The executor cgroup's `cpu.stat`, if it has one.
    pub cpu_stat: Option<PathBuf>,
    /// The executor's CPUs (its affinity mask).
    pub cpus: Vec<usize>,
}

impl Sources {
    /// This process's own cgroup `cpu.stat` and affinity, read now (after limits are applied).
    pub fn own() -> Self {
        Sources {
            cpu_stat: crate::limits::own_cpu_stat().filter(|p| p.exists()),
            cpus: crate::limits::affinity(),
        }
    }
}

/// Takes a snapshot of the counters.
pub fn sample(src: &Sources) -> Sample {
    let (throttled_ns, throttled_periods) = src
        .cpu_stat
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| parse_cpu_stat(&t))
        .unwrap_or((None, None));
    let stat = std::fs::read_to_string("/proc/stat").ok();
    Sample {
        at: Instant::now(),
        cpu_ns: process_cpu_ns(),
        wait_ns: live_wait_ns() + RETIRED_WAIT_NS.load(Ordering::Relaxed),
        throttled_ns,
        throttled_periods,
        steal_ticks: stat.as_deref().and_then(|t| steal_ticks(t, &src.cpus)),
        busy_ticks: stat.as_deref().and_then(|t| busy_ticks(t, &src.cpus)),
    }
}

/// The counters between `a` and `b` (taken later) for an executor of `cores` cores.
pub fn between(a: &Sample, b: &Sample, cores: u32) -> PhaseKernel {
    let sec = |x: u64, y: u64| y.saturating_sub(x) as f64 * 1e-9;
    let mut k = PhaseKernel {
        wall_sec: b.at.duration_since(a.at).as_secs_f64(),
        cpu_sec: sec(a.cpu_ns, b.cpu_ns),
        run_queue_wait_sec: sec(a.wait_ns, b.wait_ns),
        throttled_sec: a.throttled_ns.zip(b.throttled_ns).map(|(x, y)| sec(x, y)),
        throttled_periods: a
            .throttled_periods
            .zip(b.throttled_periods)
            .map(|(x, y)| y.saturating_sub(x)),
        steal_sec: a
            .steal_ticks
            .zip(b.steal_ticks)
            .map(|(x, y)| y.saturating_sub(x) as f64 / clock_ticks_per_sec()),
        other_cpu_sec: None,
        contended: false,
    };
    k.other_cpu_sec = a
        .busy_ticks
        .zip(b.busy_ticks)
        .map(|(x, y)| (y.saturating_sub(x) as f64 / clock_ticks_per_sec() - k.cpu_sec).max(0.0));
    k.contended = k.is_contended(cores);
    k
}

/// Adds phase `b` to the running total `a` (a phase timed in several calls).
pub fn accumulate(a: &mut PhaseKernel, b: &PhaseKernel, cores: u32) {
    let add = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
    };
    a.wall_sec += b.wall_sec;
    a.cpu_sec += b.cpu_sec;
    a.run_queue_wait_sec += b.run_queue_wait_sec;
    a.throttled_sec = add(a.throttled_sec, b.throttled_sec);
    a.throttled_periods = match (a.throttled_periods, b.throttled_periods) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0) + y.unwrap_or(0)),
    };
    a.steal_sec = add(a.steal_sec, b.steal_sec);
    a.other_cpu_sec = add(a.other_cpu_sec, b.other_cpu_sec);
    a.contended = a.is_contended(cores);
}

/// What the CPU check saw (see [`cpu_check`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CpuCheck {
    /// Each attempt's ratio, in order: the spinning threads' CPU time over their summed
    /// wall time (1 = every thread ran the whole time).
    pub ratios: Vec<f64>,
    /// The best attempt's CPU time over wall time: about the number of CPUs the executor
    /// really had (≈ `threads` when it had them).
    pub parallelism: f64,
    /// Wall seconds of the whole check, all attempts.
    pub sec: f64,
    /// The best attempt's speed: millions of iterations of the spin loop's dependent
    /// multiply–xor chain per CPU-second, averaged over its threads (0 when nothing ran). It
    /// says how fast the CPUs ran, not how much of them the executor got: on a VM the host
    /// can slow a vCPU (a busy hyperthread sibling, a lower clock) while the guest kernel
    /// sees no steal, and this is where that shows.
    pub rate: f64,
}

impl CpuCheck {
    /// The verdict's figure: the best attempt's ratio (0 when nothing ran).
    pub fn ratio(&self) -> f64 {
        self.ratios.iter().copied().fold(0.0, f64::max)
    }

    /// Whether some attempt reached `min`: the executor can get its cores.
    pub fn passed(&self, min: f64) -> bool {
        self.ratio() >= min
    }
}

/// The CPU check: `threads` threads spin for `seconds` of wall time each, timed from the
/// moment all of them run (a barrier after they start, so thread creation is not counted);
/// an attempt's ratio is their CPU time over their wall time. On `threads` free CPUs the
/// ratio is ≈ 1; a CPU shared with another busy process, or a quota below `threads`, makes
/// it smaller. Up to `attempts` attempts, stopping at the first whose ratio reaches `min`:
/// one burst of someone else's work (the launcher starting, a write-back) fails one attempt,
/// a busy loop on the executor's CPU or a quota below its cores fails all of them. No
/// attempts when `threads` is 0 or `seconds` ≤ 0.
pub fn cpu_check(threads: u32, seconds: f64, attempts: u32, min: f64) -> CpuCheck {
    let begin = Instant::now();
    let mut ratios = Vec::new();
    let mut parallelism: f64 = 0.0;
    let mut rate: f64 = 0.0;
    if threads > 0 && seconds > 0.0 {
        for _ in 0..attempts.max(1) {
            let (cpu, wall, iterations) = spin(threads, Duration::from_secs_f64(seconds));
            let ratio = if wall > 0.0 { cpu / wall } else { 0.0 };
            if ratio * f64::from(threads) > parallelism && cpu > 0.0 {
                rate = iterations / cpu * 1e-6;
            }
            parallelism = parallelism.max(ratio * f64::from(threads));
            ratios.push(ratio);
            if ratio >= min {
                break;
            }
        }
    }
    CpuCheck {
        ratios,
        parallelism,
        sec: begin.elapsed().as_secs_f64(),
        rate,
    }
}

/// Iterations of the spin loop between two reads of the clock.
const SPIN_BLOCK: u64 = 10_000;

/// `threads` threads spin for `run_for` each once all have started; returns (their CPU
/// seconds, their wall seconds, the loop iterations they made), each summed over the threads.
fn spin(threads: u32, run_for: Duration) -> (f64, f64, f64) {
    let ready = std::sync::Barrier::new(threads as usize);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let ready = &ready;
                s.spawn(move || {
                    ready.wait();
                    let (t0, c0) = (Instant::now(), thread_cpu_ns());
                    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
                    let mut blocks = 0u64;
                    while t0.elapsed() < run_for {
                        for i in 0..SPIN_BLOCK {
                            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
                            x ^= x >> 29;
                        }
                        x = std::hint::black_box(x);
                        blocks += 1;
                    }
                    let (cpu, wall) = (thread_cpu_ns().saturating_sub(c0), t0.elapsed());
                    retire_thread();
                    let iterations = (blocks * SPIN_BLOCK) as f64;
                    (cpu as f64 * 1e-9, wall.as_secs_f64(), iterations)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0.0, 0.0, 0.0)))
            .fold((0.0, 0.0, 0.0), |(c, w, n), (ci, wi, ni)| {
                (c + ci, w + wi, n + ni)
            })
    })
}

/// CPU time of the calling thread, ns (`CLOCK_THREAD_CPUTIME_ID`).
pub(crate) fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    // SAFETY: clock_gettime fills a plain timespec.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        if libc::clock_gettime(clock, &mut ts) == 0 {
            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
        } else {
            0
        }
    }
}

/// `getrusage(who)` (`RUSAGE_SELF`, `RUSAGE_CHILDREN`, `RUSAGE_THREAD`); `None` when it fails.
pub(crate) fn rusage(who: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: getrusage fills a plain struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        (libc::getrusage(who, &mut ru) == 0).then_some(ru)
    }
}

/// User + system seconds of a `rusage`.
fn cpu_sec(ru: &libc::rusage) -> f64 {
    let sec = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    sec(ru.ru_utime) + sec(ru.ru_stime)
}

/// (CPU seconds, voluntary context switches) of the calling thread so far
/// (`getrusage(RUSAGE_THREAD)`).
pub(crate) fn thread_usage() -> (f64, u64) {
    rusage(libc::RUSAGE_THREAD).map_or((0.0, 0), |ru| (cpu_sec(&ru), ru.ru_nvcsw as u64))
}

/// CPU seconds (user + system) and the largest peak resident set, bytes, of the processes
/// this process started and waited for so far (`getrusage(RUSAGE_CHILDREN)`: a `command`
/// job's tree; zeros for the native workloads).
pub fn children_usage() -> (f64, u64) {
    rusage(libc::RUSAGE_CHILDREN).map_or((0.0, 0), |ru| (cpu_sec(&ru), ru.ru_maxrss as u64 * 1024))
}

/// User + system CPU time of this process and of the processes it started and waited for (a
/// `command` job's tree; none for the native workloads), ns (`getrusage` `RUSAGE_SELF` +
/// `RUSAGE_CHILDREN`, exited threads included). A child's time counts once it has been waited
/// for, i.e. in the phase it ends in.
fn process_cpu_ns() -> u64 {
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN]
        .into_iter()
        .filter_map(rusage)
        .map(|ru| (us(ru.ru_utime) + us(ru.ru_stime)) * 1000)
        .sum()
}

/// The run-queue wait (2nd field of `schedstat`, ns) in `path`.
fn schedstat_wait_ns(path: &Path) -> Option<u64> {
    parse_schedstat(&std::fs::read_to_string(path).ok()?)
}

fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Run-queue wait of every live thread of this process, ns.
fn live_wait_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| schedstat_wait_ns(&e.path().join("schedstat")))
        .sum()
}

/// (throttled ns, throttled periods) from a `cpu.stat` (v2 `throttled_usec`, v1
/// `throttled_time` in ns).
fn parse_cpu_stat(text: &str) -> (Option<u64>, Option<u64>) {
    let mut ns = None;
    let mut periods = None;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next().and_then(|v| v.parse::<u64>().ok())) else {
            continue;
        };
        match k {
            "throttled_usec" => ns = Some(v * 1000),
            "throttled_time" => ns = Some(v),
            "nr_throttled" => periods = Some(v),
            _ => {}
        }
    }
    (ns, periods)
}

/// `ticks(columns)` summed over the `/proc/stat` lines of `cpus` (the aggregate `cpu` line when
/// `cpus` is empty); columns are user nice system idle iowait irq softirq steal …, in
/// `USER_HZ` ticks. `None` when no line is selected or `ticks` finds a line too short.
fn cpu_ticks(text: &str, cpus: &[usize], ticks: impl Fn(&[u64]) -> Option<u64>) -> Option<u64> {
    let mut total = None;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some(name) = it.next() else { continue };
        let selected = match name.strip_prefix("cpu") {
            Some("") => cpus.is_empty(),
            Some(n) => n.parse::<usize>().is_ok_and(|c| cpus.contains(&c)),
            None => false,
        };
        if selected {
            let columns: Vec<u64> = it.map_while(|v| v.parse().ok()).collect();
            total = Some(total.unwrap_or(0) + ticks(&columns)?);
        }
    }
    total
}

/// Steal ticks summed over `cpus` (all CPUs when empty) from `/proc/stat`'s text.
fn steal_ticks(text: &str, cpus: &[usize]) -> Option<u64> {
    cpu_ticks(text, cpus, |c| c.get(7).copied())
}

/// Busy ticks (user + nice + system + irq + softirq) summed over `cpus` (all CPUs when empty)
/// from `/proc/stat`'s text.
fn busy_ticks(text: &str, cpus: &[usize]) -> Option<u64> {
    cpu_ticks(text, cpus, |c| {
        (c.len() >= 7).then(|| c[0] + c[1] + c[2] + c[5] + c[6])
    })
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    // Process-wide counters: the tests that burn CPU are in tests/kernel.rs, one test alone in
    // its binary, so no other test's threads are counted.
    use super::*;

    #[test]
    fn parses_the_kernel_files() {
        assert_eq!(parse_schedstat("123 456 7\n"), Some(456));
        assert_eq!(
            parse_cpu_stat("usage_usec 10\nnr_periods 5\nnr_throttled 2\nthrottled_usec 30\n"),
            (Some(30_000), Some(2))
        );
        assert_eq!(
            parse_cpu_stat("nr_periods 5\nnr_throttled 3\nthrottled_time 999\n"),
            (Some(999), Some(3))
        );
        let stat = "cpu  1 2 3 4 5 6 7 100 0 0\ncpu0 1 2 3 4 5 6 7 40 0 0\n\
                    cpu1 1 2 3 4 5 6 7 60 0 0\nintr 1 2\n";
        assert_eq!(steal_ticks(stat, &[]), Some(100));
        assert_eq!(steal_ticks(stat, &[1]), Some(60));
        assert_eq!(steal_ticks(stat, &[0, 1]), Some(100));
        assert_eq!(steal_ticks(stat, &[7]), None);
        // busy = user + nice + system + irq + softirq = 1 + 2 + 3 + 6 + 7
        assert_eq!(busy_ticks(stat, &[1]), Some(19));
        assert_eq!(busy_ticks(stat, &[0, 1]), Some(38));
    }
}
