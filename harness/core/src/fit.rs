//! Scaling-law fits: Amdahl's law and the Universal Scalability Law (USL).
//!
//! Models, in time form for `p` executors (Amdahl, AFIPS 1967; Gunther, *Guerrilla Capacity
//! Planning*, 2007):
//! - Amdahl: `T(p) = T1 · (s + (1 − s) / p)`, serial fraction `s`;
//! - USL: `T(p) = T1 · (1 + σ(p − 1) + κ·p(p − 1)) / p`, contention `σ`, coherency `κ`; the
//!   speedup peaks at `p* = √((1 − σ) / κ)` when κ > 0.
//!
//! Both are fitted by non-linear least squares (Levenberg–Marquardt, `levenberg-marquardt`
//! crate) on *relative* residuals `model / t − 1`, so every run weighs the same whatever its
//! time, starting from the closed-form solution of the linearised model. Parameter uncertainty
//! is a 95 % percentile bootstrap over runs (case resampling). Amdahl needs ≥ 2 distinct
//! executor counts, USL ≥ 3.

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::storage::Owned;
use nalgebra::{DMatrix, DVector, Dyn, OMatrix, Vector2, Vector3, U2, U3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::stats::quantile_sorted;

/// One observation: (executors, time in seconds).
pub type Obs = (f64, f64);

/// Amdahl's law fitted to runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmdahlFit {
    /// Time at one executor, seconds.
    pub t1: f64,
    /// Serial fraction s.
    pub serial_fraction: f64,
    /// 95 % bootstrap interval of s.
    pub serial_fraction_ci: Option<(f64, f64)>,
    /// Root-mean-square relative residual.
    pub rms_relative_error: f64,
}

/// The Universal Scalability Law fitted to runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UslFit {
    /// Time at one executor, seconds.
    pub t1: f64,
    /// Contention σ.
    pub sigma: f64,
    /// Coherency κ.
    pub kappa: f64,
    pub sigma_ci: Option<(f64, f64)>,
    pub kappa_ci: Option<(f64, f64)>,
    /// Executor count of peak speedup √((1 − σ)/κ), when κ > 0.
    pub peak_executors: Option<f64>,
    pub rms_relative_error: f64,
}

/// Amdahl time at `p` executors.
pub fn amdahl_time(t1: f64, s: f64, p: f64) -> f64 {
    t1 * (s + (1.0 - s) / p)
}

/// USL time at `p` executors.
pub fn usl_time(t1: f64, sigma: f64, kappa: f64, p: f64) -> f64 {
    t1 * (1.0 + sigma * (p - 1.0) + kappa * p * (p - 1.0)) / p
}

fn distinct_p(obs: &[Obs]) -> usize {
    let mut ps: Vec<f64> = obs.iter().map(|o| o.0).collect();
    ps.sort_by(f64::total_cmp);
    ps.dedup();
    ps.len()
}

fn valid(obs: &[Obs]) -> bool {
    obs.iter()
        .all(|(p, t)| p.is_finite() && *p >= 1.0 && t.is_finite() && *t > 0.0)
}

/// Weighted linear least squares `X β ≈ y` with row weights `w` (via SVD).
fn wls(x: DMatrix<f64>, y: DVector<f64>, w: &[f64]) -> Option<DVector<f64>> {
    let mut xw = x;
    let mut yw = y;
    for (i, wi) in w.iter().enumerate() {
        xw.row_mut(i).scale_mut(*wi);
        yw[i] *= wi;
    }
    xw.svd(true, true).solve(&yw, 1e-12).ok()
}

struct AmdahlProblem<'a> {
    obs: &'a [Obs],
    x: Vector2<f64>,
}

impl LeastSquaresProblem<f64, Dyn, U2> for AmdahlProblem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, U2>;
    type ParameterStorage = Owned<f64, U2>;

    fn set_params(&mut self, x: &Vector2<f64>) {
        self.x = *x;
    }

    fn params(&self) -> Vector2<f64> {
        self.x
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let (t1, s) = (self.x[0], self.x[1]);
        Some(DVector::from_iterator(
            self.obs.len(),
            self.obs
                .iter()
                .map(|(p, t)| amdahl_time(t1, s, *p) / t - 1.0),
        ))
    }

    fn jacobian(&self) -> Option<OMatrix<f64, Dyn, U2>> {
        let (t1, s) = (self.x[0], self.x[1]);
        let mut j = OMatrix::<f64, Dyn, U2>::zeros(self.obs.len());
        for (i, (p, t)) in self.obs.iter().enumerate() {
            j[(i, 0)] = (s + (1.0 - s) / p) / t;
            j[(i, 1)] = t1 * (1.0 - 1.0 / p) / t;
        }
        Some(j)
    }
}

