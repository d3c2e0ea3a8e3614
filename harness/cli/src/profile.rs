//! `harness profile local`: the default FRACTAL study, adapted to this machine.
//!
//! DESIGN.md's local default is executors {1, 2, 4, 7} × fractions {0.01, 0.05, 0.07, 0.1},
//! 2 cores and 7g per executor. That grid assumes ≥ 14 CPUs and ≥ 49 GiB. On this machine the
//! harness keeps the fractions and adapts the shape so no point is oversubscribed:
//! - cores per executor: 2 when the machine has ≥ 4 logical CPUs, else 1;
//! - executors: those of {1, 2, 4, 7} with executors × cores ≤ logical CPUs;
//! - memory: 7g, lowered to 80 % of RAM divided by the largest executor count when 7g would
//!   not fit (rounded down to 256 MiB).
//!
//! On 2 CPUs / 24 GiB that is executors {1, 2} × 1 core × 7g. Filters (`--executors`, `--cores`,
//! `--memory`, `--fractions`, `--reps`) replace an axis; asking for more than fits is allowed
//! and recorded as oversubscribed.

use std::path::PathBuf;

use harness_core::units::format_bytes;
use harness_core::StudySpec;

/// FRACTAL defaults of DESIGN.md.
pub const DESIGN_EXECUTORS: [u32; 4] = [1, 2, 4, 7];
pub const DESIGN_FRACTIONS: [f64; 4] = [0.01, 0.05, 0.07, 0.1];
pub const DESIGN_MEMORY: u64 = 7 << 30;

/// Embedded default data set: 300 train files × 70,000 points (21 M training points), seed 62.
pub const DEFAULT_TRAIN_FILES: usize = 300;
pub const DEFAULT_ROWS_PER_FILE: usize = 70_000;
pub const DEFAULT_SEED: u64 = 62;

/// The default local study for a machine with `cpus` logical CPUs and `memory` bytes of RAM.
pub fn default_local(cpus: u32, memory: u64) -> StudySpec {
    let cores = if cpus >= 4 { 2 } else { 1 };
    let executors: Vec<u32> = DESIGN_EXECUTORS
        .iter()
        .copied()
        .filter(|e| e * cores <= cpus.max(1))
        .collect();
    let executors = if executors.is_empty() {
        vec![1]
    } else {
        executors
    };
    let largest = u64::from(*executors.iter().max().expect("non-empty"));
    let fit = (memory as f64 * 0.8 / largest as f64) as u64 / (256 << 20) * (256 << 20);
    let memory = if fit == 0 {
        256 << 20
    } else {
        DESIGN_MEMORY.min(fit)
    };
    StudySpec {
        name: "fractal-rf-local".into(),
        workload: workload_fractal_rf::NAME.into(),
        executors,
        cores: vec![cores],
        memory: vec![format_bytes(memory)],
        fractions: DESIGN_FRACTIONS.to_vec(),
        repetitions: 3,
        timeout_sec: 3600,
        data: None,
        params: Default::default(),
    }
}

/// The default local study of the `wine` workload: the 96-trial search at executors
/// {1, 2, 4, 8} that fit the logical CPUs with 1 core each (one trial slot per executor),
/// 2g per executor, all training rows, 3 repetitions, on the embedded UCI data.
pub fn default_local_wine(cpus: u32, memory: u64) -> StudySpec {
    let executors: Vec<u32> = [1, 2, 4, 8]
        .into_iter()
        .filter(|e| *e <= cpus.max(1))
        .collect();
    let largest = u64::from(*executors.iter().max().expect("1 always fits"));
    let fit = (memory as f64 * 0.8 / largest as f64) as u64 / (256 << 20) * (256 << 20);
    StudySpec {
        name: "wine-local".into(),
        workload: workload_wine::NAME.into(),
        executors,
        cores: vec![1],
        memory: vec![format_bytes((2u64 << 30).min(fit.max(256 << 20)))],
        fractions: vec![1.0],
        repetitions: 3,
        timeout_sec: 3600,
        data: None,
        params: Default::default(),
    }
}

/// The harness's cache: `$HARNESS_CACHE`, else `$XDG_CACHE_HOME/harness`, else
/// `~/.cache/harness`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("HARNESS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|p| PathBuf::from(p).join("harness")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/harness")))
        .unwrap_or_else(|| PathBuf::from(".cache/harness"))
}

/// Where the embedded default data set is cached: [`cache_dir`], then
/// `data/fractal-s62-t300-r70000`.
pub fn default_data_dir() -> PathBuf {
    cache_dir().join(format!(
        "data/fractal-s{DEFAULT_SEED}-t{DEFAULT_TRAIN_FILES}-r{DEFAULT_ROWS_PER_FILE}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapts_to_small_and_large_machines() {
        let s = default_local(2, 24 << 30);
        assert_eq!(s.executors, vec![1, 2]);
        assert_eq!(s.cores, vec![1]);
        assert_eq!(s.memory, vec!["7g"]);
        assert_eq!(s.fractions, DESIGN_FRACTIONS.to_vec());
        let s = default_local(16, 128 << 30);
        assert_eq!(s.executors, vec![1, 2, 4, 7]);
        assert_eq!(s.cores, vec![2]);
        assert_eq!(s.memory, vec!["7g"]);
        let s = default_local(16, 16 << 30);
        assert_eq!(s.memory, vec!["1.75g"], "7 executors in 80 % of 16 GiB");
        s.validate().unwrap();
    }
}
