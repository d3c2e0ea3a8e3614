//! Deterministic generator of FRACTAL-shaped data.
//!
//! Writes `train/ val/ test/` directories of parquet files with FRACTAL's columns and class mix
//! (see [`crate::schema`]). Each file depends only on `(seed, split, index)`, so generating
//! more files later never changes the earlier ones, and a study runs offline on any machine.
//!
//! The class-conditional distributions make the task learnable but not trivial: classes
//! overlap in every feature, each file (tile) has its own ground level (±5 m) and illumination,
//! the class mix varies between tiles, and 2 % of points carry the features of another class.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::{ArrayRef, FixedSizeListArray, Float64Array, UInt16Array, UInt8Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Normal};
use thiserror::Error;

use crate::schema::{self, CLASSES};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output directory (created).
    pub out: PathBuf,
    /// Files in `train/`.
    pub train_files: usize,
    /// Files in `val/` and in `test/` (FRACTAL's 80/10/10 split gives train / 8).
    pub val_files: usize,
    pub test_files: usize,
    /// Points per file (FRACTAL's files hold ~30k–120k points).
    pub rows_per_file: usize,
    /// Seed of the whole dataset.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
}

impl GenerateOptions {
    /// Options with FRACTAL's split ratio: val and test files = max(1, train / 8).
    pub fn new(out: PathBuf, train_files: usize, rows_per_file: usize, seed: u64) -> Self {
        let side = (train_files / 8).max(1);
        GenerateOptions {
            out,
            train_files,
            val_files: side,
            test_files: side,
            rows_per_file,
            seed,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Generation failures.
#[derive(Debug, Error)]
pub enum GenerateError {
    #[error("--train-files and --rows-per-file must be at least 1")]
    Empty,
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// Summary of a generated dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    pub files: usize,
    pub rows: u64,
    pub bytes: u64,
}

/// The Arrow schema of a FRACTAL file as written by the generator.
pub fn arrow_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new(
            schema::XYZ,
            DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float64, false)), 3),
            false,
        ),
        Field::new(schema::INTENSITY, DataType::UInt16, false),
        Field::new(schema::RED, DataType::UInt16, false),
        Field::new(schema::GREEN, DataType::UInt16, false),
        Field::new(schema::BLUE, DataType::UInt16, false),
        Field::new(schema::INFRARED, DataType::UInt16, false),
        Field::new(schema::CLASSIFICATION, DataType::UInt8, false),
    ]))
}