struct UslProblem<'a> {
    obs: &'a [Obs],
    x: Vector3<f64>,
}

impl LeastSquaresProblem<f64, Dyn, U3> for UslProblem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, U3>;
    type ParameterStorage = Owned<f64, U3>;

    fn set_params(&mut self, x: &Vector3<f64>) {
        self.x = *x;
    }

    fn params(&self) -> Vector3<f64> {
        self.x
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let (t1, sg, kp) = (self.x[0], self.x[1], self.x[2]);
        Some(DVector::from_iterator(
            self.obs.len(),
            self.obs
                .iter()
                .map(|(p, t)| usl_time(t1, sg, kp, *p) / t - 1.0),
        ))
    }

    fn jacobian(&self) -> Option<OMatrix<f64, Dyn, U3>> {
        let (t1, sg, kp) = (self.x[0], self.x[1], self.x[2]);
        let mut j = OMatrix::<f64, Dyn, U3>::zeros(self.obs.len());
        for (i, (p, t)) in self.obs.iter().enumerate() {
            j[(i, 0)] = (1.0 + sg * (p - 1.0) + kp * p * (p - 1.0)) / p / t;
            j[(i, 1)] = t1 * (p - 1.0) / p / t;
            j[(i, 2)] = t1 * (p - 1.0) / t;
        }
        Some(j)
    }
}

fn rms(r: &DVector<f64>) -> f64 {
    (r.iter().map(|v| v * v).sum::<f64>() / r.len() as f64).sqrt()
}

/// Point estimate of Amdahl's (T1, s), or `None` if under-determined or not converged.
fn amdahl_point(obs: &[Obs]) -> Option<(f64, f64, f64)> {
    if obs.len() < 2 || distinct_p(obs) < 2 || !valid(obs) {
        return None;
    }
    // Linearised start: T = a + b/p with a = T1·s, b = T1·(1 − s), relative weights 1/T.
    let x = DMatrix::from_fn(
        obs.len(),
        2,
        |i, c| if c == 0 { 1.0 } else { 1.0 / obs[i].0 },
    );
    let y = DVector::from_iterator(obs.len(), obs.iter().map(|o| o.1));
    let w: Vec<f64> = obs.iter().map(|o| 1.0 / o.1).collect();
    let ab = wls(x, y, &w)?;
    let t1 = ab[0] + ab[1];
    let start = Vector2::new(t1, if t1 != 0.0 { ab[0] / t1 } else { 0.1 });
    let (solved, report) = LevenbergMarquardt::new().minimize(AmdahlProblem { obs, x: start });
    if !report.termination.was_successful() && report.objective_function.is_nan() {
        return None;
    }
    let p = solved.params();
    let r = solved.residuals()?;
    (p[0].is_finite() && p[1].is_finite()).then(|| (p[0], p[1], rms(&r)))
}

/// Point estimate of the USL's (T1, σ, κ), or `None`.
fn usl_point(obs: &[Obs]) -> Option<(f64, f64, f64, f64)> {
    if obs.len() < 3 || distinct_p(obs) < 3 || !valid(obs) {
        return None;
    }
    // Linearised start: T·p = A + B(p − 1) + C·p(p − 1), A = T1, B = T1σ, C = T1κ.
    let x = DMatrix::from_fn(obs.len(), 3, |i, c| {
        let p = obs[i].0;
        [1.0, p - 1.0, p * (p - 1.0)][c]
    });
    let y = DVector::from_iterator(obs.len(), obs.iter().map(|(p, t)| p * t));
    let w: Vec<f64> = obs.iter().map(|(p, t)| 1.0 / (p * t)).collect();
    let abc = wls(x, y, &w)?;
    let t1 = abc[0];
    if t1 == 0.0 || !t1.is_finite() {
        return None;
    }
    let start = Vector3::new(t1, abc[1] / t1, abc[2] / t1);
    let (solved, report) = LevenbergMarquardt::new().minimize(UslProblem { obs, x: start });
    if !report.termination.was_successful() && report.objective_function.is_nan() {
        return None;
    }
    let p = solved.params();
    let r = solved.residuals()?;
    p.iter()
        .all(|v| v.is_finite())
        .then(|| (p[0], p[1], p[2], rms(&r)))
}

