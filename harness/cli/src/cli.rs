//! The command-line grammar (clap): commands, their options and help text. The data
//! generators' subcommands (`harness data generate <set>`) are added at run time from the
//! workload registry ([`command`]).

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use harness_core::StudySpec;

use crate::registry;

/// Scaling studies of distributed ML training: run a workload over a grid of cluster shapes
/// (executors × cores × memory × data fraction) on Open MPI, record every run as JSON with the
/// limits each executor really had, and render HTML reports with scaling charts.
#[derive(Parser)]
#[command(name = "harness", version, about, long_about = None, after_help = "\
Workloads: fractal-rf (default), wine, gbm-folds, energy-lstm — `harness profile local --workload NAME`;
command — any program, `harness run command -- PROGRAM ARGS` (`harness run --help`).

Examples:
  harness profile local                                  default FRACTAL study on this machine
  harness profile local --executors 1,2 --cores 1 --fractions 0.05,0.1 --reps 2
  harness data generate fractal --out data/fractal --train-files 300 --rows-per-file 70000
  harness run fractal-rf --data data/fractal --executors 2 --cores 1 --memory 2g --fraction 0.05
  harness study my-study.toml --data data/fractal
  harness report results/fractal-rf-local                -> reports/fractal-rf-local/index.html
  harness profile compose --executors 1,2 --cores 1 --memory 1g --fractions 0.05 --reps 1
  harness run fractal-rf --data s3://data/fractal        (AWS_ENDPOINT_URL etc. from the environment)
  harness data generate gbm-folds --out data/ts --rows 100000
  harness run gbm-folds --data data/ts --executors 2 --cores 1 --fraction 0.25
  harness run wine --executors 2 --mlflow http://127.0.0.1:5000
  harness run wine --executors 2 --param engine=xgboost  the TPE search on XGBoost
  harness run command --executors 1,2 -- python3 job.py  your own job, one process per executor
  harness study studies/wine-engines.toml                LightGBM and XGBoost side by side
  harness predict --model models:/wine_quality@champion --input wine/test --output scored
  harness serve --model results/wine-run/artifacts/e1-c1-m7g-f1-r0/model --port 5001
  harness server --ssh-key ~/.ssh/id_ed25519             server study on terraform/'s cloud nodes")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a predefined study (`local`: this machine; `compose`: a docker-compose cluster).
    ///
    /// Each workload has a default local study adapted to this machine so that no point is
    /// oversubscribed. fractal-rf's is the reference FRACTAL study — executors {1, 2, 4, 7} ×
    /// fractions {0.01, 0.05, 0.07, 0.1}, 2 cores and 7g per executor, 3 repetitions — with 1
    /// core per executor below 4 logical CPUs, only executor counts with executors × cores ≤
    /// logical CPUs, and memory lowered to 80 % of RAM / largest executor count when 7g would
    /// not fit (on 2 CPUs / 24 GiB: executors {1, 2} × 1 core × 7g). The filters replace an
    /// axis. Without --data, a workload's default data is used: generated once into
    /// ~/.cache/harness/data ($HARNESS_CACHE overrides) for fractal-rf (300 train files × 70,000
    /// points, seed 62, ~1.1 GB) and gbm-folds (300,000 hourly rows × 100 features, seed 42),
    /// embedded in the binary for wine and energy-lstm.
    Profile(ProfileArgs),
    /// Run one point of a workload (optionally repeated) as a small study.
    Run(RunArgs),
    /// Run the study described by a TOML file (its format: `harness study --help`).
    #[command(after_help = STUDY_FORMAT)]
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
    /// Score parquet files with a saved model across executors (adds a `prediction` column).
    ///
    /// Example: harness predict --model models:/wine_quality@champion --input wine-test/
    /// --output scored/ --executors 2
    Predict(PredictArgs),
    /// Print this node's memory-cgroup accounting (OOM kills, peak, limit) as JSON; the driver
    /// asks executor nodes for it over ssh to tell an OOM kill from other deaths.
    #[command(hide = true)]
    NodeMemory,
    /// Apply an executor's limits to process PID (REQUEST: the limit request as JSON) and print
    /// the cgroup version used as JSON; executors that are not root run it through `sudo -n`.
    #[command(hide = true)]
    CgroupApply { pid: u32, request: String },
    /// Kill what is left in run cgroup CGROUP on this node, print its ranks' memory accounting
    /// (OOM kills, peak, limit) as JSON and remove it; the driver runs it on `--hostfile` nodes
    /// over ssh after every run (through `sudo -n` when not root).
    #[command(hide = true)]
    NodeCgroup { cgroup: String },
    /// Answer clock probes: one line with this host's wall clock (ns since the Unix epoch) for
    /// every line read; the driver runs it on `--hostfile` hosts over ssh to measure how far
    /// their clocks are from its own.
    #[command(hide = true)]
    ClockProbe,
    /// Executor entry point of `predict`, started by mpirun on every rank.
    #[command(hide = true)]
    PredictExec {
        /// Job file written by `harness predict`.
        job: PathBuf,
    },
    /// Run the server study on cloud nodes provisioned by terraform/, from their head node.
    ///
    /// Reads `terraform -chdir=terraform output -json` (or --tf-outputs FILE), checks every node
    /// answers over ssh, ships this binary (and the libraries it links) to nodes whose copy
    /// differs, uploads a local --data directory to s3://<bucket>/data/, runs the study on the
    /// head with the executor nodes as its hostfile and the records mirrored to
    /// s3://<bucket>/results/ after every run, retries runs that were not ok on the nodes that
    /// still answer, then copies the records here and renders the report. The server study:
    /// executors {2, 4, 8, 16, 24, 32} that fit the executor nodes (one executor per node), 2
    /// cores and 8g each (the instance is the limit), the workload's fractions. Interrupted →
    /// run it again with --resume.
    #[command(after_help = "\