/// Seed of one file: a stable mix of (dataset seed, split, index).
fn file_seed(seed: u64, split: &str, index: usize) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in split.bytes().chain(index.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// File name of file `index` of `split`.
pub fn file_name(split: &str, index: usize) -> String {
    format!("{split}-{index:06}.parquet")
}

/// Mean (intensity, red, green, blue, nir) per class on an 8-bit scale, and the spread.
/// Vegetation is bright in NIR (NDVI ≈ 0.45), water dark everywhere, buildings bright.
const SPECTRA: [([f64; 5], f64); 7] = [
    ([900.0, 110.0, 110.0, 105.0, 120.0], 45.0),  // other
    ([1200.0, 120.0, 110.0, 95.0, 115.0], 30.0),  // ground
    ([700.0, 70.0, 100.0, 60.0, 175.0], 30.0),    // vegetation
    ([1600.0, 145.0, 120.0, 115.0, 115.0], 40.0), // building
    ([150.0, 50.0, 70.0, 90.0, 30.0], 15.0),      // water
    ([1400.0, 130.0, 125.0, 120.0, 110.0], 30.0), // bridge
    ([1500.0, 150.0, 145.0, 140.0, 120.0], 40.0), // permanent structure
];

/// Writes one file's points into columns.
struct Columns {
    xyz: Vec<f64>,
    intensity: Vec<u16>,
    red: Vec<u16>,
    green: Vec<u16>,
    blue: Vec<u16>,
    nir: Vec<u16>,
    class: Vec<u8>,
}

fn clamp_u16(v: f64) -> u16 {
    v.round().clamp(0.0, 65535.0) as u16
}

fn tile(seed: u64, split: &str, index: usize, rows: usize) -> Columns {
    let mut rng = ChaCha8Rng::seed_from_u64(file_seed(seed, split, index));
    let n01: Normal<f64> = Normal::new(0.0, 1.0).expect("valid normal");
    // Tile-level variation: origin, ground elevation and slope, illumination, class mix.
    let x0 = 600_000.0 + 50.0 * (index % 1000) as f64;
    let y0 = 6_800_000.0 + 50.0 * (index / 1000) as f64;
    // A flat lowland region: tiles differ by a few metres, so z carries the class's height above
    // ground (as in the reference's use of raw z) instead of each tile's own elevation.
    let base = rng.random_range(95.0..105.0);
    let (ax, ay) = (rng.random_range(-0.02..0.02), rng.random_range(-0.02..0.02));
    let light = rng.random_range(0.8..1.2);
    let weights: Vec<f64> = CLASSES
        .iter()
        .map(|c| c.share * (0.4 * n01.sample(&mut rng)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let exp6 = Exp::new(1.0 / 6.0).expect("valid exp");
    let exp2 = Exp::new(1.0 / 2.0).expect("valid exp");
    let mut c = Columns {
        xyz: Vec::with_capacity(rows * 3),
        intensity: Vec::with_capacity(rows),
        red: Vec::with_capacity(rows),
        green: Vec::with_capacity(rows),
        blue: Vec::with_capacity(rows),
        nir: Vec::with_capacity(rows),
        class: Vec::with_capacity(rows),
    };
    for _ in 0..rows {
        let u: f64 = rng.random();
        let label = cdf.iter().position(|p| u < *p).unwrap_or(CLASSES.len() - 1);
        // 2 % of points look like another class (label noise).
        let look = if rng.random::<f64>() < 0.02 {
            rng.random_range(0..CLASSES.len())
        } else {
            label
        };
        let dx: f64 = rng.random_range(0.0..50.0);
        let dy: f64 = rng.random_range(0.0..50.0);
        let ground = base + ax * dx + ay * dy;
        let height = match look {
            1 => 0.15 * n01.sample(&mut rng),
            2 => exp6.sample(&mut rng),
            3 => rng.random_range(2.5..20.0),
            4 => -0.3 + 0.05 * n01.sample(&mut rng),
            5 => 6.0 + 2.0 * n01.sample(&mut rng),
            6 => rng.random_range(3.0..40.0),
            _ => exp2.sample(&mut rng),
        };
        c.xyz
            .extend_from_slice(&[x0 + dx, y0 + dy, ground + height]);
        let (means, sd) = SPECTRA[look];
        // Intensity spreads ten times wider than the 8-bit colour bands.
        c.intensity
            .push(clamp_u16(means[0] + 10.0 * sd * n01.sample(&mut rng)));
        let mut band = |m: f64| clamp_u16(256.0 * light * (m + sd * n01.sample(&mut rng)));
        c.red.push(band(means[1]));
        c.green.push(band(means[2]));
        c.blue.push(band(means[3]));
        c.nir.push(band(means[4]));
        c.class.push(CLASSES[label].code);
    }
    c
}

fn write_file(path: &Path, cols: Columns) -> Result<u64, GenerateError> {
    let err = |m: String| GenerateError::Write {
        path: path.to_path_buf(),
        message: m,
    };
    let values = Float64Array::from(cols.xyz);
    let xyz = FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float64, false)),
        3,
        Arc::new(values),
        None,
    )
    .map_err(|e| err(e.to_string()))?;
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(xyz),
        Arc::new(UInt16Array::from(cols.intensity)),
        Arc::new(UInt16Array::from(cols.red)),
        Arc::new(UInt16Array::from(cols.green)),
        Arc::new(UInt16Array::from(cols.blue)),
        Arc::new(UInt16Array::from(cols.nir)),
        Arc::new(UInt8Array::from(cols.class)),
    ];
    let batch = RecordBatch::try_new(arrow_schema(), arrays).map_err(|e| err(e.to_string()))?;
    // Write to a temporary name and rename, so an interrupted run never leaves a torn file
    // under a real name.
    let tmp = path.with_extension("parquet.tmp");
    let file = fs::File::create(&tmp).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| err(e.to_string()))?;
    writer.write(&batch).map_err(|e| err(e.to_string()))?;
    writer.close().map_err(|e| err(e.to_string()))?;
    fs::rename(&tmp, path).map_err(|e| err(e.to_string()))?;
    Ok(fs::metadata(path).map_err(|e| err(e.to_string()))?.len())
}

