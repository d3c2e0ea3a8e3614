//! The parquet export of the wine split (`harness data export wine`): the 12 features and a
//! boolean `label` (`quality >= 7`), the input `harness predict` scores and checks the AUC of.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use harness_runtime::scoring::LABEL;
use parquet::arrow::ArrowWriter;

use crate::data::{WineData, FEATURES};

fn err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

/// Writes `data` as `files` parquet files `part-00000.parquet`… in `dir`: the 12 features
/// (Float64) and [`LABEL`] (Boolean). Rows are split into contiguous, near-equal parts.
///
/// # Errors
/// File creation or write failures.
pub fn export(data: &WineData, dir: &Path, files: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let mut fields: Vec<Field> = FEATURES
        .iter()
        .map(|f| Field::new(*f, DataType::Float64, false))
        .collect();
    fields.push(Field::new(LABEL, DataType::Boolean, false));
    let schema = Arc::new(Schema::new(fields));
    let n = data.rows();
    let files = files.clamp(1, n.max(1));
    for k in 0..files {
        let (lo, hi) = (k * n / files, (k + 1) * n / files);
        let mut columns: Vec<ArrayRef> = (0..FEATURES.len())
            .map(|j| {
                Arc::new(Float64Array::from_iter_values(
                    (lo..hi).map(|i| data.row(i)[j]),
                )) as ArrayRef
            })
            .collect();
        columns.push(Arc::new(BooleanArray::from(data.labels[lo..hi].to_vec())));
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| err(dir, e))?;
        let path = dir.join(format!("part-{k:05}.parquet"));
        let file = File::create(&path).map_err(|e| err(&path, e))?;
        let mut w = ArrowWriter::try_new(file, schema.clone(), None).map_err(|e| err(&path, e))?;
        w.write(&batch).map_err(|e| err(&path, e))?;
        w.close().map_err(|e| err(&path, e))?;
    }
    Ok(())
}
