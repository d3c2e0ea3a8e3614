//! `fractal-rf`: FRACTAL aerial LiDAR point classification with a random forest.
//!
//! Reference parameters (from the reference implementation's
//! `RandomForestClassifier(numTrees=40, maxDepth=6, seed=62)`): 40 trees, depth 6, seed 62.
//! Two engines grow the forest, chosen by the study parameter `engine`:
//!
//! - `mllib` (default): Spark MLlib's random forest algorithm itself ([`forest`]): 40
//!   multi-class Gini trees, 32 bins per feature from a sample of the training rows, Poisson
//!   bootstrap, ⌈√7⌉ = 3 features per node, data-parallel as MLlib is — every executor counts
//!   class histograms of its rows for every open node of a level, one MPI allreduce sums them,
//!   every executor picks the same splits. The forest does not depend on how many executors
//!   there are (byte-identical at 1, 2, 3); rank 0 saves it as `forest.json`; the bytes each
//!   level's allreduce carried are in `extra.allreduce_bytes_level_<d>`.
//! - `lightgbm`: LightGBM's `boosting=rf`, trained data-parallel with LightGBM's own
//!   distributed tree learner (`tree_learner=data`) on MPI ([`harness_runtime::lgbm_net`]).
//!   `rf` needs bagging: `bagging_fraction` 0.632 (the expected unique share of a bootstrap
//!   sample, 1 − 1/e) and `bagging_freq` 1; per-node feature sampling
//!   `feature_fraction_bynode` = √p / p makes it a random forest; multiclass grows one
//!   regression tree per class per iteration (40 × 7 = 280 trees), so it is not the
//!   reference's model. Rank 0 saves `model.txt`.
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
        }
    }
}

impl RfParams {
    /// Reference defaults overridden by `engine`, `trees`, `max_depth`, `seed`, `max_bins`,
    /// `bagging_fraction`, `feature_fraction_bynode` from `params`.
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
                "max_depth" => p.max_depth = v.as_u64().filter(|t| *t > 0).ok_or_else(bad)? as u32,
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
                _ => return Err(format!("unknown fractal-rf parameter `{k}` (known: engine, trees, max_depth, seed, max_bins, bagging_fraction, feature_fraction_bynode)").into()),
            }
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

/// The points of `files`, and each point's global row id ([`forest::row_id`] of its file and
/// position there).
fn read_shard(data: &str, files: &[FileEntry]) -> Result<(Points, Vec<u64>), WorkloadError> {
    let mut points = Points::default();
    let mut ids = Vec::new();
    for f in files {
        let before = points.rows();
        load::read_at(data, &f.path, &mut points)?;
        ids.extend((0..(points.rows() - before) as u64).map(|i| forest::row_id(&f.path, i)));
    }
    Ok((points, ids))
}

/// A trained model of either engine.
enum Model {
    LightGbm(Booster),
    Mllib(forest::Forest),
}

impl Model {
    /// This executor's confusion matrix on `points`.
    fn confusion(&self, points: &Points) -> Result<Confusion, WorkloadError> {
        let mut c = Confusion::new(schema::CLASSES.len());
        if points.rows() > 0 {
            let probs = match self {
                Model::LightGbm(b) => {
                    b.predict(&points.features, schema::FEATURES.len() as i32, true)?
                }
                Model::Mllib(f) => f.predict_proba(&points.features),
            };
            c.add(&argmax_rows(&probs, schema::CLASSES.len()), &points.labels);
        }
        Ok(c)
    }

    /// The model as text (LightGBM's model format, or the forest as JSON) and the artifact
    /// name rank 0 saves it under.
    fn text(&self) -> Result<(String, &'static str), WorkloadError> {
        Ok(match self {
            Model::LightGbm(b) => (b.save_string()?, "model.txt"),
            Model::Mllib(f) => (serde_json::to_string(f)?, "forest.json"),
        })
    }
}

/// Rows drawn for the split thresholds: MLlib's `findSplits` samples
/// max(`max_bins`², 10 000) of the training rows; here a row is drawn when its id's hash falls
/// below that share, so every executor count draws the same rows.
fn in_threshold_sample(id: u64, share: f64) -> bool {
    forest::unit(forest::mix(id ^ 0x5EED)) < share
}

