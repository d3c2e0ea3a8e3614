//! Loading and validating the UCI wine-quality CSVs, and the seeded 75/25 split.
//!
//! Both published layouts are accepted: the UCI archive's (semicolon-separated, quoted header)
//! and the comma-separated copy in `../shared/data/wine`. The delimiter is taken from the header
//! line. Red then white are concatenated, `is_red` (1/0) is appended as the 12th feature and the
//! label is `quality >= 7` (Cortez et al., 2009; the MLflow wine-quality tutorial's pipeline).

use std::io::Read;
use std::path::Path;

use rand08::seq::SliceRandom;
use rand08::SeedableRng;
use thiserror::Error;

/// Feature columns in model order: the 11 physico-chemical columns with `_` for spaces, then
/// `is_red`.
pub const FEATURES: [&str; 12] = [
    "fixed_acidity",
    "volatile_acidity",
    "citric_acid",
    "residual_sugar",
    "chlorides",
    "free_sulfur_dioxide",
    "total_sulfur_dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
    "is_red",
];

/// The label's source column; the label is `quality >= QUALITY_THRESHOLD`.
pub const LABEL_COLUMN: &str = "quality";
/// Wines of at least this quality are the positive class.
pub const QUALITY_THRESHOLD: f64 = 7.0;
/// File names of the two parts, red first.
pub const FILES: [&str; 2] = ["winequality-red.csv", "winequality-white.csv"];
/// Share of rows held out for testing (scikit-learn's `train_test_split` default).
pub const TEST_SHARE: f64 = 0.25;
/// Seed of the split (the reference notebook's `random_state=123`).
pub const SPLIT_SEED: u64 = 123;

const EMBEDDED_RED: &[u8] = include_bytes!("../data/winequality-red.csv.gz");
const EMBEDDED_WHITE: &[u8] = include_bytes!("../data/winequality-white.csv.gz");

/// A problem with the wine data, naming the file and, where it applies, line and column.
#[derive(Debug, Error)]
pub enum WineDataError {
    #[error("cannot read {file}: {message} (expected {red} and {white} in the --data directory)", red = FILES[0], white = FILES[1])]
    Read { file: String, message: String },
    #[error("{file}, line {line}: {message}")]
    Invalid {
        file: String,
        line: u64,
        message: String,
    },
}

/// Rows of features (row-major, [`FEATURES`]`.len()` per row) and binary labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WineData {
    /// Row-major features, `rows() × FEATURES.len()`.
    pub features: Vec<f64>,
    /// `quality >= 7`, one per row.
    pub labels: Vec<bool>,
}

impl WineData {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Features of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.features[i * FEATURES.len()..(i + 1) * FEATURES.len()]
    }

    /// Labels as LightGBM floats (1.0 / 0.0).
    pub fn labels_f32(&self) -> Vec<f32> {
        self.labels
            .iter()
            .map(|&l| f32::from(u8::from(l)))
            .collect()
    }

    /// The rows at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> WineData {
        let mut out = WineData::default();
        for &i in idx {
            out.features.extend_from_slice(self.row(i));
            out.labels.push(self.labels[i]);
        }
        out
    }

    fn append(&mut self, other: WineData) {
        self.features.extend(other.features);
        self.labels.extend(other.labels);
    }
}

/// Normalises a header cell: trims, strips quotes, spaces → `_`.
fn normalise(name: &str) -> String {
    name.trim().trim_matches('"').trim().replace(' ', "_")
}

