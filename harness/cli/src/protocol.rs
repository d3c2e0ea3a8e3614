//! MLflow's scoring protocol for `POST /invocations`, parsed strictly.
//!
//! Accepted bodies (MLflow 2.x/3.x `pyfunc` scoring server, JSON):
//! - `{"dataframe_split": {"columns": [..], "data": [[..], ..], "index": [..]?}}`
//! - `{"dataframe_records": [{"col": value, ..}, ..]}`
//!
//! Every feature the model names must be present; other columns are ignored (as MLflow's schema
//! enforcement does). Values must be JSON numbers. The answer is `{"predictions": [p, ..]}`.
//! Every problem is a [`ProtocolError`] whose message names the offending field, so the server
//! answers 400 with it.

use serde_json::{Map, Value};

/// A malformed scoring request; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

fn bad(msg: impl Into<String>) -> ProtocolError {
    ProtocolError(msg.into())
}

fn number(v: &Value, field: &str) -> Result<f64, ProtocolError> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(format!("{field}: {n} is not a finite number"))),
        Value::Null => Err(bad(format!(
            "{field}: null is not allowed (expected a number)"
        ))),
        other => Err(bad(format!(
            "{field}: expected a number, got {} {other}",
            kind(other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses a request body into row-major values of `features` (in that order, one row per
/// record).
///
/// # Errors
/// Not JSON, not an object, neither or both of `dataframe_split` / `dataframe_records`, a
/// missing feature column, a row of the wrong length, a value that is not a number, no rows.
pub fn parse(body: &[u8], features: &[String]) -> Result<Vec<f64>, ProtocolError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("body is not valid JSON: {e}")))?;
    let Value::Object(obj) = v else {
        return Err(bad(format!(
            "body must be a JSON object with `dataframe_split` or `dataframe_records`, got {}",
            kind(&v)
        )));
    };
    let formats: Vec<&String> = obj
        .keys()
        .filter(|k| {
            [
                "dataframe_split",
                "dataframe_records",
                "instances",
                "inputs",
            ]
            .contains(&k.as_str())
        })
        .collect();
    let rows = match formats.as_slice() {
        [k] if k.as_str() == "dataframe_split" => split(&obj["dataframe_split"], features)?,
        [k] if k.as_str() == "dataframe_records" => records(&obj["dataframe_records"], features)?,
        [k] => {
            return Err(bad(format!(
                "`{k}` (tensor input) is not supported by this model: send `dataframe_split` or `dataframe_records`"
            )))
        }
        [] => {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(bad(format!(
                "body has no `dataframe_split` or `dataframe_records` field (it has: {})",
                keys.join(", ")
            )));
        }
        _ => return Err(bad("body must hold exactly one of `dataframe_split`, `dataframe_records`")),
    };
    if rows.is_empty() {
        return Err(bad("no rows to score"));
    }
    Ok(rows)
}

fn split(v: &Value, features: &[String]) -> Result<Vec<f64>, ProtocolError> {
    let obj = v.as_object().ok_or_else(|| {
        bad(format!(
            "dataframe_split: expected an object, got {}",
            kind(v)
        ))
    })?;
    let columns = obj
        .get("columns")
        .ok_or_else(|| bad("dataframe_split.columns is missing"))?
        .as_array()
        .ok_or_else(|| bad("dataframe_split.columns: expected an array of names"))?;
    let names: Vec<&str> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.as_str().ok_or_else(|| {
                bad(format!(
                    "dataframe_split.columns[{i}]: expected a string, got {}",
                    kind(c)
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    // A duplicated name would leave its second copy unchecked; pandas would keep both.
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return Err(bad(format!(
                "dataframe_split.columns: `{n}` appears twice (columns[{j}] and columns[{i}])"
            )));
        }
    }
    let positions: Vec<usize> = features
        .iter()
        .map(|f| {
            names.iter().position(|n| n == f).ok_or_else(|| {
                bad(format!(
                    "dataframe_split.columns: missing column `{f}` (required: {})",
                    features.join(", ")
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let data = obj
        .get("data")
        .ok_or_else(|| bad("dataframe_split.data is missing"))?
        .as_array()
        .ok_or_else(|| bad("dataframe_split.data: expected an array of rows"))?;
    let mut out = Vec::with_capacity(data.len() * features.len());
    for (r, row) in data.iter().enumerate() {
        let row = row.as_array().ok_or_else(|| {
            bad(format!(
                "dataframe_split.data[{r}]: expected an array, got {}",
                kind(row)
            ))
        })?;
        if row.len() != names.len() {
            return Err(bad(format!(
                "dataframe_split.data[{r}]: {} values for {} columns",
                row.len(),
                names.len()
            )));
        }
        for (f, &p) in features.iter().zip(&positions) {
            out.push(number(
                &row[p],
                &format!("dataframe_split.data[{r}][{p}] (`{f}`)"),
            )?);
        }
    }
    Ok(out)
}

fn records(v: &Value, features: &[String]) -> Result<Vec<f64>, ProtocolError> {
    let rows = v.as_array().ok_or_else(|| {
        bad(format!(
            "dataframe_records: expected an array of objects, got {}",
            kind(v)
        ))
    })?;
    let mut out = Vec::with_capacity(rows.len() * features.len());
    for (r, row) in rows.iter().enumerate() {
        let row: &Map<String, Value> = row.as_object().ok_or_else(|| {
            bad(format!(
                "dataframe_records[{r}]: expected an object, got {}",
                kind(row)
            ))
        })?;
        for f in features {
            let v = row
                .get(f.as_str())
                .ok_or_else(|| bad(format!("dataframe_records[{r}]: missing field `{f}`")))?;
            out.push(number(v, &format!("dataframe_records[{r}].{f}"))?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A model's features, in model order.
    const FEATURES: [&str; 12] = [
        "fixed_acidity",
        "volatile_acidity",
        "citric_acid",
        "residual_sugar",
        "chlorides",
        "free_sulfur_dioxide",
        "total_sulfur_dioxide",
        "density",
        "pH",
        "sulphates",
        "alcohol",
        "is_red",
    ];

    fn parse(body: &[u8]) -> Result<Vec<f64>, ProtocolError> {
        let features: Vec<String> = FEATURES.iter().map(|f| f.to_string()).collect();
        super::parse(body, &features)
    }

    fn row() -> Vec<f64> {
        vec![
            7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4, 1.0,
        ]
    }

    #[test]
    fn split_and_records_agree_and_reorder_columns() {
        let mut cols: Vec<&str> = FEATURES.to_vec();
        cols.reverse();
        let mut r = row();
        r.reverse();
        let body = json!({"dataframe_split": {"columns": cols, "data": [r, r], "index": [0, 1]}});
        let a = parse(body.to_string().as_bytes()).unwrap();
        let rec: Map<String, Value> = FEATURES
            .iter()
            .zip(row())
            .map(|(f, v)| (f.to_string(), json!(v)))
            .collect();
        let mut with_extra = rec.clone();
        with_extra.insert("quality".into(), json!(5));
        let body = json!({"dataframe_records": [rec, with_extra]});
        let b = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[..12], &row()[..]);
    }

    #[test]
    fn errors_name_the_field() {
        let e = |v: Value| parse(v.to_string().as_bytes()).unwrap_err().0;
        let mut cols: Vec<&str> = FEATURES.to_vec();
        assert!(
            e(json!({"dataframe_split": {"columns": cols[..11], "data": [[1]]}}))
                .contains("missing column `is_red`")
        );
        let mut bad_row: Vec<Value> = row().into_iter().map(|x| json!(x)).collect();
        bad_row[3] = json!("sweet");
        assert!(
            e(json!({"dataframe_split": {"columns": cols, "data": [bad_row]}})).contains(
                "dataframe_split.data[0][3] (`residual_sugar`): expected a number, got string"
            )
        );
        let mut twice = cols.clone();
        twice.push("pH");
        let mut row_twice: Vec<Value> = row().into_iter().map(|x| json!(x)).collect();
        row_twice.push(json!("acidic"));
        assert!(
            e(json!({"dataframe_split": {"columns": twice, "data": [row_twice]}}))
                .contains("`pH` appears twice (columns[8] and columns[12])")
        );
        cols.pop();
        let rec: Map<String, Value> = cols.iter().map(|f| (f.to_string(), json!(1.0))).collect();
        assert!(e(json!({"dataframe_records": [rec]}))
            .contains("dataframe_records[0]: missing field `is_red`"));
        assert!(parse(b"{not json")
            .unwrap_err()
            .0
            .contains("not valid JSON"));
    }
}
