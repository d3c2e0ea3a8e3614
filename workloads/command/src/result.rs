//! The result a job reports: one JSON object, as the last non-empty line of its stdout or as the
//! content of the file named by `HARNESS_RESULT`.
//!
//! ```text
//! {"training_time_sec": 12.3, "test_accuracy": 0.912, "rows_per_sec": 181000}
//! ```
//!
//! Keys records already know (`accuracy`, `val_accuracy`, `test_accuracy`, `auc`, `f1`,
//! `precision`, `recall`, `rmse`, `mae`) fill those fields of [`Metrics`]; `training_time_sec`
//! is the job's own training time; every other number (or boolean, as 1/0) is kept under its
//! name in [`Metrics::extra`]. Other values (text, lists, objects, null) are not metrics: they
//! are returned in [`JobResult::ignored`] so the executor can say so in the run's log.

use harness_core::record::Metrics;
use serde_json::Value;
use thiserror::Error;

/// Longest excerpt of the job's output quoted in an error, characters.
const QUOTE_CHARS: usize = 300;

/// A result that could not be read, saying what was printed and where parsing stopped.
#[derive(Debug, Error, PartialEq)]
pub enum ResultError {
    #[error(
        "the job printed nothing on stdout and wrote no result file: print one JSON object as \
         the last line, e.g. {{\"training_time_sec\": 12.3, \"test_accuracy\": 0.91}}"
    )]
    Nothing,
    #[error(
        "the job's result ({source_name}) is not one JSON object: parsing `{text}` stopped at \
         line {line}, column {column}: {message}; print one JSON object as the last line, e.g. \
         {{\"training_time_sec\": 12.3, \"test_accuracy\": 0.91}}"
    )]
    Malformed {
        source_name: String,
        text: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the job's result ({source_name}) is JSON but not an object: `{text}`; print one JSON object, e.g. {{\"training_time_sec\": 12.3}}")]
    NotObject { source_name: String, text: String },
    #[error(
        "the job's result ({source_name}): `{key}` must be a number of seconds ≥ 0, got {value}"
    )]
    BadTime {
        source_name: String,
        key: String,
        value: String,
    },
    #[error("the job's result ({source_name}): `{key}` is a known metric and must be a finite number, got {value}")]
    BadMetric {
        source_name: String,
        key: String,
        value: String,
    },
}

/// What a job reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobResult {
    /// Its metrics (known fields plus extras).
    pub metrics: Metrics,
    /// Its own training time, seconds, when it gave `training_time_sec`.
    pub training_time_sec: Option<f64>,
    /// Keys whose values are not numbers, in the order given.
    pub ignored: Vec<String>,
}

/// The last non-empty line of `stdout`, if any.
pub fn last_line(stdout: &str) -> Option<&str> {
    stdout.lines().map(str::trim).rfind(|l| !l.is_empty())
}

