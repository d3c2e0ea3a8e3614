//! XGBoost for the workloads that use it — wine's hyperparameter sweep and energy-lstm's
//! lag-feature baseline — through the maintained `xgb` crate's bindings, linked against
//! XGBoost [`XGBOOST_VERSION`]: the prebuilt `libxgboost.so` of PyPI's `xgboost-cpu` wheel,
//! which `bash .ci/install` puts into `/opt/harness-tools/lib` (`$XGBOOST_LIB_DIR`, named by
//! `.cargo/config.toml`). Nothing of XGBoost is compiled here.
//!
//! The bindings are `xgb` 3.4's, generated from XGBoost 3.4.1's `c_api.h`. XGBoost 3.2.0's
//! header declares every one of those functions with the same signature (3.4.1 only dropped
//! the deprecated `XGDMatrixCreateFromFile`), so the bindings describe the library exactly;
//! [`library_version`] reads the version from the library loaded at run time, and the records'
//! provenance carries it.
//!
//! This crate is the only one that depends on `xgb`. It adds what the bindings leave to the
//! caller:
//! - [`Params`]: XGBoost's own parameter names and values (`objective`, `eta`, `max_depth`,
//!   `nthread`, …), as the Python `params` dict of `xgboost.train` takes them;
//! - [`train`]: `xgboost.train(params, dtrain, num_boost_round, evals=[(valid, …)],
//!   early_stopping_rounds)` — boosting rounds one at a time, the metric on the evaluation set
//!   after each, stop once `early_stopping` rounds in a row did not improve the best. The model
//!   returned holds rounds `1..=best` only (XGBoost's `best_iteration + 1`), so what is saved is
//!   what scored;
//! - [`Model`]: JSON save/load (XGBoost's own JSON model format, the one MLflow's `xgboost`
//!   flavour and `xgboost.Booster.load_model` read) and scoring of row-major `f64` rows.
//!
//! Values are handed to XGBoost as `f32` (XGBoost's storage type); `NaN` is a missing value,
//! which XGBoost routes down each split's learned default direction.
//!
//! The shared library: binaries that link this crate find `libxgboost.so` through the rpath
//! `/opt/harness-tools/lib` that `.cargo/config.toml` gives every binary of the workspace (or
//! beside them, in `../lib/harness`, as the compose and cloud nodes hold it). The wheel's
//! library links its own copy of libgomp; `.ci/install` points it at the system's
//! `libgomp.so.1` instead, so a process has one OpenMP runtime (LightGBM's and libtorch's too).

use thiserror::Error;
use xgb::parameters::BoosterParameters;
use xgb::{Booster, DMatrix};

/// Version of the XGBoost library the workspace links: PyPI's `xgboost-cpu==3.2.0` wheel, the
/// pin in `.ci/install` (and `nix/native-libs.nix`).
pub const XGBOOST_VERSION: &str = "3.2.0";

/// Version of the XGBoost library this process actually loaded, `"major.minor.patch"`, read from
/// the library (`XGBoostVersion`) rather than from [`XGBOOST_VERSION`]: a different
/// `libxgboost.so` found first on the library path shows up here.
pub fn library_version() -> String {
    let (mut major, mut minor, mut patch) = (0, 0, 0);
    // SAFETY: XGBoostVersion only writes the three ints it is given pointers to.
    unsafe { xgboost_lib_sys::XGBoostVersion(&mut major, &mut minor, &mut patch) };
    format!("{major}.{minor}.{patch}")
}

/// An XGBoost call that failed, with what the harness was doing.
#[derive(Debug, Error)]
#[error("XGBoost: {what}: {message}")]
pub struct XgbError {
    /// What was being done, e.g. "training round 12".
    pub what: String,
    /// XGBoost's message (`XGBGetLastError`).
    pub message: String,
}

fn err(what: impl Into<String>) -> impl FnOnce(xgb::XGBError) -> XgbError {
    let what = what.into();
    move |e| XgbError {
        what,
        message: e.to_string(),
    }
}

