//! Byte compatibility with Go's `encoding/json` and `time.Time`, so that a
//! consumer written against Alertmanager's webhook sees the same bytes.

use std::io;

use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;

/// What Go's zero `time.Time` marshals to; Alertmanager sends it as `endsAt`
/// of an alert without a known end.
pub use homeostat_model::rfc3339::GO_ZERO_TIME;

/// Formats like Go's `time.RFC3339Nano` on a UTC time (the one rendering in
/// `model::rfc3339`): fractional seconds with trailing zeros trimmed, no
/// fraction at all when it is zero.
pub fn rfc3339_nano(t: &DateTime<Utc>) -> String {
    // chrono folds a leap second into nanos ≥ 1e9; Go has no leap seconds.
    homeostat_model::rfc3339::go_rfc3339_nano(t.timestamp(), t.nanosecond() % 1_000_000_000)
}

/// The same, with `None` as Go's zero time.
pub fn rfc3339_nano_or_zero(t: Option<&DateTime<Utc>>) -> String {
    t.map_or_else(|| GO_ZERO_TIME.to_string(), rfc3339_nano)
}

/// Serialises like Go's `json.NewEncoder(w).Encode(v)`: compact, map keys
/// sorted (our maps are `BTreeMap`s), `<`, `>`, `&`, U+2028 and U+2029
/// escaped as `\u…`, and a trailing newline.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(out)
}

struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn trims_nanos_like_go() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 5).unwrap();
        assert_eq!(rfc3339_nano(&t), "2026-03-01T12:00:05Z");
        let t = t + chrono::Duration::milliseconds(120);
        assert_eq!(rfc3339_nano(&t), "2026-03-01T12:00:05.12Z");
        let t = t + chrono::Duration::nanoseconds(7);
        assert_eq!(rfc3339_nano(&t), "2026-03-01T12:00:05.120000007Z");
        assert_eq!(rfc3339_nano_or_zero(None), GO_ZERO_TIME);
    }

    #[test]
    fn escapes_html_like_go() {
        let got = to_vec(&serde_json::json!({"u": "a<b>&c\u{2028}\"\n"})).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "{\"u\":\"a\\u003cb\\u003e\\u0026c\\u2028\\\"\\n\"}\n"
        );
    }
}