/// Reads a result from `text`, which came from `source_name` (e.g. `its last stdout line`,
/// `HARNESS_RESULT file /tmp/r.json`).
///
/// # Errors
/// [`ResultError`]: not JSON (with the line and column where parsing stopped), not an object,
/// or a known metric or the training time that is not a finite number.
pub fn parse(text: &str, source_name: &str) -> Result<JobResult, ResultError> {
    let value: Value = serde_json::from_str(text.trim()).map_err(|e| ResultError::Malformed {
        source_name: source_name.into(),
        text: quote(text.trim()),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    let Value::Object(map) = value else {
        return Err(ResultError::NotObject {
            source_name: source_name.into(),
            text: quote(text.trim()),
        });
    };
    let mut out = JobResult::default();
    let m = &mut out.metrics;
    for (key, v) in map {
        let number = match &v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        };
        if key == "training_time_sec" {
            match number.filter(|t| t.is_finite() && *t >= 0.0) {
                Some(t) => out.training_time_sec = Some(t),
                None => {
                    return Err(ResultError::BadTime {
                        source_name: source_name.into(),
                        key,
                        value: v.to_string(),
                    })
                }
            }
            continue;
        }
        let field = match key.as_str() {
            "accuracy" => Some(&mut m.accuracy),
            "val_accuracy" => Some(&mut m.val_accuracy),
            "test_accuracy" => Some(&mut m.test_accuracy),
            "auc" => Some(&mut m.auc),
            "f1" => Some(&mut m.f1),
            "precision" => Some(&mut m.precision),
            "recall" => Some(&mut m.recall),
            "rmse" => Some(&mut m.rmse),
            "mae" => Some(&mut m.mae),
            _ => None,
        };
        match (field, number) {
            (Some(f), Some(x)) if x.is_finite() => *f = Some(x),
            (Some(_), _) => {
                return Err(ResultError::BadMetric {
                    source_name: source_name.into(),
                    key,
                    value: v.to_string(),
                })
            }
            (None, Some(x)) if x.is_finite() => {
                m.extra.insert(key, x);
            }
            (None, _) => out.ignored.push(key),
        }
    }
    Ok(out)
}

/// `text`, cut to [`QUOTE_CHARS`] characters with `…` when longer.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// serde_json's message without its trailing " at line L column C" (the error says it).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_metrics_time_and_extras() {
        let r = parse(
            r#"{"training_time_sec": 3.5, "test_accuracy": 0.91, "rmse": 1.25,
                "rows_per_sec": 1000, "converged": true, "engine": "spark", "lr": null}"#,
            "its last stdout line",
        )
        .unwrap();
        assert_eq!(r.training_time_sec, Some(3.5));
        assert_eq!(r.metrics.test_accuracy, Some(0.91));
        assert_eq!(r.metrics.rmse, Some(1.25));
        assert_eq!(r.metrics.accuracy, None);
        assert_eq!(r.metrics.extra["rows_per_sec"], 1000.0);
        assert_eq!(r.metrics.extra["converged"], 1.0);
        assert_eq!(r.metrics.extra.len(), 2);
        assert_eq!(r.ignored, vec!["engine", "lr"]);
    }

    #[test]
    fn no_time_is_none_and_the_last_line_is_the_result() {
        let out = "epoch 1 loss 0.3\n{\"auc\": 0.8}\n\n  \n";
        assert_eq!(last_line(out), Some("{\"auc\": 0.8}"));
        assert_eq!(last_line("\n \n"), None);
        let r = parse(last_line(out).unwrap(), "x").unwrap();
        assert_eq!(r.training_time_sec, None);
        assert_eq!(r.metrics.auc, Some(0.8));
    }

    #[test]
    fn malformed_json_names_the_text_and_the_column() {
        let e = parse(r#"{"auc": 0.8,, }"#, "its last stdout line").unwrap_err();
        let ResultError::Malformed { line, column, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!((*line, *column), (1, 13), "the second comma");
        let text = e.to_string();
        assert!(text.contains(r#"`{"auc": 0.8,, }`"#), "{text}");
        assert!(text.contains("its last stdout line"), "{text}");
        assert!(text.contains("column 13"), "{text}");
        assert!(
            !text.contains("at line 1 column"),
            "position said once: {text}"
        );
        let e = parse("done in 3 s", "its last stdout line").unwrap_err();
        assert!(e.to_string().contains("`done in 3 s`"), "{e}");
    }

    #[test]
    fn non_objects_and_bad_values_are_named() {
        assert!(matches!(
            parse("[1, 2]", "f"),
            Err(ResultError::NotObject { .. })
        ));
        let e = parse(r#"{"training_time_sec": -1}"#, "f").unwrap_err();
        assert!(e.to_string().contains("`training_time_sec`"), "{e}");
        let e = parse(r#"{"test_accuracy": "high"}"#, "f").unwrap_err();
        assert!(e.to_string().contains(r#"got "high""#), "{e}");
    }

    #[test]
    fn long_output_is_cut_in_the_message() {
        let long = "x".repeat(1000);
        let e = parse(&long, "f").unwrap_err().to_string();
        assert!(e.contains(&format!("`{}…`", "x".repeat(QUOTE_CHARS))));
        assert!(e.len() < 700, "{}", e.len());
    }
}
