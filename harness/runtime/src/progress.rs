//! A run's progress while it is in flight: rank 0 writes how many of its units (tasks, trials)
//! are done to `<outcome>.progress` (JSON, replaced atomically); the driver polls the file and
//! shows the count and an ETA on the study's progress bar. Best effort on both sides: a file
//! that cannot be written or read costs the display, never the run.
//!
//! Every executor also keeps its report so far in a file ([`partial_report_path`]), for the
//! record of a run that fails before rank 0 gathers the full reports.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// What rank 0 reports while a run is in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Units finished so far (failed ones included).
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// Units that failed so far.
    pub failed: u64,
    /// What a unit is, e.g. `tasks`.
    pub unit: String,
    /// Seconds since the first unit started.
    pub elapsed_sec: f64,
}

impl Progress {
    /// Seconds left at the mean pace so far, when the total is known and something is done.
    pub fn eta_sec(&self) -> Option<f64> {
        let total = self.total?;
        (self.done > 0)
            .then(|| self.elapsed_sec / self.done as f64 * total.saturating_sub(self.done) as f64)
    }
}

/// The progress file of the run whose outcome goes to `outcome_path`.
pub fn path_for(outcome_path: &str) -> PathBuf {
    PathBuf::from(format!("{outcome_path}.progress"))
}

/// The file in which executor `rank` keeps its report so far while the run is in flight
/// (`<error_prefix>.<rank>.report.json`, next to its error file): the driver reads it when the
/// run fails, so the record keeps what the executor had and the phase it reached.
pub fn partial_report_path(error_prefix: &str, rank: u32) -> PathBuf {
    PathBuf::from(format!("{error_prefix}.{rank}.report.json"))
}

/// Writes progress to one file, timing from its creation.
#[derive(Debug, Clone)]
pub struct ProgressFile {
    path: PathBuf,
    started: Instant,
    unit: String,
}

impl ProgressFile {
    /// A writer to `path` counting `unit`s.
    pub fn new(path: PathBuf, unit: &str) -> Self {
        ProgressFile {
            path,
            started: Instant::now(),
            unit: unit.to_string(),
        }
    }

    /// Replaces the file with the current counts (temporary file + rename); errors are ignored.
    pub fn write(&self, done: u64, total: Option<u64>, failed: u64) {
        let p = Progress {
            done,
            total,
            failed,
            unit: self.unit.clone(),
            elapsed_sec: self.started.elapsed().as_secs_f64(),
        };
        let tmp = self.path.with_extension("progress.tmp");
        let bytes = serde_json::to_vec(&p).expect("progress serialises");
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

/// The progress in `path`, if it exists and parses.
pub fn read(path: &Path) -> Option<Progress> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_progress_reads_back_with_an_eta() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("run.outcome.json").display().to_string());
        assert!(read(&path).is_none());
        let f = ProgressFile::new(path.clone(), "tasks");
        f.write(3, Some(12), 1);
        let p = read(&path).unwrap();
        assert_eq!((p.done, p.total, p.failed), (3, Some(12), 1));
        assert_eq!(p.unit, "tasks");
        let eta = Progress {
            elapsed_sec: 30.0,
            ..p
        }
        .eta_sec()
        .unwrap();
        assert!((eta - 90.0).abs() < 1e-9, "9 left at 10 s each: {eta}");
    }
}
