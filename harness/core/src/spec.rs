//! Study specifications (TOML) and their expansion into points and runs.
//!
//! A study file looks like this (every list is one axis of the grid):
//!
//! ```toml
//! name = "fractal-local"
//! workload = "fractal-rf"
//! executors = [1, 2]
//! cores = [1]
//! memory = ["7g"]
//! fractions = [0.05, 0.1]
//! repetitions = 2
//! timeout_sec = 1800
//! data = "/data/fractal"      # optional; the CLI's --data wins
//!
//! [params]                    # optional workload parameters
//! trees = 40
//! engine = ["mllib", "lightgbm"] # a list is one more axis: every point runs with each value
//! ```
//!
//! The `command` workload's program is a top-level list, `command = ["python3", "job.py"]`; it
//! is kept as the parameter `command = {argv = [...]}` (a table, so not an axis).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::record::Point;
use crate::units::{parse_memory, MemoryParseError};

/// A study specification that is wrong, with what to change.
#[derive(Debug, Error)]
pub enum SpecError {
    #[error(
        "study name {0:?} is not usable as a directory name: use letters, digits, '.', '_' or '-'"
    )]
    BadName(String),
    #[error("study name of {0} bytes is too long: use at most {MAX_NAME_BYTES} bytes")]
    LongName(usize),
    #[error("timeout_sec must be at least 1 second (got {0}): a run needs time to start")]
    ZeroTimeout(u64),
    #[error("`{axis}` is empty: give at least one value")]
    EmptyAxis { axis: &'static str },
    #[error("parameter `{0}` is an empty list: give at least one value (a list of values is an axis of the grid)")]
    EmptyParamAxis(String),
    #[error("executors must be at least 1 (got 0)")]
    ZeroExecutors,
    #[error("cores must be at least 1 (got 0)")]
    ZeroCores,
    #[error(
        "fraction {0} is outside (0, 1]: a fraction is the share of input files to read, e.g. 0.05"
    )]
    BadFraction(f64),
    #[error("repetitions must be at least 1")]
    ZeroRepetitions,
    #[error(transparent)]
    Memory(#[from] MemoryParseError),
    #[error("{0}")]
    Command(String),
    /// A comparison file that is wrong ([`crate::comparison`]).
    #[error("{0}")]
    Comparison(String),
    #[error("study file is not valid TOML for a study: {0}")]
    Toml(String),
}

/// Longest study name, in bytes (it names directories under `results/` and `reports/`).
pub const MAX_NAME_BYTES: usize = 200;

/// A named grid of points plus repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// Study name: the directory under `results/` and `reports/`.
    pub name: String,
    /// Workload name, e.g. `fractal-rf`.
    pub workload: String,
    /// Executor counts.
    pub executors: Vec<u32>,
    /// Cores per executor.
    pub cores: Vec<u32>,
    /// Memory limits per executor, as text (`7g`, `512m`).
    pub memory: Vec<String>,
    /// Fractions of the input files.
    pub fractions: Vec<f64>,
    /// Runs per point.
    #[serde(default = "default_reps")]
    pub repetitions: u32,
    /// Per-run timeout in seconds; a run over it is killed and recorded as `timeout`.
    #[serde(default = "default_timeout")]
    pub timeout_sec: u64,
    /// Data location (directory or `s3://…`); optional, the CLI's `--data` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Workload parameters. A scalar or table applies to every point; a list is an axis of the
    /// grid, each point running once with each of its values (see [`StudySpec::param_points`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
}

fn default_reps() -> u32 {
    1
}

fn default_timeout() -> u64 {
    3600
}

/// Moves a top-level `command = ["prog", "arg", …]` (the `command` workload's program) into
/// `params.command = {argv = […]}`: a table, so the list is not taken for an axis of the grid.
///
/// # Errors
/// `command` that is not a non-empty list of text, or given twice.
fn command_into_params(table: &mut toml::Table) -> Result<(), SpecError> {
    let Some(command) = table.remove("command") else {
        return Ok(());
    };
    let argv_ok = command
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(toml::Value::is_str));
    if !argv_ok {
        return Err(SpecError::Command(format!(
            "`command` must be a non-empty list of text, e.g. command = [\"python3\", \"job.py\"]; got {command}"
        )));
    }
    let params = table
        .entry("params")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(params) = params.as_table_mut() else {
        return Err(SpecError::Toml("`params` must be a table".into()));
    };
    if params.contains_key("command") {
        return Err(SpecError::Command(
            "`command` is given both at the top and in [params]: keep one".into(),
        ));
    }
    let mut argv = toml::Table::new();
    argv.insert("argv".into(), command);
    params.insert("command".into(), toml::Value::Table(argv));
    Ok(())
}

