//! `fractal-rf`: FRACTAL aerial LiDAR point classification with a random forest.
//!
//! Reference parameters (from the reference implementation's
//! `RandomForestClassifier(numTrees=40, maxDepth=6, seed=62)`): 40 trees, depth 6, seed 62.
//! Two engines grow the forest, chosen by the study parameter `engine`:
//!
//! - `mllib` (default): Spark MLlib's random forest algorithm itself ([`forest`]): 40
//!   multi-class Gini trees, 32 bins per feature from a sample of the training rows, Poisson
//!   bootstrap, ⌈√7⌉ = 3 features per node, data-parallel as MLlib is — every executor counts
//!   class histograms of its rows for every open node of a level of a group of trees, one MPI
//!   allreduce sums them,
//!   every executor picks the same splits. The forest does not depend on how many executors
//!   there are (byte-identical at 1, 2, 3); the bytes each level's allreduce carried are in
//!   `extra.allreduce_bytes_level_<d>`. Training files are streamed twice, batch by batch, as
//!   MLlib reads its input twice (a threshold sample, then binning): an executor holds 8 bytes
//!   per training point (7 one-byte bins and a label) and no float features, plus the growth
//!   state of a group of trees (see [`forest::STATE_BYTES_PER_ROW`]).
//! - `lightgbm`: LightGBM's `boosting=rf`, trained data-parallel with LightGBM's own
//!   distributed tree learner (`tree_learner=data`) on MPI ([`harness_runtime::lgbm_net`]).
//!   `rf` needs bagging: `bagging_fraction` 0.632 (the expected unique share of a bootstrap
//!   sample, 1 − 1/e) and `bagging_freq` 1; per-node feature sampling
//!   `feature_fraction_bynode` = √p / p makes it a random forest; multiclass grows one
//!   regression tree per class per iteration (40 × 7 = 280 trees), so it is not the
//!   reference's model. Its training points are held as a `rows × 7` `f32` matrix.
//!
//! Rank 0 saves the model as the run's model directory `artifacts/<run>/model/`
//! (`forest.json` or `model.txt`, and `harness-model.json`; see [`model`]), which
//! `harness predict` scores raw FRACTAL files with.
//!
//! Evaluation set: by default every point is scored on all validation and test files
//! (`eval_fraction = 1`), so accuracy versus fraction compares models on one test set;
//! `eval_fraction = F` takes the first share `F` of them, and `eval_fraction = "fraction"` each
//! point's own fraction, as the reference study did. Records carry `engine` and `eval_fraction`
//! in `point.params`, defaults included. Evaluation files are streamed through the model batch
//! by batch and never held.
//!
//! Labels are the fixed dense map of [`schema::label_of`], identical on every executor.
//!
//! Metrics: validation and test accuracy over all executors' shards, and — because ground and
//! vegetation are ~96 % of points, so accuracy alone hides the rare classes — per-class IoU,
//! mean IoU (FRACTAL's benchmark metric) and macro-F1 from the confusion matrix summed over
//! executors (`extra.{val,test}_miou`, `{val,test}_macro_f1`, `{val,test}_iou_<class>`). Every executor reports the
//! SHA-256 of its model text (`model_digest`: equal on all ranks when they trained one model).

pub mod forest;
pub mod generate;
pub mod load;
pub mod model;
pub mod schema;

use harness_core::record::{Metrics, Rows};
use harness_core::shard::FileEntry;
use harness_core::units::format_bytes;
use harness_core::StudySpec;
use harness_runtime::data::{list_split, open_columns_at, shard_for};
use harness_runtime::lgbm_net::LightGbmNetwork;
use harness_runtime::metrics::{argmax_rows, Confusion};
use harness_runtime::workload::{fitting_memory, DefaultData, Generator, Machine};
use harness_runtime::{ExecutorContext, Workload, WorkloadError, WorkloadOutput};
use lightgbm3::{Booster, Dataset};
use serde_json::{json, Value};

use load::Points;

/// Name of the workload on the command line and in records.
pub const NAME: &str = "fractal-rf";

/// Which implementation grows the forest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Spark MLlib's `RandomForestClassifier` algorithm ([`forest`]): the reference's model.
    Mllib,
    /// LightGBM's `boosting=rf` with its data-parallel tree learner.
    LightGbm,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Mllib => "mllib",
            Engine::LightGbm => "lightgbm",
        }
    }
}

