//! Result records → one self-contained HTML page per study, SVG charts, CSV and Markdown.
//!
//! Reads only [`RunRecord`]s (never the original data), so a report can be made on another
//! machine from `runs.jsonl`. A study's page opens with what the study found, then its charts
//! and tables; it is one file — inline SVG (also written as `.svg` files next to it), our own
//! few KB of script and style — that works from `file://` with no network.
//!
//! - [`analysis`]: records → per-point distributions, scaling metrics, fits, stragglers,
//!   comparison with a baseline (formulas in `harness_core::{stats, fit}`).
//! - [`findings`]: the analysis → the few sentences a page opens with (and `summary.md`).
//! - [`figures`]: the analysis → chart descriptions; [`charts`]: SVG drawing (plotters draws
//!   the frame, our layer the data); [`theme`]: the palette, sizes and number formats of all.
//! - [`table`]: tables as data; [`html`]: the page and the index through minijinja templates;
//!   [`export`]: `summary.csv` and `summary.md`.
//! - [`versus`]: overlaid studies side by side — every other study against the first, matched
//!   by cluster shape (a reference engine against ours).
//! - [`terminal`]: the closing summary a study prints.
//!
//! Invariant: this crate does no measurement and reads nothing but records; every number it
//! shows is computed from them.

#![warn(clippy::too_many_lines)]

pub mod analysis;
pub mod charts;
pub mod export;
pub mod figures;
pub mod findings;
pub mod html;
pub mod table;
pub mod terminal;
pub mod theme;
pub mod versus;

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
    #[error("report template: {0}")]
    Template(String),
    #[error("{0}")]
    Input(String),
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
/// [`ReportError::Empty`] without records; I/O, chart or template errors naming the file.
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
    let found = findings::of(records, analysis);
    let changes = baseline.map(|b| analysis::compare(records, b));
    let side_by_side = versus::versus(records);
    let charts = figures::all(records, analysis, &found)?;
    let change_charts = match &changes {
        Some(c) => figures::change_charts(c, analysis)?,
        None => Vec::new(),
    };
    for c in charts.iter().chain(&change_charts) {
        write(&out_dir.join(format!("{}.svg", c.id)), &c.svg)?;
    }
    write(&out_dir.join("summary.csv"), &export::csv(analysis)?)?;
    write(
        &out_dir.join("summary.md"),
        &export::markdown(analysis, &found, changes.as_deref(), &side_by_side),
    )?;
    let comparison = changes.as_deref().map(|c| (c, change_charts.as_slice()));
    let page = html::study_page(
        records,
        analysis,
        &found,
        &charts,
        comparison,
        &side_by_side,
    )?;
    let path = out_dir.join("index.html");
    write(&path, &page)?;
    write(
        &out_dir.join("meta.json"),
        &serde_json::to_string_pretty(&html::meta(records, analysis)).expect("meta serialises"),
    )?;
    Ok(path)
}

/// The parameter that tells overlaid studies apart ([`overlay`]).
pub const STUDY_PARAM: &str = "study";

/// Several studies' records as one set whose series differ by study: each record's point gets
/// the parameter [`STUDY_PARAM`] = its study name, so every chart draws one series per study
/// (and per what else varies), fits and speedups stay within a study, and tables name it.
/// Where every name is `<prefix>.<series>` with one prefix — the series of a comparison,
/// `fractal-vs-spark.harness` — the parameter is the series alone (`harness`), so legends stay
/// short; the records' `study` keeps the whole name.
/// The records keep the order of `studies`: the first study is the one the page's side-by-side
/// table ([`versus`]) compares the others with.
///
/// # Errors
/// [`ReportError::Input`] when two inputs are the same study, or a record already has a
/// `study` parameter.
pub fn overlay(studies: Vec<Vec<RunRecord>>) -> Result<Vec<RunRecord>, ReportError> {
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let prefix = series_prefix(&studies);
    for recs in studies {
        let Some(name) = recs.first().map(|r| r.study.clone()) else {
            return Err(ReportError::Empty);
        };
        if names.contains(&name) {
            return Err(ReportError::Input(format!("study `{name}` is given twice: overlay different studies (their records' `study` names must differ)")));
        }
        names.push(name);
        for mut r in recs {
            if r.point.params.contains_key(STUDY_PARAM) {
                return Err(ReportError::Input(format!(
                    "run {} already has a `{STUDY_PARAM}` parameter: it cannot be overlaid",
                    r.run_id
                )));
            }
            let label = r.study[prefix.len()..].to_string();
            r.point
                .params
                .insert(STUDY_PARAM.into(), serde_json::Value::String(label));
            out.push(r);
        }
    }
    Ok(out)
}

/// `<prefix>.` when every study's records are named `<prefix>.<something>` with one prefix,
/// else empty.
fn series_prefix(studies: &[Vec<RunRecord>]) -> String {
    let names: Vec<&str> = studies
        .iter()
        .filter_map(|r| r.first().map(|r| r.study.as_str()))
        .collect();
    let Some(first) = names.first().and_then(|n| n.rfind('.').map(|i| &n[..=i])) else {
        return String::new();
    };
    let shared = names.len() > 1
        && names.iter().all(|n| {
            n.len() > first.len() && n.starts_with(first) && !n[first.len()..].contains('.')
        });
    if shared {
        first.to_string()
    } else {
        String::new()
    }
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
                    metas.push((e.file_name().to_string_lossy().into_owned(), v));
                }
            }
        }
    }
    metas.sort_by(|a, b| a.0.cmp(&b.0));
    let path = root.join("index.html");
    write(&path, &html::index_page(&metas)?)?;
    Ok(path)
}
