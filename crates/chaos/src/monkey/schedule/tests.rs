//! The schedule on a fake clock: business hours only, the mean interval
//! over simulated months, the minimum interval across a restart, and no
//! termination while something blocks it.

use chrono::{DateTime, Datelike, Timelike, Weekday};
use homeostat_model::{Clock, FakeClock};

use super::*;

const MINUTE: i64 = 60_000;

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

fn berlin_office() -> BusinessHours {
    BusinessHours::parse(&["mon-fri"], "09:00", "17:00", "Europe/Berlin").unwrap()
}

/// Runs the schedule the way the server's task does: sleep until the
/// verdict's `until`, retry a blocked termination every 30 s, terminate when told, and
/// remember the last termination as the log would.
fn simulate(
    s: &MonkeySchedule,
    clock: &FakeClock,
    until: i64,
    mut last: Option<i64>,
    blocked: impl Fn(i64) -> Option<&'static str>,
) -> Vec<i64> {
    let mut done = Vec::new();
    while clock.now_millis() < until {
        let now = clock.now_millis();
        match s.decide(now, last, blocked(now)) {
            Verdict::Terminate { .. } => {
                done.push(now);
                last = Some(now);
                clock.advance(30_000);
            }
            Verdict::Blocked { .. } => clock.advance(30_000),
            // A wait does not depend on what blocks, so jump straight to it.
            Verdict::Wait { until } => clock.set(until.max(now + 1)),
        }
    }
    done
}

#[test]
fn terminations_happen_only_inside_business_hours() {
    let hours = berlin_office();
    let s = MonkeySchedule::new("checkout", hours.clone(), 1.5, 1, 42).unwrap();
    let clock = FakeClock::new(ms("2026-12-01T00:00:00Z"));
    let done = simulate(&s, &clock, ms("2027-01-01T00:00:00Z"), None, |_| None);
    assert!(done.len() >= 5, "{done:?}");
    for t in &done {
        let local = DateTime::from_timestamp_millis(*t)
            .unwrap()
            .with_timezone(&hours.zone());
        assert!(
            !matches!(local.weekday(), Weekday::Sat | Weekday::Sun),
            "{local}"
        );
        assert!((9..17).contains(&local.hour()), "{local}");
    }
}

#[test]
fn the_mean_interval_holds_over_simulated_months() {
    // 40 groups (different seeds), mean 3 workdays, minimum 1, each run
    // for six simulated months. Gaps are measured in workdays; a gap still
    // open at the end is not counted, which biases short windows low, so
    // the months are long enough for that to stay under the tolerance.
    let hours = berlin_office();
    let (from, to) = (ms("2027-01-04T00:00:00Z"), ms("2027-07-05T00:00:00Z"));
    let workdays = f64::from(hours.workdays_between(hours.local_date(from), hours.local_date(to)));
    let (mut gaps, mut total) = (Vec::new(), 0usize);
    for seed in 0..40 {
        let s = MonkeySchedule::new(format!("group-{seed}"), hours.clone(), 3.0, 1, seed).unwrap();
        let clock = FakeClock::new(from);
        let done = simulate(&s, &clock, to, None, |_| None);
        total += done.len();
        for w in done.windows(2) {
            gaps.push(f64::from(
                hours.workdays_between(hours.local_date(w[0]), hours.local_date(w[1])),
            ));
        }
    }
    let mean_gap = gaps.iter().sum::<f64>() / gaps.len() as f64;
    assert!(
        (mean_gap - 3.0).abs() < 0.25,
        "mean gap {mean_gap} over {} gaps",
        gaps.len()
    );
    // Terminations per month (21.7 workdays) come to about 21.7 / 3.
    let per_month = total as f64 / 40.0 / (workdays / 21.7);
    assert!(
        (per_month - 21.7 / 3.0).abs() < 0.7,
        "{per_month} per month"
    );
    assert!(gaps.iter().all(|g| *g >= 1.0));
}

#[test]
fn the_minimum_interval_holds_across_a_restart() {
    let hours = berlin_office();
    let config = || MonkeySchedule::new("payments", hours.clone(), 4.0, 3, 7).unwrap();
    let clock = FakeClock::new(ms("2027-03-01T00:00:00Z"));
    // Run until the first termination, then "restart": a new schedule with
    // the last termination read back from the log.
    let first = simulate(&config(), &clock, ms("2027-04-01T00:00:00Z"), None, |_| {
        None
    })[0];
    clock.set(first + MINUTE);
    let restarted = config();
    let later = simulate(
        &restarted,
        &clock,
        ms("2027-06-01T00:00:00Z"),
        Some(first),
        |_| None,
    );
    assert!(!later.is_empty());
    let mut prev = first;
    for t in later {
        let gap = hours.workdays_between(hours.local_date(prev), hours.local_date(t));
        assert!(gap >= 3, "only {gap} workdays between terminations");
        prev = t;
    }
    // A restart later the same day does not plan a second termination.
    let again = restarted.decide(first + 2 * MINUTE, Some(first), None);
    assert!(
        matches!(again, Verdict::Wait { until } if hours.local_date(until) != hours.local_date(first))
    );
}

#[test]
fn nothing_is_terminated_during_an_incident_or_freeze() {
    let hours = berlin_office();
    let s = MonkeySchedule::new("search", hours.clone(), 1.0, 1, 3).unwrap();
    // Mean 1 with minimum 1: every workday has a termination.
    assert_eq!(s.daily_probability(), 1.0);
    let clock = FakeClock::new(ms("2027-03-01T00:00:00Z"));
    // An incident open all of Monday and Tuesday, a freeze on Wednesday morning.
    let (inc_from, inc_to) = (ms("2027-03-01T00:00:00Z"), ms("2027-03-03T00:00:00Z"));
    let (frz_from, frz_to) = (ms("2027-03-03T00:00:00Z"), ms("2027-03-03T11:00:00Z"));
    let blocked = |t: i64| {
        if (inc_from..inc_to).contains(&t) {
            Some("incident 12 is open for search")
        } else if (frz_from..frz_to).contains(&t) {
            Some("deploy freeze: budget below 10%")
        } else {
            None
        }
    };
    let done = simulate(&s, &clock, ms("2027-03-06T00:00:00Z"), None, blocked);
    assert!(done.iter().all(|t| blocked(*t).is_none()), "{done:?}");
    // Wednesday, Thursday and Friday each get theirs; Wednesday's comes
    // once the freeze has lifted (or at its planned time, if later).
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(done[0] >= frz_to);
    let blocked_verdict = s.decide(
        ms("2027-03-01T15:59:00Z"),
        None,
        Some("incident 12 is open"),
    );
    assert!(
        matches!(blocked_verdict, Verdict::Blocked { ref reason, .. } if reason.contains("incident"))
    );
}

#[test]
fn rejects_a_mean_below_the_minimum() {
    assert!(matches!(
        MonkeySchedule::new("g", berlin_office(), 2.0, 3, 0),
        Err(ScheduleError::MeanBelowMin { .. })
    ));
    assert!(matches!(
        MonkeySchedule::new("g", berlin_office(), 0.5, 0, 0),
        Err(ScheduleError::Mean(_))
    ));
}