/// Which validation and test files a point is scored on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvalSet {
    /// The first share `F` of the sorted val/test files, at every fraction of the study
    /// (`eval_fraction = F`; the default is 1.0, all of them): accuracy versus fraction then
    /// compares models on one test set.
    Files(f64),
    /// The point's own fraction, as the reference study did (`eval_fraction = "fraction"`):
    /// the test set grows with the training set, so accuracy versus fraction mixes a change of
    /// model with a change of test set.
    PointFraction,
}

impl EvalSet {
    /// The share of val/test files scored at a point of training `fraction`.
    pub fn fraction(self, fraction: f64) -> f64 {
        match self {
            EvalSet::Files(f) => f,
            EvalSet::PointFraction => fraction,
        }
    }

    /// The value of the `eval_fraction` parameter that selects this set.
    pub fn param(self) -> Value {
        match self {
            EvalSet::Files(f) => json!(f),
            EvalSet::PointFraction => json!("fraction"),
        }
    }
}

/// Model parameters, from the reference defaults overridden by the point's params.
#[derive(Debug, Clone, PartialEq)]
pub struct RfParams {
    /// `engine`: `mllib` (default) or `lightgbm`.
    pub engine: Engine,
    /// Forest size (trees; for LightGBM, iterations that each grow one tree per class).
    pub trees: u32,
    pub max_depth: u32,
    pub seed: u64,
    /// `mllib`: bins per feature (MLlib `maxBins`, 32).
    pub max_bins: u32,
    /// `lightgbm` only.
    pub bagging_fraction: f64,
    /// `lightgbm` only.
    pub feature_fraction_bynode: f64,
    /// `eval_fraction`: which val/test files are scored.
    pub eval: EvalSet,
}

impl Default for RfParams {
    fn default() -> Self {
        let p = schema::FEATURES.len() as f64;
        RfParams {
            engine: Engine::Mllib,
            max_bins: 32,
            trees: 40,
            max_depth: 6,
            seed: 62,
            bagging_fraction: 1.0 - (-1.0f64).exp(),
            feature_fraction_bynode: p.sqrt() / p,
            eval: EvalSet::Files(1.0),
        }
    }
}

impl RfParams {
    /// Reference defaults overridden by `engine`, `trees`, `max_depth`, `seed`, `max_bins`,
    /// `bagging_fraction`, `feature_fraction_bynode`, `eval_fraction` from `params`.
    ///
    /// # Errors
    /// A parameter of the wrong type or an unknown name.
    pub fn from_point(
        params: &std::collections::BTreeMap<String, Value>,
    ) -> Result<Self, WorkloadError> {
        let mut p = RfParams::default();
        for (k, v) in params {
            let bad = || format!("fractal-rf parameter `{k}` has an invalid value {v}");
            match k.as_str() {
                "trees" => p.trees = v.as_u64().filter(|t| *t > 0).ok_or_else(bad)? as u32,
                "max_depth" => {
                    p.max_depth = v
                        .as_u64()
                        .filter(|d| *d <= u64::from(forest::MAX_DEPTH))
                        .ok_or_else(|| {
                            format!(
                                "fractal-rf parameter `max_depth` is {v}: use an integer in 0–{} \
                                 (Spark MLlib's range for `maxDepth`; 0 is a single leaf)",
                                forest::MAX_DEPTH
                            )
                        })? as u32
                }
                "seed" => p.seed = v.as_u64().ok_or_else(bad)?,
                "engine" => {
                    p.engine = match v.as_str() {
                        Some("mllib") => Engine::Mllib,
                        Some("lightgbm") => Engine::LightGbm,
                        _ => {
                            return Err(format!(
                                "fractal-rf parameter `engine` is {v}: use \"mllib\" (Spark \
                                 MLlib's random forest, the default) or \"lightgbm\""
                            )
                            .into())
                        }
                    }
                }
                "eval_fraction" => {
                    p.eval = match v {
                        Value::String(s) if s == "fraction" => EvalSet::PointFraction,
                        _ => EvalSet::Files(
                            v.as_f64()
                                .filter(|f| *f > 0.0 && *f <= 1.0)
                                .ok_or_else(|| {
                                    format!(
                                        "fractal-rf parameter `eval_fraction` is {v}: use a \
                                         share of the val/test files in (0, 1] (default 1: all \
                                         of them, at every fraction) or \"fraction\" (each \
                                         point's own fraction, as the reference did)"
                                    )
                                })?,
                        ),
                    }
                }
                "max_bins" => {
                    p.max_bins = v
                        .as_u64()
                        .filter(|b| (2..=256).contains(b))
                        .ok_or_else(bad)? as u32
                }
                "bagging_fraction" => {
                    p.bagging_fraction = v.as_f64().filter(|f| *f > 0.0 && *f < 1.0).ok_or_else(bad)?
                }
                "feature_fraction_bynode" => {
                    p.feature_fraction_bynode =
                        v.as_f64().filter(|f| *f > 0.0 && *f <= 1.0).ok_or_else(bad)?
                }
                _ => return Err(format!("unknown fractal-rf parameter `{k}` (known: engine, eval_fraction, trees, max_depth, seed, max_bins, bagging_fraction, feature_fraction_bynode)").into()),
            }
        }
        if p.engine == Engine::LightGbm && p.max_depth == 0 {
            return Err(
                "fractal-rf parameter `max_depth` is 0: the lightgbm engine needs at \
                        least 1 (0 is MLlib's single-leaf tree; LightGBM reads it as no limit)"
                    .into(),
            );
        }
        Ok(p)
    }

