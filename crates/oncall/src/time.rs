//! Local wall-clock time in a schedule's zone, and the small text formats of
//! the config (instants, `HH:MM`, weekdays).

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

/// The instant a local time in `tz` denotes. Local times that occur twice
/// (clocks set back) mean the first occurrence; local times that do not
/// exist (clocks set forward) mean the instant the gap ends. Both choices
/// keep the mapping monotone, so rotation boundaries never run backwards.
/// `None` only when the date is out of chrono's range.
pub(crate) fn to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, local),
    }
}

/// The first instant whose local time is at or after `local`: inside a gap,
/// that is the transition itself. Offsets are within ±26 h of UTC, so the
/// answer lies in that window around `local` read as UTC.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let window = TimeDelta::hours(26);
    let mut lo = local.checked_sub_signed(window)?.and_utc();
    let mut hi = local.checked_add_signed(window)?.and_utc();
    let at_or_after = |x: DateTime<Utc>| x.with_timezone(&tz).naive_local() >= local;
    // Invariant: !at_or_after(lo), at_or_after(hi).
    while hi - lo > TimeDelta::nanoseconds(1) {
        let mid = lo + (hi - lo) / 2;
        if at_or_after(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

pub(crate) fn local(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

/// Parses an instant as the config writes it: RFC 3339 with an offset
/// (`2026-11-30T09:00:00Z`, `…+01:00`), or a local date-time in `tz`
/// (`2026-11-02T09:00:00`, seconds optional, `T` or a space).
pub fn parse_instant(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return to_utc(tz, naive).ok_or_else(|| format!("{s:?} is out of range"));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return to_utc(tz, date.and_time(NaiveTime::MIN))
            .ok_or_else(|| format!("{s:?} is out of range"));
    }
    Err(format!(
        "{s:?} is not a time; expected local time like 2026-11-02T09:00:00 or RFC 3339 like 2026-11-02T09:00:00+01:00"
    ))
}

/// `HH:MM` as minutes after midnight; `24:00` (= 1440) only when
/// `allow_end_of_day`.
pub(crate) fn parse_hhmm(s: &str, allow_end_of_day: bool) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if m > 59 {
        return None;
    }
    match (h, m) {
        (24, 0) if allow_end_of_day => Some(1440),
        (0..=23, _) => Some(h * 60 + m),
        _ => None,
    }
}

pub(crate) fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

/// Local midnight of `date` plus `minutes` (may be 1440 or more: the next day).
pub(crate) fn at_minutes(date: NaiveDate, minutes: u32) -> Option<NaiveDateTime> {
    date.and_time(NaiveTime::MIN)
        .checked_add_signed(TimeDelta::minutes(i64::from(minutes)))
}

pub(crate) fn weekday_index(date: NaiveDate) -> usize {
    date.weekday().num_days_from_monday() as usize
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn gap_maps_to_its_end_and_repeated_hour_to_first_occurrence() {
        let berlin = chrono_tz::Europe::Berlin;
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        assert_eq!(
            to_utc(berlin, naive("2026-03-29T02:30:00")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            to_utc(berlin, naive("2026-03-29T03:00:00")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        assert_eq!(
            to_utc(berlin, naive("2026-10-25T02:30:00")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn parses_config_times() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            parse_instant("2026-11-02T09:00:00", berlin),
            Ok(utc("2026-11-02T08:00:00Z"))
        );
        assert_eq!(
            parse_instant("2026-11-02T09:00:00-05:00", berlin),
            Ok(utc("2026-11-02T14:00:00Z"))
        );
        assert!(parse_instant("next tuesday", berlin).is_err());
        assert_eq!(parse_hhmm("09:30", false), Some(570));
        assert_eq!(parse_hhmm("24:00", true), Some(1440));
        assert_eq!(parse_hhmm("24:00", false), None);
        assert_eq!(parse_hhmm("9:5", false), None);
        assert_eq!(parse_hhmm("25:00", true), None);
    }
}
