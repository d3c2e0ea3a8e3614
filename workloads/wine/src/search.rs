//! The hyperparameter search: TPE over gradient-boosted tree models — LightGBM or XGBoost
//! ([`Engine`]) — farmed to free slots on all executors over MPI.
//!
//! Reference (the MLflow/hyperopt wine-quality notebook): `max_depth`
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
//! Farming: the runtime's task farm ([`harness_runtime::farm`]) — every executor offers
//! `cores / threads_per_task` slots; rank 0 keeps at most `parallelism` trials in flight, hands
//! a new trial to a slot as soon as it frees and asks TPE for it at that moment. This module
//! keeps only TPE and the objective.
//!
//! XGBoost ([`Engine::XgBoost`], the reference's library): the notebook's parameters as they
//! are — `objective = binary:logistic`, `eval_metric = auc`, `tree_method = hist`,
//! `max_depth`, `eta` (= `learning_rate`), `alpha` (= `reg_alpha`), `lambda` (= `reg_lambda`),
//! `min_child_weight`, `nthread` = the slot's threads — trained by [`harness_xgboost::train`],
//! which stops as `xgboost.train(early_stopping_rounds=50)` does and keeps the best rounds.
//!
//! LightGBM ([`Engine::LightGbm`], the default) maps the xgboost names: `reg_alpha` →
//! `lambda_l1`, `reg_lambda` → `lambda_l2`, `min_child_weight` → `min_sum_hessian_in_leaf`;
//! `num_leaves` = 2^min(depth, 12) so the depth, not LightGBM's default of 31 leaves, bounds
//! the tree as in xgboost.
//!
//! Either way a trial's AUC is computed by [`roc_auc`] from the kept model's predictions of the
//! test split, the same computation `harness predict` applies to the saved model.

use harness_core::classify::roc_auc;
use harness_core::record::FarmStats;
use harness_runtime::farm::{self, FarmConfig, TaskSource};
use harness_runtime::World;
use lightgbm3::{Booster, Dataset};
use rand08::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::data::{WineData, FEATURES};

pub use harness_runtime::engine::Engine;

/// Search settings, reference defaults in [`Default`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    /// The library trials train with (LightGBM).
    pub engine: Engine,
    /// Trials in all (96).
    pub evaluations: u32,
    /// Boosting rounds per trial (1000).
    pub rounds: u32,
    /// Early stopping patience in rounds (50).
    pub early_stopping: u32,
    /// Threads per trial (LightGBM's `num_threads`, XGBoost's `nthread`); an executor offers `cores / threads_per_task` slots.
    pub threads_per_task: u32,
    /// Cap on concurrent trials over all executors (`None`: every free slot).
    pub parallelism: Option<u32>,
    /// Random trials before TPE takes over (hyperopt's default 20).
    pub startup: u32,
    /// Seed of TPE's sampler and of the booster.
    pub seed: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            engine: Engine::LightGbm,
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

    /// XGBoost parameters of a trial, the notebook's `params` dict plus the slot's threads.
    pub fn xgboost(&self, cfg: &SearchConfig) -> harness_xgboost::Params {
        harness_xgboost::Params::default()
            .set("objective", "binary:logistic")
            .set("eval_metric", "auc")
            .set("tree_method", "hist")
            .set("max_depth", self.max_depth)
            .set("eta", self.learning_rate)
            .set("alpha", self.reg_alpha)
            .set("lambda", self.reg_lambda)
            .set("min_child_weight", self.min_child_weight)
            .set("nthread", cfg.threads_per_task)
            .set("seed", cfg.seed)
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

/// Trains one trial on `train` with `cfg.engine`, early-stopping on `test`; returns the
/// result with the model in the engine's format (LightGBM text, XGBoost JSON).
///
/// # Errors
/// The engine's errors, or an AUC that cannot be computed.
pub fn evaluate(
    train: &WineData,
    test: &WineData,
    params: &TrialParams,
    cfg: &SearchConfig,
) -> Result<TrialResult, String> {
    let (scores, rounds, model) = match cfg.engine {
        Engine::LightGbm => {
            let n = FEATURES.len() as i32;
            let e = |e: lightgbm3::Error| e.to_string();
            let dtrain =
                Dataset::from_slice(&train.features, &train.labels_f32(), n, true).map_err(e)?;
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
            let text = booster.save_string().map_err(e)?;
            (scores, booster.num_iterations() as u32, text)
        }
        Engine::XgBoost => {
            let n = FEATURES.len();
            let e = |e: harness_xgboost::XgbError| e.to_string();
            let dtrain =
                harness_xgboost::matrix(&train.features, n, Some(train.labels_f32().as_slice()))
                    .map_err(e)?;
            let dtest =
                harness_xgboost::matrix(&test.features, n, Some(test.labels_f32().as_slice()))
                    .map_err(e)?;
            let early = harness_xgboost::EarlyStopping {
                valid: &dtest,
                rounds: cfg.early_stopping,
                maximize: true,
            };
            let t = harness_xgboost::train(&params.xgboost(cfg), &dtrain, cfg.rounds, Some(early))
                .map_err(e)?;
            let scores = t.model.predict_matrix(&dtest).map_err(e)?;
            (scores, t.rounds, t.model.to_json().map_err(e)?)
        }
    };
    let auc = roc_auc(&scores, &test.labels).ok_or("test AUC undefined (one class only)")?;
    Ok(TrialResult { auc, rounds, model })
}

/// A finished trial's result as it travels back to rank 0: the test AUC, the rounds kept and
/// the model in the engine's text format (so rank 0 can save the best one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialResult {
    pub auc: f64,
    pub rounds: u32,
    pub model: String,
}

