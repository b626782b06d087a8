//! Rotation math, restrictions, overrides and layer precedence.

use homeostat_oncall::{Shift, Source, shifts};

use crate::{at, load, schedule, user, who};

/// `user [start, end)` of the shift at `t`, for compact assertions.
fn shift_at(s: &homeostat_oncall::Schedule, t: &str) -> String {
    match who(s, t) {
        None => "nobody".into(),
        Some(o) => format!(
            "{} [{}, {})",
            o.user,
            o.shift_start.map_or("?".into(), |t| t.to_rfc3339()),
            o.shift_end.map_or("?".into(), |t| t.to_rfc3339())
        ),
    }
}

fn one_layer(zone: &str, start: &str, turn: &str, handoff: Option<&str>, members: &str) -> String {
    let handoff = handoff.map_or(String::new(), |h| format!(", handoff_time: \"{h}\""));
    format!(
        "users: [{{id: a}}, {{id: b}}, {{id: c}}, {{id: alice}}, {{id: bob}}]\n\
         schedules:\n  - id: s\n    time_zone: {zone}\n    layers:\n      \
         - {{name: l, rotation_start: {start}, turn_length: {turn}{handoff}, members: [{members}]}}\n"
    )
}

#[test]
fn weekly_turns_from_local_rotation_start() {
    let o = load(&one_layer(
        "Europe/Berlin",
        "2026-11-02T09:00:00",
        "1w",
        None,
        "alice, bob",
    ));
    let s = schedule(&o, "s");
    assert_eq!(shift_at(s, "2026-11-02T07:59:59Z"), "nobody");
    assert_eq!(
        shift_at(s, "2026-11-02T08:00:00Z"),
        "alice [2026-11-02T08:00:00+00:00, 2026-11-09T08:00:00+00:00)"
    );
    assert_eq!(user(s, "2026-11-09T07:59:59Z").as_deref(), Some("alice"));
    assert_eq!(
        shift_at(s, "2026-11-09T08:00:00Z"),
        "bob [2026-11-09T08:00:00+00:00, 2026-11-16T08:00:00+00:00)"
    );
    assert_eq!(user(s, "2026-11-16T08:00:00Z").as_deref(), Some("alice"));
    assert_eq!(user(s, "2027-01-04T08:00:00Z").as_deref(), Some("bob"));
}

#[test]
fn daily_handoff_stays_at_local_time_across_berlin_spring_forward() {
    let o = load(&one_layer(
        "Europe/Berlin",
        "2026-03-27T09:00:00",
        "1d",
        None,
        "a, b, c",
    ));
    let s = schedule(&o, "s");
    assert_eq!(user(s, "2026-03-27T08:00:00Z").as_deref(), Some("a"));
    // 28th 09:00 CET to 29th 09:00 CEST: a 23 h turn.
    assert_eq!(
        shift_at(s, "2026-03-29T06:59:59Z"),
        "b [2026-03-28T08:00:00+00:00, 2026-03-29T07:00:00+00:00)"
    );
    assert_eq!(
        shift_at(s, "2026-03-29T07:00:00Z"),
        "c [2026-03-29T07:00:00+00:00, 2026-03-30T07:00:00+00:00)"
    );
}

#[test]
fn daily_handoff_stays_at_local_time_across_berlin_fall_back() {
    let o = load(&one_layer(
        "Europe/Berlin",
        "2026-10-23T09:00:00",
        "1d",
        None,
        "a, b, c",
    ));
    let s = schedule(&o, "s");
    // 24th 09:00 CEST to 25th 09:00 CET: a 25 h turn.
    assert_eq!(
        shift_at(s, "2026-10-25T07:30:00Z"),
        "b [2026-10-24T07:00:00+00:00, 2026-10-25T08:00:00+00:00)"
    );
    assert_eq!(user(s, "2026-10-25T08:00:00Z").as_deref(), Some("c"));
}

#[test]
fn twelve_hour_turns_across_new_york_dst() {
    let o = load(&one_layer(
        "America/New_York",
        "2026-03-07T08:00:00",
        "12h",
        None,
        "a, b",
    ));
    let s = schedule(&o, "s");
    assert_eq!(user(s, "2026-03-07T13:00:00Z").as_deref(), Some("a"));
    // 20:00 EST to 08:00 EDT: 11 h.
    assert_eq!(
        shift_at(s, "2026-03-08T11:59:00Z"),
        "b [2026-03-08T01:00:00+00:00, 2026-03-08T12:00:00+00:00)"
    );
    assert_eq!(
        shift_at(s, "2026-03-08T12:00:00Z"),
        "a [2026-03-08T12:00:00+00:00, 2026-03-09T00:00:00+00:00)"
    );

    let o = load(&one_layer(
        "America/New_York",
        "2026-10-31T20:00:00",
        "12h",
        None,
        "a, b",
    ));
    let s = schedule(&o, "s");
    // 20:00 EDT to 08:00 EST: 13 h.
    assert_eq!(
        shift_at(s, "2026-11-01T06:30:00Z"),
        "a [2026-11-01T00:00:00+00:00, 2026-11-01T13:00:00+00:00)"
    );
    assert_eq!(
        shift_at(s, "2026-11-01T13:00:00Z"),
        "b [2026-11-01T13:00:00+00:00, 2026-11-02T01:00:00+00:00)"
    );
}

