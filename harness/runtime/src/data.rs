//! Data access: listing a split's parquet files, choosing a fraction, sharding by bytes, and
//! opening parquet with the columns a workload needs.
//!
//! A data location is a directory holding one sub-directory per split (`train/`, `val/`,
//! `test/`) of `*.parquet` files, or the same layout below an `s3://bucket/prefix` ([`crate::s3`]):
//! listing, fractions and byte-balanced shards then work on the object listing. The pure choices (fraction, shard assignment) live in
//! `harness_core::shard`; this module does the I/O around them.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatchReader;
use arrow_schema::SchemaRef;
use harness_core::shard::{assign_by_bytes, select_fraction, FileEntry};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use thiserror::Error;

use crate::s3::{S3Location, S3};

/// Problems with input data, each naming the file or directory and what to do.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("data directory {0} does not exist: pass --data DIR pointing at a dataset with train/ val/ test/ (e.g. made by `harness data generate fractal --out DIR`)")]
    MissingDir(PathBuf),
    #[error(
        "{dir} holds no *.parquet files for split `{split}`: expected {dir}/{split}/*.parquet"
    )]
    NoParquet { dir: PathBuf, split: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable parquet file: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path} has no column `{column}` (it has: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        path: PathBuf,
        column: String,
        found: String,
        expected: &'static str,
    },
    #[error("{path}: column `{column}` {message}")]
    BadValues {
        path: PathBuf,
        column: String,
        message: String,
    },
    #[error(transparent)]
    S3(#[from] crate::s3::S3Error),
    #[error("{0} is not a valid S3 location: expected s3://bucket/prefix")]
    BadS3Url(String),
    #[error("{loc} holds no *.parquet objects for split `{split}`: expected {loc}/{split}/*.parquet (upload with `harness data upload DIR {loc}`)")]
    NoParquetS3 { loc: String, split: String },
}

/// The S3 location of `data`, if it is an `s3://` URL.
///
/// # Errors
/// [`DataError::BadS3Url`] for `s3://` without a bucket.
pub fn s3_location(data: &str) -> Result<Option<S3Location>, DataError> {
    if !data.starts_with("s3://") {
        return Ok(None);
    }
    S3Location::parse(data)
        .map(Some)
        .ok_or_else(|| DataError::BadS3Url(data.to_string()))
}

