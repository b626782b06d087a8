//! Alertmanager time intervals: times of day, weekdays, days of the month
//! (negative counts from the end), months and years, in a time zone. A field
//! left out matches everything; an instant is inside when every given field
//! contains it.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// A YAML scalar that Alertmanager reads as a string even when written as a
/// number (`days_of_month: [1, '-3:-1']`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Int(i64),
    Str(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Str(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeRange {
    pub start_time: String,
    pub end_time: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeInterval {
    #[serde(default)]
    pub times: Option<Vec<RawTimeRange>>,
    #[serde(default)]
    pub weekdays: Option<Vec<Scalar>>,
    #[serde(default)]
    pub days_of_month: Option<Vec<Scalar>>,
    #[serde(default)]
    pub months: Option<Vec<Scalar>>,
    #[serde(default)]
    pub years: Option<Vec<Scalar>>,
    #[serde(default)]
    pub location: Option<String>,
}

/// An inclusive range of integers (weekday 0 = Sunday, month 1 = January).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub begin: i32,
    pub end: i32,
}

/// Minutes since midnight, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_minute: u32,
    pub end_minute: u32,
}

/// One entry of a named interval's `time_intervals` list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeInterval {
    pub times: Option<Vec<TimeRange>>,
    pub weekdays: Option<Vec<Range>>,
    pub days_of_month: Option<Vec<Range>>,
    pub months: Option<Vec<Range>>,
    pub years: Option<Vec<Range>>,
    pub location: Option<Tz>,
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl TimeInterval {
    /// Validates one raw entry; errors are `(field, message)` relative to it.
    pub(crate) fn from_raw(raw: &RawTimeInterval) -> Result<Self, (String, String)> {
        let times = match &raw.times {
            None => None,
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(i, t)| parse_time_range(t).map_err(|m| (format!("times[{i}]"), m)))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let ranges = |field: &str,
                      list: &Option<Vec<Scalar>>,
                      parse: &dyn Fn(&str) -> Result<Range, String>|
         -> Result<Option<Vec<Range>>, (String, String)> {
            match list {
                None => Ok(None),
                Some(list) => list
                    .iter()
                    .enumerate()
                    .map(|(i, s)| parse(&s.text()).map_err(|m| (format!("{field}[{i}]"), m)))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
            }
        };
        let location = match raw.location.as_deref() {
            None => None,
            Some("Local") => {
                return Err((
                    "location".into(),
                    "\"Local\" depends on the host; name an IANA zone such as \"Europe/Berlin\" or \"UTC\"".into(),
                ));
            }
            Some(name) => Some(name.parse::<Tz>().map_err(|_| {
                (
                    "location".to_string(),
                    format!(
                        "unknown time zone {name:?}; use an IANA name such as \"Europe/Berlin\""
                    ),
                )
            })?),
        };
        Ok(Self {
            times,
            weekdays: ranges("weekdays", &raw.weekdays, &parse_weekday_range)?,
            days_of_month: ranges("days_of_month", &raw.days_of_month, &parse_day_range)?,
            months: ranges("months", &raw.months, &parse_month_range)?,
            years: ranges("years", &raw.years, &parse_year_range)?,
            location,
        })
    }

    /// Whether the instant falls inside this interval.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        match self.location {
            Some(tz) => self.contains_local(&at.with_timezone(&tz)),
            None => self.contains_local(&at),
        }
    }

    fn contains_local<T: Datelike + Timelike>(&self, t: &T) -> bool {
        if let Some(times) = &self.times {
            let mins = t.hour() * 60 + t.minute();
            if !times
                .iter()
                .any(|r| mins >= r.start_minute && mins < r.end_minute)
            {
                return false;
            }
        }
        if let Some(days) = &self.days_of_month {
            let dim = days_in_month(t.year(), t.month()) as i32;
            let day = t.day() as i32;
            let inside = days.iter().any(|r| {
                let begin = if r.begin < 0 {
                    dim + r.begin + 1
                } else {
                    r.begin
                };
                let end = if r.end < 0 { dim + r.end + 1 } else { r.end };
                // A range starting past the month's end never applies (the
                // 31st in April), but one ending past it is cut at the end.
                begin <= dim && day >= begin.clamp(-dim, dim) && day <= end.clamp(-dim, dim)
            });
            if !inside {
                return false;
            }
        }
        let within = |list: &Option<Vec<Range>>, v: i32| {
            list.as_ref()
                .is_none_or(|l| l.iter().any(|r| v >= r.begin && v <= r.end))
        };
        within(&self.weekdays, t.weekday().num_days_from_sunday() as i32)
            && within(&self.months, t.month() as i32)
            && within(&self.years, t.year())
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

fn parse_clock(s: &str) -> Result<u32, String> {
    let bad = || format!("invalid time {s:?}: expected HH:MM between 00:00 and 24:00");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_time_range(t: &RawTimeRange) -> Result<TimeRange, String> {
    let start_minute = parse_clock(&t.start_time)?;
    let end_minute = parse_clock(&t.end_time)?;
    if start_minute >= end_minute {
        return Err(format!(
            "start_time {:?} must be before end_time {:?}",
            t.start_time, t.end_time
        ));
    }
    Ok(TimeRange {
        start_minute,
        end_minute,
    })
}

/// Splits `a:b` (or a single `a`) and parses both ends with `one`.
fn split_range(s: &str, one: &dyn Fn(&str) -> Result<i32, String>) -> Result<Range, String> {
    let (a, b) = match s.split_once(':') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    Ok(Range {
        begin: one(a.trim())?,
        end: one(b.trim())?,
    })
}

fn parse_weekday_range(s: &str) -> Result<Range, String> {
    let one = |d: &str| {
        WEEKDAYS
            .iter()
            .position(|w| w.eq_ignore_ascii_case(d))
            .map(|p| p as i32)
            .ok_or_else(|| format!("{d:?} is not a day of the week (sunday … saturday)"))
    };
    let r = split_range(s, &one)?;
    if r.begin > r.end {
        return Err(format!("weekday range {s:?} ends before it starts"));
    }
    Ok(r)
}

fn parse_month_range(s: &str) -> Result<Range, String> {
    let one = |m: &str| {
        if let Some(p) = MONTHS.iter().position(|n| n.eq_ignore_ascii_case(m)) {
            return Ok(p as i32 + 1);
        }
        match m.parse::<i32>() {
            Ok(n) if (1..=12).contains(&n) => Ok(n),
            _ => Err(format!(
                "{m:?} is not a month (january … december or 1 … 12)"
            )),
        }
    };
    let r = split_range(s, &one)?;
    if r.begin > r.end {
        return Err(format!("month range {s:?} ends before it starts"));
    }
    Ok(r)
}

fn parse_day_range(s: &str) -> Result<Range, String> {
    let one = |d: &str| match d.parse::<i32>() {
        Ok(n) if n != 0 && (-31..=31).contains(&n) => Ok(n),
        _ => Err(format!(
            "{d:?} is not a day of the month (1 … 31, or -31 … -1 counting from the end)"
        )),
    };
    let r = split_range(s, &one)?;
    let same_sign = (r.begin > 0) == (r.end > 0);
    if same_sign && r.begin > r.end {
        return Err(format!("day range {s:?} ends before it starts"));
    }
    if r.begin < 0 && r.end > 0 {
        return Err(format!(
            "day range {s:?} starts counting from the end but ends counting from the start"
        ));
    }
    Ok(r)
}

fn parse_year_range(s: &str) -> Result<Range, String> {
    let one = |y: &str| match y.parse::<i32>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(format!("{y:?} is not a year")),
    };
    let r = split_range(s, &one)?;
    if r.begin > r.end {
        return Err(format!("year range {s:?} ends before it starts"));
    }
    Ok(r)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn interval(yaml: &str) -> Result<TimeInterval, (String, String)> {
        let raw: RawTimeInterval = serde_norway::from_str(yaml).unwrap();
        TimeInterval::from_raw(&raw)
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn business_hours_in_a_time_zone() {
        let ti = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']\nlocation: Europe/Berlin",
        )
        .unwrap();
        // 2024-07-01 is a Monday; Berlin is UTC+2 in summer.
        assert!(ti.contains(at(2024, 7, 1, 7, 0)));
        assert!(!ti.contains(at(2024, 7, 1, 6, 59)));
        assert!(ti.contains(at(2024, 7, 1, 14, 59)));
        assert!(!ti.contains(at(2024, 7, 1, 15, 0)));
        // Saturday.
        assert!(!ti.contains(at(2024, 7, 6, 10, 0)));
        // Sunday 23:30 UTC is Monday 01:30 in Berlin, outside the times.
        assert!(!ti.contains(at(2024, 6, 30, 23, 30)));
    }

    #[test]
    fn negative_days_of_month_and_clamping() {
        let last = interval("days_of_month: ['-1']").unwrap();
        assert!(last.contains(at(2024, 2, 29, 12, 0)));
        assert!(!last.contains(at(2024, 2, 28, 12, 0)));
        let late = interval("days_of_month: ['28:31']").unwrap();
        assert!(late.contains(at(2023, 2, 28, 0, 0)));
        let thirty_first = interval("days_of_month: [31]").unwrap();
        assert!(!thirty_first.contains(at(2024, 4, 30, 0, 0)));
        assert!(thirty_first.contains(at(2024, 5, 31, 0, 0)));
    }

    #[test]
    fn months_years_and_end_of_day() {
        let ti = interval(
            "months: ['december', '1:2']\nyears: ['2024:2025']\ntimes: [{start_time: '22:00', end_time: '24:00'}]",
        )
        .unwrap();
        assert!(ti.contains(at(2024, 12, 31, 23, 59)));
        assert!(ti.contains(at(2025, 2, 1, 22, 0)));
        assert!(!ti.contains(at(2025, 3, 1, 22, 0)));
        assert!(!ti.contains(at(2026, 1, 1, 22, 0)));
        assert!(!ti.contains(at(2024, 12, 31, 21, 59)));
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(interval("weekdays: [funday]").unwrap_err().0, "weekdays[0]");
        assert_eq!(
            interval("days_of_month: ['-1:5']").unwrap_err().0,
            "days_of_month[0]"
        );
        assert_eq!(
            interval("days_of_month: [0]").unwrap_err().0,
            "days_of_month[0]"
        );
        assert_eq!(interval("months: ['13']").unwrap_err().0, "months[0]");
        assert_eq!(
            interval("times: [{start_time: '10:00', end_time: '09:00'}]")
                .unwrap_err()
                .0,
            "times[0]"
        );
        assert_eq!(
            interval("times: [{start_time: '10:00', end_time: '25:00'}]")
                .unwrap_err()
                .0,
            "times[0]"
        );
        assert_eq!(
            interval("location: Mars/Olympus").unwrap_err().0,
            "location"
        );
    }
}
