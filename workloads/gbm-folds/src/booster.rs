//! One task's LightGBM training: a binary classifier with early stopping on a validation set,
//! through LightGBM's C API.
//!
//! Why not `lightgbm3::Booster::train_with_valid`: it builds datasets with no parameters, so
//! dataset parameters such as the reference's `max_bin = 256` (LightGBM's default is 255) would
//! be silently ignored — LightGBM bins when the dataset is made, not when the booster is. Here
//! the datasets get the dataset parameters, the booster the rest, and the loop is LightGBM's
//! own early stopping: stop after `early_stopping` rounds without a better validation AUC,
//! roll back to the best round.

use std::ffi::{CStr, CString};
use std::os::raw::c_void;

use lightgbm3_sys as sys;

/// A LightGBM C API failure with LightGBM's own message.
#[derive(Debug, thiserror::Error)]
#[error("LightGBM: {0}")]
pub struct LgbmError(pub String);

fn check(code: i32) -> Result<(), LgbmError> {
    if code == 0 {
        return Ok(());
    }
    // SAFETY: LGBM_GetLastError returns a pointer to a static, NUL-terminated buffer.
    let msg = unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) };
    Err(LgbmError(msg.to_string_lossy().into_owned()))
}

fn cstring(s: &str) -> Result<CString, LgbmError> {
    CString::new(s).map_err(|_| LgbmError(format!("parameter string holds a NUL: {s:?}")))
}

/// A dense row-major matrix with binary labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matrix {
    /// `rows × cols` values, row-major.
    pub x: Vec<f64>,
    /// One label (0 or 1) per row.
    pub y: Vec<f32>,
    pub cols: usize,
}

impl Matrix {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.y.len()
    }
}

struct Dataset(sys::DatasetHandle);

impl Dataset {
    /// A dataset of `m` built with `params` (LightGBM's `key=value` text), binned like
    /// `reference` when given.
    fn new(m: &Matrix, params: &str, reference: Option<&Dataset>) -> Result<Self, LgbmError> {
        let rows = i32::try_from(m.rows()).map_err(|_| LgbmError("too many rows".into()))?;
        if rows == 0 || m.cols == 0 {
            return Err(LgbmError("empty matrix".into()));
        }
        let params = cstring(params)?;
        let mut handle: sys::DatasetHandle = std::ptr::null_mut();
        // SAFETY: `m.x` holds rows × cols f64 values, row-major; the handle is written on success.
        check(unsafe {
            sys::LGBM_DatasetCreateFromMat(
                m.x.as_ptr() as *const c_void,
                sys::C_API_DTYPE_FLOAT64 as i32,
                rows,
                m.cols as i32,
                1,
                params.as_ptr(),
                reference.map_or(std::ptr::null_mut(), |r| r.0),
                &mut handle,
            )
        })?;
        let ds = Dataset(handle);
        let field = cstring("label")?;
        // SAFETY: `m.y` holds `rows` f32 labels.
        check(unsafe {
            sys::LGBM_DatasetSetField(
                ds.0,
                field.as_ptr(),
                m.y.as_ptr() as *const c_void,
                rows,
                sys::C_API_DTYPE_FLOAT32 as i32,
            )
        })?;
        Ok(ds)
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_DatasetCreateFromMat and is freed once.
        unsafe {
            sys::LGBM_DatasetFree(self.0);
        }
    }
}

/// A trained booster.
pub struct Booster {
    handle: sys::BoosterHandle,
    /// Boosting rounds kept (the best round's count).
    pub rounds: u32,
    /// Validation AUC at the best round.
    pub best_valid_auc: f64,
}

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_BoosterCreate and is freed once.
        unsafe {
            sys::LGBM_BoosterFree(self.handle);
        }
    }
}

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSpec {
    /// Dataset parameters (`max_bin=256 …`), given to both datasets.
    pub dataset_params: String,
    /// Booster parameters (`objective=binary metric=auc …`); the first metric must be `auc`.
    pub booster_params: String,
    /// At most this many rounds.
    pub rounds: u32,
    /// Stop after this many rounds without a better validation AUC.
    pub early_stopping: u32,
}