/// Trains the MLlib forest on this executor's `train` points (ids `ids`) together with the
/// other executors: thresholds from a sample gathered on every rank, rows binned to one byte
/// per feature (the float features are dropped), one histogram allreduce per level. Returns
/// the forest and the bytes of each level's allreduce.
fn train_mllib(
    world: &harness_runtime::World,
    threads: usize,
    params: &RfParams,
    train: Points,
    ids: Vec<u64>,
) -> (forest::Forest, Vec<u64>) {
    let p = schema::FEATURES.len();
    let total = world.sum_u64(&[train.rows() as u64])[0];
    let wanted = (u64::from(params.max_bins).pow(2)).max(10_000);
    let share = (wanted as f64 / total.max(1) as f64).min(1.0);
    let mut mine = Vec::new();
    for (row, id) in train.features.chunks_exact(p).zip(&ids) {
        if in_threshold_sample(*id, share) {
            mine.extend_from_slice(row);
        }
    }
    let sample = world.all_gather_f32(&mine);
    let by_feature: Vec<Vec<f32>> = (0..p)
        .map(|f| sample.chunks_exact(p).map(|r| r[f]).collect())
        .collect();
    let splits = forest::Splits::from_sample(&by_feature, params.max_bins);
    let rows = forest::BinnedRows {
        p,
        bins: train
            .features
            .chunks_exact(p)
            .flat_map(|r| r.iter().enumerate().map(|(f, x)| splits.bin(f, *x)))
            .collect(),
        labels: train.labels.iter().map(|l| *l as u8).collect(),
        ids,
    };
    drop(train);
    let fp = forest::ForestParams {
        num_trees: params.trees,
        max_depth: params.max_depth,
        max_bins: params.max_bins,
        seed: params.seed,
        ..forest::ForestParams::default()
    };
    forest::train(
        &rows,
        &splits,
        schema::CLASSES.len(),
        &fp,
        threads,
        &mut |h| world.sum_u64_in_place(h),
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
        RfParams::from_point(params)?;
        Ok(params.clone())
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

        let shards = ctx.load(|| -> Result<_, WorkloadError> {
            ["train", "val", "test"]
                .map(|split| shard_for(&data, split, fraction, rank, size))
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map_err(Into::into)
        })?;
        let files: Vec<FileEntry> = shards.concat();
        ctx.reading(&files);
        let ((train, ids), (val, _), (test, _)) = ctx.load(|| -> Result<_, WorkloadError> {
            Ok((
                read_shard(&data, &shards[0])?,
                read_shard(&data, &shards[1])?,
                read_shard(&data, &shards[2])?,
            ))
        })?;
        if train.rows() == 0 {
            return Err(format!(
                "executor {rank} received no training files: fraction {fraction} selects fewer \
                 train files than the {size} executors; raise the fraction or generate more files"
            )
            .into());
        }
        let train_rows_here = train.rows() as u64;

        let mut level_bytes = Vec::new();
        let model = match params.engine {
            Engine::LightGbm => {
                let labels: Vec<f32> = train.labels.iter().map(|l| *l as f32).collect();
                let lgbm = params.lightgbm(ctx.cores(), size);
                Model::LightGbm(ctx.train(|| -> Result<Booster, WorkloadError> {
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
                })?)
            }
            Engine::Mllib => {
                let (world, threads) = (ctx.world, ctx.cores() as usize);
                let (forest, bytes) =
                    ctx.train(|| train_mllib(world, threads, &params, train, ids));
                level_bytes = bytes;
                Model::Mllib(forest)
            }
        };

        // The model every executor holds: its digest proves they trained one model; rank 0
        // keeps the text as the run's artifact (`model.txt` or `forest.json`).
        let (model_text, artifact) = model.text()?;
        if rank == 0 {
            if let Some(dir) = &ctx.job.artifacts_dir {
                let path = std::path::Path::new(dir).join(artifact);
                std::fs::write(&path, &model_text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
        let model_digest = Some(harness_runtime::model::digest(&model_text));

        let (val_c, test_c) = ctx.eval(|| -> Result<_, WorkloadError> {
            let v = model.confusion(&val)?.summed(ctx.world);
            let t = model.confusion(&test)?.summed(ctx.world);
            Ok((v, t))
        })?;
        let (val_acc, test_acc) = (val_c.accuracy(), test_c.accuracy());

        let train_rows = ctx.world.sum_u64(&[train_rows_here])[0];
        let trees_built = match params.engine {
            Engine::LightGbm => u64::from(params.trees) * schema::CLASSES.len() as u64,
            Engine::Mllib => u64::from(params.trees),
        };
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
                val: val.rows() as u64,
                test: test.rows() as u64,
            },
            farm: None,
            model_digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
