//! One incident from first alert to postmortem.

use std::path::PathBuf;

use homeostat_incident::{
    DeployInfo, ExternalKind, Impact, IncidentService, SloImpact, render_postmortem,
};
use homeostat_state::{ActionItemState, EventKind, Incident, IncidentState, Role};
use serde_json::json;

use crate::{MIN, T0, alert, service};

/// Runs the scenario and returns the service and the finished incident.
fn full_incident() -> (IncidentService, Incident) {
    let s = service();
    let mut errors = alert(
        0xdead_beef,
        "CheckoutErrorBudgetBurn",
        &[("service", "checkout"), ("severity", "critical")],
        T0,
    );
    // The rule's `for: 2m`: its condition held from T0 − 2m, it fired at T0.
    errors.pending_since = Some(T0 - 2 * MIN);
    errors.annotations.insert(
        "summary".into(),
        "checkout is burning its error budget 14x".into(),
    );
    errors.annotations.insert(
        "runbook_url".into(),
        "https://runbooks.example/checkout-errors".into(),
    );
    let i = s
        .on_alert_group_firing("{}:{service=\"checkout\"}", &[errors.clone()], T0 + 2 * MIN)
        .unwrap();
    s.record_notification(i.id, "pager-primary", true, T0 + 2 * MIN + 1_000)
        .unwrap();
    s.record_notification(i.id, "slack-incidents", false, T0 + 2 * MIN + 2_000)
        .unwrap();
    s.record_escalation(
        i.id,
        2,
        &["bo".to_string(), "payments-lead".to_string()],
        T0 + 7 * MIN,
    )
    .unwrap();
    s.acknowledge(i.id, "bo", T0 + 8 * MIN).unwrap();
    s.assign_role(
        i.id,
        Role::IncidentCommander,
        "bo",
        "bo",
        T0 + 8 * MIN + 30_000,
    )
    .unwrap();
    s.assign_role(i.id, Role::CommunicationsLead, "cy", "bo", T0 + 9 * MIN)
        .unwrap();
    s.post_update(
        i.id,
        "checkout fails for ~20% of users | investigating",
        "cy",
        T0 + 10 * MIN,
    )
    .unwrap();
    s.record_external(
        i.id,
        ExternalKind::Rollback,
        "checkout rolled back v2.14.0 → v2.13.2",
        json!({"service": "checkout", "from": "v2.14.0", "to": "v2.13.2"}),
        T0 + 15 * MIN,
    )
    .unwrap();
    s.mitigate(i.id, "bo", T0 + 18 * MIN).unwrap();
    let mut cleared = errors;
    cleared.ends_at = Some(T0 + 20 * MIN);
    s.on_alert_resolved("{}:{service=\"checkout\"}", &[cleared], T0 + 21 * MIN)
        .unwrap();
    s.add_note(
        i.id,
        "connection pool too small for\nthe new retry policy",
        "dee",
        T0 + 25 * MIN,
    )
    .unwrap();
    s.resolve(i.id, "bo", T0 + 40 * MIN).unwrap();
    s.start_postmortem(i.id, "bo", T0 + 24 * 60 * MIN).unwrap();
    let a = s
        .add_action_item(
            i.id,
            "Load-test retry policy changes before rollout",
            Some("dee"),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 15),
            T0 + 24 * 60 * MIN,
        )
        .unwrap();
    s.set_action_item_state(a.id, ActionItemState::InProgress, T0 + 25 * 60 * MIN)
        .unwrap();
    s.add_action_item(
        i.id,
        "Page on pool saturation",
        None,
        None,
        T0 + 24 * 60 * MIN,
    )
    .unwrap();
    let i = s.store().get(i.id).unwrap();
    (s, i)
}

fn impact() -> Impact {
    Impact {
        slos: vec![SloImpact {
            id: "checkout-availability".into(),
            objective: 0.999,
            budget_consumed_ratio: 0.1875,
            error_minutes: 8.1,
        }],
        deploys: vec![
            DeployInfo {
                service: "search".into(),
                version: "v9.1.0".into(),
                at: T0 + 30 * MIN,
                author: "eve".into(),
                via: vec![],
            },
            DeployInfo {
                service: "payments-db".into(),
                version: "pg 16.4".into(),
                at: T0 - 7 * MIN,
                author: "dba-bot".into(),
                via: vec!["checkout".into(), "payments".into(), "payments-db".into()],
            },
            DeployInfo {
                service: "checkout".into(),
                version: "v2.14.0".into(),
                at: T0 - 12 * MIN,
                author: "deploy-bot".into(),
                via: vec![],
            },
        ],
    }
}

