//! Where a run's model rows come from: the embedded CSV or a CSV file/directory (preprocessed in
//! memory on every executor — the same deterministic result everywhere), or a prepared
//! directory (`train/`, `test/` parquet + `scaler.json`, as `harness data prepare energy`
//! writes it; local or `s3://`), read with Arrow.
//!
//! The fraction scales the training households: the first `max(1, floor(n × f))` training
//! files of a prepared directory, or the first share of training households by id when
//! preprocessing in memory. The test split is always whole.

use arrow_array::Array;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type};
use harness_core::shard::select_fraction;
use harness_core::shard::FileEntry;
use harness_runtime::data::{self, DataError};

use crate::prepare::{self, Scaler, Table, SCALER_FILE, SEQ_FEATURES, STATICS, STEPS};
use crate::raw;

/// A data location as the workload reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Raw CSV (the embedded copy, a file, or a directory of `*.csv`), preprocessed in memory.
    Csv(String),
    /// A prepared directory or `s3://` prefix.
    Prepared(String),
}

impl Source {
    /// Classifies `location`: [`raw::EMBEDDED`], a `.csv` file, or a directory without a
    /// `train/` split are CSV; anything else (and every `s3://` prefix) is prepared.
    pub fn of(location: &str) -> Source {
        if location == raw::EMBEDDED || location.ends_with(".csv") {
            return Source::Csv(location.into());
        }
        if !location.starts_with("s3://") && !std::path::Path::new(location).join("train").is_dir()
        {
            return Source::Csv(location.into());
        }
        Source::Prepared(location.into())
    }
}

/// The rows one run trains and tests on.
#[derive(Debug, Clone)]
pub struct RunData {
    pub train: Table,
    pub test: Table,
    pub scaler: Scaler,
    /// Files read (prepared sources only).
    pub files: Vec<FileEntry>,
}

/// Loads `location` at `fraction`.
///
/// # Errors
/// A CSV problem (file, line, column), a missing split or column, a failed preprocessing.
pub fn load(location: &str, fraction: f64) -> Result<RunData, String> {
    match Source::of(location) {
        Source::Csv(input) => {
            let days = raw::load(&input).map_err(|e| e.to_string())?;
            let p = prepare::prepare(&days).map_err(|e| e.to_string())?;
            Ok(RunData {
                train: p.train.household_fraction(fraction).table,
                test: p.test.table,
                scaler: p.scaler,
                files: Vec::new(),
            })
        }
        Source::Prepared(dir) => {
            let train_files = select_fraction(
                data::list_split(&dir, "train").map_err(|e| e.to_string())?,
                fraction,
            );
            let test_files = data::list_split(&dir, "test").map_err(|e| e.to_string())?;
            let train = read_tables(&dir, &train_files)?;
            let test = read_tables(&dir, &test_files)?;
            let scaler = read_scaler(&dir)?;
            let mut files = train_files;
            files.extend(test_files);
            Ok(RunData {
                train,
                test,
                scaler,
                files,
            })
        }
    }
}

/// Reads `scaler.json` of a prepared location.
///
/// # Errors
/// A missing or malformed file, naming it.
pub fn read_scaler(dir: &str) -> Result<Scaler, String> {
    let (bytes, shown) = match data::s3_location(dir).map_err(|e| e.to_string())? {
        Some(loc) => (
            harness_runtime::s3::S3::shared()
                .get(&loc, SCALER_FILE)
                .map_err(|e| e.to_string())?
                .to_vec(),
            loc.url(SCALER_FILE),
        ),
        None => {
            let p = std::path::Path::new(dir).join(SCALER_FILE);
            (
                std::fs::read(&p).map_err(|e| {
                    format!(
                        "cannot read {}: {e} (prepare the data with `harness data prepare energy`)",
                        p.display()
                    )
                })?,
                p.display().to_string(),
            )
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| format!("{shown} is not a scaler: {e}"))
}

/// Model rows of prepared parquet files, concatenated in the given order.
///
/// # Errors
/// A missing column or unreadable file, naming it.
pub fn read_tables(dir: &str, files: &[FileEntry]) -> Result<Table, String> {
    let mut cols: Vec<String> = Vec::new();
    for t in 0..STEPS {
        cols.extend(SEQ_FEATURES.iter().map(|f| prepare::seq_column(t, f)));
    }
    cols.push("length".into());
    cols.extend(STATICS.iter().map(|s| s.to_string()));
    cols.push("target_kwh".into());
    let names: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut out = Table::default();
    for f in files {
        let (reader, shown) = data::open_columns_at(dir, &f.path, &names, 65_536)
            .map_err(|e: DataError| e.to_string())?;
        for batch in reader {
            let batch = batch.map_err(|e| format!("{}: {e}", shown.display()))?;
            let rows = batch.num_rows();
            let col = |name: &str| -> Result<Vec<f32>, String> {
                let a = batch
                    .column_by_name(name)
                    .ok_or_else(|| format!("{}: no column {name}", shown.display()))?;
                let a = a.as_primitive_opt::<Float32Type>().ok_or_else(|| {
                    format!(
                        "{}: column {name} is {} (expected float32)",
                        shown.display(),
                        a.data_type()
                    )
                })?;
                Ok(a.values().to_vec())
            };
            let mut t = Table {
                seq: vec![0f32; rows * STEPS * 3],
                length: Vec::with_capacity(rows),
                statics: vec![0f32; rows * 3],
                target: col("target_kwh")?,
            };
            for step in 0..STEPS {
                for (k, feat) in SEQ_FEATURES.iter().enumerate() {
                    for (i, v) in col(&prepare::seq_column(step, feat))?
                        .into_iter()
                        .enumerate()
                    {
                        t.seq[(i * STEPS + step) * 3 + k] = v;
                    }
                }
            }
            for (k, s) in STATICS.iter().enumerate() {
                for (i, v) in col(s)?.into_iter().enumerate() {
                    t.statics[i * 3 + k] = v;
                }
            }
            let len = batch
                .column_by_name("length")
                .and_then(|a| a.as_primitive_opt::<Int32Type>())
                .ok_or_else(|| format!("{}: column length is not int32", shown.display()))?;
            if len.null_count() > 0 {
                return Err(format!("{}: column length has nulls", shown.display()));
            }
            t.length = len.values().iter().map(|v| i64::from(*v)).collect();
            out.append(&t);
        }
    }
    Ok(out)
}
