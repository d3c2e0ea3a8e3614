//! Deterministic generator of the synthetic hourly time series and its time-series folds.
//!
//! **Target and features** follow scikit-learn's `make_classification` (I. Guyon, "Design of
//! experiments for the NIPS 2003 variable selection benchmark", 2003; scikit-learn
//! `sklearn/datasets/_samples_generator.py`), ported step by step with this crate's seeded
//! ChaCha8 stream instead of NumPy's (the algorithm is the same, the numbers are not):
//! 1. clusters: `n_classes × n_clusters_per_class` (2 × 2), samples split by `weights`
//!    ([0.6, 0.4]) over the clusters of each class, the remainder one by one round-robin;
//! 2. centroids: distinct vertices of the `n_informative`-dimensional hypercube (20), sides
//!    `2 × class_sep` (1.5), centred on 0;
//! 3. informative features ~ N(0, 1), multiplied per cluster by a random matrix
//!    `A = 2·U(0,1) − 1` (covariance), shifted to the cluster's centroid;
//! 4. redundant features (10): the informative ones times `B = 2·U(0,1) − 1`;
//! 5. repeated features (5): copies of random informative or redundant columns;
//! 6. the rest (65 of 100) ~ N(0, 1);
//! 7. `flip_y` (0.05) of the labels replaced by a random class;
//! 8. rows and columns shuffled.
//!
//! **Time** (the reference testbed's transforms): row `t` is hour `t` from 2020-01-01T00:00Z, and with `t`
//! the row index, feature `j` gets, by `j mod 4`: 0 → a trend `+ 0.001·t`; 1 → a weekly
//! `+ 0.3·sin(2πt/7)`; 2 → a monthly `+ 0.5·sin(2πt/30)`; 3 → AR(1) smoothing
//! `x'[t] = 0.8·x'[t−1] + 0.2·x[t]`.
//!
//! **Layout**: the rows fall into five time blocks as scikit-learn's `TimeSeriesSplit(4)` cuts
//! them (block size `n / 5`, the remainder in the first block); fold `K` trains on blocks
//! `0..=K` and tests on block `K + 1`. Each block is written as `files_per_fold` parquet files
//! in time order, so a file fraction of a fold's train split is its oldest share:
//! `all/` (every block), `fold=K/train/` and `fold=K/test/` for K = 0..3. Columns: `timestamp`
//! (UTC seconds), `feature_0` … `feature_99` (Float64), `label` (Int32, 0 or 1). A
//! `gbm-folds.json` at the root records the options and the fold boundaries.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::{ArrayRef, Float64Array, Int32Array, TimestampSecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use harness_runtime::workload::{gen_option, GenOption, Generator};
use harness_runtime::WorkloadError;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;

/// Folds of the time-series split (scikit-learn's `TimeSeriesSplit(n_splits=4)`).
pub const FOLDS: usize = 4;
/// 2020-01-01T00:00:00Z, the first hour.
pub const START_UNIX: i64 = 1_577_836_800;
/// Name of the label column.
pub const LABEL: &str = "label";
/// Name of the time column.
pub const TIMESTAMP: &str = "timestamp";

/// Reference parameters of the generator (the reference testbed's `make_classification` call
/// and series length).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerateOptions {
    pub rows: usize,
    pub features: usize,
    pub informative: usize,
    pub redundant: usize,
    pub repeated: usize,
    pub clusters_per_class: usize,
    /// Share of class 0 (class 1 gets the rest).
    pub weight0: f64,
    pub flip_y: f64,
    pub class_sep: f64,
    /// Files per time block (a fold's test split; fold K's train split has K + 1 times as many).
    pub files_per_fold: usize,
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            rows: 300_000,
            features: 100,
            informative: 20,
            redundant: 10,
            repeated: 5,
            clusters_per_class: 2,
            weight0: 0.6,
            flip_y: 0.05,
            class_sep: 1.5,
            files_per_fold: 4,
            seed: 42,
        }
    }
}

/// The generated table, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `rows × features` values, row-major.
    pub x: Vec<f64>,
    pub y: Vec<i32>,
    pub features: usize,
}

/// Name of feature column `j`.
pub fn feature_name(j: usize) -> String {
    format!("feature_{j}")
}

