//! Preprocessing: household-day rows → model rows (sequence of the previous days, statics,
//! target), split by household, z-scored with training statistics, and written as sharded
//! parquet.
//!
//! For each (household, day), ordered by date within the household: the previous
//! [`STEPS`] days' (temperature °C, peak kWh, energy kWh) — the reference's Spark window
//! `rowsBetween(-5, -1)` — oldest first, **post-padded** with zeros to [`STEPS`] steps, with a
//! 0/1 mask and the true length (0 for a household's first day). Post-padding means the LSTM's
//! output at step `length − 1` has seen exactly the real steps, as PyTorch's packed sequences
//! give. Statics: household size (people), today's temperature (z-scored with the temperature
//! statistics), has_ac (0/1). Target: today's energy kWh, not scaled (RMSE is in kWh).
//!
//! Split: households ordered by a seeded hash of their id; the first ⌈10 %⌉ are test (seed
//! 42), so a household's days are never on both sides. Scaler: mean and sample standard
//! deviation (ddof 1, as Spark's `StandardScaler`) of each sequence feature over the training
//! households' days.
//!
//! Plain Rust over sorted rows rather than a dataframe library: the whole transformation is one
//! sort and one pass, and polars (the first choice) would have added the largest crate tree of
//! the workspace to every cold build for it.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::raw::{civil_from_days, Day};

/// Steps of history per row (the reference's `rowsBetween(-5, -1)`).
pub const STEPS: usize = 5;
/// Sequence features per step, in model order.
pub const SEQ_FEATURES: [&str; 3] = ["temperature", "peak", "energy"];
/// Static inputs, in model order.
pub const STATICS: [&str; 3] = ["size", "temperature_today", "has_ac"];
/// Share of households held out for testing.
pub const TEST_SHARE: f64 = 0.1;
/// Seed of the household split (the reference's `seed=42`).
pub const SPLIT_SEED: u64 = 42;
/// The prepared data's scaler file, beside `train/` and `test/`.
pub const SCALER_FILE: &str = "scaler.json";

/// A preprocessing failure.
#[derive(Debug, Error)]
pub enum PrepareError {
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("{0}")]
    Data(String),
}

/// The fitted z-score scaler of the sequence features ([`SEQ_FEATURES`] order); kept with the
/// prepared data and with every saved model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Feature names, [`SEQ_FEATURES`].
    pub features: Vec<String>,
    /// Means over the training days.
    pub mean: Vec<f64>,
    /// Sample standard deviations (ddof 1) over the training days.
    pub std: Vec<f64>,
    /// Training and test households.
    pub train_households: usize,
    pub test_households: usize,
    /// Seed of the household split.
    pub split_seed: u64,
}

impl Scaler {
    /// `(x − mean) / std` of feature `k`.
    pub fn z(&self, k: usize, x: f64) -> f64 {
        (x - self.mean[k]) / self.std[k]
    }
}

/// Model rows, columnar: `rows()` rows of a `[STEPS, 3]` sequence, a length, 3 statics and a
/// target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Row-major `rows × STEPS × 3`, z-scored, zero after `length`.
    pub seq: Vec<f32>,
    /// Real steps per row, 0..=[`STEPS`].
    pub length: Vec<i64>,
    /// Row-major `rows × 3`, [`STATICS`] order.
    pub statics: Vec<f32>,
    /// Today's energy, kWh.
    pub target: Vec<f32>,
}

impl Table {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.target.len()
    }

    /// Appends `other`'s rows.
    pub fn append(&mut self, other: &Table) {
        self.seq.extend_from_slice(&other.seq);
        self.length.extend_from_slice(&other.length);
        self.statics.extend_from_slice(&other.statics);
        self.target.extend_from_slice(&other.target);
    }

    /// Rows `range` as a new table.
    pub fn slice(&self, r: std::ops::Range<usize>) -> Table {
        let f = SEQ_FEATURES.len();
        Table {
            seq: self.seq[r.start * STEPS * f..r.end * STEPS * f].to_vec(),
            length: self.length[r.clone()].to_vec(),
            statics: self.statics[r.start * STATICS.len()..r.end * STATICS.len()].to_vec(),
            target: self.target[r].to_vec(),
        }
    }
}

/// Model rows with the household and date of each row, ordered by household id then date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub households: Vec<String>,
    /// Days since 1970-01-01.
    pub dates: Vec<i32>,
    pub table: Table,
}

