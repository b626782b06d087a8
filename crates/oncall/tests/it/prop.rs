//! Property: asking about one instant and rendering a range agree, for
//! random layers, restrictions, overrides and zones with DST changes.

use chrono::{DateTime, TimeDelta, Utc};
use homeostat_oncall::{Oncall, Shift, shifts, who_is_on_call};
use proptest::prelude::*;

const ZONES: [&str; 4] = [
    "Europe/Berlin",
    "America/New_York",
    "UTC",
    "Australia/Lord_Howe",
];
const TURNS: [&str; 7] = ["30m", "1h", "7h", "12h", "1d", "2d", "1w"];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Ranges around the spring and autumn DST changes of the zones above.
const RANGES: [(&str, &str); 2] = [
    ("2026-03-01T00:00:00Z", "2026-04-12T00:00:00Z"),
    ("2026-10-15T00:00:00Z", "2026-11-08T00:00:00Z"),
];

#[derive(Debug, Clone)]
struct LayerCase {
    start_hours: u32,
    turn: usize,
    handoff: Option<(u32, u32)>,
    members: Vec<usize>,
    restriction: Option<(Vec<usize>, u32, u32)>,
}

fn layer_case() -> impl Strategy<Value = LayerCase> {
    (
        0u32..24 * 20,
        0..TURNS.len(),
        proptest::option::of((0u32..24, prop_oneof![Just(0u32), Just(30u32)])),
        proptest::collection::vec(0usize..3, 1..4),
        proptest::option::of((
            proptest::collection::vec(0usize..7, 1..4),
            0u32..48,
            0u32..48,
        )),
    )
        .prop_map(
            |(start_hours, turn, handoff, members, restriction)| LayerCase {
                start_hours,
                turn,
                handoff,
                members,
                restriction,
            },
        )
}

fn yaml(
    zone: &str,
    base: DateTime<Utc>,
    layers: &[LayerCase],
    overrides: &[(u32, u32, usize)],
) -> String {
    let users = ["a", "b", "c"];
    let mut out = format!(
        "users: [{{id: a}}, {{id: b}}, {{id: c}}]\nschedules:\n  - id: s\n    time_zone: {zone}\n    layers:\n"
    );
    for (i, l) in layers.iter().enumerate() {
        let start = (base - TimeDelta::days(10) + TimeDelta::hours(i64::from(l.start_hours)))
            .format("%Y-%m-%dT%H:%M:%S");
        let members: Vec<&str> = l.members.iter().map(|m| users[*m]).collect();
        out.push_str(&format!(
            "      - name: l{i}\n        rotation_start: {start}\n        turn_length: {}\n        members: [{}]\n",
            TURNS[l.turn],
            members.join(", ")
        ));
        if let Some((h, m)) = l.handoff {
            out.push_str(&format!("        handoff_time: \"{h:02}:{m:02}\"\n"));
        }
        if let Some((days, s, e)) = &l.restriction {
            let mut days: Vec<&str> = days.iter().map(|d| DAYS[*d]).collect();
            days.sort();
            days.dedup();
            out.push_str(&format!(
                "        restrictions: [{{days: [{}], start: \"{:02}:{:02}\", end: \"{:02}:{:02}\"}}]\n",
                days.join(", "),
                s / 2,
                (s % 2) * 30,
                e / 2,
                (e % 2) * 30
            ));
        }
    }
    if !overrides.is_empty() {
        out.push_str("    overrides:\n");
        for (start_h, len_h, user) in overrides {
            let start = base + TimeDelta::hours(i64::from(*start_h));
            let end = start + TimeDelta::hours(i64::from(*len_h));
            out.push_str(&format!(
                "      - {{user: {}, start: {}, end: {}}}\n",
                users[*user],
                start.to_rfc3339(),
                end.to_rfc3339()
            ));
        }
    }
    out
}

fn containing(shifts: &[Shift], t: DateTime<Utc>) -> Option<&Shift> {
    shifts.iter().find(|s| s.start <= t && t < s.end)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn who_is_on_call_agrees_with_shifts(
        zone in 0..ZONES.len(),
        range in 0..RANGES.len(),
        layers in proptest::collection::vec(layer_case(), 1..4),
        overrides in proptest::collection::vec((0u32..24 * 30, 1u32..72, 0usize..3), 0..3),
        instants in proptest::collection::vec(0.0f64..1.0, 20),
    ) {
        let (from, to) = RANGES[range];
        let (from, to) = (crate::at(from), crate::at(to));
        let config = yaml(ZONES[zone], from, &layers, &overrides);
        let oncall = Oncall::from_yaml_str(&config);
        prop_assume!(oncall.is_ok(), "rejected: {:?}", oncall.err());
        let oncall = oncall.expect("checked");
        let schedule = oncall.schedule("s").expect("schedule");
        let rendered = shifts(schedule, from, to);

        for pair in rendered.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "{pair:?}");
            prop_assert!(
                pair[0].end < pair[1].start || pair[0].user != pair[1].user,
                "adjacent shifts of one user are merged: {pair:?}"
            );
        }
        let span = (to - from).num_seconds() as f64;
        let mut probes: Vec<DateTime<Utc>> = instants
            .iter()
            .map(|f| from + TimeDelta::seconds((f * span) as i64))
            .collect();
        for s in rendered.iter().take(40) {
            probes.push(s.start);
            probes.push(s.end - TimeDelta::nanoseconds(1));
        }
        for t in probes.into_iter().filter(|t| *t >= from && *t < to) {
            let who = who_is_on_call(schedule, t);
            let shift = containing(&rendered, t);
            prop_assert_eq!(
                who.as_ref().map(|o| &o.user),
                shift.map(|s| &s.user),
                "at {} in\n{}", t, config
            );
            if let (Some(who), Some(shift)) = (who, shift) {
                let start = who.shift_start.map_or(from, |s| s.max(from));
                let end = who.shift_end.map_or(to, |e| e.min(to));
                prop_assert!(start <= t && t < end, "{who:?} at {t}");
                prop_assert!(
                    shift.start <= start && end <= shift.end,
                    "{who:?} not inside {shift:?} at {t} in\n{config}"
                );
            }
        }
    }
}
