//! Reading FRACTAL parquet into feature rows.
//!
//! Reads only the seven columns the model needs and builds row-major `rows × 7` `f32` rows of
//! [`crate::schema::FEATURES`] plus dense labels, either a whole file at once ([`read_at`],
//! for LightGBM's matrix) or streamed batch by batch ([`for_each_batch_at`], for binning and
//! scoring without holding the floats). `xyz` may be a `FixedSizeList` or `List` of
//! `Float64`/`Float32` (real FRACTAL files and the generator's both work); the spectral columns
//! and `Classification` may be any integer type.

use std::path::Path;

use arrow_array::{Array, ArrayRef, FixedSizeListArray, ListArray, RecordBatch};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, UInt8Type};
use arrow_cast::cast;
use arrow_schema::DataType;
use harness_runtime::data::{open_columns, open_columns_at, DataError};

use crate::schema::{self, label_of, ndvi, COLUMNS};

/// Features and labels of some points.
#[derive(Debug, Default, Clone)]
pub struct Points {
    /// Row-major `rows × 7` feature matrix.
    pub features: Vec<f32>,
    /// Dense label (index into `schema::CLASSES`) per row.
    pub labels: Vec<usize>,
}

impl Points {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Appends the points of `other`.
    pub fn append(&mut self, other: &Points) {
        self.features.extend_from_slice(&other.features);
        self.labels.extend_from_slice(&other.labels);
    }
}

/// Points decoded per batch when streaming a file (65 536 × 7 `f32` ≈ 1.8 MB of features).
pub const BATCH_ROWS: usize = 65_536;

fn type_error(path: &Path, column: &str, found: &DataType, expected: &'static str) -> DataError {
    DataError::ColumnType {
        path: path.to_path_buf(),
        column: column.to_string(),
        found: found.to_string(),
        expected,
    }
}

fn bad_values(path: &Path, column: &str, message: String) -> DataError {
    DataError::BadValues {
        path: path.to_path_buf(),
        column: column.to_string(),
        message,
    }
}

/// Rejects a column with nulls, naming the file, the column and the first null row: a point
/// without one of its features cannot be classified, and skipping it silently would change
/// the data set under the study.
fn no_nulls(path: &Path, name: &str, col: &dyn Array, first_row: usize) -> Result<(), DataError> {
    if col.null_count() == 0 {
        return Ok(());
    }
    let first = (0..col.len()).find(|i| col.is_null(*i)).unwrap_or(0);
    Err(bad_values(
        path,
        name,
        format!(
            "has {} null values (first at row {}): every point needs all of its features; \
             drop or fill those rows",
            col.null_count(),
            first_row + first
        ),
    ))
}

/// z values (the third coordinate) of an `xyz` column whose batch starts at `first_row`.
fn z_values(path: &Path, col: &dyn Array, first_row: usize) -> Result<Vec<f32>, DataError> {
    let expected = "FixedSizeList<3 × Float64> or List<Float64>";
    no_nulls(path, schema::XYZ, col, first_row)?;
    let (values, offsets): (_, Vec<usize>) = match col.data_type() {
        DataType::FixedSizeList(_, 3) => {
            let l: &FixedSizeListArray = col.as_fixed_size_list();
            (l.values().clone(), (0..l.len()).map(|i| i * 3).collect())
        }
        DataType::FixedSizeList(_, n) => {
            return Err(bad_values(
                path,
                schema::XYZ,
                format!("holds {n} values per point; expected 3 (x, y, z)"),
            ))
        }
        DataType::List(_) => {
            let l: &ListArray = col.as_list::<i32>();
            let offs = l.value_offsets();
            for i in 0..l.len() {
                let n = offs[i + 1] - offs[i];
                if n != 3 {
                    return Err(bad_values(
                        path,
                        schema::XYZ,
                        format!(
                            "holds {n} values at row {}; expected 3 (x, y, z)",
                            first_row + i
                        ),
                    ));
                }
            }
            (
                l.values().clone(),
                offs[..l.len()].iter().map(|o| *o as usize).collect(),
            )
        }
        other => return Err(type_error(path, schema::XYZ, other, expected)),
    };
    no_nulls(path, schema::XYZ, values.as_ref(), first_row)?;
    let values = cast(&values, &DataType::Float32)
        .map_err(|_| type_error(path, schema::XYZ, col.data_type(), expected))?;
    let values = values.as_primitive::<Float32Type>();
    Ok(offsets.iter().map(|o| values.value(o + 2)).collect())
}

