//! Batch scoring of parquet files with a saved [`Model`] across executors.
//!
//! `harness predict` starts `mpirun -np E harness predict-exec job.json`; every executor lists
//! the input directory's (or `s3://` prefix's) `*.parquet`, takes its byte-balanced share
//! ([`harness_core::shard::assign_by_bytes`]), scores each file with the model and writes
//! `<output>/<same name>` holding the input columns plus `prediction` (Float64, the model's
//! score, e.g. a positive-class probability). Rank 0 gathers rows and seconds and writes the
//! [`PredictSummary`]. Any workload's model works: the model names its feature columns, or
//! derives its inputs from the batch ([`Model::inputs`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, RecordBatchReader};
use arrow_cast::cast;
use arrow_schema::{DataType, Field, Schema};
use harness_core::shard::{assign_by_bytes, FileEntry};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use serde::{Deserialize, Serialize};

use crate::data::s3_location;
use crate::model::{Model, Scorer};
use crate::s3::S3;
use crate::world::World;

/// Name of the output column.
pub const PREDICTION: &str = "prediction";
/// Name of the optional label column (boolean) that, when present, lets `harness predict`
/// report the ROC AUC of the predictions.
pub const LABEL: &str = "label";

/// What `harness predict` hands to every executor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictJob {
    pub model_dir: String,
    pub input_dir: String,
    pub output_dir: String,
    /// Where rank 0 writes the [`PredictSummary`].
    pub summary_path: String,
}

/// One executor's share of a batch scoring job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RankScoring {
    pub rank: u32,
    pub files: Vec<String>,
    pub bytes: u64,
    pub rows: u64,
    /// Seconds reading, scoring and writing its files.
    pub seconds: f64,
}

/// The result of a batch scoring job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictSummary {
    pub executors: u32,
    pub rows: u64,
    /// Barrier-aligned wall-clock seconds of the scoring (all executors).
    pub seconds: f64,
    /// `rows / seconds`.
    pub rows_per_sec: f64,
    pub per_rank: Vec<RankScoring>,
    /// Error text if an executor failed.
    pub error: Option<String>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

/// Lists `dir/*.parquet` — or every `*.parquet` object below an `s3://` prefix — sorted by
/// name, with sizes (paths relative to `dir`).
///
/// # Errors
/// An unreadable directory or S3 prefix, or one without parquet files.
pub fn list_parquet(dir: &str) -> Result<Vec<FileEntry>, String> {
    if let Some(loc) = s3_location(dir).map_err(|e| e.to_string())? {
        let files = S3::shared()
            .list(&loc, "", ".parquet")
            .map_err(|e| e.to_string())?;
        if files.is_empty() {
            return Err(format!("{dir} holds no *.parquet objects"));
        }
        return Ok(files);
    }
    let rd =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read input directory {dir}: {e}"))?;
    let mut files = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".parquet") {
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
            files.push(FileEntry { path: name, bytes });
        }
    }
    if files.is_empty() {
        return Err(format!("input directory {dir} holds no *.parquet files"));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The `features` columns of `batch` as row-major f64 (any numeric type is cast): the default
/// [`Model::inputs`].
///
/// # Errors
/// A missing, non-numeric or null column, named.
pub fn columns_as_rows(batch: &RecordBatch, features: &[String]) -> Result<Vec<f64>, String> {
    let mut columns = Vec::with_capacity(features.len());
    for name in features {
        let col = batch.column_by_name(name).ok_or_else(|| {
            let have: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            format!("no column `{name}` (it has: {})", have.join(", "))
        })?;
        if !col.data_type().is_numeric() {
            return Err(format!(
                "column `{name}` has type {}, expected a number",
                col.data_type()
            ));
        }
        let c = cast(col, &DataType::Float64).map_err(|e| e.to_string())?;
        let c = c
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("cast to Float64")
            .clone();
        if c.null_count() > 0 {
            return Err(format!(
                "column `{name}` has {} null values",
                c.null_count()
            ));
        }
        columns.push(c);
    }
    let n = batch.num_rows();
    let mut out = Vec::with_capacity(n * features.len());
    for i in 0..n {
        for c in &columns {
            out.push(c.value(i));
        }
    }
    Ok(out)
}

/// Scores `input` into `output` (input columns + [`PREDICTION`]); returns rows scored.
///
/// # Errors
/// Unreadable parquet, missing or non-numeric feature columns, write failures — each naming
/// the file.
pub fn score_file(
    model: &dyn Model,
    scorer: &dyn Scorer,
    input: &Path,
    output: &Path,
) -> Result<u64, String> {
    let file = File::open(input).map_err(|e| err(input, e))?;
    score_source(model, scorer, file, input, output)
}

/// Scores `rel` below `input_dir` (a directory or an `s3://` prefix) into `output`.
///
/// # Errors
/// As [`score_file`]; S3 errors name the object.
pub fn score_at(
    model: &dyn Model,
    scorer: &dyn Scorer,
    input_dir: &str,
    rel: &str,
    output: &Path,
) -> Result<u64, String> {
    match s3_location(input_dir).map_err(|e| e.to_string())? {
        Some(loc) => {
            let bytes = S3::shared().get(&loc, rel).map_err(|e| e.to_string())?;
            score_source(model, scorer, bytes, Path::new(&loc.url(rel)), output)
        }
        None => score_file(model, scorer, &Path::new(input_dir).join(rel), output),
    }
}

fn score_source<T: parquet::file::reader::ChunkReader + 'static>(
    model: &dyn Model,
    scorer: &dyn Scorer,
    source: T,
    input: &Path,
    output: &Path,
) -> Result<u64, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(source)
        .map_err(|e| err(input, format!("not a readable parquet file: {e}")))?
        .with_batch_size(65_536)
        .build()
        .map_err(|e| err(input, e))?;
    let mut fields: Vec<Arc<Field>> = reader.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(PREDICTION, DataType::Float64, false)));
    let schema = Arc::new(Schema::new(fields));
    let out = File::create(output).map_err(|e| err(output, e))?;
    let mut writer = ArrowWriter::try_new(out, schema.clone(), None).map_err(|e| err(output, e))?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| err(input, e))?;
        let x = model.inputs(&batch).map_err(|e| err(input, e))?;
        let p = scorer.score(&x).map_err(|e| err(input, e))?;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.push(Arc::new(Float64Array::from(p)));
        let scored = RecordBatch::try_new(schema.clone(), columns).map_err(|e| err(output, e))?;
        writer.write(&scored).map_err(|e| err(output, e))?;
        rows += batch.num_rows() as u64;
    }
    writer.close().map_err(|e| err(output, e))?;
    Ok(rows)
}

