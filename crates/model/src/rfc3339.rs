//! The one RFC 3339 rendering of timestamps, always in UTC with `Z`.
//!
//! Homeostat's own REST API writes [`rfc3339`]: milliseconds, always three
//! fractional digits, because every timestamp homeostat keeps is a Unix
//! millisecond and a fixed width sorts and diffs cleanly. The other variants
//! exist only where a peer's bytes are the contract:
//!
//! - [`go_rfc3339_nano`] / [`go_rfc3339_nano_millis`]: Go's `time.Time` JSON
//!   form (`time.RFC3339Nano`: the fraction with trailing zeros trimmed, none
//!   at all when zero). Prometheus' rules, alerts and status APIs and the
//!   Alertmanager webhook payload are `time.Time` values marshalled by Go.
//!   [`GO_ZERO_TIME`] is Go's zero time, which stands for "no time" there.
//! - [`rfc3339_seconds`]: whole seconds, for prose meant to be read by a
//!   person (a gate decision's reason), where sub-second digits are noise.
//!
//! The Alertmanager v2 API (`strfmt.DateTime`) writes three fractional
//! digits, so it is [`rfc3339`] too.
//!
//! Years outside 0000–9999 are written with more digits or a minus sign, as
//! Go's `Format` does; RFC 3339 has no form for them.

use std::fmt::Write;

use crate::Timestamp;

/// Go's zero `time.Time` as JSON.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Homeostat's API form: `2026-03-01T12:00:05.120Z`.
pub fn rfc3339(t: Timestamp) -> String {
    let (secs, ms) = split_millis(t);
    let mut out = date_time(secs);
    let _ = write!(out, ".{ms:03}Z");
    out
}

/// Whole seconds (truncated towards the past): `2026-03-01T12:00:05Z`.
pub fn rfc3339_seconds(t: Timestamp) -> String {
    let mut out = date_time(split_millis(t).0);
    out.push('Z');
    out
}

/// Go's `time.RFC3339Nano` of `secs` + `nanos` since the epoch:
/// `2026-03-01T12:00:05.12Z`, `2026-03-01T12:00:05Z`.
pub fn go_rfc3339_nano(secs: i64, nanos: u32) -> String {
    // A leap second folded into nanos ≥ 1e9 (chrono does that) does not exist
    // in Go.
    let nanos = nanos % 1_000_000_000;
    let mut out = date_time(secs);
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// [`go_rfc3339_nano`] of a millisecond timestamp.
pub fn go_rfc3339_nano_millis(t: Timestamp) -> String {
    let (secs, ms) = split_millis(t);
    go_rfc3339_nano(secs, ms * 1_000_000)
}

fn split_millis(t: Timestamp) -> (i64, u32) {
    // rem_euclid is in 0..1000, so the cast cannot truncate.
    (t.div_euclid(1000), t.rem_euclid(1000) as u32)
}

/// `YYYY-MM-DDTHH:MM:SS` of seconds since the epoch, proleptic Gregorian.
fn date_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = String::with_capacity(32);
    if y < 0 {
        let _ = write!(out, "-{:04}", y.unsigned_abs());
    } else {
        let _ = write!(out, "{y:04}");
    }
    let _ = write!(
        out,
        "-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    out
}

/// Howard Hinnant's `civil_from_days`: (year, month, day) of a day count
/// since 1970-01-01, exact over the whole `i64` second range.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i128::from(m <= 2);
    (y as i64, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn renders_each_variant() {
        let t = 1_700_000_040_120; // 2023-11-14T22:14:00.120Z
        assert_eq!(rfc3339(t), "2023-11-14T22:14:00.120Z");
        assert_eq!(rfc3339_seconds(t), "2023-11-14T22:14:00Z");
        assert_eq!(go_rfc3339_nano_millis(t), "2023-11-14T22:14:00.12Z");
        assert_eq!(
            go_rfc3339_nano_millis(1_700_000_040_000),
            "2023-11-14T22:14:00Z"
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_seconds(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_seconds(-62_135_596_800_000), GO_ZERO_TIME);
        assert_eq!(rfc3339_seconds(253_402_300_799_000), "9999-12-31T23:59:59Z");
        let t = 1_772_366_405; // 2026-03-01T12:00:05Z
        assert_eq!(go_rfc3339_nano(t, 0), "2026-03-01T12:00:05Z");
        assert_eq!(go_rfc3339_nano(t, 120_000_000), "2026-03-01T12:00:05.12Z");
        assert_eq!(
            go_rfc3339_nano(t, 120_000_007),
            "2026-03-01T12:00:05.120000007Z"
        );
        assert_eq!(go_rfc3339_nano(t, 1_000_000_000), "2026-03-01T12:00:05Z");
        // The extremes neither panic nor overflow.
        assert!(rfc3339(i64::MIN).starts_with('-'));
        assert!(rfc3339(i64::MAX).ends_with(".807Z"));
    }

    proptest! {
        #[test]
        fn inverts_days_from_civil(days in -800_000i64..800_000) {
            // Days since the epoch recomputed from the rendered date with
            // days_from_civil, the inverse algorithm.
            let s = rfc3339_seconds(days * 86_400_000);
            let neg = s.starts_with('-');
            let body = s.trim_start_matches('-');
            let mut parts = body.splitn(3, '-');
            let y: i64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let y = if neg { -y } else { y };
            let m: i64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let d: i64 = parts.next().and_then(|p| p.get(..2)?.parse().ok()).unwrap_or(0);
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{}", s);
            let y2 = if m <= 2 { y - 1 } else { y };
            let era = y2.div_euclid(400);
            let yoe = y2.rem_euclid(400);
            let mp = (m + 9) % 12;
            let doy = (153 * mp + 2) / 5 + d - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            prop_assert_eq!(era * 146_097 + doe - 719_468, days, "{}", s);
        }

        #[test]
        fn matches_chrono(t in -62_135_596_800_000i64..253_402_300_800_000) {
            let d = chrono::DateTime::from_timestamp_millis(t);
            let want = d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            prop_assert_eq!(Some(rfc3339(t)), want);
            let want = d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            prop_assert_eq!(Some(rfc3339_seconds(t)), want);
        }

        #[test]
        fn variants_share_the_date_and_differ_only_in_the_fraction(t in any::<i64>()) {
            let api = rfc3339(t);
            let secs = rfc3339_seconds(t);
            let go = go_rfc3339_nano_millis(t);
            let stem = secs.trim_end_matches('Z');
            prop_assert!(api.starts_with(stem) && go.starts_with(stem));
            prop_assert_eq!(api.len(), secs.len() + 4);
            prop_assert!(!go.trim_end_matches('Z').ends_with('0') || !go.contains('.'));
        }
    }
}
