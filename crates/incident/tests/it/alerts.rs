use std::sync::Arc;

use homeostat_incident::{IncidentError, IncidentOptions, IncidentService};
use homeostat_state::{EventKind, IncidentFilter, IncidentState, MemState, Severity};

use crate::{MIN, T0, alert, kinds, service};

#[test]
fn refiring_group_joins_its_open_incident() {
    let s = service();
    let mut a = alert(
        1,
        "HighErrorRate",
        &[("service", "checkout"), ("severity", "warning")],
        T0,
    );
    a.annotations
        .insert("summary".into(), "checkout errors above 5%".into());
    a.annotations
        .insert("runbook_url".into(), "https://rb/errors".into());
    let i = s
        .on_alert_group_firing("g1", &[a.clone()], T0 + MIN)
        .unwrap();
    assert_eq!(i.title, "checkout errors above 5%");
    assert_eq!(i.service.as_deref(), Some("checkout"));
    assert_eq!(i.severity, Severity::Sev3);
    assert_eq!(i.detected_at, Some(T0));
    assert_eq!(i.created_at, T0 + MIN);
    assert_eq!(i.runbook_urls, vec!["https://rb/errors"]);

    // The dispatcher repeats the same group: same incident, no new lines.
    let again = s
        .on_alert_group_firing("g1", &[a.clone()], T0 + 5 * MIN)
        .unwrap();
    assert_eq!(again.id, i.id);
    assert_eq!(
        kinds(&s, i.id),
        vec![EventKind::AlertFiring, EventKind::Declared]
    );

    // A second, worse alert joins: one new line, severity rises, runbook added.
    let mut b = alert(
        2,
        "LatencyHigh",
        &[("service", "checkout"), ("severity", "critical")],
        T0 - MIN,
    );
    b.annotations
        .insert("runbook_url".into(), "https://rb/latency".into());
    let joined = s
        .on_alert_group_firing("g1", &[a.clone(), b.clone()], T0 + 6 * MIN)
        .unwrap();
    assert_eq!(joined.id, i.id);
    assert_eq!(joined.severity, Severity::Sev2);
    assert_eq!(
        joined.detected_at,
        Some(T0 - MIN),
        "detection moves earlier"
    );
    assert_eq!(
        joined.runbook_urls,
        vec!["https://rb/errors", "https://rb/latency"]
    );
    assert_eq!(
        kinds(&s, i.id),
        vec![
            EventKind::AlertFiring, // b, starts T0 - 1m
            EventKind::AlertFiring, // a
            EventKind::Declared,
            EventKind::SeverityChanged,
        ]
    );
    assert_eq!(s.store().list(&IncidentFilter::default()).unwrap().len(), 1);

    // Another group gets its own incident.
    let other = s
        .on_alert_group_firing("g2", &[alert(3, "DiskFull", &[], T0)], T0 + 7 * MIN)
        .unwrap();
    assert_ne!(other.id, i.id);
    assert_eq!(other.title, "DiskFull firing");
    assert_eq!(other.severity, Severity::Sev2, "default severity");
}

#[test]
fn resolved_alert_that_fires_again_is_recorded_again() {
    let s = service();
    let a = alert(1, "Down", &[], T0);
    let i = s
        .on_alert_group_firing("g", std::slice::from_ref(&a), T0)
        .unwrap();
    let mut resolved = a.clone();
    resolved.ends_at = Some(T0 + 3 * MIN);
    let after = s
        .on_alert_resolved("g", &[resolved.clone()], T0 + 4 * MIN)
        .unwrap()
        .unwrap();
    assert_eq!(
        after.state,
        IncidentState::Triggered,
        "alerts clearing does not resolve by default"
    );
    // Resolving twice records nothing more.
    s.on_alert_resolved("g", &[resolved], T0 + 5 * MIN).unwrap();
    let again = alert(1, "Down", &[], T0 + 10 * MIN);
    s.on_alert_group_firing("g", &[again], T0 + 10 * MIN)
        .unwrap();
    assert_eq!(
        kinds(&s, i.id),
        vec![
            // Same time: by append order, and the incident is opened first.
            EventKind::Declared,
            EventKind::AlertFiring,
            EventKind::AlertResolved,
            EventKind::AlertFiring,
        ]
    );
    let t = s.timeline(i.id).unwrap();
    assert_eq!(t[2].at, T0 + 3 * MIN, "resolved at the alert's endsAt");
    assert!(s.on_alert_resolved("unknown", &[], T0).unwrap().is_none());
}

