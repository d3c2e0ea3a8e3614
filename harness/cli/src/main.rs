//! `harness`: scaling studies of distributed ML training over Open MPI.
//!
//! The binary is both the driver (plans runs, launches `mpirun`, records results, renders
//! reports) and the executor (`harness exec <job.json>`, started by `mpirun` on every rank).

mod compose;
mod launcher;
mod mlflow;
mod predict;
mod profile;
mod provenance;
mod registry;
mod runner;
mod serve;
mod store;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use harness_core::StudySpec;
use indicatif::{ProgressBar, ProgressStyle};

use runner::{run_study, StudyOptions, StudySummary};

/// Scaling studies of distributed ML training: run a workload over a grid of cluster shapes
/// (executors × cores × memory × data fraction) on Open MPI, record every run as JSON with the
/// limits each executor really had, and render HTML reports with scaling charts.
#[derive(Parser)]
#[command(name = "harness", version, about, long_about = None, after_help = "\
Examples:
  harness profile local                                  default FRACTAL study on this machine
  harness profile local --executors 1,2 --cores 1 --fractions 0.05,0.1 --reps 2
  harness data generate fractal --out data/fractal --train-files 300 --rows-per-file 70000
  harness run fractal-rf --data data/fractal --executors 2 --cores 1 --memory 2g --fraction 0.05
  harness study my-study.toml --data data/fractal
  harness report results/fractal-rf-local                -> reports/fractal-rf-local/index.html
  harness profile compose --executors 1,2 --cores 1 --memory 1g --fractions 0.05 --reps 1
  harness run fractal-rf --data s3://data/fractal        (AWS_ENDPOINT_URL etc. from the environment)
  harness run wine --executors 2 --mlflow http://127.0.0.1:5000
  harness predict --model models:/wine_quality@champion --input wine/test --output scored
  harness serve --model results/wine-run/artifacts/e1-c1-m7g-f1-r0/model --port 5001")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a predefined study (`local`: this machine; `compose`: a docker-compose cluster).
    ///
    /// The default local grid is DESIGN.md's FRACTAL study — executors {1, 2, 4, 7} × fractions
    /// {0.01, 0.05, 0.07, 0.1}, 2 cores and 7g per executor, 3 repetitions — adapted so that no
    /// point is oversubscribed: 1 core per executor below 4 logical CPUs, only executor counts
    /// with executors × cores ≤ logical CPUs, and memory lowered to 80 % of RAM / largest
    /// executor count when 7g would not fit (on 2 CPUs / 24 GiB: executors {1, 2} × 1 core ×
    /// 7g). The filters replace an axis. Without --data, the default FRACTAL data set (300 train
    /// files × 70,000 points, seed 62, ~1.1 GB) is generated once into ~/.cache/harness/data
    /// ($HARNESS_CACHE overrides).
    Profile(ProfileArgs),
    /// Run one point of a workload (optionally repeated) as a small study.
    Run(RunArgs),
    /// Run the study described by a TOML file (see `harness study --help`).
    Study(StudyArgs),
    /// Render the HTML report of a study from its records (`results/<study>`).
    Report(ReportArgs),
    /// Generate or manage input data.
    #[command(subcommand)]
    Data(DataCommand),
    /// Print the JSON Schema of run records (schema v1).
    Schema,
    /// Executor entry point, started by mpirun on every rank: run one job file.
    Exec {
        /// Job file written by the driver.
        job: PathBuf,
    },
    /// Score parquet files with a wine model across executors (adds a `prediction` column).
    ///
    /// Example: harness predict --model models:/wine_quality@champion --input wine-test/
    /// --output scored/ --executors 2
    Predict(PredictArgs),
    /// Print this node's memory-cgroup accounting (OOM kills, peak, limit) as JSON; the driver
    /// asks executor nodes for it over ssh to tell an OOM kill from other deaths.
    #[command(hide = true)]
    NodeMemory,
    /// Executor entry point of `predict`, started by mpirun on every rank.
    #[command(hide = true)]
    PredictExec {
        /// Job file written by `harness predict`.
        job: PathBuf,
    },
    /// Serve a wine model over HTTP with MLflow's scoring protocol.
    ///
    /// POST /invocations with {"dataframe_split": {"columns": [...], "data": [[...]]}} or
    /// {"dataframe_records": [{...}]} → {"predictions": [...]}; GET /ping, /health, /version.
    /// Malformed requests get 400 with a message naming the field.
    Serve(ServeArgs),
}

