//! Times as a person reads them: "3 h ago", "in 20 min", and an absolute
//! UTC time with seconds where the moment itself matters. Never unix
//! seconds or milliseconds.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A span in the largest unit that keeps it readable: `45 s`, `12 min`,
/// `3 h`, `2 h 30 min`, `4 d`.
pub fn span(secs: i64) -> String {
    let s = secs.unsigned_abs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => {
            let (h, m) = (s / 3600, s % 3600 / 60);
            if m == 0 || h >= 10 {
                format!("{h} h")
            } else {
                format!("{h} h {m} min")
            }
        }
        _ => format!("{} d", s / 86_400),
    }
}

/// `3 h ago`, `in 20 min`, or `now` within a second.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    match secs {
        0 => "now".into(),
        s if s > 0 => format!("in {}", span(s)),
        s => format!("{} ago", span(s)),
    }
}

/// `2026-12-07 14:03:22 UTC`.
pub fn absolute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `2026-12-07 14:03:22 UTC (3 h ago)`.
pub fn both(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ({})", absolute(t), relative(t, now))
}

/// A time as the API sends it: RFC 3339 text, or seconds since the epoch
/// as a number (Prometheus's convention, used by `/api/v1/slos`).
pub fn parse(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => {
            let secs = n.as_f64()?;
            DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
        }
        _ => None,
    }
}

/// A JSON time for a table cell: relative, or `-` when absent.
pub fn cell_relative(v: &Value, now: DateTime<Utc>) -> String {
    parse(v).map_or("-".into(), |t| relative(t, now))
}

/// A JSON time for a detail line: absolute with the relative in brackets.
pub fn cell_both(v: &Value, now: DateTime<Utc>) -> String {
    parse(v).map_or("-".into(), |t| both(t, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn spans_read_like_a_person_says_them() {
        assert_eq!(span(0), "0 s");
        assert_eq!(span(59), "59 s");
        assert_eq!(span(60), "1 min");
        assert_eq!(span(3599), "59 min");
        assert_eq!(span(3 * 3600), "3 h");
        assert_eq!(span(2 * 3600 + 30 * 60), "2 h 30 min");
        assert_eq!(span(11 * 3600 + 59 * 60), "11 h");
        assert_eq!(span(4 * 86_400 + 5), "4 d");
        assert_eq!(span(-120), "2 min");
    }

    #[test]
    fn relative_says_ago_or_in() {
        let now = t("2026-12-07T12:00:00Z");
        assert_eq!(relative(t("2026-12-07T09:00:00Z"), now), "3 h ago");
        assert_eq!(relative(t("2026-12-07T12:20:00Z"), now), "in 20 min");
        assert_eq!(relative(now, now), "now");
        assert_eq!(
            both(t("2026-12-07T09:00:05Z"), now),
            "2026-12-07 09:00:05 UTC (2 h 59 min ago)"
        );
    }

    #[test]
    fn api_times_parse_from_text_or_epoch_seconds() {
        let want = t("2026-12-07T12:00:00Z");
        assert_eq!(parse(&Value::from("2026-12-07T12:00:00Z")), Some(want));
        assert_eq!(parse(&Value::from(want.timestamp() as f64)), Some(want));
        assert_eq!(parse(&Value::Null), None);
        assert_eq!(cell_relative(&Value::Null, want), "-");
    }
}
