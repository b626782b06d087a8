//! The escalation state machine on fake times.

use chrono::{DateTime, TimeDelta, Utc};
use homeostat_oncall::{
    Escalation, EscalationError, EscalationStatus, EscalationStep, Oncall, ResolvedTarget, Target,
};

use crate::{at, load};

const CONFIG: &str = r#"
users: [{id: alice}, {id: bob}, {id: carol}, {id: dave}]
schedules:
  - id: primary
    layers:
      - {name: daily, rotation_start: 2026-11-01T09:00:00Z, turn_length: 1d, members: [alice, carol]}
  - id: secondary
    layers:
      - {name: weekly, rotation_start: 2026-11-02T00:00:00Z, turn_length: 1w, members: [dave]}
  - id: business
    layers:
      - name: hours
        rotation_start: 2026-11-02T00:00:00Z
        turn_length: 1w
        members: [bob]
        restrictions: [{start: "09:00", end: "17:00"}]
escalation_policies:
  - id: payments
    repeat: 2
    levels:
      - {delay: 5m, targets: [{schedule: primary}]}
      - {delay: 10m, targets: [{user: bob}, {schedule: secondary}]}
  - id: once
    levels:
      - {delay: 30m, targets: [{schedule: business}, {user: bob}]}
"#;

/// 2026-11-02 08:50 UTC: alice's turn on `primary` until 09:00, then carol's.
const T0: &str = "2026-11-02T08:50:00Z";

fn start(oncall: &Oncall, policy: &str) -> Escalation {
    Escalation::start(oncall.escalation_policy(policy).expect("policy"), at(T0))
}

fn mins(m: i64) -> DateTime<Utc> {
    at(T0) + TimeDelta::minutes(m)
}

/// `(level, round, minutes after T0, users)` of each step.
fn summary(steps: &[EscalationStep]) -> Vec<(usize, u32, i64, Vec<&str>)> {
    steps
        .iter()
        .map(|s| {
            (
                s.level,
                s.round,
                (s.at - at(T0)).num_minutes(),
                s.users.iter().map(String::as_str).collect(),
            )
        })
        .collect()
}

#[test]
fn an_unacknowledged_page_moves_to_the_next_level_after_the_delay() {
    let o = load(CONFIG);
    let mut e = start(&o, "payments");
    assert_eq!(e.next_deadline(), Some(at(T0)));
    let first = e.advance(&o, at(T0)).expect("advance");
    assert_eq!(summary(&first), vec![(0, 0, 0, vec!["alice"])]);
    assert_eq!(e.next_deadline(), Some(mins(5)));
    assert!(e.advance(&o, mins(4)).expect("advance").is_empty());
    let second = e.advance(&o, mins(5)).expect("advance");
    assert_eq!(summary(&second), vec![(1, 0, 5, vec!["bob", "dave"])]);
    assert_eq!(
        second[0].targets,
        vec![
            ResolvedTarget {
                target: Target::User("bob".into()),
                users: vec!["bob".into()]
            },
            ResolvedTarget {
                target: Target::Schedule("secondary".into()),
                users: vec!["dave".into()]
            },
        ]
    );
    assert_eq!(e.next_deadline(), Some(mins(15)));
}

#[test]
fn an_acknowledged_page_escalates_no_further() {
    let o = load(CONFIG);
    let mut e = start(&o, "payments");
    e.advance(&o, at(T0)).expect("advance");
    assert!(e.acknowledge("alice", mins(2)));
    assert_eq!(e.next_deadline(), None);
    assert!(e.advance(&o, mins(600)).expect("advance").is_empty());
    assert_eq!(
        e.status(),
        &EscalationStatus::Acknowledged {
            by: "alice".into(),
            at: mins(2)
        }
    );
    assert!(
        !e.acknowledge("bob", mins(3)),
        "the first acknowledgement stands"
    );
    assert!(e.resolve(mins(20)));
    assert!(!e.resolve(mins(21)));
    assert_eq!(e.status(), &EscalationStatus::Resolved { at: mins(20) });
}

#[test]
fn the_policy_repeats_then_is_exhausted() {
    let o = load(CONFIG);
    let mut e = start(&o, "payments");
    // A server that was down for an hour catches up with every step.
    let steps = e.advance(&o, mins(60)).expect("advance");
    assert_eq!(
        summary(&steps),
        vec![
            (0, 0, 0, vec!["alice"]),
            (1, 0, 5, vec!["bob", "dave"]),
            // The primary schedule handed over to carol at 09:00.
            (0, 1, 15, vec!["carol"]),
            (1, 1, 20, vec!["bob", "dave"]),
            (0, 2, 30, vec!["carol"]),
            (1, 2, 35, vec!["bob", "dave"]),
        ]
    );
    assert_eq!(e.status(), &EscalationStatus::Exhausted { at: mins(45) });
    assert_eq!(e.exhausted_at(), Some(mins(45)));
    assert_eq!(e.next_deadline(), None);
    assert!(e.advance(&o, mins(600)).expect("advance").is_empty());
    // Someone can still take an exhausted page.
    assert!(e.acknowledge("bob", mins(50)));
}

#[test]
fn stepping_deadline_by_deadline_matches_catching_up() {
    let o = load(CONFIG);
    let mut stepped = start(&o, "payments");
    let mut all = Vec::new();
    while let Some(deadline) = stepped.next_deadline() {
        all.extend(stepped.advance(&o, deadline).expect("advance"));
    }
    let mut caught_up = start(&o, "payments");
    let at_once = caught_up.advance(&o, mins(1000)).expect("advance");
    assert_eq!(all, at_once);
    assert_eq!(stepped, caught_up);
}

#[test]
fn without_repeat_the_last_delay_ends_it() {
    let o = load(CONFIG);
    let mut e = start(&o, "once");
    let steps = e.advance(&o, at(T0)).expect("advance");
    // Nobody is on the business schedule at 08:50: the target resolves to no one.
    assert_eq!(steps[0].targets[0].users, Vec::<String>::new());
    assert_eq!(steps[0].users, vec!["bob".to_string()]);
    assert_eq!(e.next_deadline(), Some(mins(30)));
    assert!(e.advance(&o, mins(29)).expect("advance").is_empty());
    assert_eq!(e.status(), &EscalationStatus::Active);
    assert!(e.advance(&o, mins(30)).expect("advance").is_empty());
    assert_eq!(e.exhausted_at(), Some(mins(30)));
}

#[test]
fn state_survives_a_serde_round_trip() {
    let o = load(CONFIG);
    let mut e = start(&o, "payments");
    e.advance(&o, mins(6)).expect("advance");
    let json = serde_json::to_string(&e).expect("serialize");
    assert!(json.contains("\"version\":1"), "{json}");
    let mut restored: Escalation = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(restored, e);
    assert_eq!(restored.next_deadline(), Some(mins(15)));
    let after = restored.advance(&o, mins(15)).expect("advance");
    assert_eq!(summary(&after), vec![(0, 1, 15, vec!["carol"])]);
    let steps_json = serde_json::to_string(&after).expect("steps serialize");
    assert!(
        steps_json.contains("\"schedule\":\"primary\""),
        "{steps_json}"
    );
}

#[test]
fn a_policy_removed_from_the_config_is_an_error() {
    let o = load(CONFIG);
    let mut e = start(&o, "payments");
    let reloaded = Oncall::default();
    assert_eq!(
        e.advance(&reloaded, at(T0)),
        Err(EscalationError::UnknownPolicy("payments".into()))
    );
    assert!(e.resolve(mins(1)), "a page can still be resolved");
}
