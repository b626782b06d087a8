//! Parser for the Prometheus text exposition format (0.0.4) and OpenMetrics
//! 1.0 text, as scraped from targets. Handwritten: it is on the scrape hot
//! path and must report malformed input by line rather than panic.

use std::collections::HashMap;

use homeostat_model::{ErrorKind, Label, Labels, METRIC_NAME};

#[derive(Debug, Clone, PartialEq)]
pub struct ExpositionSample {
    pub labels: Labels,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {detail}")]
pub struct ParseError {
    pub line: usize,
    pub detail: String,
}

impl ParseError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

/// Whether a content type asks for OpenMetrics.
pub fn is_openmetrics(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| c.trim_start().starts_with("application/openmetrics-text"))
}

/// Parses a scrape body. The format follows the content type; `None` or
/// anything else is the Prometheus text format.
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Vec<ExpositionSample>, ParseError> {
    let om = is_openmetrics(content_type);
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ParseError {
            line,
            detail: "body is not valid UTF-8".into(),
        }
    })?;
    let mut types: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::new();
    let mut eof = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |detail: String| ParseError {
            line: line_no,
            detail,
        };
        if eof {
            return Err(err("content after # EOF".into()));
        }
        let line = if om { raw } else { raw.trim() };
        if line.is_empty() {
            if om {
                return Err(err("empty lines are not allowed in OpenMetrics".into()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start();
            if om && rest == "EOF" {
                eof = true;
                continue;
            }
            let mut parts = rest.splitn(3, ' ');
            if parts.next() == Some("TYPE")
                && let (Some(name), Some(typ)) = (parts.next(), parts.next())
            {
                types.insert(name, typ.trim());
            }
            continue;
        }
        let s = parse_sample(line, om).map_err(err)?;
        let family_of_created = s
            .labels
            .metric_name()
            .and_then(|n| n.strip_suffix("_created"));
        if om
            && family_of_created.is_some_and(|f| {
                matches!(
                    types.get(f),
                    Some(&("counter" | "histogram" | "summary" | "gaugehistogram"))
                )
            })
        {
            continue;
        }
        out.push(s);
    }
    if om && !eof {
        return Err(ParseError {
            line: text.lines().count(),
            detail: "OpenMetrics body does not end with # EOF".into(),
        });
    }
    Ok(out)
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

fn parse_sample(line: &str, om: bool) -> Result<ExpositionSample, String> {
    let name_end = line
        .char_indices()
        .find(|&(i, c)| !is_name_char(c, i == 0))
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    if name_end == 0 {
        return Err(format!("expected a metric name at the start of {line:?}"));
    }
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = vec![Label::new(METRIC_NAME, name)];
    if let Some(r) = rest.strip_prefix('{') {
        rest = parse_labels(r, &mut labels)?;
    }
    // OpenMetrics exemplars follow " # "; homeostat does not store them.
    if om && let Some(pos) = rest.find(" # ") {
        rest = &rest[..pos];
    }
    let mut fields = rest.split_ascii_whitespace();
    let value_s = fields
        .next()
        .ok_or_else(|| format!("metric {name} has no value"))?;
    let value =
        parse_float(value_s).ok_or_else(|| format!("metric {name}: invalid value {value_s:?}"))?;
    let timestamp_ms = match fields.next() {
        None => None,
        Some(t) if om => {
            let secs = parse_float(t)
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("metric {name}: invalid timestamp {t:?}"))?;
            Some((secs * 1000.0).round() as i64)
        }
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| format!("metric {name}: invalid timestamp {t:?}"))?,
        ),
    };
    if let Some(extra) = fields.next() {
        return Err(format!(
            "metric {name}: unexpected {extra:?} after the timestamp"
        ));
    }
    let labels = Labels::new(labels).map_err(|e| format!("metric {name}: {e}"))?;
    Ok(ExpositionSample {
        labels,
        value,
        timestamp_ms,
    })
}