impl Split {
    /// The rows of the first `max(1, floor(n × fraction))` households by id — the rows a file
    /// fraction of the sharded parquet gives, up to file boundaries.
    pub fn household_fraction(&self, fraction: f64) -> Split {
        if fraction >= 1.0 || self.households.is_empty() {
            return self.clone();
        }
        let mut distinct = self.households.clone();
        distinct.dedup();
        let keep = harness_core::shard::fraction_count(distinct.len(), fraction);
        let last = &distinct[keep - 1];
        let end = self.households.partition_point(|h| h <= last);
        Split {
            households: self.households[..end].to_vec(),
            dates: self.dates[..end].to_vec(),
            table: self.table.slice(0..end),
        }
    }
}

/// The prepared data: train and test rows and the scaler.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub train: Split,
    pub test: Split,
    pub scaler: Scaler,
}

/// Column name of step `t`'s feature `f`.
pub fn seq_column(t: usize, f: &str) -> String {
    format!("seq_{t}_{f}")
}

/// Column name of step `t`'s mask.
pub fn mask_column(t: usize) -> String {
    format!("mask_{t}")
}

/// SplitMix64's finaliser (Steele, Lea, Flood 2014): a 64-bit mix used for seeded orders.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a household id.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The test households: the first ⌈share × n⌉ distinct ids ordered by `mix64(seed ^ fnv1a(id))`.
pub fn test_households<'a>(
    ids: impl Iterator<Item = &'a str>,
    seed: u64,
    share: f64,
) -> Vec<&'a str> {
    let mut ids: Vec<&str> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids.sort_by_key(|id| (mix64(seed ^ fnv1a(id)), *id));
    let n = ((ids.len() as f64) * share).ceil() as usize;
    ids.truncate(n.min(ids.len()));
    ids
}

