//! Prometheus's JSON for query results. Written by hand rather than through
//! `serde_json::Value` so that timestamps and sample values come out exactly
//! as Prometheus writes them (`1.500` seconds, `"+Inf"`), and so a large
//! matrix is encoded straight into one buffer.

use std::fmt::Write as _;

use homeostat_model::{Labels, Timestamp};
use homeostat_promql::{Annotations, Value};

/// Sample values are written as Prometheus writes them in JSON (Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)`, `NaN`, `+Inf`, `-Inf`); the engine
/// owns that formatting because `count_values` needs it too.
pub use homeostat_promql::format_value;

/// Milliseconds as Unix seconds the way Prometheus writes them: the integer
/// part, then exactly three fraction digits when the fraction is not zero.
pub fn write_timestamp(out: &mut String, t: Timestamp) {
    if t < 0 {
        out.push('-');
    }
    // unsigned_abs: i64::MIN has no positive counterpart.
    let t = t.unsigned_abs();
    let _ = write!(out, "{}", t / 1000);
    let frac = t % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// A JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

/// `[<seconds>,"<text>"]`
fn write_point(out: &mut String, t: Timestamp, text: &str) {
    out.push('[');
    write_timestamp(out, t);
    out.push(',');
    write_str(out, text);
    out.push(']');
}

/// `{"resultType":…,"result":…}` for any PromQL value.
pub fn write_value(out: &mut String, value: &Value) {
    out.push_str("{\"resultType\":");
    write_str(out, value.type_name());
    out.push_str(",\"result\":");
    match value {
        Value::Scalar { t, v } => write_point(out, *t, &format_value(*v)),
        Value::String { t, s } => write_point(out, *t, s),
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"value\":");
                write_point(out, s.t, &format_value(s.v));
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.samples.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(out, p.t, &format_value(p.v));
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
}

/// The success envelope around already-encoded `data`; `warnings` and
/// `infos` are left out when empty, as Prometheus does.
pub fn success_envelope(data: &str, annotations: &Annotations) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str("{\"status\":\"success\",\"data\":");
    out.push_str(data);
    for (key, list) in [
        ("warnings", &annotations.warnings),
        ("infos", &annotations.infos),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, ",\"{key}\":[");
        for (i, m) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(&mut out, m);
        }
        out.push(']');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use homeostat_model::Sample;
    use homeostat_promql::{InstantSample, RangeSeries};

    use super::*;

    fn value(v: &Value) -> String {
        let mut out = String::new();
        write_value(&mut out, v);
        out
    }

    #[test]
    fn values_format_like_go() {
        for (v, want) in [
            (1.0, "1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1e-7, "0.0000001"),
            (123456789.0, "123456789"),
            (1e21, "1000000000000000000000"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(format_value(v), want, "{v:?}");
        }
    }

    #[test]
    fn timestamps_like_prometheus() {
        for (t, want) in [
            (0, "0"),
            (1_000, "1"),
            (1_500, "1.500"),
            (1_435_781_451_781, "1435781451.781"),
            (5, "0.005"),
            (-1_500, "-1.500"),
            (i64::MIN, "-9223372036854775.808"),
        ] {
            let mut out = String::new();
            write_timestamp(&mut out, t);
            assert_eq!(out, want, "{t}");
        }
    }

    #[test]
    fn every_result_type() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "a\"b")]);
        assert_eq!(
            value(&Value::Scalar { t: 1_000, v: 2.0 }),
            r#"{"resultType":"scalar","result":[1,"2"]}"#
        );
        assert_eq!(
            value(&Value::String {
                t: 1_250,
                s: "hi\n".into()
            }),
            r#"{"resultType":"string","result":[1.250,"hi\n"]}"#
        );
        assert_eq!(
            value(&Value::Vector(vec![InstantSample {
                labels: l.clone(),
                t: 2_000,
                v: f64::NAN
            }])),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[2,"NaN"]}]}"#
        );
        assert_eq!(
            value(&Value::Matrix(vec![RangeSeries {
                labels: l,
                samples: vec![Sample::new(0, 1.0), Sample::new(15_000, 1e-3)]
            }])),
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a\"b"},"values":[[0,"1"],[15,"0.001"]]}]}"#
        );
        assert_eq!(
            value(&Value::Vector(vec![])),
            r#"{"resultType":"vector","result":[]}"#
        );
    }

    #[test]
    fn envelope_omits_empty_annotations() {
        assert_eq!(
            success_envelope("{}", &Annotations::default()),
            r#"{"status":"success","data":{}}"#
        );
        let a = Annotations {
            warnings: vec!["w".into()],
            infos: vec!["i\u{1}".into()],
        };
        assert_eq!(
            success_envelope("1", &a),
            r#"{"status":"success","data":1,"warnings":["w"],"infos":["i\u0001"]}"#
        );
        // The output is valid JSON that serde agrees with.
        let v: serde_json::Value =
            serde_json::from_str(&success_envelope("1", &a)).expect("valid json");
        assert_eq!(v["infos"][0], "i\u{1}");
    }
}
