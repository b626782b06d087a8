//! Business hours in a time zone: which local days are workdays and the
//! window of each, as Unix milliseconds. Daylight-saving gaps and overlaps
//! are resolved so a window always exists and never runs backwards.

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday,
};
use chrono_tz::Tz;

/// Workdays, a daily window and the zone they are read in.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    /// Monday first.
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
    tz: Tz,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error(
        "unknown day {0:?} (expected mon, tue, wed, thu, fri, sat, sun or a range like mon-fri)"
    )]
    Day(String),
    #[error("no workdays given")]
    NoDays,
    #[error("time {0:?} is not HH:MM")]
    Time(String),
    #[error("the window must end after it starts ({start} to {end})")]
    Empty { start: String, end: String },
    #[error("unknown time zone {0:?} (expected an IANA name such as Europe/Berlin or UTC)")]
    Zone(String),
}

fn weekday(s: &str) -> Result<Weekday, HoursError> {
    s.trim()
        .parse::<Weekday>()
        .map_err(|_| HoursError::Day(s.trim().to_string()))
}

impl BusinessHours {
    /// `days` is a list of day names or ranges (`mon-fri`, `sat`), `start`
    /// and `end` are local `HH:MM`, `zone` an IANA name.
    pub fn parse<S: AsRef<str>>(
        days: &[S],
        start: &str,
        end: &str,
        zone: &str,
    ) -> Result<Self, HoursError> {
        let mut set = [false; 7];
        for item in days {
            for part in item.as_ref().split(',').filter(|p| !p.trim().is_empty()) {
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (mut d, last) = (weekday(a)?, weekday(b)?);
                        loop {
                            set[d.num_days_from_monday() as usize] = true;
                            if d == last {
                                break;
                            }
                            d = d.succ();
                        }
                    }
                    None => set[weekday(part)?.num_days_from_monday() as usize] = true,
                }
            }
        }
        if !set.contains(&true) {
            return Err(HoursError::NoDays);
        }
        let time = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| HoursError::Time(s.to_string()))
        };
        let (start_t, end_t) = (time(start)?, time(end)?);
        if end_t <= start_t {
            return Err(HoursError::Empty {
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        let tz = zone
            .trim()
            .parse::<Tz>()
            .map_err(|_| HoursError::Zone(zone.to_string()))?;
        Ok(Self {
            days: set,
            start: start_t,
            end: end_t,
            tz,
        })
    }

    pub fn zone(&self) -> Tz {
        self.tz
    }

    pub fn is_workday(&self, date: NaiveDate) -> bool {
        self.days[date.weekday().num_days_from_monday() as usize]
    }

    /// The local date at `t_ms`.
    pub fn local_date(&self, t_ms: i64) -> NaiveDate {
        match DateTime::from_timestamp_millis(t_ms) {
            Some(t) => t.with_timezone(&self.tz).date_naive(),
            None => NaiveDate::MIN,
        }
    }

    fn instant(&self, local: NaiveDateTime) -> i64 {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.timestamp_millis(),
            // Clocks went back: the first of the two moments.
            LocalResult::Ambiguous(a, _) => a.timestamp_millis(),
            // Clocks went forward over this time: the same wall time an hour
            // later (gaps are at most a few hours).
            LocalResult::None => {
                let mut l = local;
                for _ in 0..4 {
                    l += chrono::Duration::hours(1);
                    if let Some(t) = self.tz.from_local_datetime(&l).earliest() {
                        return t.timestamp_millis();
                    }
                }
                local.and_utc().timestamp_millis()
            }
        }
    }

    /// `[start, end)` of `date`'s window, or `None` when it is not a workday.
    pub fn window(&self, date: NaiveDate) -> Option<(i64, i64)> {
        if !self.is_workday(date) {
            return None;
        }
        let s = self.instant(date.and_time(self.start));
        let e = self.instant(date.and_time(self.end)).max(s + 1);
        Some((s, e))
    }

    /// The window `t_ms` falls in, else the next one to open.
    pub fn current_or_next_window(&self, t_ms: i64) -> Option<(i64, i64)> {
        let mut d = self.local_date(t_ms);
        for _ in 0..8 {
            if let Some((s, e)) = self.window(d)
                && t_ms < e
            {
                return Some((s, e));
            }
            d = d.checked_add_days(Days::new(1))?;
        }
        None
    }

    /// Workdays after `from`'s date up to and including `to`.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        let span = (to - from).num_days();
        let full_weeks = (span / 7) as u32;
        let per_week = self.days.iter().filter(|d| **d).count() as u32;
        let mut n = full_weeks * per_week;
        let mut d = from + Days::new(u64::from(full_weeks) * 7);
        while d < to {
            d = d + Days::new(1);
            if self.is_workday(d) {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn parses_ranges_lists_and_zones() {
        let h =
            BusinessHours::parse(&["mon-wed", "fri"], "09:00", "17:30", "Europe/Berlin").unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 2026-12-07 is a Monday.
        assert!(h.is_workday(d("2026-12-07")) && h.is_workday(d("2026-12-09")));
        assert!(!h.is_workday(d("2026-12-10")) && h.is_workday(d("2026-12-11")));
        assert!(!h.is_workday(d("2026-12-12")));
        // Winter: Berlin is UTC+1.
        assert_eq!(
            h.window(d("2026-12-07")),
            Some((ms("2026-12-07T08:00:00Z"), ms("2026-12-07T16:30:00Z")))
        );
        assert!(matches!(
            BusinessHours::parse(&["funday"], "09:00", "17:00", "UTC"),
            Err(HoursError::Day(_))
        ));
        assert!(matches!(
            BusinessHours::parse(&["mon"], "17:00", "09:00", "UTC"),
            Err(HoursError::Empty { .. })
        ));
        assert!(matches!(
            BusinessHours::parse(&["mon"], "9", "17:00", "UTC"),
            Err(HoursError::Time(_))
        ));
        assert!(matches!(
            BusinessHours::parse(&["mon"], "09:00", "17:00", "Mars/Base"),
            Err(HoursError::Zone(_))
        ));
        let none: [&str; 0] = [];
        assert_eq!(
            BusinessHours::parse(&none, "09:00", "17:00", "UTC"),
            Err(HoursError::NoDays)
        );
    }

    #[test]
    fn counts_workdays_and_finds_the_next_window() {
        let h = BusinessHours::parse(&["mon-fri"], "09:00", "17:00", "UTC").unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(h.workdays_between(d("2026-12-04"), d("2026-12-07")), 1); // Fri → Mon
        assert_eq!(h.workdays_between(d("2026-12-07"), d("2026-12-21")), 10);
        assert_eq!(h.workdays_between(d("2026-12-07"), d("2026-12-07")), 0);
        // Friday evening: the next window is Monday morning.
        assert_eq!(
            h.current_or_next_window(ms("2026-12-11T18:00:00Z")),
            Some((ms("2026-12-14T09:00:00Z"), ms("2026-12-14T17:00:00Z")))
        );
        assert_eq!(
            h.current_or_next_window(ms("2026-12-14T12:00:00Z")),
            Some((ms("2026-12-14T09:00:00Z"), ms("2026-12-14T17:00:00Z")))
        );
    }

    #[test]
    fn daylight_saving_days_keep_a_window() {
        // New York springs forward at 02:00 on 2027-03-14 (a Sunday).
        let h = BusinessHours::parse(&["sun"], "02:30", "03:30", "America/New_York").unwrap();
        let d = NaiveDate::parse_from_str("2027-03-14", "%Y-%m-%d").unwrap();
        let (s, e) = h.window(d).unwrap();
        assert!(s < e);
    }
}
