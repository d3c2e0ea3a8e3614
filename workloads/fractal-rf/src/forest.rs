//! Spark MLlib's random forest classifier, data-parallel: the algorithm of Apache Spark's
//! `mllib/src/main/scala/org/apache/spark/ml/tree/impl/RandomForest.scala` (`findSplits`,
//! `findBestSplits`, `binsToBestSplit`), `DecisionTreeMetadata.scala`, `BaggedPoint.scala` and
//! `DTStatsAggregator.scala`, with MLlib's defaults (MLlib guide, "Ensembles — Random
//! Forests"). This module does no I/O: executors hand it their binned rows and a function that
//! sums a buffer over all executors (an MPI allreduce, or nothing for one executor).
//!
//! The rules, each as in MLlib:
//! - **Binning** (`findSplits`, `findSplitsForContinuousFeature`): every feature is continuous;
//!   up to `max_bins` bins, i.e. `max_bins − 1` thresholds chosen from a sample of at most
//!   max(`max_bins`², 10 000) rows so that the counts between thresholds are as even as the
//!   distinct values allow; each threshold is the midpoint `(a + b) / 2` of two adjacent
//!   distinct sampled values `a < b` (in `f64`, exact for `f32` data); fewer distinct values
//!   than thresholds → the midpoint of every adjacent pair. A value `x` goes left of
//!   threshold `t` when `x ≤ t`; its bin is the index of the first threshold `≥ x`
//!   ([`Splits::bin`]).
//! - **Bootstrap** (`BaggedPoint.convertToBaggedRDD`, `subsamplingRate` 1.0, with replacement
//!   as MLlib does for more than one tree): each row gets a Poisson(1) weight per tree.
//! - **Feature subset per node** (`featureSubsetStrategy` "auto", `RandomForest.run`: "all"
//!   for a single tree, "sqrt" for a classification forest): ⌈√p⌉ features drawn without
//!   replacement for every node split, or all `p` when the forest has one tree.
//! - **Gini impurity** on weighted class counts; a node's split is the (feature, threshold) of
//!   largest information gain `impurity − wL·impurityL − wR·impurityR`, where a split with
//!   fewer than `min_instances_per_node` (weight) on either side or a gain below
//!   `min_info_gain` is invalid (`calculateImpurityStats`); ties keep the first candidate.
//! - **Growth** (`findBestSplits`): a node is a leaf when its best gain is ≤ 0 or it is at
//!   `max_depth`; a child whose impurity is 0 is a leaf at once. Nodes are split level by
//!   level, for a group of trees at a time (MLlib's node groups, bounded there by
//!   `maxMemoryInMB`, here by [`STATE_BYTES_PER_ROW`]); trees are independent, so grouping
//!   does not change them.
//! - **Pruning** (`Node.scala`, `LearningNode.toNode(prune = true)`, the default since Spark
//!   2.4): bottom-up, a node whose two children are leaves predicting the same class (the arg
//!   max of their counts, first on ties) becomes a leaf itself, keeping its own counts.
//! - **Prediction** (`RandomForestClassificationModel.predictRaw`): the average of the trees'
//!   leaf class-probability vectors (each leaf's counts normalised), then the arg max.
//! - **Depth**: `maxDepth` in 0..=30 (`DecisionTreeParams.maxDepth`'s `inRange(0, 30)`; node
//!   ids are 32-bit heap indices there).
//!
//! Deliberate differences, all so that the forest does not depend on how rows are spread over
//! executors (MLlib's does: its sample, bootstrap and feature draws follow the partitioning):
//! the threshold sample keeps a row when a hash of its global id falls below the sampling
//! fraction; Poisson weights come from a hash of (seed, tree, row id); feature subsets from a
//! generator seeded by (seed, tree, node id). Histogram counts are integers, so their sum over
//! executors is exact in any order, and 1, 2 or 3 executors grow byte-identical forests.

use serde::{Deserialize, Serialize};

/// Name of the saved forest among a run's artifacts (rank 0 writes it; `harness predict`
/// loads it).
pub const ARTIFACT: &str = "forest.json";

/// Forest parameters; the defaults are MLlib's `RandomForestClassifier` defaults except the
/// reference's `numTrees` 40, `maxDepth` 6 and `seed` 62.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestParams {
    pub num_trees: u32,
    /// Depth of the deepest leaf (the root is depth 0), at most [`MAX_DEPTH`] as in MLlib.
    pub max_depth: u32,
    /// Bins per feature, at most 256 (one byte per binned value).
    pub max_bins: u32,
    pub seed: u64,
    /// Features considered at each node; `None` = MLlib's "auto": all `p` for one tree,
    /// ⌈√p⌉ ("sqrt") for a forest.
    pub features_per_node: Option<usize>,
    /// Least weight on each side of a split (MLlib `minInstancesPerNode`, 1).
    pub min_instances_per_node: u32,
    /// Least information gain of a split (MLlib `minInfoGain`, 0).
    pub min_info_gain: f64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            num_trees: 40,
            max_depth: 6,
            max_bins: 32,
            seed: 62,
            features_per_node: None,
            min_instances_per_node: 1,
            min_info_gain: 0.0,
        }
    }
}

/// The deepest `max_depth` MLlib accepts (`DecisionTreeParams`: `ParamValidators.inRange(0,
/// 30)`).
pub const MAX_DEPTH: u32 = 30;

