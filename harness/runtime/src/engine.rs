//! The gradient-boosting libraries a workload can train with, by the names study parameters
//! and records use: LightGBM (`lightgbm3`, linked by this crate) and XGBoost (the `xgb` crate,
//! through `harness-xgboost`, linked only by the workloads that use it).

use serde::{Deserialize, Serialize};

/// A gradient-boosting library. Serialised as its [`Engine::name`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Engine {
    /// LightGBM 4.7 (`lightgbm3`).
    #[default]
    #[serde(rename = "lightgbm")]
    LightGbm,
    /// XGBoost 3.4 (`xgb`, compiled from source).
    #[serde(rename = "xgboost")]
    XgBoost,
}

impl Engine {
    /// Every engine, in the order records list them.
    pub const ALL: [Engine; 2] = [Engine::LightGbm, Engine::XgBoost];

    /// The name in study parameters, records and metric names: `lightgbm` or `xgboost`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::LightGbm => "lightgbm",
            Engine::XgBoost => "xgboost",
        }
    }

    /// The engine called `name`.
    ///
    /// # Errors
    /// An unknown name, listing the known ones.
    pub fn parse(name: &str) -> Result<Self, String> {
        Engine::ALL
            .into_iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| format!("unknown engine `{name}` (known: lightgbm, xgboost)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_serialise_alike() {
        for e in Engine::ALL {
            assert_eq!(Engine::parse(e.name()), Ok(e));
            assert_eq!(serde_json::to_value(e).unwrap(), e.name());
        }
        assert_eq!(
            Engine::parse("catboost").unwrap_err(),
            "unknown engine `catboost` (known: lightgbm, xgboost)"
        );
    }
}