#[derive(Args)]
struct PredictArgs {
    /// Model: a model directory (e.g. results/<study>/artifacts/<run>/model) or an MLflow
    /// registry URI, models:/wine_quality@champion or models:/wine_quality/3.
    #[arg(long)]
    model: String,
    /// Directory of *.parquet files holding the 12 feature columns (fixed_acidity … is_red);
    /// e.g. made by `harness data export wine`.
    #[arg(long)]
    input: String,
    /// Output directory: one scored file per input file, plus _predict_summary.json.
    #[arg(long)]
    output: PathBuf,
    /// Executors (MPI ranks) sharing the files by bytes.
    #[arg(long, default_value_t = 1)]
    executors: u32,
    /// MLflow tracking URI for models:/ URIs (default: $MLFLOW_TRACKING_URI).
    #[arg(long)]
    mlflow: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Model: a model directory or models:/<name>@<alias> (see `harness predict --help`).
    #[arg(long)]
    model: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 5001)]
    port: u16,
    /// Worker threads (default: logical CPUs).
    #[arg(long)]
    workers: Option<usize>,
    /// MLflow tracking URI for models:/ URIs (default: $MLFLOW_TRACKING_URI).
    #[arg(long)]
    mlflow: Option<String>,
}

/// Where results and reports go, and how runs are made.
#[derive(Args, Clone)]
struct Common {
    /// Data location (directory with train/ val/ test/ parquet). Default for `profile`: the
    /// embedded FRACTAL data set, generated once into the cache.
    #[arg(long)]
    data: Option<String>,
    /// Results root; records go to <RESULTS>/<study>/runs.jsonl. With s3://bucket/prefix the
    /// records are staged in the cache and mirrored there (runs.jsonl, logs, artifacts) after
    /// every run.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Reports root; the report goes to <REPORTS>/<study>/index.html.
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// Study name (directory under results/ and reports/).
    #[arg(long)]
    study: Option<String>,
    /// Run only the (point, repetition) pairs that have no record yet.
    #[arg(long)]
    resume: bool,
    /// Per-run timeout in seconds; a run over it is killed and recorded as `timeout`.
    #[arg(long)]
    timeout: Option<u64>,
    /// Do not apply cgroup limits (records then say `enforced: false`).
    #[arg(long)]
    no_limits: bool,
    /// Also run the (point, repetition) pairs whose latest attempt is not ok, as their next
    /// attempt (used by `profile compose` to retry on a clean cluster).
    #[arg(long, hide = true)]
    retry_failed: bool,
    /// Open MPI hostfile: executors run on these hosts (reached over ssh; one slot per
    /// executor node), which set the limits themselves — compose containers with `cpus` and
    /// `mem_limit`. Executors only measure them. Job, outcome and artifact files must be on a
    /// file system the hosts share (the compose cluster mounts /work everywhere).
    #[arg(long)]
    hostfile: Option<PathBuf>,
    /// Cap on concurrent trials of a task-parallel search (wine), over all executors; the
    /// default is every free slot (cores / threads_per_task per executor). Same as
    /// --param parallelism=N.
    #[arg(long)]
    parallelism: Option<u32>,
    /// MLflow tracking URI (default: $MLFLOW_TRACKING_URI). Finished wine runs are logged
    /// there: baseline run, search run with nested trials, model registered as wine_quality.
    /// An unreachable server only warns; records stay on disk.
    #[arg(long)]
    mlflow: Option<String>,
    /// Further attempts of a run that did not finish ok (an executor died, was killed by its
    /// memory limit or timed out); every attempt is recorded with its `attempt` number.
    #[arg(long, default_value_t = 1)]
    retries: u32,
}