    /// LightGBM parameters for `threads` threads and `machines` executors.
    pub fn lightgbm(&self, threads: u32, machines: u32) -> Value {
        let mut v = json!({
            "boosting": "rf",
            "objective": "multiclass",
            "num_class": schema::CLASSES.len(),
            "num_iterations": self.trees,
            "max_depth": self.max_depth,
            "num_leaves": (1u64 << self.max_depth.min(16)).min(131_072),
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "feature_fraction_bynode": self.feature_fraction_bynode,
            "seed": self.seed,
            "num_threads": threads,
            "verbosity": -1,
        });
        if machines > 1 {
            v["tree_learner"] = json!("data");
            v["num_machines"] = json!(machines);
        }
        v
    }
}

/// The `fractal-rf` workload.
#[derive(Debug, Default, Clone, Copy)]
pub struct FractalRf;

/// The points of `files` in one matrix (the LightGBM engine's input).
fn read_shard(data: &str, files: &[FileEntry]) -> Result<Points, WorkloadError> {
    let mut points = Points::default();
    for f in files {
        load::read_at(data, &f.path, &mut points)?;
    }
    Ok(points)
}

/// A trained model of either engine.
/// The number of `Tree=<i>` section headers in a LightGBM text model (LightGBM's
/// `GBDT::SaveModelToString` writes one per tree, after the header and before
/// `end of trees`).
fn lightgbm_trees(text: &str) -> u64 {
    text.lines()
        .take_while(|l| *l != "end of trees")
        .filter(|l| {
            l.strip_prefix("Tree=")
                .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
        })
        .count() as u64
}

enum Model {
    LightGbm(Booster),
    Mllib(forest::Forest),
}

impl Model {
    /// Adds this executor's predictions of `points` to `c`.
    fn add_to(&self, c: &mut Confusion, points: &Points) -> Result<(), WorkloadError> {
        if points.rows() > 0 {
            let probs = match self {
                Model::LightGbm(b) => {
                    b.predict(&points.features, schema::FEATURES.len() as i32, true)?
                }
                Model::Mllib(f) => f.predict_proba(&points.features),
            };
            c.add(&argmax_rows(&probs, schema::CLASSES.len()), &points.labels);
        }
        Ok(())
    }

    /// This executor's confusion matrix over `files`, streamed batch by batch (nothing of the
    /// evaluation set is held), and the number of points scored.
    fn confusion(
        &self,
        data: &str,
        files: &[FileEntry],
    ) -> Result<(Confusion, u64), WorkloadError> {
        let mut c = Confusion::new(schema::CLASSES.len());
        let mut rows = 0;
        for f in files {
            rows += load::for_each_batch_at(data, &f.path, |batch, _| self.add_to(&mut c, batch))?;
        }
        Ok((c, rows))
    }

    /// Trees in the trained model, counted from the model itself: the forest's tree list, or
    /// the `Tree=<i>` sections of LightGBM's model text (one per class per iteration).
    fn trees(&self, text: &str) -> u64 {
        match self {
            Model::LightGbm(_) => lightgbm_trees(text),
            Model::Mllib(f) => f.trees.len() as u64,
        }
    }