fn as_f32(
    path: &Path,
    name: &str,
    col: &dyn Array,
    first_row: usize,
) -> Result<Vec<f32>, DataError> {
    no_nulls(path, name, col, first_row)?;
    if !col.data_type().is_integer() && !col.data_type().is_floating() {
        return Err(type_error(
            path,
            name,
            col.data_type(),
            "an integer type (UInt16)",
        ));
    }
    let c = cast(col, &DataType::Float32)
        .map_err(|_| type_error(path, name, col.data_type(), "an integer type (UInt16)"))?;
    Ok(c.as_primitive::<Float32Type>().values().to_vec())
}

/// Reads one FRACTAL parquet file and appends its points to `out`.
///
/// # Errors
/// [`DataError`] naming the file and, for a missing or mistyped column, the column.
pub fn read_file(path: &Path, out: &mut Points) -> Result<(), DataError> {
    let (reader, _) = open_columns(path, &COLUMNS, BATCH_ROWS)?;
    decode(path, reader, &mut |batch, _| {
        out.append(batch);
        Ok::<(), DataError>(())
    })
}

/// Reads `rel` below the data location `data` (a directory or an `s3://` prefix) and appends
/// its points to `out`.
///
/// # Errors
/// As [`read_file`]; S3 errors name the object.
pub fn read_at(data: &str, rel: &str, out: &mut Points) -> Result<(), DataError> {
    for_each_batch_at(data, rel, |batch, _| {
        out.append(batch);
        Ok::<(), DataError>(())
    })
    .map(|_| ())
}

/// Streams `rel` below the data location `data` in batches of at most [`BATCH_ROWS`] points
/// (parquet is decoded one batch at a time, so memory holds one batch, not the file):
/// `f(batch, first_row)` receives each batch and the position of its first point in the file.
/// Returns the number of points in the file.
///
/// # Errors
/// [`DataError`] as [`read_file`] (converted into `E`), or the first error of `f`, which stops
/// the stream.
pub fn for_each_batch_at<E: From<DataError>>(
    data: &str,
    rel: &str,
    mut f: impl FnMut(&Points, u64) -> Result<(), E>,
) -> Result<u64, E> {
    let (reader, shown) = open_columns_at(data, rel, &COLUMNS, BATCH_ROWS)?;
    let mut rows = 0;
    decode(&shown, reader, &mut |batch, first| {
        rows += batch.rows() as u64;
        f(batch, first)
    })?;
    Ok(rows)
}

/// `batch`'s column `name`, or [`DataError::MissingColumn`] naming the columns it has.
fn column<'a>(path: &Path, batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, DataError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| DataError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            available: batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Appends the seven [`crate::schema::FEATURES`] of every point of `batch` to `out`
/// (row-major): z from `xyz`, the four bands and Intensity as numbers, NDVI from Infrared and
/// Red. `batch` holds at least the six feature columns (others are ignored); its first point is
/// row `first_row` of the file `path` (for messages).
///
/// # Errors
/// A missing, mistyped or null column, naming the file, the column and the row.
pub fn batch_features(
    path: &Path,
    batch: &RecordBatch,
    first_row: usize,
    out: &mut Vec<f32>,
) -> Result<(), DataError> {
    let z = z_values(path, column(path, batch, schema::XYZ)?.as_ref(), first_row)?;
    let bands: Vec<Vec<f32>> = [
        schema::INTENSITY,
        schema::RED,
        schema::GREEN,
        schema::BLUE,
        schema::INFRARED,
    ]
    .iter()
    .map(|n| as_f32(path, n, column(path, batch, n)?.as_ref(), first_row))
    .collect::<Result<_, _>>()?;
    out.reserve(batch.num_rows() * 7);
    for i in 0..batch.num_rows() {
        let (r, nir) = (bands[1][i], bands[4][i]);
        out.extend_from_slice(&[
            z[i],
            bands[0][i],
            r,
            bands[2][i],
            bands[3][i],
            nir,
            ndvi(nir, r),
        ]);
    }
    Ok(())
}

