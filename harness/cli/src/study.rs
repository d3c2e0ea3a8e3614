//! `harness run`, `harness study` and `harness profile`: build the study, check everything
//! that can be wrong before the first run, run it, render its report.
//!
//! Order of checks (each stops the study with a clear message and records nothing): the grid
//! and the workload's parameters, `mpirun`, the data location (a workload's default data is
//! generated once here), the results location, existing records without `--resume`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use harness_core::comparison::interleave;
use harness_core::{ComparisonSpec, StudySpec};
use harness_runtime::s3::{S3Location, S3};
use harness_runtime::workload::Machine;
use harness_runtime::Workload;

use crate::cli::{Common, ProfileArgs, RunArgs, StudyArgs};
use crate::launcher::{self, check_mpirun, LaunchSettings, Launcher};
use crate::runner::{run_all, run_lanes, todo, Lane};
use crate::sinks::{ProgressLines, S3Mirror, Sink, Tracking};
use crate::store::Store;
use crate::{cache, compose, datasets, exit, interrupt, mlflow, provenance, registry};

/// `harness run <workload>`: one point, repeated, as a small study named `<workload>-run`.
///
/// # Errors
/// Bad input before any run (see the module doc); I/O errors of the results store.
pub fn run_command(a: RunArgs) -> Result<ExitCode> {
    let workload = registry::get(&a.workload)?;
    let mut spec = StudySpec {
        name: format!("{}-run", workload.name()),
        workload: workload.name().into(),
        executors: a.executors.clone(),
        cores: a.cores.clone(),
        memory: vec![a.memory.clone()],
        fractions: vec![a.fraction],
        repetitions: a.reps,
        timeout_sec: 3600,
        data: None,
        params: a.params.iter().cloned().collect(),
    };
    if !a.command.is_empty() {
        anyhow::ensure!(
            !spec.params.contains_key("command"),
            "the command is given both after `--` and as --param command=…: keep one"
        );
        spec.params.insert(
            "command".into(),
            serde_json::json!({ "argv": a.command.clone() }),
        );
    }
    a.common.apply(&mut spec);
    local(spec, &a.common)
}

/// `harness study FILE`.
///
/// # Errors
/// An unreadable or invalid study file, then as [`run_command`].
pub fn study_command(a: StudyArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read study file {}", a.file.display()))?;
    if harness_core::comparison::is_comparison(&text) {
        let c = ComparisonSpec::from_toml(&text)
            .with_context(|| format!("in comparison file {}", a.file.display()))?;
        return compare(c, &a.common);
    }
    let mut spec = StudySpec::from_toml(&text)
        .with_context(|| format!("in study file {}", a.file.display()))?;
    a.common.apply(&mut spec);
    local(spec, &a.common)
}

/// `harness profile local|compose`: the workload's default study for this machine, with the
/// axes the user filtered replaced.
///
/// # Errors
/// As [`run_command`]; for compose, Docker errors.
pub fn profile_command(a: ProfileArgs) -> Result<ExitCode> {
    let workload = match &a.axes.workload {
        Some(name) => registry::get(name)?,
        None => registry::WORKLOADS[0],
    };
    let mut spec = workload.default_study(&Machine {
        logical_cpus: provenance::logical_cpus(),
        memory_bytes: provenance::memory_bytes(),
    });
    a.axes.apply(&mut spec);
    a.common.apply(&mut spec);
    if a.target == "compose" {
        return on_compose(spec, workload, &a.common, a.keep);
    }
    local(spec, &a.common)
}

/// Checks the grid and the workload's parameters — each combination of the list-valued ones
/// (parameter axes) on its own — and returns the workload with the parameters the runs get
/// (e.g. a grid file replaced by its content, defaults filled in).
pub(crate) fn prepare(spec: &mut StudySpec) -> Result<&'static dyn Workload> {
    spec.validate()?;
    let workload = registry::get(&spec.workload)?;
    anyhow::ensure!(
        workload.takes_program() || !spec.params.contains_key("command"),
        "`{}` runs no program of yours: a program after `--` (`harness run command -- PROGRAM \
         ARGS`) or `command = [...]` in a study file is for the `command` workload",
        workload.name()
    );
    let combos = spec
        .param_points()
        .iter()
        .map(|c| {
            workload
                .prepare_params(c)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("parameters of `{}`", workload.name()))
        })
        .collect::<Result<Vec<_>>>()?;
    spec.set_param_points(&combos);
    Ok(workload)
}

/// A study checked and ready to run: its workload, its open store (with what it already
/// holds), how its runs are launched, its planned runs.
struct Ready {
    spec: StudySpec,
    workload: &'static dyn Workload,
    store: Store,
    mirror: Option<S3Location>,
    settings: LaunchSettings,
    plan: Vec<harness_core::RunPlan>,
    existing: Vec<harness_core::RunRecord>,
}

