//! What is written survives dropping the store and opening it again.

use homeostat_model::Fingerprint;
use homeostat_state::conformance::sample_incident;
use homeostat_state::{
    AuditEntry, AuditLog, EscalationRecord, EscalationStore, EventKind, IncidentStore, NflogEntry,
    NotificationLog, Silence, SilenceMatcher, SilenceStore, TimelineEvent,
};
use homeostat_state_sql::{DB_FILE, SqliteState};
use serde_json::json;

#[test]
fn everything_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let silence = Silence {
        id: String::new(),
        matchers: vec![SilenceMatcher {
            name: "job".into(),
            value: "api".into(),
            is_regex: false,
            is_equal: true,
        }],
        starts_at: 1,
        ends_at: 2,
        created_by: "ana".into(),
        comment: "deploy".into(),
        updated_at: 1,
    };
    let nflog = NflogEntry {
        receiver: "pager".into(),
        group_key: "g".into(),
        firing_fingerprints: vec![Fingerprint(u64::MAX), Fingerprint(3)],
        resolved_fingerprints: vec![Fingerprint(7)],
        sent_at: 10,
        expires_at: 20,
    };
    let escalation = EscalationRecord {
        key: "INC-1".into(),
        state_json: json!({"step": 2}),
        updated_at: 5,
    };
    let (silence, incident, timeline) = {
        let s = SqliteState::open(dir.path()).unwrap();
        let silence = s.upsert(&silence).unwrap();
        s.record(&nflog, None).unwrap();
        s.put(&escalation).unwrap();
        let incident = s.create(&sample_incident("db down", Some("g"))).unwrap();
        let seq = s
            .append_event(&TimelineEvent {
                seq: 0,
                incident_id: incident.id,
                at: 1_000,
                kind: EventKind::Declared,
                actor: None,
                summary: "declared".into(),
                data: json!({}),
            })
            .unwrap();
        s.append(&AuditEntry {
            seq: 0,
            at: 1,
            actor: "ana".into(),
            action: "incident.declare".into(),
            object: incident.id.to_string(),
            detail: json!(null),
        })
        .unwrap();
        assert!(seq > 0);
        let timeline = s.timeline(incident.id).unwrap();
        (silence, incident, timeline)
    };
    assert!(dir.path().join(DB_FILE).exists());

    let s = SqliteState::open(dir.path()).unwrap();
    assert_eq!(SilenceStore::get(&s, &silence.id).unwrap(), silence);
    assert_eq!(s.last("pager", "g").unwrap(), Some(nflog));
    assert_eq!(EscalationStore::get(&s, "INC-1").unwrap(), Some(escalation));
    assert_eq!(IncidentStore::get(&s, incident.id).unwrap(), incident);
    assert_eq!(
        s.find_open_by_group_key("g").unwrap(),
        Some(incident.clone())
    );
    assert_eq!(s.timeline(incident.id).unwrap(), timeline);
    assert_eq!(
        s.list_by_object(&incident.id.to_string(), 10)
            .unwrap()
            .len(),
        1
    );

    // Ids keep counting after a reopen.
    let next = s.create(&sample_incident("next", None)).unwrap();
    assert!(next.id > incident.id);
}

#[test]
fn database_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteState::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}
