//! OTLP metric and attribute names to legacy Prometheus names, following the
//! OpenTelemetry "Prometheus and OpenMetrics compatibility" specification
//! (underscore escaping with unit and type suffixes).

/// The Prometheus type an OTLP metric becomes; it decides the suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
    Summary,
}

/// The Prometheus metric family name for an OTLP metric. Histogram and summary
/// callers append `_bucket`/`_sum`/`_count` themselves.
pub fn metric_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut base = sanitize(name, true);
    // The unit goes before `_total`, so a counter already named `..._total`
    // loses the suffix first and gets it back at the end (never twice).
    if kind == Kind::Counter
        && let Some(stripped) = base.strip_suffix("_total")
        && !stripped.is_empty()
    {
        base = stripped.to_string();
    }
    let unit = unit_suffix(unit, kind);
    if !unit.is_empty() && !has_token_run(&base, &unit) {
        base = format!("{base}_{unit}");
    }
    if kind == Kind::Counter && !base.ends_with("_total") {
        base.push_str("_total");
    }
    collapse_and_prefix(&base)
}

/// A Prometheus label name for an OTLP attribute key: invalid characters
/// become `_`, runs of `_` collapse, and a leading digit gets a `_` prefix.
/// Returns an empty string for an empty key (the caller drops it).
pub fn label_name(key: &str) -> String {
    if key.is_empty() {
        return String::new();
    }
    sanitize(key, false)
}

fn sanitize(raw: &str, allow_colon: bool) -> String {
    let replaced: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    collapse_and_prefix(&replaced)
}

fn collapse_and_prefix(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    for c in s.chars() {
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Whether `unit`'s `_`-separated words already appear as consecutive words
/// of `name` (so `http_duration_seconds` is not given a second `_seconds`).
fn has_token_run(name: &str, unit: &str) -> bool {
    format!("_{name}_").contains(&format!("_{unit}_"))
}

/// The Prometheus unit word(s) for a UCUM unit: abbreviations spelled out,
/// `{annotations}` dropped, `a/b` as `a_per_b`, `1` as `ratio` on gauges only.
pub fn unit_suffix(unit: &str, kind: Kind) -> String {
    let unit = strip_annotations(unit);
    let unit = unit.trim();
    if unit == "1" {
        return if kind == Kind::Gauge {
            "ratio".to_string()
        } else {
            String::new()
        };
    }
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m.trim(), p.trim()),
        None => (unit, ""),
    };
    let main = if main == "1" { "" } else { main_unit(main) };
    let per = per_unit(per);
    let main = sanitize_unit(main);
    let per = sanitize_unit(per);
    match (main.is_empty(), per.is_empty()) {
        (true, true) => String::new(),
        (false, true) => main,
        (true, false) => format!("per_{per}"),
        (false, false) => format!("{main}_per_{per}"),
    }
}

fn strip_annotations(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn sanitize_unit(unit: &str) -> String {
    let s = sanitize(unit, false);
    s.trim_matches('_').to_string()
}

fn main_unit(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        other => other,
    }
}

fn per_unit(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeostat_model::{is_valid_label_name, is_valid_metric_name};

    #[test]
    fn metric_names_follow_the_compatibility_spec() {
        let cases = [
            ("requests", "1", Kind::Counter, "requests_total"),
            ("requests_total", "", Kind::Counter, "requests_total"),
            ("requests.total", "", Kind::Counter, "requests_total"),
            ("queue.depth", "", Kind::Gauge, "queue_depth"),
            ("queue.depth", "{item}", Kind::Gauge, "queue_depth"),
            ("cpu.utilization", "1", Kind::Gauge, "cpu_utilization_ratio"),
            (
                "cpu.utilization_ratio",
                "1",
                Kind::Gauge,
                "cpu_utilization_ratio",
            ),
            (
                "cpu.temperature",
                "Cel",
                Kind::Gauge,
                "cpu_temperature_celsius",
            ),
            (
                "http.server.request.duration",
                "s",
                Kind::Histogram,
                "http_server_request_duration_seconds",
            ),
            (
                "http.server.duration",
                "ms",
                Kind::Histogram,
                "http_server_duration_milliseconds",
            ),
            (
                "rpc_duration_seconds",
                "s",
                Kind::Summary,
                "rpc_duration_seconds",
            ),
            ("net.io", "By", Kind::Counter, "net_io_bytes_total"),
            (
                "net.io_bytes_total",
                "By",
                Kind::Counter,
                "net_io_bytes_total",
            ),
            (
                "throughput",
                "By/s",
                Kind::Gauge,
                "throughput_bytes_per_second",
            ),
            (
                "packets.rate",
                "{packet}/s",
                Kind::Gauge,
                "packets_rate_per_second",
            ),
            ("odd", "custom unit", Kind::Gauge, "odd_custom_unit"),
            ("a..b--c", "", Kind::Gauge, "a_b_c"),
            ("2xx.responses", "", Kind::Counter, "_2xx_responses_total"),
            ("ns:metric", "", Kind::Gauge, "ns:metric"),
            ("ünïcode", "", Kind::Gauge, "_n_code"),
            ("_total", "", Kind::Counter, "_total"),
        ];
        for (name, unit, kind, want) in cases {
            let got = metric_name(name, unit, kind);
            assert_eq!(got, want, "name={name:?} unit={unit:?} kind={kind:?}");
            assert!(is_valid_metric_name(&got), "{got}");
        }
    }

    #[test]
    fn label_names_are_sanitized_like_metric_names() {
        let cases = [
            ("method", "method"),
            ("http.request.method", "http_request_method"),
            ("http..method", "http_method"),
            ("0day", "_0day"),
            ("k8s:pod", "k8s_pod"),
            ("__name__", "_name_"),
            ("ключ", "_"),
        ];
        for (key, want) in cases {
            let got = label_name(key);
            assert_eq!(got, want, "key={key:?}");
            assert!(is_valid_label_name(&got), "{got}");
        }
        assert_eq!(label_name(""), "");
    }
}