/// Trains on `train`, evaluating on `valid` every round and stopping early on its AUC.
///
/// # Errors
/// LightGBM's errors (bad parameters included), named by LightGBM.
pub fn train(train: &Matrix, valid: &Matrix, spec: &TrainSpec) -> Result<Booster, LgbmError> {
    let dtrain = Dataset::new(train, &spec.dataset_params, None)?;
    let dvalid = Dataset::new(valid, &spec.dataset_params, Some(&dtrain))?;
    let params = cstring(&spec.booster_params)?;
    let mut handle: sys::BoosterHandle = std::ptr::null_mut();
    // SAFETY: a valid dataset handle and parameter string; the handle is written on success.
    check(unsafe { sys::LGBM_BoosterCreate(dtrain.0, params.as_ptr(), &mut handle) })?;
    let mut booster = Booster {
        handle,
        rounds: 0,
        best_valid_auc: f64::NAN,
    };
    // SAFETY: both handles are valid; the booster keeps a reference to the dataset, which
    // outlives the training loop below.
    check(unsafe { sys::LGBM_BoosterAddValidData(booster.handle, dvalid.0) })?;
    let (mut best, mut best_round, mut round) = (f64::NEG_INFINITY, 0u32, 0u32);
    let mut eval = [0f64; 8];
    while round < spec.rounds {
        let mut finished = 0;
        // SAFETY: a valid booster handle.
        check(unsafe { sys::LGBM_BoosterUpdateOneIter(booster.handle, &mut finished) })?;
        if finished != 0 {
            // No split gains anything any more: the model is complete.
            break;
        }
        round += 1;
        let mut len = 0;
        // SAFETY: `eval` has room for 8 metrics; the parameters name one.
        check(unsafe { sys::LGBM_BoosterGetEval(booster.handle, 1, &mut len, eval.as_mut_ptr()) })?;
        let auc = eval[0];
        if auc > best {
            best = auc;
            best_round = round;
        } else if round - best_round >= spec.early_stopping {
            break;
        }
    }
    for _ in best_round..round {
        // SAFETY: a valid booster handle with more rounds than `best_round`.
        check(unsafe { sys::LGBM_BoosterRollbackOneIter(booster.handle) })?;
    }
    booster.rounds = best_round;
    booster.best_valid_auc = best;
    // The datasets are freed here; the booster's model no longer needs them for prediction.
    drop(dvalid);
    drop(dtrain);
    Ok(booster)
}

impl Booster {
    /// Positive-class probabilities of `m`'s rows with `threads` threads.
    ///
    /// # Errors
    /// LightGBM's errors.
    pub fn predict(&self, m: &Matrix, threads: u32) -> Result<Vec<f64>, LgbmError> {
        let rows = m.rows();
        let mut out = vec![0f64; rows];
        let mut len = 0i64;
        let params = cstring(&format!("num_threads={threads}"))?;
        // SAFETY: `m.x` holds rows × cols f64 values; `out` has room for one score per row.
        check(unsafe {
            sys::LGBM_BoosterPredictForMat(
                self.handle,
                m.x.as_ptr() as *const c_void,
                sys::C_API_DTYPE_FLOAT64 as i32,
                rows as i32,
                m.cols as i32,
                1,
                sys::C_API_PREDICT_NORMAL as i32,
                0,
                -1,
                params.as_ptr(),
                &mut len,
                out.as_mut_ptr(),
            )
        })?;
        out.truncate(len as usize);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two informative features, labels by their sum; easy enough to learn in a few rounds.
    fn toy(n: usize, shift: f64) -> Matrix {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let a = ((i * 37) % 101) as f64 / 101.0 + shift;
            let b = ((i * 53) % 97) as f64 / 97.0;
            x.extend([a, b, ((i * 11) % 7) as f64]);
            y.push(if a + b > 1.0 + shift { 1.0 } else { 0.0 });
        }
        Matrix { x, y, cols: 3 }
    }

    fn spec(rounds: u32, early_stopping: u32, extra: &str) -> TrainSpec {
        TrainSpec {
            dataset_params: "max_bin=256 verbosity=-1 num_threads=1".into(),
            booster_params: format!(
                "objective=binary metric=auc num_leaves=8 learning_rate=0.3 verbosity=-1 num_threads=1 seed=1 {extra}"
            ),
            rounds,
            early_stopping,
        }
    }

    #[test]
    fn learns_and_stops_early_at_the_best_round() {
        let (tr, va) = (toy(2000, 0.0), toy(500, 0.0));
        let b = train(&tr, &va, &spec(400, 5, "")).unwrap();
        assert!(b.rounds >= 1 && b.rounds < 400, "rounds {}", b.rounds);
        assert!(b.best_valid_auc > 0.95, "AUC {}", b.best_valid_auc);
        let p = b.predict(&va, 1).unwrap();
        assert_eq!(p.len(), va.rows());
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        // The kept model is the best round's: its AUC on the validation set is the best seen.
        let labels: Vec<bool> = va.y.iter().map(|l| *l > 0.5).collect();
        let auc = harness_core::classify::roc_auc(&p, &labels).unwrap();
        assert!(
            (auc - b.best_valid_auc).abs() < 1e-9,
            "{auc} vs {}",
            b.best_valid_auc
        );
    }

    #[test]
    fn bad_parameters_are_lightgbm_errors() {
        let (tr, va) = (toy(200, 0.0), toy(100, 0.0));
        let e = train(&tr, &va, &spec(5, 5, "feature_fraction=1.5"))
            .err()
            .expect("feature_fraction > 1 is refused");
        assert!(e.0.contains("feature_fraction"), "{e}");
    }
}
