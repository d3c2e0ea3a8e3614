//! Running a study: checks, the run loop with progress and ETA, and the final report.
//!
//! Every check that can fail on bad input happens before the first run. Each run's record is
//! appended (and synced) as soon as the run ends; a failed run is recorded and the study goes
//! on after `--retries` further attempts (each recorded with its `attempt`). `--resume` runs only
//! the (point, repetition) pairs that have no record yet.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use harness_core::{RunRecord, RunStatus, StudySpec};
use indicatif::{ProgressBar, ProgressStyle};

use crate::launcher::{check_mpirun, run_one, LaunchSettings};
use crate::mlflow::Mlflow;
use crate::store::Store;
use crate::{provenance, registry};
use harness_runtime::s3::S3Location;

/// Options of a study run that are not part of the grid.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    pub results: PathBuf,
    pub reports: PathBuf,
    pub resume: bool,
    pub no_limits: bool,
    /// Attempts after a run that was not ok (each attempt is recorded).
    pub retries: u32,
    /// MLflow tracking URI: finished `wine` runs are logged there (a failure only warns).
    pub mlflow: Option<String>,
    /// `--results s3://…`: records are kept in `results` (a local staging copy) and mirrored
    /// here after every run.
    pub mirror: Option<S3Location>,
    /// `--hostfile`: run executors on these hosts (limits set by the nodes).
    pub hostfile: Option<PathBuf>,
    /// Also run the pairs whose latest attempt is not ok, as their next attempt (the compose
    /// driver's retries on a clean cluster).
    pub retry_failed: bool,
}

/// How a study ended.
#[derive(Debug, Clone, Default)]
pub struct StudySummary {
    pub ran: usize,
    pub skipped: usize,
    pub failed: usize,
    pub report: Option<PathBuf>,
}

/// Process group of the run in flight, so Ctrl-C can stop its executors too.
static CURRENT_GROUP: AtomicI32 = AtomicI32::new(0);

/// Installs a Ctrl-C / SIGTERM handler that kills the run in flight and exits. Records already
/// written stay; `--resume` completes the study later.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let pg = CURRENT_GROUP.load(Ordering::SeqCst);
        if pg > 0 {
            // SIGTERM lets mpirun stop its executors (they run in their own process groups).
            // SAFETY: signals the process group of our own mpirun child.
            unsafe {
                libc::kill(-pg, libc::SIGTERM);
            }
            std::thread::sleep(std::time::Duration::from_secs(2));
            // SAFETY: as above.
            unsafe {
                libc::kill(-pg, libc::SIGKILL);
            }
        }
        eprintln!("\ninterrupted: records written so far are kept; re-run with --resume to finish the study");
        std::process::exit(130);
    });
}

/// Marks the process group of the run in flight (0 when none).
pub fn set_current_group(pgid: i32) {
    CURRENT_GROUP.store(pgid, Ordering::SeqCst);
}

/// Uploads the study's `runs.jsonl` (whole, so the mirror is never torn) and the run's log and
/// artifacts to `<mirror>/<study>/`.
fn mirror_run(m: &S3Location, store: &Store, record: &RunRecord) -> Result<()> {
    let mut files = vec![PathBuf::from("runs.jsonl")];
    files.extend(record.log.iter().map(PathBuf::from));
    if let Some(a) = &record.artifacts {
        files.extend(
            crate::transfer::files_below(&store.dir().join(a))?
                .into_iter()
                .map(|f| PathBuf::from(a).join(f)),
        );
    }
    crate::transfer::upload_files(m, &record.study, store.dir(), &files, || {})?;
    Ok(())
}

/// Logs a finished wine run to MLflow; the line to print says what happened. A failure is a
/// warning: the record is already on disk.
fn track(m: &Mlflow, record: &RunRecord, study_dir: &std::path::Path) -> String {
    match crate::mlflow::log_wine_run(m, record, study_dir) {
        Ok(l) => format!(
            "      mlflow {}: baseline run {}, search run {} with {} trials{}{}",
            m.uri(),
            l.baseline_run.as_deref().unwrap_or("-"),
            l.search_run,
            l.trials,
            l.version
                .map(|v| format!(", registered {} v{v}", crate::mlflow::REGISTERED_MODEL))
                .unwrap_or_default(),
            if l.champion { " (new champion)" } else { "" }
        ),
        Err(e) => format!(
            "      warning: MLflow logging of {} failed: {e}; the record and artifacts are kept in {}",
            record.run_id,
            study_dir.display()
        ),
    }
}

fn line(pb: &ProgressBar, text: String) {
    if pb.is_hidden() {
        eprintln!("{text}");
    } else {
        pb.println(text);
    }
}