#[test]
fn handoff_inside_a_dst_gap_happens_when_the_gap_ends() {
    let o = load(&one_layer(
        "America/New_York",
        "2026-03-06T02:30:00",
        "1d",
        None,
        "a, b",
    ));
    let s = schedule(&o, "s");
    // 2026-03-08 02:30 does not exist in New York; the turn starts at 03:00 EDT.
    assert_eq!(
        shift_at(s, "2026-03-08T06:59:00Z"),
        "b [2026-03-07T07:30:00+00:00, 2026-03-08T07:00:00+00:00)"
    );
    assert_eq!(
        shift_at(s, "2026-03-08T07:00:00Z"),
        "a [2026-03-08T07:00:00+00:00, 2026-03-09T06:30:00+00:00)"
    );
}

#[test]
fn handoff_in_a_repeated_hour_happens_at_its_first_occurrence() {
    let o = load(&one_layer(
        "America/New_York",
        "2026-10-30T01:30:00",
        "1d",
        None,
        "a, b",
    ));
    let s = schedule(&o, "s");
    assert_eq!(
        shift_at(s, "2026-11-02T06:00:00Z"),
        "a [2026-11-01T05:30:00+00:00, 2026-11-02T06:30:00+00:00)"
    );
}

#[test]
fn handoff_time_differs_from_rotation_start() {
    let o = load(&one_layer(
        "UTC",
        "2026-11-02T00:00:00",
        "1d",
        Some("09:00"),
        "a, b",
    ));
    let s = schedule(&o, "s");
    // The first member's first turn is short: from the rotation start to the handoff.
    assert_eq!(
        shift_at(s, "2026-11-02T03:00:00Z"),
        "a [2026-11-02T00:00:00+00:00, 2026-11-02T09:00:00+00:00)"
    );
    assert_eq!(
        shift_at(s, "2026-11-02T09:00:00Z"),
        "b [2026-11-02T09:00:00+00:00, 2026-11-03T09:00:00+00:00)"
    );
    assert_eq!(user(s, "2026-11-03T09:00:00Z").as_deref(), Some("a"));
}

const DAY_AND_NIGHT: &str = r#"
users: [{id: alice}, {id: bob}, {id: carol}]
schedules:
  - id: s
    time_zone: Europe/Berlin
    layers:
      - {name: days, rotation_start: 2026-10-01T00:00:00, turn_length: 1w, members: [alice]}
      - name: nights
        rotation_start: 2026-10-01T00:00:00
        turn_length: 1w
        members: [bob]
        restrictions: [{start: "22:00", end: "06:00"}]
  - id: weekend
    time_zone: Europe/Berlin
    layers:
      - name: friday-night
        rotation_start: 2026-10-01T00:00:00
        turn_length: 1w
        members: [carol]
        restrictions: [{days: [fri], start: "18:00", end: "09:00"}]
"#;

#[test]
fn restriction_windows_cross_midnight() {
    let o = load(DAY_AND_NIGHT);
    let s = schedule(&o, "s");
    assert_eq!(
        shift_at(s, "2026-11-03T21:00:00Z"),
        "bob [2026-11-03T21:00:00+00:00, 2026-11-04T05:00:00+00:00)"
    );
    assert_eq!(user(s, "2026-11-04T04:59:59Z").as_deref(), Some("bob"));
    assert_eq!(
        shift_at(s, "2026-11-04T05:00:00Z"),
        "alice [2026-11-04T05:00:00+00:00, 2026-11-04T21:00:00+00:00)"
    );
    // The night of the Berlin fall-back is nine hours long.
    assert_eq!(
        shift_at(s, "2026-10-25T04:59:00Z"),
        "bob [2026-10-24T20:00:00+00:00, 2026-10-25T05:00:00+00:00)"
    );

    let w = schedule(&o, "weekend");
    assert_eq!(user(w, "2026-11-05T20:00:00Z"), None);
    assert_eq!(user(w, "2026-11-06T16:59:59Z"), None);
    assert_eq!(
        shift_at(w, "2026-11-07T07:59:59Z"),
        "carol [2026-11-06T17:00:00+00:00, 2026-11-07T08:00:00+00:00)"
    );
    assert_eq!(user(w, "2026-11-07T08:00:00Z"), None);
}

