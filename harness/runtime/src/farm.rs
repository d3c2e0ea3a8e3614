//! The task farm: independent tasks handed to free slots on every executor over MPI.
//!
//! Task-parallel workloads (wine's TPE trials, gbm-folds' fold × grid tasks) all run the same
//! way: every executor offers `cores / threads_per_task` slots; rank 0 asks
//! its [`TaskSource`] for a task the moment a slot frees, sends it to that slot's executor
//! (point-to-point, JSON through [`World`]) or queues it on its own slots, and collects results
//! in completion order. Each task is recorded with its executor (rank), slot, the time it was
//! handed out and came back (rank 0's clock, seconds since the farm started) and the seconds it
//! ran on its slot.
//!
//! Slots are worker threads of a [`std::thread::scope`] fed through `crossbeam-channel`
//! (multi-consumer: a free thread takes the next queued task), so the work function may borrow
//! the executor's data. Only the main thread calls MPI (`MPI_THREAD_FUNNELED`). A task that
//! returns an error — or panics — is a failed [`TaskRecord`]; the other tasks go on.
//!
//! Shapes: `T` (a task) and `R` (its result) travel as JSON between executors, so both are
//! `Serialize + DeserializeOwned`; `R` may be large (a model's text), it is sent once.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::progress::ProgressFile;
use crate::world::World;

/// Where rank 0 gets tasks from: asked when a slot frees, told when a task finishes.
///
/// A source that decides the next task from results so far (TPE) implements both; a fixed list
/// is a [`VecDeque`], which implements this trait.
pub trait TaskSource<T, R> {
    /// The next task to hand out, or `None` when there are no more (the farm then waits for
    /// the tasks in flight and ends).
    fn next_task(&mut self) -> Option<T>;

    /// Task `id` (the order it was handed out, from 0) finished with `result`.
    fn finished(&mut self, _id: u32, _result: &Result<R, String>) {}

    /// Tasks still to hand out, when known (for the run's progress display).
    fn remaining(&self) -> Option<usize> {
        None
    }
}

impl<T, R> TaskSource<T, R> for VecDeque<T> {
    fn next_task(&mut self) -> Option<T> {
        self.pop_front()
    }

    fn remaining(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// How tasks map onto executors' threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FarmConfig {
    /// Threads one task uses; an executor with `cores` cores offers
    /// `max(1, cores / threads_per_task)` slots.
    pub threads_per_task: u32,
    /// Cap on tasks in flight over all executors (`None`: every slot).
    pub parallelism: Option<u32>,
    /// Where rank 0 writes its progress after every finished task
    /// ([`crate::ExecutorContext::progress_path`]); `None`: nowhere.
    pub progress: Option<std::path::PathBuf>,
}

impl Default for FarmConfig {
    fn default() -> Self {
        FarmConfig {
            threads_per_task: 1,
            parallelism: None,
            progress: None,
        }
    }
}

/// Slots of each rank: `max(1, cores / threads_per_task)` per rank, capped to `parallelism`
/// in all by taking slots round-robin over ranks (so a cap of 3 over 2 ranks gives `[2, 1]`).
pub fn slot_plan(size: u32, cores: u32, cfg: &FarmConfig) -> Vec<u32> {
    let per_rank = (cores / cfg.threads_per_task.max(1)).max(1);
    let cap = cfg
        .parallelism
        .unwrap_or(u32::MAX)
        .max(1)
        .min(per_rank * size);
    let mut plan = vec![0u32; size as usize];
    for k in 0..cap {
        plan[(k % size) as usize] += 1;
    }
    plan
}

/// One finished task, as rank 0 saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord<T, R> {
    /// Order in which the task was handed out, from 0.
    pub id: u32,
    pub task: T,
    /// Executor (rank) and slot (0-based within the executor) that ran it.
    pub rank: u32,
    pub slot: u32,
    /// Seconds since the farm started (rank 0's clock) when the task was handed out and when
    /// its result reached rank 0.
    pub dispatched_sec: f64,
    pub finished_sec: f64,
    /// Seconds the task ran on its slot (the executor's clock).
    pub seconds: f64,
    /// What the work function returned; `Err` with the message for a failed or panicked task.
    pub result: Result<R, String>,
}

/// What the farm reports at rank 0.
#[derive(Debug, Clone, PartialEq)]
pub struct FarmOutcome<T, R> {
    /// Every task, in the order their results reached rank 0.
    pub tasks: Vec<TaskRecord<T, R>>,
    /// Slots per rank ([`slot_plan`]).
    pub slots: Vec<u32>,
    /// Seconds from the first hand-out to the last result.
    pub wall_sec: f64,
    /// CPU seconds and voluntary context switches of rank 0's coordinating thread over the
    /// farm (see [`harness_core::record::FarmStats::coordinator_cpu_sec`]).
    pub coordinator_cpu_sec: f64,
    pub coordinator_wakeups: u64,
    /// CPU seconds of rank 0's looks for results that found none, and how many there were
    /// (`None` with one executor: it never polls).
    pub coordinator_poll: Option<(f64, u64)>,
}

