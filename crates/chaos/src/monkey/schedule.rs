//! When a group's next termination is due.
//!
//! Each eligible workday independently gets a termination with probability
//! `p`, at a uniformly random moment of its window. A day is eligible when at
//! least `min` workdays have passed since the last termination (read from
//! the termination log, so a restart cannot shorten the gap). The gap in
//! workdays is then `min + Geometric(p)`, whose mean is `min + (1 - p) / p`;
//! `p = 1 / (mean - min + 1)` makes it the configured mean.
//!
//! The day's draw is derived from the group, the date and a seed instead of
//! a running generator, so a restart in the middle of a day replans the
//! same moment rather than rolling the dice twice.

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::hours::BusinessHours;

/// One opted-in group's schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct MonkeySchedule {
    group: String,
    hours: BusinessHours,
    mean_workdays: f64,
    min_workdays: u32,
    seed: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "mean_workdays_between_terminations must be a number of workdays, at least 1 (got {0})"
    )]
    Mean(f64),
    #[error(
        "mean_workdays_between_terminations ({mean}) must be at least min_workdays_between_terminations ({min})"
    )]
    MeanBelowMin { mean: f64, min: u32 },
}

/// What to do at a given moment.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Terminate now; the plan said `planned_at` (earlier when catching up
    /// after a restart inside the window).
    Terminate { planned_at: i64 },
    /// The day's termination is due but something forbids it; ask again
    /// later (it may still happen today once the reason clears).
    Blocked { planned_at: i64, reason: String },
    /// Nothing to do before `until`.
    Wait { until: i64 },
}

impl MonkeySchedule {
    pub fn new(
        group: impl Into<String>,
        hours: BusinessHours,
        mean_workdays: f64,
        min_workdays: u32,
        seed: u64,
    ) -> Result<Self, ScheduleError> {
        if !mean_workdays.is_finite() || mean_workdays < 1.0 {
            return Err(ScheduleError::Mean(mean_workdays));
        }
        if mean_workdays < f64::from(min_workdays) {
            return Err(ScheduleError::MeanBelowMin {
                mean: mean_workdays,
                min: min_workdays,
            });
        }
        Ok(Self {
            group: group.into(),
            hours,
            mean_workdays,
            min_workdays,
            seed,
        })
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    pub fn hours(&self) -> &BusinessHours {
        &self.hours
    }

    pub fn mean_workdays(&self) -> f64 {
        self.mean_workdays
    }

    pub fn min_workdays(&self) -> u32 {
        self.min_workdays
    }

    /// Workdays that must pass after a termination; at least one, since a
    /// group is terminated at most once a day.
    fn min_gap(&self) -> u32 {
        self.min_workdays.max(1)
    }

    /// The chance that an eligible workday gets a termination.
    pub fn daily_probability(&self) -> f64 {
        let spread = (self.mean_workdays - f64::from(self.min_gap())).max(0.0);
        1.0 / (spread + 1.0)
    }

    fn rng_for(&self, date: NaiveDate) -> StdRng {
        // FNV-1a: stable across builds, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ self.seed;
        for b in self
            .group
            .bytes()
            .chain(date.num_days_from_ce().to_le_bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        StdRng::seed_from_u64(h)
    }

    /// The moment of `date`'s termination, if it gets one, given the last
    /// termination before it.
    pub fn planned(&self, date: NaiveDate, last: Option<i64>) -> Option<i64> {
        let (start, end) = self.hours.window(date)?;
        if let Some(last) = last {
            let since = self
                .hours
                .workdays_between(self.hours.local_date(last), date);
            if since < self.min_gap() {
                return None;
            }
        }
        let mut rng = self.rng_for(date);
        let coin: f64 = rng.random();
        let frac: f64 = rng.random();
        (coin < self.daily_probability()).then(|| start + ((end - start) as f64 * frac) as i64)
    }

    /// What to do at `now`, given the last logged termination and why a
    /// termination is forbidden right now (an open incident, a freeze).
    pub fn decide(&self, now: i64, last: Option<i64>, blocked: Option<&str>) -> Verdict {
        let today = self.hours.local_date(now);
        let done_today = last.is_some_and(|l| self.hours.local_date(l) == today);
        if !done_today
            && let Some((_, end)) = self.hours.window(today)
            && now < end
            && let Some(at) = self.planned(today, last)
        {
            return if now < at {
                Verdict::Wait { until: at }
            } else if let Some(reason) = blocked {
                Verdict::Blocked {
                    planned_at: at,
                    reason: reason.to_string(),
                }
            } else {
                Verdict::Terminate { planned_at: at }
            };
        }
        // Nothing more today: look again when the next window opens.
        let tomorrow = today.succ_opt().unwrap_or(today);
        let until = (0..8)
            .filter_map(|i| tomorrow.checked_add_days(chrono::Days::new(i)))
            .find_map(|d| self.hours.window(d))
            .map_or(now + 86_400_000, |(s, _)| s);
        Verdict::Wait {
            until: until.max(now + 1),
        }
    }
}

#[cfg(test)]
mod tests;
