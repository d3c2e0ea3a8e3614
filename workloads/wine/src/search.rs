//! The hyperparameter search: TPE over LightGBM GBDT models, farmed to free slots on all
//! executors over MPI.
//!
//! Reference (DESIGN.md, wine; the MLflow/hyperopt wine-quality notebook): `max_depth`
//! U{4..100}, `learning_rate` e^U(−3,0), `reg_alpha` e^U(−5,−1), `reg_lambda` e^U(−6,−1),
//! `min_child_weight` e^U(−1,3); 1000 boosting rounds with early stopping after 50 rounds
//! without improvement of the test AUC; 96 evaluations; loss = −AUC.
//!
//! TPE (Bergstra et al., "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011) comes from
//! the `tpe` crate, one optimiser per dimension on the log scale of the log-uniform ones, as
//! hyperopt does. The first [`SearchConfig::startup`] trials are drawn at random (hyperopt's
//! `n_startup_jobs` = 20); later ones ask TPE with every result told so far. Trials still
//! running are not told, as with hyperopt's `SparkTrials`.
//!
//! Farming (DESIGN.md, Engine): every executor offers `cores / threads_per_task` slots; rank 0
//! keeps at most `parallelism` trials in flight, hands a new trial to a slot as soon as it frees
//! and asks TPE for it at that moment. Trials run on helper threads; only the main thread talks
//! MPI (point-to-point JSON messages through [`World`]).
//!
//! LightGBM mapping of the xgboost names: `reg_alpha` → `lambda_l1`, `reg_lambda` →
//! `lambda_l2`, `min_child_weight` → `min_sum_hessian_in_leaf`; `num_leaves` = 2^min(depth, 12)
//! so the depth, not LightGBM's default of 31 leaves, bounds the tree as in xgboost.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use harness_core::classify::roc_auc;
use harness_runtime::World;
use lightgbm3::{Booster, Dataset};
use rand08::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::data::{WineData, FEATURES};

/// Search settings, reference defaults in [`Default`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    /// Trials in all (96).
    pub evaluations: u32,
    /// Boosting rounds per trial (1000).
    pub rounds: u32,
    /// Early stopping patience in rounds (50).
    pub early_stopping: u32,
    /// LightGBM threads per trial; an executor offers `cores / threads_per_task` slots.
    pub threads_per_task: u32,
    /// Cap on concurrent trials over all executors (`None`: every free slot).
    pub parallelism: Option<u32>,
    /// Random trials before TPE takes over (hyperopt's default 20).
    pub startup: u32,
    /// Seed of TPE's sampler and of LightGBM.
    pub seed: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            evaluations: 96,
            rounds: 1000,
            early_stopping: 50,
            threads_per_task: 1,
            parallelism: None,
            startup: 20,
            seed: 123,
        }
    }
}

/// One point of the search space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrialParams {
    pub max_depth: u32,
    pub learning_rate: f64,
    pub reg_alpha: f64,
    pub reg_lambda: f64,
    pub min_child_weight: f64,
}

impl TrialParams {
    /// LightGBM parameters of a trial (binary objective, AUC metric, early stopping).
    pub fn lightgbm(&self, cfg: &SearchConfig) -> serde_json::Value {
        json!({
            "objective": "binary",
            "metric": "auc",
            "num_iterations": cfg.rounds,
            "early_stopping_rounds": cfg.early_stopping,
            "max_depth": self.max_depth,
            "num_leaves": 1u32 << self.max_depth.min(12),
            "learning_rate": self.learning_rate,
            "lambda_l1": self.reg_alpha,
            "lambda_l2": self.reg_lambda,
            "min_sum_hessian_in_leaf": self.min_child_weight,
            "num_threads": cfg.threads_per_task,
            "seed": cfg.seed,
            "deterministic": true,
            "force_row_wise": true,
            "verbosity": -1,
        })
    }
}

/// The search space as (low, high) of each TPE dimension: max_depth on [4, 101) floored,
/// the others as natural logarithms.
const SPACE: [(f64, f64); 5] = [
    (4.0, 101.0),
    (-3.0, 0.0),
    (-5.0, -1.0),
    (-6.0, -1.0),
    (-1.0, 3.0),
];

fn params_of(x: [f64; 5]) -> TrialParams {
    TrialParams {
        max_depth: (x[0].floor() as u32).clamp(4, 100),
        learning_rate: x[1].exp(),
        reg_alpha: x[2].exp(),
        reg_lambda: x[3].exp(),
        min_child_weight: x[4].exp(),
    }
}