/// Parses one part (red or white) from CSV text in either layout; `file` names it in errors.
///
/// # Errors
/// [`WineDataError::Invalid`] for a header that is not the 11 features + `quality`, a row with
/// the wrong number of cells, an empty `quality` (missing label) or a non-numeric cell.
pub fn parse_part(file: &str, text: &str, is_red: bool) -> Result<WineData, WineDataError> {
    let invalid = |line: u64, message: String| WineDataError::Invalid {
        file: file.to_string(),
        line,
        message,
    };
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(1, format!("unreadable header: {e}")))?
        .iter()
        .map(normalise)
        .collect();
    let expected: Vec<&str> = FEATURES[..11]
        .iter()
        .copied()
        .chain([LABEL_COLUMN])
        .collect();
    if header.len() != expected.len() {
        return Err(invalid(
            1,
            format!(
                "header has {} columns, expected {}: {}",
                header.len(),
                expected.len(),
                expected.join(", ")
            ),
        ));
    }
    for (i, (got, want)) in header.iter().zip(&expected).enumerate() {
        if !got.eq_ignore_ascii_case(want) {
            return Err(invalid(
                1,
                format!("column {} is `{got}`, expected `{want}`", i + 1),
            ));
        }
    }
    let mut data = WineData::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            invalid(line, format!("unreadable row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != expected.len() {
            return Err(invalid(
                line,
                format!(
                    "{} cells, expected {} ({})",
                    record.len(),
                    expected.len(),
                    expected.join(", ")
                ),
            ));
        }
        let mut row = Vec::with_capacity(FEATURES.len());
        for (cell, column) in record.iter().zip(&expected) {
            let cell = cell.trim();
            if cell.is_empty() {
                let what = if *column == LABEL_COLUMN {
                    "missing label"
                } else {
                    "empty cell"
                };
                return Err(invalid(line, format!("column `{column}`: {what}")));
            }
            let v: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    invalid(line, format!("column `{column}`: `{cell}` is not a number"))
                })?;
            row.push(v);
        }
        let quality = row.pop().expect("12 cells");
        row.push(if is_red { 1.0 } else { 0.0 });
        data.features.extend(row);
        data.labels.push(quality >= QUALITY_THRESHOLD);
    }
    if data.rows() == 0 {
        return Err(invalid(2, "no data rows".into()));
    }
    Ok(data)
}

