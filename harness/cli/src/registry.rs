//! The workload registry: every workload this build knows. Adding a workload is one crate and
//! one line in [`WORKLOADS`]; nothing else in the CLI names a workload.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use harness_runtime::workload::{DefaultData, Generator};
use harness_runtime::Workload;

/// The registered workloads; the first is the default of `harness profile`.
pub static WORKLOADS: &[&dyn Workload] = &[
    &workload_fractal_rf::FractalRf,
    &workload_wine::Wine,
    &workload_gbm_folds::GbmFolds,
    &workload_energy_lstm::EnergyLstm,
    &workload_command::CommandWorkload,
];

/// The implementation of `name`, if this build has it.
pub fn lookup(name: &str) -> Option<&'static dyn Workload> {
    WORKLOADS.iter().copied().find(|w| w.name() == name)
}

/// The implementation of `name`.
///
/// # Errors
/// An unknown name, listing the known ones.
pub fn get(name: &str) -> Result<&'static dyn Workload> {
    lookup(name).ok_or_else(|| {
        let known: Vec<&str> = WORKLOADS.iter().map(|w| w.name()).collect();
        anyhow::anyhow!(
            "unknown workload `{name}`: this build has {}",
            known.join(", ")
        )
    })
}

/// The workload named `set`, or whose data generator is named `set` (`energy` →
/// `energy-lstm`).
///
/// # Errors
/// Neither, listing the workloads.
pub fn for_set(set: &str) -> Result<&'static dyn Workload> {
    WORKLOADS
        .iter()
        .copied()
        .find(|w| w.generator().is_some_and(|g| g.name() == set))
        .map_or_else(|| get(set), Ok)
}

/// The data generators of all workloads (`harness data generate <name>`).
pub fn generators() -> impl Iterator<Item = &'static dyn Generator> {
    WORKLOADS.iter().filter_map(|w| w.generator())
}

/// The workload that saved the model in `dir`.
///
/// # Errors
/// No readable `harness-model.json`, or a workload this build does not have.
pub fn for_model(dir: &Path) -> Result<&'static dyn Workload> {
    let name = harness_runtime::model::model_workload(dir)?;
    get(&name).with_context(|| format!("model {} was saved by `{name}`", dir.display()))
}

/// Resolves and checks `data` for `workload` before a study starts, returning the location the
/// executors get: an absolute directory, an `s3://` prefix, or the workload's built-in name.
///
/// # Errors
/// A missing directory, or whatever [`Workload::check_data`] finds wrong.
pub fn check_data(workload: &dyn Workload, data: &str) -> Result<String> {
    let location = match workload.default_data() {
        DefaultData::Builtin(name) if name == data => data.to_string(),
        _ if data.starts_with("s3://") => data.to_string(),
        _ => std::fs::canonicalize(data)
            .map_err(|_| harness_runtime::data::DataError::MissingDir(PathBuf::from(data)))?
            .display()
            .to_string(),
    };
    workload
        .check_data(&location)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("data {data} is not usable for `{}`", workload.name()))?;
    Ok(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_unknown_names_are_listed() {
        let mut names: Vec<&str> = WORKLOADS.iter().map(|w| w.name()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "workload names are unique");
        for w in WORKLOADS {
            assert_eq!(get(w.name()).unwrap().name(), w.name());
            assert!(!w.summary().is_empty());
        }
        let e = get("nope").err().expect("unknown").to_string();
        for w in WORKLOADS {
            assert!(e.contains(w.name()), "{e}");
        }
    }

    #[test]
    fn default_studies_are_valid_and_name_their_workload() {
        let machine = harness_runtime::workload::Machine {
            logical_cpus: 2,
            memory_bytes: 24 << 30,
        };
        for w in WORKLOADS {
            let s = w.default_study(&machine);
            s.validate().unwrap();
            assert_eq!(s.workload, w.name());
            assert!(
                s.executors
                    .iter()
                    .all(|e| e * s.cores.iter().max().unwrap() <= 2),
                "{}: no point oversubscribed on 2 CPUs",
                w.name()
            );
        }
    }
}