/// TPE over [`SPACE`] with a seeded sampler.
pub struct Tpe {
    dims: Vec<tpe::TpeOptimizer>,
    rng: rand08::rngs::StdRng,
    told: u32,
    startup: u32,
    /// Raw coordinates of asked trials, by trial id.
    asked: Vec<[f64; 5]>,
}

impl Tpe {
    /// A new sampler; the first `startup` trials are uniform draws.
    pub fn new(seed: u64, startup: u32) -> Self {
        let dims = SPACE
            .iter()
            .map(|&(lo, hi)| {
                tpe::TpeOptimizer::new(
                    tpe::parzen_estimator(),
                    tpe::range(lo, hi).expect("lo < hi"),
                )
            })
            .collect();
        Tpe {
            dims,
            rng: rand08::rngs::StdRng::seed_from_u64(seed),
            told: 0,
            startup,
            asked: Vec::new(),
        }
    }

    /// The next trial; its id is the number of trials asked before it.
    pub fn ask(&mut self) -> (u32, TrialParams) {
        let mut x = [0.0; 5];
        for (d, (opt, &(lo, hi))) in self.dims.iter_mut().zip(&SPACE).enumerate() {
            x[d] = if self.told < self.startup {
                self.rng.gen_range(lo..hi)
            } else {
                opt.ask(&mut self.rng)
                    .expect("parzen estimator over a valid range")
            };
        }
        self.asked.push(x);
        ((self.asked.len() - 1) as u32, params_of(x))
    }

    /// Reports the loss (−AUC) of trial `id`.
    pub fn tell(&mut self, id: u32, loss: f64) {
        let x = self.asked[id as usize];
        for (opt, v) in self.dims.iter_mut().zip(x) {
            opt.tell(v, loss)
                .expect("asked values lie in range and loss is not NaN");
        }
        self.told += 1;
    }
}

/// The outcome of one trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub id: u32,
    pub params: TrialParams,
    /// Test ROC AUC of the early-stopped model (NaN when the trial failed).
    pub auc: f64,
    /// Boosting rounds kept after early stopping.
    pub rounds: u32,
    /// Seconds the trial ran on its slot (dataset + training + prediction).
    pub seconds: f64,
    /// Executor (rank) and slot that ran it.
    pub rank: u32,
    pub slot: u32,
    /// Seconds since the search started (rank 0's clock) when it was handed out / came back.
    pub dispatched_sec: f64,
    pub finished_sec: f64,
    /// Why the trial failed, if it did.
    pub error: Option<String>,
}

/// Trains one trial on `train`, early-stopping on `test`.
///
/// # Errors
/// LightGBM's errors, or an AUC that cannot be computed.
pub fn evaluate(
    train: &WineData,
    test: &WineData,
    params: &TrialParams,
    cfg: &SearchConfig,
) -> Result<(f64, u32, Booster), String> {
    let n = FEATURES.len() as i32;
    let e = |e: lightgbm3::Error| e.to_string();
    let dtrain = Dataset::from_slice(&train.features, &train.labels_f32(), n, true).map_err(e)?;
    let dtest = Dataset::from_slice_with_reference(
        &test.features,
        &test.labels_f32(),
        n,
        true,
        Some(&dtrain),
    )
    .map_err(e)?;
    let booster =
        Booster::train_with_valid(dtrain, Some(dtest), &params.lightgbm(cfg)).map_err(e)?;
    let scores = booster.predict(&test.features, n, true).map_err(e)?;
    let auc = roc_auc(&scores, &test.labels).ok_or("test AUC undefined (one class only)")?;
    Ok((auc, booster.num_iterations() as u32, booster))
}

/// Messages between rank 0 and the other executors.
#[derive(Debug, Serialize, Deserialize)]
enum Msg {
    /// Rank 0 → executor: run this trial.
    Run { id: u32, params: TrialParams },
    /// Executor → rank 0: a finished trial (with its model text when it succeeded).
    Done(Box<Finished>),
    /// Rank 0 → executor: no more trials.
    Stop,
}

#[derive(Debug, Serialize, Deserialize)]
struct Finished {
    id: u32,
    slot: u32,
    auc: f64,
    rounds: u32,
    seconds: f64,
    error: Option<String>,
    model: Option<String>,
}

/// A pool of helper threads running trials on this executor.
struct Pool {
    jobs: Option<mpsc::Sender<(u32, TrialParams)>>,
    results: mpsc::Receiver<Finished>,
    handles: Vec<thread::JoinHandle<()>>,
}

