//! Things that want to hear about a recorded run: one trait, default no-op methods, several
//! outputs — the progress lines ([`ProgressLines`]), the S3 mirror of the results
//! ([`S3Mirror`]) and experiment tracking ([`Tracking`], MLflow). Adding an output never
//! touches the study loop ([`crate::runner`]).
//!
//! A sink is called after the record is appended and synced; a sink that fails warns through
//! [`Output`] and loses nothing.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use harness_core::{RunRecord, RunStatus};
use harness_runtime::progress::Progress as RunProgress;
use harness_runtime::s3::S3Location;
use harness_runtime::Workload;
use indicatif::{ProgressBar, ProgressStyle};

use crate::mlflow::Mlflow;
use crate::store::Store;

/// Where the study's progress bar and lines go (stderr); lines print above the bar.
pub struct Output {
    pb: ProgressBar,
    /// When a run's in-flight progress was last printed as a line (bar hidden).
    last_line: Cell<Option<Instant>>,
}

impl Output {
    /// A progress bar over `total` runs (hidden when stderr is not a terminal).
    pub fn new(total: usize) -> Self {
        let pb = ProgressBar::new(total as u64);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} runs, ETA {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Output {
            pb,
            last_line: Cell::new(None),
        }
    }

    /// Shows the in-flight progress of run `run_id`: on the bar's message, or — when the bar is
    /// hidden (stderr is not a terminal) — as a line at most once a minute.
    pub fn run_progress(&self, run_id: &str, p: &RunProgress) {
        let mut text = format!("{run_id}: {}", p.done);
        if let Some(t) = p.total {
            text.push_str(&format!("/{t}"));
        }
        text.push_str(&format!(" {}", p.unit));
        if p.failed > 0 {
            text.push_str(&format!(" ({} failed)", p.failed));
        }
        if let Some(eta) = p.eta_sec() {
            text.push_str(&format!(", run ETA {eta:.0}s"));
        }
        if !self.pb.is_hidden() {
            self.pb.set_message(text);
            return;
        }
        let due = self
            .last_line
            .get()
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if due {
            self.last_line.set(Some(Instant::now()));
            eprintln!("      {text}");
        }
    }

    /// Prints one line (above the bar when it is shown).
    pub fn line(&self, text: String) {
        if self.pb.is_hidden() {
            eprintln!("{text}");
        } else {
            self.pb.println(text);
        }
    }

    pub(crate) fn set_message(&self, msg: &str) {
        self.pb.set_message(msg.to_string());
    }

    pub(crate) fn inc(&self) {
        self.pb.inc(1);
    }

    pub(crate) fn finish(&self) {
        self.pb.finish_and_clear();
    }
}

/// Where the study stands when a run finishes.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Runs finished now, and to do in all (this invocation).
    pub done: usize,
    pub total: usize,
    /// Seconds left: per study (lane), its runs left at its own mean pace so far (a study
    /// with no run finished yet at the mean pace of all), summed — a comparison whose
    /// reference runs 30× slower than ours gets an ETA that knows it.
    pub eta_sec: f64,
}

/// Hears about recorded runs. Every method defaults to doing nothing.
pub trait Sink {
    /// Every attempt's record, right after it was appended (retries included).
    fn attempt(&mut self, _record: &RunRecord, _store: &Store, _out: &Output) {}

    /// A run that was not ok is about to be tried again (`retry` of `retries`).
    fn retrying(&mut self, _record: &RunRecord, _retry: u32, _retries: u32, _out: &Output) {}

    /// A run that was not ok is not tried again although retries were left: its failure is
    /// one no retry can fix ([`RunRecord::retryable`] is `false`).
    fn not_retried(&mut self, _record: &RunRecord, _out: &Output) {}

    /// The last attempt of a (point, repetition).
    fn finished(&mut self, _record: &RunRecord, _store: &Store, _p: &Progress, _out: &Output) {}
}

/// One line per run: status, times, accuracy-type metrics, the workload's own progress
/// metrics, whether limits were enforced; the ETA of the study.
pub struct ProgressLines {
    /// (`metrics.extra` key, label) pairs the workload wants shown.
    pub extra: &'static [(&'static str, &'static str)],
    /// The series' name in a comparison, printed before the run id.
    pub series: Option<String>,
}

