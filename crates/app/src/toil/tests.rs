//! The ledger on MemState with a fake clock: manual entries, derivation
//! from the audit log and incidents, and the report with on-call hours
//! from a schedule named after the team.

use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_model::FakeClock;
use homeostat_oncall::Oncall;
use homeostat_state::{
    AuditEntry, Incident, IncidentId, IncidentState, MemState, Role, Severity, Silence,
    SilenceMatcher, State, ToilFilter, ToilSource,
};
use homeostat_toil::{DAY_MS, WEEK_MS, kind};
use serde_json::json;

use super::*;

/// Monday 2026-11-02 00:00 UTC.
const MON: i64 = 1_793_577_600_000;
const H: i64 = 3_600_000;

fn setup(now: i64) -> (ToilService, State, FakeClock) {
    let state = State::from_backend(Arc::new(MemState::default()));
    let clock = FakeClock::new(now);
    let oncall = Oncall::from_yaml_str(
        "users: [{id: ana}, {id: bo}]\nschedules:\n  - id: storage\n    time_zone: UTC\n    layers:\n      - {name: weekly, rotation_start: 2026-10-05T00:00:00, turn_length: 1w, members: [ana, bo]}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config = ToilConfig {
        teams: BTreeMap::from([("db".to_string(), "storage".to_string())]),
        oncall: Arc::new(oncall),
        ..ToilConfig::default()
    };
    let svc = ToilService::new(
        state.clone(),
        Arc::new(clock.clone()),
        Arc::new(Live::new(config)),
    );
    (svc, state, clock)
}