#[test]
fn later_layers_win_where_they_have_someone() {
    let o = load(
        r#"
users: [{id: alice}, {id: bob}, {id: carol}]
schedules:
  - id: s
    time_zone: Europe/Berlin
    layers:
      - {name: base, rotation_start: 2026-11-01T00:00:00, turn_length: 1w, members: [alice]}
      - name: business
        rotation_start: 2026-11-01T00:00:00
        turn_length: 1d
        members: [bob]
        restrictions: [{days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}]
      - {name: new-team, rotation_start: 2026-12-01T00:00:00, turn_length: 1w, members: [carol]}
"#,
    );
    let s = schedule(&o, "s");
    let monday = who(s, "2026-11-02T09:00:00Z").expect("on call");
    assert_eq!(monday.user, "bob");
    assert_eq!(
        monday.source,
        Source::Layer {
            index: 1,
            name: "business".into()
        }
    );
    assert_eq!(user(s, "2026-11-02T17:00:00Z").as_deref(), Some("alice"));
    assert_eq!(user(s, "2026-11-07T12:00:00Z").as_deref(), Some("alice"));
    assert_eq!(user(s, "2026-12-01T09:00:00Z").as_deref(), Some("carol"));
    assert_eq!(user(s, "2026-12-07T09:00:00Z").as_deref(), Some("carol"));
}

const WITH_OVERRIDE: &str = r#"
users: [{id: alice}, {id: bob}, {id: carol}]
schedules:
  - id: s
    time_zone: Europe/Berlin
    layers:
      - {name: weekdays, rotation_start: 2026-11-02T09:00:00, turn_length: 1w, members: [alice, bob]}
    overrides:
      - {user: carol, start: 2026-11-30T09:00:00Z, end: 2026-12-01T09:00:00Z, reason: swap}
      - {user: alice, start: 2026-11-09T08:00:00Z, end: 2026-11-10T08:00:00Z}
"#;

#[test]
fn overrides_win_over_layers() {
    let o = load(WITH_OVERRIDE);
    let s = schedule(&o, "s");
    let carol = who(s, "2026-11-30T12:00:00Z").expect("on call");
    assert_eq!(carol.user, "carol");
    assert_eq!(
        carol.source,
        Source::Override {
            reason: Some("swap".into())
        }
    );
    assert_eq!(
        shift_at(s, "2026-11-30T12:00:00Z"),
        "carol [2026-11-30T09:00:00+00:00, 2026-12-01T09:00:00+00:00)"
    );
    assert_eq!(
        shift_at(s, "2026-11-30T08:30:00Z"),
        "alice [2026-11-30T08:00:00+00:00, 2026-11-30T09:00:00+00:00)"
    );
    assert_eq!(
        shift_at(s, "2026-12-01T09:00:00Z"),
        "alice [2026-12-01T09:00:00+00:00, 2026-12-07T08:00:00+00:00)"
    );
}

#[test]
fn shifts_render_the_final_schedule_with_same_user_shifts_merged() {
    let o = load(WITH_OVERRIDE);
    let s = schedule(&o, "s");
    let got = shifts(s, at("2026-11-02T00:00:00Z"), at("2026-11-17T00:00:00Z"));
    let layer = Source::Layer {
        index: 0,
        name: "weekdays".into(),
    };
    assert_eq!(
        got,
        vec![
            Shift {
                user: "alice".into(),
                start: at("2026-11-02T08:00:00Z"),
                end: at("2026-11-10T08:00:00Z"),
                sources: vec![layer.clone(), Source::Override { reason: None }],
            },
            Shift {
                user: "bob".into(),
                start: at("2026-11-10T08:00:00Z"),
                end: at("2026-11-16T08:00:00Z"),
                sources: vec![layer.clone()],
            },
            Shift {
                user: "alice".into(),
                start: at("2026-11-16T08:00:00Z"),
                end: at("2026-11-17T00:00:00Z"),
                sources: vec![layer],
            },
        ]
    );
    assert!(shifts(s, at("2026-11-17T00:00:00Z"), at("2026-11-17T00:00:00Z")).is_empty());
}

#[test]
fn a_one_person_layer_is_one_long_shift() {
    let o = load(&one_layer(
        "UTC",
        "2026-01-01T00:00:00",
        "1h",
        None,
        "alice",
    ));
    let s = schedule(&o, "s");
    let got = shifts(s, at("2026-02-01T00:00:00Z"), at("2026-03-01T00:00:00Z"));
    assert_eq!(got.len(), 1);
    let now = who(s, "2026-02-10T00:00:00Z").expect("on call");
    assert_eq!(now.shift_start, Some(at("2026-01-01T00:00:00Z")));
    assert_eq!(now.shift_end, None, "no handoff within the look-around");
}
