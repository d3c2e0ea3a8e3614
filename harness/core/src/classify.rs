//! Binary-classification metrics over scores: ROC AUC.
//!
//! ROC AUC is computed as the normalised Mann–Whitney U statistic (Hanley & McNeil, 1982;
//! Fawcett, "An introduction to ROC analysis", 2006): the probability that a randomly chosen
//! positive scores higher than a randomly chosen negative, ties counting one half. It equals
//! the area under the trapezoidal ROC curve, i.e. scikit-learn's `roc_auc_score`.

/// ROC AUC of `scores` (higher = more positive) against `labels` (`true` = positive).
///
/// Shapes: `scores.len() == labels.len()`. Returns `None` when the lengths differ, when a score
/// is NaN, or when one class is absent (the AUC is undefined then).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = labels.iter().filter(|l| **l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over all (positive, negative) pairs.
    fn pairwise(scores: &[f64], labels: &[bool]) -> f64 {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for (i, &li) in labels.iter().enumerate() {
            for (j, &lj) in labels.iter().enumerate() {
                if li && !lj {
                    pairs += 1.0;
                    wins += if scores[i] > scores[j] {
                        1.0
                    } else if scores[i] == scores[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        wins / pairs
    }

    #[test]
    fn perfect_inverted_and_random_orders() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(roc_auc(&[0.5; 4], &labels), Some(0.5));
        // scikit-learn's documented example: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &labels), Some(0.75));
    }

    #[test]
    fn matches_pairwise_definition_with_ties() {
        let scores: Vec<f64> = (0..200).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let labels: Vec<bool> = (0..200).map(|i| (i * 13) % 7 < 3).collect();
        let a = roc_auc(&scores, &labels).unwrap();
        assert!((a - pairwise(&scores, &labels)).abs() < 1e-12);
    }

    #[test]
    fn undefined_cases() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(roc_auc(&[0.1], &[true, false]), None);
        assert_eq!(roc_auc(&[f64::NAN, 0.2], &[true, false]), None);
    }
}