/// One run to make: a point and a repetition index, with its stable id.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// Index of the point in [`StudySpec::points`].
    pub point_index: usize,
    pub point: Point,
    pub repetition: u32,
    /// `<point key>-r<repetition>`.
    pub run_id: String,
}

impl StudySpec {
    /// Parses a study file.
    ///
    /// # Errors
    /// [`SpecError::Toml`] naming the offending key or line, or any validation error.
    pub fn from_toml(text: &str) -> Result<Self, SpecError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| SpecError::Toml(e.to_string()))?;
        command_into_params(&mut table)?;
        let spec: StudySpec = table
            .try_into()
            .map_err(|e: toml::de::Error| SpecError::Toml(e.to_string()))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Serialises to TOML (how a study is kept next to its results as `study.toml`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a study spec serialises to TOML")
    }

    /// Checks every axis.
    ///
    /// # Errors
    /// The first problem found, with what to change.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.name.len() > MAX_NAME_BYTES {
            // Checked first: the name is not echoed whole.
            return Err(SpecError::LongName(self.name.len()));
        }
        if self.timeout_sec == 0 {
            return Err(SpecError::ZeroTimeout(self.timeout_sec));
        }
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && !self.name.starts_with('.');
        if !name_ok {
            return Err(SpecError::BadName(self.name.clone()));
        }
        for (axis, empty) in [
            ("executors", self.executors.is_empty()),
            ("cores", self.cores.is_empty()),
            ("memory", self.memory.is_empty()),
            ("fractions", self.fractions.is_empty()),
        ] {
            if empty {
                return Err(SpecError::EmptyAxis { axis });
            }
        }
        if self.executors.contains(&0) {
            return Err(SpecError::ZeroExecutors);
        }
        if self.cores.contains(&0) {
            return Err(SpecError::ZeroCores);
        }
        if let Some(f) = self
            .fractions
            .iter()
            .find(|f| !(f.is_finite() && **f > 0.0 && **f <= 1.0))
        {
            return Err(SpecError::BadFraction(*f));
        }
        if self.repetitions == 0 {
            return Err(SpecError::ZeroRepetitions);
        }
        if let Some((k, _)) = self
            .params
            .iter()
            .find(|(_, v)| v.as_array().is_some_and(|a| a.is_empty()))
        {
            return Err(SpecError::EmptyParamAxis(k.clone()));
        }
        for m in &self.memory {
            parse_memory(m)?;
        }
        Ok(())
    }

    /// Every combination of the parameters' values: a list value is an axis (each point gets
    /// one of its values), any other value is the same in every combination. Combinations vary
    /// the last parameter (in name order) fastest; without list values there is one.
    pub fn param_points(&self) -> Vec<BTreeMap<String, serde_json::Value>> {
        let mut combos = vec![BTreeMap::new()];
        for (k, v) in &self.params {
            let values = match v.as_array() {
                Some(list) => list.clone(),
                None => vec![v.clone()],
            };
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |x| {
                        let mut c = c.clone();
                        c.insert(k.clone(), x.clone());
                        c
                    })
                })
                .collect();
        }
        combos
    }

    /// Replaces the parameters by those that expand to `combos` — e.g. each of
    /// [`StudySpec::param_points`] as the workload completed it with its defaults: a name with
    /// one value in all combinations becomes that value, a name with several becomes the list
    /// of them, in order of first appearance.
    pub fn set_param_points(&mut self, combos: &[BTreeMap<String, serde_json::Value>]) {
        let mut values: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for c in combos {
            for (k, v) in c {
                let seen = values.entry(k.clone()).or_default();
                if !seen.contains(v) {
                    seen.push(v.clone());
                }
            }
        }
        self.params = values
            .into_iter()
            .map(|(k, mut vs)| {
                let v = if vs.len() == 1 {
                    vs.remove(0)
                } else {
                    serde_json::Value::Array(vs)
                };
                (k, v)
            })
            .collect();
    }

    /// The grid's points, ordered so that points sharing (memory, cores) are adjacent (a cluster
    /// is reshaped as rarely as possible), then by fraction, then by parameter combination
    /// ([`StudySpec::param_points`]), then by executors.
    ///
    /// # Errors
    /// A memory value that does not parse.
    pub fn points(&self) -> Result<Vec<Point>, SpecError> {
        let mut points = Vec::new();
        let combos = self.param_points();
        for m in &self.memory {
            let memory_bytes = parse_memory(m)?;
            for &cores in &self.cores {
                for &fraction in &self.fractions {
                    for params in &combos {
                        for &executors in &self.executors {
                            points.push(Point {
                                executors,
                                cores,
                                memory_bytes,
                                fraction,
                                params: params.clone(),
                            });
                        }
                    }
                }
            }
        }
        Ok(points)
    }

    /// Every run of the study: repetition-major (all points once, then all points again), so
    /// slow drift of the machine spreads over all points instead of biasing one.
    ///
    /// # Errors
    /// A memory value that does not parse.
    pub fn runs(&self) -> Result<Vec<RunPlan>, SpecError> {
        let points = self.points()?;
        let mut runs = Vec::with_capacity(points.len() * self.repetitions as usize);
        for repetition in 0..self.repetitions {
            for (point_index, point) in points.iter().enumerate() {
                runs.push(RunPlan {
                    point_index,
                    run_id: format!("{}-r{}", point.key(), repetition),
                    point: point.clone(),
                    repetition,
                });
            }
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
name = "fractal-local"
workload = "fractal-rf"
executors = [1, 2]
cores = [1]
memory = ["7g"]
fractions = [0.05, 0.1]
repetitions = 2
"#;

    #[test]
    fn expands_grid_repetition_major() {
        let spec = StudySpec::from_toml(EXAMPLE).unwrap();
        let runs = spec.runs().unwrap();
        assert_eq!(runs.len(), 8);
        let ids: Vec<_> = runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "e1-c1-m7g-f0.05-r0",
                "e2-c1-m7g-f0.05-r0",
                "e1-c1-m7g-f0.1-r0",
                "e2-c1-m7g-f0.1-r0",
                "e1-c1-m7g-f0.05-r1",
                "e2-c1-m7g-f0.05-r1",
                "e1-c1-m7g-f0.1-r1",
                "e2-c1-m7g-f0.1-r1",
            ]
        );
        assert_eq!(runs[5].point.memory_bytes, 7 << 30);
        assert_eq!(spec.timeout_sec, 3600);
    }

    #[test]
    fn a_list_parameter_is_an_axis() {
        let text = format!(
            "{EXAMPLE}\n[params]\nengine = [\"lightgbm\", \"xgboost\"]\ntrees = 40\nseeds = [1, 2, 3]\n"
        );
        let spec = StudySpec::from_toml(&text).unwrap();
        let combos = spec.param_points();
        assert_eq!(combos.len(), 6);
        assert_eq!(combos[0]["engine"], "lightgbm");
        assert_eq!(combos[0]["seeds"], 1);
        assert_eq!(combos[1]["seeds"], 2);
        assert_eq!(combos[3]["engine"], "xgboost");
        assert!(combos.iter().all(|c| c["trees"] == 40));
        let points = spec.points().unwrap();
        // 2 fractions × 6 combinations × 2 executor counts; executors vary fastest.
        assert_eq!(points.len(), 24);
        assert_eq!(points[0].params, combos[0]);
        assert_eq!(points[1].params, combos[0]);
        assert_eq!(
            (points[1].executors, points[2].params["seeds"].clone()),
            (2, 2.into())
        );
        let runs = spec.runs().unwrap();
        let ids: std::collections::BTreeSet<_> = runs.iter().map(|r| &r.run_id).collect();
        assert_eq!(
            ids.len(),
            runs.len(),
            "every combination has its own run ids"
        );

        // Folding completed combinations back gives the same grid.
        let mut folded = spec.clone();
        let completed: Vec<_> = combos
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.insert("eval".into(), "all".into());
                c
            })
            .collect();
        folded.set_param_points(&completed);
        assert_eq!(
            folded.params["engine"],
            serde_json::json!(["lightgbm", "xgboost"])
        );
        assert_eq!(folded.params["eval"], "all");
        assert_eq!(folded.param_points(), completed);

        let bad = format!("{EXAMPLE}\n[params]\nengine = []\n");
        let e = StudySpec::from_toml(&bad).unwrap_err().to_string();
        assert!(e.contains("parameter `engine` is an empty list"), "{e}");
    }

    #[test]
    fn a_top_level_command_is_one_parameter_not_an_axis() {
        let text = "name = \"job\"\nworkload = \"command\"\ncommand = [\"python3\", \"job.py\", \"--lr\"]\n\
                    executors = [1, 2]\ncores = [1]\nmemory = [\"1g\"]\nfractions = [1.0]\n\
                    [params]\nlr = [0.1, 0.01]\n";
        let spec = StudySpec::from_toml(text).unwrap();
        assert_eq!(
            spec.params["command"],
            serde_json::json!({"argv": ["python3", "job.py", "--lr"]})
        );
        // 2 executor counts × 2 values of lr; the command is the same at every point.
        assert_eq!(spec.points().unwrap().len(), 4);
        assert!(spec
            .param_points()
            .iter()
            .all(|p| p["command"]["argv"][1] == "job.py"));
        assert_eq!(StudySpec::from_toml(&spec.to_toml()).unwrap(), spec);
        let e = StudySpec::from_toml(&text.replace("[\"python3\", \"job.py\", \"--lr\"]", "[]"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("non-empty list of text"), "{e}");
        let twice = format!("{text}command = {{argv = [\"sh\"]}}\n");
        let e = StudySpec::from_toml(&twice).unwrap_err().to_string();
        assert!(e.contains("both at the top and in [params]"), "{e}");
    }

    #[test]
    fn toml_round_trips() {
        let spec = StudySpec::from_toml(EXAMPLE).unwrap();
        assert_eq!(StudySpec::from_toml(&spec.to_toml()).unwrap(), spec);
    }

    #[test]
    fn rejects_bad_axes() {
        let bad = |from: &str, to: &str| StudySpec::from_toml(&EXAMPLE.replace(from, to));
        assert!(matches!(
            bad("fractions = [0.05, 0.1]", "fractions = [0.0]"),
            Err(SpecError::BadFraction(_))
        ));
        assert!(matches!(
            bad("fractions = [0.05, 0.1]", "fractions = [1.5]"),
            Err(SpecError::BadFraction(_))
        ));
        assert!(matches!(
            bad("executors = [1, 2]", "executors = [0, 2]"),
            Err(SpecError::ZeroExecutors)
        ));
        assert!(matches!(
            bad("memory = [\"7g\"]", "memory = [\"7q\"]"),
            Err(SpecError::Memory(_))
        ));
        assert!(matches!(
            bad("name = \"fractal-local\"", "name = \"../x\""),
            Err(SpecError::BadName(_))
        ));
        assert!(matches!(
            bad("executors = [1, 2]", "executors = []"),
            Err(SpecError::EmptyAxis { axis: "executors" })
        ));
        let long = format!("name = \"{}\"", "x".repeat(10 << 20));
        let e = bad("name = \"fractal-local\"", &long).unwrap_err();
        assert!(matches!(e, SpecError::LongName(n) if n == 10 << 20));
        assert!(
            e.to_string().len() < 200,
            "the name is not echoed whole: {e}"
        );
        assert!(bad(
            "name = \"fractal-local\"",
            &format!("name = \"{}\"", "x".repeat(200))
        )
        .is_ok());
        assert!(matches!(
            bad("repetitions = 2", "repetitions = 2\ntimeout_sec = 0"),
            Err(SpecError::ZeroTimeout(0))
        ));
        let e = bad("repetitions = 2", "repetitons = 2").unwrap_err();
        assert!(e.to_string().contains("repetitons"), "{e}");
    }
}