impl<T, R> FarmOutcome<T, R> {
    /// Slots over all executors.
    pub fn total_slots(&self) -> u32 {
        self.slots.iter().sum()
    }

    /// Finished tasks per second of wall time.
    pub fn tasks_per_sec(&self) -> f64 {
        self.tasks.len() as f64 / self.wall_sec.max(f64::MIN_POSITIVE)
    }

    /// Busy share of the slots: Σ task seconds / (slots × wall seconds), in [0, 1].
    pub fn utilisation(&self) -> f64 {
        let busy: f64 = self.tasks.iter().map(|t| t.seconds).sum();
        busy / (f64::from(self.total_slots()) * self.wall_sec).max(f64::MIN_POSITIVE)
    }

    /// Failed tasks.
    pub fn failed(&self) -> usize {
        self.tasks.iter().filter(|t| t.result.is_err()).count()
    }

    /// The tasks' placement and timing without their payloads, for the run record.
    pub fn spans(&self) -> harness_core::record::FarmStats {
        harness_core::record::FarmStats {
            slots: self.slots.clone(),
            wall_sec: self.wall_sec,
            coordinator_cpu_sec: Some(self.coordinator_cpu_sec),
            coordinator_wakeups: Some(self.coordinator_wakeups),
            coordinator_poll_cpu_sec: self.coordinator_poll.map(|p| p.0),
            coordinator_empty_polls: self.coordinator_poll.map(|p| p.1),
            tasks: self
                .tasks
                .iter()
                .map(|t| harness_core::record::TaskSpan {
                    id: t.id,
                    rank: t.rank,
                    slot: t.slot,
                    dispatched_sec: t.dispatched_sec,
                    finished_sec: t.finished_sec,
                    seconds: t.seconds,
                    ok: t.result.is_ok(),
                })
                .collect(),
        }
    }
}

/// Messages between rank 0 and the other executors.
#[derive(Serialize, Deserialize)]
enum Msg<T, R> {
    /// Rank 0 → executor: run this task.
    Run { id: u32, task: T },
    /// Executor → rank 0: a finished task.
    Done(Finished<R>),
    /// Rank 0 → executor: no more tasks.
    Stop,
}

#[derive(Serialize, Deserialize)]
struct Finished<R> {
    id: u32,
    slot: u32,
    seconds: f64,
    result: Result<R, String>,
}

/// How long the main thread waits for a local result before it polls MPI again.
const POLL: Duration = Duration::from_millis(1);

/// How long a follower without slots sleeps between looks for rank 0's `Stop` (the only
/// message it can get): its wait costs no CPU, and the farm ends at most this much later.
const IDLE_POLL: Duration = Duration::from_millis(10);

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("task panicked: {text}")
}

/// Runs the farm on every executor. Rank 0 returns `Some(outcome)`; the other executors run
/// what rank 0 sends them and return `None`. `source` is only used at rank 0 (the others may
/// pass an empty one). `work` runs on the slots' threads: `work(&task)` → result.
///
/// # Panics
/// If a message between executors does not deserialise (a bug: all ranks run one binary).
pub fn run<T, R, S, W>(
    world: &World,
    cores: u32,
    cfg: &FarmConfig,
    source: &mut S,
    work: W,
) -> Option<FarmOutcome<T, R>>
where
    T: Serialize + DeserializeOwned + Clone + Send,
    R: Serialize + DeserializeOwned + Send,
    S: TaskSource<T, R> + ?Sized,
    W: Fn(&T) -> Result<R, String> + Sync,
{
    let plan = slot_plan(world.size(), cores, cfg);
    let mine = plan[world.rank() as usize];
    let (job_tx, job_rx) = unbounded::<(u32, T)>();
    let (done_tx, done_rx) = unbounded::<Finished<R>>();
    std::thread::scope(|scope| {
        for slot in 0..mine {
            let (jobs, done, work) = (job_rx.clone(), done_tx.clone(), &work);
            scope.spawn(move || {
                for (id, task) in jobs.iter() {
                    let t = Instant::now();
                    let result = catch_unwind(AssertUnwindSafe(|| work(&task)))
                        .unwrap_or_else(|p| Err(panic_message(p)));
                    let f = Finished {
                        id,
                        slot,
                        seconds: t.elapsed().as_secs_f64(),
                        result,
                    };
                    if done.send(f).is_err() {
                        break;
                    }
                }
                // Keep this thread's run-queue wait in the phase's kernel counters.
                crate::kernel::retire_thread();
            });
        }
        drop(done_tx);
        let outcome = if world.is_root() {
            let progress = cfg.progress.clone().map(|p| ProgressFile::new(p, "tasks"));
            Some(lead(world, &plan, source, &job_tx, &done_rx, progress))
        } else {
            follow(world, mine, &job_tx, &done_rx);
            None
        };
        // Closing the queue ends the slots' threads; the scope joins them.
        drop(job_tx);
        outcome
    })
}

