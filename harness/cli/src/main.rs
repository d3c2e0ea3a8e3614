//! `harness`: scaling studies of distributed ML training over Open MPI.
//!
//! The binary is both the driver (plans runs, launches `mpirun`, records results, renders
//! reports) and the executor (`harness exec <job.json>`, started by `mpirun` on every rank).
//! This file is the pipeline: parse the command line ([`cli`]), make one call per command.

mod cache;
mod cli;
mod compose;
mod datasets;
mod exit;
mod interrupt;
mod launcher;
mod mlflow;
mod predict;
mod process;
mod protocol;
mod provenance;
mod registry;
mod runner;
mod serve;
mod server;
mod sinks;
mod store;
mod study;
mod transfer;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use clap::FromArgMatches;

use cli::{Cli, Command, DataCommand};

fn main() -> ExitCode {
    // Colours only on a terminal, and never with NO_COLOR set (https://no-color.org).
    let ansi = harness_report::terminal::Style::detect(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    ) == harness_report::terminal::Style::Color;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HARNESS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    let parsed = cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        // --help and --version print to stdout and are done; anything else is a usage error.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    match dispatch(cli.command, &matches) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn dispatch(command: Command, matches: &clap::ArgMatches) -> Result<ExitCode> {
    match command {
        Command::Profile(a) => study::profile_command(a),
        Command::Run(a) => study::run_command(a),
        Command::Study(a) => study::study_command(a),
        Command::Report(a) => report(&a),
        Command::Exec { job } => {
            harness_runtime::execute(&job, registry::lookup)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Generate) => {
            let generate = matches
                .subcommand_matches("data")
                .and_then(|d| d.subcommand_matches("generate"))
                .expect("parsed as data generate");
            datasets::generate_command(generate).map(|()| ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Upload { dir, url }) => {
            datasets::upload(&dir, &url).map(|()| ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Export(a)) => {
            datasets::export(&a.workload, &a.data, &a.out, a.files).map(|()| ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Prepare(a)) => {
            let w = registry::for_set(&a.set)?;
            datasets::export(w.name(), &a.input, &a.out, a.files).map(|()| ExitCode::SUCCESS)
        }
        Command::Schema => {
            print!("{}", harness_core::record::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Predict(a) => predict::command(&a).map(|()| ExitCode::SUCCESS),
        Command::PredictExec { job } => predict::execute(&job).map(|()| ExitCode::SUCCESS),
        Command::Server(a) => server::command(a),
        Command::ComposeUp {
            executors,
            cores,
            memory,
            node_limits,
        } => {
            let outputs = compose::up(
                &cache::cache_dir().join("compose"),
                &study::s3s_binary(),
                executors,
                cores,
                &memory,
                node_limits,
            )?;
            println!("{}", serde_json::to_string_pretty(&outputs)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::ComposeDown => {
            compose::down(&cache::cache_dir().join("compose"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(a) => {
            let dir = predict::resolve_model(&a.model, a.mlflow.as_deref())?;
            let model = predict::load_model(&dir)?;
            let workers = a
                .workers
                .unwrap_or_else(|| provenance::logical_cpus() as usize);
            serve::serve(model, &a.host, a.port, workers)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CgroupApply { pid, request } => {
            let req: harness_runtime::limits::LimitRequest = serde_json::from_str(&request)?;
            let (version, swap) =
                harness_runtime::limits::apply(&req, pid).map_err(anyhow::Error::msg)?;
            println!("{}", serde_json::to_string(&(version, swap))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::NodeCgroup { cgroup } => {
            if !harness_runtime::limits::is_root() {
                // The run's cgroups were made by root: ask sudo, pass its answer on.
                let status = harness_runtime::limits::sudo_self()
                    .map_err(anyhow::Error::msg)?
                    .args(["node-cgroup", &cgroup])
                    .status()?;
                return Ok(if status.success() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                });
            }
            harness_runtime::limits::kill_remaining(&cgroup, std::time::Duration::from_secs(5));
            let ranks = harness_runtime::limits::inspect_and_remove(&cgroup);
            println!("{}", serde_json::to_string(&ranks)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::NodeMemory => {
            let memory = harness_runtime::limits::own_memory();
            println!("{}", serde_json::to_string(&memory)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::ClockProbe => {
            harness_runtime::clock::serve_probes(std::io::stdin().lock(), std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `harness report DIR [DIR …] [--out DIR] [--baseline DIR]`: renders a study's page (or
/// several studies overlaid on one) and the index.
fn report(a: &cli::ReportArgs) -> Result<ExitCode> {
    let mut studies = Vec::new();
    for dir in &a.dirs {
        let records = store::load_dir(dir)?;
        anyhow::ensure!(
            !records.is_empty(),
            "{}: the study has no records yet (runs.jsonl is missing or empty)",
            dir.display()
        );
        studies.push(records);
    }
    let name = studies
        .iter()
        .map(|r| r[0].study.clone())
        .collect::<Vec<_>>()
        .join("+");
    let records = if studies.len() == 1 {
        studies.pop().expect("one study")
    } else {
        harness_report::overlay(studies)?
    };
    let baseline = a.baseline.as_deref().map(store::load_dir).transpose()?;
    let out = a.out.clone().unwrap_or_else(|| a.reports.join(&name));
    let page = harness_report::render_study(&records, &out, baseline.as_deref())?;
    // The index lists the studies under --reports; a page written elsewhere stays out of it.
    if out.parent() == Some(a.reports.as_path()) {
        harness_report::render_index(&a.reports)?;
    }
    println!("{}", page.display());
    Ok(ExitCode::SUCCESS)
}