/// `make_classification` with the reference parameters (see the module doc), then the time
/// transforms.
///
/// # Panics
/// If the options are inconsistent ([`check`] them first).
pub fn series(o: &GenerateOptions) -> Series {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let (n, p, ni) = (o.rows, o.features, o.informative);
    let classes = 2;
    let clusters = classes * o.clusters_per_class;
    let weights = [o.weight0, 1.0 - o.weight0];
    let mut per_cluster: Vec<usize> = (0..clusters)
        .map(|k| (n as f64 * weights[k % classes] / o.clusters_per_class as f64) as usize)
        .collect();
    let assigned: usize = per_cluster.iter().sum();
    for i in 0..n - assigned {
        per_cluster[i % clusters] += 1;
    }

    // Distinct hypercube vertices: distinct integers below 2^informative, as bit vectors.
    let mut vertices: Vec<u64> = Vec::with_capacity(clusters);
    while vertices.len() < clusters {
        let v = rng.random_range(0..1u64 << ni.min(63));
        if !vertices.contains(&v) {
            vertices.push(v);
        }
    }

    let mut x = vec![0f64; n * p];
    let mut y = vec![0i32; n];
    for row in x.chunks_exact_mut(p) {
        for v in &mut row[..ni] {
            *v = rng.sample(StandardNormal);
        }
    }
    let mut start = 0;
    let mut tmp = vec![0f64; ni];
    for (k, &count) in per_cluster.iter().enumerate() {
        let a: Vec<f64> = (0..ni * ni)
            .map(|_| 2.0 * rng.random::<f64>() - 1.0)
            .collect();
        let centroid: Vec<f64> = (0..ni)
            .map(|j| {
                let bit = (vertices[k] >> (ni - 1 - j).min(63)) & 1;
                bit as f64 * 2.0 * o.class_sep - o.class_sep
            })
            .collect();
        for i in start..start + count {
            y[i] = (k % classes) as i32;
            let row = &mut x[i * p..i * p + ni];
            // row · A (random covariance), then shift to the vertex.
            for (c, t) in tmp.iter_mut().enumerate() {
                *t = (0..ni).map(|r| row[r] * a[r * ni + c]).sum::<f64>() + centroid[c];
            }
            row.copy_from_slice(&tmp);
        }
        start += count;
    }
    if o.redundant > 0 {
        let b: Vec<f64> = (0..ni * o.redundant)
            .map(|_| 2.0 * rng.random::<f64>() - 1.0)
            .collect();
        for row in x.chunks_exact_mut(p) {
            for c in 0..o.redundant {
                row[ni + c] = (0..ni).map(|r| row[r] * b[r * o.redundant + c]).sum();
            }
        }
    }
    if o.repeated > 0 {
        let m = ni + o.redundant;
        let idx: Vec<usize> = (0..o.repeated)
            .map(|_| ((m - 1) as f64 * rng.random::<f64>() + 0.5) as usize)
            .collect();
        for row in x.chunks_exact_mut(p) {
            for (c, &src) in idx.iter().enumerate() {
                row[m + c] = row[src];
            }
        }
    }
    let useful = ni + o.redundant + o.repeated;
    for row in x.chunks_exact_mut(p) {
        for v in &mut row[useful..] {
            *v = rng.sample(StandardNormal);
        }
    }
    for label in &mut y {
        if rng.random::<f64>() < o.flip_y {
            *label = rng.random_range(0..classes as i32);
        }
    }

    // Shuffle rows, then columns.
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let mut columns: Vec<usize> = (0..p).collect();
    columns.shuffle(&mut rng);
    let mut sx = vec![0f64; n * p];
    let mut sy = vec![0i32; n];
    for (t, &i) in order.iter().enumerate() {
        sy[t] = y[i];
        for (j, &c) in columns.iter().enumerate() {
            sx[t * p + j] = x[i * p + c];
        }
    }
    drop(x);

    // Time structure, row t = hour t.
    for j in 0..p {
        let mut prev = 0f64;
        for t in 0..n {
            let v = &mut sx[t * p + j];
            let tf = t as f64;
            match j % 4 {
                0 => *v += 0.001 * tf,
                1 => *v += 0.3 * (2.0 * PI * tf / 7.0).sin(),
                2 => *v += 0.5 * (2.0 * PI * tf / 30.0).sin(),
                _ => {
                    if t > 0 {
                        *v = 0.8 * prev + 0.2 * *v;
                    }
                    prev = *v;
                }
            }
        }
    }
    Series {
        x: sx,
        y: sy,
        features: p,
    }
}

/// Row ranges `[start, end)` of the five time blocks of `n` rows: scikit-learn's
/// `TimeSeriesSplit(4)` test size `n / 5`, the remainder in block 0. Fold `K` trains on
/// blocks `0..=K` and tests on block `K + 1`.
pub fn blocks(n: usize) -> Vec<(usize, usize)> {
    let test = n / (FOLDS + 1);
    let first = n - FOLDS * test;
    let mut out = vec![(0, first)];
    for k in 0..FOLDS {
        out.push((first + k * test, first + (k + 1) * test));
    }
    out
}