/// The data location `spec`'s runs read, checked by its workload: `--data`, else the study's
/// `data`, else `fallback` (a comparison's first series' data), else the workload's default
/// data (generated once here).
///
/// # Errors
/// No data and no default; data the workload cannot read (naming where it came from).
fn data_location(
    spec: &StudySpec,
    workload: &'static dyn Workload,
    common: &Common,
    fallback: Option<&str>,
) -> Result<String> {
    let own = common.data.clone().or_else(|| spec.data.clone());
    let data = match own.clone().or_else(|| fallback.map(str::to_string)) {
        Some(d) => d,
        None => datasets::default_location(workload)?,
    };
    registry::check_data(workload, &data).with_context(|| match (&own, fallback) {
        (None, Some(f)) => format!(
            "`{}` has no data of its own and took the first series' ({f}): give `data` in the \
             comparison file or --data",
            spec.name
        ),
        _ => format!("study `{}`", spec.name),
    })
}

impl Ready {
    /// Opens `spec`'s store after the checks of the module doc (`spec` prepared by
    /// [`prepare`], `data` from [`data_location`]).
    ///
    /// # Errors
    /// As [`run_command`].
    fn open(
        spec: StudySpec,
        workload: &'static dyn Workload,
        common: &Common,
        data: String,
    ) -> Result<Ready> {
        let (results, mirror) = results_location(&common.results, &spec.name)?;
        let store = Store::open(&results, &spec.name)?;
        let existing = store.load()?;
        if !existing.is_empty() && !common.resume {
            bail!(
                "study `{}` already has {} records in {}: pass --resume to run only the missing runs, \
                 or --study NAME to start a new study (existing records are never overwritten)",
                spec.name,
                existing.len(),
                store.runs_path().display()
            );
        }
        store.save_spec(&spec)?;
        let copy_to_hosts = match &common.hostfile {
            Some(h) => copy_to_hosts(h, store.dir())?,
            None => false,
        };
        let plan = spec.runs()?;
        let settings = LaunchSettings {
            study: spec.name.clone(),
            workload: spec.workload.clone(),
            data,
            timeout: Duration::from_secs(spec.timeout_sec),
            limits: !common.no_limits,
            logical_cpus: provenance::logical_cpus(),
            provenance: provenance::collect(),
            hostfile: common.hostfile.clone(),
            copy_to_hosts,
        };
        Ok(Ready {
            spec,
            workload,
            store,
            mirror,
            settings,
            plan,
            existing,
        })
    }

    /// The runs still to make ([`todo`]).
    fn todo(&self, common: &Common) -> Vec<(&harness_core::RunPlan, u32)> {
        todo(&self.plan, &self.existing, common.retry_failed)
    }

    /// The sinks of this study's records: progress lines (prefixed by `series` in a
    /// comparison), the S3 mirror, MLflow tracking.
    fn sinks(&self, common: &Common, series: Option<&str>) -> Vec<Box<dyn Sink>> {
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(ProgressLines::of(
            self.workload,
            series.map(str::to_string),
        ))];
        if let Some(m) = &self.mirror {
            sinks.push(Box::new(S3Mirror(m.clone())));
        }
        if let Some(uri) = mlflow::tracking_uri(common.mlflow.as_deref()) {
            sinks.push(Box::new(Tracking {
                mlflow: mlflow::Mlflow::new(&uri),
                workload: self.workload,
            }));
        }
        sinks
    }

    fn launcher(&self) -> Launcher<'_> {
        Launcher {
            settings: self.settings.clone(),
            store: &self.store,
        }
    }
}

