//! The study loop: which (point, repetition) pairs to run, their attempts and retries, and
//! telling every [`Sink`] about each record as soon as it is appended.
//!
//! The loop knows nothing about processes or workloads: runs are made by a [`Launch`]
//! (`mpirun` in [`crate::launcher::Launcher`], a mock in tests) and everything that reacts to a
//! record — the progress line, the S3 mirror, experiment tracking — is a sink. Each record is
//! appended (and synced) before any sink hears of it, so a sink that fails loses nothing.

use std::time::Instant;

use anyhow::Result;
use harness_core::{RunPlan, RunRecord, RunStatus};

use harness_runtime::progress::Progress;

use crate::sinks::{self, Output, Sink};
use crate::store::Store;

/// Makes one attempt of a planned run and returns its record (a failed run is a record, not an
/// `Err`), handing what the run reports while in flight to `on_progress`.
pub trait Launch {
    /// # Errors
    /// Only when nothing could be recorded (e.g. the job file cannot be written).
    fn launch(
        &self,
        plan: &RunPlan,
        attempt: u32,
        on_progress: &dyn Fn(&Progress),
    ) -> Result<RunRecord>;
}

/// How a study ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudySummary {
    /// (point, repetition) pairs run now.
    pub ran: usize,
    /// Pairs that already had a record.
    pub skipped: usize,
    /// Pairs whose last attempt is not ok.
    pub failed: usize,
}

/// The pairs to run with their first attempt number: those without a record, and with
/// `retry_failed` those whose latest attempt is not ok (as their next attempt).
pub fn todo<'a>(
    plan: &'a [RunPlan],
    existing: &[RunRecord],
    retry_failed: bool,
) -> Vec<(&'a RunPlan, u32)> {
    plan.iter()
        .filter_map(|p| {
            let latest = existing
                .iter()
                .filter(|r| r.repetition == p.repetition && r.point.same_as(&p.point))
                .max_by_key(|r| r.attempt);
            match latest {
                None => Some((p, 0)),
                Some(r) if retry_failed && r.status != RunStatus::Ok => Some((p, r.attempt + 1)),
                Some(_) => None,
            }
        })
        .collect()
}

/// Seconds left: per lane, its runs left × its mean seconds per finished run (the mean over
/// every lane's finished runs for a lane with none finished yet), summed.
fn eta(left: &[usize], spent: &[(usize, f64)]) -> f64 {
    let (n, secs) = spent
        .iter()
        .fold((0usize, 0.0), |(n, s), &(m, t)| (n + m, s + t));
    let overall = secs / n.max(1) as f64;
    left.iter()
        .zip(spent)
        .map(|(&l, &(m, t))| l as f64 * if m > 0 { t / m as f64 } else { overall })
        .sum()
}

/// One study of a run loop: how its runs are made, where their records go, who hears of them.
/// A comparison runs several lanes interleaved ([`run_lanes`]); a study is one lane.
pub struct Lane<'a, 's> {
    pub launch: &'a dyn Launch,
    pub store: &'a Store,
    pub sinks: &'a mut [Box<dyn Sink + 's>],
}

