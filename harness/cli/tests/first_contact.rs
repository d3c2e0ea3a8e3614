//! What a new user meets: the binary README's first command builds runs from a shell with an
//! empty environment (no LD_LIBRARY_PATH, LIBTORCH or anything an install script exported — the
//! native libraries are found through the binary's rpath), a study ends with its summary table
//! and the report's path on stdout, colours appear only on a terminal without `NO_COLOR`, and
//! the exit status tells a usage error and bad input apart (and `--help` lists every code).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{generate_fractal, records, serial};
use harness_core::RunStatus;

/// `harness args…` from `env -i PATH=/usr/bin:/bin HOME=$HOME`, in `cwd`.
fn harness_bare_env(cwd: &Path, args: &[&str]) -> Output {
    let home = std::env::var("HOME").expect("HOME");
    Command::new("/usr/bin/env")
        .args(["-i", "PATH=/usr/bin:/bin", &format!("HOME={home}")])
        .arg(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("env runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `s` holds an ANSI SGR (colour or weight) sequence: ESC [ digits/semicolons m.
fn has_sgr(s: &str) -> bool {
    s.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| r[i..].starts_with('m'))
        })
    })
}

#[test]
fn a_study_runs_from_an_empty_environment_and_ends_with_its_summary() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gen = harness_bare_env(
        dir,
        &[
            "data",
            "generate",
            "fractal",
            "--out",
            "data",
            "--train-files",
            "4",
            "--rows-per-file",
            "3000",
            "--val-files",
            "2",
            "--test-files",
            "2",
        ],
    );
    assert!(gen.status.success(), "{}", text(&gen.stderr));
    let out = harness_bare_env(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            "data",
            "--executors",
            "2",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--fraction",
            "1",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r = &records(dir, "fractal-rf-run")[0];
    assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
    assert_eq!(r.executor_reports.len(), 2, "mpirun -np 2");
    let acc = r.metrics.test_accuracy.expect("test accuracy");
    assert!(acc > 0.5 && acc < 1.0, "{acc}");

    // The summary: the study, then the 2-executor row with the record's own numbers.
    assert!(
        stdout.contains("Summary of `fractal-rf-run`: 1 records, 1 ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fraction 1, 1 core and 1g per executor"),
        "{stdout}"
    );
    let row: Vec<&str> = stdout
        .lines()
        .map(str::split_whitespace)
        .map(Iterator::collect::<Vec<_>>)
        .find(|cells| cells.first() == Some(&"2"))
        .unwrap_or_else(|| panic!("no row for 2 executors:\n{stdout}"));
    let train = r.times.training_time_sec.expect("training time");
    assert_eq!(
        row,
        [
            "2",
            "1/1",
            harness_report::terminal::seconds(train).trim_end_matches(" s"),
            "s",
            "1.00",
            "1.00",
            &format!("{acc:.4}"),
            if r.all_enforced() { "1/1" } else { "0/1" },
        ],
        "{stdout}"
    );
    let report = dir.join("reports/fractal-rf-run/index.html");
    assert!(report.is_file());
    assert!(
        stdout
            .trim_end()
            .ends_with("report: reports/fractal-rf-run/index.html"),
        "the report's path closes the output:\n{stdout}"
    );
    // Redirected output carries no colour, on stdout or stderr.
    assert!(!has_sgr(&stdout) && !has_sgr(&stderr), "{stdout}\n{stderr}");
}

/// On a terminal the summary is coloured; `NO_COLOR` turns that off. The terminal is a real
/// pseudo-terminal from util-linux's `script`.
#[test]
fn colours_appear_only_on_a_terminal_without_no_color() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = generate_fractal(dir, "data", "2", "2000");
    let run = |study: &str, no_color: Option<&str>| -> String {
        let cmd = format!(
            "{} run fractal-rf --data {} --executors 1 --cores 1 --memory 1g --study {study}",
            env!("CARGO_BIN_EXE_harness"),
            data.display()
        );
        let mut script = Command::new("script");
        script
            .args(["-q", "-e", "-c", &cmd, "/dev/null"])
            .current_dir(dir)
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            script.env("NO_COLOR", v);
        }
        let out = script.output().expect("script (util-linux) runs");
        assert!(out.status.success(), "{}", text(&out.stdout));
        text(&out.stdout)
    };
    let coloured = run("tty", None);
    assert!(coloured.contains("Summary of `tty`"), "{coloured}");
    assert!(has_sgr(&coloured), "a terminal gets colours:\n{coloured}");
    let plain = run("tty-no-color", Some("1"));
    assert!(plain.contains("Summary of `tty-no-color`"), "{plain}");
    assert!(!has_sgr(&plain), "NO_COLOR=1 gets none:\n{plain}");
}

#[test]
fn exit_status_tells_usage_errors_and_bad_input_apart_and_help_lists_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let usage = harness_bare_env(dir, &["run", "fractal-rf", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage.stderr));
    let bad = harness_bare_env(
        dir,
        &[
            "run",
            "fractal-rf",
            "--data",
            "no-such-dir",
            "--executors",
            "1",
        ],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("no-such-dir"));
    assert!(
        !dir.join("results/fractal-rf-run").exists(),
        "nothing recorded"
    );
    // A study that completes with failed runs exits 3: mpi_runs.rs
    // (a_workload_failure_is_not_retried, memory_limit_kill_is_recorded_as_oom,
    // timeout_kills_the_run_and_records_it) checks it on real failures.
    let help = harness_bare_env(dir, &["--help"]);
    let help = text(&help.stdout);
    assert!(
        help.contains("Exit status: 0 done") && help.contains("3 the study completed"),
        "{help}"
    );
}
