//! Export and import: a state written through the traits on [`MemState`],
//! imported into the backend, exports equal, and the backend goes on
//! numbering after the imported ids.

use serde_json::json;

use super::analysis::{measurement, run};
use super::{deploy, event, override_audit, sample_incident, sample_override, sample_token};
use crate::{
    ActionItem, ActionItemState, AnalysisStore, AuditEntry, AuditLog, ChaosStore, DeployStore,
    Dump, EscalationRecord, EscalationStore, EventKind, IncidentState, IncidentStore, MemState,
    NflogEntry, NotificationLog, OutboxEntry, OutboxState, OverrideStore, RemediationStore,
    RollbackRecord, Silence, SilenceMatcher, SilenceStore, StateBackend, StateDump, ToilStore,
    TokenStore, UsedLinkStore,
};

/// A [`MemState`] with records of every kind, ids with gaps and revisions
/// past 1.
pub fn populated() -> MemState {
    let m = MemState::default();
    let silence = Silence {
        id: String::new(),
        matchers: vec![SilenceMatcher {
            name: "job".into(),
            value: "api|web".into(),
            is_regex: true,
            is_equal: true,
        }],
        starts_at: 1_000,
        ends_at: 9_000,
        created_by: "ana".into(),
        comment: "maintenance".into(),
        updated_at: 1_000,
    };
    m.upsert(&silence).expect("silence");
    m.record(
        &NflogEntry {
            receiver: "pager".into(),
            group_key: "{}:{alertname=\"Down\"}".into(),
            firing_fingerprints: vec![homeostat_model::Fingerprint(u64::MAX)],
            resolved_fingerprints: vec![],
            sent_at: 2_000,
            expires_at: 90_000,
        },
        None,
    )
    .expect("nflog");
    let page = |key: &str| OutboxEntry {
        key: key.into(),
        kind: "page".into(),
        doc: json!({"user": "ana"}),
        created_at: 2_000,
        expires_at: 90_000,
        state: OutboxState::Pending,
        attempts: 0,
        finished_at: None,
    };
    m.enqueue(&page("page/1"), None).expect("enqueue");
    m.enqueue(&page("page/2"), None).expect("enqueue");
    m.finish("page/1", true, 2, 2_500).expect("finish");

    let first = m
        .create(&sample_incident("db down", Some("g1")))
        .expect("incident");
    let second = m
        .create(&sample_incident("api slow", Some("g2")))
        .expect("incident");
    m.update(&crate::Incident {
        state: IncidentState::Resolved,
        resolved_at: Some(5_000),
        ..first.clone()
    })
    .expect("resolve");
    m.append_event(&event(first.id, 1_500, EventKind::Declared, "declared"))
        .expect("event");
    m.append(&AuditEntry {
        seq: 0,
        at: 1_600,
        actor: "ana".into(),
        action: "incident.declare".into(),
        object: format!("incident/{}", first.id),
        detail: json!({"why": "test"}),
    })
    .expect("audit");
    m.append_event(&event(second.id, 1_700, EventKind::Note, "looking"))
        .expect("event");
    let item = |title: &str| ActionItem {
        id: 0,
        incident_id: first.id,
        title: title.into(),
        owner: Some("bo".into()),
        due: chrono::NaiveDate::from_ymd_opt(2026, 12, 24),
        state: ActionItemState::Open,
        created_at: 6_000,
        updated_at: 6_000,
    };
    let gone = m.create_action_item(&item("drop me")).expect("item");
    m.create_action_item(&item("add an alert")).expect("item");
    m.delete_action_item(gone.id).expect("delete item");
    EscalationStore::put(
        &m,
        &EscalationRecord {
            key: second.id.to_string(),
            state_json: json!({"step": 1}),
            updated_at: 2_000,
        },
    )
    .expect("escalation");

    let d1 = m
        .record_deploy(&deploy("checkout", "1.0", 1_000))
        .expect("deploy");
    m.record_deploy(&deploy("checkout", "1.1", 2_000))
        .expect("deploy");
    m.claim_rollback(
        d1,
        &RollbackRecord {
            at: 3_000,
            reason: "canary failed".into(),
            action: "https://deploy.example/rollback".into(),
            ok: Some(true),
            detail: json!({"status": 200}),
        },
    )
    .expect("rollback");
    let o = sample_override();
    m.create_override(&o, &override_audit("gate.override.create", &o.id, 1_000))
        .expect("override");
    m.revoke_override(
        &o.id,
        2_000,
        &override_audit("gate.override.revoke", &o.id, 2_000),
    )
    .expect("revoke");
    let mut r = run("run-1", 1_000);
    r.measurements = vec![measurement(1_100, "Pass"), measurement(1_200, "Marginal")];
    m.save_analysis(&r).expect("analysis");
    m.save_analysis(&run("run-2", 500)).expect("analysis");
    m.create_token(&sample_token("ci", &"a".repeat(64)))
        .expect("token");
    m.create_token(&sample_token("old", &"b".repeat(64)))
        .expect("token");
    m.revoke_token("old", 4_000).expect("revoke token");
    m.claim_link("link-1", 99_000, 1_000).expect("link");
    let mut done = super::chaos::chaos_run("exp-1", Some("checkout"), 1_000);
    done.status = "completed".into();
    done.finished_at = Some(2_000);
    m.insert_run(&done).expect("chaos run");
    m.insert_run(&super::chaos::chaos_run("exp-2", None, 3_000))
        .expect("chaos run");
    m.record_termination(&super::chaos::termination("web", "i-1", 1_000))
        .expect("termination");
    m.record_termination(&super::chaos::termination("web", "i-2", 2_000))
        .expect("termination");
    m.record_toil(&super::toil::toil_entry(
        "t-1",
        Some("storage"),
        Some("db"),
        1_000,
    ))
    .expect("toil");
    m.insert_remediation(&super::remediation::run(
        "rem-1",
        "restart",
        "instance=a",
        1_000,
    ))
    .expect("remediation run");
    m
}

