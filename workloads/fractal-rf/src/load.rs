//! Reading FRACTAL parquet into a LightGBM feature matrix.
//!
//! Reads only the seven columns the model needs and builds a row-major `rows × 7` `f32` matrix
//! of [`crate::schema::FEATURES`] plus dense labels. `xyz` may be a `FixedSizeList` or `List` of
//! `Float64`/`Float32` (real FRACTAL files and the generator's both work); the spectral columns
//! and `Classification` may be any integer type.

use std::path::Path;

use arrow::array::{Array, AsArray, FixedSizeListArray, ListArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type, UInt8Type};
use harness_runtime::data::{open_columns, DataError};

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
}

fn type_error(path: &Path, column: &str, found: &DataType, expected: &'static str) -> DataError {
    DataError::ColumnType {
        path: path.to_path_buf(),
        column: column.to_string(),
        found: found.to_string(),
        expected,
    }
}

/// z values (the third coordinate) of an `xyz` column.
fn z_values(path: &Path, col: &dyn Array) -> Result<Vec<f32>, DataError> {
    let expected = "FixedSizeList<3 × Float64> or List<Float64>";
    let (values, offsets): (_, Vec<usize>) = match col.data_type() {
        DataType::FixedSizeList(_, 3) => {
            let l: &FixedSizeListArray = col.as_fixed_size_list();
            (l.values().clone(), (0..l.len()).map(|i| i * 3).collect())
        }
        DataType::List(_) => {
            let l: &ListArray = col.as_list::<i32>();
            let offs = l.value_offsets();
            for i in 0..l.len() {
                if offs[i + 1] - offs[i] < 3 {
                    return Err(type_error(path, schema::XYZ, col.data_type(), expected));
                }
            }
            (
                l.values().clone(),
                offs[..l.len()].iter().map(|o| *o as usize).collect(),
            )
        }
        other => return Err(type_error(path, schema::XYZ, other, expected)),
    };
    let values = cast(&values, &DataType::Float32)
        .map_err(|_| type_error(path, schema::XYZ, col.data_type(), expected))?;
    let values = values.as_primitive::<Float32Type>();
    Ok(offsets.iter().map(|o| values.value(o + 2)).collect())
}

fn as_f32(path: &Path, name: &str, col: &dyn Array) -> Result<Vec<f32>, DataError> {
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
    let (reader, _) = open_columns(path, &COLUMNS, 65_536)?;
    for batch in reader {
        let batch = batch.map_err(|e| DataError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .expect("projected column present")
        };
        let z = z_values(path, col(schema::XYZ).as_ref())?;
        let bands: Vec<Vec<f32>> = [
            schema::INTENSITY,
            schema::RED,
            schema::GREEN,
            schema::BLUE,
            schema::INFRARED,
        ]
        .iter()
        .map(|n| as_f32(path, n, col(n).as_ref()))
        .collect::<Result<_, _>>()?;
        let cls = col(schema::CLASSIFICATION);
        if !cls.data_type().is_integer() {
            return Err(type_error(
                path,
                schema::CLASSIFICATION,
                cls.data_type(),
                "UInt8",
            ));
        }
        let cls = cast(cls, &DataType::UInt8)
            .map_err(|_| type_error(path, schema::CLASSIFICATION, cls.data_type(), "UInt8"))?;
        let cls = cls.as_primitive::<UInt8Type>();
        out.features.reserve(batch.num_rows() * 7);
        out.labels.reserve(batch.num_rows());
        for i in 0..batch.num_rows() {
            let (r, nir) = (bands[1][i], bands[4][i]);
            out.features.extend_from_slice(&[
                z[i],
                bands[0][i],
                r,
                bands[2][i],
                bands[3][i],
                nir,
                ndvi(nir, r),
            ]);
            out.labels.push(label_of(cls.value(i)));
        }
    }
    Ok(())
}