#[derive(Args)]
struct ProfileArgs {
    /// Which predefined study: `local` (this machine) or `compose` (a docker-compose cluster of
    /// resource-limited containers built here, data on its S3 store; see docker/compose.yaml).
    #[arg(value_parser = ["local", "compose"])]
    target: String,
    /// compose: leave the cluster up at the end.
    #[arg(long)]
    keep: bool,
    /// Workload of the study.
    #[arg(long, default_value = "fractal-rf")]
    workload: String,
    /// Only these executor counts (comma-separated), e.g. 1,2.
    #[arg(long, value_delimiter = ',')]
    executors: Option<Vec<u32>>,
    /// Only these cores per executor, e.g. 1.
    #[arg(long, value_delimiter = ',')]
    cores: Option<Vec<u32>>,
    /// Only these memory limits per executor, e.g. 7g,2g.
    #[arg(long, value_delimiter = ',')]
    memory: Option<Vec<String>>,
    /// Only these fractions of the input files, e.g. 0.05,0.1.
    #[arg(long, value_delimiter = ',')]
    fractions: Option<Vec<f64>>,
    /// Repetitions per point.
    #[arg(long)]
    reps: Option<u32>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct RunArgs {
    /// Workload name (fractal-rf).
    workload: String,
    /// Executors (MPI ranks).
    #[arg(long, default_value_t = 1)]
    executors: u32,
    /// Cores per executor.
    #[arg(long, default_value_t = 1)]
    cores: u32,
    /// Memory limit per executor (7g, 512m, …).
    #[arg(long, default_value = "7g")]
    memory: String,
    /// Fraction of the input files, in (0, 1].
    #[arg(long, default_value_t = 1.0)]
    fraction: f64,
    /// Repetitions.
    #[arg(long, default_value_t = 1)]
    reps: u32,
    /// Workload parameter KEY=VALUE (JSON value), repeatable: --param trees=10.
    #[arg(long = "param", value_parser = parse_param)]
    params: Vec<(String, serde_json::Value)>,
    #[command(flatten)]
    common: Common,
}

/// Run a study file. Format:
///
///   name = "fractal-local"   workload = "fractal-rf"
///   executors = [1, 2]   cores = [1]   memory = ["7g"]   fractions = [0.05, 0.1]
///   repetitions = 2   timeout_sec = 1800   data = "/data/fractal"   [params] trees = 40
#[derive(Args)]
struct StudyArgs {
    /// The study's TOML file.
    file: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ReportArgs {
    /// Study results directory, e.g. results/fractal-rf-local.
    dir: PathBuf,
    /// Reports root.
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// Compare with this study's records (e.g. results/before): per common point, the change of
    /// median training time with its 95 % CI and a verdict (faster / slower / within noise).
    #[arg(long)]
    baseline: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Generate a data set deterministically from a seed.
    Generate(GenerateArgs),
    /// Upload a local data directory (e.g. train/ val/ test/) to s3://bucket/prefix.
    ///
    /// Uses the standard AWS configuration: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a
    /// profile, AWS_REGION, and AWS_ENDPOINT_URL for S3-compatible stores (path-style then).
    Upload {
        /// Local directory.
        dir: PathBuf,
        /// Destination, s3://bucket/prefix.
        url: String,
    },
    /// Write a workload's built-in data as parquet (wine: the seeded 75/25 split's test/ and
    /// train/ rows with the 12 features and `label`), e.g. as input of `harness predict`.
    Export(ExportArgs),
}

#[derive(Args)]
struct ExportArgs {
    /// Data set: wine.
    #[arg(value_parser = ["wine"])]
    kind: String,
    /// Output directory (train/ and test/ are created in it).
    #[arg(long)]
    out: PathBuf,
    /// Files per split.
    #[arg(long, default_value_t = 4)]
    files: usize,
    /// Source data: `embedded` or a directory with the two UCI CSV files.
    #[arg(long, default_value = "embedded")]
    data: String,
}

#[derive(Args)]
struct GenerateArgs {
    /// Data set kind: fractal.
    #[arg(value_parser = ["fractal"])]
    kind: String,
    /// Output directory (train/ val/ test/ are created in it), or s3://bucket/prefix (generated
    /// into a temporary directory, then uploaded; AWS_ENDPOINT_URL etc. as for `data upload`).
    #[arg(long)]
    out: PathBuf,
    /// Files in train/.
    #[arg(long, default_value_t = profile::DEFAULT_TRAIN_FILES)]
    train_files: usize,
    /// Files in val/ (default: train-files / 8, FRACTAL's 80/10/10 split).
    #[arg(long)]
    val_files: Option<usize>,
    /// Files in test/ (default: train-files / 8).
    #[arg(long)]
    test_files: Option<usize>,
    /// Points per file.
    #[arg(long, default_value_t = profile::DEFAULT_ROWS_PER_FILE)]
    rows_per_file: usize,
    /// Seed; each file depends only on (seed, split, index).
    #[arg(long, default_value_t = profile::DEFAULT_SEED)]
    seed: u64,
}

fn parse_param(s: &str) -> Result<(String, serde_json::Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE (e.g. trees=10)"))?;
    let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
    Ok((k.to_string(), value))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HARNESS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Exec { job } => {
            harness_runtime::execute(&job, registry::lookup)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::NodeMemory => {
            println!(
                "{}",
                serde_json::to_string(&harness_runtime::limits::own_memory())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::PredictExec { job } => {
            let text = std::fs::read_to_string(&job)
                .with_context(|| format!("cannot read {}", job.display()))?;
            let job: workload_wine::batch::PredictJob = serde_json::from_str(&text)?;
            let world = harness_runtime::World::init()?;
            workload_wine::batch::run(&world, &job).map_err(anyhow::Error::msg)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Predict(a) => {
            let (s, auc) = predict::predict(
                &a.model,
                &a.input,
                &a.output,
                a.executors,
                a.mlflow.as_deref(),
            )?;
            for r in &s.per_rank {
                eprintln!(
                    "  executor {}: {} files, {} rows, {:.3}s",
                    r.rank,
                    r.files.len(),
                    r.rows,
                    r.seconds
                );
            }
            println!(
                "scored {} rows on {} executors in {:.3}s: {:.0} rows/s{}; output in {}",
                s.rows,
                s.executors,
                s.seconds,
                s.rows_per_sec,
                auc.map(|a| format!("; ROC AUC against `label` {a:.6}"))
                    .unwrap_or_default(),
                a.output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(a) => {
            let dir = predict::resolve_model(&a.model, a.mlflow.as_deref())?;
            let model = workload_wine::model::Model::load(&dir)?;
            let workers = a
                .workers
                .unwrap_or_else(|| provenance::logical_cpus() as usize);
            serve::serve(model, &a.host, a.port, workers)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            print!("{}", harness_core::record::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Generate(a)) => {
            generate(&a)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Upload { dir, url }) => {
            upload(&dir, &url)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Export(a)) => {
            use workload_wine::{batch, data};
            let all = data::load(&a.data)?;
            let split = data::split(&all, data::SPLIT_SEED, 1.0);
            for (name, d) in [("train", &split.train), ("test", &split.test)] {
                batch::export(d, &a.out.join(name), a.files).map_err(anyhow::Error::msg)?;
                eprintln!(
                    "{name}: {} rows in {} files",
                    d.rows(),
                    a.files.min(d.rows())
                );
            }
            println!("{}", a.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(a) => {
            let records = store::load_dir(&a.dir)?;
            let study = records
                .first()
                .map(|r| r.study.clone())
                .context("the study has no records yet")?;
            let baseline = a.baseline.as_deref().map(store::load_dir).transpose()?;
            let page = harness_report::render_study(
                &records,
                &a.reports.join(&study),
                baseline.as_deref(),
            )?;
            harness_report::render_index(&a.reports)?;
            println!("{}", page.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Profile(a) => profile_local(a),
        Command::Run(a) => {
            if registry::lookup(&a.workload).is_none() {
                return Err(registry::unknown(&a.workload));
            }
            let data = a
                .common
                .data
                .clone()
                .or_else(|| registry::builtin_data(&a.workload).map(String::from))
                .context("--data DIR is required for `harness run fractal-rf` (make one with `harness data generate fractal --out DIR`)")?;
            let spec = StudySpec {
                name: a
                    .common
                    .study
                    .clone()
                    .unwrap_or_else(|| format!("{}-run", a.workload)),
                workload: a.workload.clone(),
                executors: vec![a.executors],
                cores: vec![a.cores],
                memory: vec![a.memory.clone()],
                fractions: vec![a.fraction],
                repetitions: a.reps,
                timeout_sec: a.common.timeout.unwrap_or(3600),
                data: None,
                params: a.params.iter().cloned().collect(),
            };
            study(&spec, &data, &a.common)
        }
        Command::Study(a) => {
            let text = std::fs::read_to_string(&a.file)
                .with_context(|| format!("cannot read study file {}", a.file.display()))?;
            let mut spec = StudySpec::from_toml(&text)
                .with_context(|| format!("in study file {}", a.file.display()))?;
            if let Some(n) = &a.common.study {
                spec.name = n.clone();
            }
            if let Some(t) = a.common.timeout {
                spec.timeout_sec = t;
            }
            let data = a
                .common
                .data
                .clone()
                .or_else(|| spec.data.clone())
                .context(
                    "no data location: set `data = \"DIR\"` in the study file or pass --data DIR",
                )?;
            study(&spec, &data, &a.common)
        }
    }
}

/// Where records go: a local directory, or for `s3://bucket/prefix` a local staging copy under
/// the cache (restored from the mirror's `runs.jsonl` when the local copy is missing, so
/// `--resume` works from any machine) plus the mirror.
fn results_location(
    results: &std::path::Path,
    study: &str,
) -> Result<(PathBuf, Option<harness_runtime::s3::S3Location>)> {
    use harness_runtime::s3::{S3Location, S3};
    let text = results.display().to_string();
    if !text.starts_with("s3://") {
        return Ok((results.to_path_buf(), None));
    }
    let loc = S3Location::parse(&text)
        .with_context(|| format!("--results {text}: expected s3://bucket/prefix"))?;
    let local = profile::cache_dir()
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

fn study(spec: &StudySpec, data: &str, common: &Common) -> Result<ExitCode> {
    let mut spec = spec.clone();
    if let Some(p) = common.parallelism {
        spec.params
            .insert("parallelism".into(), serde_json::Value::from(p));
    }
    let spec = &spec;
    runner::install_interrupt_handler();
    let (results, mirror) = results_location(&common.results, &spec.name)?;
    let opts = StudyOptions {
        results,
        mirror,
        hostfile: common.hostfile.clone(),
        retry_failed: common.retry_failed,
        reports: common.reports.clone(),
        resume: common.resume,
        no_limits: common.no_limits,
        retries: common.retries,
        mlflow: mlflow::tracking_uri(common.mlflow.as_deref()),
    };
    let StudySummary {
        ran,
        skipped,
        failed,
        report,
    } = run_study(spec, data, &opts)?;
    eprintln!(
        "done: {ran} runs made, {skipped} already recorded, {failed} not ok; records in {}",
        opts.results.join(&spec.name).join("runs.jsonl").display()
    );
    if let Some(p) = report {
        eprintln!("report: {}", p.display());
    }
    Ok(if failed > 0 {
        eprintln!("{failed} run(s) did not finish ok: see their `error` in the records");
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn profile_local(a: ProfileArgs) -> Result<ExitCode> {
    if registry::lookup(&a.workload).is_none() {
        return Err(registry::unknown(&a.workload));
    }
    let (cpus, memory) = (provenance::logical_cpus(), provenance::memory_bytes());
    let mut spec = match a.workload.as_str() {
        workload_wine::NAME => profile::default_local_wine(cpus, memory),
        _ => profile::default_local(cpus, memory),
    };
    if let Some(v) = a.executors {
        spec.executors = v;
    }
    if let Some(v) = a.cores {
        spec.cores = v;
    }
    if let Some(v) = a.memory {
        spec.memory = v;
    }
    if let Some(v) = a.fractions {
        spec.fractions = v;
    }
    if let Some(v) = a.reps {
        spec.repetitions = v;
    }
    if let Some(n) = &a.common.study {
        spec.name = n.clone();
    }
    if let Some(t) = a.common.timeout {
        spec.timeout_sec = t;
    }
    spec.validate()?;
    if a.target == "compose" {
        return profile_compose(&spec, &a.workload, &a.common, a.keep);
    }
    let data = match (&a.common.data, registry::builtin_data(&a.workload)) {
        (Some(d), _) => d.clone(),
        (None, Some(builtin)) => builtin.to_string(),
        (None, None) => ensure_default_data()?,
    };
    study(&spec, &data, &a.common)
}

fn profile_compose(
    spec: &StudySpec,
    workload: &str,
    common: &Common,
    keep: bool,
) -> Result<ExitCode> {
    let mut spec = spec.clone();
    if spec.name.ends_with("-local") && common.study.is_none() {
        spec.name = spec.name.replace("-local", "-compose");
    }
    let data = common
        .data
        .clone()
        .or_else(|| registry::builtin_data(workload).map(String::from))
        .unwrap_or_default();
    let s3s = std::env::var_os("HARNESS_S3S")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/harness-tools/s3s/bin/s3s-fs")
        });
    let opts = compose::ComposeOptions {
        results: common.results.clone(),
        work: profile::cache_dir().join("compose"),
        keep,
        resume: common.resume,
        retries: common.retries,
        s3s,
    };
    let code = compose::run_study(&spec, &data, &opts)?;
    let records = store::load_dir(&common.results.join(&spec.name))?;
    let page = harness_report::render_study(&records, &common.reports.join(&spec.name), None)?;
    harness_report::render_index(&common.reports)?;
    eprintln!("report: {}", page.display());
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Generates the embedded default data set into the cache once; later calls reuse it.
fn ensure_default_data() -> Result<String> {
    let dir = profile::default_data_dir();
    let marker = dir.join(".complete");
    if !marker.exists() {
        eprintln!(
            "generating the default FRACTAL data set ({} train files × {} points, seed {}) into {} (once)",
            profile::DEFAULT_TRAIN_FILES,
            profile::DEFAULT_ROWS_PER_FILE,
            profile::DEFAULT_SEED,
            dir.display()
        );
        generate(&GenerateArgs {
            kind: "fractal".into(),
            out: dir.clone(),
            train_files: profile::DEFAULT_TRAIN_FILES,
            val_files: None,
            test_files: None,
            rows_per_file: profile::DEFAULT_ROWS_PER_FILE,
            seed: profile::DEFAULT_SEED,
        })?;
        std::fs::write(&marker, "complete\n")
            .with_context(|| format!("cannot write {}", marker.display()))?;
    }
    Ok(dir.display().to_string())
}

/// Uploads every file below `dir` to `url` (`s3://bucket/prefix`), keys = relative paths.
fn upload(dir: &std::path::Path, url: &str) -> Result<()> {
    let loc = harness_runtime::s3::S3Location::parse(url)
        .with_context(|| format!("{url} is not an S3 location: expected s3://bucket/prefix"))?;
    let files = transfer::files_below(dir)?;
    if files.is_empty() {
        anyhow::bail!("{} holds no files to upload", dir.display());
    }
    let pb = ProgressBar::new(files.len() as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "[{elapsed_precise}] [{bar:30}] {pos}/{len} objects, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let bytes = transfer::upload_files(&loc, "", dir, &files, || pb.inc(1))?;
    pb.finish_and_clear();
    eprintln!(
        "uploaded {} objects, {:.1} MB to {}",
        files.len(),
        bytes as f64 / 1e6,
        url.trim_end_matches('/')
    );
    Ok(())
}

fn generate(a: &GenerateArgs) -> Result<()> {
    let out = a.out.display().to_string();
    if out.starts_with("s3://") {
        let tmp = std::env::temp_dir().join(format!("harness-generate-{}", std::process::id()));
        let local = GenerateArgs {
            out: tmp.clone(),
            kind: a.kind.clone(),
            ..*a
        };
        let result = crate::generate(&local).and_then(|()| upload(&tmp, &out));
        let _ = std::fs::remove_dir_all(&tmp);
        return result;
    }
    use workload_fractal_rf::generate::{generate, GenerateOptions};
    let mut opts = GenerateOptions::new(a.out.clone(), a.train_files, a.rows_per_file, a.seed);
    if let Some(v) = a.val_files {
        opts.val_files = v;
    }
    if let Some(t) = a.test_files {
        opts.test_files = t;
    }
    let total = opts.train_files + opts.val_files + opts.test_files;
    let pb = ProgressBar::new(total as u64);
    pb.set_style(
        ProgressStyle::with_template("[{elapsed_precise}] [{bar:30}] {pos}/{len} files, ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let summary = generate(&opts, &|_, _| pb.inc(1))?;
    pb.finish_and_clear();
    eprintln!(
        "wrote {} files, {} points, {:.1} MB into {}",
        summary.files,
        summary.rows,
        summary.bytes as f64 / 1e6,
        a.out.display()
    );
    Ok(())
}