/// `target` is a fresh backend.
pub fn dump_round_trip<B: StateBackend + StateDump + ?Sized>(target: &B) {
    let source = populated();
    let dump = source.export().expect("export");
    assert!(
        dump.counts().iter().all(|(_, n)| *n > 0),
        "{:?}",
        dump.counts()
    );
    assert!(target.export().expect("export").is_empty());

    let mut told = Vec::new();
    target
        .import(&dump, &mut |store, n| told.push((store.to_string(), n)))
        .expect("import");
    let expected: Vec<_> = dump
        .counts()
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    assert_eq!(told, expected, "progress names every store once");
    assert_eq!(target.export().expect("export"), dump);

    // Numbering goes on after the imported ids.
    let max_incident = dump
        .incidents
        .iter()
        .map(|i| i.id)
        .max()
        .expect("incidents");
    let next = target
        .create(&sample_incident("after", Some("g3")))
        .expect("create after import");
    assert!(next.id > max_incident, "{} after {}", next.id, max_incident);
    let max_deploy = dump.deploys.iter().map(|d| d.id).max().expect("deploys");
    assert!(
        target
            .record_deploy(&deploy("checkout", "2.0", 9_000))
            .expect("deploy")
            > max_deploy
    );
    let max_audit = dump.audit.iter().map(|e| e.seq).max().expect("audit");
    let seq = target
        .append(&AuditEntry {
            seq: 0,
            at: 9_000,
            actor: "ana".into(),
            action: "x".into(),
            object: "y".into(),
            detail: json!(null),
        })
        .expect("audit");
    assert!(seq > max_audit);
    // The imported open incident still holds its group key.
    assert!(target.create(&sample_incident("dup", Some("g2"))).is_err());

    // An import replaces what was there.
    target
        .import(&Dump::default(), &mut |_, _| {})
        .expect("import empty");
    assert!(target.export().expect("export").is_empty());
}
