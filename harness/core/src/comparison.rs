//! Comparison studies: several series — our engine, a reference engine run as a `command` job,
//! … — on one grid of cluster shapes, run interleaved and reported side by side.
//!
//! A comparison file is a study file whose workload and parameters move into `[[series]]`
//! tables; the grid (executors, cores, memory, fractions, repetitions, timeout, data) is shared:
//!
//! ```toml
//! name = "fractal-vs-spark"
//! executors = [1, 2]
//! cores = [1]
//! memory = ["4g"]
//! fractions = [0.1]
//! repetitions = 3
//!
//! [[series]]                 # the first series is the one the others are compared with
//! name = "harness"
//! workload = "fractal-rf"
//! params = { trees = 40, max_depth = 6 }
//!
//! [[series]]
//! name = "spark-mllib"
//! workload = "command"
//! command = ["python3", "examples/spark-rf-fractal/job.py"]
//! params = { launch = "once" }
//! ```
//!
//! Each series is a study of its own, named `<name>.<series>` (its own `runs.jsonl`, so
//! `--resume`, S3 mirroring and a report of one series work as for any study). The runs are
//! interleaved ([`interleave`]) so that a slow hour of the machine falls on both series alike.

use crate::record::Point;
use crate::spec::{RunPlan, SpecError, StudySpec};

/// Keys of a comparison file's top level that every series shares.
const SHARED: [&str; 8] = [
    "executors",
    "cores",
    "memory",
    "fractions",
    "repetitions",
    "timeout_sec",
    "data",
    "name",
];

/// A parsed comparison: its name and one study per series, the first being the one the others
/// are compared with (the denominator of every ratio, the subtrahend of every difference).
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonSpec {
    /// The comparison's name: its report is `reports/<name>/`.
    pub name: String,
    /// Series names, in file order (`harness`, `spark-mllib`).
    pub series: Vec<String>,
    /// One study per series, named `<name>.<series>`, same grid.
    pub studies: Vec<StudySpec>,
}

/// Whether a study file's text is a comparison (has `[[series]]` tables). Text that is not
/// TOML is not a comparison (the study parser then says what is wrong with it).
pub fn is_comparison(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("series"))
}

fn err(msg: impl Into<String>) -> SpecError {
    SpecError::Comparison(msg.into())
}

impl ComparisonSpec {
    /// Parses a comparison file: every series becomes a [`StudySpec`] of the shared grid plus
    /// its own `workload`, `command` and `params`, validated as a study file is.
    ///
    /// # Errors
    /// [`SpecError::Comparison`] for fewer than two series, a series without `name` or
    /// `workload`, a repeated or unusable series name, a `workload`/`params`/`command` at the
    /// top level; otherwise the study errors of the series, prefixed by its name.
    pub fn from_toml(text: &str) -> Result<Self, SpecError> {
        let mut top: toml::Table =
            toml::from_str(text).map_err(|e| SpecError::Toml(e.to_string()))?;
        let Some(series) = top.remove("series") else {
            return Err(err(
                "no [[series]] tables: a comparison lists two or more series",
            ));
        };
        let series = series
            .as_array()
            .filter(|a| a.iter().all(toml::Value::is_table))
            .ok_or_else(|| err("`series` must be [[series]] tables"))?
            .clone();
        if series.len() < 2 {
            return Err(err(format!(
                "{} series: a comparison needs two or more [[series]] (the first is the one the others are compared with)",
                series.len()
            )));
        }
        for key in ["workload", "params", "command"] {
            if top.contains_key(key) {
                return Err(err(format!(
                    "`{key}` at the top of a comparison: put it in each [[series]] (each series has its own workload, command and params)"
                )));
            }
        }
        if let Some(k) = top.keys().find(|k| !SHARED.contains(&k.as_str())) {
            return Err(err(format!(
                "unknown key `{k}` at the top of a comparison (known: {})",
                SHARED.join(", ")
            )));
        }
        let name = top
            .get("name")
            .and_then(toml::Value::as_str)
            .ok_or_else(|| err("the comparison has no `name`"))?
            .to_string();
        let mut names = Vec::new();
        let mut studies = Vec::new();
        for (i, s) in series.into_iter().enumerate() {
            let mut s = s.as_table().expect("checked: a table").clone();
            let series_name = match s.remove("name") {
                Some(toml::Value::String(n)) => n,
                _ => return Err(err(format!("series {} has no `name`", i + 1))),
            };
            let usable = !series_name.is_empty()
                && series_name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
            if !usable {
                return Err(err(format!(
                    "series name {series_name:?}: use letters, digits, '_' or '-' (it ends the series' study name, `{name}.<series>`)"
                )));
            }
            if names.contains(&series_name) {
                return Err(err(format!("series `{series_name}` is given twice")));
            }
            if !s.contains_key("workload") {
                return Err(err(format!("series `{series_name}` has no `workload`")));
            }
            if let Some(k) = s
                .keys()
                .find(|k| !["workload", "command", "params"].contains(&k.as_str()))
            {
                return Err(err(format!(
                    "unknown key `{k}` in series `{series_name}` (a series has name, workload, command and params; the grid is shared, at the top)"
                )));
            }
            let mut study = top.clone();
            study.extend(s);
            study.insert(
                "name".into(),
                toml::Value::String(format!("{name}.{series_name}")),
            );
            let text = toml::to_string(&study).map_err(|e| SpecError::Toml(e.to_string()))?;
            let spec = StudySpec::from_toml(&text)
                .map_err(|e| err(format!("series `{series_name}`: {e}")))?;
            names.push(series_name);
            studies.push(spec);
        }
        Ok(ComparisonSpec {
            name,
            series: names,
            studies,
        })
    }
}

