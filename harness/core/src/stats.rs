//! Summary statistics over repetitions and the basic scaling ratios.
//!
//! Speedup S(E) = T(E_base) / T(E) and parallel efficiency S(E) / (E / E_base), where E_base is
//! the smallest executor count measured (Amdahl, 1967; the usual strong-scaling definitions).

/// Median of `xs` (mean of the two middle values for an even count); `None` when empty or when
/// any value is NaN.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() || xs.iter().any(|x| x.is_nan()) {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    Some(if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Minimum and maximum of `xs`; `None` when empty.
pub fn min_max(xs: &[f64]) -> Option<(f64, f64)> {
    let mut it = xs.iter().copied();
    let first = it.next()?;
    Some(it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x))))
}

/// Strong-scaling speedup of time `t` at `executors` against `t_base` at `base_executors`:
/// returns `(speedup, parallel_efficiency)`, efficiency = speedup / (executors / base).
pub fn speedup(t_base: f64, base_executors: u32, t: f64, executors: u32) -> (f64, f64) {
    let s = t_base / t;
    let ratio = f64::from(executors) / f64::from(base_executors);
    (s, s / ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn speedup_and_efficiency() {
        let (s, e) = speedup(10.0, 1, 6.0, 2);
        assert!((s - 10.0 / 6.0).abs() < 1e-12);
        assert!((e - 10.0 / 12.0).abs() < 1e-12);
        let (s, e) = speedup(8.0, 2, 4.0, 4);
        assert_eq!((s, e), (2.0, 1.0));
    }
}
