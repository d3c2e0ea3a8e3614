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
//!   level for all trees together (MLlib's node groups, bounded there by `maxMemoryInMB`).
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

/// A uniform number in [0, 1) from the top 53 bits of a hash.
pub fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Upper bounds of Poisson(1)'s cumulative distribution scaled to 2^64, for k = 0, 1, …: a
/// uniform `u` has weight k when it lies below bound k and not below bound k − 1.
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

/// [`poisson_weight`] with the tree's [`bootstrap_key`] already computed.
#[inline]
pub fn poisson_weight_keyed(key: u64, id: u64) -> u32 {
    let u = unit(mix(key ^ id));
    // The first k with u < bound k, counted without branches: the bounds increase and the
    // last is 1 > u, so it is the number of bounds ≤ u.
    POISSON1_CDF.iter().map(|c| u32::from(u >= *c)).sum()
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

/// Rows binned for training: `p` bytes per row, a class label and a global row id.
#[derive(Debug, Clone, Default)]
pub struct BinnedRows {
    /// Number of features.
    pub p: usize,
    /// Row-major `rows × p` bins.
    pub bins: Vec<u8>,
    pub labels: Vec<u8>,
    /// Global row ids ([`row_id`]), for bootstrap weights that do not depend on sharding.
    pub ids: Vec<u64>,
}

impl BinnedRows {
    pub fn rows(&self) -> usize {
        self.labels.len()
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

/// Bytes summed over executors, per level of growth (for the record).
pub type LevelBytes = Vec<u64>;

/// Grows the forest on this executor's `rows`; `allreduce` sums a buffer element-wise over all
/// executors in place (every executor must call it with the same length, once per level), and
/// `threads` threads count the histograms. `splits` must be the same on every executor.
/// Returns the forest and the bytes each level's allreduce carried.
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
pub fn train_counted(
    rows: &BinnedRows,
    splits: &Splits,
    classes: usize,
    params: &ForestParams,
    threads: usize,
    allreduce: &mut dyn FnMut(&mut [u64]),
) -> (Forest, LevelBytes, u64) {
    let mut updates = 0u64;
    let p = rows.p;
    let k = params.features_per_node(p);
    let mut trees: Vec<Tree> = (0..params.num_trees)
        .map(|_| Tree {
            nodes: vec![Node {
                counts: vec![0; classes],
                split: None,
            }],
        })
        .collect();
    // Nodes to split at this level: every root to begin with.
    let mut to_split: Vec<(usize, usize, u64)> = (0..trees.len()).map(|t| (t, 0, 1)).collect();
    let mut level_bytes = Vec::new();
    let mut level = 0;
    while !to_split.is_empty() && level <= params.max_depth {
        let mut offset = 0;
        let open: Vec<Open> = to_split
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
        let (mut hist, visits) = histograms(rows, &trees, &open, classes, params, threads, offset);
        updates += visits * k as u64;
        allreduce(&mut hist);
        level_bytes.push((hist.len() * std::mem::size_of::<u64>()) as u64);

        let mut next = Vec::new();
        for o in &open {
            // Node counts: the sum over the bins of its first feature.
            let (f0, at0) = o.features[0];
            let mut counts = vec![0u64; classes];
            for b in 0..splits.bins(f0) {
                for c in 0..classes {
                    counts[c] += hist[at0 + b * classes + c];
                }
            }
            trees[o.tree].nodes[o.node].counts = counts;
            if level == params.max_depth {
                continue;
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
            let Some((
                feature,
                Candidate {
                    split: s,
                    gain,
                    left,
                    right,
                },
            )) = best.filter(|b| b.1.gain > 0.0)
            else {
                continue;
            };
            let tree = &mut trees[o.tree];
            let (li, ri) = (tree.nodes.len(), tree.nodes.len() + 1);
            let child_is_leaf = level + 1 == params.max_depth;
            for (counts, heap_id) in [(left, o.heap_id * 2), (right, o.heap_id * 2 + 1)] {
                let pure = gini(&counts) == 0.0;
                let idx = tree.nodes.len();
                tree.nodes.push(Node {
                    counts,
                    split: None,
                });
                if !(child_is_leaf || pure) {
                    next.push((o.tree, idx, heap_id));
                }
            }
            tree.nodes[o.node].split = Some(Split {
                feature,
                threshold: splits.thresholds[feature][s],
                bin: s as u8,
                gain,
                left: li,
                right: ri,
            });
        }
        to_split = next;
        level += 1;
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

/// This executor's weighted class counts per (open node, feature, bin) for one level: one pass
/// over the rows on `threads` threads, each with a buffer of its own, summed at the end. Also
/// returns the (in-bag row, open node) visits.
fn histograms(
    rows: &BinnedRows,
    trees: &[Tree],
    open: &[Open],
    classes: usize,
    params: &ForestParams,
    threads: usize,
    len: usize,
) -> (Vec<u64>, u64) {
    // Per tree: node index → position in `open` (usize::MAX when not open).
    let mut slot: Vec<Vec<usize>> = trees
        .iter()
        .map(|t| vec![usize::MAX; t.nodes.len()])
        .collect();
    for (i, o) in open.iter().enumerate() {
        slot[o.tree][o.node] = i;
    }
    let trees_open: Vec<usize> = {
        let mut t: Vec<usize> = open.iter().map(|o| o.tree).collect();
        t.dedup();
        t
    };
    // Per open tree: its bootstrap key and a compact copy of its splits (feature, bin, left,
    // right; feature `u8::MAX` for a leaf or open node), walked for every row.
    let keys: Vec<u64> = trees_open
        .iter()
        .map(|t| bootstrap_key(params.seed, *t as u32))
        .collect();
    let routes: Vec<Vec<(u8, u8, u32, u32)>> = trees_open
        .iter()
        .map(|t| {
            trees[*t]
                .nodes
                .iter()
                .map(|n| match &n.split {
                    Some(s) => (s.feature as u8, s.bin, s.left as u32, s.right as u32),
                    None => (u8::MAX, 0, 0, 0),
                })
                .collect()
        })
        .collect();
    // Per open tree and node: the node's features with their histogram offsets, `k` entries
    // per node (feature `u8::MAX` first for a node that is not open).
    let k = open.first().map_or(1, |o| o.features.len());
    let plans: Vec<Vec<(u8, u32)>> = trees_open
        .iter()
        .map(|t| {
            let mut plan = vec![(u8::MAX, 0u32); trees[*t].nodes.len() * k];
            for (node, i) in slot[*t].iter().enumerate() {
                if *i != usize::MAX {
                    for (e, (f, at)) in open[*i].features.iter().enumerate() {
                        plan[node * k + e] = (*f as u8, *at as u32);
                    }
                }
            }
            plan
        })
        .collect();
    let n = rows.rows();
    let threads = threads.clamp(1, n.max(1));
    let chunk = n.div_ceil(threads).max(1);
    let count = |range: std::ops::Range<usize>| -> (Vec<u64>, u64) {
        let mut h = vec![0u64; len];
        let mut visits = 0u64;
        // Tree by tree, then row by row: one tree's histograms (at most 2^depth nodes ×
        // √p features × bins × classes) stay in cache while the rows stream past, instead of
        // every row touching every tree's histograms.
        for (j, route) in routes.iter().enumerate() {
            for r in range.clone() {
                let bins = &rows.bins[r * rows.p..(r + 1) * rows.p];
                let label = rows.labels[r] as usize;
                let id = rows.ids[r];
                let w = poisson_weight_keyed(keys[j], id);
                if w == 0 {
                    continue;
                }
                let mut node = 0usize;
                loop {
                    let (f, b, l, rt) = route[node];
                    if f == u8::MAX {
                        break;
                    }
                    node = if bins[f as usize] <= b { l } else { rt } as usize;
                }
                let plan = &plans[j][node * k..(node + 1) * k];
                if plan[0].0 == u8::MAX {
                    continue;
                }
                visits += 1;
                for &(f, at) in plan {
                    h[at as usize + bins[f as usize] as usize * classes + label] += u64::from(w);
                }
            }
        }
        (h, visits)
    };
    if threads == 1 {
        return count(0..n);
    }
    let parts: Vec<(Vec<u64>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let range = (i * chunk).min(n)..((i + 1) * chunk).min(n);
                let count = &count;
                s.spawn(move || count(range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("histogram thread"))
            .collect()
    });
    let mut total = vec![0u64; len];
    let mut visits = 0;
    for (part, v) in parts {
        visits += v;
        for (t, x) in total.iter_mut().zip(part) {
            *t += x;
        }
    }
    (total, visits)
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
    /// classifies the toy perfectly.
    fn toy(n: usize) -> (Vec<f32>, Vec<u8>, Vec<u64>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut ids = Vec::new();
        for i in 0..n {
            let x0 = (i % 11) as f32;
            let x1 = (mix(i as u64) % 100) as f32;
            x.extend([x0, x1]);
            y.push(u8::from(x0 > 5.0));
            ids.push(row_id("toy.parquet", i as u64));
        }
        (x, y, ids)
    }

    fn binned(x: &[f32], y: &[u8], ids: &[u64], splits: &Splits) -> BinnedRows {
        BinnedRows {
            p: 2,
            bins: x
                .chunks(2)
                .flat_map(|r| [splits.bin(0, r[0]), splits.bin(1, r[1])])
                .collect(),
            labels: y.to_vec(),
            ids: ids.to_vec(),
        }
    }

    #[test]
    fn a_separable_toy_is_learned_and_sharding_does_not_change_the_forest() {
        let (x, y, ids) = toy(1000);
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
        let all = binned(&x, &y, &ids, &splits);
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

        // Two "executors" holding alternate halves, summing through a shared buffer: the
        // same forest, byte for byte.
        let half = |r: usize| {
            let keep: Vec<usize> = (0..1000).filter(|i| i % 2 == r).collect();
            let xs: Vec<f32> = keep
                .iter()
                .flat_map(|&i| [x[2 * i], x[2 * i + 1]])
                .collect();
            let ys: Vec<u8> = keep.iter().map(|&i| y[i]).collect();
            let is: Vec<u64> = keep.iter().map(|&i| ids[i]).collect();
            binned(&xs, &ys, &is, &splits)
        };
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
}