/// Generates the dataset described by `opts`, calling `progress(done, total)` after each file.
///
/// # Errors
/// [`GenerateError::Empty`] for zero files or rows; [`GenerateError::Write`] naming the file
/// that could not be written.
pub fn generate(
    opts: &GenerateOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<GenerateSummary, GenerateError> {
    if opts.train_files == 0 || opts.rows_per_file == 0 {
        return Err(GenerateError::Empty);
    }
    let mut jobs = Vec::new();
    for (split, n) in [
        ("train", opts.train_files),
        ("val", opts.val_files),
        ("test", opts.test_files),
    ] {
        let dir = opts.out.join(split);
        fs::create_dir_all(&dir).map_err(|e| GenerateError::Write {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        jobs.extend((0..n).map(|i| (split, i, dir.join(file_name(split, i)))));
    }
    let total = jobs.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Vec<Result<u64, GenerateError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..opts.threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((split, index, path)) = jobs.get(i) else {
                            break;
                        };
                        let cols = tile(opts.seed, split, *index, opts.rows_per_file);
                        out.push(write_file(path, cols));
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread panicked"))
            .collect()
    });
    let mut bytes = 0;
    for r in results {
        bytes += r?;
    }
    Ok(GenerateSummary {
        files: total,
        rows: (total * opts.rows_per_file) as u64,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_depend_only_on_seed_split_index() {
        let a = tile(7, "train", 3, 500);
        let b = tile(7, "train", 3, 500);
        assert_eq!(a.xyz, b.xyz);
        assert_eq!(a.class, b.class);
        let c = tile(7, "train", 4, 500);
        assert_ne!(a.xyz, c.xyz);
        let d = tile(7, "val", 3, 500);
        assert_ne!(a.xyz, d.xyz);
    }

    #[test]
    fn class_mix_is_fractal_like() {
        // Over many tiles the per-tile jitter averages out to FRACTAL's mix.
        let mut counts = [0usize; 7];
        let mut n = 0;
        for i in 0..40 {
            for code in tile(1, "train", i, 5000).class {
                counts[schema::label_of(code)] += 1;
                n += 1;
            }
        }
        let share = |i: usize| counts[i] as f64 / n as f64;
        assert!((share(2) - 0.57).abs() < 0.05, "vegetation {}", share(2));
        assert!((share(1) - 0.39).abs() < 0.05, "ground {}", share(1));
        assert!(share(3) > 0.01 && share(3) < 0.06, "building {}", share(3));
        assert!(
            counts[4] > 0 && counts[5] > 0,
            "rare classes present: {counts:?}"
        );
    }
}

/// `harness data generate fractal`: the generator behind the workload's default data.
#[derive(Debug, Default, Clone, Copy)]
pub struct FractalGenerator;

/// Default data set: 300 train files × 70,000 points (21 M training points), seed 62.
pub const DEFAULT_TRAIN_FILES: usize = 300;
pub const DEFAULT_ROWS_PER_FILE: usize = 70_000;
pub const DEFAULT_SEED: u64 = 62;

impl harness_runtime::workload::Generator for FractalGenerator {
    fn name(&self) -> &'static str {
        "fractal"
    }

    fn about(&self) -> &'static str {
        "FRACTAL-shaped LiDAR points: train/ val/ test/ parquet with FRACTAL's columns and class mix"
    }

    fn options(&self) -> Vec<harness_runtime::workload::GenOption> {
        use harness_runtime::workload::GenOption;
        vec![
            GenOption {
                name: "train-files",
                help: "Files in train/",
                default: Some(DEFAULT_TRAIN_FILES.to_string()),
            },
            GenOption {
                name: "val-files",
                help: "Files in val/ (default: train-files / 8, FRACTAL's 80/10/10 split)",
                default: None,
            },
            GenOption {
                name: "test-files",
                help: "Files in test/ (default: train-files / 8)",
                default: None,
            },
            GenOption {
                name: "rows-per-file",
                help: "Points per file",
                default: Some(DEFAULT_ROWS_PER_FILE.to_string()),
            },
            GenOption {
                name: "seed",
                help: "Seed; each file depends only on (seed, split, index)",
                default: Some(DEFAULT_SEED.to_string()),
            },
        ]
    }

    fn generate(
        &self,
        out: &Path,
        options: &std::collections::BTreeMap<String, String>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<String, harness_runtime::WorkloadError> {
        use harness_runtime::workload::gen_option;
        let mut opts = GenerateOptions::new(
            out.to_path_buf(),
            gen_option(options, "train-files")?.unwrap_or(DEFAULT_TRAIN_FILES),
            gen_option(options, "rows-per-file")?.unwrap_or(DEFAULT_ROWS_PER_FILE),
            gen_option(options, "seed")?.unwrap_or(DEFAULT_SEED),
        );
        if let Some(v) = gen_option(options, "val-files")? {
            opts.val_files = v;
        }
        if let Some(v) = gen_option(options, "test-files")? {
            opts.test_files = v;
        }
        let s = generate(&opts, &|done, total| progress(done as u64, total as u64))?;
        Ok(format!(
            "wrote {} files, {} points, {:.1} MB into {}",
            s.files,
            s.rows,
            s.bytes as f64 / 1e6,
            out.display()
        ))
    }
}