impl Pool {
    fn new(slots: u32, train: Arc<WineData>, test: Arc<WineData>, cfg: &SearchConfig) -> Self {
        let (job_tx, job_rx) = mpsc::channel::<(u32, TrialParams)>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (res_tx, results) = mpsc::channel();
        let handles = (0..slots)
            .map(|slot| {
                let (job_rx, res_tx) = (job_rx.clone(), res_tx.clone());
                let (train, test, cfg) = (train.clone(), test.clone(), cfg.clone());
                thread::spawn(move || loop {
                    let next = job_rx.lock().expect("job queue").recv();
                    let Ok((id, params)) = next else { break };
                    let t = Instant::now();
                    let out =
                        evaluate(&train, &test, &params, &cfg).and_then(|(auc, rounds, b)| {
                            Ok((auc, rounds, b.save_string().map_err(|e| e.to_string())?))
                        });
                    let seconds = t.elapsed().as_secs_f64();
                    let f = match out {
                        Ok((auc, rounds, model)) => Finished {
                            id,
                            slot,
                            auc,
                            rounds,
                            seconds,
                            error: None,
                            model: Some(model),
                        },
                        Err(e) => Finished {
                            id,
                            slot,
                            auc: f64::NAN,
                            rounds: 0,
                            seconds,
                            error: Some(e),
                            model: None,
                        },
                    };
                    if res_tx.send(f).is_err() {
                        break;
                    }
                })
            })
            .collect();
        Pool {
            jobs: Some(job_tx),
            results,
            handles,
        }
    }

    fn submit(&self, id: u32, params: TrialParams) {
        self.jobs
            .as_ref()
            .expect("pool open")
            .send((id, params))
            .expect("pool threads alive");
    }

    fn close(mut self) {
        self.jobs = None;
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// What the search reports at rank 0.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// Every trial, in id order.
    pub trials: Vec<Trial>,
    /// Id of the best trial (highest AUC, then lowest id).
    pub best: Option<u32>,
    /// LightGBM model text of the best trial.
    pub best_model: Option<String>,
    /// Wall-clock seconds from the first hand-out to the last result.
    pub wall_sec: f64,
    /// Concurrent slots used (min of all slots and `parallelism`).
    pub slots: u32,
}

impl SearchOutcome {
    /// Trials per second of wall-clock time.
    pub fn trials_per_sec(&self) -> f64 {
        self.trials.len() as f64 / self.wall_sec.max(f64::MIN_POSITIVE)
    }

    /// Busy share of the slots: Σ trial seconds / (slots × wall seconds), in [0, 1].
    pub fn utilisation(&self) -> f64 {
        let busy: f64 = self.trials.iter().map(|t| t.seconds).sum();
        busy / (f64::from(self.slots) * self.wall_sec).max(f64::MIN_POSITIVE)
    }