/// Runs `todo` with `launch`: each attempt's record is appended to `store`, then every sink
/// hears of it; a run that is not ok is tried again up to `retries` more times.
///
/// # Errors
/// A launch that could not record anything, or the store failing to append.
pub fn run_all(
    todo: &[(&RunPlan, u32)],
    launch: &dyn Launch,
    store: &Store,
    retries: u32,
    sinks: &mut [Box<dyn Sink + '_>],
) -> Result<StudySummary> {
    let todo: Vec<(usize, &RunPlan, u32)> = todo.iter().map(|&(p, a)| (0, p, a)).collect();
    run_lanes(
        &todo,
        &mut [Lane {
            launch,
            store,
            sinks,
        }],
        retries,
    )
}

/// Runs `todo` — `(lane, plan, first attempt)` in the order given — each run through its lane
/// as [`run_all`] does, with one progress bar and ETA over all of them. The summary counts
/// every lane's runs.
///
/// # Errors
/// A launch that could not record anything, or a store failing to append.
///
/// # Panics
/// A lane index out of `lanes`.
pub fn run_lanes(
    todo: &[(usize, &RunPlan, u32)],
    lanes: &mut [Lane<'_, '_>],
    retries: u32,
) -> Result<StudySummary> {
    let out = Output::new(todo.len());
    let mut summary = StudySummary::default();
    // Per lane: runs left, runs finished and their seconds, for the ETA.
    let mut left = vec![0usize; lanes.len()];
    for &(lane, _, _) in todo {
        left[lane] += 1;
    }
    let mut spent = vec![(0usize, 0.0f64); lanes.len()];
    for (i, &(lane, plan, first_attempt)) in todo.iter().enumerate() {
        let run_started = Instant::now();
        let Lane {
            launch,
            store,
            ref mut sinks,
        } = lanes[lane];
        out.set_message(&plan.run_id);
        let mut attempt = first_attempt;
        let record = loop {
            let record = launch.launch(plan, attempt, &|p| out.run_progress(&plan.run_id, p))?;
            store.append(&record)?;
            for s in sinks.iter_mut() {
                s.attempt(&record, store, &out);
            }
            if record.status == RunStatus::Ok || attempt >= first_attempt + retries {
                break record;
            }
            if record.retryable == Some(false) {
                for s in sinks.iter_mut() {
                    s.not_retried(&record, &out);
                }
                break record;
            }
            for s in sinks.iter_mut() {
                s.retrying(&record, attempt + 1 - first_attempt, retries, &out);
            }
            attempt += 1;
        };
        summary.ran += 1;
        if record.status != RunStatus::Ok {
            summary.failed += 1;
        }
        left[lane] -= 1;
        spent[lane].0 += 1;
        spent[lane].1 += run_started.elapsed().as_secs_f64();
        let progress = sinks::Progress {
            done: i + 1,
            total: todo.len(),
            eta_sec: eta(&left, &spent),
        };
        for s in sinks.iter_mut() {
            s.finished(&record, store, &progress, &out);
        }
        out.inc();
    }
    out.finish();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use harness_core::record::{Provenance, Times};
    use harness_core::StudySpec;

    use super::*;

    /// A launcher that fails the first `fail_first` attempts of every run (retryable or not)
    /// and records calls.
    struct Mock {
        fail_first: u32,
        retryable: bool,
        calls: RefCell<Vec<(String, u32)>>,
    }

    impl Launch for Mock {
        fn launch(
            &self,
            plan: &RunPlan,
            attempt: u32,
            on_progress: &dyn Fn(&Progress),
        ) -> Result<RunRecord> {
            self.calls.borrow_mut().push((plan.run_id.clone(), attempt));
            on_progress(&Progress {
                done: 1,
                total: Some(2),
                failed: 0,
                unit: "tasks".into(),
                elapsed_sec: 1.0,
            });
            let failed = attempt < self.fail_first;
            let mut r = record(
                plan,
                attempt,
                if failed {
                    RunStatus::Failed
                } else {
                    RunStatus::Ok
                },
            );
            r.retryable = failed.then_some(self.retryable);
            Ok(r)
        }
    }

    fn record(plan: &RunPlan, attempt: u32, status: RunStatus) -> RunRecord {
        RunRecord {
            schema_version: 1,
            study: "s".into(),
            run_id: plan.run_id.clone(),
            workload: "w".into(),
            point: plan.point.clone(),
            repetition: plan.repetition,
            attempt,
            status,
            error: None,
            started_at: chrono::DateTime::UNIX_EPOCH,
            finished_at: chrono::DateTime::UNIX_EPOCH,
            times: Times::default(),
            data: Default::default(),
            metrics: Default::default(),
            executor_reports: Vec::new(),
            oversubscribed: false,
            oom: None,
            log: None,
            artifacts: None,
            farm: None,
            retryable: None,
            provenance: Provenance::default(),
        }
    }

    fn plan() -> Vec<RunPlan> {
        StudySpec {
            name: "s".into(),
            workload: "w".into(),
            executors: vec![1, 2],
            cores: vec![1],
            memory: vec!["1g".into()],
            fractions: vec![0.5],
            repetitions: 2,
            timeout_sec: 10,
            data: None,
            params: BTreeMap::new(),
        }
        .runs()
        .unwrap()
    }

    /// Counts what the sinks heard.
    #[derive(Default)]
    struct Counting {
        attempts: usize,
        retries: usize,
        not_retried: usize,
        finished: Vec<usize>,
    }

    impl Sink for &mut Counting {
        fn attempt(&mut self, _: &RunRecord, _: &Store, _: &Output) {
            self.attempts += 1;
        }
        fn retrying(&mut self, _: &RunRecord, _: u32, _: u32, _: &Output) {
            self.retries += 1;
        }
        fn not_retried(&mut self, _: &RunRecord, _: &Output) {
            self.not_retried += 1;
        }
        fn finished(&mut self, _: &RunRecord, _: &Store, p: &sinks::Progress, _: &Output) {
            self.finished.push(p.done);
        }
    }

    #[test]
    fn retries_record_every_attempt_and_resume_skips_recorded_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), "s").unwrap();
        let plan = plan();
        assert_eq!(plan.len(), 4);
        // Every run fails once, then succeeds on its retry.
        let mock = Mock {
            fail_first: 1,
            retryable: true,
            calls: RefCell::new(Vec::new()),
        };
        let mut counting = Counting::default();
        let todo_all = todo(&plan, &[], false);
        let s = run_all(
            &todo_all,
            &mock,
            &store,
            1,
            &mut [Box::new(&mut counting) as Box<dyn Sink>],
        )
        .unwrap();
        assert_eq!(
            s,
            StudySummary {
                ran: 4,
                skipped: 0,
                failed: 0
            }
        );
        assert_eq!(counting.attempts, 8);
        assert_eq!(counting.retries, 4);
        assert_eq!(counting.finished, vec![1, 2, 3, 4]);
        let recs = store.load().unwrap();
        assert_eq!(recs.len(), 8, "each attempt is a record");
        assert_eq!(recs.iter().filter(|r| r.status == RunStatus::Ok).count(), 4);
        // Resuming finds nothing to do.
        assert!(todo(&plan, &recs, false).is_empty());
        assert!(
            todo(&plan, &recs, true).is_empty(),
            "latest attempts are ok"
        );
    }

    #[test]
    fn a_failure_no_retry_can_fix_is_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), "s").unwrap();
        let plan = plan();
        let mock = Mock {
            fail_first: u32::MAX,
            retryable: false,
            calls: RefCell::new(Vec::new()),
        };
        let mut counting = Counting::default();
        let s = run_all(
            &todo(&plan, &[], false),
            &mock,
            &store,
            3,
            &mut [Box::new(&mut counting) as Box<dyn Sink>],
        )
        .unwrap();
        assert_eq!(s.failed, 4);
        assert_eq!(
            mock.calls.borrow().len(),
            4,
            "one attempt per run despite 3 retries"
        );
        assert_eq!((counting.retries, counting.not_retried), (0, 4));
        assert_eq!(store.load().unwrap().len(), 4);
    }

    #[test]
    fn retry_failed_continues_with_the_next_attempt_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), "s").unwrap();
        let plan = plan();
        let never = Mock {
            fail_first: u32::MAX,
            retryable: true,
            calls: RefCell::new(Vec::new()),
        };
        let todo_all = todo(&plan[..2], &[], false);
        let s = run_all(&todo_all, &never, &store, 0, &mut []).unwrap();
        assert_eq!(s.failed, 2);
        let recs = store.load().unwrap();
        // Without --retry-failed the failed pairs count as recorded; with it they come back as
        // attempt 1, and the pairs never run come as attempt 0.
        assert_eq!(todo(&plan, &recs, false).len(), 2);
        let again: Vec<(String, u32)> = todo(&plan, &recs, true)
            .iter()
            .map(|(p, a)| (p.run_id.clone(), *a))
            .collect();
        assert_eq!(
            again,
            vec![
                (plan[0].run_id.clone(), 1),
                (plan[1].run_id.clone(), 1),
                (plan[2].run_id.clone(), 0),
                (plan[3].run_id.clone(), 0),
            ]
        );
        assert_eq!(never.calls.borrow().len(), 2, "no retries with retries = 0");
    }

    #[test]
    fn lanes_keep_their_records_and_sinks_apart_under_one_progress_count() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            Store::open(dir.path(), "c.a").unwrap(),
            Store::open(dir.path(), "c.b").unwrap(),
        );
        let plan = plan();
        let ok = || Mock {
            fail_first: 0,
            retryable: true,
            calls: RefCell::new(Vec::new()),
        };
        let (ma, mb) = (ok(), ok());
        let (mut ca, mut cb) = (Counting::default(), Counting::default());
        // a b, b a, a, b: the order given is the order run.
        let todo = [
            (0, &plan[0], 0),
            (1, &plan[0], 0),
            (1, &plan[1], 0),
            (0, &plan[1], 0),
            (0, &plan[2], 0),
            (1, &plan[2], 0),
        ];
        let mut sa = [Box::new(&mut ca) as Box<dyn Sink>];
        let mut sb = [Box::new(&mut cb) as Box<dyn Sink>];
        let s = run_lanes(
            &todo,
            &mut [
                Lane {
                    launch: &ma,
                    store: &a,
                    sinks: &mut sa,
                },
                Lane {
                    launch: &mb,
                    store: &b,
                    sinks: &mut sb,
                },
            ],
            0,
        )
        .unwrap();
        drop((sa, sb));
        assert_eq!((s.ran, s.failed), (6, 0));
        let ids =
            |m: &Mock| -> Vec<String> { m.calls.borrow().iter().map(|c| c.0.clone()).collect() };
        let want = |ix: [usize; 3]| -> Vec<String> {
            ix.iter().map(|i| plan[*i].run_id.clone()).collect()
        };
        assert_eq!((ids(&ma), ids(&mb)), (want([0, 1, 2]), want([0, 1, 2])));
        assert_eq!(a.load().unwrap().len(), 3);
        assert_eq!(b.load().unwrap().len(), 3);
        // Each lane's sinks hear its own runs, numbered in the one count over both lanes.
        assert_eq!((ca.finished, cb.finished), (vec![1, 4, 5], vec![2, 3, 6]));
    }

    #[test]
    fn the_eta_takes_each_lane_at_its_own_pace() {
        // Ours: 2 runs of 5 s done, 1 left; Spark: 1 run of 150 s done, 2 left.
        assert!((eta(&[1, 2], &[(2, 10.0), (1, 150.0)]) - (5.0 + 300.0)).abs() < 1e-9);
        // A lane with nothing finished yet goes at the mean of all: (10 + 150) / 3 s a run.
        assert!((eta(&[0, 0, 3], &[(2, 10.0), (1, 150.0), (0, 0.0)]) - 160.0).abs() < 1e-9);
        assert_eq!(eta(&[0], &[(0, 0.0)]), 0.0);
    }
}
