//! The results store: `results/<study>/runs.jsonl`, one record per line, appended and synced as
//! each run ends, never rewritten.
//!
//! Layout of a study directory:
//! - `runs.jsonl` — the records (schema v1);
//! - `study.toml` — the study as last run;
//! - `jobs/` — job files and outcomes of runs; `logs/` — each run's launcher output.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use harness_core::{RunRecord, StudySpec};

/// One study's directory under the results root.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating) `<root>/<study>`.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open(root: &Path, study: &str) -> Result<Self> {
        let dir = root.join(study);
        for sub in ["jobs", "logs"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        Ok(Store { dir })
    }

    /// The study directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of `runs.jsonl`.
    pub fn runs_path(&self) -> PathBuf {
        self.dir.join("runs.jsonl")
    }

    /// Writes `study.toml`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save_spec(&self, spec: &StudySpec) -> Result<()> {
        let p = self.dir.join("study.toml");
        fs::write(&p, spec.to_toml()).with_context(|| format!("cannot write {}", p.display()))
    }

    /// Reads every record. A last line without its newline (a write torn by a crash) is cut off
    /// the file with a warning, so the file only ever holds whole records.
    ///
    /// # Errors
    /// The file cannot be read, or a complete line is not a valid record (named by line).
    pub fn load(&self) -> Result<Vec<RunRecord>> {
        let path = self.runs_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if !text.is_empty() && !text.ends_with('\n') {
            let keep = text.rfind('\n').map_or(0, |i| i + 1);
            tracing::warn!(
                "{}: dropping a torn last line ({} bytes) left by an interrupted write",
                path.display(),
                text.len() - keep
            );
            file.set_len(keep as u64)?;
            file.seek(SeekFrom::End(0))?;
            text.truncate(keep);
        }
        read_records(&text, &path)
    }

    /// Appends one record as one line and syncs it to disk before returning.
    ///
    /// # Errors
    /// The file cannot be opened, written or synced.
    pub fn append(&self, record: &RunRecord) -> Result<()> {
        let path = self.runs_path();
        let mut line = serde_json::to_string(record).context("record serialises")?;
        line.push('\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // One write of the whole line: with O_APPEND it lands whole or not at all in practice;
        // `load` cuts a torn tail if the machine died mid-write.
        f.write_all(line.as_bytes())
            .with_context(|| format!("cannot append to {}", path.display()))?;
        f.sync_all()
            .with_context(|| format!("cannot sync {}", path.display()))?;
        Ok(())
    }
}

/// Parses records from JSON lines; `path` names the source in errors.
///
/// # Errors
/// The first line that is not a record, by number.
pub fn read_records(text: &str, path: &Path) -> Result<Vec<RunRecord>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RunRecord>(line) {
            Ok(r) => out.push(r),
            Err(e) => bail!("{}:{}: not a run record: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}

/// Reads `runs.jsonl` of a study directory (for `harness report`).
///
/// # Errors
/// The directory has no `runs.jsonl`, or it holds an invalid line.
pub fn load_dir(dir: &Path) -> Result<Vec<RunRecord>> {
    let path = dir.join("runs.jsonl");
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: pass a study directory such as results/<study>",
            path.display()
        )
    })?;
    read_records(&text, &path)
}

/// Creates `path` with `contents`, syncing it (job files).
///
/// # Errors
/// The file cannot be written.
pub fn write_synced(path: &Path, contents: &[u8]) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}
