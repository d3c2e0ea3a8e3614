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

/// A confusion matrix over `classes` classes: `counts[actual × classes + predicted]`.
///
/// Per-class IoU (Jaccard index) is TP / (TP + FP + FN) — the metric FRACTAL's own benchmark
/// reports as mean IoU over classes (Gaydon et al., "FRACTAL: An Ultra-Large-Scale Aerial Lidar
/// Dataset for 3D Semantic Segmentation", 2024); per-class F1 is 2·TP / (2·TP + FP + FN), and
/// macro-F1 their unweighted mean, as sklearn's `f1_score(average="macro")`. Both means run over
/// the classes that occur in the labels or the predictions; a class absent from both has no
/// score (`None`), not 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    classes: usize,
    counts: Vec<u64>,
}

impl Confusion {
    /// An empty `classes × classes` matrix.
    pub fn new(classes: usize) -> Self {
        Confusion {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Counts `predicted` against `labels` (class indices below `classes`).
    ///
    /// # Panics
    /// If the slices differ in length or hold an index ≥ `classes`.
    pub fn add(&mut self, predicted: &[usize], labels: &[usize]) {
        assert_eq!(predicted.len(), labels.len(), "one prediction per label");
        for (p, l) in predicted.iter().zip(labels) {
            self.counts[l * self.classes + p] += 1;
        }
    }

    /// The matrix summed over all executors (one allreduce); every executor gets it.
    pub fn summed(&self, world: &World) -> Self {
        Confusion {
            classes: self.classes,
            counts: world.sum_u64(&self.counts),
        }
    }

    /// Rows counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Share of rows on the diagonal; `None` without rows.
    pub fn accuracy(&self) -> Option<f64> {
        let correct: u64 = (0..self.classes)
            .map(|c| self.counts[c * self.classes + c])
            .sum();
        (self.total() > 0).then(|| correct as f64 / self.total() as f64)
    }

    /// (TP, FP, FN) of class `c`.
    fn tp_fp_fn(&self, c: usize) -> (u64, u64, u64) {
        let k = self.classes;
        let tp = self.counts[c * k + c];
        let predicted: u64 = (0..k).map(|a| self.counts[a * k + c]).sum();
        let actual: u64 = self.counts[c * k..(c + 1) * k].iter().sum();
        (tp, predicted - tp, actual - tp)
    }

    /// IoU of every class; `None` for a class neither labelled nor predicted.
    pub fn iou(&self) -> Vec<Option<f64>> {
        (0..self.classes)
            .map(|c| {
                let (tp, fp, fn_) = self.tp_fp_fn(c);
                let d = tp + fp + fn_;
                (d > 0).then(|| tp as f64 / d as f64)
            })
            .collect()
    }

    /// F1 of every class; `None` for a class neither labelled nor predicted.
    pub fn f1(&self) -> Vec<Option<f64>> {
        (0..self.classes)
            .map(|c| {
                let (tp, fp, fn_) = self.tp_fp_fn(c);
                let d = 2 * tp + fp + fn_;
                (d > 0).then(|| 2.0 * tp as f64 / d as f64)
            })
            .collect()
    }

    /// Mean IoU over the classes that have one.
    pub fn mean_iou(&self) -> Option<f64> {
        mean_some(&self.iou())
    }

    /// Macro-F1: mean F1 over the classes that have one.
    pub fn macro_f1(&self) -> Option<f64> {
        mean_some(&self.f1())
    }
}

fn mean_some(v: &[Option<f64>]) -> Option<f64> {
    let xs: Vec<f64> = v.iter().flatten().copied().collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_metrics_match_hand_computation() {
        // labels:    0 0 0 1 1 2
        // predicted: 0 0 1 1 2 2   (class 3 never occurs)
        let mut c = Confusion::new(4);
        c.add(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2]);
        assert_eq!(c.total(), 6);
        assert_eq!(c.accuracy(), Some(4.0 / 6.0));
        // class 0: TP 2, FP 0, FN 1 → IoU 2/3, F1 4/5
        // class 1: TP 1, FP 1, FN 1 → IoU 1/3, F1 2/4
        // class 2: TP 1, FP 1, FN 0 → IoU 1/2, F1 2/3
        let iou = c.iou();
        assert_eq!(iou[..3], [Some(2.0 / 3.0), Some(1.0 / 3.0), Some(0.5)]);
        assert_eq!(iou[3], None, "absent from labels and predictions");
        let miou = c.mean_iou().unwrap();
        assert!((miou - (2.0 / 3.0 + 1.0 / 3.0 + 0.5) / 3.0).abs() < 1e-12);
        let f1 = c.macro_f1().unwrap();
        assert!((f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(Confusion::new(3).accuracy(), None);
        assert_eq!(Confusion::new(3).mean_iou(), None);
    }

    #[test]
    fn argmax_and_counts() {
        let probs = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.0, 0.0, 1.0];
        let pred = argmax_rows(&probs, 3);
        assert_eq!(pred, vec![1, 0, 2]);
        assert_eq!(local_correct(&pred, &[1, 1, 2]), (2, 3));
    }
}
