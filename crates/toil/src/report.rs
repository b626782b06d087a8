//! Toil share per team per ISO week, against the cap.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::week::{WEEK_MS, week_start};
use homeostat_state::ToilEntry;

/// Google's SRE book caps toil at half of an engineer's time.
pub const DEFAULT_CAP: f64 = 0.5;
/// The team of entries whose service has none in the catalog (or that name
/// no service).
pub const UNASSIGNED: &str = "unassigned";

/// One on-call shift of a team, `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekShare {
    pub team: String,
    /// Monday 00:00 UTC.
    pub week_start_ms: i64,
    pub toil_hours: f64,
    pub oncall_hours: f64,
    /// `toil_hours / oncall_hours`; none when the team had no on-call time
    /// that week.
    pub share: Option<f64>,
    /// The share is above the cap.
    pub over_cap: bool,
    /// How many entries the toil hours add up.
    pub entries: usize,
}

/// The toil share of every team in every ISO week that starts in
/// `[from_ms, until_ms)` (both rounded down to a Monday), by team then week.
///
/// A team appears when it has toil or on-call time in the range, and then
/// in every week of it, so that charts have no holes. An entry counts in
/// the week of its `at_ms`; a shift counts in each week by the hours it
/// overlaps. On-call hours add up per person: two people on call at once
/// give two hours an hour, as their toil adds up too.
pub fn weekly_shares(
    entries: &[ToilEntry],
    oncall: &BTreeMap<String, Vec<Shift>>,
    from_ms: i64,
    until_ms: i64,
    cap: f64,
) -> Vec<WeekShare> {
    let first = week_start(from_ms);
    let weeks: Vec<i64> = (0..)
        .map(|i| first + i * WEEK_MS)
        .take_while(|w| *w < until_ms)
        .collect();
    let Some(end) = weeks.last().map(|w| w + WEEK_MS) else {
        return Vec::new();
    };

    let mut toil: BTreeMap<(&str, i64), (f64, usize)> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.at_ms >= first && e.at_ms < end) {
        let team = e.team.as_deref().unwrap_or(UNASSIGNED);
        let slot = toil.entry((team, week_start(e.at_ms))).or_default();
        slot.0 += e.minutes;
        slot.1 += 1;
    }
    let mut oncall_ms: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for (team, shifts) in oncall {
        for s in shifts {
            for w in &weeks {
                let overlap = s.end_ms.min(w + WEEK_MS) - s.start_ms.max(*w);
                if overlap > 0 {
                    *oncall_ms.entry((team.as_str(), *w)).or_default() += overlap;
                }
            }
        }
    }

    let teams: BTreeSet<&str> = toil
        .keys()
        .chain(oncall_ms.keys())
        .map(|(t, _)| *t)
        .collect();
    let mut out = Vec::with_capacity(teams.len() * weeks.len());
    for team in teams {
        for w in &weeks {
            let (minutes, n) = toil.get(&(team, *w)).copied().unwrap_or_default();
            let toil_hours = minutes / 60.0;
            let oncall_hours =
                oncall_ms.get(&(team, *w)).copied().unwrap_or_default() as f64 / 3_600_000.0;
            let share = (oncall_hours > 0.0).then(|| toil_hours / oncall_hours);
            out.push(WeekShare {
                team: team.to_string(),
                week_start_ms: *w,
                toil_hours,
                oncall_hours,
                share,
                over_cap: share.is_some_and(|s| s > cap),
                entries: n,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::week::DAY_MS;
    use homeostat_state::ToilSource as Source;

    const MON: i64 = 1_793_577_600_000;
    const H: i64 = 3_600_000;

    fn toil(team: Option<&str>, at_ms: i64, minutes: f64) -> ToilEntry {
        ToilEntry {
            id: format!("{at_ms}"),
            at_ms,
            actor: "ana".into(),
            service: None,
            team: team.map(str::to_string),
            kind: "ack".into(),
            subject: "x".into(),
            minutes,
            source: Source::Derived,
            detail: String::new(),
        }
    }

    #[test]
    fn shifts_split_across_weeks_and_teams_fill_every_week() {
        let oncall = BTreeMap::from([(
            "web".to_string(),
            // Sunday noon to Monday noon: 12 h in each week.
            vec![Shift {
                start_ms: MON + 6 * DAY_MS + 12 * H,
                end_ms: MON + WEEK_MS + 12 * H,
            }],
        )]);
        let rows = weekly_shares(
            &[
                toil(Some("web"), MON + WEEK_MS, 420.0),
                toil(None, MON, 30.0),
            ],
            &oncall,
            MON + DAY_MS,
            MON + 2 * WEEK_MS,
            DEFAULT_CAP,
        );
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.team.as_str(),
                    (r.week_start_ms - MON) / WEEK_MS,
                    r.toil_hours,
                    r.oncall_hours,
                    r.share,
                    r.over_cap,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("unassigned", 0, 0.5, 0.0, None, false),
                ("unassigned", 1, 0.0, 0.0, None, false),
                ("web", 0, 0.0, 12.0, Some(0.0), false),
                ("web", 1, 7.0, 12.0, Some(7.0 / 12.0), true),
            ]
        );
    }

    #[test]
    fn entries_outside_the_range_do_not_count() {
        let rows = weekly_shares(
            &[
                toil(Some("web"), MON - 1, 60.0),
                toil(Some("web"), MON + WEEK_MS, 60.0),
            ],
            &BTreeMap::new(),
            MON,
            MON + 1,
            DEFAULT_CAP,
        );
        assert!(rows.is_empty(), "{rows:?}");
    }

    #[test]
    fn an_empty_range_has_no_weeks() {
        assert!(
            weekly_shares(
                &[toil(Some("web"), MON, 5.0)],
                &BTreeMap::new(),
                MON,
                MON,
                0.5
            )
            .is_empty()
        );
    }
}