/// Mean and sample standard deviation (ddof 1) of `xs`, by Welford's update.
fn mean_std(xs: impl Iterator<Item = f64>) -> (f64, f64, usize) {
    let (mut n, mut mean, mut m2) = (0usize, 0.0, 0.0);
    for x in xs {
        n += 1;
        let d = x - mean;
        mean += d / n as f64;
        m2 += d * (x - mean);
    }
    let std = if n > 1 {
        (m2 / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    (mean, std, n)
}

fn features(d: &Day) -> [f64; 3] {
    [
        f64::from(d.temperature_c),
        f64::from(d.peak_kwh),
        f64::from(d.energy_kwh),
    ]
}

/// Runs the preprocessing on `days` (any order).
///
/// # Errors
/// A household with two rows for one date, too few households to split, or a constant
/// feature (zero standard deviation) — each named.
pub fn prepare(days: &[Day]) -> Result<Prepared, PrepareError> {
    let test: std::collections::HashSet<&str> = test_households(
        days.iter().map(|d| d.household.as_str()),
        SPLIT_SEED,
        TEST_SHARE,
    )
    .into_iter()
    .collect();
    let mut order: Vec<&Day> = days.iter().collect();
    order.sort_by(|a, b| (&a.household, a.date).cmp(&(&b.household, b.date)));
    if let Some(w) = order
        .windows(2)
        .find(|w| w[0].household == w[1].household && w[0].date == w[1].date)
    {
        return Err(PrepareError::Data(format!(
            "household {} has more than one row for {}",
            w[0].household,
            civil_from_days(w[0].date)
        )));
    }
    let is_test = |d: &Day| test.contains(d.household.as_str());
    let mut mean = Vec::new();
    let mut std = Vec::new();
    for (k, f) in SEQ_FEATURES.iter().enumerate() {
        let (m, s, n) = mean_std(order.iter().filter(|d| !is_test(d)).map(|d| features(d)[k]));
        if n == 0 {
            return Err(PrepareError::Data(
                "no training rows to fit the scaler on".into(),
            ));
        }
        if s.is_nan() || s <= 0.0 {
            return Err(PrepareError::Data(format!(
                "feature {f} is constant over the training days: it cannot be z-scored"
            )));
        }
        mean.push(m);
        std.push(s);
    }
    let households = |t: bool| {
        let mut ids: Vec<&str> = order
            .iter()
            .filter(|d| is_test(d) == t)
            .map(|d| d.household.as_str())
            .collect();
        ids.dedup();
        ids.len()
    };
    let scaler = Scaler {
        features: SEQ_FEATURES.iter().map(|s| s.to_string()).collect(),
        mean,
        std,
        train_households: households(false),
        test_households: households(true),
        split_seed: SPLIT_SEED,
    };
    if scaler.train_households == 0 || scaler.test_households == 0 {
        return Err(PrepareError::Data(format!(
            "{} households cannot be split 90/10 into non-empty train and test sets",
            scaler.train_households + scaler.test_households
        )));
    }
    let mut train = Split::default();
    let mut test_split = Split::default();
    let mut start = 0;
    while start < order.len() {
        let h = &order[start].household;
        let end = start
            + order[start..]
                .iter()
                .take_while(|d| &d.household == h)
                .count();
        let split = if is_test(order[start]) {
            &mut test_split
        } else {
            &mut train
        };
        for j in start..end {
            let len = (j - start).min(STEPS);
            let t = &mut split.table;
            for step in 0..STEPS {
                if step < len {
                    let day = features(order[j - len + step]);
                    t.seq.extend((0..3).map(|k| scaler.z(k, day[k]) as f32));
                } else {
                    t.seq.extend([0f32; 3]);
                }
            }
            let d = order[j];
            t.length.push(len as i64);
            t.statics.extend([
                d.size,
                scaler.z(0, f64::from(d.temperature_c)) as f32,
                if d.has_ac { 1.0 } else { 0.0 },
            ]);
            t.target.push(d.energy_kwh);
            split.households.push(d.household.clone());
            split.dates.push(d.date);
        }
        start = end;
    }
    Ok(Prepared {
        train,
        test: test_split,
        scaler,
    })
}

/// Splits rows ordered by household into at most `files` parts of about equal rows, cutting
/// only between households. Returns row ranges.
pub fn shard_ranges(households: &[String], files: usize) -> Vec<std::ops::Range<usize>> {
    let n = households.len();
    let files = files.clamp(1, n.max(1));
    let mut out = Vec::new();
    let mut start = 0;
    for k in 1..=files {
        let mut end = if k == files { n } else { n * k / files };
        while end > start && end < n && households[end] == households[end - 1] {
            end += 1;
        }
        if end > start {
            out.push(start..end);
            start = end;
        }
    }
    out
}

/// The parquet schema of prepared files: `household` (utf8), `date` (int32, days since
/// 1970-01-01), `seq_<t>_<feature>` (float32, t = 0..4 oldest first), `mask_<t>` (float32 0/1),
/// `length` (int32), the statics and `target_kwh` (float32).
pub fn schema() -> Arc<Schema> {
    let mut fields = vec![
        Field::new("household", DataType::Utf8, false),
        Field::new("date", DataType::Int32, false),
    ];
    for t in 0..STEPS {
        for f in SEQ_FEATURES {
            fields.push(Field::new(seq_column(t, f), DataType::Float32, false));
        }
    }
    for t in 0..STEPS {
        fields.push(Field::new(mask_column(t), DataType::Float32, false));
    }
    fields.push(Field::new("length", DataType::Int32, false));
    for s in STATICS {
        fields.push(Field::new(s, DataType::Float32, false));
    }
    fields.push(Field::new("target_kwh", DataType::Float32, false));
    Arc::new(Schema::new(fields))
}

/// Rows `r` of `split` as one record batch of [`schema`].
pub fn batch(split: &Split, r: std::ops::Range<usize>) -> RecordBatch {
    let t = &split.table;
    let f = SEQ_FEATURES.len();
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            split.households[r.clone()].iter(),
        )),
        Arc::new(Int32Array::from(split.dates[r.clone()].to_vec())),
    ];
    for step in 0..STEPS {
        for k in 0..f {
            cols.push(Arc::new(Float32Array::from_iter_values(
                r.clone().map(|i| t.seq[(i * STEPS + step) * f + k]),
            )));
        }
    }
    for step in 0..STEPS {
        cols.push(Arc::new(Float32Array::from_iter_values(r.clone().map(
            |i| {
                if (step as i64) < t.length[i] {
                    1.0
                } else {
                    0.0
                }
            },
        ))));
    }
    cols.push(Arc::new(Int32Array::from_iter_values(
        r.clone().map(|i| t.length[i] as i32),
    )));
    for k in 0..STATICS.len() {
        cols.push(Arc::new(Float32Array::from_iter_values(
            r.clone().map(|i| t.statics[i * STATICS.len() + k]),
        )));
    }
    cols.push(Arc::new(Float32Array::from(t.target[r].to_vec())));
    RecordBatch::try_new(schema(), cols).expect("columns match the schema")
}

