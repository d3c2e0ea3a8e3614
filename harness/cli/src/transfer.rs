//! Moving trees of files: listing every file below a directory, uploading files to an S3
//! prefix, copying a tree. Used by `data upload`, the `--results s3://` mirror and the compose
//! driver.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use harness_runtime::s3::{S3Location, S3};

/// Every file below `dir` (recursively), as paths relative to `dir`, sorted.
///
/// # Errors
/// An unreadable directory, named.
pub fn files_below(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                files.push(p.strip_prefix(dir).expect("below dir").to_path_buf());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Uploads each of `rels` (relative to `root`) as `<loc>/<prefix>/<rel>` (no prefix when
/// empty), calling `done` after each; returns the bytes uploaded.
///
/// # Errors
/// An unreadable file or an S3 error, each naming the file or object.
pub fn upload_files(
    loc: &S3Location,
    prefix: &str,
    root: &Path,
    rels: &[PathBuf],
    done: impl Fn(),
) -> Result<u64> {
    let s3 = S3::shared();
    let mut bytes = 0u64;
    for rel in rels {
        let path = root.join(rel);
        let data =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        bytes += data.len() as u64;
        let key = rel.to_string_lossy().replace('\\', "/");
        let key = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}/{key}")
        };
        s3.put(loc, &key, data)?;
        done();
    }
    Ok(bytes)
}

/// Copies every file below `from` to the same relative path below `to`.
///
/// # Errors
/// Unreadable sources or unwritable destinations.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for rel in files_below(from)? {
        let dest = to.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from.join(&rel), &dest).with_context(|| {
            format!(
                "cannot copy {} to {}",
                from.join(&rel).display(),
                dest.display()
            )
        })?;
    }
    Ok(())
}