/// Rank 0: hand out tasks to free slots, collect results, then stop the others.
fn lead<T, R, S>(
    world: &World,
    plan: &[u32],
    source: &mut S,
    local: &Sender<(u32, T)>,
    done: &Receiver<Finished<R>>,
    progress: Option<ProgressFile>,
) -> FarmOutcome<T, R>
where
    T: Serialize + DeserializeOwned + Clone,
    R: Serialize + DeserializeOwned,
    S: TaskSource<T, R> + ?Sized,
{
    let start = Instant::now();
    let (cpu0, wakeups0) = crate::kernel::thread_usage();
    let mut free = plan.to_vec();
    // (rank, task, dispatched_sec) by task id.
    let mut dispatched: Vec<(u32, T, f64)> = Vec::new();
    let mut tasks = Vec::new();
    let mut exhausted = false;
    let mut in_flight = 0u32;
    let mut failed = 0u64;
    // Empty looks for results: their CPU (ns) and count.
    let (mut poll_ns, mut empty_polls) = (0u64, 0u64);
    loop {
        // Hand out a task to every free slot, asking the source at that moment.
        'ranks: for rank in 0..world.size() {
            while free[rank as usize] > 0 && !exhausted {
                let Some(task) = source.next_task() else {
                    exhausted = true;
                    break 'ranks;
                };
                let id = dispatched.len() as u32;
                dispatched.push((rank, task.clone(), start.elapsed().as_secs_f64()));
                if rank == 0 {
                    local.send((id, task)).expect("slot threads alive");
                } else {
                    world.send_json(rank, &Msg::<T, R>::Run { id, task });
                }
                free[rank as usize] -= 1;
                in_flight += 1;
            }
        }
        if exhausted && in_flight == 0 {
            break;
        }
        let mut arrived: Vec<(u32, Finished<R>)> = Vec::new();
        if world.size() == 1 {
            // Nothing to poll over MPI: wait for the slots.
            if let Ok(f) = done.recv() {
                arrived.push((0, f));
            }
        } else {
            let cpu = crate::kernel::thread_cpu_ns();
            match done.recv_timeout(POLL) {
                Ok(f) => arrived.push((0, f)),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
            }
            while let Some((src, msg)) = world.try_recv_json::<Msg<T, R>>() {
                if let Msg::Done(f) = msg {
                    arrived.push((src, f));
                }
            }
            if arrived.is_empty() {
                poll_ns += crate::kernel::thread_cpu_ns().saturating_sub(cpu);
                empty_polls += 1;
            }
        }
        arrived.extend(done.try_iter().map(|f| (0, f)));
        let any = !arrived.is_empty();
        for (src, f) in arrived {
            let (rank, task, dispatched_sec) = dispatched[f.id as usize].clone();
            debug_assert_eq!(rank, src, "a result comes from the rank its task went to");
            free[rank as usize] += 1;
            in_flight -= 1;
            source.finished(f.id, &f.result);
            failed += u64::from(f.result.is_err());
            tasks.push(TaskRecord {
                id: f.id,
                task,
                rank,
                slot: f.slot,
                dispatched_sec,
                finished_sec: start.elapsed().as_secs_f64(),
                seconds: f.seconds,
                result: f.result,
            });
        }
        if let (true, Some(p)) = (any, &progress) {
            let done = tasks.len() as u64;
            let total = source
                .remaining()
                .map(|r| done + u64::from(in_flight) + r as u64);
            p.write(done, total, failed);
        }
    }
    let wall_sec = start.elapsed().as_secs_f64();
    for rank in 1..world.size() {
        world.send_json(rank, &Msg::<T, R>::Stop);
    }
    let (cpu1, wakeups1) = crate::kernel::thread_usage();
    FarmOutcome {
        tasks,
        slots: plan.to_vec(),
        wall_sec,
        coordinator_cpu_sec: cpu1 - cpu0,
        coordinator_wakeups: wakeups1.saturating_sub(wakeups0),
        coordinator_poll: (world.size() > 1).then_some((poll_ns as f64 * 1e-9, empty_polls)),
    }
}