    /// The model as text: LightGBM's model format, or the forest as JSON.
    fn text(&self) -> Result<String, WorkloadError> {
        Ok(match self {
            Model::LightGbm(b) => b.save_string()?,
            Model::Mllib(f) => serde_json::to_string(f)?,
        })
    }
}

/// The key that orders rows for the threshold sample: a hash of the row's global id.
fn sample_key(id: u64) -> u64 {
    forest::mix(id ^ 0x5EED)
}

/// The rows of the threshold sample: MLlib's `findSplits` samples
/// max(`max_bins`², 10 000) of the training rows (`RandomForest.scala`, `findSplits`:
/// `requiredSamples`). Here the sample is the `wanted` rows of smallest [`sample_key`] over all
/// executors (a bottom-k sample: exactly `wanted` rows, the same rows for every executor count,
/// no row count needed in advance; MLlib draws a Bernoulli sample of expected size `wanted`,
/// a deliberate difference). Each executor keeps its own bottom `wanted` while streaming; the
/// candidates are gathered on every rank, which keeps the global bottom `wanted`.
#[derive(Debug, Default)]
struct ThresholdSample {
    wanted: usize,
    keys: Vec<u64>,
    rows: Vec<f32>,
}

impl ThresholdSample {
    fn new(wanted: usize) -> Self {
        ThresholdSample {
            wanted,
            ..Default::default()
        }
    }

    fn offer(&mut self, id: u64, row: &[f32]) {
        self.keys.push(sample_key(id));
        self.rows.extend_from_slice(row);
        if self.keys.len() >= 2 * self.wanted.max(1) {
            self.keep_smallest();
        }
    }

    /// Keeps the `wanted` rows of smallest key, in key order.
    fn keep_smallest(&mut self) {
        let p = schema::FEATURES.len();
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_unstable_by_key(|i| self.keys[*i]);
        order.truncate(self.wanted);
        self.rows = order
            .iter()
            .flat_map(|i| self.rows[i * p..(i + 1) * p].iter().copied())
            .collect();
        self.keys = order.iter().map(|i| self.keys[*i]).collect();
    }

    /// The global sample, one value list per feature, the same on every executor.
    fn gather(mut self, world: &harness_runtime::World) -> Vec<Vec<f32>> {
        self.keep_smallest();
        let mut all = ThresholdSample {
            wanted: self.wanted,
            keys: world.all_gather(&self.keys),
            rows: world.all_gather(&self.rows),
        };
        all.keep_smallest();
        let p = schema::FEATURES.len();
        (0..p)
            .map(|f| all.rows.chunks_exact(p).map(|r| r[f]).collect())
            .collect()
    }
}

/// Reads this executor's training `files` for the MLlib engine in two streamed passes, as
/// MLlib does (`findSplits` samples the input, then `TreePoint.convertToTreeRDD` bins it):
/// the first draws the threshold sample and counts the rows, the second bins every row to one
/// byte per feature. The float features are never held whole: memory is 8 bytes per row
/// (7 bins and a label; row ids follow from each file's key and row count) plus one decoded
/// batch.
///
/// # Errors
/// A file that cannot be read, named.
fn bin_train(
    world: &harness_runtime::World,
    data: &str,
    files: &[FileEntry],
    max_bins: u32,
) -> Result<(forest::BinnedRows, forest::Splits), WorkloadError> {
    let p = schema::FEATURES.len();
    let wanted = (u64::from(max_bins).pow(2)).max(10_000) as usize;
    let mut sample = ThresholdSample::new(wanted);
    let mut rows = 0usize;
    for f in files {
        let key = forest::file_key(&f.path);
        rows += load::for_each_batch_at(data, &f.path, |batch, first| {
            for (i, row) in batch.features.chunks_exact(p).enumerate() {
                sample.offer(forest::row_id_in(key, first + i as u64), row);
            }
            Ok::<(), WorkloadError>(())
        })? as usize;
    }
    let splits = forest::Splits::from_sample(&sample.gather(world), max_bins);
    let mut binned = forest::BinnedRows {
        p,
        bins: Vec::with_capacity(rows * p),
        labels: Vec::with_capacity(rows),
        files: Vec::with_capacity(files.len()),
    };
    for f in files {
        let read = load::for_each_batch_at(data, &f.path, |batch, _| {
            for row in batch.features.chunks_exact(p) {
                binned
                    .bins
                    .extend(row.iter().enumerate().map(|(f, x)| splits.bin(f, *x)));
            }
            binned.labels.extend(batch.labels.iter().map(|l| *l as u8));
            Ok::<(), WorkloadError>(())
        })?;
        binned.files.push((forest::file_key(&f.path), read));
    }
    Ok((binned, splits))
}