Examples:
  terraform -chdir=terraform apply -var admin_cidr=203.0.113.7/32 -var \"ssh_public_key=$(cat ~/.ssh/id_ed25519.pub)\"
  harness server --ssh-key ~/.ssh/id_ed25519
  harness server --workload wine --executors 2,4 --resume
  terraform -chdir=terraform destroy

Without a cloud: `harness compose-up --executors 2 > nodes.json` starts the compose cluster as
stand-in nodes, then `harness server --tf-outputs nodes.json`, then `harness compose-down`.")]
    Server(ServerArgs),
    /// Start the compose cluster as stand-in cloud nodes for `harness server` and print their
    /// `terraform output -json` (plus ssh_private_key_path).
    #[command(hide = true)]
    ComposeUp {
        /// Executor containers.
        #[arg(long, default_value_t = 2)]
        executors: u32,
        /// CPUs per executor container.
        #[arg(long, default_value_t = 1)]
        cores: u32,
        /// Memory per executor container.
        #[arg(long, default_value = "1g")]
        memory: String,
        /// No container CPU quota or memory limit, writable cgroups: the executors' own
        /// cgroups on the node are the only limits (as on a cloud VM).
        #[arg(long)]
        node_limits: bool,
    },
    /// Stop the cluster `compose-up` started.
    #[command(hide = true)]
    ComposeDown,
    /// Serve a saved model over HTTP with MLflow's scoring protocol.
    ///
    /// POST /invocations with {"dataframe_split": {"columns": [...], "data": [[...]]}} or
    /// {"dataframe_records": [{...}]} → {"predictions": [...]}; GET /ping, /health, /version.
    /// Malformed requests get 400 with a message naming the field.
    Serve(ServeArgs),
}

#[derive(Args)]
pub struct PredictArgs {
    /// Model: a model directory (e.g. results/<study>/artifacts/<run>/model) or an MLflow
    /// registry URI, models:/wine_quality@champion or models:/wine_quality/3.
    #[arg(long)]
    pub model: String,
    /// Directory (or s3:// prefix) of *.parquet files holding the model's feature columns;
    /// e.g. made by `harness data export wine`. A boolean `label` column, when present, gives
    /// the ROC AUC of the predictions.
    #[arg(long)]
    pub input: String,
    /// Output directory: one scored file per input file, plus _predict_summary.json.
    #[arg(long)]
    pub output: PathBuf,
    /// Executors (MPI ranks) sharing the files by bytes.
    #[arg(long, default_value_t = 1)]
    pub executors: u32,
    /// MLflow tracking URI for models:/ URIs (default: $MLFLOW_TRACKING_URI).
    #[arg(long)]
    pub mlflow: Option<String>,
}

