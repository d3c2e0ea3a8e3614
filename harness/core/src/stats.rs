//! Statistics over repetitions and the scaling metrics.
//!
//! Kept apart from measurement (as in criterion.rs): everything here is a pure function of
//! numbers. Definitions:
//! - speedup S(E) = T(E_base) / T(E) and parallel efficiency S / (E / E_base), against the
//!   smallest executor count measured (strong scaling);
//! - Karp–Flatt experimentally determined serial fraction
//!   e = (1/S − 1/p) / (1 − 1/p) for p > 1 (Karp & Flatt, CACM 33(5), 1990), with p the
//!   ratio of resources to the base;
//! - the median's confidence interval is a percentile bootstrap (Efron & Tibshirani, *An
//!   Introduction to the Bootstrap*, 1993, ch. 13) with a seeded ChaCha generator, so a report
//!   is reproducible;
//! - outliers are classified with Tukey's fences (Tukey, *Exploratory Data Analysis*, 1977):
//!   mild beyond 1.5 IQR, severe beyond 3 IQR from the quartiles, as criterion.rs does. They
//!   are shown, never dropped.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seed of every bootstrap in reports (reproducible pages).
pub const BOOTSTRAP_SEED: u64 = 0x5CA1_AB1E;
/// Resamples of every bootstrap in reports.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// Median of `xs` (mean of the two middle values for an even count); `None` when empty or when
/// any value is NaN.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() || xs.iter().any(|x| x.is_nan()) {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    Some(quantile_sorted(&v, 0.5))
}

/// Minimum and maximum of `xs`; `None` when empty.
pub fn min_max(xs: &[f64]) -> Option<(f64, f64)> {
    let mut it = xs.iter().copied();
    let first = it.next()?;
    Some(it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x))))
}

/// Quantile `q` ∈ [0, 1] of sorted, non-empty `v` by linear interpolation between order
/// statistics (Hyndman & Fan type 7, the default of R and NumPy).
///
/// # Panics
/// If `v` is empty.
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    assert!(!v.is_empty(), "quantile of an empty sample");
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Percentile-bootstrap confidence interval of the median: `resamples` resamples with
/// replacement, the `(1 − confidence)/2` and `(1 + confidence)/2` quantiles of their medians.
/// A single value gives the degenerate interval `(x, x)`; empty input gives `None`.
pub fn bootstrap_median_ci(
    xs: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    bootstrap_ci(xs, confidence, resamples, seed, |s| {
        median(s).expect("non-empty")
    })
}

/// The `(1 − confidence)/2` and `(1 + confidence)/2` quantiles of the finite values among
/// bootstrap `stats`; `None` when none is finite.
fn percentile_interval(mut stats: Vec<f64>, confidence: f64) -> Option<(f64, f64)> {
    stats.retain(|s| s.is_finite());
    if stats.is_empty() {
        return None;
    }
    stats.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    Some((
        quantile_sorted(&stats, alpha),
        quantile_sorted(&stats, 1.0 - alpha),
    ))
}

/// Percentile-bootstrap interval of any statistic of a sample.
pub fn bootstrap_ci(
    xs: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
    stat: impl Fn(&[f64]) -> f64,
) -> Option<(f64, f64)> {
    if xs.is_empty() || xs.iter().any(|x| x.is_nan()) {
        return None;
    }
    if xs.len() == 1 {
        return Some((xs[0], xs[0]));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = vec![0.0; xs.len()];
    let stats: Vec<f64> = (0..resamples.max(1))
        .map(|_| {
            for b in &mut buf {
                *b = xs[rng.random_range(0..xs.len())];
            }
            stat(&buf)
        })
        .collect();
    percentile_interval(stats, confidence)
}

/// Percentile-bootstrap interval of a statistic of two independent samples (each resampled
/// with replacement on its own, as criterion.rs compares two benchmarks), e.g. the ratio of
/// their medians: a speedup T(base) / T(E) or a relative change. `None` when either sample is
/// empty or holds NaN, or no resample gives a finite statistic.
pub fn bootstrap_two_sample_ci(
    a: &[f64],
    b: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
    stat: impl Fn(&[f64], &[f64]) -> f64,
) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|x| x.is_nan()) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut ra, mut rb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    let stats: Vec<f64> = (0..resamples.max(1))
        .map(|_| {
            for x in &mut ra {
                *x = a[rng.random_range(0..a.len())];
            }
            for x in &mut rb {
                *x = b[rng.random_range(0..b.len())];
            }
            stat(&ra, &rb)
        })
        .collect();
    percentile_interval(stats, confidence)
}