/// Grows the MLlib forest on this executor's binned rows together with the other executors:
/// one histogram allreduce per level. Returns the forest and the bytes of each level's
/// allreduce.
fn train_mllib(
    world: &harness_runtime::World,
    threads: usize,
    params: &RfParams,
    rows: &forest::BinnedRows,
    splits: &forest::Splits,
) -> (forest::Forest, Vec<u64>) {
    let fp = forest::ForestParams {
        num_trees: params.trees,
        max_depth: params.max_depth,
        max_bins: params.max_bins,
        seed: params.seed,
        ..forest::ForestParams::default()
    };
    forest::train(
        rows,
        splits,
        schema::CLASSES.len(),
        &fp,
        threads,
        &mut |h| world.sum_in_place(h),
    )
}

/// Per-class and mean metrics of a split's (summed) confusion matrix into `extra`:
/// `<split>_miou`, `<split>_macro_f1` and `<split>_iou_<class>` for every class that occurs.
fn class_metrics(extra: &mut std::collections::BTreeMap<String, f64>, split: &str, c: &Confusion) {
    if let Some(m) = c.mean_iou() {
        extra.insert(format!("{split}_miou"), m);
    }
    if let Some(m) = c.macro_f1() {
        extra.insert(format!("{split}_macro_f1"), m);
    }
    for (class, iou) in schema::CLASSES.iter().zip(c.iou()) {
        if let Some(v) = iou {
            extra.insert(format!("{split}_iou_{}", class.name), v);
        }
    }
}

/// The reference's local study: executors {1, 2, 4, 7} × fractions {0.01, 0.05, 0.07, 0.1}, 2
/// cores and 7g per executor (the reference's study).
pub const REFERENCE_EXECUTORS: [u32; 4] = [1, 2, 4, 7];
pub const REFERENCE_FRACTIONS: [f64; 4] = [0.01, 0.05, 0.07, 0.1];
pub const REFERENCE_MEMORY: u64 = 7 << 30;