fn audit(
    state: &State,
    at: i64,
    actor: &str,
    action: &str,
    object: &str,
    detail: serde_json::Value,
) {
    state
        .audit
        .append(&AuditEntry {
            seq: 0,
            at,
            actor: actor.into(),
            action: action.into(),
            object: object.into(),
            detail,
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

fn silence(id: &str, by: &str) -> Silence {
    let m = |name: &str, value: &str| SilenceMatcher {
        name: name.into(),
        value: value.into(),
        is_regex: false,
        is_equal: true,
    };
    Silence {
        id: id.into(),
        matchers: vec![
            m("alertname", "DiskFull"),
            m("instance", "db-3"),
            m("service", "db"),
        ],
        starts_at: 0,
        ends_at: 1,
        created_by: by.into(),
        comment: "cleaning up".into(),
        updated_at: 0,
    }
}

#[test]
fn manual_toil_is_validated_recorded_with_its_team_and_audited() {
    let (svc, state, _) = setup(MON + DAY_MS);
    let bad = svc
        .log_manual(&ManualToil {
            kind: "disk-cleanup".into(),
            minutes: 0.0,
            by: "ana".into(),
            ..Default::default()
        })
        .expect_err("no minutes");
    assert!(
        matches!(&bad, ToilError::State(homeostat_state::StateError::Invalid { field, .. }) if field == "minutes"),
        "{bad}"
    );
    let ahead = svc.log_manual(&ManualToil {
        kind: "disk-cleanup".into(),
        minutes: 5.0,
        by: "ana".into(),
        at_ms: Some(MON + 2 * DAY_MS),
        ..Default::default()
    });
    assert!(matches!(ahead, Err(ToilError::Invalid { ref field, .. }) if field == "at"));

    let e = svc
        .log_manual(&ManualToil {
            kind: "disk-cleanup".into(),
            service: Some("db".into()),
            minutes: 20.0,
            note: "rotated logs".into(),
            by: "ana".into(),
            at_ms: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (e.team.as_deref(), e.at_ms, e.source),
        (Some("storage"), MON + DAY_MS, ToilSource::Manual)
    );
    assert_eq!(
        state
            .toil
            .list_toil(&ToilFilter::default())
            .unwrap_or_else(|e| panic!("{e}")),
        vec![e.clone()]
    );
    let logged = state
        .audit
        .list_by_object(&format!("toil/{}", e.id), 10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(logged[0].action, "toil.log");
}

#[test]
fn human_actions_are_derived_and_homeostat_s_own_are_not() {
    let (svc, state, _) = setup(MON + WEEK_MS);
    svc.audit_silence(&silence("s-1", "ana"), false);
    // The silence above was audited at the clock's time; these at their own.
    audit(
        &state,
        MON + H,
        "bo",
        "gate.override.create",
        "gate-override/ovr-1",
        json!({"service": "db"}),
    );
    audit(
        &state,
        MON + H,
        "homeostat",
        "deploy.rollback",
        "deploy/3",
        json!({}),
    );
    audit(
        &state,
        MON + H,
        "homeostat (policy clean-disk)",
        "remediation.approve",
        "remediation/1",
        json!({}),
    );
    audit(&state, MON + H, "bo", "token.create", "token/ci", json!({}));
    let inc = state
        .incidents
        .create(&Incident {
            id: IncidentId(0),
            revision: 0,
            title: "DiskFull on db-3".into(),
            severity: Severity::Sev2,
            state: IncidentState::Triggered,
            service: Some("db".into()),
            group_key: None,
            created_at: MON + 2 * H,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            detected_at: None,
            roles: BTreeMap::from([(Role::IncidentCommander, "cy".to_string())]),
            runbook_urls: vec![],
            labels: BTreeMap::new(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
    audit(
        &state,
        MON + 3 * H,
        "bo",
        "incident.acknowledge",
        &format!("incident/{}", inc.id),
        json!({}),
    );
    // Acked Sunday 22:00, resolved Monday 01:30: 2 h in one week, 1.5 h in the next.
    state
        .incidents
        .update(&Incident {
            state: IncidentState::Resolved,
            acknowledged_at: Some(MON + 6 * DAY_MS + 22 * H),
            resolved_at: Some(MON + WEEK_MS + 90 * 60_000),
            ..inc
        })
        .unwrap_or_else(|e| panic!("{e}"));

    let got = svc
        .derive(MON, MON + 2 * WEEK_MS)
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<_> = got
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.actor.as_str(),
                e.subject.as_str(),
                e.team.as_deref(),
                e.minutes,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                kind::OVERRIDE,
                "bo",
                "the gate of db",
                Some("storage"),
                10.0
            ),
            (kind::ACK, "bo", "DiskFull on db-3", Some("storage"), 5.0),
            (
                kind::INCIDENT_WORK,
                "cy",
                "INC-1: DiskFull on db-3",
                Some("storage"),
                120.0
            ),
            (
                kind::SILENCE,
                "ana",
                "DiskFull on db-3",
                Some("storage"),
                5.0
            ),
            (
                kind::INCIDENT_WORK,
                "cy",
                "INC-1: DiskFull on db-3",
                Some("storage"),
                90.0
            ),
        ]
    );
    // Deriving again gives the same ids.
    let again = svc
        .derive(MON, MON + 2 * WEEK_MS)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, again);
}

#[test]
fn the_report_sets_toil_against_the_team_s_schedule_and_finds_candidates() {
    let now = MON + WEEK_MS + 3 * DAY_MS;
    let (svc, state, clock) = setup(now);
    for d in 0..4 {
        clock.set(MON + WEEK_MS + d * H);
        svc.audit_silence(&silence(&format!("s-{d}"), "ana"), false);
    }
    clock.set(now);
    // 83 h of logged cleanup over the first week: half the 168 on-call hours is 84.
    for d in 0..6 {
        svc.log_manual(&ManualToil {
            kind: "disk-cleanup".into(),
            service: Some("db".into()),
            minutes: if d < 5 { 14.0 * 60.0 } else { 13.0 * 60.0 },
            by: "bo".into(),
            at_ms: Some(MON + d * DAY_MS),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let r = svc.report(2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.from_ms, r.until_ms), (MON, MON + 2 * WEEK_MS));
    let weeks: Vec<_> = r
        .weeks
        .iter()
        .map(|w| (w.team.as_str(), w.toil_hours, w.oncall_hours, w.over_cap))
        .collect();
    assert_eq!(
        weeks,
        vec![
            ("storage", 83.0, 168.0, false),
            ("storage", 20.0 / 60.0, 168.0, false)
        ]
    );
    let sentences: Vec<_> = r.candidates.iter().map(|c| c.sentence.as_str()).collect();
    assert_eq!(
        sentences,
        [
            "did disk-cleanup for db 6 times in 30 days",
            "silenced DiskFull on db-3 4 times in 30 days"
        ]
    );
    assert!(
        r.candidates[1]
            .draft_policy
            .contains("alertname=\"DiskFull\"")
    );
    assert!(matches!(svc.report(0), Err(ToilError::Invalid { .. })));

    // Over the cap once one more hour is logged.
    svc.log_manual(&ManualToil {
        kind: "disk-cleanup".into(),
        service: Some("db".into()),
        minutes: 120.0,
        by: "bo".into(),
        at_ms: Some(MON + 6 * DAY_MS),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let r = svc.report(2).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.weeks[0].over_cap, "{:?}", r.weeks[0]);
    let _ = state;
}
