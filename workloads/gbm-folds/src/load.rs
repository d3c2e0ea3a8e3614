//! Reading the folds: `fold=K/train/` (a file fraction of it) and `fold=K/test/` (whole) of a
//! directory or `s3://` prefix, into row-major matrices.

use arrow_array::{Array, Float64Array};
use arrow_cast::cast;
use arrow_schema::DataType;
use harness_core::shard::{select_fraction, FileEntry};
use harness_runtime::data::{list_split, open_columns_at, schema_at, DataError};

use crate::booster::Matrix;
use crate::generate::LABEL;

/// Problems with the fold layout, naming the location and what to do.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("{location} has no fold=0/train/*.parquet: gbm-folds reads fold=K/train/ and fold=K/test/ (K = 0, 1, …) of parquet files with feature_* columns and `label`; make such data with `harness data generate gbm-folds --out DIR` ({source})")]
    NoFolds { location: String, source: DataError },
    #[error(
        "{location}: fold={fold}/train exists but fold={fold}/test has no parquet files ({source})"
    )]
    NoTest {
        location: String,
        fold: usize,
        source: DataError,
    },
    #[error("{path} has no feature_* columns (it has: {available})")]
    NoFeatures { path: String, available: String },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{path}: {message}")]
    Column { path: String, message: String },
}

/// A fold's train and test files, each sorted by name.
pub type FoldFiles = (Vec<FileEntry>, Vec<FileEntry>);

/// The folds found under `location`: `fold=0`, `fold=1`, … while `fold=K/train` lists parquet
/// files; each with its train and test files.
///
/// # Errors
/// No `fold=0/train`, a fold without test files.
pub fn list_folds(location: &str) -> Result<Vec<FoldFiles>, FoldError> {
    let mut folds = Vec::new();
    loop {
        let k = folds.len();
        let train = match list_split(location, &format!("fold={k}/train")) {
            Ok(t) => t,
            Err(source) if k == 0 => {
                return Err(FoldError::NoFolds {
                    location: location.to_string(),
                    source,
                })
            }
            Err(_) => break,
        };
        let test = list_split(location, &format!("fold={k}/test")).map_err(|source| {
            FoldError::NoTest {
                location: location.to_string(),
                fold: k,
                source,
            }
        })?;
        folds.push((train, test));
    }
    Ok(folds)
}

/// The feature columns of the file `rel` below `location` (`feature_*`, in file order), and
/// checks that it has `label`.
///
/// # Errors
/// An unreadable file, no `feature_*` column, no `label`.
pub fn feature_columns(location: &str, rel: &str) -> Result<Vec<String>, FoldError> {
    let (_, path) = open_columns_at(location, rel, &[LABEL], 1)?;
    let schema = schema_at(location, rel)?;
    let features: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| n.starts_with("feature_"))
        .collect();
    if features.is_empty() {
        return Err(FoldError::NoFeatures {
            path: path.display().to_string(),
            available: schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(features)
}

/// Reads `files` below `location` into one matrix of `features` and the 0/1 `label`.
///
/// # Errors
/// A missing column, a non-numeric feature, nulls, a label other than 0 or 1 — naming the file.
pub fn read(location: &str, files: &[FileEntry], features: &[String]) -> Result<Matrix, FoldError> {
    let mut m = Matrix {
        cols: features.len(),
        ..Matrix::default()
    };
    let mut columns: Vec<&str> = features.iter().map(String::as_str).collect();
    columns.push(LABEL);
    for f in files {
        let (reader, path) = open_columns_at(location, &f.path, &columns, 65_536)?;
        let bad = |message: String| FoldError::Column {
            path: path.display().to_string(),
            message,
        };
        for batch in reader {
            let batch = batch.map_err(|e| bad(e.to_string()))?;
            let mut cols = Vec::with_capacity(columns.len());
            for name in &columns {
                let c = batch.column_by_name(name).expect("projected");
                if !c.data_type().is_numeric() {
                    return Err(bad(format!(
                        "column `{name}` has type {}, expected a number",
                        c.data_type()
                    )));
                }
                if c.null_count() > 0 {
                    return Err(bad(format!("column `{name}` has {} nulls", c.null_count())));
                }
                let c = cast(c, &DataType::Float64).map_err(|e| bad(e.to_string()))?;
                cols.push(
                    c.as_any()
                        .downcast_ref::<Float64Array>()
                        .expect("cast to Float64")
                        .clone(),
                );
            }
            let (label, feats) = cols.split_last().expect("label column");
            let n = batch.num_rows();
            m.x.reserve(n * features.len());
            for i in 0..n {
                for c in feats {
                    m.x.push(c.value(i));
                }
                let l = label.value(i);
                if l != 0.0 && l != 1.0 {
                    return Err(bad(format!("`label` must be 0 or 1, found {l} in row {i}")));
                }
                m.y.push(l as f32);
            }
        }
    }
    Ok(m)
}

/// One fold's data as a task sees it.
#[derive(Debug, Clone, Default)]
pub struct Fold {
    pub train: Matrix,
    pub test: Matrix,
    /// Files read (train then test).
    pub files: Vec<FileEntry>,
}

/// Reads every fold: the first `max(1, ⌊n·fraction⌋)` train files by name (the oldest rows)
/// and all test files.
///
/// # Errors
/// As [`list_folds`], [`feature_columns`] and [`read`].
pub fn read_folds(location: &str, fraction: f64) -> Result<(Vec<Fold>, Vec<String>), FoldError> {
    let listed = list_folds(location)?;
    let features = feature_columns(location, &listed[0].0[0].path)?;
    let mut folds = Vec::with_capacity(listed.len());
    for (train, test) in listed {
        let train = select_fraction(train, fraction);
        let fold = Fold {
            train: read(location, &train, &features)?,
            test: read(location, &test, &features)?,
            files: train.into_iter().chain(test).collect(),
        };
        folds.push(fold);
    }
    Ok((folds, features))
}
