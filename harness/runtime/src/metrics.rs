//! ML metrics computed across executors.
//!
//! Each executor evaluates its own shard; counts are summed with one allreduce so every
//! executor (and rank 0's record) sees the metric over the whole split.

use crate::world::World;

/// Index of the largest value in each row of a row-major `rows × classes` probability matrix.
///
/// # Panics
/// If `probs.len()` is not a multiple of `classes`.
pub fn argmax_rows(probs: &[f64], classes: usize) -> Vec<usize> {
    assert!(
        classes > 0 && probs.len().is_multiple_of(classes),
        "probs is rows × classes"
    );
    probs
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, v)| {
                    if *v > bv {
                        (i, *v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}

/// Correct predictions and total rows on this executor.
pub fn local_correct(predicted: &[usize], labels: &[usize]) -> (u64, u64) {
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    (correct as u64, labels.len() as u64)
}

/// Accuracy over all executors from local (correct, total) counts: Σ correct / Σ total, or
/// `None` when no executor had rows.
pub fn global_accuracy(world: &World, correct: u64, total: u64) -> Option<f64> {
    let sums = world.sum_u64(&[correct, total]);
    (sums[1] > 0).then(|| sums[0] as f64 / sums[1] as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_and_counts() {
        let probs = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.0, 0.0, 1.0];
        let pred = argmax_rows(&probs, 3);
        assert_eq!(pred, vec![1, 0, 2]);
        assert_eq!(local_correct(&pred, &[1, 1, 2]), (2, 3));
    }
}