/// One executor's part of `job`: its byte-balanced share of the input files.
///
/// # Errors
/// Any [`score_file`] error, a bad input directory.
pub fn score_share(
    job: &PredictJob,
    model: &dyn Model,
    rank: u32,
    size: u32,
) -> Result<RankScoring, String> {
    let t = Instant::now();
    let scorer = model.scorer().map_err(|e| e.to_string())?;
    let files = list_parquet(&job.input_dir)?;
    let mine = assign_by_bytes(&files, size as usize)
        .into_iter()
        .nth(rank as usize)
        .unwrap_or_default();
    std::fs::create_dir_all(&job.output_dir)
        .map_err(|e| format!("cannot create {}: {e}", job.output_dir))?;
    let mut share = RankScoring {
        rank,
        ..Default::default()
    };
    for f in &mine {
        // Objects below the prefix may sit in sub-folders: flatten their names.
        let output = PathBuf::from(&job.output_dir).join(f.path.replace('/', "__"));
        share.rows += score_at(model, scorer.as_ref(), &job.input_dir, &f.path, &output)?;
        share.bytes += f.bytes;
        share.files.push(f.path.clone());
    }
    share.seconds = t.elapsed().as_secs_f64();
    Ok(share)
}

/// Runs `job` on every executor of `world` with the model `load` returns for its directory;
/// rank 0 writes the summary. A failing executor's error (a model that does not load included)
/// is carried to rank 0 and into the summary instead of aborting the others.
///
/// # Errors
/// Rank 0: the summary cannot be written.
pub fn run(
    world: &World,
    job: &PredictJob,
    load: impl Fn(&Path) -> Result<Arc<dyn Model>, String>,
) -> Result<(), String> {
    let model = load(Path::new(&job.model_dir));
    world.barrier();
    let t = Instant::now();
    let share = model.and_then(|m| score_share(job, m.as_ref(), world.rank(), world.size()));
    world.barrier();
    let seconds = t.elapsed().as_secs_f64();
    let mine: Result<RankScoring, String> =
        share.map_err(|e| format!("rank {}: {e}", world.rank()));
    if let Some(all) = world.gather_json(&mine) {
        let mut summary = PredictSummary {
            executors: world.size(),
            seconds,
            ..Default::default()
        };
        let mut errors = Vec::new();
        for r in all {
            match r {
                Ok(s) => {
                    summary.rows += s.rows;
                    summary.per_rank.push(s);
                }
                Err(e) => errors.push(e),
            }
        }
        summary.rows_per_sec = summary.rows as f64 / seconds.max(f64::MIN_POSITIVE);
        summary.error = (!errors.is_empty()).then(|| errors.join("; "));
        std::fs::write(
            &job.summary_path,
            serde_json::to_vec_pretty(&summary).expect("summary serialises"),
        )
        .map_err(|e| format!("cannot write {}: {e}", job.summary_path))?;
    }
    Ok(())
}

/// Predictions and labels of scored files, row-aligned.
pub type ScoredLabels = (Vec<f64>, Vec<bool>);

/// Reads (`prediction`, `label`) from every scored file in `dir`, if the files carry a label.
///
/// # Errors
/// Unreadable files or a `prediction` column missing.
pub fn scored_with_labels(dir: &Path) -> Result<Option<ScoredLabels>, String> {
    let files = list_parquet(&dir.display().to_string())?;
    let (mut p, mut l) = (Vec::new(), Vec::new());
    for f in files {
        let path = dir.join(&f.path);
        let file = File::open(&path).map_err(|e| err(&path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| err(&path, e))?
            .build()
            .map_err(|e| err(&path, e))?;
        for batch in reader {
            let batch = batch.map_err(|e| err(&path, e))?;
            let Some(label) = batch.column_by_name(LABEL) else {
                return Ok(None);
            };
            let label = cast(label, &DataType::Boolean).map_err(|e| err(&path, e))?;
            let label = label.as_any().downcast_ref::<BooleanArray>().expect("bool");
            let pred = batch
                .column_by_name(PREDICTION)
                .ok_or_else(|| err(&path, "no `prediction` column"))?;
            let pred = pred
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| err(&path, "`prediction` is not Float64"))?;
            p.extend(pred.values().iter().copied());
            l.extend((0..label.len()).map(|i| label.value(i)));
        }
    }
    Ok(Some((p, l)))
}