/// Lists `<data>/<split>/*.parquet` with their sizes, sorted by name. Paths in the result are
/// relative to `data` (`train/x.parquet`).
///
/// # Errors
/// [`DataError::MissingDir`] when `data` does not exist, [`DataError::NoParquet`] when the split
/// holds no parquet file.
pub fn list_split(data: &str, split: &str) -> Result<Vec<FileEntry>, DataError> {
    if let Some(loc) = s3_location(data)? {
        let files = S3::shared().list(&loc, split, ".parquet")?;
        if files.is_empty() {
            return Err(DataError::NoParquetS3 {
                loc: loc.to_string().trim_end_matches('/').to_string(),
                split: split.to_string(),
            });
        }
        return Ok(files);
    }
    let root = Path::new(data);
    if !root.is_dir() {
        return Err(DataError::MissingDir(root.to_path_buf()));
    }
    let dir = root.join(split);
    let no_parquet = || DataError::NoParquet {
        dir: root.to_path_buf(),
        split: split.to_string(),
    };
    let entries = std::fs::read_dir(&dir).map_err(|_| no_parquet())?;
    let mut files = Vec::new();
    for e in entries {
        let e = e.map_err(|source| DataError::Io {
            path: dir.clone(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".parquet") {
            continue;
        }
        let meta = e.metadata().map_err(|source| DataError::Io {
            path: e.path(),
            source,
        })?;
        if meta.is_file() {
            files.push(FileEntry {
                path: format!("{split}/{name}"),
                bytes: meta.len(),
            });
        }
    }
    if files.is_empty() {
        return Err(no_parquet());
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The files of `split` that executor `rank` of `executors` reads at `fraction`: the split's
/// fraction (first `max(1, floor(n × f))` files by name) assigned to executors by bytes.
///
/// # Errors
/// As [`list_split`].
pub fn shard_for(
    data: &str,
    split: &str,
    fraction: f64,
    rank: u32,
    executors: u32,
) -> Result<Vec<FileEntry>, DataError> {
    let chosen = select_fraction(list_split(data, split)?, fraction);
    let mut shards = assign_by_bytes(&chosen, executors as usize);
    Ok(std::mem::take(&mut shards[rank as usize]))
}

/// Opens `rel` (a path from [`list_split`]) below the data location `data` — a directory or an
/// `s3://` prefix, whose object is read whole into memory — for reading only `columns`.
/// Returns the reader and the file's full name for messages.
///
/// # Errors
/// As [`open_columns`]; for S3 also [`DataError::S3`] naming the object.
pub fn open_columns_at(
    data: &str,
    rel: &str,
    columns: &[&str],
    batch_size: usize,
) -> Result<(ParquetRecordBatchReader, PathBuf), DataError> {
    match s3_location(data)? {
        Some(loc) => {
            let shown = PathBuf::from(loc.url(rel));
            let bytes = S3::shared().get(&loc, rel)?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| {
                DataError::Parquet {
                    path: shown.clone(),
                    message: e.to_string(),
                }
            })?;
            Ok((project(builder, &shown, columns, batch_size)?, shown))
        }
        None => {
            let path = Path::new(data).join(rel);
            let (reader, _) = open_columns(&path, columns, batch_size)?;
            Ok((reader, path))
        }
    }
}

/// The Arrow schema of `rel` (a path from [`list_split`]) below `data`, a directory or an
/// `s3://` prefix (whose object is fetched whole).
///
/// # Errors
/// [`DataError::Io`], [`DataError::Parquet`], or an S3 error naming the object.
pub fn schema_at(data: &str, rel: &str) -> Result<SchemaRef, DataError> {
    let (shown, builder) = match s3_location(data)? {
        Some(loc) => {
            let shown = PathBuf::from(loc.url(rel));
            let bytes = S3::shared().get(&loc, rel)?;
            let b = ParquetRecordBatchReaderBuilder::try_new(bytes).map(|b| b.schema().clone());
            (shown, b)
        }
        None => {
            let path = Path::new(data).join(rel);
            let file = File::open(&path).map_err(|source| DataError::Io {
                path: path.clone(),
                source,
            })?;
            let b = ParquetRecordBatchReaderBuilder::try_new(file).map(|b| b.schema().clone());
            (path, b)
        }
    };
    builder.map_err(|e| DataError::Parquet {
        path: shown,
        message: e.to_string(),
    })
}

/// Opens a parquet file for reading only `columns`, checking that each exists.
///
/// # Errors
/// [`DataError::Io`], [`DataError::Parquet`], or [`DataError::MissingColumn`] naming the column
/// and the file.
pub fn open_columns(
    path: &Path,
    columns: &[&str],
    batch_size: usize,
) -> Result<(ParquetRecordBatchReader, SchemaRef), DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let pq = |e: parquet::errors::ParquetError| DataError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    let reader = project(builder, path, columns, batch_size)?;
    let projected = reader.schema();
    Ok((reader, projected))
}

/// Projects `builder` onto `columns` (each must exist; errors name `path`).
fn project<T: parquet::file::reader::ChunkReader + 'static>(
    builder: ParquetRecordBatchReaderBuilder<T>,
    path: &Path,
    columns: &[&str],
    batch_size: usize,
) -> Result<ParquetRecordBatchReader, DataError> {
    let pq = |e: parquet::errors::ParquetError| DataError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let schema = builder.schema().clone();
    let mut roots = Vec::with_capacity(columns.len());
    for c in columns {
        match schema.index_of(c) {
            Ok(i) => roots.push(i),
            Err(_) => {
                return Err(DataError::MissingColumn {
                    path: path.to_path_buf(),
                    column: (*c).to_string(),
                    available: schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    builder
        .with_projection(mask)
        .with_batch_size(batch_size)
        .build()
        .map_err(pq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_dir_and_empty_split_are_named() {
        let e = list_split("/nonexistent/harness-data", "train").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/harness-data"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("train")).unwrap();
        std::fs::write(dir.path().join("train/readme.txt"), "x").unwrap();
        let e = list_split(dir.path().to_str().unwrap(), "train").unwrap_err();
        assert!(matches!(e, DataError::NoParquet { .. }), "{e}");
        assert!(e.to_string().contains("train/*.parquet"), "{e}");
    }

    #[test]
    fn lists_sorted_with_sizes_and_shards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("train")).unwrap();
        for (name, size) in [("b.parquet", 30), ("a.parquet", 10), ("c.parquet", 20)] {
            std::fs::write(dir.path().join("train").join(name), vec![0u8; size]).unwrap();
        }
        let d = dir.path().to_str().unwrap();
        let files = list_split(d, "train").unwrap();
        let names: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            names,
            ["train/a.parquet", "train/b.parquet", "train/c.parquet"]
        );
        assert_eq!(files[1].bytes, 30);
        // fraction 1.0 over 2 executors: LPT puts b (30) on rank 0, c (20) and a (10) on rank 1.
        let r0 = shard_for(d, "train", 1.0, 0, 2).unwrap();
        let r1 = shard_for(d, "train", 1.0, 1, 2).unwrap();
        assert_eq!(r0.iter().map(|f| f.bytes).sum::<u64>(), 30);
        assert_eq!(r1.iter().map(|f| f.bytes).sum::<u64>(), 30);
    }
}