#[test]
fn refire_within_the_window_reopens_after_it_opens_anew() {
    let s = service();
    let i = s
        .on_alert_group_firing("g", &[alert(1, "Down", &[], T0)], T0)
        .unwrap();
    let mut a = alert(1, "Down", &[], T0);
    a.ends_at = Some(T0 + 5 * MIN);
    s.on_alert_resolved("g", &[a], T0 + 5 * MIN).unwrap();
    s.acknowledge(i.id, "ana", T0 + 2 * MIN).unwrap();
    s.resolve(i.id, "ana", T0 + 6 * MIN).unwrap();

    // 30 minutes later (inside the default hour): the same incident again.
    let reopened = s
        .on_alert_group_firing("g", &[alert(1, "Down", &[], T0 + 36 * MIN)], T0 + 36 * MIN)
        .unwrap();
    assert_eq!(reopened.id, i.id);
    assert_eq!(reopened.state, IncidentState::Triggered);
    assert_eq!(reopened.resolved_at, None);
    assert_eq!(reopened.acknowledged_at, Some(T0 + 2 * MIN));
    let t = s.timeline(i.id).unwrap();
    assert!(
        t.iter()
            .any(|e| e.summary == "reopened: the alert group fired again")
    );

    // Resolve again; two hours later it is a new incident.
    let mut a = alert(1, "Down", &[], T0 + 36 * MIN);
    a.ends_at = Some(T0 + 40 * MIN);
    s.on_alert_resolved("g", &[a], T0 + 40 * MIN).unwrap();
    s.resolve(i.id, "ana", T0 + 41 * MIN).unwrap();
    let fresh = s
        .on_alert_group_firing(
            "g",
            &[alert(1, "Down", &[], T0 + 200 * MIN)],
            T0 + 200 * MIN,
        )
        .unwrap();
    assert_ne!(fresh.id, i.id);
    assert_eq!(s.store().get(i.id).unwrap().state, IncidentState::Resolved);
}

#[test]
fn repeats_of_alerts_still_firing_do_not_reopen_a_closed_incident() {
    let s = service();
    let a = alert(1, "Down", &[], T0);
    let i = s
        .on_alert_group_firing("g", std::slice::from_ref(&a), T0)
        .unwrap();
    s.resolve(i.id, "ana", T0 + MIN).unwrap();
    let same = s.on_alert_group_firing("g", &[a], T0 + 2 * MIN).unwrap();
    assert_eq!((same.id, same.state), (i.id, IncidentState::Resolved));
    assert_eq!(s.store().list(&IncidentFilter::default()).unwrap().len(), 1);
}

#[test]
fn resolve_when_alerts_clear_is_opt_in() {
    let s = IncidentService::with_options(
        Arc::new(MemState::default()),
        IncidentOptions {
            resolve_when_alerts_clear: true,
            ..IncidentOptions::default()
        },
    );
    let a = alert(1, "Down", &[], T0);
    let b = alert(2, "Down", &[("instance", "b")], T0);
    let i = s
        .on_alert_group_firing("g", &[a.clone(), b.clone()], T0)
        .unwrap();
    let still = s.on_alert_resolved("g", &[a], T0 + MIN).unwrap().unwrap();
    assert_eq!(still.state, IncidentState::Triggered, "b still fires");
    let done = s
        .on_alert_resolved("g", &[b], T0 + 2 * MIN)
        .unwrap()
        .unwrap();
    assert_eq!((done.id, done.state), (i.id, IncidentState::Resolved));
    assert_eq!(done.resolved_at, Some(T0 + 2 * MIN));
    let last = s.timeline(i.id).unwrap().pop().unwrap();
    assert_eq!(last.actor.as_deref(), Some("homeostat"));
}