    /// The best trial.
    pub fn best_trial(&self) -> Option<&Trial> {
        self.best.map(|b| &self.trials[b as usize])
    }
}

/// Slots each rank may run at once: `cores / threads_per_task` (at least 1) per rank, capped
/// to `parallelism` in all by taking slots round-robin over ranks.
pub fn slot_plan(size: u32, cores: u32, cfg: &SearchConfig) -> Vec<u32> {
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

const IDLE_POLL: Duration = Duration::from_millis(1);

/// Runs the search on every executor. Rank 0 returns `Some(outcome)`, the others `None`.
pub fn run(
    world: &World,
    cores: u32,
    train: WineData,
    test: WineData,
    cfg: &SearchConfig,
) -> Option<SearchOutcome> {
    let plan = slot_plan(world.size(), cores, cfg);
    let mine = plan[world.rank() as usize];
    let pool = Pool::new(mine, Arc::new(train), Arc::new(test), cfg);
    if !world.is_root() {
        // Executor: run what rank 0 sends, report back, until Stop.
        loop {
            let mut idle = true;
            if let Ok(f) = pool.results.try_recv() {
                world.send_json(0, &Msg::Done(Box::new(f)));
                idle = false;
            }
            if let Some((_, msg)) = world.try_recv_json::<Msg>() {
                match msg {
                    Msg::Run { id, params } => pool.submit(id, params),
                    Msg::Stop => break,
                    Msg::Done(_) => unreachable!("only rank 0 receives results"),
                }
                idle = false;
            }
            if idle {
                thread::sleep(IDLE_POLL);
            }
        }
        pool.close();
        return None;
    }

    let mut tpe = Tpe::new(cfg.seed, cfg.startup);
    let mut free: Vec<u32> = plan.clone();
    let mut trials: Vec<Option<Trial>> = Vec::new();
    let mut dispatched: Vec<(u32, TrialParams, f64)> = Vec::new();
    let mut best: Option<(f64, u32, String)> = None;
    let mut pending: VecDeque<(u32, Finished)> = VecDeque::new();
    let (mut asked, mut done) = (0u32, 0u32);
    let start = Instant::now();
    while done < cfg.evaluations {
        // Hand out trials to free slots, asking TPE at the moment a slot frees.
        for rank in 0..world.size() {
            while free[rank as usize] > 0 && asked < cfg.evaluations {
                let (id, params) = tpe.ask();
                dispatched.push((rank, params, start.elapsed().as_secs_f64()));
                if rank == 0 {
                    pool.submit(id, params);
                } else {
                    world.send_json(rank, &Msg::Run { id, params });
                }
                free[rank as usize] -= 1;
                asked += 1;
            }
        }
        while let Ok(f) = pool.results.try_recv() {
            pending.push_back((0, f));
        }
        while let Some((src, msg)) = world.try_recv_json::<Msg>() {
            if let Msg::Done(f) = msg {
                pending.push_back((src, *f));
            }
        }
        if pending.is_empty() {
            thread::sleep(IDLE_POLL);
            continue;
        }
        while let Some((src, f)) = pending.pop_front() {
            let (rank, params, dispatched_sec) = dispatched[f.id as usize];
            debug_assert_eq!(rank, src);
            free[src as usize] += 1;
            done += 1;
            tpe.tell(f.id, if f.auc.is_finite() { -f.auc } else { 0.0 });
            if let Some(model) = f.model {
                if best
                    .as_ref()
                    .is_none_or(|(a, id, _)| f.auc > *a || (f.auc == *a && f.id < *id))
                {
                    best = Some((f.auc, f.id, model));
                }
            }
            let trial = Trial {
                id: f.id,
                params,
                auc: f.auc,
                rounds: f.rounds,
                seconds: f.seconds,
                rank: src,
                slot: f.slot,
                dispatched_sec,
                finished_sec: start.elapsed().as_secs_f64(),
                error: f.error,
            };
            if trials.len() <= f.id as usize {
                trials.resize(f.id as usize + 1, None);
            }
            trials[f.id as usize] = Some(trial);
        }
    }
    let wall_sec = start.elapsed().as_secs_f64();
    for rank in 1..world.size() {
        world.send_json(rank, &Msg::Stop);
    }
    pool.close();
    let (best, best_model) = match best {
        Some((_, id, model)) => (Some(id), Some(model)),
        None => (None, None),
    };
    Some(SearchOutcome {
        trials: trials
            .into_iter()
            .map(|t| t.expect("every trial finished"))
            .collect(),
        best,
        best_model,
        wall_sec,
        slots: plan.iter().sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_plan_caps_parallelism_round_robin() {
        let c = SearchConfig::default();
        assert_eq!(slot_plan(2, 1, &c), vec![1, 1]);
        assert_eq!(slot_plan(2, 4, &c), vec![4, 4]);
        let two = SearchConfig {
            threads_per_task: 2,
            ..c.clone()
        };
        assert_eq!(slot_plan(3, 4, &two), vec![2, 2, 2]);
        let capped = SearchConfig {
            parallelism: Some(3),
            ..c.clone()
        };
        assert_eq!(slot_plan(2, 4, &capped), vec![2, 1]);
        assert_eq!(slot_plan(1, 1, &capped), vec![1]);
    }

    #[test]
    fn tpe_samples_stay_in_the_reference_space_and_concentrate() {
        let mut t = Tpe::new(1, 20);
        let mut lr_late = Vec::new();
        for i in 0..120 {
            let (id, p) = t.ask();
            assert_eq!(id, i);
            assert!((4..=100).contains(&p.max_depth));
            assert!(p.learning_rate >= (-3f64).exp() && p.learning_rate <= 1.0);
            assert!(p.reg_alpha >= (-5f64).exp() && p.reg_alpha <= (-1f64).exp());
            assert!(p.reg_lambda >= (-6f64).exp() && p.reg_lambda <= (-1f64).exp());
            assert!(p.min_child_weight >= (-1f64).exp() && p.min_child_weight <= 3f64.exp());
            // A loss with its minimum at learning_rate = e^-2.5: TPE should move towards it.
            let loss = (p.learning_rate.ln() + 2.5).abs();
            if i >= 80 {
                lr_late.push(p.learning_rate.ln());
            }
            t.tell(id, loss);
        }
        let mean = lr_late.iter().sum::<f64>() / lr_late.len() as f64;
        // Uniform sampling would average −1.5.
        assert!((mean + 2.5).abs() < 0.5, "late mean ln(lr) {mean}");
    }
}