/// Parses `a="1",b="2"}` (after the brace); returns what follows the `}`.
fn parse_labels<'a>(mut s: &'a str, out: &mut Vec<Label>) -> Result<&'a str, String> {
    loop {
        s = s.trim_start();
        if let Some(r) = s.strip_prefix('}') {
            return Ok(r);
        }
        let end = s
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())))
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        if end == 0 {
            return Err(format!("expected a label name at {:?}", truncate(s)));
        }
        let lname = &s[..end];
        s = s[end..].trim_start();
        s = s
            .strip_prefix('=')
            .ok_or_else(|| format!("expected '=' after label name {lname}"))?
            .trim_start();
        s = s
            .strip_prefix('"')
            .ok_or_else(|| format!("expected '\"' to open the value of label {lname}"))?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let close = loop {
            match chars.next() {
                None => return Err(format!("unterminated value of label {lname}")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => return Err(format!("unterminated value of label {lname}")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        if out.iter().any(|l| l.name == lname) {
            return Err(format!("duplicate label name {lname:?}"));
        }
        out.push(Label::new(lname, value));
        s = s[close + 1..].trim_start();
        if let Some(r) = s.strip_prefix(',') {
            s = r;
        } else if !s.starts_with('}') {
            return Err(format!(
                "expected ',' or '}}' after the value of label {lname}"
            ));
        }
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(20) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Floats as Go's ParseFloat reads them in exposition: NaN, ±Inf, decimals.
fn parse_float(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ if s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Renders samples in the Prometheus text format (for tests and tools).
pub fn render(samples: &[ExpositionSample]) -> String {
    let mut out = String::new();
    for s in samples {
        out.push_str(s.labels.metric_name().unwrap_or(""));
        let rest: Vec<String> = s
            .labels
            .iter()
            .filter(|l| l.name != METRIC_NAME)
            .map(|l| {
                let v = l
                    .value
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                format!("{}=\"{v}\"", l.name)
            })
            .collect();
        if !rest.is_empty() {
            out.push('{');
            out.push_str(&rest.join(","));
            out.push('}');
        }
        let v = if s.value.is_nan() {
            "NaN".to_string()
        } else if s.value.is_infinite() {
            if s.value > 0.0 {
                "+Inf".into()
            } else {
                "-Inf".into()
            }
        } else {
            format!("{:?}", s.value)
        };
        out.push(' ');
        out.push_str(&v);
        if let Some(t) = s.timestamp_ms {
            out.push_str(&format!(" {t}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NODE: &str = r#"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1.23456789e+06
node_cpu_seconds_total{cpu="0",mode="user"} 3456.78
# TYPE node_load1 gauge
node_load1 0.42
http_requests_total{method="post",code="200",} 1027 1395066363000
weird{path="C:\\dir\\",msg="say \"hi\"\n"} NaN
up +Inf
down -Inf
"#;

    #[test]
    fn prometheus_text() {
        let s = parse(NODE.as_bytes(), Some("text/plain; version=0.0.4")).unwrap();
        assert_eq!(s.len(), 7);
        assert_eq!(s[0].labels.get("mode"), Some("idle"));
        assert_eq!(s[0].value, 1_234_567.89);
        assert_eq!(s[3].timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(s[4].labels.get("path"), Some("C:\\dir\\"));
        assert_eq!(s[4].labels.get("msg"), Some("say \"hi\"\n"));
        assert!(s[4].value.is_nan());
        assert_eq!(s[5].value, f64::INFINITY);
    }

    #[test]
    fn openmetrics() {
        let body = "# TYPE foo counter\n# UNIT foo seconds\nfoo_total 17.0 1520879607.789 # {trace_id=\"abc\"} 1.0\nfoo_created 1520872607.123\n# TYPE g gauge\ng{a=\"b\"} 3\n# EOF\n";
        let s = parse(
            body.as_bytes(),
            Some("application/openmetrics-text; version=1.0.0"),
        )
        .unwrap();
        assert_eq!(s.len(), 2, "foo_created is dropped");
        assert_eq!(s[0].timestamp_ms, Some(1_520_879_607_789));
        assert!(
            parse(b"g 1\n", Some("application/openmetrics-text"))
                .unwrap_err()
                .detail
                .contains("EOF")
        );
        assert!(parse(b"# EOF\ng 1\n", Some("application/openmetrics-text")).is_err());
    }

    #[test]
    fn errors_name_the_line() {
        for (body, want) in [
            ("ok 1\nbad{a=\"1\" 2\n", "line 2"),
            ("m{a=\"1\",a=\"2\"} 1\n", "duplicate"),
            ("m{1a=\"x\"} 1\n", "label name"),
            ("m notanumber\n", "invalid value"),
            ("m 1 2 3\n", "unexpected"),
            ("{a=\"b\"} 1\n", "metric name"),
            ("m{a=\"unterminated} 1\n", "unterminated"),
        ] {
            let e = parse(body.as_bytes(), None).unwrap_err().to_string();
            assert!(e.contains(want), "{body:?}: {e}");
        }
        assert!(
            parse(&[b'm', b' ', 0xff], None)
                .unwrap_err()
                .detail
                .contains("UTF-8")
        );
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in ".{0,200}") {
            let _ = parse(s.as_bytes(), None);
            let _ = parse(s.as_bytes(), Some("application/openmetrics-text"));
        }

        #[test]
        fn render_parse_round_trip(
            name in "[a-z_][a-z0-9_]{0,10}",
            vals in proptest::collection::vec(("[a-z]{1,5}", "[ -~\\n]{0,12}", any::<f64>(), proptest::option::of(-1_000_000_000_000i64..2_000_000_000_000)), 1..10),
        ) {
            let samples: Vec<ExpositionSample> = vals.iter().map(|(l, v, f, t)| ExpositionSample {
                labels: Labels::new(vec![Label::new(METRIC_NAME, name.as_str()), Label::new(format!("l_{l}"), v.as_str())]).unwrap(),
                value: *f,
                timestamp_ms: *t,
            }).collect();
            let parsed = parse(render(&samples).as_bytes(), None).unwrap();
            prop_assert_eq!(parsed.len(), samples.len());
            for (a, b) in parsed.iter().zip(&samples) {
                prop_assert_eq!(&a.labels, &b.labels);
                prop_assert!(a.value == b.value || (a.value.is_nan() && b.value.is_nan()));
                prop_assert_eq!(a.timestamp_ms, b.timestamp_ms);
            }
        }
    }
}