#[derive(Args)]
pub struct ServerArgs {
    /// Terraform directory whose outputs name the nodes.
    #[arg(long, default_value = "terraform")]
    pub tf_dir: PathBuf,
    /// A saved `terraform output -json` to read instead of running terraform.
    #[arg(long, conflicts_with = "tf_dir")]
    pub tf_outputs: Option<PathBuf>,
    /// Private key that logs into the nodes as their ssh_user (default: ssh's own — agent,
    /// ~/.ssh/id_*).
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// The study's axes (executor counts need as many executor nodes; cores and memory are
    /// recorded as requested, the node's instance type is the real limit).
    #[command(flatten)]
    pub axes: Axes,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Model: a model directory or models:/<name>@<alias> (see `harness predict --help`).
    #[arg(long)]
    pub model: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 5001)]
    pub port: u16,
    /// Worker threads (default: logical CPUs).
    #[arg(long)]
    pub workers: Option<usize>,
    /// MLflow tracking URI for models:/ URIs (default: $MLFLOW_TRACKING_URI).
    #[arg(long)]
    pub mlflow: Option<String>,
}

/// Where results and reports go, and how runs are made: the options `profile`, `run` and
/// `study` share.
#[derive(Args, Clone)]
pub struct Common {
    /// Data location: a directory or s3://bucket/prefix in the workload's layout (fractal-rf:
    /// train/ val/ test/; gbm-folds: fold=K/{train,test}/). Default: the workload's own data
    /// (generated once into the cache, or embedded).
    #[arg(long)]
    pub data: Option<String>,
    /// Results root; records go to <RESULTS>/<study>/runs.jsonl. With s3://bucket/prefix the
    /// records are staged in the cache and mirrored there (runs.jsonl, logs, artifacts) after
    /// every run.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Reports root; the report goes to <REPORTS>/<study>/index.html.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Study name (directory under results/ and reports/).
    #[arg(long)]
    pub study: Option<String>,
    /// Run only the (point, repetition) pairs that have no record yet.
    #[arg(long)]
    pub resume: bool,
    /// Per-run timeout in seconds; a run over it is killed and recorded as `timeout`.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Do not apply cgroup limits (records then say `enforced: false`).
    #[arg(long)]
    pub no_limits: bool,
    /// Also run the (point, repetition) pairs whose latest attempt is not ok, as their next
    /// attempt (used by `profile compose` to retry on a clean cluster).
    #[arg(long, hide = true)]
    pub retry_failed: bool,
    /// Open MPI hostfile: executors run on these hosts (reached over ssh; one slot per
    /// executor node). Each makes its own cgroup on its node (as root, or through `sudo -n`);
    /// where it cannot (an unprivileged container's read-only cgroups) it measures the node's
    /// own limits (compose's `cpus` and `mem_limit`). When the hosts do not see the results directory
    /// (measured with a probe file over ssh), each run's job file is copied to them and what the
    /// executors write is copied back, over ssh.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// Cap on concurrent tasks of a task-parallel workload (wine trials, gbm-folds tasks),
    /// over all executors; the default is every free slot (cores / threads_per_task per
    /// executor). Same as --param parallelism=N.
    #[arg(long)]
    pub parallelism: Option<u32>,
    /// Parameter grid of a grid-search workload (gbm-folds), a TOML file of lists. Same as
    /// --param grid=FILE; the grid's content is stored in every record.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// MLflow tracking URI (default: $MLFLOW_TRACKING_URI). Finished runs of workloads that
    /// track (wine: baseline run, search run with nested trials, model registered as
    /// wine_quality) are logged there. An unreachable server only warns; records stay on disk.
    #[arg(long)]
    pub mlflow: Option<String>,
    /// Further attempts of a run that did not finish ok (an executor died, was killed by its
    /// memory limit or timed out); every attempt is recorded with its `attempt` number.
    #[arg(long, default_value_t = 1)]
    pub retries: u32,
}