/// The ratio median(`num`) / median(`den`) with its 95 % two-sample bootstrap interval
/// ([`BOOTSTRAP_RESAMPLES`], [`BOOTSTRAP_SEED`]): the speedup of `den`'s runs over `num`'s
/// when both are times. `None` when either sample is empty.
pub fn median_ratio(num: &[f64], den: &[f64]) -> Option<(f64, (f64, f64))> {
    let r = median(num)? / median(den)?;
    let ci = bootstrap_two_sample_ci(
        num,
        den,
        0.95,
        BOOTSTRAP_RESAMPLES,
        BOOTSTRAP_SEED,
        |a, b| median(a).expect("non-empty") / median(b).expect("non-empty"),
    )?;
    Some((r, ci))
}

/// The difference median(`a`) − median(`b`) with its 95 % two-sample bootstrap interval
/// ([`BOOTSTRAP_RESAMPLES`], [`BOOTSTRAP_SEED`]): e.g. a reference engine's accuracy against
/// ours, in the metric's own unit. `None` when either sample is empty or holds NaN.
pub fn median_difference(a: &[f64], b: &[f64]) -> Option<(f64, (f64, f64))> {
    let d = median(a)? - median(b)?;
    let ci = bootstrap_two_sample_ci(a, b, 0.95, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, |x, y| {
        median(x).expect("non-empty") - median(y).expect("non-empty")
    })?;
    Some((d, ci))
}

/// Tukey-fence class of one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outlier {
    /// Inside the inner fences.
    None,
    /// Between the inner (1.5 IQR) and outer (3 IQR) fences.
    Mild,
    /// Beyond the outer fences.
    Severe,
}

