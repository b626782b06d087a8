//! Prometheus duration syntax: `1h30m`, `15s`, `2d`, `100ms`, `1w`, `1y`.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (expected e.g. 15s, 1h30m, 2d)")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

/// Parses a Prometheus duration. Units: ms, s, m, h, d, w, y (365 d).
/// Units must appear in decreasing order, each at most once.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    if input.is_empty() {
        return Err(err("empty"));
    }
    if input == "0" {
        return Ok(Duration::ZERO);
    }
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let bytes = input.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    let mut last_unit = 0usize;
    let mut any = false;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(err("expected a number"));
        }
        let n: u64 = input[start..i]
            .parse()
            .map_err(|_| err("number too large"))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &input[ustart..i];
        let pos = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| err("unknown or missing unit"))?;
        if any && pos <= last_unit {
            return Err(err("units out of order or repeated"));
        }
        last_unit = pos;
        any = true;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| err("duration too large"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats like Prometheus (`model.Duration.String`): the largest units
/// first, `0s` for zero; years and weeks only when they divide the duration
/// exactly, because `15d` reads better than `2w1d`.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size, exact) in [
        ("y", 365 * 86_400_000u64, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1_000, false),
        ("ms", 1, false),
    ] {
        if exact && !ms.is_multiple_of(size) {
            continue;
        }
        if ms >= size {
            out.push_str(&format!("{}{}", ms / size, unit));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(
            parse_duration("2d").unwrap(),
            Duration::from_secs(2 * 86400)
        );
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1m1h").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["1h30m", "15s", "2d", "100ms", "2w", "1y", "15d", "1d12h"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        // As Prometheus: weeks and years only when exact.
        assert_eq!(format_duration(parse_duration("1w2d").unwrap()), "9d");
        assert_eq!(format_duration(parse_duration("1y1d").unwrap()), "366d");
    }
}
