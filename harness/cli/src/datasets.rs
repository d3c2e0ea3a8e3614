//! `harness data …`: generating data sets with a workload's generator (locally or into
//! `s3://`), uploading a directory to S3, exporting a workload's built-in data; and the default
//! data of a study, generated once into the cache.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::ArgMatches;
use harness_runtime::workload::{DefaultData, Generator};
use harness_runtime::Workload;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{cache, registry, transfer};

fn bar(total: u64, unit: &str) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "[{{elapsed_precise}}] [{{bar:30}}] {{pos}}/{{len}} {unit}, ETA {{eta}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb
}

/// `harness data generate <set> --out OUT [options]`, from the parsed command line.
///
/// # Errors
/// An unknown set, a bad option value (named), write or upload failures.
pub fn generate_command(matches: &ArgMatches) -> Result<()> {
    let (name, m) = matches
        .subcommand()
        .context("name a data set: `harness data generate --help` lists them")?;
    let generator = registry::generators()
        .find(|g| g.name() == name)
        .with_context(|| format!("no data generator `{name}`"))?;
    let out = m.get_one::<String>("out").expect("required");
    let mut options = BTreeMap::new();
    for o in generator.options() {
        if let Some(v) = m.get_one::<String>(o.name) {
            options.insert(o.name.to_string(), v.clone());
        }
    }
    let line = generate(generator, out, &options)?;
    eprintln!("{line}");
    Ok(())
}

/// Runs `generator` into `out` (a directory, or `s3://bucket/prefix`: generated into a
/// temporary directory, then uploaded) with a progress bar. Returns its summary line.
///
/// # Errors
/// The generator's errors, upload failures.
pub fn generate(
    generator: &dyn Generator,
    out: &str,
    options: &BTreeMap<String, String>,
) -> Result<String> {
    if out.starts_with("s3://") {
        let tmp = std::env::temp_dir().join(format!("harness-generate-{}", std::process::id()));
        let result = generate(generator, &tmp.display().to_string(), options)
            .and_then(|_| upload(&tmp, out));
        let _ = std::fs::remove_dir_all(&tmp);
        return result.map(|()| format!("generated {} into {out}", generator.name()));
    }
    let pb = bar(0, "files");
    let line = generator
        .generate(Path::new(out), options, &|done, total| {
            pb.set_length(total);
            pb.set_position(done);
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("harness data generate {}", generator.name()))?;
    pb.finish_and_clear();
    Ok(line)
}

/// The data location of a study of `workload` when the user gave none: its built-in name, or
/// its default data set, generated once into the cache (`<cache>/data/<key>`, complete when
/// it holds `.complete`).
///
/// # Errors
/// The workload has no default data (the message says how to make some), or generation fails.
pub fn default_location(workload: &dyn Workload) -> Result<String> {
    match workload.default_data() {
        DefaultData::Builtin(name) => Ok(name.to_string()),
        DefaultData::Required(hint) => bail!("no data location: {hint}"),
        DefaultData::Generated { key, describe } => {
            let generator = workload.generator().with_context(|| {
                format!(
                    "workload `{}` names generated default data but has no generator",
                    workload.name()
                )
            })?;
            let dir = cache::default_data_dir(&key);
            let marker = dir.join(".complete");
            if !marker.exists() {
                eprintln!("generating {describe} into {} (once)", dir.display());
                let line = generate(generator, &dir.display().to_string(), &BTreeMap::new())?;
                eprintln!("{line}");
                std::fs::write(&marker, "complete\n")
                    .with_context(|| format!("cannot write {}", marker.display()))?;
            }
            Ok(dir.display().to_string())
        }
    }
}

/// Whether a remote cluster reads `data` where it is, without an upload: an `s3://` location,
/// or the name of the workload's built-in data set (e.g. wine's `embedded`).
pub fn readable_anywhere(workload: &dyn Workload, data: &str) -> bool {
    data.starts_with("s3://")
        || matches!(workload.default_data(), DefaultData::Builtin(name) if name == data)
}

/// Uploads every file below `dir` to `url` (`s3://bucket/prefix`), keys = relative paths.
///
/// # Errors
/// Not an S3 URL, an empty directory, S3 errors.
pub fn upload(dir: &Path, url: &str) -> Result<()> {
    let loc = harness_runtime::s3::S3Location::parse(url)
        .with_context(|| format!("{url} is not an S3 location: expected s3://bucket/prefix"))?;
    let files = transfer::files_below(dir)?;
    if files.is_empty() {
        bail!("{} holds no files to upload", dir.display());
    }
    let pb = bar(files.len() as u64, "objects");
    let bytes = transfer::upload_files(&loc, "", dir, &files, || pb.inc(1))?;
    pb.finish_and_clear();
    eprintln!(
        "uploaded {} objects, {:.1} MB to {}",
        files.len(),
        bytes as f64 / 1e6,
        url.trim_end_matches('/')
    );
    Ok(())
}

/// `harness data export <workload> --out DIR`.
///
/// # Errors
/// An unknown workload, one without an export, write failures.
pub fn export(workload: &str, source: &str, out: &Path, files: usize) -> Result<()> {
    let line = registry::get(workload)?
        .export(source, out, files)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("{line}");
    println!("{}", out.display());
    Ok(())
}
