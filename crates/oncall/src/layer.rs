//! One rotation layer: which member's turn it is, when turns hand over, and
//! the restriction windows the layer is limited to. All in the schedule's
//! local wall-clock time, so a daily 09:00 handoff stays at 09:00 across
//! DST changes (a turn is then 23 h or 25 h long).

use chrono::{DateTime, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;

use crate::time::{at_minutes, local, to_utc, weekday_index};

/// A rotation layer of a schedule.
///
/// Turn `k` starts at local time `anchor + k × turn_length`, where the
/// anchor is `handoff_time` on the local date of `rotation_start`; the
/// member whose turn contains `rotation_start` is `members[0]`, the next
/// turn `members[1]`, and so on, wrapping around.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    /// Nobody is on call from this layer before it.
    pub rotation_start: DateTime<Utc>,
    /// Nobody is on call from this layer from this instant on.
    pub rotation_end: Option<DateTime<Utc>>,
    /// Local wall-clock length of a turn (positive, whole seconds).
    pub turn_length: TimeDelta,
    /// Local time of day turns hand over at.
    pub handoff_time: NaiveTime,
    /// User ids in rotation order (never empty once validated).
    pub members: Vec<String>,
    /// Empty: on call around the clock. Otherwise only inside these windows.
    pub restrictions: Vec<Restriction>,
}

/// A weekly window in local time. It starts on each of `days` at `start`
/// and lasts until `end` the same day, or the next day when `end <= start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub days: Vec<Weekday>,
    /// Minutes after local midnight, `0..1440`.
    pub start_minute: u32,
    /// Minutes after local midnight, `1..=1440` (1440 is `24:00`).
    pub end_minute: u32,
}

/// Caps the walk from an estimated turn to the exact one; only a turn length
/// far below the size of a zone's offset change needs more than a few steps.
const MAX_TURN_STEPS: u32 = 100_000;

impl Restriction {
    fn applies_on(&self, date: chrono::NaiveDate) -> bool {
        self.days
            .iter()
            .any(|d| d.num_days_from_monday() as usize == weekday_index(date))
    }

    /// Length of one window in minutes.
    fn length_minutes(&self) -> u32 {
        if self.end_minute > self.start_minute {
            self.end_minute - self.start_minute
        } else {
            (self.end_minute + 1440).saturating_sub(self.start_minute)
        }
    }

    /// The window that starts on local `date`, as instants.
    fn window_on(&self, tz: Tz, date: chrono::NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = to_utc(tz, at_minutes(date, self.start_minute)?)?;
        let end = to_utc(
            tz,
            at_minutes(date, self.start_minute + self.length_minutes())?,
        )?;
        Some((start, end))
    }

    /// Minutes of the week (Monday 00:00 = 0) the restriction covers, for
    /// the overlap checks of validation.
    pub(crate) fn week_minutes(&self) -> Vec<bool> {
        let mut covered = vec![false; 7 * 1440];
        for day in &self.days {
            let base = day.num_days_from_monday() * 1440 + self.start_minute;
            for m in 0..self.length_minutes() {
                covered[((base + m) % (7 * 1440)) as usize] = true;
            }
        }
        covered
    }
}

impl Layer {
    /// The local time turn 0 starts at.
    fn anchor(&self, tz: Tz) -> NaiveDateTime {
        local(tz, self.rotation_start)
            .date()
            .and_time(self.handoff_time)
    }

    /// Start of turn `k`.
    fn boundary(&self, tz: Tz, anchor: NaiveDateTime, k: i64) -> Option<DateTime<Utc>> {
        let offset = self.turn_length.checked_mul(i32::try_from(k).ok()?)?;
        to_utc(tz, anchor.checked_add_signed(offset)?)
    }

    /// The turn containing `t`: `boundary(k) <= t < boundary(k + 1)`.
    /// Turns squeezed to nothing by a DST gap are never returned.
    fn turn_at(&self, tz: Tz, anchor: NaiveDateTime, t: DateTime<Utc>) -> Option<i64> {
        let turn_ns = self.turn_length.num_nanoseconds().filter(|n| *n > 0)?;
        let since = (local(tz, t) - anchor).num_nanoseconds()?;
        let mut k = since.div_euclid(turn_ns);
        let mut steps = 0;
        while self.boundary(tz, anchor, k)? > t {
            k -= 1;
            steps += 1;
            if steps > MAX_TURN_STEPS {
                return None;
            }
        }
        while self.boundary(tz, anchor, k + 1)? <= t {
            k += 1;
            steps += 1;
            if steps > MAX_TURN_STEPS {
                return None;
            }
        }
        Some(k)
    }

    fn member_index(&self, first_turn: i64, k: i64) -> Option<usize> {
        let n = i64::try_from(self.members.len()).ok().filter(|n| *n > 0)?;
        usize::try_from((k - first_turn).rem_euclid(n)).ok()
    }

    fn first_turn(&self, tz: Tz, anchor: NaiveDateTime) -> Option<i64> {
        self.turn_at(tz, anchor, self.rotation_start)
    }