/// Classifies every value of `xs` against Tukey's fences of `xs` (same order as `xs`). Fewer
/// than four values are never outliers (the quartiles mean nothing).
pub fn tukey_outliers(xs: &[f64]) -> Vec<Outlier> {
    if xs.len() < 4 || xs.iter().any(|x| x.is_nan()) {
        return vec![Outlier::None; xs.len()];
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let (q1, q3) = (quantile_sorted(&v, 0.25), quantile_sorted(&v, 0.75));
    let iqr = q3 - q1;
    xs.iter()
        .map(|x| {
            if *x < q1 - 3.0 * iqr || *x > q3 + 3.0 * iqr {
                Outlier::Severe
            } else if *x < q1 - 1.5 * iqr || *x > q3 + 1.5 * iqr {
                Outlier::Mild
            } else {
                Outlier::None
            }
        })
        .collect()
}

/// Strong-scaling speedup of time `t` at `executors` against `t_base` at `base_executors`:
/// returns `(speedup, parallel_efficiency)`, efficiency = speedup / (executors / base).
pub fn speedup(t_base: f64, base_executors: u32, t: f64, executors: u32) -> (f64, f64) {
    let s = t_base / t;
    let ratio = f64::from(executors) / f64::from(base_executors);
    (s, s / ratio)
}

/// Karp–Flatt experimentally determined serial fraction e = (1/S − 1/p) / (1 − 1/p) for a
/// speedup `s` on `p` > 1 times the base resources; `None` for p ≤ 1.
pub fn karp_flatt(s: f64, p: f64) -> Option<f64> {
    (p > 1.0 && s > 0.0).then(|| (1.0 / s - 1.0 / p) / (1.0 - 1.0 / p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ratio_interval_covers_the_ratio_and_tightens_with_agreement() {
        let base = [10.0, 10.2, 9.9, 10.1, 10.0];
        let two = [5.0, 5.1, 4.9, 5.05, 5.0];
        let (r, (lo, hi)) = median_ratio(&base, &two).unwrap();
        assert!((r - 2.0).abs() < 1e-12);
        assert!(lo <= r && r <= hi && lo > 1.9 && hi < 2.1, "{lo} {hi}");
        let noisy = [4.0, 6.0, 5.0, 3.5, 6.5];
        let (_, (nlo, nhi)) = median_ratio(&base, &noisy).unwrap();
        assert!(nhi - nlo > hi - lo, "a noisier sample widens the interval");
        assert!(median_ratio(&[], &two).is_none());
    }

    #[test]
    fn median_difference_is_signed_and_its_interval_excludes_zero_only_for_a_real_gap() {
        let ours = [0.883, 0.883, 0.883];
        let spark = [0.874, 0.871, 0.876];
        let (d, (lo, hi)) = median_difference(&spark, &ours).unwrap();
        assert!((d - (0.874 - 0.883)).abs() < 1e-12);
        assert!(lo <= d && d <= hi && hi < 0.0, "{lo} {hi}");
        let mixed = [0.880, 0.886, 0.883];
        let (_, (lo, hi)) = median_difference(&mixed, &ours).unwrap();
        assert!(
            lo < 0.0 && hi > 0.0,
            "an overlapping sample straddles zero: {lo} {hi}"
        );
        assert!(median_difference(&spark, &[]).is_none());
        assert!(median_difference(&[f64::NAN], &ours).is_none());
    }
    use rand_distr::{Distribution, Normal};

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn min_max_works() {
        assert_eq!(min_max(&[2.0, -1.0, 5.0]), Some((-1.0, 5.0)));
        assert_eq!(min_max(&[]), None);
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert!((quantile_sorted(&v, 0.25) - 1.75).abs() < 1e-12);
    }

    #[test]
    fn speedup_and_efficiency() {
        let (s, e) = speedup(10.0, 1, 6.0, 2);
        assert!((s - 10.0 / 6.0).abs() < 1e-12);
        assert!((e - 10.0 / 12.0).abs() < 1e-12);
        let (s, e) = speedup(8.0, 2, 4.0, 4);
        assert_eq!((s, e), (2.0, 1.0));
    }

    #[test]
    fn karp_flatt_recovers_amdahl_serial_fraction() {
        // Pure Amdahl with serial fraction 0.2: S(p) = 1 / (0.2 + 0.8 / p), and e(p) = 0.2.
        for p in [2.0, 4.0, 16.0] {
            let s = 1.0 / (0.2 + 0.8 / p);
            assert!((karp_flatt(s, p).unwrap() - 0.2).abs() < 1e-12);
        }
        assert_eq!(karp_flatt(1.0, 1.0), None);
        // Perfect speedup has no serial part.
        assert!(karp_flatt(4.0, 4.0).unwrap().abs() < 1e-12);
    }

    #[test]
    fn tukey_fences_classify_without_dropping() {
        let xs = [10.0, 10.1, 9.9, 10.2, 9.8, 10.0, 11.3, 20.0];
        // Q1 = 9.975, Q3 = 10.475, IQR = 0.5: inner fence 11.225, outer 11.975.
        let c = tukey_outliers(&xs);
        assert_eq!(c.len(), xs.len());
        assert_eq!(c[7], Outlier::Severe);
        assert_eq!(c[6], Outlier::Mild);
        assert!(c[..6].iter().all(|o| *o == Outlier::None));
        assert_eq!(tukey_outliers(&[1.0, 100.0]), vec![Outlier::None; 2]);
    }

    #[test]
    fn median_ci_covers_the_true_median_at_least_90_percent() {
        // 200 samples of 15 times from N(10, 1): the true median is 10.
        let dist = Normal::new(10.0, 1.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let covered = (0..200)
            .filter(|i| {
                let xs: Vec<f64> = (0..15).map(|_| dist.sample(&mut rng)).collect();
                let (lo, hi) = bootstrap_median_ci(&xs, 0.95, 1000, *i).unwrap();
                assert!(lo <= hi);
                lo <= 10.0 && 10.0 <= hi
            })
            .count();
        assert!(covered >= 180, "covered {covered} of 200");
    }

    #[test]
    fn degenerate_ci() {
        assert_eq!(bootstrap_median_ci(&[3.0], 0.95, 100, 1), Some((3.0, 3.0)));
        assert_eq!(bootstrap_median_ci(&[], 0.95, 100, 1), None);
        let a = bootstrap_median_ci(&[1.0, 2.0, 3.0, 4.0], 0.95, 500, 9);
        assert_eq!(
            a,
            bootstrap_median_ci(&[1.0, 2.0, 3.0, 4.0], 0.95, 500, 9),
            "seeded"
        );
    }
}
