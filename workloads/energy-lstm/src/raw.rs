//! Reading and validating the household energy CSV (Kaggle
//! `samxsam/household-energy-consumption`): one row per household and day.
//!
//! Columns, found by header name so both published layouts load (with and without
//! `Day_of_Week`, which is not used): `Household_ID`, `Date` (M/D/YYYY),
//! `Energy_Consumption_kWh`, `Household_Size`, `Avg_Temperature_C`, `Has_AC` (`Yes`/`No`),
//! `Peak_Hours_Usage_kWh`. Every problem names the file, the line (1 = header) and the column.

use std::io::Read;
use std::path::Path;

use thiserror::Error;

/// The embedded copy of the Kaggle CSV (gzip), 90,000 rows; attribution in `data/README.md`.
const EMBEDDED_CSV: &[u8] = include_bytes!("../data/household_energy_consumption.csv.gz");

/// Name of the embedded copy as a data location.
pub const EMBEDDED: &str = "embedded";

/// File name of the embedded copy, used in messages.
pub const EMBEDDED_FILE: &str = "household_energy_consumption.csv (embedded)";

/// Columns the loader needs, by header name.
pub const COLUMNS: [&str; 7] = [
    "Household_ID",
    "Date",
    "Energy_Consumption_kWh",
    "Household_Size",
    "Avg_Temperature_C",
    "Has_AC",
    "Peak_Hours_Usage_kWh",
];

/// A problem with an energy CSV, naming file, line and column.
#[derive(Debug, Error)]
pub enum RawError {
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}: the header has no column `{column}` (it needs {})", COLUMNS.join(", "))]
    MissingColumn { file: String, column: String },
    #[error("{file}, line {line}, column `{column}`: {message}")]
    Cell {
        file: String,
        line: u64,
        column: String,
        message: String,
    },
    #[error("{file}: no data rows")]
    Empty { file: String },
}

/// One household-day.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// `Household_ID`, e.g. `H00001`.
    pub household: String,
    /// Days since 1970-01-01.
    pub date: i32,
    /// Energy consumed that day, kWh (the target).
    pub energy_kwh: f32,
    /// People in the household.
    pub size: f32,
    /// Average temperature that day, °C.
    pub temperature_c: f32,
    /// Whether the household has air conditioning.
    pub has_ac: bool,
    /// Energy consumed in peak hours, kWh.
    pub peak_kwh: f32,
}

/// Parses `M/D/YYYY` (also `MM/DD/YYYY`) into days since 1970-01-01.
///
/// # Errors
/// Anything else, or a day that does not exist (`2/30/2025`), as a message.
pub fn parse_date(s: &str) -> Result<i32, String> {
    let bad = || format!("`{s}` is not a date in M/D/YYYY form");
    let mut it = s.trim().split('/');
    let (Some(m), Some(d), Some(y), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    let y: i32 = y.parse().map_err(|_| bad())?;
    if !(1000..=9999).contains(&y) {
        return Err(bad());
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > days_in[(m - 1) as usize] {
        return Err(format!("`{s}` is not a calendar date (M/D/YYYY)"));
    }
    Ok(days_from_civil(y, m, d))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms", `days_from_civil`).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp as i32 + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `M/D/YYYY` of days since 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i32) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i32::from(m <= 2);
    format!("{m}/{d}/{y}")
}

/// Reads the CSV text `reader` (named `file` in messages).
///
/// # Errors
/// [`RawError`] naming file, line and column of the first problem.
pub fn parse(reader: impl Read, file: &str) -> Result<Vec<Day>, RawError> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let read = |e: csv::Error| RawError::Read {
        file: file.to_string(),
        message: e.to_string(),
    };
    let header = r.headers().map_err(read)?.clone();
    let mut idx = [0usize; COLUMNS.len()];
    for (i, c) in COLUMNS.iter().enumerate() {
        idx[i] = header
            .iter()
            .position(|h| h == *c)
            .ok_or_else(|| RawError::MissingColumn {
                file: file.to_string(),
                column: c.to_string(),
            })?;
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(read)?;
        let line = rec.position().map_or(0, |p| p.line());
        let cell = |k: usize, message: String| RawError::Cell {
            file: file.to_string(),
            line,
            column: COLUMNS[k].to_string(),
            message,
        };
        let get = |k: usize| rec.get(idx[k]).unwrap_or("");
        let num = |k: usize| -> Result<f32, RawError> {
            let s = get(k);
            s.parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| cell(k, format!("`{s}` is not a number")))
        };
        let household = get(0).to_string();
        if household.is_empty() {
            return Err(cell(0, "empty household id".into()));
        }
        let date = parse_date(get(1)).map_err(|m| cell(1, m))?;
        let has_ac = match get(5) {
            "Yes" | "yes" | "YES" => true,
            "No" | "no" | "NO" => false,
            other => return Err(cell(5, format!("`{other}` is neither Yes nor No"))),
        };
        out.push(Day {
            household,
            date,
            energy_kwh: num(2)?,
            size: num(3)?,
            temperature_c: num(4)?,
            has_ac,
            peak_kwh: num(6)?,
        });
    }
    if out.is_empty() {
        return Err(RawError::Empty {
            file: file.to_string(),
        });
    }
    Ok(out)
}