/// Decodes every batch of `reader` into points and hands each to `f` with its first row.
fn decode<E: From<DataError>>(
    path: &Path,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    f: &mut dyn FnMut(&Points, u64) -> Result<(), E>,
) -> Result<(), E> {
    let mut first_row = 0usize;
    let mut out = Points::default();
    for batch in reader {
        out.features.clear();
        out.labels.clear();
        let batch = batch.map_err(|e| DataError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        batch_features(path, &batch, first_row, &mut out.features)?;
        let cls = column(path, &batch, schema::CLASSIFICATION)?;
        no_nulls(path, schema::CLASSIFICATION, cls.as_ref(), first_row)?;
        if !cls.data_type().is_integer() {
            return Err(type_error(path, schema::CLASSIFICATION, cls.data_type(), "UInt8").into());
        }
        let cls = cast(cls, &DataType::UInt8)
            .map_err(|_| type_error(path, schema::CLASSIFICATION, cls.data_type(), "UInt8"))?;
        let cls = cls.as_primitive::<UInt8Type>();
        out.labels
            .extend((0..batch.num_rows()).map(|i| label_of(cls.value(i))));
        f(&out, first_row as u64)?;
        first_row += batch.num_rows();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::RecordBatch;
    use arrow_array::{ArrayRef, Float64Array, Int32Array, ListArray, UInt16Array, UInt8Array};
    use arrow_buffer::OffsetBuffer;
    use arrow_schema::{Field, Schema};

    use super::*;

    /// Writes a file in another layout real FRACTAL exports use: `xyz` as a variable `List`
    /// of `Float64`, `Intensity` as `Int32`.
    fn write_list_layout(path: &Path) {
        write_tile(path, [3, 3], UInt16Array::from(vec![100, 300]));
    }

    /// Two points with `xyz` lists of the given lengths and the given `Red` column.
    fn write_tile(path: &Path, xyz_lengths: [usize; 2], red: UInt16Array) {
        let item = Arc::new(Field::new("item", DataType::Float64, true));
        let values: Vec<f64> = [1.0, 2.0, 103.5, 4.0, 5.0, 99.0]
            .into_iter()
            .cycle()
            .take(xyz_lengths.iter().sum())
            .collect();
        let xyz = ListArray::new(
            item.clone(),
            OffsetBuffer::from_lengths(xyz_lengths),
            Arc::new(Float64Array::from(values)),
            None,
        );
        let u16s = |v: [u16; 2]| -> ArrayRef { Arc::new(UInt16Array::from(v.to_vec())) };
        let schema = Arc::new(Schema::new(vec![
            Field::new("xyz", DataType::List(item), true),
            Field::new("Intensity", DataType::Int32, true),
            Field::new("Red", DataType::UInt16, true),
            Field::new("Green", DataType::UInt16, true),
            Field::new("Blue", DataType::UInt16, true),
            Field::new("Infrared", DataType::UInt16, true),
            Field::new("Classification", DataType::UInt8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(xyz),
                Arc::new(Int32Array::from(vec![500, 900])),
                Arc::new(red),
                u16s([200, 300]),
                u16s([50, 300]),
                u16s([300, 0]),
                Arc::new(UInt8Array::from(vec![5u8, 4])),
            ],
        )
        .unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(path).unwrap(),
            schema,
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn reads_list_layout_and_builds_features() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tile.parquet");
        write_list_layout(&path);
        let mut p = Points::default();
        read_file(&path, &mut p).unwrap();
        assert_eq!(p.rows(), 2);
        // z, Intensity, R, G, B, NIR, NDVI = (300 − 100) / (300 + 100) = 0.5
        assert_eq!(
            &p.features[..7],
            &[103.5, 500.0, 100.0, 200.0, 50.0, 300.0, 0.5]
        );
        // second point: NIR + R = 300 ≠ 0, NDVI = (0 − 300) / 300 = −1
        assert_eq!(p.features[13], -1.0);
        assert_eq!(p.labels, vec![2, 2], "codes 5 and 4 are both vegetation");
    }

    #[test]
    fn wrong_xyz_length_and_nulls_are_named_with_file_column_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.parquet");
        write_tile(&path, [3, 2], UInt16Array::from(vec![100, 300]));
        let e = read_file(&path, &mut Points::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("short.parquet") && e.contains("`xyz` holds 2 values at row 1; expected 3"),
            "{e}"
        );
        let path = dir.path().join("nulls.parquet");
        write_tile(&path, [3, 3], UInt16Array::from(vec![None, Some(300)]));
        let e = read_file(&path, &mut Points::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nulls.parquet") && e.contains("`Red` has 1 null values (first at row 0)"),
            "{e}"
        );
    }

    #[test]
    fn wrong_xyz_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.parquet");
        let schema = Arc::new(Schema::new(
            crate::schema::COLUMNS
                .iter()
                .map(|c| Field::new(*c, DataType::UInt16, false))
                .collect::<Vec<_>>(),
        ));
        let cols: Vec<ArrayRef> = (0..7)
            .map(|_| Arc::new(UInt16Array::from(vec![1u16])) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            schema,
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = read_file(&path, &mut Points::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.parquet") && e.contains("xyz") && e.contains("FixedSizeList"),
            "{e}"
        );
    }
}
