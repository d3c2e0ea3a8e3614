//! The workload registry: names on the command line → implementations.

use harness_runtime::Workload;

/// Workloads this build knows, by name.
pub const WORKLOADS: [&str; 1] = [workload_fractal_rf::NAME];

/// The implementation of `name`, if this build has it.
pub fn lookup(name: &str) -> Option<Box<dyn Workload>> {
    match name {
        workload_fractal_rf::NAME => Some(Box::new(workload_fractal_rf::FractalRf)),
        _ => None,
    }
}

/// Parquet columns each workload needs in every split (checked before a study starts).
pub fn required_columns(name: &str) -> &'static [&'static str] {
    match name {
        workload_fractal_rf::NAME => &workload_fractal_rf::schema::COLUMNS,
        _ => &[],
    }
}

/// A clear error for an unknown workload name.
pub fn unknown(name: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "unknown workload `{name}`: this build has {}",
        WORKLOADS.join(", ")
    )
}