/// The exit of a study whose runs are over: non-zero when some run's last attempt is not ok.
fn finish(summary: &crate::runner::StudySummary) -> ExitCode {
    if summary.failed > 0 {
        eprintln!(
            "{} run(s) did not finish ok: see their `error` in the records",
            summary.failed
        );
        ExitCode::from(exit::RUNS_NOT_OK)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs `spec` on this machine (or `--hostfile` hosts) and renders its report.
fn local(mut spec: StudySpec, common: &Common) -> Result<ExitCode> {
    let workload = prepare(&mut spec)?;
    let mpi = check_mpirun()?;
    interrupt::install_handler();
    let data = data_location(&spec, workload, common, None)?;
    let ready = Ready::open(spec, workload, common, data)?;
    let todo = ready.todo(common);
    let spec = &ready.spec;
    eprintln!(
        "study `{}`: {} runs ({} points × {} repetitions), {} to do, {} already recorded; {}; results in {}",
        spec.name,
        ready.plan.len(),
        spec.points()?.len(),
        spec.repetitions,
        todo.len(),
        ready.plan.len() - todo.len(),
        mpi,
        ready.store.runs_path().display()
    );
    let launcher = ready.launcher();
    let mut sinks = ready.sinks(common, None);
    let summary = run_all(&todo, &launcher, &ready.store, common.retries, &mut sinks)?;

    let all = ready.store.load()?;
    let report_dir = common.reports.join(&spec.name);
    let (page, analysis) = report(&all, &report_dir, &common.reports)
        .with_context(|| format!("cannot render the report into {}", report_dir.display()))?;
    eprintln!(
        "done: {} runs made, {} already recorded, {} not ok; records in {}",
        summary.ran,
        ready.plan.len() - todo.len(),
        summary.failed,
        ready.store.runs_path().display()
    );
    print_summary(&spec.name, &analysis, &page);
    Ok(finish(&summary))
}

/// `harness study FILE` for a comparison ([`harness_core::comparison`]): every series checked
/// before any run, their runs interleaved point by point, then one page with every series on
/// every chart and the side-by-side table against the first series.
fn compare(mut c: ComparisonSpec, common: &Common) -> Result<ExitCode> {
    if let Some(name) = &common.study {
        c.name = name.clone();
    }
    // The other overrides apply to every series; the name is the comparison's, set above.
    let overrides = Common {
        study: None,
        ..common.clone()
    };
    let mut prepared = Vec::new();
    for (series, mut spec) in c.series.iter().zip(c.studies.clone()) {
        spec.name = format!("{}.{series}", c.name);
        overrides.apply(&mut spec);
        let workload = prepare(&mut spec).with_context(|| format!("series `{series}`"))?;
        prepared.push((spec, workload));
    }
    let mpi = check_mpirun()?;
    interrupt::install_handler();
    // Every series' data is checked before any store is opened.
    let mut data: Vec<String> = Vec::new();
    for (spec, workload) in &prepared {
        let fallback = data.first().cloned();
        data.push(data_location(spec, *workload, common, fallback.as_deref())?);
    }
    let mut lanes: Vec<Ready> = Vec::new();
    for ((spec, workload), data) in prepared.into_iter().zip(data) {
        let name = spec.name.clone();
        lanes.push(
            Ready::open(spec, workload, common, data).with_context(|| format!("study `{name}`"))?,
        );
    }
    let todos: Vec<Vec<_>> = lanes.iter().map(|r| r.todo(common)).collect();
    let todo = interleave(&lanes[0].spec, &todos);
    let planned: usize = lanes.iter().map(|r| r.plan.len()).sum();
    eprintln!(
        "comparison `{}`: {} series ({}) × {} runs, interleaved point by point; {} to do, {} already recorded; {}",
        c.name,
        lanes.len(),
        c.series.join(", "),
        lanes[0].plan.len(),
        todo.len(),
        planned - todo.len(),
        mpi,
    );
    for r in &lanes {
        let program = r
            .spec
            .params
            .get("command")
            .map_or_else(String::new, |c| format!(" {}", c["argv"]));
        eprintln!(
            "  {}: {}{program} on {}; results in {}",
            r.spec.name,
            r.workload.name(),
            r.settings.data,
            r.store.runs_path().display()
        );
    }
    let launchers: Vec<Launcher> = lanes.iter().map(Ready::launcher).collect();
    let mut sinks: Vec<Vec<Box<dyn Sink>>> = lanes
        .iter()
        .zip(&c.series)
        .map(|(r, s)| r.sinks(common, Some(s)))
        .collect();
    let mut run: Vec<Lane> = lanes
        .iter()
        .zip(&launchers)
        .zip(sinks.iter_mut())
        .map(|((r, l), s)| Lane {
            launch: l,
            store: &r.store,
            sinks: s.as_mut_slice(),
        })
        .collect();
    let summary = run_lanes(&todo, &mut run, common.retries)?;

    let mut studies = Vec::new();
    for r in &lanes {
        let records = r.store.load()?;
        if !records.is_empty() {
            studies.push(records);
        }
    }
    anyhow::ensure!(
        !studies.is_empty(),
        "no series has records: nothing to report"
    );
    let records = harness_report::overlay(studies)?;
    let report_dir = common.reports.join(&c.name);
    let (page, analysis) = report(&records, &report_dir, &common.reports)
        .with_context(|| format!("cannot render the report into {}", report_dir.display()))?;
    eprintln!(
        "done: {} runs made, {} already recorded, {} not ok; re-render with `harness report {} --out {}`",
        summary.ran,
        planned - todo.len(),
        summary.failed,
        lanes
            .iter()
            .map(|r| r.store.dir().display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        report_dir.display()
    );
    print_summary(&c.name, &analysis, &page);
    let side = harness_report::versus::versus(&records);
    if !side.is_empty() {
        println!("{}", harness_report::export::versus_markdown(&side));
    }
    Ok(finish(&summary))
}

/// Renders a study's page from its records and the index of `reports`; returns the page and
/// the analysis it shows (for [`print_summary`]).
///
/// # Errors
/// The report cannot be written.
pub fn report(
    records: &[harness_core::RunRecord],
    dir: &std::path::Path,
    reports: &std::path::Path,
) -> Result<(PathBuf, harness_report::analysis::Analysis)> {
    let analysis = harness_report::analysis::analyse(records);
    let page = harness_report::render_analysed(records, &analysis, dir, None)?;
    harness_report::render_index(reports)?;
    Ok((page, analysis))
}

/// What a study found, on stdout once it is over: the summary table of its analysis (per
/// series: executors → median training time, speedup, efficiency, the headline metric,
/// enforced runs; colours only on a terminal without `NO_COLOR`), then the report's path.
pub fn print_summary(
    study: &str,
    analysis: &harness_report::analysis::Analysis,
    page: &std::path::Path,
) {
    use harness_report::terminal::{summary, Style};
    use std::io::IsTerminal;
    let style = Style::detect(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    println!("\n{}", summary(study, analysis, style));
    println!("report: {}", page.display());
}

/// Whether the `--hostfile` hosts need their files copied over ssh: measured on the first host
/// (does it read a probe file written into the results directory here?).
///
/// # Errors
/// The hostfile lists no host, or its first host does not answer over ssh.
fn copy_to_hosts(hostfile: &std::path::Path, results: &std::path::Path) -> Result<bool> {
    let hosts = launcher::hostfile_hosts(hostfile, u32::MAX);
    let first = hosts.first().with_context(|| {
        format!(
            "--hostfile {}: no host in it (one line per node: `ADDRESS slots=1`)",
            hostfile.display()
        )
    })?;
    let shared = launcher::shares_directory(first, results)
        .with_context(|| format!("--hostfile {}", hostfile.display()))?;
    if !shared {
        eprintln!(
            "{first} does not see {}: each run's job file is copied to the hosts over ssh and what the executors write is copied back",
            results.display()
        );
    }
    Ok(!shared)
}

/// Where records go: a local directory, or for `s3://bucket/prefix` a local staging copy under
/// the cache (restored from the mirror's `runs.jsonl` when the local copy is missing, so
/// `--resume` works from any machine) plus the mirror.
fn results_location(
    results: &std::path::Path,
    study: &str,
) -> Result<(PathBuf, Option<S3Location>)> {
    let text = results.display().to_string();
    if !text.starts_with("s3://") {
        return Ok((results.to_path_buf(), None));
    }
    let loc = S3Location::parse(&text)
        .with_context(|| format!("--results {text}: expected s3://bucket/prefix"))?;
    let local = cache::cache_dir()
        .join("s3-results")
        .join(&loc.bucket)
        .join(&loc.prefix);
    let runs = local.join(study).join("runs.jsonl");
    // Checks bucket and credentials before any run; restores the records if we have none.
    S3::shared().list(&loc, study, ".jsonl")?;
    if !runs.exists() {
        if let Ok(bytes) = S3::shared().get(&loc, &format!("{study}/runs.jsonl")) {
            std::fs::create_dir_all(local.join(study))?;
            std::fs::write(&runs, &bytes)?;
            eprintln!(
                "restored {} records from {}",
                bytes.iter().filter(|b| **b == b'\n').count(),
                loc.url(&format!("{study}/runs.jsonl"))
            );
        }
    }
    eprintln!(
        "results are staged in {} and mirrored to {} after every run",
        local.display(),
        text.trim_end_matches('/')
    );
    Ok((local, Some(loc)))
}

/// `harness profile compose`: the study on a docker-compose cluster, then its report here.
fn on_compose(
    mut spec: StudySpec,
    workload: &'static dyn Workload,
    common: &Common,
    keep: bool,
) -> Result<ExitCode> {
    prepare(&mut spec)?;
    if spec.name.ends_with("-local") && common.study.is_none() {
        spec.name = spec.name.replace("-local", "-compose");
    }
    let s3s = s3s_binary();
    let opts = compose::ComposeOptions {
        results: common.results.clone(),
        work: cache::cache_dir().join("compose"),
        keep,
        resume: common.resume,
        retries: common.retries,
        s3s,
    };
    let code = compose::run_study(&spec, workload, common.data.as_deref(), &opts)?;
    let records = crate::store::load_dir(&common.results.join(&spec.name))?;
    let (page, analysis) = report(&records, &common.reports.join(&spec.name), &common.reports)?;
    print_summary(&spec.name, &analysis, &page);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// The s3s-fs binary the compose cluster's S3 image carries: $HARNESS_S3S, else where
/// `.ci/install --tests` puts it.
pub fn s3s_binary() -> PathBuf {
    harness_runtime::tools::tool("HARNESS_S3S", "s3s/bin/s3s-fs")
}
