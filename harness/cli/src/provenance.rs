//! Provenance of runs: which harness, on which machine, with which MPI and LightGBM.

use std::process::Command;

use harness_core::Provenance;

/// Logical CPUs this process may use (its affinity mask).
pub fn logical_cpus() -> u32 {
    let n = harness_runtime::limits::affinity().len();
    if n > 0 {
        n as u32
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    }
}

/// Total memory of the machine, bytes (`MemTotal` of /proc/meminfo).
pub fn memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// First line of `mpirun --version`, e.g. `mpirun (Open MPI) 4.1.4`.
pub fn mpi_version() -> Option<String> {
    let out = Command::new("mpirun").arg("--version").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// Provenance of this driver's machine and build.
pub fn collect() -> Provenance {
    let exe = std::env::current_exe().ok();
    let nix_store_path = exe
        .as_ref()
        .and_then(|p| p.to_str())
        .filter(|p| p.starts_with("/nix/store/"))
        .map(|p| p.split('/').take(4).collect::<Vec<_>>().join("/"));
    let rev = env!("HARNESS_GIT_REV");
    Provenance {
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        git_rev: (!rev.is_empty()).then(|| rev.to_string()),
        nix_store_path,
        host: hostname(),
        cpu_model: cpu_model(),
        logical_cpus: logical_cpus(),
        memory_bytes: memory_bytes(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        mpi_version: mpi_version().unwrap_or_else(|| "unknown".into()),
        lightgbm_version: harness_runtime::LIGHTGBM_VERSION.to_string(),
        xgboost_version: Some(harness_xgboost::library_version()),
    }
}
