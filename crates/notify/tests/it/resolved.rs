//! The resolved-notification rule as a truth table.

use std::collections::BTreeSet;

use homeostat_model::Fingerprint;
use homeostat_notify::{SentRecord, plan, should_send};

/// A distinct fingerprint per short alert name (its bytes).
fn set(items: &[&str]) -> BTreeSet<Fingerprint> {
    items
        .iter()
        .map(|s| Fingerprint(s.bytes().fold(0, |a, b| a << 8 | u64::from(b))))
        .collect()
}

fn rec(firing: &[&str], resolved: &[&str]) -> SentRecord {
    SentRecord {
        firing: set(firing),
        resolved: set(resolved),
    }
}

/// (case, send_resolved, previous, firing now, resolved now, send?)
type Case<'a> = (
    &'a str,
    bool,
    Option<SentRecord>,
    &'a [&'a str],
    &'a [&'a str],
    bool,
);

#[test]
#[rustfmt::skip]
fn truth_table() {
    let cases: &[Case] = &[
        ("new group firing",                   false, None,                       &["a"],      &[],         true),
        ("new group firing, send_resolved",    true,  None,                       &["a"],      &[],         true),
        ("new group only resolved",            true,  None,                       &[],         &["a"],      false),
        ("new group empty",                    true,  None,                       &[],         &[],         false),
        ("nothing changed",                    true,  Some(rec(&["a"], &[])),     &["a"],      &[],         false),
        ("another alert fires",                false, Some(rec(&["a"], &[])),     &["a", "b"], &[],         true),
        ("one alert replaced by another",      false, Some(rec(&["a"], &[])),     &["b"],      &[],         true),
        ("notified alert resolves",            true,  Some(rec(&["a", "b"], &[])), &["b"],     &["a"],      true),
        ("notified resolves, no send_resolved", false, Some(rec(&["a", "b"], &[])), &["b"],    &["a"],      false),
        ("all resolve",                        true,  Some(rec(&["a"], &[])),     &[],         &["a"],      true),
        ("all resolve, no send_resolved",      false, Some(rec(&["a"], &[])),     &[],         &["a"],      false),
        ("resolved never notified as firing",  true,  Some(rec(&["a"], &[])),     &["a"],      &["x"],      false),
        ("resolved already reported",          true,  Some(rec(&[], &["a"])),     &[],         &["a"],      false),
        ("alert silenced away",                true,  Some(rec(&["a", "b"], &[])), &["a"],     &[],         false),
        ("reported resolved fires again",      true,  Some(rec(&[], &["a"])),     &["a"],      &[],         true),
    ];
    for (name, send_resolved, prev, firing, resolved, want) in cases {
        let got = should_send(*send_resolved, prev.as_ref(), &set(firing), &set(resolved));
        assert_eq!(got, *want, "case {name:?}");
    }
}

#[test]
fn a_resolution_is_reported_once() {
    let prev = rec(&["a", "b"], &[]);
    let p = plan(true, Some(&prev), &set(&["b"]), &set(&["a", "x"]));
    assert!(p.send);
    // x never went out as firing, so the notification must not mention it.
    assert_eq!(p.resolved_to_report, set(&["a"]));
    assert_eq!(p.record, rec(&["b"], &["a"]));
    let again = plan(true, Some(&p.record), &set(&["b"]), &set(&["a", "x"]));
    assert!(!again.send);
    assert_eq!(again.record, p.record);
}

#[test]
fn a_silent_resolution_makes_the_next_firing_news() {
    let prev = rec(&["a", "b"], &[]);
    let quiet = plan(false, Some(&prev), &set(&["a"]), &set(&["b"]));
    assert!(!quiet.send);
    assert_eq!(quiet.record, rec(&["a"], &[]));
    let refire = plan(false, Some(&quiet.record), &set(&["a", "b"]), &set(&[]));
    assert!(refire.send);
}