impl ForestParams {
    /// Features considered per node for `p` features: MLlib's "auto" strategy
    /// (`RandomForest.run`: `if (numTrees == 1) "all" else "sqrt"` for classification) unless
    /// set.
    pub fn features_per_node(&self, p: usize) -> usize {
        self.features_per_node
            .unwrap_or_else(|| {
                if self.num_trees == 1 {
                    p
                } else {
                    (p as f64).sqrt().ceil() as usize
                }
            })
            .clamp(1, p.max(1))
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x` (Steele, Lea & Flood, "Fast
/// splittable pseudorandom number generators", OOPSLA 2014).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A row's global id from the name of its file and its position there: the same on every
/// executor count, because files are never split between executors.
pub fn row_id(file: &str, row: u64) -> u64 {
    row_id_in(file_key(file), row)
}

/// The per-file part of [`row_id`] (FNV-1a over the name), computed once per file.
pub fn file_key(file: &str) -> u64 {
    file.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// [`row_id`] with the file's [`file_key`] already computed.
#[inline]
pub fn row_id_in(file_key: u64, row: u64) -> u64 {
    mix(file_key ^ mix(row))
}

/// `mix(i)` for every `i` below 2^17 (1 MiB, computed once): half of [`row_id_in`]'s work,
/// the same for every file, looked up for the first 131,072 rows of each.
fn row_mixes() -> &'static [u64] {
    static TABLE: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..1u64 << 17).map(mix).collect())
}

/// A uniform number in [0, 1) from the top 53 bits of a hash.
pub fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Poisson(1)'s cumulative distribution P(X ≤ k) for k = 0, 1, …, 8, then 1: a uniform `u` in
/// [0, 1) has weight k when it lies below bound k and not below bound k − 1.
const POISSON1_CDF: [f64; 10] = {
    // e^-1 · Σ_{i≤k} 1/i!
    let e = 0.367_879_441_171_442_3;
    [
        e,
        2.0 * e,
        2.5 * e,
        (2.5 + 1.0 / 6.0) * e,
        (2.5 + 1.0 / 6.0 + 1.0 / 24.0) * e,
        (2.5 + 1.0 / 6.0 + 1.0 / 24.0 + 1.0 / 120.0) * e,
        (2.5 + 1.0 / 6.0 + 1.0 / 24.0 + 1.0 / 120.0 + 1.0 / 720.0) * e,
        (2.5 + 1.0 / 6.0 + 1.0 / 24.0 + 1.0 / 120.0 + 1.0 / 720.0 + 1.0 / 5040.0) * e,
        (2.5 + 1.0 / 6.0 + 1.0 / 24.0 + 1.0 / 120.0 + 1.0 / 720.0 + 1.0 / 5040.0 + 1.0 / 40320.0)
            * e,
        1.0,
    ]
};

/// The bootstrap weight of row `id` in tree `tree`: a Poisson(1) draw from a hash of
/// (seed, tree, id) by inverse transform (at most 9; the tail beyond has probability 1e-7).
pub fn poisson_weight(seed: u64, tree: u32, id: u64) -> u32 {
    poisson_weight_keyed(bootstrap_key(seed, tree), id)
}

/// The per-tree part of [`poisson_weight`]'s hash, computed once per tree.
pub fn bootstrap_key(seed: u64, tree: u32) -> u64 {
    mix(seed ^ mix(u64::from(tree)))
}

/// [`POISSON1_CDF`] on the 53-bit integer scale of [`unit`]: `unit(h) ≥ c` ⟺ `h >> 11 ≥
/// ⌈c · 2^53⌉` exactly (`h >> 11` and `c · 2^53` are both exact in `f64`), so integer
/// comparisons give the same weights as the floating-point ones.
const POISSON1_BOUNDS: [u64; 9] = {
    let mut b = [0u64; 9];
    let mut i = 0;
    while i < 9 {
        let x = POISSON1_CDF[i] * (1u64 << 53) as f64;
        let t = x as u64;
        b[i] = if (t as f64) < x { t + 1 } else { t };
        i += 1;
    }
    b
};

/// [`poisson_weight`] with the tree's [`bootstrap_key`] already computed.
#[inline]
pub fn poisson_weight_keyed(key: u64, id: u64) -> u32 {
    let u = mix(key ^ id) >> 11;
    // The first k with u < bound k: the bounds increase, so it is the number of bounds ≤ u
    // (the last bound, 1, exceeds every u). The first four are compared without branches;
    // the rest only for the 1.9 % of weights ≥ 4.
    let b = &POISSON1_BOUNDS;
    let w =
        u32::from(u >= b[0]) + u32::from(u >= b[1]) + u32::from(u >= b[2]) + u32::from(u >= b[3]);
    if w < 4 {
        w
    } else {
        w + b[4..].iter().map(|c| u32::from(u >= *c)).sum::<u32>()
    }
}

/// Split thresholds of every feature: feature `f` has `thresholds[f].len() + 1` bins.
/// Thresholds are midpoints of `f32` values, kept in `f64` (as MLlib's `Double`s) so that
/// they are exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Splits {
    pub thresholds: Vec<Vec<f64>>,
}

impl Splits {
    /// MLlib's `findSplitsForContinuousFeature` for every feature: `sample[f]` holds the
    /// sampled values of feature `f` (any order), `max_bins` the bins wanted.
    pub fn from_sample(sample: &[Vec<f32>], max_bins: u32) -> Self {
        Splits {
            thresholds: sample
                .iter()
                .map(|values| continuous_splits(values, max_bins.saturating_sub(1) as usize))
                .collect(),
        }
    }

    /// The bin of value `x` of feature `f`: the index of the first threshold `≥ x`, or the
    /// number of thresholds when `x` exceeds them all. `x ≤ thresholds[f][i]` ⟺ `bin ≤ i`.
    pub fn bin(&self, f: usize, x: f32) -> u8 {
        let x = f64::from(x);
        self.thresholds[f].partition_point(|t| *t < x) as u8
    }

    /// Number of bins of feature `f`.
    pub fn bins(&self, f: usize) -> usize {
        self.thresholds[f].len() + 1
    }
}

/// Thresholds of one feature from its sampled values (MLlib
/// `findSplitsForContinuousFeature`): walk the sorted distinct values with their counts and
/// cut where the running count comes closest to the next multiple of
/// `samples / (num_splits + 1)`, at the midpoint between the value before the cut and the
/// value after it.
fn continuous_splits(values: &[f32], num_splits: usize) -> Vec<f64> {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return Vec::new();
    }
    sorted.sort_by(f32::total_cmp);
    let mut counts: Vec<(f32, usize)> = Vec::new();
    for v in sorted.iter().copied() {
        match counts.last_mut() {
            Some((last, c)) if *last == v => *c += 1,
            _ => counts.push((v, 1)),
        }
    }
    let midpoint = |i: usize| (f64::from(counts[i - 1].0) + f64::from(counts[i].0)) / 2.0;
    if counts.len() - 1 <= num_splits {
        return (1..counts.len()).map(midpoint).collect();
    }
    let stride = sorted.len() as f64 / (num_splits + 1) as f64;
    let mut splits = Vec::with_capacity(num_splits);
    let mut current = counts[0].1 as f64;
    let mut target = stride;
    for (i, (_, count)) in counts.iter().enumerate().skip(1) {
        let previous = current;
        current += *count as f64;
        if (previous - target).abs() < (current - target).abs() {
            splits.push(midpoint(i));
            target += stride;
        }
    }
    splits
}

/// Rows binned for training: `p` bytes per row and a class label — 8 bytes per FRACTAL row.
/// Global row ids are not held: they follow from the files the rows came from.
#[derive(Debug, Clone, Default)]
pub struct BinnedRows {
    /// Number of features (at most 255).
    pub p: usize,
    /// Row-major `rows × p` bins.
    pub bins: Vec<u8>,
    pub labels: Vec<u8>,
    /// The files the rows were read from, in row order: each file's [`file_key`] and its row
    /// count. Row `i` of a file has the global id [`row_id_in`]`(key, i)` ([`row_id`]), so
    /// bootstrap weights do not depend on sharding; files are never split between executors.
    pub files: Vec<(u64, u64)>,
}

impl BinnedRows {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Global ids ([`row_id`]) of rows `start..start + out.len()` into `out`, computed from
    /// [`BinnedRows::files`]; `first_rows` is [`BinnedRows::first_rows`].
    ///
    /// # Panics
    /// When the range reaches past the last row.
    pub fn ids_into(&self, first_rows: &[usize], start: usize, out: &mut [u64]) {
        // The file holding row `start`: the last one that begins at or before it.
        let mut file = first_rows.partition_point(|f| *f <= start) - 1;
        let mixes = row_mixes();
        let mut done = 0;
        while done < out.len() {
            let (key, rows) = self.files[file];
            let from = start + done - first_rows[file];
            let take = (rows as usize - from).min(out.len() - done);
            for (o, i) in out[done..done + take].iter_mut().zip(from..) {
                // row_id_in(key, i), with mix(i) looked up for the rows of common files.
                *o = mix(key ^ mixes.get(i).copied().unwrap_or_else(|| mix(i as u64)));
            }
            done += take;
            file += 1;
        }
    }

    /// The index of every file's first row in [`BinnedRows::bins`]' rows.
    pub fn first_rows(&self) -> Vec<usize> {
        self.files
            .iter()
            .scan(0usize, |next, (_, rows)| {
                let first = *next;
                *next += *rows as usize;
                Some(first)
            })
            .collect()
    }
}