/// Other ranks: run what rank 0 sends, report each result back, until `Stop`.
///
/// While all `slots` are busy nothing can come from rank 0 (it sends `Run` only to a free slot
/// and `Stop` only when no task is in flight), so the main thread sleeps until a slot finishes
/// instead of polling MPI: a thread waking every [`POLL`] would take turns with the tasks on
/// the executor's cores and show up as their run-queue wait.
fn follow<T, R>(world: &World, slots: u32, local: &Sender<(u32, T)>, done: &Receiver<Finished<R>>)
where
    T: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned,
{
    if slots == 0 {
        // No slot threads: `done` is already disconnected, so waiting on it would return at
        // once and the loop would spin on MPI. Rank 0 sends nothing but `Stop`.
        loop {
            match world.try_recv_json::<Msg<T, R>>() {
                Some((_, Msg::Stop)) => return,
                Some(_) => unreachable!("rank 0 sends no task to a rank without slots"),
                None => std::thread::sleep(IDLE_POLL),
            }
        }
    }
    let mut busy = 0u32;
    loop {
        let first = if busy == slots {
            done.recv().ok()
        } else {
            done.recv_timeout(POLL).ok()
        };
        for f in first.into_iter().chain(done.try_iter()) {
            world.send_json(0, &Msg::<T, R>::Done(f));
            busy -= 1;
        }
        while let Some((_, msg)) = world.try_recv_json::<Msg<T, R>>() {
            match msg {
                Msg::Run { id, task } => {
                    local.send((id, task)).expect("slot threads alive");
                    busy += 1;
                }
                Msg::Stop => return,
                Msg::Done(_) => unreachable!("only rank 0 receives results"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_plan_caps_parallelism_round_robin() {
        let c = FarmConfig::default();
        assert_eq!(slot_plan(2, 1, &c), vec![1, 1]);
        assert_eq!(slot_plan(2, 4, &c), vec![4, 4]);
        let two = FarmConfig {
            threads_per_task: 2,
            ..c.clone()
        };
        assert_eq!(slot_plan(3, 4, &two), vec![2, 2, 2]);
        assert_eq!(slot_plan(1, 1, &two), vec![1], "at least one slot");
        let capped = FarmConfig {
            parallelism: Some(3),
            ..c.clone()
        };
        assert_eq!(slot_plan(2, 4, &capped), vec![2, 1]);
        assert_eq!(slot_plan(1, 1, &capped), vec![1]);
    }

    #[test]
    fn one_executor_runs_every_task_once_and_survives_failures() {
        // A world of size 1 (MPI singleton): the farm's queue, slots and failure handling.
        let world = World::init().expect("MPI singleton");
        let dir = tempfile::tempdir().unwrap();
        let progress = dir.path().join("run.outcome.json.progress");
        let mut queue: VecDeque<u32> = (0..40).collect();
        let out = run(
            &world,
            4,
            &FarmConfig {
                progress: Some(progress.clone()),
                ..FarmConfig::default()
            },
            &mut queue,
            |&n: &u32| -> Result<u64, String> {
                match n % 10 {
                    3 => Err(format!("task {n} refuses")),
                    7 => panic!("task {n} panics"),
                    _ => {
                        std::thread::sleep(Duration::from_millis(u64::from(n % 4)));
                        Ok(u64::from(n) * 2)
                    }
                }
            },
        )
        .expect("rank 0");
        assert_eq!(out.slots, vec![4]);
        let mut ids: Vec<u32> = out.tasks.iter().map(|t| t.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..40).collect::<Vec<_>>(), "each task exactly once");
        for t in &out.tasks {
            assert_eq!(t.id, t.task, "a fixed queue hands tasks out in order");
            match t.task % 10 {
                3 => assert_eq!(t.result, Err(format!("task {} refuses", t.task))),
                7 => assert!(
                    t.result.as_ref().unwrap_err().contains("panics"),
                    "{:?}",
                    t.result
                ),
                _ => assert_eq!(t.result, Ok(u64::from(t.task) * 2)),
            }
            assert!(t.slot < 4 && t.rank == 0);
            assert!(t.finished_sec >= t.dispatched_sec);
        }
        assert_eq!(out.failed(), 8);
        // The last progress written says everything is done.
        let p = crate::progress::read(&progress).expect("progress written");
        assert_eq!((p.done, p.total, p.failed), (40, Some(40), 8));
        // Completion order: results are listed as they came back.
        assert!(out
            .tasks
            .windows(2)
            .all(|w| w[0].finished_sec <= w[1].finished_sec));
        let u = out.utilisation();
        assert!(u > 0.0 && u <= 1.0 + 1e-9, "utilisation {u}");
    }
}