impl Common {
    /// Applies the overrides every study command shares to `spec`: study name, timeout, and
    /// the workload parameters behind `--parallelism` and `--grid`.
    pub fn apply(&self, spec: &mut StudySpec) {
        if let Some(n) = &self.study {
            spec.name = n.clone();
        }
        if let Some(t) = self.timeout {
            spec.timeout_sec = t;
        }
        if let Some(p) = self.parallelism {
            spec.params
                .insert("parallelism".into(), serde_json::Value::from(p));
        }
        if let Some(g) = &self.grid {
            spec.params.insert(
                "grid".into(),
                serde_json::Value::from(g.display().to_string()),
            );
        }
    }
}

#[derive(Args)]
pub struct ProfileArgs {
    /// Which predefined study: `local` (this machine) or `compose` (a docker-compose cluster of
    /// resource-limited containers built here, data on its S3 store; see docker/compose.yaml).
    #[arg(value_parser = ["local", "compose"])]
    pub target: String,
    /// compose: leave the cluster up at the end.
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub axes: Axes,
    #[command(flatten)]
    pub common: Common,
}

/// A predefined study's workload and the axes a user may replace (`profile`, `server`).
#[derive(Args)]
pub struct Axes {
    /// Workload of the study (default: the first registered, fractal-rf).
    #[arg(long)]
    pub workload: Option<String>,
    /// Only these executor counts (comma-separated), e.g. 1,2.
    #[arg(long, value_delimiter = ',')]
    pub executors: Option<Vec<u32>>,
    /// Only these cores per executor, e.g. 1.
    #[arg(long, value_delimiter = ',')]
    pub cores: Option<Vec<u32>>,
    /// Only these memory limits per executor, e.g. 7g,2g.
    #[arg(long, value_delimiter = ',')]
    pub memory: Option<Vec<String>>,
    /// Only these fractions of the input files, e.g. 0.05,0.1.
    #[arg(long, value_delimiter = ',')]
    pub fractions: Option<Vec<f64>>,
    /// Repetitions per point.
    #[arg(long)]
    pub reps: Option<u32>,
    /// Workload parameter KEY=VALUE (a JSON value, else a string), repeatable: --param trees=10.
    /// A JSON list is one more axis of the grid, one series per value:
    /// --param 'engine=["lightgbm","xgboost"]'.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, serde_json::Value)>,
}

impl Axes {
    /// Replaces the axes given on the command line in `spec` and adds the parameters.
    pub fn apply(&self, spec: &mut StudySpec) {
        if let Some(v) = &self.executors {
            spec.executors = v.clone();
        }
        if let Some(v) = &self.cores {
            spec.cores = v.clone();
        }
        if let Some(v) = &self.memory {
            spec.memory = v.clone();
        }
        if let Some(v) = &self.fractions {
            spec.fractions = v.clone();
        }
        if let Some(v) = self.reps {
            spec.repetitions = v;
        }
        spec.params.extend(self.params.iter().cloned());
    }
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  harness run fractal-rf --executors 2 --fraction 0.1
  harness run command --executors 1,2 --memory 2g -- python3 job.py --epochs 3
  harness run command --data data/ts -- ./train.sh      (HARNESS_SHARD_FILES: its files)

`command` runs any program once per executor, inside the executor's cgroup, with RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (PyTorch's env:// works), OMP_NUM_THREADS and
HARNESS_* variables set; it reports by printing one JSON object as its last stdout line, e.g.
{\"training_time_sec\": 12.3, \"test_accuracy\": 0.91} (README: \"Study your own job\").")]
pub struct RunArgs {
    /// Workload name: fractal-rf, wine, gbm-folds, energy-lstm or command.
    pub workload: String,
    /// Executors (MPI ranks); a comma-separated list runs each, e.g. 1,2.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub executors: Vec<u32>,
    /// Cores per executor; a comma-separated list runs each.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub cores: Vec<u32>,
    /// Memory limit per executor (7g, 512m, …).
    #[arg(long, default_value = "7g")]
    pub memory: String,
    /// Fraction of the input files, in (0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub fraction: f64,
    /// Repetitions.
    #[arg(long, default_value_t = 1)]
    pub reps: u32,
    /// Workload parameter KEY=VALUE (a JSON value, else a string), repeatable: --param trees=10.
    /// A JSON list is one more axis of the grid, one series per value:
    /// --param 'engine=["lightgbm","xgboost"]'.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, serde_json::Value)>,
    #[command(flatten)]
    pub common: Common,
    /// `command` only: the program and its arguments, after `--`.
    #[arg(last = true, value_name = "PROGRAM [ARGS]")]
    pub command: Vec<String>,
}