/// One node of a grown tree; children are indices into the tree's node list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Weighted class counts of the training rows that reached the node (bootstrap weights).
    pub counts: Vec<u64>,
    /// `None` for a leaf.
    pub split: Option<Split>,
}

/// A node's split: rows with `features[feature] ≤ threshold` (bin ≤ `bin`) go `left`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub feature: usize,
    pub threshold: f64,
    pub bin: u8,
    pub gain: f64,
    pub left: usize,
    pub right: usize,
}

/// One decision tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Index of the leaf raw row `x` reaches.
    fn leaf(&self, x: &[f32]) -> usize {
        let mut n = 0;
        while let Some(s) = &self.nodes[n].split {
            n = if f64::from(x[s.feature]) <= s.threshold {
                s.left
            } else {
                s.right
            };
        }
        n
    }

    /// MLlib's pruning of a grown tree (`Node.scala`, `LearningNode.toNode(prune = true)`):
    /// bottom-up, a split node whose two children are leaves with the same prediction
    /// ([`prediction`]) becomes a leaf with its own counts, so a row reaching it is scored
    /// with the parent's class distribution. Removed nodes are dropped; the others keep
    /// their order (children still come after their parent).
    pub fn pruned(&self) -> Tree {
        let n = self.nodes.len();
        // Children come after their parent: walking backwards sees them first.
        let mut leaf = vec![false; n];
        for i in (0..n).rev() {
            leaf[i] = match &self.nodes[i].split {
                None => true,
                Some(s) => {
                    leaf[s.left]
                        && leaf[s.right]
                        && prediction(&self.nodes[s.left].counts)
                            == prediction(&self.nodes[s.right].counts)
                }
            };
        }
        let mut kept = vec![false; n];
        if n > 0 {
            kept[0] = true;
        }
        for i in 0..n {
            if let (true, false, Some(s)) = (kept[i], leaf[i], &self.nodes[i].split) {
                kept[s.left] = true;
                kept[s.right] = true;
            }
        }
        let mut index = vec![usize::MAX; n];
        let mut next = 0;
        for i in 0..n {
            if kept[i] {
                index[i] = next;
                next += 1;
            }
        }
        let nodes = (0..n)
            .filter(|i| kept[*i])
            .map(|i| {
                let node = &self.nodes[i];
                Node {
                    counts: node.counts.clone(),
                    split: match &node.split {
                        Some(s) if !leaf[i] => Some(Split {
                            left: index[s.left],
                            right: index[s.right],
                            ..s.clone()
                        }),
                        _ => None,
                    },
                }
            })
            .collect();
        Tree { nodes }
    }

    /// Depth of the deepest leaf.
    pub fn depth(&self) -> u32 {
        fn d(t: &Tree, n: usize) -> u32 {
            match &t.nodes[n].split {
                None => 0,
                Some(s) => 1 + d(t, s.left).max(d(t, s.right)),
            }
        }
        d(self, 0)
    }
}

/// A trained forest, saved as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    /// Number of classes (length of every count vector).
    pub classes: usize,
    /// Number of features a row has.
    pub features: usize,
    pub trees: Vec<Tree>,
}