/// Loads red then white from `dir` ([`FILES`]).
///
/// # Errors
/// A missing or unreadable file, or any [`parse_part`] error.
pub fn load_dir(dir: &Path) -> Result<WineData, WineDataError> {
    let mut all = WineData::default();
    for (i, name) in FILES.iter().enumerate() {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| WineDataError::Read {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        all.append(parse_part(&path.display().to_string(), &text, i == 0)?);
    }
    Ok(all)
}

/// The embedded copy (gzip-compressed in the binary; attribution in `data/README.md`).
///
/// # Errors
/// Only if the embedded bytes were corrupted at build time.
pub fn load_embedded() -> Result<WineData, WineDataError> {
    let mut all = WineData::default();
    for (i, bytes) in [EMBEDDED_RED, EMBEDDED_WHITE].iter().enumerate() {
        let name = format!("embedded {}", FILES[i]);
        let mut text = String::new();
        flate2::read::GzDecoder::new(*bytes)
            .read_to_string(&mut text)
            .map_err(|e| WineDataError::Read {
                file: name.clone(),
                message: e.to_string(),
            })?;
        all.append(parse_part(&name, &text, i == 0)?);
    }
    Ok(all)
}

/// Name of the embedded data location (`--data embedded`, the default).
pub const EMBEDDED: &str = "embedded";

/// Loads `location`: [`EMBEDDED`] or a directory holding [`FILES`].
///
/// # Errors
/// As [`load_dir`] / [`load_embedded`].
pub fn load(location: &str) -> Result<WineData, WineDataError> {
    if location == EMBEDDED || location.is_empty() {
        load_embedded()
    } else {
        load_dir(Path::new(location))
    }
}

/// Train and test rows of the seeded split.
#[derive(Debug, Clone)]
pub struct Split {
    pub train: WineData,
    pub test: WineData,
}

/// Seeded 75/25 split (shuffle with `seed`, the first ⌈25 %⌉ of the permutation is the test
/// split), then the first `max(1, ⌊fraction · n_train⌋)` training rows are kept: `fraction`
/// scales the training data, the test split stays whole so AUCs are comparable across points.
pub fn split(data: &WineData, seed: u64, fraction: f64) -> Split {
    let mut idx: Vec<usize> = (0..data.rows()).collect();
    idx.shuffle(&mut rand08::rngs::StdRng::seed_from_u64(seed));
    let n_test = (data.rows() as f64 * TEST_SHARE).ceil() as usize;
    let (test, train) = idx.split_at(n_test);
    let keep = ((train.len() as f64 * fraction).floor() as usize).clamp(1, train.len());
    Split {
        train: data.select(&train[..keep]),
        test: data.select(test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wine")
    }

    #[test]
    fn embedded_matches_reference_counts() {
        let d = load_embedded().unwrap();
        assert_eq!(d.rows(), 1599 + 4898);
        let red_pos = (0..1599).filter(|&i| d.labels[i]).count();
        let white_pos = (1599..d.rows()).filter(|&i| d.labels[i]).count();
        // UCI data set description: 217 red and 1,060 white wines have quality >= 7.
        assert_eq!((red_pos, white_pos), (217, 1060));
        assert_eq!(d.row(0)[11], 1.0);
        assert_eq!(d.row(1599)[11], 0.0);
        // First red row: 7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,5
        assert_eq!(
            &d.row(0)[..11],
            &[7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4]
        );
    }

    #[test]
    fn shared_copy_and_uci_layout_agree() {
        let dir = shared();
        if !dir.exists() {
            harness_runtime::testing::skip(
                "shared_copy_and_uci_layout_agree",
                &format!("{} not present (../shared/data/wine)", dir.display()),
            );
            return;
        }
        let comma = load_dir(&dir).unwrap();
        assert_eq!(comma, load_embedded().unwrap());
        // Re-write the comma copy in the UCI layout (semicolons, quoted header).
        let tmp = tempfile::tempdir().unwrap();
        for f in FILES {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            let mut lines = text.lines();
            let header = lines
                .next()
                .unwrap()
                .split(',')
                .map(|h| format!("\"{h}\""))
                .collect::<Vec<_>>()
                .join(";");
            let body: Vec<String> = lines.map(|l| l.replace(',', ";")).collect();
            std::fs::write(
                tmp.path().join(f),
                format!("{header}\n{}\n", body.join("\n")),
            )
            .unwrap();
        }
        assert_eq!(load_dir(tmp.path()).unwrap(), comma);
    }

    const HEADER: &str = "fixed acidity,volatile acidity,citric acid,residual sugar,chlorides,free sulfur dioxide,total sulfur dioxide,density,pH,sulphates,alcohol,quality";

    fn err(text: &str) -> String {
        parse_part("w.csv", text, true).unwrap_err().to_string()
    }

    #[test]
    fn bad_input_names_file_line_and_column() {
        let ok = "7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,5";
        assert_eq!(
            parse_part("w.csv", &format!("{HEADER}\n{ok}\n"), true)
                .unwrap()
                .rows(),
            1
        );
        let e = err(&format!("{HEADER}\n{ok}\n7.4,0.7,0,1.9\n"));
        assert!(
            e.contains("w.csv, line 3") && e.contains("4 cells, expected 12"),
            "{e}"
        );
        let e = err(&format!(
            "{HEADER}\n7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,\n"
        ));
        assert!(
            e.contains("line 2") && e.contains("`quality`: missing label"),
            "{e}"
        );
        let e = err(&format!(
            "{HEADER}\n7.4,0.7,zero,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,5\n"
        ));
        assert!(
            e.contains("line 2") && e.contains("`citric_acid`: `zero` is not a number"),
            "{e}"
        );
        let e = err("a,b,c\n1,2,3\n");
        assert!(
            e.contains("line 1") && e.contains("header has 3 columns"),
            "{e}"
        );
        let e = err(&format!("{}\n{ok}\n", HEADER.replace("alcohol", "ethanol")));
        assert!(
            e.contains("column 11 is `ethanol`, expected `alcohol`"),
            "{e}"
        );
        let e = load_dir(Path::new("/nonexistent")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/winequality-red.csv"), "{e}");
    }

    #[test]
    fn split_is_seeded_75_25_and_fraction_scales_train_only() {
        let d = load_embedded().unwrap();
        let a = split(&d, SPLIT_SEED, 1.0);
        assert_eq!((a.train.rows(), a.test.rows()), (4872, 1625));
        let b = split(&d, SPLIT_SEED, 1.0);
        assert_eq!(a.test, b.test);
        let half = split(&d, SPLIT_SEED, 0.5);
        assert_eq!(half.train.rows(), 2436);
        assert_eq!(half.test, a.test);
        assert_eq!(half.train.row(0), a.train.row(0));
        assert_ne!(split(&d, 7, 1.0).test, a.test);
    }
}