#[test]
fn bad_alert_input_is_refused() {
    let s = service();
    assert!(matches!(
        s.on_alert_group_firing("g", &[], T0),
        Err(IncidentError::Invalid { .. })
    ));
    assert!(matches!(
        s.on_alert_group_firing("", &[alert(1, "Down", &[], T0)], T0),
        Err(IncidentError::Invalid { .. })
    ));
}

#[test]
fn concurrent_firings_of_one_group_open_one_incident() {
    let s = service();
    let threads: Vec<_> = (0..8u64)
        .map(|n| {
            let s = s.clone();
            std::thread::spawn(move || {
                let a = alert(n, "Down", &[("instance", &n.to_string())], T0);
                s.on_alert_group_firing("g", &[a], T0 + n as i64)
                    .unwrap()
                    .id
            })
        })
        .collect();
    let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(s.store().list(&IncidentFilter::default()).unwrap().len(), 1);
    let firing = kinds(&s, ids[0])
        .into_iter()
        .filter(|k| *k == EventKind::AlertFiring)
        .count();
    assert_eq!(firing, 8, "every alert recorded once");
}

#[test]
fn unknown_start_time_uses_the_call_time() {
    let s = service();
    let i = s
        .on_alert_group_firing("g", &[alert(1, "Down", &[], 0)], T0)
        .unwrap();
    assert_eq!(i.detected_at, Some(T0));
    assert_eq!(s.timeline(i.id).unwrap()[0].at, T0);
}

#[test]
fn the_timeline_has_when_an_alert_pended_and_when_it_fired() {
    let s = service();
    // Condition true from T0, `for: 3m`: fired at T0 + 3m, flushed 30 s later.
    let mut a = alert(1, "Burn", &[("service", "checkout")], T0 + 3 * MIN);
    a.pending_since = Some(T0);
    let i = s
        .on_alert_group_firing("g", &[a.clone()], T0 + 3 * MIN + 30_000)
        .unwrap();
    assert_eq!(i.detected_at, Some(T0 + 3 * MIN), "detected when it fired");
    let tl = s.timeline(i.id).unwrap();
    let got: Vec<(EventKind, i64)> = tl.iter().map(|e| (e.kind, e.at)).collect();
    assert_eq!(
        got,
        vec![
            (EventKind::AlertPending, T0),
            (EventKind::AlertFiring, T0 + 3 * MIN),
            (EventKind::Declared, T0 + 3 * MIN + 30_000),
        ]
    );
    assert_eq!(tl[0].summary, "Burn pending");
    assert_eq!(tl[1].data["pending_since"], T0);
    assert_eq!(homeostat_incident::began_at(&tl), Some(T0));

    // A repeat flush adds neither line again.
    s.on_alert_group_firing("g", &[a], T0 + 8 * MIN).unwrap();
    assert_eq!(s.timeline(i.id).unwrap().len(), 3);

    // An alert posted through the Alertmanager API knows only its firing
    // time (and a pending time not before it is no pending time).
    let mut b = alert(2, "Down", &[("service", "search")], T0);
    b.pending_since = Some(T0);
    let j = s.on_alert_group_firing("h", &[b], T0 + MIN).unwrap();
    assert_eq!(
        kinds(&s, j.id),
        vec![EventKind::AlertFiring, EventKind::Declared]
    );
    assert_eq!(
        homeostat_incident::began_at(&s.timeline(j.id).unwrap()),
        None
    );
}
