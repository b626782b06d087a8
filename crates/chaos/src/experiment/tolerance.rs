//! Tolerances as Chaos Toolkit defines them (chaoslib's `within_tolerance`):
//! a scalar compares with the probe's value, or with its `status` (http,
//! process) or `body`/`stdout` (strings) when the value is such an answer;
//! `regex`, `jsonpath` and `range` read a `target` key when given; a
//! `probe` tolerance is another probe that receives the value.

use serde_json::Value;
use serde_json_path::JsonPath;

use super::model::Activity;

#[derive(Debug, Clone, PartialEq)]
pub enum Tolerance {
    Bool(bool),
    Int(i64),
    Number(f64),
    /// The value (or its `status`) is one of these.
    List(Vec<Value>),
    String(String),
    Regex {
        pattern: String,
        target: Option<String>,
    },
    JsonPath {
        path: String,
        expect: Option<Value>,
        target: Option<String>,
        count: Option<usize>,
    },
    Range {
        lo: f64,
        hi: f64,
        target: Option<String>,
    },
    /// A probe called with the value as its `value` argument; met when it
    /// succeeds with a truthy output.
    Probe(Box<Activity>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToleranceError {
    #[error("invalid regex {pattern:?}: {reason}")]
    Regex { pattern: String, reason: String },
    #[error("invalid JSONPath {path:?}: {reason}")]
    JsonPath { path: String, reason: String },
    #[error("a probe tolerance is run by the runner, not compared")]
    NeedsProbe,
}

/// Whether `value` (a probe's output) is within `tolerance`.
pub fn tolerance_met(tolerance: &Tolerance, value: &Value) -> Result<bool, ToleranceError> {
    Ok(match tolerance {
        Tolerance::Bool(b) => field(value, "status") == &Value::Bool(*b),
        Tolerance::Int(i) => {
            let v = field(value, "status");
            v.as_i64() == Some(*i) || v.as_f64() == Some(*i as f64)
        }
        Tolerance::Number(n) => field(value, "status").as_f64() == Some(*n),
        Tolerance::List(list) => {
            let v = field(value, "status");
            list.iter().any(|x| same(x, v))
        }
        Tolerance::String(s) => {
            let v = match value {
                Value::Object(o) => o.get("body").or_else(|| o.get("stdout")).unwrap_or(value),
                _ => value,
            };
            v.as_str() == Some(s.as_str())
        }
        Tolerance::Regex { pattern, target } => {
            let rx = regex::Regex::new(pattern).map_err(|e| ToleranceError::Regex {
                pattern: pattern.clone(),
                reason: e.to_string(),
            })?;
            match targeted(value, target.as_deref()) {
                Value::String(s) => rx.is_match(s),
                other => rx.is_match(&other.to_string()),
            }
        }
        Tolerance::JsonPath {
            path,
            expect,
            target,
            count,
        } => {
            let px = compile_jsonpath(path)?;
            let v = targeted(value, target.as_deref());
            // A body given as text is read as the JSON it holds.
            let parsed;
            let v = match v {
                Value::String(s) => match serde_json::from_str::<Value>(s) {
                    Ok(p) => {
                        parsed = p;
                        &parsed
                    }
                    Err(_) => v,
                },
                _ => v,
            };
            let found: Vec<&Value> = px.query(v).all();
            if let Some(n) = count {
                found.len() == *n
            } else {
                match expect {
                    None => !found.is_empty(),
                    Some(Value::Array(want)) => {
                        found.len() == want.len() && found.iter().zip(want).all(|(a, b)| same(a, b))
                    }
                    Some(want) => found.len() == 1 && same(found[0], want),
                }
            }
        }
        Tolerance::Range { lo, hi, target } => match number(targeted(value, target.as_deref())) {
            Some(x) => *lo <= x && x <= *hi,
            None => false,
        },
        Tolerance::Probe(_) => return Err(ToleranceError::NeedsProbe),
    })
}

pub(crate) fn compile_jsonpath(path: &str) -> Result<JsonPath, ToleranceError> {
    JsonPath::parse(path).map_err(|e| ToleranceError::JsonPath {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// The value, or its `key` when it is an object holding one.
fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    match value {
        Value::Object(o) => o.get(key).unwrap_or(value),
        _ => value,
    }
}

fn targeted<'a>(value: &'a Value, target: Option<&str>) -> &'a Value {
    match target {
        Some(t) => field(value, t),
        None => value,
    }
}

/// Numbers compare by value (1 == 1.0), everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A number, or a string holding one (Prometheus answers hold "0.25").
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn met(t: Tolerance, v: Value) -> bool {
        tolerance_met(&t, &v).expect("tolerance")
    }

    #[test]
    fn scalars_compare_with_the_value_or_its_status() {
        assert!(met(Tolerance::Bool(true), json!(true)));
        assert!(!met(Tolerance::Bool(true), json!(false)));
        assert!(met(
            Tolerance::Int(200),
            json!({"status": 200, "body": "ok"})
        ));
        assert!(!met(Tolerance::Int(200), json!({"status": 503})));
        assert!(met(Tolerance::Int(0), json!({"status": 0, "stdout": ""})));
        assert!(met(Tolerance::Number(0.5), json!(0.5)));
        assert!(met(
            Tolerance::List(vec![json!(200), json!(204)]),
            json!({"status": 204})
        ));
        assert!(!met(
            Tolerance::List(vec![json!(200)]),
            json!({"status": 500})
        ));
        assert!(met(
            Tolerance::String("ok".into()),
            json!({"status": 200, "body": "ok"})
        ));
        assert!(met(
            Tolerance::String("hi\n".into()),
            json!({"status": 0, "stdout": "hi\n"})
        ));
        assert!(met(Tolerance::String("x".into()), json!("x")));
    }

    #[test]
    fn regex_searches_the_target() {
        let t = Tolerance::Regex {
            pattern: "^up".into(),
            target: Some("body".into()),
        };
        assert!(met(t.clone(), json!({"body": "up and running"})));
        assert!(!met(t, json!({"body": "down"})));
        let bad = Tolerance::Regex {
            pattern: "(".into(),
            target: None,
        };
        assert!(matches!(
            tolerance_met(&bad, &json!("x")),
            Err(ToleranceError::Regex { .. })
        ));
    }

    #[test]
    fn jsonpath_expect_count_and_presence() {
        let body = json!({"body": {"items": [{"ok": true}, {"ok": false}]}});
        let t = |expect: Option<Value>, count: Option<usize>| Tolerance::JsonPath {
            path: "$.items[*].ok".into(),
            expect,
            target: Some("body".into()),
            count,
        };
        assert!(met(t(None, None), body.clone()));
        assert!(met(t(Some(json!([true, false])), None), body.clone()));
        assert!(!met(t(Some(json!(true)), None), body.clone()));
        assert!(met(t(None, Some(2)), body.clone()));
        // A body that is JSON text is parsed.
        let text = json!({"body": "{\"items\": [{\"ok\": true}]}"});
        assert!(met(t(Some(json!(true)), None), text));
    }

    #[test]
    fn prometheus_answer_in_range() {
        let answer = json!({"status": "success", "data": {"resultType": "vector",
            "result": [{"metric": {}, "value": [1.0, "0.25"]}]}});
        let t = Tolerance::JsonPath {
            path: "$.data.result[0].value[1]".into(),
            expect: Some(json!("0.25")),
            target: None,
            count: None,
        };
        assert!(met(t, answer));
        let r = |lo, hi| Tolerance::Range {
            lo,
            hi,
            target: None,
        };
        assert!(met(r(0.0, 1.0), json!("0.25")));
        assert!(met(r(0.0, 1.0), json!(1)));
        assert!(!met(r(0.0, 1.0), json!(1.5)));
        assert!(!met(r(0.0, 1.0), json!("nope")));
        let tr = Tolerance::Range {
            lo: 200.0,
            hi: 299.0,
            target: Some("status".into()),
        };
        assert!(met(tr, json!({"status": 204})));
    }
}