/// Bootstrap (case resampling) of a vector-valued fit: 95 % percentile interval per component.
fn bootstrap_params(
    obs: &[Obs],
    resamples: usize,
    seed: u64,
    fit: impl Fn(&[Obs]) -> Option<Vec<f64>>,
    dims: usize,
) -> Vec<Option<(f64, f64)>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); dims];
    let mut buf = obs.to_vec();
    for _ in 0..resamples {
        for b in &mut buf {
            *b = obs[rng.random_range(0..obs.len())];
        }
        if let Some(v) = fit(&buf) {
            for (d, x) in v.into_iter().enumerate() {
                samples[d].push(x);
            }
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            // Fewer than half the resamples fitting means the interval would mislead.
            if s.len() * 2 < resamples {
                return None;
            }
            s.sort_by(f64::total_cmp);
            Some((quantile_sorted(&s, 0.025), quantile_sorted(&s, 0.975)))
        })
        .collect()
}

/// Fits Amdahl's law to `(executors, seconds)` observations (every run, not medians), with a
/// bootstrap interval of the serial fraction from `resamples` resamples.
pub fn fit_amdahl(obs: &[Obs], resamples: usize, seed: u64) -> Option<AmdahlFit> {
    let (t1, s, err) = amdahl_point(obs)?;
    let ci = bootstrap_params(
        obs,
        resamples,
        seed,
        |o| amdahl_point(o).map(|f| vec![f.1]),
        1,
    );
    Some(AmdahlFit {
        t1,
        serial_fraction: s,
        serial_fraction_ci: ci[0],
        rms_relative_error: err,
    })
}

/// Fits the USL to `(executors, seconds)` observations, with bootstrap intervals of σ and κ.
pub fn fit_usl(obs: &[Obs], resamples: usize, seed: u64) -> Option<UslFit> {
    let (t1, sigma, kappa, err) = usl_point(obs)?;
    let ci = bootstrap_params(
        obs,
        resamples,
        seed,
        |o| usl_point(o).map(|f| vec![f.1, f.2]),
        2,
    );
    Some(UslFit {
        t1,
        sigma,
        kappa,
        sigma_ci: ci[0],
        kappa_ci: ci[1],
        peak_executors: (kappa > 0.0 && sigma < 1.0).then(|| ((1.0 - sigma) / kappa).sqrt()),
        rms_relative_error: err,
    })
}

/// Which scaling law a [`Prediction`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Law {
    Amdahl,
    Usl,
}

/// A fitted law's time at an executor count, with the 95 % percentile-bootstrap interval of
/// that time (the law refitted to each case resample, evaluated at `executors`). A
/// prediction, not a measurement: reports mark it so.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub law: Law,
    pub executors: f64,
    /// Predicted time, seconds.
    pub seconds: f64,
    /// `None` when fewer than half the resamples could be fitted.
    pub ci: Option<(f64, f64)>,
}

