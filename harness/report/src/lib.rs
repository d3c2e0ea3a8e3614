//! Result records → static HTML reports with SVG charts, CSV and Markdown.
//!
//! Reads only [`RunRecord`]s (never the original data), so a report can be made on another
//! machine from `runs.jsonl`. A study's page is self-contained: charts are inline SVG (also
//! written as `.svg` files next to it), no script, no external resource, no network request.
//!
//! - [`analysis`]: records → per-point distributions, scaling metrics, fits, stragglers,
//!   comparison with a baseline (formulas in `harness_core::{stats, fit}`).
//! - [`figures`]: the analysis → chart descriptions; [`charts`]: SVG drawing with plotters.
//! - [`export`]: `summary.csv` and `summary.md`; [`html`]: the study page and the index.
//! - [`terminal`]: the closing summary a study prints (per series: executors → median training
//!   time, speedup, efficiency, the headline metric, enforced runs).

pub mod analysis;
pub mod charts;
pub mod export;
pub mod figures;
pub mod html;
pub mod terminal;

use std::path::{Path, PathBuf};

use harness_core::RunRecord;
use thiserror::Error;

/// Report failures.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("no records to report")]
    Empty,
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("chart {name}: {message}")]
    Chart { name: String, message: String },
    #[error("cannot write CSV: {0}")]
    Csv(String),
}

fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders one study's records into `out_dir` — `index.html`, one `.svg` per chart,
/// `summary.csv`, `summary.md`, `meta.json` — comparing with `baseline` records when given.
/// Returns the page's path.
///
/// # Errors
/// [`ReportError::Empty`] without records; I/O or chart errors naming the file.
pub fn render_study(
    records: &[RunRecord],
    out_dir: &Path,
    baseline: Option<&[RunRecord]>,
) -> Result<PathBuf, ReportError> {
    render_analysed(records, &analysis::analyse(records), out_dir, baseline)
}

/// [`render_study`] of records already analysed (`analysis` = [`analysis::analyse`] of
/// `records`), for a caller that shows the analysis elsewhere too — the terminal summary.
///
/// # Errors
/// As [`render_study`].
pub fn render_analysed(
    records: &[RunRecord],
    analysis: &analysis::Analysis,
    out_dir: &Path,
    baseline: Option<&[RunRecord]>,
) -> Result<PathBuf, ReportError> {
    if records.is_empty() {
        return Err(ReportError::Empty);
    }
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let changes = baseline.map(|b| analysis::compare(records, b));
    let charts = figures::all(records, analysis)?;
    for (id, _, svg) in &charts {
        write(&out_dir.join(format!("{id}.svg")), svg)?;
    }
    write(&out_dir.join("summary.csv"), &export::csv(analysis)?)?;
    write(
        &out_dir.join("summary.md"),
        &export::markdown(analysis, changes.as_deref()),
    )?;
    let page = html::study_page(records, analysis, &charts, changes.as_deref());
    let path = out_dir.join("index.html");
    write(&path, &page)?;
    write(
        &out_dir.join("meta.json"),
        &serde_json::to_string_pretty(&html::meta(records, analysis)).expect("meta serialises"),
    )?;
    Ok(path)
}

/// Renders `<root>/index.html` listing every study directory under `root` that has a
/// `meta.json`.
///
/// # Errors
/// The index cannot be written.
pub fn render_index(root: &Path) -> Result<PathBuf, ReportError> {
    std::fs::create_dir_all(root).map_err(|source| ReportError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let mut metas = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(e.path().join("meta.json")) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    metas.push(v);
                }
            }
        }
    }
    metas.sort_by(|a, b| a["study"].as_str().cmp(&b["study"].as_str()));
    let path = root.join("index.html");
    write(&path, &html::index_page(&metas))?;
    Ok(path)
}