/// XGBoost parameters by XGBoost's names, in the order they are set (a later one wins).
///
/// Every booster starts from the `xgb` crate's defaults, which set `base_score = 0.5` (XGBoost
/// < 2.0's default; 3.x would otherwise estimate it from the labels); the parameters given
/// here override the rest. `verbosity` is 0 unless given, so unused-parameter warnings do not
/// reach the run's log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Adds `name = value` (XGBoost parses the value's text).
    pub fn set(mut self, name: &str, value: impl ToString) -> Self {
        self.0.push((name.to_string(), value.to_string()));
        self
    }
}

/// Row-major `f64` rows (`cols` values each) as an XGBoost matrix, with `labels` when given.
///
/// # Errors
/// No rows, a length that is not a multiple of `cols`, or labels of another length.
pub fn matrix(x: &[f64], cols: usize, labels: Option<&[f32]>) -> Result<DMatrix, XgbError> {
    if cols == 0 || x.is_empty() || !x.len().is_multiple_of(cols) {
        return Err(XgbError {
            what: "building a matrix".into(),
            message: format!("{} values do not make rows of {cols} columns", x.len()),
        });
    }
    let rows = x.len() / cols;
    let data: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let mut m = DMatrix::from_dense(&data, rows).map_err(err("building a matrix"))?;
    if let Some(y) = labels {
        if y.len() != rows {
            return Err(XgbError {
                what: "setting labels".into(),
                message: format!("{} labels for {rows} rows", y.len()),
            });
        }
        m.set_labels(y).map_err(err("setting labels"))?;
    }
    Ok(m)
}

/// Early stopping on an evaluation set, as `xgboost.train(..., evals=[(valid, name)],
/// early_stopping_rounds=rounds)`.
#[derive(Debug, Clone, Copy)]
pub struct EarlyStopping<'a> {
    /// The evaluation set (labels set).
    pub valid: &'a DMatrix,
    /// Rounds without improvement of the metric after which training stops (e.g. 50).
    pub rounds: u32,
    /// The metric is better when larger (`auc`) rather than smaller (`rmse`).
    pub maximize: bool,
}

/// A trained booster and how training went.
pub struct Trained {
    pub model: Model,
    /// Boosting rounds the model holds (after early stopping: the best round, 1-based).
    pub rounds: u32,
    /// Rounds trained before stopping (≥ `rounds`).
    pub rounds_trained: u32,
    /// The evaluation metric of the kept model on the evaluation set, as XGBoost computed it
    /// (e.g. test AUC); `None` without early stopping.
    pub best_score: Option<f64>,
}

/// Trains up to `rounds` boosting rounds on `dtrain` (labels set) with `params`, stopping
/// early on `early` when given (its metric is the last `eval_metric` in `params`, or the
/// objective's default).
///
/// # Errors
/// XGBoost's message for a bad parameter, matrix or failed round, naming the round.
pub fn train(
    params: &Params,
    dtrain: &DMatrix,
    rounds: u32,
    early: Option<EarlyStopping<'_>>,
) -> Result<Trained, XgbError> {
    let mut cached = vec![dtrain];
    if let Some(e) = &early {
        cached.push(e.valid);
    }
    let mut booster = Booster::new_with_cached_dmats(&BoosterParameters::default(), &cached)
        .map_err(err("creating a booster"))?;
    booster
        .set_param("verbosity", "0")
        .map_err(err("setting verbosity"))?;
    for (k, v) in &params.0 {
        booster
            .set_param(k, v)
            .map_err(err(format!("setting parameter {k}={v}")))?;
    }
    let mut best: Option<(f64, u32)> = None;
    let mut trained = 0;
    for i in 0..rounds {
        booster
            .update(dtrain, i as i32)
            .map_err(err(format!("training round {}", i + 1)))?;
        trained = i + 1;
        let Some(e) = &early else { continue };
        let scores = booster
            .evaluate(e.valid)
            .map_err(err(format!("evaluating round {}", i + 1)))?;
        // XGBoost reports the metrics in the order set; early stopping watches the last.
        let Some(score) = last_metric(&scores, params) else {
            return Err(XgbError {
                what: format!("evaluating round {}", i + 1),
                message: "no evaluation metric came back".into(),
            });
        };
        let better = best.is_none_or(|(b, _)| if e.maximize { score > b } else { score < b });
        if better {
            best = Some((score, i));
        } else if best.is_some_and(|(_, at)| i - at >= e.rounds) {
            break;
        }
    }
    let (model, kept, best_score) = match best {
        Some((score, at)) if at + 1 < trained => (
            booster
                .slice(0, at as i32 + 1)
                .map_err(err("keeping the best rounds"))?,
            at + 1,
            Some(score),
        ),
        Some((score, at)) => (booster, at + 1, Some(score)),
        None => (booster, trained, None),
    };
    Ok(Trained {
        model: Model(model),
        rounds: kept,
        rounds_trained: trained,
        best_score,
    })
}