impl Forest {
    /// Checks that the forest can be walked: every split names a feature below `features`
    /// and children inside its tree that come after it (so no walk loops), every node has
    /// `classes` counts.
    ///
    /// # Errors
    /// The first defect, naming the tree and node.
    pub fn check(&self) -> Result<(), String> {
        if self.trees.is_empty() {
            return Err("the forest has no trees".into());
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(format!("tree {t} has no nodes"));
            }
            for (n, node) in tree.nodes.iter().enumerate() {
                if node.counts.len() != self.classes {
                    return Err(format!(
                        "tree {t} node {n} has {} class counts, expected {}",
                        node.counts.len(),
                        self.classes
                    ));
                }
                if let Some(s) = &node.split {
                    let inside = |c: usize| c > n && c < tree.nodes.len();
                    if s.feature >= self.features || !inside(s.left) || !inside(s.right) {
                        return Err(format!(
                            "tree {t} node {n} splits on feature {} into nodes {} and {} \
                             (the tree has {} nodes, rows {} features)",
                            s.feature,
                            s.left,
                            s.right,
                            tree.nodes.len(),
                            self.features
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Class probabilities of raw rows `x` (row-major `rows × features`): the mean over trees
    /// of each tree's leaf class distribution. Shape `rows × classes`.
    pub fn predict_proba(&self, x: &[f32]) -> Vec<f64> {
        let rows = x.len() / self.features.max(1);
        let mut out = vec![0.0; rows * self.classes];
        // Each node's class distribution, normalised once (a node that no bootstrap row
        // reached contributes nothing).
        let dist: Vec<Vec<f64>> = self
            .trees
            .iter()
            .map(|t| {
                t.nodes
                    .iter()
                    .flat_map(|n| {
                        let total: u64 = n.counts.iter().sum();
                        n.counts.iter().map(move |c| {
                            if total > 0 {
                                *c as f64 / total as f64
                            } else {
                                0.0
                            }
                        })
                    })
                    .collect()
            })
            .collect();
        let n = self.trees.len().max(1) as f64;
        for (r, row) in x.chunks_exact(self.features).enumerate() {
            let o = &mut out[r * self.classes..(r + 1) * self.classes];
            for (t, d) in self.trees.iter().zip(&dist) {
                let leaf = t.leaf(row) * self.classes;
                for (p, q) in o.iter_mut().zip(&d[leaf..leaf + self.classes]) {
                    *p += q;
                }
            }
            o.iter_mut().for_each(|p| *p /= n);
        }
        out
    }
}

/// The class a node predicts: the arg max of its counts, the first on ties (MLlib's
/// `ImpurityCalculator.predict` → `indexOfLargestArrayElement`).
pub fn prediction(counts: &[u64]) -> usize {
    let mut best = 0;
    for (c, v) in counts.iter().enumerate() {
        if *v > counts[best] {
            best = c;
        }
    }
    best
}

/// Gini impurity `1 − Σ pᵢ²` of weighted class counts (0 for no weight).
pub fn gini(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let t = total as f64;
    1.0 - counts
        .iter()
        .map(|c| {
            let p = *c as f64 / t;
            p * p
        })
        .sum::<f64>()
}

/// A candidate split of one feature: threshold index, gain and the two sides' class counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub split: usize,
    pub gain: f64,
    pub left: Vec<u64>,
    pub right: Vec<u64>,
}

/// The best split of one feature's per-bin class counts (`hist[bin * classes + class]`), as
/// MLlib's `binsToBestSplit` for a continuous feature: cumulative counts give the left side
/// of the split after each bin. Returns the valid split of largest gain, the first on ties.
pub fn best_split_of_feature(
    hist: &[u64],
    classes: usize,
    min_instances: u64,
    min_info_gain: f64,
) -> Option<Candidate> {
    let bins = hist.len() / classes;
    let mut total = vec![0u64; classes];
    for b in 0..bins {
        for c in 0..classes {
            total[c] += hist[b * classes + c];
        }
    }
    let parent = gini(&total);
    let n: u64 = total.iter().sum();
    let mut left = vec![0u64; classes];
    let mut best: Option<Candidate> = None;
    for split in 0..bins.saturating_sub(1) {
        for c in 0..classes {
            left[c] += hist[split * classes + c];
        }
        let nl: u64 = left.iter().sum();
        let nr = n - nl;
        if nl < min_instances || nr < min_instances {
            continue;
        }
        let right: Vec<u64> = total.iter().zip(&left).map(|(t, l)| t - l).collect();
        let gain =
            parent - nl as f64 / n as f64 * gini(&left) - nr as f64 / n as f64 * gini(&right);
        if gain < min_info_gain {
            continue;
        }
        if best.as_ref().is_none_or(|b| gain > b.gain) {
            best = Some(Candidate {
                split,
                gain,
                left: left.clone(),
                right,
            });
        }
    }
    best
}

/// The features node `node_id` (heap numbering: root 1, children 2i and 2i + 1) of tree `tree`
/// considers: `k` of `p`, drawn without replacement from a generator seeded by
/// (seed, tree, node), in ascending order.
pub fn feature_subset(seed: u64, tree: u32, node_id: u64, p: usize, k: usize) -> Vec<usize> {
    use rand::SeedableRng;
    if k >= p {
        return (0..p).collect();
    }
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(mix(mix(seed ^ mix(u64::from(tree))) ^ node_id));
    let mut f = rand::seq::index::sample(&mut rng, p, k).into_vec();
    f.sort_unstable();
    f
}

/// A node being split at the current level.
struct Open {
    tree: usize,
    node: usize,
    /// Heap id (root 1).
    heap_id: u64,
    /// The features it considers, each with the offset of its `bins × classes` histogram in
    /// the level's buffer.
    features: Vec<(usize, usize)>,
}

/// Bytes of growth state per training row that a group of trees may hold. A growing tree
/// keeps a 4-byte row index and a cell (2 bytes at depth ≤ 12, else 8) for each in-bag row,
/// ~63.2 % of the rows (1 − 1/e): ~3.8 bytes per row, so trees grow one at a time — the
/// groups of MLlib's node-group scheduling, bounded there by `maxMemoryInMB`. Each group sums
/// its histograms once per level. (Two trees at a time draw each row id once for both, ~10 %
/// faster on the bench, at ~3.8 more bytes per row.)
pub const STATE_BYTES_PER_ROW: usize = 4;

/// Bytes summed over executors, per level of growth (for the record): the sum over tree groups
/// of what each group's allreduce at that level carried.
pub type LevelBytes = Vec<u64>;

/// Grows the forest on this executor's `rows`; `allreduce` sums a buffer element-wise over all
/// executors in place (every executor must call it with the same lengths in the same order:
/// once per level of every tree group), and `threads` threads count the histograms. `splits`
/// must be the same on every executor. Returns the forest and the bytes each level's allreduces
/// carried.
pub fn train(
    rows: &BinnedRows,
    splits: &Splits,
    classes: usize,
    params: &ForestParams,
    threads: usize,
    allreduce: &mut dyn FnMut(&mut [u64]),
) -> (Forest, LevelBytes) {
    let (forest, bytes, _) = train_counted(rows, splits, classes, params, threads, allreduce);
    (forest, bytes)
}

/// [`train`], also returning how many histogram updates this executor made: one per (in-bag
/// row, open node it reaches, feature the node considers), summed over levels — the unit of
/// the forest's cost (`benches/histogram.rs` reports nanoseconds per update).
///
/// How: trees grow in groups ([`STATE_BYTES_PER_ROW`]). Per member tree and thread, a group
/// keeps the list of rows still in an open node (in-bag rows at the root, in row order) with a
/// cell holding each row's bootstrap weight and its node's slot at the level. A level is one
/// pass over that list: each row moves one step down (one comparison), adds its weight to the
/// histograms of its node's features, and leaves the list when its node closed — no walk from
/// the root, bootstrap weights hashed once per tree, no data-dependent branch, and rows of
/// closed nodes and out-of-bag rows never visited. Threads count into `u32` histograms of
/// their own (a thread's rows are capped so that no counter can overflow), summed into the
/// `u64` buffer that is allreduced.
pub fn train_counted(
    rows: &BinnedRows,
    splits: &Splits,
    classes: usize,
    params: &ForestParams,
    threads: usize,
    allreduce: &mut dyn FnMut(&mut [u64]),
) -> (Forest, LevelBytes, u64) {
    if params.max_depth <= 12 {
        grow::<u16>(rows, splits, classes, params, threads, allreduce)
    } else {
        grow::<u64>(rows, splits, classes, params, threads, allreduce)
    }
}

/// One live row's state in one tree of the group: its bootstrap weight (low 4 bits; Poisson(1)
/// weights are at most 9) and the slot of the open node it is in at this level (the rest).
trait Cell: Copy + Send + Sync {
    fn pack(slot: u32, weight: u32) -> Self;
    fn weight(self) -> u32;
    fn slot(self) -> usize;
}

impl Cell for u16 {
    fn pack(slot: u32, weight: u32) -> u16 {
        // Levels above depth 12 have at most 2^11 open nodes per tree (plus the scratch slot).
        ((slot << 4) | weight) as u16
    }
    fn weight(self) -> u32 {
        u32::from(self & 15)
    }
    fn slot(self) -> usize {
        usize::from(self >> 4)
    }
}

impl Cell for u64 {
    fn pack(slot: u32, weight: u32) -> u64 {
        (u64::from(slot) << 4) | u64::from(weight)
    }
    fn weight(self) -> u32 {
        (self & 15) as u32
    }
    fn slot(self) -> usize {
        (self >> 4) as usize
    }
}

/// A child slot meaning "not open": rows routed there are done.
const CLOSED: u32 = u32::MAX;

/// How a row in an open node of the previous level moves: to `left` when its bin of `feature`
/// is ≤ `bin`, else to `right` (slots at this level, or [`CLOSED`]).
#[derive(Clone, Copy)]
struct Step {
    feature: u8,
    bin: u8,
    left: u32,
    right: u32,
}

/// The most rows one histogram shard counts: a `u32` counter then holds at most 9 × this.
const SHARD_ROWS: usize = (u32::MAX / 9) as usize;

/// What one level of one tree group counts: per member tree, how rows move from the previous
/// level's slots (`steps`, empty at the root) and each open slot's `k` (feature, histogram
/// offset) pairs followed by `k` pairs for the scratch slot, counted at offset `len` (`plans`);
/// `len` is the level's histogram length.
struct LevelPlan {
    steps: Vec<Vec<Step>>,
    plans: Vec<Vec<(u8, u32)>>,
    k: usize,
    len: usize,
}

/// [`train_counted`] with cells of type `C`.
fn grow<C: Cell>(
    rows: &BinnedRows,
    splits: &Splits,
    classes: usize,
    params: &ForestParams,
    threads: usize,
    allreduce: &mut dyn FnMut(&mut [u64]),
) -> (Forest, LevelBytes, u64) {
    let mut updates = 0u64;
    let (p, k) = (rows.p, params.features_per_node(rows.p));
    let num_trees = params.num_trees as usize;
    let mut trees: Vec<Tree> = (0..num_trees)
        .map(|_| Tree {
            nodes: vec![Node {
                counts: vec![0; classes],
                split: None,
            }],
        })
        .collect();
    let mut level_bytes: LevelBytes = Vec::new();
    // A tree's state: a row index and a cell for each of the ~63.2 % (1 − 1/e) in-bag rows.
    let per_tree = 0.632 * (4 + std::mem::size_of::<C>()) as f64;
    let group = ((STATE_BYTES_PER_ROW as f64 / per_tree) as usize).clamp(1, num_trees.max(1));
    let shard_rows = rows.rows().div_ceil(threads.max(1)).clamp(1, SHARD_ROWS);
    for first in (0..num_trees).step_by(group) {
        let members = first..(first + group).min(num_trees);
        let mut shards = bootstrap::<C>(rows, params.seed, members.clone(), shard_rows);
        // Nodes to split at this level (tree, node index, heap id): the group's roots first.
        let mut to_split: Vec<(usize, usize, u64)> = members.clone().map(|t| (t, 0, 1)).collect();
        let mut steps: Vec<Vec<Step>> = vec![Vec::new(); members.len()];
        let mut level = 0;
        while !to_split.is_empty() && level <= params.max_depth {
            let (open, len) = open_nodes(&to_split, splits, classes, params, p, k);
            let mut plans: Vec<Vec<(u8, u32)>> = vec![Vec::new(); members.len()];
            for o in &open {
                plans[o.tree - first]
                    .extend(o.features.iter().map(|&(f, at)| (f as u8, at as u32)));
            }
            // Then each tree's scratch slot, past the level's histograms.
            for nodes in &mut plans {
                nodes.extend(std::iter::repeat_n((0u8, len as u32), k));
            }
            let plan = LevelPlan {
                steps,
                plans,
                k,
                len,
            };
            let (mut hist, visits) = level_histograms(rows, &mut shards, &plan, level > 0, classes);
            updates += visits * k as u64;
            allreduce(&mut hist);
            if level_bytes.len() <= level as usize {
                level_bytes.push(0);
            }
            level_bytes[level as usize] += (hist.len() * std::mem::size_of::<u64>()) as u64;

            let mut next = Vec::new();
            steps = vec![Vec::new(); members.len()];
            let mut next_slot = vec![0u32; members.len()];
            for o in &open {
                let (counts, best) = decide(o, &hist, splits, classes, params, level);
                let tree = &mut trees[o.tree];
                tree.nodes[o.node].counts = counts;
                let mut step = Step {
                    feature: 0,
                    bin: 0,
                    left: CLOSED,
                    right: CLOSED,
                };
                if let Some((feature, c)) = best {
                    let (li, ri) = (tree.nodes.len(), tree.nodes.len() + 1);
                    let child_is_leaf = level + 1 == params.max_depth;
                    let mut slots = [CLOSED; 2];
                    for (side, (counts, heap_id)) in
                        [(c.left, o.heap_id * 2), (c.right, o.heap_id * 2 + 1)]
                            .into_iter()
                            .enumerate()
                    {
                        let pure = gini(&counts) == 0.0;
                        let idx = tree.nodes.len();
                        tree.nodes.push(Node {
                            counts,
                            split: None,
                        });
                        if !(child_is_leaf || pure) {
                            next.push((o.tree, idx, heap_id));
                            slots[side] = next_slot[o.tree - first];
                            next_slot[o.tree - first] += 1;
                        }
                    }
                    tree.nodes[o.node].split = Some(Split {
                        feature,
                        threshold: splits.thresholds[feature][c.split],
                        bin: c.split as u8,
                        gain: c.gain,
                        left: li,
                        right: ri,
                    });
                    step = Step {
                        feature: feature as u8,
                        bin: c.split as u8,
                        left: slots[0],
                        right: slots[1],
                    };
                }
                steps[o.tree - first].push(step);
            }
            to_split = next;
            level += 1;
        }
    }
    (
        Forest {
            classes,
            features: p,
            trees: trees.iter().map(Tree::pruned).collect(),
        },
        level_bytes,
        updates,
    )
}

/// The open nodes of a level with their feature subsets and where each feature's
/// `bins × classes` histogram starts in the level's buffer; also the buffer's length.
fn open_nodes(
    to_split: &[(usize, usize, u64)],
    splits: &Splits,
    classes: usize,
    params: &ForestParams,
    p: usize,
    k: usize,
) -> (Vec<Open>, usize) {
    let mut offset = 0;
    let open = to_split
        .iter()
        .map(|&(tree, node, heap_id)| Open {
            tree,
            node,
            heap_id,
            features: feature_subset(params.seed, tree as u32, heap_id, p, k)
                .into_iter()
                .map(|f| {
                    let at = offset;
                    offset += splits.bins(f) * classes;
                    (f, at)
                })
                .collect(),
        })
        .collect();
    (open, offset)
}

/// An open node's class counts (the sum over the bins of its first feature, from the summed
/// histograms) and its best split (feature, candidate) if it is split: below `max_depth`, the
/// best valid candidate over its features (the first on ties), with a positive gain.
fn decide(
    o: &Open,
    hist: &[u64],
    splits: &Splits,
    classes: usize,
    params: &ForestParams,
    level: u32,
) -> (Vec<u64>, Option<(usize, Candidate)>) {
    let (f0, at0) = o.features[0];
    let mut counts = vec![0u64; classes];
    for b in 0..splits.bins(f0) {
        for c in 0..classes {
            counts[c] += hist[at0 + b * classes + c];
        }
    }
    if level == params.max_depth {
        return (counts, None);
    }
    let mut best: Option<(usize, Candidate)> = None;
    for &(f, at) in &o.features {
        let len = splits.bins(f) * classes;
        if let Some(c) = best_split_of_feature(
            &hist[at..at + len],
            classes,
            u64::from(params.min_instances_per_node),
            params.min_info_gain,
        ) {
            if best.as_ref().is_none_or(|b| c.gain > b.1.gain) {
                best = Some((f, c));
            }
        }
    }
    (counts, best.filter(|b| b.1.gain > 0.0))
}

/// Rows whose bootstrap weights are drawn together.
const BLOCK: usize = 1024;

/// One tree's live rows in a shard: the shard-relative index of every row still in an open
/// node, ascending, and its cell (same length).
type Live<C> = (Vec<u32>, Vec<C>);

/// A contiguous range of rows from `start`, with every member tree's live rows.
struct Shard<C> {
    start: usize,
    trees: Vec<Live<C>>,
}

/// The group's live rows at the root, in shards of at most `shard_rows` rows: in each member
/// tree, every row of positive bootstrap weight, at slot 0. Shards are filled on a thread
/// each.
fn bootstrap<C: Cell>(
    rows: &BinnedRows,
    seed: u64,
    members: std::ops::Range<usize>,
    shard_rows: usize,
) -> Vec<Shard<C>> {
    let keys: Vec<u64> = members.map(|t| bootstrap_key(seed, t as u32)).collect();
    let first_rows = rows.first_rows();
    let fill = |start: usize| {
        let len = (start + shard_rows).min(rows.rows()) - start;
        // 1 − 1/e ≈ 63.2 % of the rows are in bag; room for a block more, so that the block
        // writes below rarely grow the vectors.
        let cap = len / 1000 * 640 + BLOCK;
        let mut trees: Vec<Live<C>> = keys
            .iter()
            .map(|_| (Vec::with_capacity(cap), Vec::with_capacity(cap)))
            .collect();
        let mut block = [0u64; BLOCK];
        for first in (0..len).step_by(BLOCK) {
            let m = BLOCK.min(len - first);
            rows.ids_into(&first_rows, start + first, &mut block[..m]);
            for (key, (live, cells)) in keys.iter().zip(trees.iter_mut()) {
                // Every row is written at the end and kept only when in bag: no branch on
                // the weight.
                let mut kept = live.len();
                if live.capacity() < kept + m {
                    live.reserve_exact(len / 16 + m);
                    cells.reserve_exact(len / 16 + m);
                }
                live.resize(kept + m, 0);
                cells.resize(kept + m, C::pack(0, 0));
                for (i, id) in block[..m].iter().enumerate() {
                    let w = poisson_weight_keyed(*key, *id);
                    live[kept] = (first + i) as u32;
                    cells[kept] = C::pack(0, w);
                    kept += usize::from(w > 0);
                }
                live.truncate(kept);
                cells.truncate(kept);
            }
        }
        Shard { start, trees }
    };
    each_on_a_thread((0..rows.rows()).step_by(shard_rows).collect(), fill)
}

/// `f` of every item, each on a scoped thread of its own (on this one when there is a single
/// item), results in the items' order.
fn each_on_a_thread<I: Send, T: Send>(items: Vec<I>, f: impl Fn(I) -> T + Sync) -> Vec<T> {
    if items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| {
                let f = &f;
                s.spawn(move || f(item))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("forest thread"))
            .collect()
    })
}

/// Sums threads' `u32` histograms and visit counts into one `u64` buffer of `len`.
fn sum_parts(parts: Vec<(Vec<u32>, u64)>, len: usize) -> (Vec<u64>, u64) {
    let mut total = vec![0u64; len];
    let mut visits = 0;
    for (part, v) in parts {
        visits += v;
        for (t, x) in total.iter_mut().zip(part) {
            *t += u64::from(x);
        }
    }
    (total, visits)
}

/// One member tree's share of a level: how its rows move (`steps`) and its open slots' `k`
/// (feature, histogram offset) pairs (`nodes`), followed by `k` pairs for the scratch slot
/// that rows leaving the tree count into, so that the loop has no branch for them.
struct TreeLevel<'a> {
    steps: &'a [Step],
    nodes: &'a [(u8, u32)],
    k: usize,
    classes: usize,
    p: usize,
}

impl TreeLevel<'_> {
    /// Moves this tree's live rows one level down when `ROUTE` (every level but the root),
    /// adds their weights to `h`, and drops the rows whose node closed (they count into the
    /// scratch slot first, so that the loop has no data-dependent branch). Returns the rows
    /// counted into open nodes. `K` is the features per node when known at compile time (0:
    /// `self.k`), so that the common ⌈√7⌉ = 3 unrolls.
    fn count<C: Cell, const ROUTE: bool, const K: usize>(
        &self,
        (live, cells): &mut Live<C>,
        bins: &[u8],
        labels: &[u8],
        h: &mut [u32],
    ) -> u64 {
        let (classes, k, p) = (self.classes, if K > 0 { K } else { self.k }, self.p);
        let scratch = (self.nodes.len() / k - 1) as u32;
        if scratch == 0 {
            // No open node: every row leaves.
            live.clear();
            cells.clear();
            return 0;
        }
        let mut kept = 0;
        for i in 0..live.len() {
            let r = live[i] as usize;
            let c = cells[i];
            let row = &bins[r * p..(r + 1) * p];
            let w = c.weight();
            let slot = if ROUTE {
                let s = self.steps[c.slot()];
                let child = if row[usize::from(s.feature)] <= s.bin {
                    s.left
                } else {
                    s.right
                };
                // CLOSED is u32::MAX: it becomes the scratch slot.
                let slot = child.min(scratch);
                live[kept] = r as u32;
                cells[kept] = C::pack(slot, w);
                kept += usize::from(slot != scratch);
                slot
            } else {
                // The root: every row stays where it is.
                kept += 1;
                0
            };
            let base = usize::from(labels[r]);
            let slot = slot as usize;
            for &(f, at) in &self.nodes[slot * k..(slot + 1) * k] {
                h[at as usize + usize::from(row[usize::from(f)]) * classes + base] += w;
            }
        }
        live.truncate(kept);
        cells.truncate(kept);
        kept as u64
    }
}

/// This executor's weighted class counts per (open node, feature, bin) for one level of a tree
/// group, moving every live row one level down first when `route` (every level but the root).
/// Each shard is counted on a thread of its own into `u32` counters, summed at the end. Also
/// returns the (in-bag row, open node) visits.
fn level_histograms<C: Cell>(
    rows: &BinnedRows,
    shards: &mut [Shard<C>],
    plan: &LevelPlan,
    route: bool,
    classes: usize,
) -> (Vec<u64>, u64) {
    // Scratch counters past the level's: rows leaving a tree count there (any bin of any
    // feature, any class).
    let scratch = 256 * classes;
    let count = |shard: &mut Shard<C>| -> (Vec<u32>, u64) {
        let mut h = vec![0u32; plan.len + scratch];
        let mut visits = 0u64;
        let p = rows.p;
        let bins = &rows.bins[shard.start * p..];
        let labels = &rows.labels[shard.start..];
        // Tree by tree, then row by row: one tree's histograms stay in cache while its rows
        // stream past.
        for ((live, nodes), steps) in shard.trees.iter_mut().zip(&plan.plans).zip(&plan.steps) {
            let tree = TreeLevel {
                steps,
                nodes,
                k: plan.k,
                classes,
                p,
            };
            visits += match (route, plan.k) {
                (false, 3) => tree.count::<C, false, 3>(live, bins, labels, &mut h),
                (true, 3) => tree.count::<C, true, 3>(live, bins, labels, &mut h),
                (false, _) => tree.count::<C, false, 0>(live, bins, labels, &mut h),
                (true, _) => tree.count::<C, true, 0>(live, bins, labels, &mut h),
            };
        }
        h.truncate(plan.len);
        (h, visits)
    };
    let parts = each_on_a_thread(shards.iter_mut().collect(), count);
    sum_parts(parts, plan.len)
}

/// A seeded binned set of FRACTAL's shape for benches and tests: `rows` rows of 7 features
/// with bins uniform in 0..32 and 6 classes, the label a function of three features with 10 %
/// noise, so that trees grow to full depth; row ids from one file, `bench.parquet`. Returns the
/// rows and their splits (thresholds 0.5, 1.5, …, 30.5 for every feature).
pub fn synthetic(rows: usize, seed: u64) -> (BinnedRows, Splits) {
    use rand::{Rng, SeedableRng};
    const P: usize = 7;
    const CLASSES: usize = 6;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut bins = Vec::with_capacity(rows * P);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..rows {
        let r: Vec<u8> = (0..P).map(|_| rng.random_range(0..32u8)).collect();
        let mut label =
            (usize::from(r[0] / 11) * 2 + usize::from(r[2] > 15) + usize::from(r[5] > 20))
                % CLASSES;
        if rng.random_range(0..10) == 0 {
            label = rng.random_range(0..CLASSES);
        }
        bins.extend(&r);
        labels.push(label as u8);
    }
    let sample: Vec<Vec<f32>> = (0..P)
        .map(|_| (0..32).map(|b| b as f32).collect())
        .collect();
    (
        BinnedRows {
            p: P,
            bins,
            labels,
            files: vec![(file_key("bench.parquet"), rows as u64)],
        },
        Splits::from_sample(&sample, 32),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `findSplitsForContinuousFeature` by hand: thresholds are midpoints of adjacent
    /// distinct sampled values.
    #[test]
    fn thresholds_follow_mllib_find_splits() {
        // Fewer distinct values than splits: the midpoint of every adjacent pair.
        let s = continuous_splits(&[3.0, 1.0, 2.0, 2.0], 31);
        assert_eq!(s, vec![1.5, 2.5]);
        // 10 distinct values, 1 each, 4 splits: stride 2 → cuts after counts 2, 4, 6, 8,
        // i.e. between 2|3, 4|5, 6|7 and 8|9.
        let v: Vec<f32> = (1..=10).map(|x| x as f32).collect();
        assert_eq!(continuous_splits(&v, 4), vec![2.5, 4.5, 6.5, 8.5]);
        // Uneven counts: values 0 ×5, 1 ×1, 2 ×1, 3 ×5 (12 samples), 1 split: stride 6.
        // Running counts 5, 6, 7, 12: the gap to 6 grows first after value 1 (|6−6| = 0 <
        // |7−6| = 1), so the cut is between 1 and 2, at 1.5.
        let u = [
            0.0f32, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0,
        ];
        assert_eq!(continuous_splits(&u, 1), vec![1.5]);
        // Adjacent f32 values: the midpoint lies strictly between them, exactly (f64).
        let (a, b) = (1.0f32, f32::from_bits(1.0f32.to_bits() + 1));
        let t = continuous_splits(&[a, b], 1)[0];
        assert!(f64::from(a) < t && t < f64::from(b));
        let sp = Splits {
            thresholds: vec![vec![t]],
        };
        assert_eq!((sp.bin(0, a), sp.bin(0, b)), (0, 1));
        // One constant feature: no split.
        assert!(continuous_splits(&[5.0; 7], 31).is_empty());
        let sp = Splits {
            thresholds: vec![vec![2.0, 4.0]],
        };
        assert_eq!(
            [1.0, 2.0, 2.5, 4.0, 9.0].map(|x| sp.bin(0, x)),
            [0, 0, 1, 1, 2]
        );
    }

    /// Hand computation: class 0/1 counts per bin of one feature: (2,0), (1,1), (0,3).
    /// Parent (3,4), n = 7: Gini 1 − (9 + 16)/49 = 24/49.
    /// After bin 0: left (2,0) pure, right (1,4): 1 − 17/25 = 8/25; gain 24/49 − 5/7·8/25
    /// = 0.26122. After bin 1: left (3,1): 1 − 10/16 = 0.375, right (0,3) pure; gain
    /// 24/49 − 4/7·0.375 = 0.27551 — the best.
    #[test]
    fn gini_gain_matches_a_hand_computation() {
        let hist = [2, 0, 1, 1, 0, 3];
        let parent = 24.0 / 49.0;
        let g0 = parent - 5.0 / 7.0 * (8.0 / 25.0);
        let g1 = parent - 4.0 / 7.0 * 0.375;
        assert!((gini(&[3, 4]) - parent).abs() < 1e-12);
        assert!((g0 - 0.261_224).abs() < 1e-6 && (g1 - 0.275_510).abs() < 1e-6);
        let c = best_split_of_feature(&hist, 2, 1, 0.0).unwrap();
        assert_eq!(c.split, 1);
        assert!((c.gain - g1).abs() < 1e-12, "{} vs {g1}", c.gain);
        assert_eq!((c.left, c.right), (vec![3, 1], vec![0, 3]));
        // Below the minimum gain: no split; a minimum of 4 per side rules out both splits.
        assert_eq!(best_split_of_feature(&hist, 2, 1, 0.27).unwrap().split, 1);
        assert!(best_split_of_feature(&hist, 2, 1, 0.28).is_none());
        assert!(best_split_of_feature(&hist, 2, 4, 0.0).is_none());
        // Equal gains keep the first: a mirror-symmetric histogram.
        let c = best_split_of_feature(&[1, 0, 0, 0, 0, 1], 2, 1, 0.0).unwrap();
        assert_eq!(c.split, 0);
    }

    /// The integer bounds give the floating-point inverse transform's weight for every hash,
    /// including the hashes right at and around each bound.
    #[test]
    fn integer_poisson_bounds_match_the_float_cdf() {
        let float = |h: u64| -> u32 {
            let u = unit(h);
            POISSON1_CDF.iter().map(|c| u32::from(u >= *c)).sum()
        };
        let fast = |h: u64| -> u32 {
            let u = h >> 11;
            POISSON1_BOUNDS.iter().map(|c| u32::from(u >= *c)).sum()
        };
        for b in POISSON1_BOUNDS {
            for d in [-2i64, -1, 0, 1, 2] {
                let h = (b.wrapping_add_signed(d)) << 11;
                assert_eq!(fast(h), float(h), "bound {b} {d:+}");
            }
        }
        for i in 0..1_000_000u64 {
            let h = mix(i);
            assert_eq!(fast(h), float(h));
            assert_eq!(poisson_weight_keyed(0, mix(i)), float(mix(mix(i))));
        }
    }

    #[test]
    fn poisson_weights_have_mean_and_variance_one() {
        let n = 200_000u64;
        let w: Vec<f64> = (0..n)
            .map(|i| f64::from(poisson_weight(62, 3, mix(i))))
            .collect();
        let mean = w.iter().sum::<f64>() / n as f64;
        let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
        let zeros = w.iter().filter(|x| **x == 0.0).count() as f64 / n as f64;
        assert!((zeros - (-1.0f64).exp()).abs() < 0.005, "{zeros}");
        assert_ne!(
            poisson_weight(62, 3, 7),
            poisson_weight(62, 4, 7).wrapping_add(100)
        );
    }

    /// MLlib's pruning by hand. Grown tree (counts of classes 0/1):
    /// ```text
    /// 0 (10,6) ─ 1 (8,1) ─ 3 (5,0)
    ///          │         └ 4 (3,1)      3 and 4 both predict 0 → 1 becomes a leaf (8,1)
    ///          └ 2 (2,5) ─ 5 (0,3)
    ///                    └ 6 (2,2)      6 ties → class 0; 5 predicts 1: 2 stays split
    /// ```
    /// Then 0's children are leaf 1 (class 0) and split node 2: 0 stays. A row that reached
    /// leaf 4 now scores (8,1)/9 instead of (3,1)/4. A second pass changes nothing.
    #[test]
    fn pruning_merges_leaf_siblings_that_predict_the_same_class() {
        let leaf = |c: [u64; 2]| Node {
            counts: c.to_vec(),
            split: None,
        };
        let split = |c: [u64; 2], left, right| Node {
            counts: c.to_vec(),
            split: Some(Split {
                feature: 0,
                threshold: 0.5,
                bin: 0,
                gain: 0.1,
                left,
                right,
            }),
        };
        let grown = Tree {
            nodes: vec![
                split([10, 6], 1, 2),
                split([8, 1], 3, 4),
                split([2, 5], 5, 6),
                leaf([5, 0]),
                leaf([3, 1]),
                leaf([0, 3]),
                leaf([2, 2]),
            ],
        };
        let p = grown.pruned();
        assert_eq!(p.nodes.len(), 5);
        assert_eq!(p.nodes[1], leaf([8, 1]));
        let (s0, s2) = (
            p.nodes[0].split.clone().unwrap(),
            p.nodes[2].split.clone().unwrap(),
        );
        assert_eq!((s0.left, s0.right, s2.left, s2.right), (1, 2, 3, 4));
        assert_eq!((&p.nodes[3], &p.nodes[4]), (&leaf([0, 3]), &leaf([2, 2])));
        assert_eq!(p.pruned(), p);
        assert_eq!((prediction(&[2, 2]), prediction(&[1, 3, 3])), (0, 1));
        // Cascading: both of 2's children predicting 1 makes 2 a leaf predicting 1; 0's
        // children then differ (0 vs 1) and 0 stays split.
        let mut g = grown.clone();
        g.nodes[6] = leaf([1, 2]);
        let q = g.pruned();
        assert_eq!(q.nodes.len(), 3);
        assert_eq!(q.nodes[2], leaf([2, 5]));
        // And when they agree, the whole tree becomes one leaf.
        g.nodes[2].counts = vec![9, 5];
        g.nodes[5] = leaf([6, 3]);
        g.nodes[6] = leaf([3, 2]);
        assert_eq!(g.pruned().nodes, vec![leaf([10, 6])]);
        // Scoring uses the merged leaf's own counts: x = 0.0 goes left at every split and
        // reaches old leaf 3, now leaf 1 of the pruned tree with counts (8, 1).
        let forest = Forest {
            classes: 2,
            features: 1,
            trees: vec![p],
        };
        let proba = forest.predict_proba(&[0.0]);
        assert!((proba[0] - 8.0 / 9.0).abs() < 1e-12, "{proba:?}");
    }

    #[test]
    fn feature_subsets_are_sqrt_p_and_seeded_per_node() {
        let p = ForestParams::default();
        assert_eq!(p.features_per_node(7), 3);
        // MLlib's "auto" for a single tree is "all".
        let one = ForestParams {
            num_trees: 1,
            ..ForestParams::default()
        };
        assert_eq!(one.features_per_node(7), 7);
        let a = feature_subset(62, 0, 1, 7, 3);
        assert_eq!(a, feature_subset(62, 0, 1, 7, 3));
        assert_eq!(a.len(), 3);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[2] < 7);
        let distinct: std::collections::BTreeSet<Vec<usize>> =
            (1..50).map(|n| feature_subset(62, 0, n, 7, 3)).collect();
        assert!(distinct.len() > 10, "nodes draw different subsets");
    }

    /// Rows of a 2-feature, 2-class toy: class = (x0 > 5); x1 is noise. Every tree's root
    /// considers both features and must split x0 at 5 (two pure children), and the forest
    /// classifies the toy perfectly. The rows come from 10 files of `n / 10` rows
    /// (`toy-<j>.parquet`).
    fn toy(n: usize) -> (Vec<f32>, Vec<u8>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let x0 = (i % 11) as f32;
            let x1 = (mix(i as u64) % 100) as f32;
            x.extend([x0, x1]);
            y.push(u8::from(x0 > 5.0));
        }
        (x, y)
    }

