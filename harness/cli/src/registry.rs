//! The workload registry: names on the command line → implementations, data checks and
//! default data locations.

use std::path::{Path, PathBuf};

use anyhow::Result;
use harness_runtime::Workload;

/// Workloads this build knows, by name.
pub const WORKLOADS: [&str; 2] = [workload_fractal_rf::NAME, workload_wine::NAME];

/// The implementation of `name`, if this build has it.
pub fn lookup(name: &str) -> Option<Box<dyn Workload>> {
    match name {
        workload_fractal_rf::NAME => Some(Box::new(workload_fractal_rf::FractalRf)),
        workload_wine::NAME => Some(Box::new(workload_wine::Wine)),
        _ => None,
    }
}

/// The data location a workload uses when none is given, if it has one that needs no
/// generation step: `embedded` for wine (the UCI files compiled into the binary).
pub fn builtin_data(name: &str) -> Option<&'static str> {
    match name {
        workload_wine::NAME => Some(workload_wine::data::EMBEDDED),
        _ => None,
    }
}

/// Resolves and checks `data` for `workload` before a study starts, returning the location the
/// executors get (an absolute directory, or `embedded`).
///
/// # Errors
/// A missing directory, a split without parquet files, a missing column (fractal-rf); a
/// missing or malformed CSV naming file, line and column (wine).
pub fn check_data(workload: &str, data: &str) -> Result<String> {
    if builtin_data(workload) == Some(data) {
        return Ok(data.to_string());
    }
    let location = if data.starts_with("s3://") {
        data.to_string()
    } else {
        std::fs::canonicalize(data)
            .map_err(|_| harness_runtime::data::DataError::MissingDir(PathBuf::from(data)))?
            .display()
            .to_string()
    };
    match workload {
        workload_wine::NAME if location.starts_with("s3://") => {
            anyhow::bail!("the wine workload reads its two CSV files from a local directory or the embedded copy, not from {data}")
        }
        workload_wine::NAME => {
            workload_wine::data::load_dir(Path::new(&location))?;
        }
        _ => {
            // The first file of every split opens with the columns the workload needs.
            let columns: &[&str] = &workload_fractal_rf::schema::COLUMNS;
            for split in ["train", "val", "test"] {
                let files = harness_runtime::data::list_split(&location, split)?;
                harness_runtime::data::open_columns_at(&location, &files[0].path, columns, 1024)?;
            }
        }
    }
    Ok(location)
}

/// A clear error for an unknown workload name.
pub fn unknown(name: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "unknown workload `{name}`: this build has {}",
        WORKLOADS.join(", ")
    )
}