/// Reads one CSV file.
///
/// # Errors
/// As [`parse`]; an unreadable file as [`RawError::Read`].
pub fn load_file(path: &Path) -> Result<Vec<Day>, RawError> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| RawError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    parse(std::io::BufReader::new(f), &file)
}

/// The embedded copy.
///
/// # Panics
/// If the embedded copy does not parse (a build defect).
pub fn embedded() -> Vec<Day> {
    let gz = flate2::read::GzDecoder::new(EMBEDDED_CSV);
    parse(gz, EMBEDDED_FILE).expect("the embedded energy CSV parses")
}

/// The `*.csv` files of a directory, sorted by name, or the file itself.
///
/// # Errors
/// [`RawError::Read`] when it cannot be listed or holds no CSV.
pub fn csv_files(input: &Path) -> Result<Vec<std::path::PathBuf>, RawError> {
    if input.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    let read = |message: String| RawError::Read {
        file: input.display().to_string(),
        message,
    };
    let mut files: Vec<_> = std::fs::read_dir(input)
        .map_err(|e| read(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(read("no *.csv file in it".into()));
    }
    Ok(files)
}

/// Every day of a CSV file or of a directory's `*.csv` files, or of the embedded copy when
/// `input` is [`EMBEDDED`].
///
/// # Errors
/// As [`load_file`].
pub fn load(input: &str) -> Result<Vec<Day>, RawError> {
    if input == EMBEDDED {
        return Ok(embedded());
    }
    let mut all = Vec::new();
    for f in csv_files(Path::new(input))? {
        all.extend(load_file(&f)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_named() {
        assert_eq!(parse_date("1/1/1970").unwrap(), 0);
        assert_eq!(parse_date("4/1/2025").unwrap(), 20179);
        assert_eq!(civil_from_days(20179), "4/1/2025");
        assert_eq!(
            parse_date("2/29/2024").unwrap() + 1,
            parse_date("3/1/2024").unwrap()
        );
        for bad in ["2/29/2025", "13/1/2025", "2025-04-01", "4/1", "4/x/2025"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn both_layouts_load_and_the_embedded_copy_is_whole() {
        let with = "Household_ID,Date,Day_of_Week,Energy_Consumption_kWh,Household_Size,Avg_Temperature_C,Has_AC,Peak_Hours_Usage_kWh\nH1,4/1/2025,Tuesday,8.4,4,17.8,No,3.2\n";
        let without = "Household_ID,Date,Energy_Consumption_kWh,Household_Size,Avg_Temperature_C,Has_AC,Peak_Hours_Usage_kWh\nH1,4/1/2025,8.4,4,17.8,No,3.2\n";
        let a = parse(with.as_bytes(), "a.csv").unwrap();
        assert_eq!(a, parse(without.as_bytes(), "b.csv").unwrap());
        assert_eq!(a[0].energy_kwh, 8.4);
        assert!(!a[0].has_ac);
        let all = embedded();
        assert_eq!(all.len(), 90_000);
        let households: std::collections::BTreeSet<&str> =
            all.iter().map(|d| d.household.as_str()).collect();
        assert_eq!(households.len(), 12_857);
    }

    #[test]
    fn problems_name_file_line_and_column() {
        let head = "Household_ID,Date,Energy_Consumption_kWh,Household_Size,Avg_Temperature_C,Has_AC,Peak_Hours_Usage_kWh\n";
        let ok = "H1,4/1/2025,8.4,4,17.8,No,3.2\n";
        let cases = [
            (
                format!("{head}{ok}H1,4/2/2025,abc,4,17.8,No,3.2\n"),
                "line 3, column `Energy_Consumption_kWh`: `abc` is not a number",
            ),
            (
                format!("{head}{ok}H1,4/2/2025,8,4,17.8,Maybe,3.2\n"),
                "line 3, column `Has_AC`: `Maybe` is neither Yes nor No",
            ),
            (
                format!("{head}{ok}H1,4/31/2025,8,4,17.8,No,3.2\n"),
                "line 3, column `Date`: `4/31/2025` is not a calendar date",
            ),
            (
                format!("{head}H1,2025-04-01,8,4,17.8,No,3.2\n"),
                "line 2, column `Date`",
            ),
            (
                "Household_ID,Date,Energy_Consumption_kWh\nH1,4/1/2025,3\n".to_string(),
                "the header has no column `Household_Size`",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text.as_bytes(), "x.csv").unwrap_err().to_string();
            assert!(e.starts_with("x.csv"), "{e}");
            assert!(e.contains(want), "{e} — wanted {want}");
        }
    }
}