    /// Files `files` of the toy (10 files of `n / 10` rows), binned.
    fn binned(x: &[f32], y: &[u8], files: &[usize], splits: &Splits) -> BinnedRows {
        let per = y.len() / 10;
        let rows: Vec<usize> = files.iter().flat_map(|j| j * per..(j + 1) * per).collect();
        BinnedRows {
            p: 2,
            bins: rows
                .iter()
                .flat_map(|&i| [splits.bin(0, x[2 * i]), splits.bin(1, x[2 * i + 1])])
                .collect(),
            labels: rows.iter().map(|&i| y[i]).collect(),
            files: files
                .iter()
                .map(|j| (file_key(&format!("toy-{j}.parquet")), per as u64))
                .collect(),
        }
    }

    #[test]
    fn a_separable_toy_is_learned_and_sharding_does_not_change_the_forest() {
        let (x, y) = toy(1000);
        let sample: Vec<Vec<f32>> = (0..2)
            .map(|f| x.chunks(2).map(|r| r[f]).collect())
            .collect();
        let splits = Splits::from_sample(&sample, 32);
        let params = ForestParams {
            num_trees: 5,
            max_depth: 3,
            features_per_node: Some(2),
            ..ForestParams::default()
        };
        let all = binned(&x, &y, &(0..10).collect::<Vec<_>>(), &splits);
        let (one, bytes) = train(&all, &splits, 2, &params, 2, &mut |_| {});
        assert_eq!(bytes.len(), 1, "the root's split leaves two pure children");
        for t in &one.trees {
            let s = t.nodes[0].split.as_ref().unwrap();
            assert_eq!((s.feature, s.threshold), (0, 5.5), "midway between 5 and 6");
            assert!(t.depth() <= 3);
        }
        let proba = one.predict_proba(&x);
        let pred: Vec<u8> = proba.chunks(2).map(|p| u8::from(p[1] > p[0])).collect();
        assert_eq!(pred, y);

        // Two "executors" holding alternate files, summing through a shared buffer: the same
        // forest, byte for byte.
        let half = |r: usize| binned(&x, &y, &[r, r + 2, r + 4, r + 6, r + 8], &splits);
        let (a, b) = (half(0), half(1));
        // Sum both ranks' histograms, as an allreduce does, training a and b in lockstep.
        let (ta, tb) = std::sync::mpsc::channel::<Vec<u64>>();
        let (ua, ub) = std::sync::mpsc::channel::<Vec<u64>>();
        let (a, b, splits, params) = (&a, &b, &splits, &params);
        let (fa, fb) = std::thread::scope(|s| {
            let ha = s.spawn(move || {
                train(a, splits, 2, params, 1, &mut |h| {
                    ta.send(h.to_vec()).unwrap();
                    let other = ub.recv().unwrap();
                    h.iter_mut().zip(other).for_each(|(x, o)| *x += o);
                })
                .0
            });
            let hb = s.spawn(move || {
                train(b, splits, 2, params, 1, &mut |h| {
                    ua.send(h.to_vec()).unwrap();
                    let other = tb.recv().unwrap();
                    h.iter_mut().zip(other).for_each(|(x, o)| *x += o);
                })
                .0
            });
            (ha.join().unwrap(), hb.join().unwrap())
        });
        assert_eq!(fa, fb);
        assert_eq!(
            serde_json::to_string(&fa).unwrap(),
            serde_json::to_string(&one).unwrap()
        );
    }