/// The score of the metric early stopping watches: the last `eval_metric` set, or the only
/// metric reported.
fn last_metric(scores: &std::collections::HashMap<String, f32>, params: &Params) -> Option<f64> {
    let named = params
        .0
        .iter()
        .rev()
        .find(|(k, _)| k == "eval_metric")
        .and_then(|(_, v)| scores.get(v));
    named
        .or_else(|| {
            (scores.len() == 1)
                .then(|| scores.values().next())
                .flatten()
        })
        .map(|v| f64::from(*v))
}

/// A trained or loaded XGBoost booster. `Send`, not `Sync`: one per thread.
pub struct Model(Booster);

impl Model {
    /// The model in XGBoost's JSON format (`Booster.save_model("model.json")`).
    ///
    /// # Errors
    /// XGBoost's message.
    pub fn to_json(&self) -> Result<String, XgbError> {
        let bytes = self.0.save_buffer(false).map_err(err("saving the model"))?;
        String::from_utf8(bytes).map_err(|e| XgbError {
            what: "saving the model".into(),
            message: e.to_string(),
        })
    }

    /// A model from XGBoost's JSON (or UBJSON) model bytes.
    ///
    /// # Errors
    /// XGBoost's message for bytes that are not a model.
    pub fn from_json(bytes: &[u8]) -> Result<Self, XgbError> {
        Booster::load_buffer(bytes)
            .map(Model)
            .map_err(err("loading the model"))
    }

    /// Threads XGBoost uses for this model's predictions (`nthread`).
    ///
    /// # Errors
    /// XGBoost's message.
    pub fn set_threads(&mut self, threads: u32) -> Result<(), XgbError> {
        self.0
            .set_param("nthread", &threads.to_string())
            .map_err(err("setting nthread"))
    }