impl Workload for FractalRf {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        "FRACTAL aerial LiDAR point classification: random forest (40 trees, depth 6) data-parallel over executors"
    }

    fn prepare_params(
        &self,
        params: &std::collections::BTreeMap<String, Value>,
    ) -> Result<std::collections::BTreeMap<String, Value>, WorkloadError> {
        let p = RfParams::from_point(params)?;
        // Records say which engine grew the forest and which files scored it, defaults
        // included, so reports and comparisons never guess.
        let mut out = params.clone();
        out.insert("engine".into(), json!(p.engine.name()));
        out.insert("eval_fraction".into(), p.eval.param());
        Ok(out)
    }

    /// The first file of every split opens with the columns the workload needs.
    fn check_data(&self, location: &str) -> Result<(), WorkloadError> {
        for split in ["train", "val", "test"] {
            let files = list_split(location, split)?;
            open_columns_at(location, &files[0].path, &schema::COLUMNS, 1024)?;
        }
        Ok(())
    }

    fn default_data(&self) -> DefaultData {
        use generate::{DEFAULT_ROWS_PER_FILE, DEFAULT_SEED, DEFAULT_TRAIN_FILES};
        DefaultData::Generated {
            key: format!("fractal-s{DEFAULT_SEED}-t{DEFAULT_TRAIN_FILES}-r{DEFAULT_ROWS_PER_FILE}"),
            describe: format!(
                "the default FRACTAL data set ({DEFAULT_TRAIN_FILES} train files × \
                 {DEFAULT_ROWS_PER_FILE} points, seed {DEFAULT_SEED}, ~1.1 GB)"
            ),
        }
    }

    fn generator(&self) -> Option<&dyn Generator> {
        Some(&generate::FractalGenerator)
    }

    fn model_format(&self) -> Option<&dyn harness_runtime::model::ModelFormat> {
        Some(&model::FractalModels)
    }

    /// The reference's local study adapted so that no point is oversubscribed: 2 cores per
    /// executor with ≥ 4 logical CPUs, else 1; the executor counts of {1, 2, 4, 7} with
    /// executors × cores ≤ logical CPUs; 7g, lowered to 80 % of RAM / largest executor count
    /// when that is less (in 256 MiB steps); the four fractions; 3 repetitions.
    fn default_study(&self, machine: &Machine) -> StudySpec {
        let cpus = machine.logical_cpus.max(1);
        let cores = if cpus >= 4 { 2 } else { 1 };
        let mut executors: Vec<u32> = REFERENCE_EXECUTORS
            .iter()
            .copied()
            .filter(|e| e * cores <= cpus)
            .collect();
        if executors.is_empty() {
            executors = vec![1];
        }
        let largest = *executors.iter().max().expect("non-empty");
        StudySpec {
            name: "fractal-rf-local".into(),
            workload: NAME.into(),
            executors,
            cores: vec![cores],
            memory: vec![format_bytes(fitting_memory(
                machine,
                largest,
                REFERENCE_MEMORY,
            ))],
            fractions: REFERENCE_FRACTIONS.to_vec(),
            repetitions: 3,
            timeout_sec: 3600,
            data: None,
            params: Default::default(),
        }
    }

    fn run(&self, ctx: &mut ExecutorContext<'_>) -> Result<WorkloadOutput, WorkloadError> {
        let params = RfParams::from_point(&ctx.job.point.params)?;
        let (rank, size) = (ctx.world.rank(), ctx.world.size());
        let data = ctx.job.data.clone();
        let fraction = ctx.job.point.fraction;

        let eval_fraction = params.eval.fraction(fraction);
        let shards = ctx.load(|| -> Result<_, WorkloadError> {
            Ok([
                shard_for(&data, "train", fraction, rank, size)?,
                shard_for(&data, "val", eval_fraction, rank, size)?,
                shard_for(&data, "test", eval_fraction, rank, size)?,
            ])
        })?;
        let files: Vec<FileEntry> = shards.concat();
        ctx.reading(&files);
        if shards[0].is_empty() {
            return Err(format!(
                "executor {rank} received no training files: fraction {fraction} selects fewer \
                 train files than the {size} executors; raise the fraction or generate more files"
            )
            .into());
        }

        let mut level_bytes = Vec::new();
        let (model, train_rows_here) = match params.engine {
            Engine::LightGbm => {
                let train = ctx.load(|| read_shard(&data, &shards[0]))?;
                let labels: Vec<f32> = train.labels.iter().map(|l| *l as f32).collect();
                let lgbm = params.lightgbm(ctx.cores(), size);
                let booster = ctx.train(|| -> Result<Booster, WorkloadError> {
                    // Network, dataset and training on this one thread (LightGBM's network
                    // is thread-local); the network is freed when `net` drops after training.
                    let net = LightGbmNetwork::init(ctx.world)?;
                    let ds = Dataset::from_slice(
                        &train.features,
                        &labels,
                        schema::FEATURES.len() as i32,
                        true,
                    )?;
                    let booster = Booster::train(ds, &lgbm)?;
                    drop(net);
                    Ok(booster)
                })?;
                (Model::LightGbm(booster), train.rows() as u64)
            }
            Engine::Mllib => {
                let world = ctx.world;
                let (rows, splits) =
                    ctx.load(|| bin_train(world, &data, &shards[0], params.max_bins))?;
                let threads = ctx.cores() as usize;
                let (forest, bytes) =
                    ctx.train(|| train_mllib(world, threads, &params, &rows, &splits));
                level_bytes = bytes;
                (Model::Mllib(forest), rows.rows() as u64)
            }
        };

        // The model every executor holds: its digest proves they trained one model.
        let model_text = model.text()?;
        let model_digest = Some(harness_runtime::model::digest(&model_text));

        // Validation and test files are streamed through the model, never held.
        let ((val_c, val_rows), (test_c, test_rows)) =
            ctx.eval(|| -> Result<_, WorkloadError> {
                let (v, vr) = model.confusion(&data, &shards[1])?;
                let (t, tr) = model.confusion(&data, &shards[2])?;
                Ok(((v.summed(ctx.world), vr), (t.summed(ctx.world), tr)))
            })?;
        let (val_acc, test_acc) = (val_c.accuracy(), test_c.accuracy());

        // Rank 0 keeps the model as the run's model directory, for `harness predict`.
        if rank == 0 {
            if let Some(dir) = &ctx.job.artifacts_dir {
                let mut meta =
                    model::ModelMeta::new(params.engine.name(), &ctx.job.study, &ctx.job.run_id);
                (meta.val_accuracy, meta.test_accuracy) = (val_acc, test_acc);
                model::save(&std::path::Path::new(dir).join("model"), &model_text, &meta)?;
            }
        }

        let train_rows = ctx.world.sum_u64(&[train_rows_here])[0];
        let trees_built = model.trees(&model_text);
        let mut metrics = Metrics {
            val_accuracy: val_acc,
            test_accuracy: test_acc,
            accuracy: test_acc,
            ..Metrics::default()
        };
        metrics
            .extra
            .insert("trees_built".into(), trees_built as f64);
        metrics.extra.insert("train_rows".into(), train_rows as f64);
        if !level_bytes.is_empty() {
            metrics
                .extra
                .insert("levels".into(), level_bytes.len() as f64);
            for (level, b) in level_bytes.iter().enumerate() {
                metrics
                    .extra
                    .insert(format!("allreduce_bytes_level_{level}"), *b as f64);
            }
        }
        class_metrics(&mut metrics.extra, "val", &val_c);
        class_metrics(&mut metrics.extra, "test", &test_c);
        Ok(WorkloadOutput {
            metrics,
            files,
            rows: Rows {
                train: train_rows_here,
                val: val_rows,
                test: test_rows,
            },
            farm: None,
            model_digest,
            ..WorkloadOutput::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trees are counted from LightGBM's own model text: 4 iterations × 3 classes = 12 on
    /// learnable data; on a constant feature no split is possible and LightGBM keeps one
    /// constant tree per class for the first iteration only, so the count is not the request.
    #[test]
    fn lightgbm_trees_are_counted_from_the_model() {
        let rows = 300;
        let x: Vec<f64> = (0..rows).map(|i| (i % 30) as f64).collect();
        let y: Vec<f32> = (0..rows).map(|i| ((i % 30) / 10) as f32).collect();
        let params = json!({"objective": "multiclass", "num_class": 3, "num_iterations": 4,
                            "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1});
        let train = |x: &[f64]| {
            let ds = Dataset::from_slice(x, &y, 1, true).unwrap();
            Booster::train(ds, &params).unwrap().save_string().unwrap()
        };
        assert_eq!(lightgbm_trees(&train(&x)), 12);
        let constant = lightgbm_trees(&train(&vec![1.0; rows]));
        assert!(constant < 12, "{constant} trees from a constant feature");
        assert_eq!(
            lightgbm_trees("tree\nTree=0\nTree=x\nend of trees\nTree=1\n"),
            1
        );
    }

    #[test]
    fn reference_parameters() {
        let p = RfParams::default();
        assert_eq!((p.trees, p.max_depth, p.seed), (40, 6, 62));
        assert!((p.bagging_fraction - 0.632).abs() < 0.001);
        assert!((p.feature_fraction_bynode - 0.378).abs() < 0.001);
        let v = p.lightgbm(2, 1);
        assert_eq!(v["boosting"], "rf");
        assert_eq!(v["num_class"], 7);
        assert!(
            v.get("tree_learner").is_none(),
            "one executor trains serially"
        );
        let v = p.lightgbm(1, 2);
        assert_eq!(v["tree_learner"], "data");
        assert_eq!(v["num_machines"], 2);
    }

    #[test]
    fn default_study_adapts_to_small_and_large_machines() {
        let m = |cpus, gib: u64| Machine {
            logical_cpus: cpus,
            memory_bytes: gib << 30,
        };
        let s = FractalRf.default_study(&m(2, 24));
        assert_eq!(s.executors, vec![1, 2]);
        assert_eq!(s.cores, vec![1]);
        assert_eq!(s.memory, vec!["7g"]);
        assert_eq!(s.fractions, REFERENCE_FRACTIONS.to_vec());
        let s = FractalRf.default_study(&m(16, 128));
        assert_eq!(s.executors, vec![1, 2, 4, 7]);
        assert_eq!(s.cores, vec![2]);
        assert_eq!(s.memory, vec!["7g"]);
        let s = FractalRf.default_study(&m(16, 16));
        assert_eq!(s.memory, vec!["1.75g"], "7 executors in 80 % of 16 GiB");
        s.validate().unwrap();
    }

    #[test]
    fn eval_fraction_and_engine_are_parsed_and_recorded() {
        let mut m = std::collections::BTreeMap::new();
        let prepared = FractalRf.prepare_params(&m).unwrap();
        assert_eq!(prepared["engine"], json!("mllib"));
        assert_eq!(prepared["eval_fraction"], json!(1.0));
        m.insert("eval_fraction".to_string(), json!("fraction"));
        m.insert("engine".to_string(), json!("lightgbm"));
        let p = RfParams::from_point(&m).unwrap();
        assert_eq!(p.eval, EvalSet::PointFraction);
        assert_eq!(p.eval.fraction(0.05), 0.05);
        assert_eq!(
            FractalRf.prepare_params(&m).unwrap()["engine"],
            json!("lightgbm")
        );
        m.insert("eval_fraction".to_string(), json!(0.25));
        assert_eq!(RfParams::from_point(&m).unwrap().eval.fraction(0.05), 0.25);
        for bad in [json!(0.0), json!(1.5), json!("all")] {
            m.insert("eval_fraction".to_string(), bad);
            let e = RfParams::from_point(&m).unwrap_err().to_string();
            assert!(e.contains("eval_fraction") && e.contains("(0, 1]"), "{e}");
        }
    }

    /// The bottom-k threshold sample keeps exactly `wanted` rows, the same rows whatever the
    /// order they are offered in and however they are split between executors.
    #[test]
    fn threshold_sample_is_the_same_for_any_order_and_split() {
        let p = schema::FEATURES.len();
        let rows: Vec<(u64, Vec<f32>)> = (0..5000u64)
            .map(|i| {
                let id = forest::row_id("f.parquet", i);
                (id, (0..p).map(|f| (i * 7 + f as u64) as f32).collect())
            })
            .collect();
        let keep = |part: &[(u64, Vec<f32>)]| {
            let mut s = ThresholdSample::new(300);
            for (id, r) in part {
                s.offer(*id, r);
            }
            s.keep_smallest();
            s
        };
        let whole = keep(&rows);
        assert_eq!(whole.keys.len(), 300);
        let mut smallest: Vec<u64> = rows.iter().map(|(id, _)| sample_key(*id)).collect();
        smallest.sort_unstable();
        assert_eq!(whole.keys, smallest[..300].to_vec());
        // Two "executors" with interleaved rows, merged as `gather` merges them.
        let (a, b): (Vec<_>, Vec<_>) = rows.iter().cloned().partition(|(id, _)| id % 3 == 0);
        let (a, b) = (keep(&a), keep(&b));
        let mut merged = ThresholdSample {
            wanted: 300,
            keys: [a.keys, b.keys].concat(),
            rows: [a.rows, b.rows].concat(),
        };
        merged.keep_smallest();
        assert_eq!(merged.keys, whole.keys);
        assert_eq!(merged.rows, whole.rows);
    }

    #[test]
    fn params_override_and_reject() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("trees".to_string(), json!(10));
        assert_eq!(RfParams::from_point(&m).unwrap().trees, 10);
        m.insert("tress".to_string(), json!(10));
        let e = RfParams::from_point(&m).unwrap_err().to_string();
        assert!(e.contains("tress"), "{e}");
        let mut m = std::collections::BTreeMap::new();
        m.insert("bagging_fraction".to_string(), json!(1.0));
        assert!(
            RfParams::from_point(&m).is_err(),
            "rf needs bagging_fraction < 1"
        );
        // max_depth: Spark's 0..=30; 0 only for the MLlib engine.
        let depth = |d: Value, engine: &str| {
            let m = std::collections::BTreeMap::from([
                ("max_depth".to_string(), d),
                ("engine".to_string(), json!(engine)),
            ]);
            RfParams::from_point(&m).map(|p| p.max_depth)
        };
        assert_eq!(depth(json!(30), "mllib").unwrap(), 30);
        assert_eq!(depth(json!(0), "mllib").unwrap(), 0);
        let e = depth(json!(31), "mllib").unwrap_err().to_string();
        assert!(e.contains("0–30") && e.contains("max_depth"), "{e}");
        assert!(depth(json!(64), "lightgbm").is_err());
        assert!(depth(json!(0), "lightgbm").is_err());
    }
}