#[test]
fn the_timeline_tells_the_whole_story() {
    let (s, i) = full_incident();
    assert_eq!(i.state, IncidentState::Postmortem);
    assert_eq!(i.detected_at, Some(T0), "detected when the alert fired");
    assert_eq!(i.acknowledged_at, Some(T0 + 8 * MIN));
    assert_eq!(i.mitigated_at, Some(T0 + 18 * MIN));
    assert_eq!(i.resolved_at, Some(T0 + 40 * MIN));
    let kinds: Vec<EventKind> = s.timeline(i.id).unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::AlertPending,
            EventKind::AlertFiring,
            EventKind::Declared,
            EventKind::NotificationSent,
            EventKind::NotificationFailed,
            EventKind::Escalated,
            EventKind::Acknowledged,
            EventKind::RoleAssigned,
            EventKind::RoleAssigned,
            EventKind::StatusUpdate,
            EventKind::Rollback,
            EventKind::StateChanged, // mitigated
            EventKind::AlertResolved,
            EventKind::Note,
            EventKind::StateChanged, // resolved
            EventKind::StateChanged, // postmortem
        ]
    );
}

#[test]
fn postmortem_lists_everything() {
    let (s, i) = full_incident();
    let doc = render_postmortem(
        &i,
        &s.timeline(i.id).unwrap(),
        &s.store().action_items(i.id).unwrap(),
        &impact(),
    );
    for needle in [
        "# Postmortem: INC-1 — checkout is burning its error budget 14x",
        "| Time to detect | alert pending → first alert fired | 2m |",
        "| Time to open | first alert fired → incident opened | 2m |",
        "| 2026-11-30 13:58:00 UTC | alert pending | — | CheckoutErrorBudgetBurn pending |",
        "| 2026-11-30 14:00:00 UTC | alert firing | — | CheckoutErrorBudgetBurn firing: checkout is burning its error budget 14x |",
        "| Time to acknowledge | opened → acknowledged | 6m |",
        "| Time to resolve | opened → resolved | 38m |",
        "| 2026-11-30 14:02:01 UTC | notification sent | homeostat | notified pager-primary |",
        "notifying slack-incidents failed",
        "escalated to level 2: bo, payments-lead",
        "checkout fails for ~20% of users \\| investigating",
        "connection pool too small for<br>the new retry policy",
        "| 2026-11-30 13:48:00 UTC | −12m | checkout | v2.14.0 | deploy-bot |",
        "| checkout-availability | 99.9 % | 18.75 % | 8.1 |",
        "| Load-test retry policy changes before rollout | dee | 2026-12-15 | in progress |",
        "| Page on pool saturation | unassigned | — | open |",
        "## Where we got lucky",
    ] {
        assert!(doc.contains(needle), "missing {needle:?} in:\n{doc}");
    }
}

#[test]
fn postmortem_golden() {
    let (s, i) = full_incident();
    let got = render_postmortem(
        &i,
        &s.timeline(i.id).unwrap(),
        &s.store().action_items(i.id).unwrap(),
        &impact(),
    );
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden/postmortem.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", golden.display()));
    assert_eq!(
        got, want,
        "postmortem differs; regenerate with UPDATE_GOLDEN=1 if intended"
    );
}

#[test]
fn unfinished_incident_shows_n_a() {
    let s = service();
    let i = s
        .declare(
            "queue backlog",
            homeostat_state::Severity::Sev3,
            None,
            "ana",
            T0,
        )
        .unwrap();
    let doc = render_postmortem(&i, &s.timeline(i.id).unwrap(), &[], &Impact::default());
    assert!(
        doc.contains("| Time to detect | alert pending → first alert fired | n/a |"),
        "{doc}"
    );
    assert!(doc.contains("| Time to resolve | opened → resolved | n/a |"));
    assert!(doc.contains("- Duration: ongoing"));
    assert!(doc.contains("No deploys recorded"));
    assert!(doc.contains("None yet."));
}