    /// Predictions for row-major `rows` of `cols` values: probabilities for `binary:logistic`,
    /// values for regression. Empty input gives an empty result.
    ///
    /// # Errors
    /// A length that is not a multiple of `cols`, XGBoost's prediction errors.
    pub fn predict(&self, rows: &[f64], cols: usize) -> Result<Vec<f64>, XgbError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.predict_matrix(&matrix(rows, cols, None)?)
    }

    /// Predictions for a matrix.
    ///
    /// # Errors
    /// XGBoost's prediction errors.
    pub fn predict_matrix(&self, m: &DMatrix) -> Result<Vec<f64>, XgbError> {
        let p = self.0.predict(m).map_err(err("predicting"))?;
        Ok(p.into_iter().map(f64::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = 1 when x0 + x1 > 1 on a grid, with x2 noise: a separable problem.
    fn data(n: usize, offset: usize) -> (Vec<f64>, Vec<f32>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let a = ((i * 37 + offset) % 101) as f64 / 100.0;
            let b = ((i * 61 + 7 * offset) % 97) as f64 / 96.0;
            x.extend([a, b, ((i * 13) % 7) as f64]);
            y.push(if a + b > 1.0 { 1.0 } else { 0.0 });
        }
        (x, y)
    }

    /// Trees in an XGBoost JSON model (`learner.gradient_booster.model.trees`).
    fn trees(json: &str) -> usize {
        let v: serde_json::Value = serde_json::from_str(json).expect("XGBoost writes JSON");
        v["learner"]["gradient_booster"]["model"]["trees"]
            .as_array()
            .expect("a gbtree model has trees")
            .len()
    }

    fn logistic(threads: u32) -> Params {
        Params::default()
            .set("objective", "binary:logistic")
            .set("eval_metric", "auc")
            .set("tree_method", "hist")
            .set("max_depth", 3)
            .set("eta", 0.3)
            .set("nthread", threads)
    }

    #[test]
    fn early_stopping_keeps_the_best_rounds_and_json_round_trips() {
        let (x, y) = data(400, 0);
        let (xv, yv) = data(200, 5);
        let dtrain = matrix(&x, 3, Some(&y)).unwrap();
        let dvalid = matrix(&xv, 3, Some(&yv)).unwrap();
        let t = train(
            &logistic(1),
            &dtrain,
            500,
            Some(EarlyStopping {
                valid: &dvalid,
                rounds: 5,
                maximize: true,
            }),
        )
        .unwrap();
        // A separable problem reaches its best AUC long before 500 rounds.
        assert!(t.rounds_trained < 500, "trained {}", t.rounds_trained);
        assert!(t.rounds + 5 <= t.rounds_trained);
        let best = t.best_score.unwrap();
        assert!(best > 0.95, "valid AUC {best}");
        // The kept model holds exactly `rounds` trees and scores like the in-memory one.
        let json = t.model.to_json().unwrap();
        assert_eq!(trees(&json), t.rounds as usize);
        let reloaded = Model::from_json(json.as_bytes()).unwrap();
        let a = t.model.predict(&xv, 3).unwrap();
        let b = reloaded.predict(&xv, 3).unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|p| (0.0..=1.0).contains(p)));
        // Probabilities order the positives first.
        let pos: f64 = a
            .iter()
            .zip(&yv)
            .filter(|(_, y)| **y == 1.0)
            .map(|(p, _)| p)
            .sum::<f64>()
            / yv.iter().filter(|y| **y == 1.0).count() as f64;
        let neg: f64 = a
            .iter()
            .zip(&yv)
            .filter(|(_, y)| **y == 0.0)
            .map(|(p, _)| p)
            .sum::<f64>()
            / yv.iter().filter(|y| **y == 0.0).count() as f64;
        assert!(
            pos > 0.8 && neg < 0.2,
            "mean p: positives {pos}, negatives {neg}"
        );
    }

    #[test]
    fn without_early_stopping_every_round_is_kept() {
        let (x, y) = data(100, 1);
        let dtrain = matrix(&x, 3, Some(&y)).unwrap();
        let t = train(&logistic(1), &dtrain, 7, None).unwrap();
        assert_eq!((t.rounds, t.rounds_trained, t.best_score), (7, 7, None));
        let json = t.model.to_json().unwrap();
        assert_eq!(trees(&json), 7);
        // The loaded library is the pinned one, and it stamps its version into models.
        assert_eq!(library_version(), XGBOOST_VERSION);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let stamped: Vec<String> = v["version"]
            .as_array()
            .expect("models carry [major, minor, patch]")
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(stamped.join("."), library_version());
    }

    #[test]
    fn bad_input_names_the_problem() {
        assert!(matrix(&[1.0, 2.0, 3.0], 2, None)
            .unwrap_err()
            .to_string()
            .contains("3 values do not make rows of 2 columns"));
        let (x, y) = data(10, 0);
        assert!(matrix(&x, 3, Some(&y[..9]))
            .unwrap_err()
            .to_string()
            .contains("9 labels for 10 rows"));
        let dtrain = matrix(&x, 3, Some(&y)).unwrap();
        let e = train(
            &Params::default().set("objective", "binary:nonsense"),
            &dtrain,
            1,
            None,
        )
        .err()
        .expect("an unknown objective fails");
        assert!(e.to_string().contains("nonsense"), "{e}");
        assert!(Model::from_json(b"{not a model").is_err());
    }
}