impl ProgressLines {
    /// The progress line of `workload`'s runs, named by `series` in a comparison.
    pub fn of(workload: &dyn Workload, series: Option<String>) -> Self {
        ProgressLines {
            extra: workload.progress_metrics(),
            series,
        }
    }

    fn describe(&self, r: &RunRecord) -> String {
        let mut s = match &self.series {
            Some(series) => format!("{series:<12} "),
            None => String::new(),
        };
        s.push_str(&format!(
            "{:<22} {:<7}",
            r.run_id,
            format!("{:?}", r.status).to_lowercase()
        ));
        if r.status == RunStatus::Ok {
            let t = &r.times;
            s.push_str(&format!(
                " train {:>7.2}s  total {:>7.2}s",
                t.training_time_sec.unwrap_or(f64::NAN),
                t.total_time_sec
            ));
            let m = &r.metrics;
            for (label, v) in [
                ("val_acc", m.val_accuracy),
                ("test_acc", m.test_accuracy),
                ("auc", m.auc),
                ("rmse", m.rmse),
            ] {
                if let Some(v) = v {
                    s.push_str(&format!("  {label} {v:.4}"));
                }
            }
            for (key, label) in self.extra {
                if let Some(v) = m.extra.get(*key) {
                    s.push_str(&format!("  {v:.2} {label}"));
                }
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
}

impl Sink for ProgressLines {
    fn retrying(&mut self, record: &RunRecord, retry: u32, retries: u32, out: &Output) {
        out.line(format!(
            "      {}  — retrying ({retry} of {retries})",
            self.describe(record)
        ));
    }

    fn not_retried(&mut self, record: &RunRecord, out: &Output) {
        out.line(format!(
            "      {}  — not retried: the workload itself failed (input or parameters), and the \
             same attempt would fail the same way",
            record.run_id
        ));
    }

    fn finished(&mut self, record: &RunRecord, _: &Store, p: &Progress, out: &Output) {
        out.line(format!(
            "[{}/{}] {}  (ETA {:.0}s)",
            p.done,
            p.total,
            self.describe(record),
            p.eta_sec
        ));
    }
}

/// `--results s3://…`: after every attempt, uploads the study's `runs.jsonl` (whole, so the
/// mirror is never torn) and the run's log and artifacts to `<mirror>/<study>/`.
pub struct S3Mirror(pub S3Location);

impl S3Mirror {
    fn mirror(&self, store: &Store, record: &RunRecord) -> Result<()> {
        let mut files = vec![PathBuf::from("runs.jsonl")];
        files.extend(record.log.iter().map(PathBuf::from));
        if let Some(a) = &record.artifacts {
            files.extend(
                crate::transfer::files_below(&store.dir().join(a))?
                    .into_iter()
                    .map(|f| PathBuf::from(a).join(f)),
            );
        }
        crate::transfer::upload_files(&self.0, &record.study, store.dir(), &files, || {})?;
        Ok(())
    }
}

impl Sink for S3Mirror {
    fn attempt(&mut self, record: &RunRecord, store: &Store, out: &Output) {
        if let Err(e) = self.mirror(store, record) {
            out.line(format!(
                "      warning: mirroring to {} failed: {e}; records are kept in {}",
                self.0,
                store.dir().display()
            ));
        }
    }
}

/// Logs every ok run to an MLflow tracking server as the workload describes it
/// ([`Workload::tracking`]); a workload that describes nothing logs nothing.
pub struct Tracking {
    pub mlflow: Mlflow,
    pub workload: &'static dyn Workload,
}

impl Sink for Tracking {
    fn finished(&mut self, record: &RunRecord, store: &Store, _: &Progress, out: &Output) {
        if record.status != RunStatus::Ok {
            return;
        }
        let artifacts = record.artifacts.as_ref().map(|a| store.dir().join(a));
        let logged = self
            .workload
            .tracking(record, artifacts.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|runs| {
                if runs.is_empty() {
                    return Ok(None);
                }
                self.mlflow
                    .log_runs(record, &runs)
                    .map(Some)
                    .map_err(|e| e.to_string())
            });
        match logged {
            Ok(None) => {}
            Ok(Some(l)) => out.line(format!("      mlflow {}: {l}", self.mlflow.uri())),
            Err(e) => out.line(format!(
                "      warning: MLflow logging of {} failed: {e}; the record and artifacts are kept in {}",
                record.run_id,
                store.dir().display()
            )),
        }
    }
}