/// TPE as the farm's task source: asked at the moment a slot frees, told every result.
struct TpeSource {
    tpe: Tpe,
    left: u32,
}

impl TaskSource<TrialParams, TrialResult> for TpeSource {
    fn next_task(&mut self) -> Option<TrialParams> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.tpe.ask().1)
    }

    fn finished(&mut self, id: u32, result: &Result<TrialResult, String>) {
        // A failed trial counts as the worst loss TPE can see from a working one (AUC 0).
        let loss = match result {
            Ok(r) if r.auc.is_finite() => -r.auc,
            _ => 0.0,
        };
        self.tpe.tell(id, loss);
    }

    fn remaining(&self) -> Option<usize> {
        Some(self.left as usize)
    }
}

/// What the search reports at rank 0.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// Every trial, in id order.
    pub trials: Vec<Trial>,
    /// Id of the best trial (highest AUC, then lowest id).
    pub best: Option<u32>,
    /// The best trial's model in the engine's format (LightGBM text, XGBoost JSON).
    pub best_model: Option<String>,
    /// The farm's placement and timing of the trials, for the run record.
    pub farm: FarmStats,
}

impl SearchOutcome {
    /// Trials per second of wall-clock time.
    pub fn trials_per_sec(&self) -> f64 {
        self.farm.tasks_per_sec()
    }

    /// Busy share of the slots: Σ trial seconds / (slots × wall seconds), in [0, 1].
    pub fn utilisation(&self) -> f64 {
        self.farm.utilisation()
    }

    /// Concurrent slots over all executors.
    pub fn slots(&self) -> u32 {
        self.farm.slots.iter().sum()
    }

    /// The best trial.
    pub fn best_trial(&self) -> Option<&Trial> {
        self.best.map(|b| &self.trials[b as usize])
    }
}

/// How trials map onto executors' slots.
pub fn farm_config(cfg: &SearchConfig) -> FarmConfig {
    FarmConfig {
        threads_per_task: cfg.threads_per_task,
        parallelism: cfg.parallelism,
        progress: None,
    }
}

/// Runs the search on every executor through the runtime's task farm; rank 0 reports its
/// progress to `progress` when given. Rank 0 returns `Some(outcome)`, the others `None`.
pub fn run(
    world: &World,
    cores: u32,
    train: &WineData,
    test: &WineData,
    cfg: &SearchConfig,
    progress: Option<std::path::PathBuf>,
) -> Option<SearchOutcome> {
    let mut source = TpeSource {
        tpe: Tpe::new(cfg.seed, cfg.startup),
        left: cfg.evaluations,
    };
    let farm_cfg = FarmConfig {
        progress,
        ..farm_config(cfg)
    };
    let outcome = farm::run(world, cores, &farm_cfg, &mut source, |params| {
        evaluate(train, test, params, cfg)
    })?;
    let stats = outcome.spans();
    let mut best: Option<(f64, u32)> = None;
    for t in &outcome.tasks {
        if let Ok(r) = &t.result {
            if best.is_none_or(|(a, id)| r.auc > a || (r.auc == a && t.id < id)) {
                best = Some((r.auc, t.id));
            }
        }
    }
    let mut best_model = None;
    let mut trials: Vec<Trial> = outcome
        .tasks
        .into_iter()
        .map(|t| {
            let (auc, rounds, error) = match t.result {
                Ok(r) => {
                    if best.is_some_and(|(_, id)| id == t.id) {
                        best_model = Some(r.model);
                    }
                    (r.auc, r.rounds, None)
                }
                Err(e) => (f64::NAN, 0, Some(e)),
            };
            Trial {
                id: t.id,
                params: t.task,
                auc,
                rounds,
                seconds: t.seconds,
                rank: t.rank,
                slot: t.slot,
                dispatched_sec: t.dispatched_sec,
                finished_sec: t.finished_sec,
                error,
            }
        })
        .collect();
    trials.sort_by_key(|t| t.id);
    Some(SearchOutcome {
        trials,
        best: best.map(|(_, id)| id),
        best_model,
        farm: stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