/// Position of a point's shape (memory, cores, fraction, executors) in the order
/// [`StudySpec::points`] walks the grid.
fn shape_key(spec: &StudySpec, p: &Point) -> (usize, usize, usize, usize) {
    let memory = spec
        .memory
        .iter()
        .position(|m| crate::units::parse_memory(m).ok() == Some(p.memory_bytes));
    let cores = spec.cores.iter().position(|c| *c == p.cores);
    let fraction = spec
        .fractions
        .iter()
        .position(|f| (f - p.fraction).abs() < 1e-12);
    let executors = spec.executors.iter().position(|e| *e == p.executors);
    (
        memory.unwrap_or(usize::MAX),
        cores.unwrap_or(usize::MAX),
        fraction.unwrap_or(usize::MAX),
        executors.unwrap_or(usize::MAX),
    )
}

/// The order to make the runs of several series on one grid: `todo[s]` holds series `s`'s
/// runs (its plan and first attempt number, as [`StudySpec::runs`] orders them); the result
/// holds `(series, plan, attempt)`.
///
/// Repetition-major like a single study; within a repetition, point by point, every series
/// runs the point before the next point starts; the series take turns in alternating order
/// (A B, then B A at the next repetition, as an ABBA design does), so neither always runs on a
/// machine the other has just warmed or heated. `grid` is the shared grid (any series' spec).
pub fn interleave<'a>(
    grid: &StudySpec,
    todo: &[Vec<(&'a RunPlan, u32)>],
) -> Vec<(usize, &'a RunPlan, u32)> {
    let n = todo.len();
    let mut all: Vec<(usize, usize, &'a RunPlan, u32)> = todo
        .iter()
        .enumerate()
        .flat_map(|(s, runs)| {
            runs.iter()
                .enumerate()
                .map(move |(i, &(plan, attempt))| (s, i, plan, attempt))
        })
        .collect();
    // The key parses memory sizes: computed once per run.
    all.sort_by_cached_key(|&(s, i, plan, _)| {
        let turn = if plan.repetition % 2 == 0 {
            s
        } else {
            n - 1 - s
        };
        (plan.repetition, shape_key(grid, &plan.point), turn, i)
    });
    all.into_iter().map(|(s, _, p, a)| (s, p, a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
name = "fractal-vs-spark"
executors = [1, 2]
cores = [1]
memory = ["4g"]
fractions = [0.1]
repetitions = 2
timeout_sec = 900

[[series]]
name = "harness"
workload = "fractal-rf"
params = { trees = 40, max_depth = 6 }

[[series]]
name = "spark-mllib"
workload = "command"
command = ["python3", "job.py"]
params = { launch = "once" }
"#;

    #[test]
    fn each_series_is_a_study_of_the_shared_grid() {
        assert!(is_comparison(FILE));
        assert!(!is_comparison("name = \"x\"\nworkload = \"wine\""));
        let c = ComparisonSpec::from_toml(FILE).unwrap();
        assert_eq!(c.name, "fractal-vs-spark");
        assert_eq!(c.series, ["harness", "spark-mllib"]);
        let [ours, spark] = &c.studies[..] else {
            panic!("two studies")
        };
        assert_eq!(ours.name, "fractal-vs-spark.harness");
        assert_eq!(spark.name, "fractal-vs-spark.spark-mllib");
        assert_eq!(
            (ours.workload.as_str(), spark.workload.as_str()),
            ("fractal-rf", "command")
        );
        for s in &c.studies {
            assert_eq!(
                (&s.executors[..], &s.cores[..], s.repetitions, s.timeout_sec),
                (&[1, 2][..], &[1][..], 2, 900)
            );
        }
        assert_eq!(ours.params["trees"], 40);
        assert!(!ours.params.contains_key("command"));
        assert_eq!(spark.params["command"]["argv"][1], "job.py");
        assert_eq!(spark.params["launch"], "once");
    }

    #[test]
    fn a_wrong_comparison_says_what_to_change() {
        let cases = [
            (
                FILE.replace("name = \"spark-mllib\"", "name = \"harness\""),
                "given twice",
            ),
            (
                FILE.split("[[series]]\nname = \"spark")
                    .next()
                    .unwrap()
                    .to_string(),
                "two or more",
            ),
            (
                FILE.replace("repetitions = 2", "repetitions = 2\nworkload = \"wine\""),
                "put it in each [[series]]",
            ),
            (
                FILE.replace("repetitions = 2", "repetitions = 2\nrepeats = 2"),
                "unknown key `repeats`",
            ),
            (
                FILE.replace("name = \"spark-mllib\"", "name = \"spark mllib\""),
                "series name",
            ),
            (
                FILE.replace("workload = \"command\"", ""),
                "has no `workload`",
            ),
            (
                FILE.replace(
                    "workload = \"command\"",
                    "workload = \"command\"\nexecutors = [4]",
                ),
                "unknown key `executors` in series",
            ),
            (
                FILE.replace("cores = [1]", "cores = [0]"),
                "series `harness`: cores must be at least 1",
            ),
        ];
        for (text, want) in cases {
            let e = ComparisonSpec::from_toml(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{want:?} not in {e:?}");
        }
    }

    #[test]
    fn runs_alternate_series_point_by_point_in_abba_order() {
        let c = ComparisonSpec::from_toml(FILE).unwrap();
        let plans: Vec<Vec<RunPlan>> = c.studies.iter().map(|s| s.runs().unwrap()).collect();
        let todo: Vec<Vec<(&RunPlan, u32)>> = plans
            .iter()
            .map(|p| p.iter().map(|r| (r, 0)).collect())
            .collect();
        let order: Vec<(usize, u32, u32)> = interleave(&c.studies[0], &todo)
            .into_iter()
            .map(|(s, p, _)| (s, p.point.executors, p.repetition))
            .collect();
        // (series, executors, repetition)
        let want = [
            (0, 1, 0),
            (1, 1, 0),
            (0, 2, 0),
            (1, 2, 0),
            (1, 1, 1),
            (0, 1, 1),
            (1, 2, 1),
            (0, 2, 1),
        ];
        assert_eq!(order, want);
        // A resumed comparison keeps the order of what is left.
        let partial = vec![todo[0][2..].to_vec(), todo[1][1..].to_vec()];
        let left: Vec<(usize, u32)> = interleave(&c.studies[0], &partial)
            .into_iter()
            .map(|(s, p, _)| (s, p.point.executors))
            .collect();
        assert_eq!(left, [(1, 2), (1, 1), (0, 1), (1, 2), (0, 2)]);
    }
}
