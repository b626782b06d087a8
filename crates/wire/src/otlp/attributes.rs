//! OTLP attribute values to Prometheus label values, and attribute lists to
//! label maps with the specification's collision rule.

use std::collections::BTreeMap;

use super::base64;
use super::names;
use super::proto::{AnyValue, KeyValue, Value};

/// The label value for an attribute: strings as they are, scalars in their
/// usual text form, bytes as base64, arrays and key/value lists as JSON (the
/// OpenTelemetry attribute specification's rule for non-OTLP protocols).
pub fn value_string(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Double(d)) => double_string(*d),
        Some(Value::Bytes(b)) => base64::encode(b),
        Some(Value::Array(_) | Value::Kvlist(_)) => {
            value.map(|v| to_json(v).to_string()).unwrap_or_default()
        }
    }
}

fn double_string(d: f64) -> String {
    if d.is_nan() {
        "NaN".to_string()
    } else if d == f64::INFINITY {
        "Infinity".to_string()
    } else if d == f64::NEG_INFINITY {
        "-Infinity".to_string()
    } else {
        d.to_string()
    }
}

fn to_json(value: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &value.value {
        None => J::Null,
        Some(Value::String(s)) => J::String(s.clone()),
        Some(Value::Bool(b)) => J::Bool(*b),
        Some(Value::Int(i)) => J::from(*i),
        Some(Value::Double(d)) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or_else(|| J::String(double_string(*d))),
        Some(Value::Bytes(b)) => J::String(base64::encode(b)),
        Some(Value::Array(a)) => J::Array(a.values.iter().map(to_json).collect()),
        Some(Value::Kvlist(kv)) => J::Object(
            kv.values
                .iter()
                .map(|e| {
                    let v = e.value.as_ref().map(to_json).unwrap_or(J::Null);
                    (e.key.clone(), v)
                })
                .collect(),
        ),
    }
}

/// Attributes as sanitized label name → value. Keys that sanitize to the same
/// name are merged with `;`, ordered by the original keys, as the
/// specification requires. Empty keys and empty values are dropped (an empty
/// label value means "no label" in Prometheus). `skip` filters keys out.
pub fn to_label_map(attrs: &[KeyValue], skip: impl Fn(&str) -> bool) -> BTreeMap<String, String> {
    let mut grouped: BTreeMap<String, Vec<(&str, String)>> = BTreeMap::new();
    for kv in attrs {
        if skip(&kv.key) {
            continue;
        }
        let name = names::label_name(&kv.key);
        let value = value_string(kv.value.as_ref());
        if name.is_empty() || value.is_empty() {
            continue;
        }
        grouped
            .entry(name)
            .or_default()
            .push((kv.key.as_str(), value));
    }
    grouped
        .into_iter()
        .map(|(name, mut values)| {
            values.sort_by(|a, b| a.0.cmp(b.0));
            let joined = values
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join(";");
            (name, joined)
        })
        .collect()
}

/// The stringified value of the attribute with exactly this key, if present.
pub fn find(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .rev()
        .find(|kv| kv.key == key)
        .map(|kv| value_string(kv.value.as_ref()))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::proto::{ArrayValue, KeyValueList};
    use super::*;

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: Some(AnyValue { value: Some(value) }),
        }
    }

    #[test]
    fn scalar_values_are_stringified() {
        let s = |v: Value| value_string(Some(&AnyValue { value: Some(v) }));
        assert_eq!(s(Value::String("GET".into())), "GET");
        assert_eq!(s(Value::Bool(true)), "true");
        assert_eq!(s(Value::Int(-42)), "-42");
        assert_eq!(s(Value::Double(0.25)), "0.25");
        assert_eq!(s(Value::Double(3.0)), "3");
        assert_eq!(s(Value::Double(f64::INFINITY)), "Infinity");
        assert_eq!(s(Value::Bytes(b"hi!".to_vec())), "aGkh");
        assert_eq!(value_string(None), "");
    }

    #[test]
    fn complex_values_become_json() {
        let arr = Value::Array(ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(Value::String("a".into())),
                },
                AnyValue {
                    value: Some(Value::Int(1)),
                },
                AnyValue {
                    value: Some(Value::Double(f64::NAN)),
                },
            ],
        });
        assert_eq!(
            value_string(Some(&AnyValue { value: Some(arr) })),
            r#"["a",1,"NaN"]"#
        );
        let map = Value::Kvlist(KeyValueList {
            values: vec![kv("k", Value::Bool(false))],
        });
        assert_eq!(
            value_string(Some(&AnyValue { value: Some(map) })),
            r#"{"k":false}"#
        );
    }

    #[test]
    fn colliding_keys_merge_in_original_key_order() {
        let attrs = vec![
            kv("foo_bar", Value::String("2".into())),
            kv("foo.bar", Value::String("1".into())),
            kv("empty", Value::String(String::new())),
            kv("", Value::String("x".into())),
            kv("skip.me", Value::String("x".into())),
        ];
        let map = to_label_map(&attrs, |k| k == "skip.me");
        assert_eq!(map.len(), 1);
        assert_eq!(map["foo_bar"], "1;2");
    }
}
