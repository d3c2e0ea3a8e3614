//! The baseline: gradient-boosted regression on lag features — the 15 previous-day values (lag
//! 1..5 of temperature, peak kWh, energy kWh, z-scored; missing days are NaN, which both
//! libraries route natively as missing) and the 3 statics — on the same household split, with
//! either library ([`Engine`]): LightGBM, or XGBoost as the reference did (Spark's
//! `SparkXGBRegressor` on the same features). Both use 300 rounds at learning rate 0.05 with
//! trees of comparable size (LightGBM 31 leaves, XGBoost depth 6 = xgboost's default, `hist`).

use lightgbm3::{Booster, Dataset};
use serde_json::json;

use crate::prepare::{Table, SEQ_FEATURES, STATICS, STEPS};

/// Features per row: 15 lags + 3 statics.
pub const FEATURES: usize = STEPS * SEQ_FEATURES.len() + STATICS.len();
/// Boosting rounds.
pub const ROUNDS: u32 = 300;

/// Feature names in column order (`lag1_energy`, …, `size`, `temperature_today`, `has_ac`).
pub fn feature_names() -> Vec<String> {
    let mut n = Vec::new();
    for lag in 1..=STEPS {
        n.extend(SEQ_FEATURES.iter().map(|f| format!("lag{lag}_{f}")));
    }
    n.extend(STATICS.iter().map(|s| s.to_string()));
    n
}

/// Row-major `rows × FEATURES` lag matrix of a table: lag k of a row of length L is its
/// sequence step L − k (NaN when k > L).
pub fn lag_matrix(t: &Table) -> Vec<f64> {
    let f = SEQ_FEATURES.len();
    let mut x = Vec::with_capacity(t.rows() * FEATURES);
    for i in 0..t.rows() {
        let len = t.length[i] as usize;
        for lag in 1..=STEPS {
            for k in 0..f {
                x.push(if lag <= len {
                    f64::from(t.seq[(i * STEPS + len - lag) * f + k])
                } else {
                    f64::NAN
                });
            }
        }
        x.extend(t.statics[i * 3..i * 3 + 3].iter().map(|v| f64::from(*v)));
    }
    x
}

pub use harness_runtime::engine::Engine;

/// Test RMSE and MAE (kWh) of `engine`'s regressor trained on `train` with `threads` threads.
///
/// # Errors
/// The library's message.
pub fn run(
    engine: Engine,
    train: &Table,
    test: &Table,
    threads: u32,
    seed: u64,
) -> Result<(f64, f64), String> {
    let pred = match engine {
        Engine::LightGbm => lightgbm(train, test, threads, seed)?,
        Engine::XgBoost => xgboost(train, test, threads, seed)?,
    };
    let n = test.rows().max(1) as f64;
    let (mut sse, mut sae) = (0.0, 0.0);
    for (p, y) in pred.iter().zip(&test.target) {
        let err = p - f64::from(*y);
        sse += err * err;
        sae += err.abs();
    }
    Ok(((sse / n).sqrt(), sae / n))
}

/// XGBoost's test predictions: `reg:squarederror`, 300 rounds, eta 0.05, depth 6, `hist`.
fn xgboost(train: &Table, test: &Table, threads: u32, seed: u64) -> Result<Vec<f64>, String> {
    let e = |e: harness_xgboost::XgbError| format!("XGBoost baseline: {e}");
    let d = harness_xgboost::matrix(&lag_matrix(train), FEATURES, Some(train.target.as_slice()))
        .map_err(e)?;
    let params = harness_xgboost::Params::default()
        .set("objective", "reg:squarederror")
        .set("eta", 0.05)
        .set("max_depth", 6)
        .set("tree_method", "hist")
        .set("nthread", threads)
        .set("seed", seed);
    let t = harness_xgboost::train(&params, &d, ROUNDS, None).map_err(e)?;
    t.model.predict(&lag_matrix(test), FEATURES).map_err(e)
}

/// LightGBM's test predictions: regression, 300 rounds, learning rate 0.05, 31 leaves.
fn lightgbm(train: &Table, test: &Table, threads: u32, seed: u64) -> Result<Vec<f64>, String> {
    let e = |e: lightgbm3::Error| format!("LightGBM baseline: {e}");
    let x = lag_matrix(train);
    let d = Dataset::from_slice(&x, &train.target, FEATURES as i32, true).map_err(e)?;
    let params = json!({
        "objective": "regression",
        "num_iterations": ROUNDS,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "num_threads": threads,
        "seed": seed,
        "deterministic": true,
        "verbosity": -1,
    });
    let b = Booster::train(d, &params).map_err(e)?;
    b.predict(&lag_matrix(test), FEATURES as i32, true)
        .map_err(e)
}