    /// The forests this implementation grows, pinned by the SHA-256 of their JSON on a seeded
    /// set (reference forest, a deep forest past the 12-level fast path, one tree on all
    /// features, a larger leaf minimum, 3 threads): any change to the algorithm's output shows
    /// here. The digests were taken from the first implementation, which walked every row from
    /// the root at every level.
    #[test]
    fn forests_are_pinned() {
        let (rows, splits) = synthetic(20_000, 62);
        let cases: [(ForestParams, usize, &str); 4] = [
            (
                ForestParams::default(),
                1,
                "f7955db8d67c98e566cf3e690969db0304664462ffbdeb77458973d5ef6d30c2",
            ),
            (
                ForestParams {
                    num_trees: 5,
                    max_depth: 14,
                    ..ForestParams::default()
                },
                2,
                "ae084e3f02d92a59e2b8e1da172fbc4e4d0b5d36ce532839f4ead01b95d1c525",
            ),
            (
                ForestParams {
                    num_trees: 1,
                    max_depth: 4,
                    ..ForestParams::default()
                },
                1,
                "79d4ea2ac3b9a8e12905e510934dbbfef9c7bc710bc75cc93e0276b420fd9b0d",
            ),
            (
                ForestParams {
                    num_trees: 7,
                    max_depth: 8,
                    min_instances_per_node: 50,
                    seed: 7,
                    ..ForestParams::default()
                },
                3,
                "1df233f7a57b3a06c92549893b0270aac0b19de0b3ad2a6c6ce7ab5784ef4d29",
            ),
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|(params, threads, _)| {
                let (forest, _) = train(&rows, &splits, 6, params, *threads, &mut |_| {});
                harness_runtime::model::digest(&serde_json::to_string(&forest).unwrap())
            })
            .collect();
        let want: Vec<&str> = cases.iter().map(|c| c.2).collect();
        assert_eq!(got, want);
    }
}