/// The study file format, shown by `harness study --help`.
pub const STUDY_FORMAT: &str = "\
Study file (TOML); every point of executors × cores × memory × fractions runs `repetitions` times:

  name = \"fractal-local\"        # results/<name>/ and reports/<name>/; letters, digits, . _ -; ≤ 200 bytes
  workload = \"fractal-rf\"       # fractal-rf, wine, gbm-folds, energy-lstm or command
  executors = [1, 2]            # MPI ranks, each ≥ 1
  cores = [1]                   # cores per executor, each ≥ 1
  memory = [\"7g\"]               # memory limit per executor: 7g, 512m, 1.5g
  fractions = [0.05, 0.1]       # share of the input files, in (0, 1]
  repetitions = 2               # ≥ 1
  timeout_sec = 1800            # per run, ≥ 1 (default 3600)
  data = \"/data/fractal\"        # optional: directory or s3://bucket/prefix (--data overrides)

  [params]                      # optional workload parameters, as --param KEY=VALUE
  trees = 40
  engine = [\"mllib\", \"lightgbm\"]  # a list is one more axis: each point runs with each value

With workload = \"command\", the program to run is a top-level list (not a parameter, so not an
axis): command = [\"python3\", \"job.py\"]; its [params] reach it as HARNESS_PARAMS (JSON).

A comparison file runs several series on the same grid, interleaved point by point, and renders
one page with a side-by-side table (each series ÷ the first, with bootstrap 95 % intervals):
the grid stays at the top; workload, command and params move into [[series]] tables:

  [[series]]                    # the first: every ratio is another series ÷ this one
  name = \"harness\"              # results/<name>.harness/
  workload = \"fractal-rf\"
  params = { trees = 40 }

  [[series]]
  name = \"spark-mllib\"
  workload = \"command\"
  command = [\"/opt/harness-tools/spark/bin/python\", \"examples/spark-rf-fractal/job.py\"]
  params = { launch = \"once\" }

Unknown keys, empty lists and out-of-range values are rejected before any run.";

/// Run a study file (format: [`STUDY_FORMAT`]).
#[derive(Args)]
pub struct StudyArgs {
    /// The study's TOML file.
    pub file: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// `harness report DIR [DIR …]`: one study's page, or several studies overlaid on one page.
#[derive(Args)]
#[command(after_help = "Examples:
  harness report results/fractal-rf-local                  -> reports/fractal-rf-local/index.html
  harness report results/after --baseline results/before   per-point change charts and verdicts
  harness report results/a results/b --out reports/compare one page, a series per study,
                                                           and b side by side with a

The page opens with the findings (speedup and efficiency with 95 % CIs, Amdahl/USL fits and
their predictions, start-up, limits, accuracy spread), then charts (hover a point for its value,
CI and n; click a legend entry to hide a series) and sortable tables. summary.md repeats the
findings as Markdown.")]
pub struct ReportArgs {
    /// Study results directories (e.g. results/fractal-rf-local); several are overlaid on one
    /// page, each study its own series, and every other study is set side by side with the
    /// first (ratio of medians per point of the same shape, with 95 % CIs).
    #[arg(required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,
    /// Reports root; the page goes to <REPORTS>/<study>/index.html unless --out is given.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Output directory of the page (default <REPORTS>/<study>, or <REPORTS>/<a>+<b> for an
    /// overlay).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Compare with this study's records (e.g. results/before): per common point, the change
    /// of median training time, total time, accuracy / ROC AUC / RMSE and peak memory, with
    /// 95 % CIs and a verdict (better / worse / within noise), as charts and a table.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Generate a data set deterministically from a seed: `harness data generate <SET> --out DIR`
    /// (see `harness data generate <SET> --help` for its options).
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Generate,
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
    /// train/ rows with the 12 features and `label`, e.g. as input of `harness predict`;
    /// energy-lstm: its prepared train/ test/ model rows and scaler.json).
    Export(ExportArgs),
    /// Preprocess raw data into a workload's prepared layout (energy: household CSV → 5-day
    /// sequences z-scored with training statistics, split 90/10 by household, as train/ and
    /// test/ parquet shards that never split a household, plus scaler.json). A study's --data
    /// can then point at the output.
    Prepare(PrepareArgs),
}

#[derive(Args)]
pub struct PrepareArgs {
    /// Data set or workload: energy (= energy-lstm).
    pub set: String,
    /// Raw input: a CSV file, a directory of *.csv, or `embedded`.
    #[arg(long)]
    pub input: String,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Parquet files per split.
    #[arg(long, default_value_t = 8)]
    pub files: usize,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Workload whose data to export: wine, energy-lstm.
    pub workload: String,
    /// Output directory (train/ and test/ are created in it).
    #[arg(long)]
    pub out: PathBuf,
    /// Files per split.
    #[arg(long, default_value_t = 4)]
    pub files: usize,
    /// Source data: `embedded` or a directory with the workload's raw files.
    #[arg(long, default_value = "embedded")]
    pub data: String,
}

fn parse_param(s: &str) -> Result<(String, serde_json::Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE (e.g. trees=10)"))?;
    let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
    Ok((k.to_string(), value))
}

/// The full command: [`Cli`] plus one `data generate <set>` subcommand per data generator of
/// the registered workloads, each with `--out` and the generator's own options.
pub fn command() -> clap::Command {
    let cli = Cli::command();
    let examples = cli
        .get_after_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    cli.after_help(format!(
        "{examples}\n\n\
         Limits: as root, every executor moves itself into a cgroup with its CPUs, CPU quota and\n\
         memory limit, and measures what it got; without root (or with --no-limits) runs happen\n\
         unlimited and their records say `enforced: false`.\n\n{}",
        crate::exit::HELP
    ))
    .mut_subcommand("data", |data| {
        data.mut_subcommand("generate", |mut generate| {
            for g in registry::generators() {
                let mut sub = clap::Command::new(g.name()).about(g.about()).arg(
                    clap::Arg::new("out")
                        .long("out")
                        .required(true)
                        .value_name("DIR")
                        .help("Output directory, or s3://bucket/prefix (generated into a temporary directory, then uploaded; AWS_ENDPOINT_URL etc. as for `data upload`)"),
                );
                for o in g.options() {
                    let mut arg = clap::Arg::new(o.name)
                        .long(o.name)
                        .value_name("VALUE")
                        .help(o.help);
                    if let Some(d) = o.default {
                        // Built once per process; clap keeps defaults as 'static text.
                        arg = arg.default_value(&*Box::leak(d.into_boxed_str()));
                    }
                    sub = sub.arg(arg);
                }
                generate = generate.subcommand(sub);
            }
            generate
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_study_format_in_help_is_a_valid_study() {
        let (study, comparison) = STUDY_FORMAT
            .split_once("A comparison file")
            .expect("the help shows a comparison");
        let indented = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("  "))
                .map(|l| l.trim().to_string())
                .collect()
        };
        let toml: String = indented(study).iter().map(|l| format!("{l}\n")).collect();
        let spec = harness_core::StudySpec::from_toml(&toml).expect("the help's example parses");
        assert_eq!(spec.name, "fractal-local");
        assert_eq!(spec.timeout_sec, 1800);
        assert_eq!(spec.params["trees"], serde_json::json!(40));
        // 2 executors × 2 fractions × 2 engines (the list parameter) × 2 repetitions.
        assert_eq!(spec.param_points().len(), 2);
        assert_eq!(spec.runs().unwrap().len(), 16);
        // The comparison's [[series]] on the study's grid (its lines up to `workload`, less it).
        let grid: Vec<String> = indented(study)
            .into_iter()
            .take_while(|l| !l.starts_with("[params]"))
            .filter(|l| !l.starts_with("workload"))
            .collect();
        let toml = format!("{}\n{}\n", grid.join("\n"), indented(comparison).join("\n"));
        let c =
            harness_core::ComparisonSpec::from_toml(&toml).expect("the help's comparison parses");
        assert_eq!(c.series, ["harness", "spark-mllib"]);
        assert_eq!(c.studies[1].params["launch"], "once");
    }
}
