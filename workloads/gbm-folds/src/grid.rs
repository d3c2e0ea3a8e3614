//! The hyperparameter grid: a TOML table of lists, validated against LightGBM's ranges, and
//! its expansion into grid points.
//!
//! Reference grid (the Spark + LightGBM reference testbed's grid): `lambda_l1` {0.3, 12,
//! 40} × `max_depth` {10, 15, 17} × `feature_fraction` (the reference's colsample) {0.1, 0.3,
//! 0.4} × `lambda_l2` {0.01, 0.1} = 54 points. A grid file looks like
//!
//! ```toml
//! lambda_l1 = [0.3, 12, 40]
//! max_depth = [10, 15, 17]
//! feature_fraction = [0.1, 0.3, 0.4]
//! lambda_l2 = [0.01, 0.1]
//! ```
//!
//! Every name must be one of [`PARAMS`]; every list non-empty; every value inside LightGBM's
//! range for that parameter (LightGBM documentation, "Parameters").

use std::collections::BTreeMap;

use serde_json::Value;

/// One grid parameter: its LightGBM name, whether it is an integer, and its valid range
/// (inclusive bounds unless noted).
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub integer: bool,
    /// Lowest valid value and whether it is excluded.
    pub min: f64,
    pub min_exclusive: bool,
    pub max: f64,
    pub help: &'static str,
}

/// Parameters a grid may vary, with LightGBM's constraints.
pub const PARAMS: [ParamSpec; 8] = [
    ParamSpec {
        name: "lambda_l1",
        integer: false,
        min: 0.0,
        min_exclusive: false,
        max: f64::INFINITY,
        help: "L1 regularisation, ≥ 0",
    },
    ParamSpec {
        name: "max_depth",
        integer: true,
        min: 1.0,
        min_exclusive: false,
        max: 1e6,
        help: "tree depth limit, an integer ≥ 1",
    },
    ParamSpec {
        name: "feature_fraction",
        integer: false,
        min: 0.0,
        min_exclusive: true,
        max: 1.0,
        help: "share of features per tree (colsample), in (0, 1]",
    },
    ParamSpec {
        name: "lambda_l2",
        integer: false,
        min: 0.0,
        min_exclusive: false,
        max: f64::INFINITY,
        help: "L2 regularisation, ≥ 0",
    },
    ParamSpec {
        name: "num_leaves",
        integer: true,
        min: 2.0,
        min_exclusive: false,
        max: 131_072.0,
        help: "leaves per tree, an integer in [2, 131072]",
    },
    ParamSpec {
        name: "learning_rate",
        integer: false,
        min: 0.0,
        min_exclusive: true,
        max: f64::INFINITY,
        help: "shrinkage, > 0",
    },
    ParamSpec {
        name: "min_data_in_leaf",
        integer: true,
        min: 0.0,
        min_exclusive: false,
        max: 1e9,
        help: "rows per leaf at least, an integer ≥ 0",
    },
    ParamSpec {
        name: "bagging_fraction",
        integer: false,
        min: 0.0,
        min_exclusive: true,
        max: 1.0,
        help: "share of rows per iteration, in (0, 1]",
    },
];

/// A validated grid: parameter → values, in [`PARAMS`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub axes: Vec<(&'static str, Vec<f64>)>,
}

/// One point of the grid: (parameter, value) pairs in [`PARAMS`] order.
pub type GridPoint = Vec<(String, f64)>;

impl Grid {
    /// The reference grid (54 points).
    pub fn reference() -> Self {
        Grid {
            axes: vec![
                ("lambda_l1", vec![0.3, 12.0, 40.0]),
                ("max_depth", vec![10.0, 15.0, 17.0]),
                ("feature_fraction", vec![0.1, 0.3, 0.4]),
                ("lambda_l2", vec![0.01, 0.1]),
            ],
        }
    }