/// Writes `prepared` below `out`: `train/` and `test/` of `files` parquet files each
/// (`part-00000.parquet`, …; households never split across files) and [`SCALER_FILE`].
/// Returns one line saying what was written.
///
/// # Errors
/// [`PrepareError::Write`] naming the file.
pub fn write(prepared: &Prepared, out: &Path, files: usize) -> Result<String, PrepareError> {
    let werr = |path: &Path, e: &dyn std::fmt::Display| PrepareError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut said = Vec::new();
    for (name, split, households) in [
        ("train", &prepared.train, prepared.scaler.train_households),
        ("test", &prepared.test, prepared.scaler.test_households),
    ] {
        let dir = out.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| werr(&dir, &e))?;
        let ranges = shard_ranges(&split.households, files);
        for (i, r) in ranges.iter().enumerate() {
            let path = dir.join(format!("part-{i:05}.parquet"));
            let tmp = path.with_extension("parquet.tmp");
            let file = std::fs::File::create(&tmp).map_err(|e| werr(&tmp, &e))?;
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            let mut w =
                ArrowWriter::try_new(file, schema(), Some(props)).map_err(|e| werr(&tmp, &e))?;
            w.write(&batch(split, r.clone()))
                .map_err(|e| werr(&tmp, &e))?;
            w.close().map_err(|e| werr(&tmp, &e))?;
            std::fs::rename(&tmp, &path).map_err(|e| werr(&path, &e))?;
        }
        said.push(format!(
            "{name}: {} rows of {households} households in {} files",
            split.table.rows(),
            ranges.len()
        ));
    }
    let path = out.join(SCALER_FILE);
    let json = serde_json::to_vec_pretty(&prepared.scaler).expect("scaler serialises");
    std::fs::write(&path, json).map_err(|e| werr(&path, &e))?;
    said.push(SCALER_FILE.into());
    Ok(said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(h: &str, date: i32, e: f32) -> Day {
        Day {
            household: h.into(),
            date,
            energy_kwh: e,
            size: 2.0,
            temperature_c: 15.0 + e,
            has_ac: h.ends_with('1'),
            peak_kwh: e / 2.0,
        }
    }

    #[test]
    fn sequences_are_the_previous_days_oldest_first_post_padded() {
        // 40 households of 8 days, energy = household index + day / 10, given out of order.
        let mut days = Vec::new();
        for h in 0..40 {
            for d in (0..8).rev() {
                days.push(day(
                    &format!("H{h:02}"),
                    100 + d,
                    h as f32 + d as f32 / 10.0,
                ));
            }
        }
        let p = prepare(&days).unwrap();
        assert_eq!(p.scaler.test_households, 4);
        assert_eq!(p.train.table.rows() + p.test.table.rows(), 320);
        let s = &p.scaler;
        let t = &p.train.table;
        // The first training household's rows are days 100..107 in order.
        assert_eq!(p.train.dates[..8], (100..108).collect::<Vec<_>>()[..]);
        let h = p.train.households[0].clone();
        let e0: f64 = h[1..].parse::<f64>().unwrap();
        for (j, want_len) in [0usize, 1, 2, 3, 4, 5, 5, 5].into_iter().enumerate() {
            assert_eq!(t.length[j], want_len as i64, "day {j}");
            for step in 0..STEPS {
                let energy = t.seq[(j * STEPS + step) * 3 + 2];
                if step < want_len {
                    // Step `step` is day j − len + step.
                    let d = (j - want_len + step) as f64;
                    let want = s.z(2, f64::from((e0 + d / 10.0) as f32));
                    assert!(
                        (f64::from(energy) - want).abs() < 1e-5,
                        "day {j} step {step}"
                    );
                } else {
                    assert_eq!(energy, 0.0, "padding after the real steps");
                }
            }
            assert_eq!(t.target[j], (e0 + j as f64 / 10.0) as f32);
        }
        // The scaler is fitted on training days only: its mean energy is theirs.
        let train_mean = p
            .train
            .table
            .target
            .iter()
            .map(|v| f64::from(*v))
            .sum::<f64>()
            / p.train.table.rows() as f64;
        assert!((s.mean[2] - train_mean).abs() < 1e-9);
        // Households are never on both sides, and the fraction keeps whole households.
        for h in &p.test.households {
            assert!(!p.train.households.contains(h));
        }
        let half = p.train.household_fraction(0.5);
        assert_eq!(half.table.rows(), 18 * 8);
        assert!(shard_ranges(&p.train.households, 5)
            .iter()
            .all(|r| r.len() % 8 == 0));
        let dup = [day("H1", 1, 1.0), day("H1", 1, 2.0)];
        assert!(prepare(&dup)
            .unwrap_err()
            .to_string()
            .contains("H1 has more than one row for 1/2/1970"));
    }
}
