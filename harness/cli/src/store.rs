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

/// One study's directory under the results root, held by this driver alone.
pub struct Store {
    dir: PathBuf,
    /// `<dir>/.lock`, exclusively `flock`ed while the store is open (released when the process
    /// ends, however it ends).
    _lock: File,
}

/// Name of the lock file in a study directory.
const LOCK_FILE: &str = ".lock";

impl Store {
    /// Opens (creating) `<root>/<study>`, syncs the new directories to disk, and takes the
    /// study's exclusive lock: two drivers never append to one study at once.
    ///
    /// # Errors
    /// The directory cannot be created or synced, or another driver holds the study (its pid
    /// is named).
    pub fn open(root: &Path, study: &str) -> Result<Self> {
        let dir = root.join(study);
        for sub in ["jobs", "logs"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        // A crash after this point must not lose the directory entries just made.
        for d in [
            dir.join("jobs"),
            dir.join("logs"),
            dir.clone(),
            root.to_path_buf(),
        ] {
            sync_dir(&d)?;
        }
        let lock = lock_study(&dir, study)?;
        Ok(Store { dir, _lock: lock })
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
        let created = !path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        if created {
            sync_dir(&self.dir)?;
        }
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

/// Reads `runs.jsonl` of a study directory (for `harness report`). A torn last line (a
/// driver that died mid-write, or one writing right now) is left out with a warning; the file
/// is not changed.
///
/// # Errors
/// The directory has no `runs.jsonl`, or a complete line is not a valid record.
pub fn load_dir(dir: &Path) -> Result<Vec<RunRecord>> {
    let path = dir.join("runs.jsonl");
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: pass a study directory such as results/<study>",
            path.display()
        )
    })?;
    let whole = match text.rfind('\n') {
        Some(i) if i + 1 < text.len() => &text[..=i],
        None if !text.is_empty() => "",
        _ => &text[..],
    };
    if whole.len() < text.len() {
        tracing::warn!(
            "{}: leaving out a torn last line ({} bytes)",
            path.display(),
            text.len() - whole.len()
        );
    }
    read_records(whole, &path)
}

/// Syncs directory `dir` (its entries) to disk.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}

/// Takes the exclusive lock of the study in `dir` (`flock` on `<dir>/.lock`) and writes this
/// process's pid into it.
fn lock_study(dir: &Path, study: &str) -> Result<File> {
    use std::os::unix::io::AsRawFd;
    let path = dir.join(LOCK_FILE);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a valid descriptor owned by `f`.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let mut pid = String::new();
            let _ = f.read_to_string(&mut pid);
            bail!(
                "study `{study}` is being written by another harness (pid {}) in {}: wait for                  it to finish, or pass --study NAME to start another study",
                pid.trim(),
                dir.display()
            );
        }
        return Err(err).with_context(|| format!("cannot lock {}", path.display()));
    }
    f.set_len(0)?;
    f.write_all(std::process::id().to_string().as_bytes())?;
    f.sync_all()?;
    Ok(f)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_driver_cannot_open_a_study_in_use() {
        let root = tempfile::tempdir().unwrap();
        let first = Store::open(root.path(), "s").unwrap();
        let e = Store::open(root.path(), "s")
            .err()
            .expect("the study is locked");
        let text = e.to_string();
        assert!(
            text.contains("being written by another harness")
                && text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(
            Store::open(root.path(), "other").is_ok(),
            "other studies are free"
        );
        drop(first);
        assert!(
            Store::open(root.path(), "s").is_ok(),
            "released with the store"
        );
    }

    #[test]
    fn report_loading_leaves_out_a_torn_last_line_without_changing_the_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("s");
        fs::create_dir_all(&dir).unwrap();
        let fixture = include_str!("../../report/tests/fixtures/gbm-folds-fixture.jsonl");
        let first = fixture.lines().next().unwrap();
        let torn = format!("{first}\n{}", &first[..first.len() / 2]);
        fs::write(dir.join("runs.jsonl"), &torn).unwrap();
        let records = load_dir(&dir).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(fs::read_to_string(dir.join("runs.jsonl")).unwrap(), torn);
        // A complete but invalid line is still an error, named by line.
        fs::write(dir.join("runs.jsonl"), format!("{first}\n{{\"x\": 1}}\n")).unwrap();
        let e = load_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("runs.jsonl:2"), "{e}");
    }
}