/// Predicts the time of `law` fitted to `obs` at each executor count of `at`; empty when the
/// law cannot be fitted (Amdahl needs ≥ 2 distinct executor counts, USL ≥ 3).
pub fn predict(obs: &[Obs], law: Law, at: &[f64], resamples: usize, seed: u64) -> Vec<Prediction> {
    let times = |o: &[Obs]| -> Option<Vec<f64>> {
        match law {
            Law::Amdahl => amdahl_point(o)
                .map(|(t1, s, _)| at.iter().map(|p| amdahl_time(t1, s, *p)).collect()),
            Law::Usl => usl_point(o)
                .map(|(t1, sg, k, _)| at.iter().map(|p| usl_time(t1, sg, k, *p)).collect()),
        }
    };
    let Some(point) = times(obs) else {
        return Vec::new();
    };
    let cis = bootstrap_params(obs, resamples, seed, times, at.len());
    at.iter()
        .zip(point)
        .zip(cis)
        .map(|((p, seconds), ci)| Prediction {
            law,
            executors: *p,
            seconds,
            ci,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn predictions_follow_the_law_and_bracket_it() {
        let ps = [1.0, 2.0, 4.0, 8.0];
        let obs = noisy(|p| amdahl_time(100.0, 0.10, p), &ps, 5, 0.03, 7);
        let pred = predict(&obs, Law::Amdahl, &[16.0, 32.0], 300, 7);
        assert_eq!(pred.len(), 2);
        for p in &pred {
            let truth = amdahl_time(100.0, 0.10, p.executors);
            let (lo, hi) = p.ci.unwrap();
            assert!(lo <= p.seconds && p.seconds <= hi, "{p:?}");
            assert!((p.seconds / truth - 1.0).abs() < 0.15, "{p:?} vs {truth}");
        }
        assert!(pred[1].seconds < pred[0].seconds);
        assert!(
            predict(&obs[..5], Law::Amdahl, &[2.0], 10, 1).is_empty(),
            "one executor count"
        );
        assert!(
            predict(&obs[..10], Law::Usl, &[4.0], 10, 1).is_empty(),
            "two executor counts"
        );
    }

    fn noisy(
        model: impl Fn(f64) -> f64,
        ps: &[f64],
        reps: usize,
        noise: f64,
        seed: u64,
    ) -> Vec<Obs> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = Normal::new(0.0, noise).unwrap();
        ps.iter()
            .flat_map(|p| (0..reps).map(move |_| *p))
            .map(|p| (p, model(p) * (1.0 + n.sample(&mut rng))))
            .collect()
    }

    #[test]
    fn amdahl_recovers_serial_fraction_from_noisy_times() {
        let ps = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        for seed in 0..5 {
            let obs = noisy(|p| amdahl_time(100.0, 0.10, p), &ps, 5, 0.05, seed);
            let f = fit_amdahl(&obs, 300, seed).unwrap();
            assert!(
                (f.serial_fraction - 0.10).abs() <= 0.02,
                "seed {seed}: {f:?}"
            );
            assert!((f.t1 - 100.0).abs() < 10.0);
            let (lo, hi) = f.serial_fraction_ci.unwrap();
            assert!(lo < f.serial_fraction && f.serial_fraction < hi);
        }
    }

    #[test]
    fn usl_recovers_sigma_and_kappa() {
        let ps = [1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0];
        let (sg, kp) = (0.05, 0.002);
        for seed in 0..5 {
            let obs = noisy(|p| usl_time(50.0, sg, kp, p), &ps, 3, 0.01, seed);
            let f = fit_usl(&obs, 300, seed).unwrap();
            assert!((f.sigma - sg).abs() <= 0.1 * sg, "seed {seed}: σ {f:?}");
            assert!((f.kappa - kp).abs() <= 0.1 * kp, "seed {seed}: κ {f:?}");
            let peak = f.peak_executors.unwrap();
            assert!((peak - ((1.0 - sg) / kp).sqrt()).abs() < 3.0, "{peak}");
        }
    }

    #[test]
    fn under_determined_fits_are_refused() {
        assert!(fit_amdahl(&[(1.0, 10.0), (1.0, 11.0)], 10, 1).is_none());
        assert!(fit_usl(&[(1.0, 10.0), (2.0, 6.0), (2.0, 6.1)], 10, 1).is_none());
        assert!(fit_amdahl(&[(1.0, 10.0), (2.0, -1.0)], 10, 1).is_none());
    }

    #[test]
    fn exact_data_gives_exact_parameters() {
        let obs: Vec<Obs> = [1.0, 2.0, 4.0, 8.0]
            .iter()
            .map(|p| (*p, amdahl_time(20.0, 0.25, *p)))
            .collect();
        let f = fit_amdahl(&obs, 50, 3).unwrap();
        assert!((f.serial_fraction - 0.25).abs() < 1e-6 && (f.t1 - 20.0).abs() < 1e-6);
        assert!(f.rms_relative_error < 1e-9);
    }
}
