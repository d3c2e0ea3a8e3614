//! Clocks that two processes can compare: `CLOCK_MONOTONIC` is one clock for every process
//! under the same kernel (compose containers on one machine included), and the kernel's boot
//! id says whether two processes share it.

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

/// Seconds from the driver's launch to now, and the clock they were read on: `monotonic` when
/// this process runs under the driver's kernel (same boot id), else `wall` (the difference of
/// two hosts' wall clocks).
pub fn since_launch(
    launch_monotonic_ns: Option<u64>,
    driver_boot_id: Option<&str>,
    launch_unix: f64,
) -> (f64, &'static str) {
    match launch_monotonic_ns {
        Some(t0) if driver_boot_id.is_some() && driver_boot_id == boot_id().as_deref() => {
            (monotonic_ns().saturating_sub(t0) as f64 * 1e-9, "monotonic")
        }
        _ => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            (now - launch_unix, "wall")
        }
    }
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
        let (sec, clock) = since_launch(Some(t0), boot.as_deref(), 0.0);
        assert_eq!(clock, "monotonic");
        assert!((0.02..1.0).contains(&sec), "{sec}");
        // Another kernel: the wall clock, here against a launch 5 s ago.
        let five_ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            - 5.0;
        let (sec, clock) = since_launch(Some(t0), Some("another-kernel"), five_ago);
        assert_eq!(clock, "wall");
        assert!((5.0..6.0).contains(&sec), "{sec}");
    }
}