/// Checks the options.
///
/// # Errors
/// Too few rows or features, informative + redundant + repeated > features, too few
/// informative features for 4 clusters, a weight or flip share outside [0, 1], no files.
pub fn check(o: &GenerateOptions) -> Result<(), String> {
    if o.rows < (FOLDS + 1) * o.files_per_fold.max(1) {
        return Err(format!(
            "--rows {}: need at least {} rows for 5 time blocks of --files-per-fold {} files",
            o.rows,
            (FOLDS + 1) * o.files_per_fold.max(1),
            o.files_per_fold
        ));
    }
    if o.files_per_fold == 0 {
        return Err("--files-per-fold must be at least 1".into());
    }
    if o.informative + o.redundant + o.repeated > o.features {
        return Err(format!(
            "--features {}: must hold the {} informative + {} redundant + {} repeated features",
            o.features, o.informative, o.redundant, o.repeated
        ));
    }
    if (1usize << o.informative.min(63)) < 2 * o.clusters_per_class || o.informative == 0 {
        return Err("too few informative features for the clusters".into());
    }
    if !(0.0..=1.0).contains(&o.weight0) || !(0.0..=1.0).contains(&o.flip_y) {
        return Err("weights and flip_y must lie in [0, 1]".into());
    }
    Ok(())
}

/// The Arrow schema of every file: timestamp, the features, the label.
pub fn arrow_schema(features: usize) -> Arc<Schema> {
    let mut fields = vec![Field::new(
        TIMESTAMP,
        DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
        false,
    )];
    fields.extend((0..features).map(|j| Field::new(feature_name(j), DataType::Float64, false)));
    fields.push(Field::new(LABEL, DataType::Int32, false));
    Arc::new(Schema::new(fields))
}