    /// A grid from a JSON object of lists (how it travels in a point's parameters).
    ///
    /// # Errors
    /// Not an object, an unknown parameter (the known ones are listed), a value that is not a
    /// non-empty list of numbers, a value out of range — each naming the parameter.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("the grid must be a table of lists, got {v}"))?;
        if obj.is_empty() {
            return Err(
                "the grid is empty: give at least one parameter with a list of values".into(),
            );
        }
        let mut axes = Vec::new();
        for (name, values) in obj {
            let spec = PARAMS.iter().find(|p| p.name == name).ok_or_else(|| {
                let known: Vec<String> = PARAMS
                    .iter()
                    .map(|p| format!("{} ({})", p.name, p.help))
                    .collect();
                format!(
                    "unknown grid parameter `{name}`; a grid may vary: {}",
                    known.join(", ")
                )
            })?;
            let list = values
                .as_array()
                .ok_or_else(|| format!("grid parameter `{name}` must be a list, got {values}"))?;
            if list.is_empty() {
                return Err(format!(
                    "grid parameter `{name}` has an empty list: give at least one value"
                ));
            }
            let mut xs = Vec::with_capacity(list.len());
            for x in list {
                let f = x
                    .as_f64()
                    .ok_or_else(|| format!("grid parameter `{name}`: {x} is not a number"))?;
                check_value(spec, f)?;
                xs.push(f);
            }
            axes.push((spec.name, xs));
        }
        axes.sort_by_key(|(n, _)| PARAMS.iter().position(|p| p.name == *n));
        Ok(Grid { axes })
    }

    /// A grid from TOML text.
    ///
    /// # Errors
    /// TOML syntax errors, then as [`Grid::from_json`].
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let json = serde_json::to_value(table).map_err(|e| e.to_string())?;
        Grid::from_json(&json)
    }

    /// The grid as a JSON object of lists.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.axes
                .iter()
                .map(|(n, xs)| (n.to_string(), serde_json::json!(xs)))
                .collect(),
        )
    }

    /// Every point, the first axis varying slowest.
    pub fn points(&self) -> Vec<GridPoint> {
        let mut points: Vec<GridPoint> = vec![Vec::new()];
        for (name, xs) in &self.axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    xs.iter().map(move |x| {
                        let mut q = p.clone();
                        q.push((name.to_string(), *x));
                        q
                    })
                })
                .collect();
        }
        points
    }
}

fn check_value(spec: &ParamSpec, v: f64) -> Result<(), String> {
    let low_ok = if spec.min_exclusive {
        v > spec.min
    } else {
        v >= spec.min
    };
    if !v.is_finite() || !low_ok || v > spec.max || (spec.integer && v.fract() != 0.0) {
        return Err(format!(
            "grid parameter `{}` = {v} is out of LightGBM's range: {}",
            spec.name, spec.help
        ));
    }
    Ok(())
}

/// LightGBM `key=value` text of a grid point (integers without a decimal point).
pub fn lightgbm_text(point: &[(String, f64)]) -> String {
    point
        .iter()
        .map(|(k, v)| {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{k}={}", *v as i64)
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A point as a JSON object (for records and artifacts).
pub fn point_json(point: &[(String, f64)]) -> BTreeMap<String, f64> {
    point.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_grid_has_54_points_and_round_trips() {
        let g = Grid::reference();
        let pts = g.points();
        assert_eq!(pts.len(), 54);
        assert_eq!(
            pts[0],
            vec![
                ("lambda_l1".to_string(), 0.3),
                ("max_depth".to_string(), 10.0),
                ("feature_fraction".to_string(), 0.1),
                ("lambda_l2".to_string(), 0.01),
            ]
        );
        assert_eq!(Grid::from_json(&g.to_json()).unwrap(), g);
        assert_eq!(
            lightgbm_text(&pts[0]),
            "lambda_l1=0.3 max_depth=10 feature_fraction=0.1 lambda_l2=0.01"
        );
    }

    #[test]
    fn toml_files_parse_and_bad_grids_are_named() {
        let g = Grid::from_toml("max_depth = [3, 5]\nlambda_l1 = [0, 1.5]\n").unwrap();
        assert_eq!(g.points().len(), 4);
        assert_eq!(g.axes[0].0, "lambda_l1", "PARAMS order, not file order");
        let e = |v: Value| Grid::from_json(&v).unwrap_err();
        assert!(e(json!({"max_dept": [3]})).contains("unknown grid parameter `max_dept`"));
        assert!(e(json!({"max_depth": []})).contains("empty list"));
        assert!(e(json!({"feature_fraction": [0.5, 1.5]})).contains("(0, 1]"));
        assert!(e(json!({"max_depth": [2.5]})).contains("integer"));
        assert!(e(json!({"lambda_l1": [-1]})).contains("≥ 0"));
        assert!(e(json!({"lambda_l1": "big"})).contains("must be a list"));
        assert!(e(json!({})).contains("empty"));
        assert!(Grid::from_toml("max_depth = [3").is_err());
    }
}