fn describe(r: &RunRecord) -> String {
    let mut s = format!(
        "{:<22} {:<7}",
        r.run_id,
        format!("{:?}", r.status).to_lowercase()
    );
    if r.status == RunStatus::Ok {
        let t = &r.times;
        s.push_str(&format!(
            " train {:>7.2}s  total {:>7.2}s",
            t.training_time_sec.unwrap_or(f64::NAN),
            t.total_time_sec
        ));
        if let Some(v) = r.metrics.val_accuracy {
            s.push_str(&format!("  val_acc {v:.4}"));
        }
        if let Some(v) = r.metrics.test_accuracy {
            s.push_str(&format!("  test_acc {v:.4}"));
        }
        if let Some(v) = r.metrics.auc {
            s.push_str(&format!("  auc {v:.4}"));
        }
        if let Some(v) = r.metrics.extra.get("trials_per_sec") {
            s.push_str(&format!("  {v:.2} trials/s"));
        }
        s.push_str(if r.all_enforced() {
            "  limits enforced"
        } else {
            "  LIMITS NOT ENFORCED"
        });
        if r.oversubscribed {
            s.push_str("  oversubscribed");
        }
    } else if let Some(e) = &r.error {
        s.push_str(&format!(" {}", e.lines().next().unwrap_or_default()));
    }
    s
}

/// Runs `spec` on the local machine with data at `data`, then renders its report.
///
/// # Errors
/// Bad input (unknown workload, invalid grid, missing data or columns, no `mpirun`, existing
/// records without `--resume`) before any run; I/O errors of the results store.
pub fn run_study(spec: &StudySpec, data: &str, opts: &StudyOptions) -> Result<StudySummary> {
    spec.validate()?;
    if registry::lookup(&spec.workload).is_none() {
        return Err(registry::unknown(&spec.workload));
    }
    let mpi = check_mpirun()?;
    let data = registry::check_data(&spec.workload, data)?;

    let store = Store::open(&opts.results, &spec.name)?;
    let existing = store.load()?;
    if !existing.is_empty() && !opts.resume {
        bail!(
            "study `{}` already has {} records in {}: pass --resume to run only the missing runs, \
             or --study NAME to start a new study (existing records are never overwritten)",
            spec.name,
            existing.len(),
            store.runs_path().display()
        );
    }
    store.save_spec(spec)?;
    let plan = spec.runs()?;
    // (plan, first attempt): pairs without a record, and with --retry-failed those whose latest
    // attempt is not ok.
    let todo: Vec<(&harness_core::RunPlan, u32)> = plan
        .iter()
        .filter_map(|p| {
            let latest = existing
                .iter()
                .filter(|r| r.repetition == p.repetition && r.point.same_as(&p.point))
                .max_by_key(|r| r.attempt);
            match latest {
                None => Some((p, 0)),
                Some(r) if opts.retry_failed && r.status != RunStatus::Ok => {
                    Some((p, r.attempt + 1))
                }
                Some(_) => None,
            }
        })
        .collect();
    let mut summary = StudySummary {
        skipped: plan.len() - todo.len(),
        ..StudySummary::default()
    };
    let settings = LaunchSettings {
        study: spec.name.clone(),
        workload: spec.workload.clone(),
        data,
        timeout: Duration::from_secs(spec.timeout_sec),
        limits: !opts.no_limits,
        logical_cpus: provenance::logical_cpus(),
        provenance: provenance::collect(),
        hostfile: opts.hostfile.clone(),
    };
    eprintln!(
        "study `{}`: {} runs ({} points × {} repetitions), {} to do, {} already recorded; {}; results in {}",
        spec.name,
        plan.len(),
        spec.points()?.len(),
        spec.repetitions,
        todo.len(),
        summary.skipped,
        mpi,
        store.runs_path().display()
    );

    let pb = ProgressBar::new(todo.len() as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} runs, ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let tracker = opts.mlflow.as_deref().map(Mlflow::new);
    let started = Instant::now();
    for (i, &(p, first_attempt)) in todo.iter().enumerate() {
        pb.set_message(p.run_id.clone());
        let mut attempt = first_attempt;
        let record = loop {
            let record = run_one(&settings, &store, p, attempt)?;
            set_current_group(0);
            store.append(&record)?;
            if let Some(m) = &opts.mirror {
                if let Err(e) = mirror_run(m, &store, &record) {
                    line(
                        &pb,
                        format!(
                            "      warning: mirroring to {m} failed: {e}; records are kept in {}",
                            store.dir().display()
                        ),
                    );
                }
            }
            if record.status == RunStatus::Ok || attempt >= first_attempt + opts.retries {
                break record;
            }
            line(
                &pb,
                format!(
                    "      {}  — retrying ({} of {})",
                    describe(&record),
                    attempt + 1,
                    opts.retries
                ),
            );
            attempt += 1;
        };
        if record.status != RunStatus::Ok {
            summary.failed += 1;
        } else if let (Some(m), workload_wine::NAME) = (&tracker, record.workload.as_str()) {
            line(&pb, track(m, &record, store.dir()));
        }
        summary.ran += 1;
        let done = i + 1;
        let eta = started.elapsed().as_secs_f64() / done as f64 * (todo.len() - done) as f64;
        line(
            &pb,
            format!(
                "[{done}/{}] {}  (ETA {:.0}s)",
                todo.len(),
                describe(&record),
                eta
            ),
        );
        pb.inc(1);
    }
    pb.finish_and_clear();

    let all = store.load()?;
    let report_dir = opts.reports.join(&spec.name);
    let page = harness_report::render_study(&all, &report_dir, None)
        .with_context(|| format!("cannot render the report into {}", report_dir.display()))?;
    harness_report::render_index(&opts.reports)?;
    summary.report = Some(page);
    Ok(summary)
}
