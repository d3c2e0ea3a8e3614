//! Running external programs (docker, ssh, tar, bash) for their output, with errors that name
//! what was run and carry its stderr.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Runs `cmd` with `input` on its stdin (nothing: /dev/null) and returns its stdout.
///
/// # Errors
/// It cannot start, or it exits non-zero: "`what` failed (status): stderr".
pub fn run(cmd: &mut Command, input: Option<&[u8]>, what: &str) -> Result<String> {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().expect("piped");
        // A program that exits without reading all of it fails below with its own words.
        let _ = stdin.write_all(bytes);
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}
