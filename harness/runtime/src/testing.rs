//! Test support shared by every crate's tests: a skip that nobody can miss.
//!
//! A test that cannot run its real part (no Docker daemon, no cgroups, no data) calls [`skip`]
//! and returns. The line goes to stdout and stderr, and is appended to the file named by
//! `HARNESS_SKIP_LOG` when set — `.ci/run` sets it and prints every skip in its summary. With
//! `CI=true` (as `.ci/run` sets it) a skip is a failure: on CI nothing may skip.

use std::io::Write;

/// Reports that `test` skipped its real part because of `reason` (see the module docs).
///
/// # Panics
/// When the environment has `CI=true`.
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED: {test}: {reason}");
    println!("{line}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("HARNESS_SKIP_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{line} — with CI=true nothing may skip"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test in this crate that touches `CI` and `HARNESS_SKIP_LOG`.
    #[test]
    fn a_skip_is_logged_and_fails_on_ci() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips.log");
        std::env::set_var("HARNESS_SKIP_LOG", &log);
        std::env::set_var("CI", "false");
        skip("t1", "no daemon");
        std::env::set_var("CI", "true");
        let on_ci = std::panic::catch_unwind(|| skip("t2", "no cgroups"));
        std::env::remove_var("HARNESS_SKIP_LOG");
        std::env::remove_var("CI");
        assert!(on_ci.is_err(), "a skip on CI fails its test");
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "SKIPPED: t1: no daemon\nSKIPPED: t2: no cgroups\n"
        );
    }
}