/// Parquet bytes of rows `[lo, hi)` of `s`.
fn file_bytes(s: &Series, lo: usize, hi: usize) -> Result<Vec<u8>, String> {
    let p = s.features;
    let schema = arrow_schema(p);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(p + 2);
    columns.push(Arc::new(
        TimestampSecondArray::from_iter_values((lo..hi).map(|t| START_UNIX + 3600 * t as i64))
            .with_timezone("UTC"),
    ));
    for j in 0..p {
        columns.push(Arc::new(Float64Array::from_iter_values(
            (lo..hi).map(|t| s.x[t * p + j]),
        )));
    }
    columns.push(Arc::new(Int32Array::from(s.y[lo..hi].to_vec())));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(|e| e.to_string())?;
    w.write(&batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(out)
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    pub files: usize,
    pub bytes: u64,
}

/// Generates the series and writes `all/` and `fold=K/{train,test}/` under `out`.
/// `progress(done, total)` counts written files.
///
/// # Errors
/// Bad options, write failures (naming the path).
pub fn generate(
    o: &GenerateOptions,
    out: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<GenerateSummary, String> {
    check(o)?;
    let s = series(o);
    let blocks = blocks(o.rows);
    let f = o.files_per_fold;
    // Each block's files, in time order: (block, index within block, bytes).
    let total_files = blocks.len() * f + (0..FOLDS).map(|k| (k + 2) * f).sum::<usize>();
    let mut written = 0usize;
    let mut bytes = 0u64;
    let mut write = |dir: &Path, name: &str, data: &[u8]| -> Result<(), String> {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(name);
        fs::write(&path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written += 1;
        bytes += data.len() as u64;
        progress(written as u64, total_files as u64);
        Ok(())
    };
    let mut block_files: Vec<Vec<(String, Vec<u8>)>> = Vec::new();
    for (b, &(lo, hi)) in blocks.iter().enumerate() {
        let mut files = Vec::new();
        for i in 0..f {
            let (a, z) = (lo + (hi - lo) * i / f, lo + (hi - lo) * (i + 1) / f);
            files.push((format!("part-{b}-{i:04}.parquet"), file_bytes(&s, a, z)?));
        }
        block_files.push(files);
    }
    for files in &block_files {
        for (name, data) in files {
            write(&out.join("all"), name, data)?;
        }
    }
    for k in 0..FOLDS {
        let fold = out.join(format!("fold={k}"));
        for files in &block_files[..=k] {
            for (name, data) in files {
                write(&fold.join("train"), name, data)?;
            }
        }
        for (name, data) in &block_files[k + 1] {
            write(&fold.join("test"), name, data)?;
        }
    }
    let meta = serde_json::json!({
        "generator": "gbm-folds",
        "options": o,
        "blocks": blocks,
        "folds": (0..FOLDS).map(|k| serde_json::json!({
            "fold": k,
            "train_rows": [0, blocks[k].1],
            "test_rows": [blocks[k + 1].0, blocks[k + 1].1],
        })).collect::<Vec<_>>(),
        "positive_share": s.y.iter().filter(|v| **v == 1).count() as f64 / o.rows as f64,
    });
    let path = out.join("gbm-folds.json");
    fs::write(&path, serde_json::to_vec_pretty(&meta).expect("serialises"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(GenerateSummary {
        files: written,
        bytes,
    })
}

/// `harness data generate gbm-folds`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeriesGenerator;

impl Generator for SeriesGenerator {
    fn name(&self) -> &'static str {
        "gbm-folds"
    }

    fn about(&self) -> &'static str {
        "Synthetic hourly time series (make_classification target + trend, weekly, monthly, AR(1)) and its 4 expanding-window folds as parquet"
    }

    fn options(&self) -> Vec<GenOption> {
        let d = GenerateOptions::default();
        vec![
            GenOption {
                name: "rows",
                help: "Rows (hours)",
                default: Some(d.rows.to_string()),
            },
            GenOption {
                name: "features",
                help: "Features (20 informative, 10 redundant, 5 repeated, the rest noise)",
                default: Some(d.features.to_string()),
            },
            GenOption {
                name: "files-per-fold",
                help: "Parquet files per time block: a fold's test split has this many, fold K's train split K + 1 times as many",
                default: Some(d.files_per_fold.to_string()),
            },
            GenOption {
                name: "seed",
                help: "Seed of the whole data set",
                default: Some(d.seed.to_string()),
            },
        ]
    }

    fn generate(
        &self,
        out: &Path,
        options: &BTreeMap<String, String>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<String, WorkloadError> {
        let mut o = GenerateOptions::default();
        if let Some(v) = gen_option(options, "rows")? {
            o.rows = v;
        }
        if let Some(v) = gen_option(options, "features")? {
            o.features = v;
        }
        if let Some(v) = gen_option(options, "files-per-fold")? {
            o.files_per_fold = v;
        }
        if let Some(v) = gen_option(options, "seed")? {
            o.seed = v;
        }
        let s = generate(&o, out, progress)?;
        Ok(format!(
            "wrote {} rows × {} features as {} files, {:.1} MB into {} (all/, fold=0..3/train|test/)",
            o.rows,
            o.features,
            s.files,
            s.bytes as f64 / 1e6,
            out.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cut_like_time_series_split() {
        // TimeSeriesSplit(4) on 100 rows: test size 20, tests start at 20, 40, 60, 80.
        assert_eq!(
            blocks(100),
            vec![(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]
        );
        // 103 rows: test size 20, the remainder in the first training block.
        assert_eq!(blocks(103)[0], (0, 23));
        assert_eq!(blocks(103)[4], (83, 103));
    }

    #[test]
    fn series_has_the_reference_shape_and_is_seeded() {
        let o = GenerateOptions {
            rows: 20_000,
            ..GenerateOptions::default()
        };
        let a = series(&o);
        assert_eq!(a.x.len(), 20_000 * 100);
        assert_eq!(a, series(&o), "deterministic from the seed");
        let b = series(&GenerateOptions {
            seed: 7,
            ..o.clone()
        });
        assert_ne!(a.y, b.y);
        // weights [0.6, 0.4], 5 % of labels flipped to a random class: ≈ 0.4·0.95 + 0.025.
        let pos = a.y.iter().filter(|v| **v == 1).count() as f64 / 20_000.0;
        assert!((pos - 0.405).abs() < 0.02, "positive share {pos}");
        // Feature 0 carries the trend: its mean over the last block is ≈ 0.001·Δt above the
        // first block's (16,000 hours apart).
        let mean = |lo: usize, hi: usize, j: usize| {
            (lo..hi).map(|t| a.x[t * 100 + j]).sum::<f64>() / (hi - lo) as f64
        };
        let rise = mean(16_000, 20_000, 0) - mean(0, 4_000, 0);
        assert!((rise - 16.0).abs() < 1.5, "trend {rise}");
        // Feature 3 is AR(1)-smoothed: strongly autocorrelated from one hour to the next.
        let j = 3;
        let (m, n) = (mean(0, 20_000, j), 20_000);
        let var: f64 = (0..n).map(|t| (a.x[t * 100 + j] - m).powi(2)).sum();
        let cov: f64 = (1..n)
            .map(|t| (a.x[t * 100 + j] - m) * (a.x[(t - 1) * 100 + j] - m))
            .sum();
        assert!(cov / var > 0.7, "lag-1 autocorrelation {}", cov / var);
    }

    #[test]
    fn bad_options_are_named() {
        let e = check(&GenerateOptions {
            features: 30,
            ..GenerateOptions::default()
        })
        .unwrap_err();
        assert!(e.contains("--features 30"), "{e}");
        let e = check(&GenerateOptions {
            rows: 10,
            ..GenerateOptions::default()
        })
        .unwrap_err();
        assert!(e.contains("--rows 10"), "{e}");
    }
}