    fn active(&self, t: DateTime<Utc>) -> bool {
        t >= self.rotation_start && self.rotation_end.is_none_or(|end| t < end)
    }

    fn in_window(&self, tz: Tz, t: DateTime<Utc>) -> bool {
        if self.restrictions.is_empty() {
            return true;
        }
        let today = local(tz, t).date();
        let days = [today.pred_opt(), Some(today), today.succ_opt()];
        self.restrictions.iter().any(|r| {
            days.iter().flatten().any(|d| {
                r.applies_on(*d)
                    && r.window_on(tz, *d)
                        .is_some_and(|(start, end)| start <= t && t < end)
            })
        })
    }

    /// Index into `members` of who this layer has on call at `t`, if anyone.
    pub(crate) fn member_at(&self, tz: Tz, t: DateTime<Utc>) -> Option<usize> {
        if !self.active(t) || !self.in_window(tz, t) {
            return None;
        }
        let anchor = self.anchor(tz);
        let k = self.turn_at(tz, anchor, t)?;
        self.member_index(self.first_turn(tz, anchor)?, k)
    }

    /// The earliest instant after `t` at which this layer's answer may
    /// change. Turn boundaries that hand over to the same person are
    /// skipped, so a one-person layer costs nothing per turn.
    pub(crate) fn next_change_after(&self, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut best: Option<DateTime<Utc>> = None;
        let mut consider = |c: Option<DateTime<Utc>>| {
            if let Some(c) = c.filter(|c| *c > t) {
                best = Some(best.map_or(c, |b| b.min(c)));
            }
        };
        consider(Some(self.rotation_start));
        consider(self.rotation_end);
        let anchor = self.anchor(tz);
        if let (Some(k), Some(first)) = (self.turn_at(tz, anchor, t), self.first_turn(tz, anchor)) {
            let n = self.members.len() as i64;
            for j in 1..=n {
                if self.member_index(first, k + j) != self.member_index(first, k + j - 1) {
                    consider(self.boundary(tz, anchor, k + j));
                    break;
                }
            }
        }
        let today = local(tz, t).date();
        for r in &self.restrictions {
            let mut day = today.pred_opt();
            for _ in 0..10 {
                let Some(d) = day else { break };
                if r.applies_on(d)
                    && let Some((start, end)) = r.window_on(tz, d)
                {
                    consider(Some(start));
                    consider(Some(end));
                }
                day = d.succ_opt();
            }
        }
        best
    }

    /// The latest instant at or before `t` at which this layer's answer may
    /// have changed (the mirror of [`Layer::next_change_after`]).
    pub(crate) fn prev_change_at_or_before(
        &self,
        tz: Tz,
        t: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut best: Option<DateTime<Utc>> = None;
        let mut consider = |c: Option<DateTime<Utc>>| {
            if let Some(c) = c.filter(|c| *c <= t) {
                best = Some(best.map_or(c, |b| b.max(c)));
            }
        };
        consider(Some(self.rotation_start));
        consider(self.rotation_end);
        let anchor = self.anchor(tz);
        if let (Some(k), Some(first)) = (self.turn_at(tz, anchor, t), self.first_turn(tz, anchor)) {
            let n = self.members.len() as i64;
            for j in 0..n {
                if self.member_index(first, k - j) != self.member_index(first, k - j - 1) {
                    consider(self.boundary(tz, anchor, k - j));
                    break;
                }
            }
        }
        let today = local(tz, t).date();
        for r in &self.restrictions {
            let mut day = today.succ_opt();
            for _ in 0..10 {
                let Some(d) = day else { break };
                if r.applies_on(d)
                    && let Some((start, end)) = r.window_on(tz, d)
                {
                    consider(Some(start));
                    consider(Some(end));
                }
                day = d.pred_opt();
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_minutes_wrap_from_sunday_night_into_monday() {
        let r = Restriction {
            days: vec![Weekday::Sun],
            start_minute: 22 * 60,
            end_minute: 6 * 60,
        };
        let covered = r.week_minutes();
        assert_eq!(covered.iter().filter(|c| **c).count(), 8 * 60);
        assert!(covered[6 * 1440 + 22 * 60] && covered[0] && covered[6 * 60 - 1]);
        assert!(!covered[6 * 60] && !covered[6 * 1440 + 22 * 60 - 1]);
    }

    #[test]
    fn a_layer_without_members_or_turn_length_has_nobody() {
        let start = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let mut layer = Layer {
            name: "l".into(),
            rotation_start: start,
            rotation_end: None,
            turn_length: TimeDelta::hours(1),
            handoff_time: NaiveTime::MIN,
            members: vec![],
            restrictions: vec![],
        };
        let tz = chrono_tz::UTC;
        assert_eq!(layer.member_at(tz, start), None);
        layer.members = vec!["a".into()];
        layer.turn_length = TimeDelta::zero();
        assert_eq!(layer.member_at(tz, start), None);
        assert_eq!(layer.next_change_after(tz, start), None);
    }
}
