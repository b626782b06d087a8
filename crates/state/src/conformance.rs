//! The behaviour every state backend must show, as plain functions that
//! panic on the first difference. A backend's tests call [`run_all`] with a
//! factory of empty backends; each check gets a fresh one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_model::Fingerprint;
use serde_json::json;

mod analysis;
mod chaos;
mod cluster;
mod dump;
mod remediation;
mod toil;
mod tokens;
pub use analysis::analyses;
pub use chaos::{chaos_runs, terminations};
pub use cluster::{alert_log, fencing, lease_race, leases, members};
pub use dump::{dump_round_trip, populated};
pub use remediation::remediation_runs;
pub use toil::toil;
pub use tokens::{sample_token, tokens, used_links};

use crate::{
    ActionItem, ActionItemState, AuditEntry, AuditLog, EscalationRecord, EscalationStore,
    EventKind, Incident, IncidentFilter, IncidentId, IncidentState, IncidentStore, NflogEntry,
    NotificationLog, OutboxEntry, OutboxState, Role, Severity, Silence, SilenceMatcher,
    SilenceStore, StateBackend, StateError, TimelineEvent,
};
use crate::{
    Deploy, DeployFilter, DeployOutcome, DeployStore, GateOverride, OverrideStore, RollbackRecord,
};

/// Runs every check, each on a backend fresh from `fresh()`.
pub fn run_all<B: StateBackend + 'static>(fresh: impl Fn() -> Arc<B>) {
    silences(fresh().as_ref());
    nflog(fresh().as_ref());
    outbox(fresh().as_ref());
    incidents(fresh().as_ref());
    open_incident_per_group(fresh().as_ref());
    timeline(fresh().as_ref());
    action_items(fresh().as_ref());
    escalations(fresh().as_ref());
    deploys(fresh().as_ref());
    deploy_finish(fresh().as_ref());
    rollback_deploys(fresh().as_ref());
    overrides(fresh().as_ref());
    analyses(fresh().as_ref());
    chaos_runs(fresh().as_ref());
    terminations(fresh().as_ref());
    toil(fresh().as_ref());
    remediation_runs(fresh().as_ref());
    audit(fresh().as_ref());
    tokens(fresh().as_ref());
    used_links(fresh().as_ref());
    concurrent_appends(fresh());
    leases(fresh().as_ref());
    lease_race(fresh());
    fencing(fresh().as_ref());
    members(fresh().as_ref());
    alert_log(fresh().as_ref());
}

/// An open incident with every field set, for tests.
pub fn sample_incident(title: &str, group_key: Option<&str>) -> Incident {
    let mut roles = BTreeMap::new();
    roles.insert(Role::IncidentCommander, "ana".to_string());
    let mut labels = BTreeMap::new();
    labels.insert("team".to_string(), "payments".to_string());
    Incident {
        id: IncidentId(0),
        revision: 0,
        title: title.to_string(),
        severity: Severity::Sev2,
        state: IncidentState::Triggered,
        service: Some("checkout".to_string()),
        group_key: group_key.map(str::to_string),
        created_at: 1_000,
        acknowledged_at: None,
        mitigated_at: Some(3_000),
        resolved_at: None,
        detected_at: Some(500),
        roles,
        runbook_urls: vec!["https://runbooks.example/checkout".to_string()],
        labels,
    }
}

fn event(id: IncidentId, at: i64, kind: EventKind, summary: &str) -> TimelineEvent {
    TimelineEvent {
        seq: 0,
        incident_id: id,
        at,
        kind,
        actor: Some("ana".to_string()),
        summary: summary.to_string(),
        data: json!({"fingerprint": u64::MAX, "nested": {"ok": true}}),
    }
}

pub fn silences(s: &dyn SilenceStore) {
    let new = Silence {
        id: String::new(),
        matchers: vec![
            SilenceMatcher {
                name: "alertname".into(),
                value: "Down".into(),
                is_regex: false,
                is_equal: true,
            },
            SilenceMatcher {
                name: "instance".into(),
                value: "db-.*".into(),
                is_regex: true,
                is_equal: false,
            },
        ],
        starts_at: 1_000,
        ends_at: 10_000,
        created_by: "ana".into(),
        comment: "maintenance".into(),
        updated_at: 900,
    };
    let stored = s.upsert(&new).expect("upsert new");
    assert_eq!(stored.id.len(), 36, "a new silence gets a UUID");
    assert_eq!(s.get(&stored.id).expect("get"), stored);

    let changed = Silence {
        comment: "longer maintenance".into(),
        ends_at: 20_000,
        updated_at: 2_000,
        ..stored.clone()
    };
    assert_eq!(s.upsert(&changed).expect("upsert existing"), changed);
    assert_eq!(s.get(&stored.id).expect("get"), changed);

    let early = s
        .upsert(&Silence {
            id: String::new(),
            starts_at: 0,
            ends_at: 500,
            ..new.clone()
        })
        .expect("upsert second");
    let ids: Vec<String> = s.list().expect("list").into_iter().map(|x| x.id).collect();
    assert_eq!(ids, vec![early.id.clone(), stored.id.clone()]);

    let invalid = Silence {
        matchers: vec![],
        ..new.clone()
    };
    assert!(matches!(
        s.upsert(&invalid),
        Err(StateError::Invalid { .. })
    ));
    assert!(matches!(
        s.get("00000000-0000-4000-8000-000000000000"),
        Err(StateError::NotFound { .. })
    ));

    let expired = s.expire(&stored.id, 5_000).expect("expire");
    assert_eq!((expired.ends_at, expired.updated_at), (5_000, 5_000));
    assert_eq!(s.get(&stored.id).expect("get"), expired);
    assert!(matches!(
        s.expire(&stored.id, 6_000),
        Err(StateError::Conflict { .. })
    ));
    assert!(matches!(
        s.expire("nope", 6_000),
        Err(StateError::NotFound { .. })
    ));

    assert_eq!(
        s.gc(600).expect("gc"),
        1,
        "only the early one ended before 600"
    );
    assert_eq!(s.gc(600).expect("gc"), 0);
    assert_eq!(s.list().expect("list").len(), 1);
}

pub fn nflog(n: &dyn NotificationLog) {
    assert_eq!(n.last("pager", "g1").expect("last"), None);
    let first = NflogEntry {
        receiver: "pager".into(),
        group_key: "g1".into(),
        firing_fingerprints: vec![Fingerprint(1), Fingerprint(u64::MAX)],
        resolved_fingerprints: vec![],
        sent_at: 1_000,
        expires_at: 100_000,
    };
    n.record(&first, None).expect("record");
    let second = NflogEntry {
        firing_fingerprints: vec![Fingerprint(u64::MAX)],
        resolved_fingerprints: vec![Fingerprint(1)],
        sent_at: 2_000,
        expires_at: 200_000,
        ..first.clone()
    };
    n.record(&second, None).expect("record again");
    assert_eq!(n.last("pager", "g1").expect("last"), Some(second.clone()));
    let other = NflogEntry {
        receiver: "slack".into(),
        expires_at: 50_000,
        ..first.clone()
    };
    n.record(&other, None).expect("record other receiver");
    assert_eq!(n.last("slack", "g1").expect("last"), Some(other));
    assert_eq!(n.last("pager", "g2").expect("last"), None);

    assert_eq!(n.gc(50_000).expect("gc"), 1, "expires_at == now is gone");
    assert_eq!(n.last("slack", "g1").expect("last"), None);
    assert_eq!(n.last("pager", "g1").expect("last"), Some(second));
}

pub fn outbox(n: &dyn NotificationLog) {
    let page = |key: &str, created_at| OutboxEntry {
        key: key.into(),
        kind: "page".into(),
        doc: json!({"user": "ana", "body": {"level": 1}}),
        created_at,
        expires_at: created_at + 100_000,
        state: OutboxState::Pending,
        attempts: 0,
        finished_at: None,
    };
    let a = page("page/1/1000/0/ana", 1_000);
    let b = page("page/1/1000/0/bo", 900);
    assert!(n.enqueue(&a, None).expect("enqueue"));
    assert!(n.enqueue(&b, None).expect("enqueue"));
    assert!(
        !n.enqueue(&a, None).expect("enqueue again"),
        "a key is owed once"
    );
    let other_kind = OutboxEntry {
        kind: "remediation".into(),
        ..page("rem/1", 800)
    };
    assert!(n.enqueue(&other_kind, None).expect("enqueue"));
    assert_eq!(
        n.pending("page").expect("pending"),
        vec![b.clone(), a.clone()],
        "oldest first, by kind"
    );

    n.finish(&a.key, true, 3, 5_000).expect("finish");
    n.finish(&b.key, false, 7, 6_000).expect("finish");
    n.finish("page/unknown", true, 1, 6_000)
        .expect("unknown key");
    assert!(n.pending("page").expect("pending").is_empty());
    let done = n.outbox_entry(&a.key).expect("get").expect("kept");
    assert_eq!(done.state, OutboxState::Delivered);
    assert_eq!((done.attempts, done.finished_at), (3, Some(5_000)));
    assert_eq!(
        n.outbox_entry(&b.key).expect("get").map(|e| e.state),
        Some(OutboxState::Failed)
    );
    assert!(
        !n.enqueue(&a, None).expect("enqueue delivered"),
        "a delivered message is not owed again"
    );

    assert_eq!(
        n.gc(a.expires_at).expect("gc"),
        3,
        "expires_at == now is gone"
    );
    assert_eq!(n.outbox_entry(&a.key).expect("get"), None);
}

pub fn incidents(s: &dyn IncidentStore) {
    let a = s
        .create(&sample_incident("checkout errors", Some("g1")))
        .expect("create");
    assert_eq!(a.revision, 1);
    assert!(a.id.0 > 0);
    assert_eq!(s.get(a.id).expect("get"), a);
    let b = s
        .create(&Incident {
            service: Some("search".into()),
            group_key: None,
            roles: BTreeMap::new(),
            detected_at: None,
            ..sample_incident("search slow", None)
        })
        .expect("create second");
    assert!(b.id > a.id, "ids increase");

    let all = s.list(&IncidentFilter::default()).expect("list");
    assert_eq!(
        all.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![b.id, a.id],
        "newest first"
    );
    let search = s
        .list(&IncidentFilter {
            service: Some("search".into()),
            ..IncidentFilter::default()
        })
        .expect("list by service");
    assert_eq!(search, vec![b.clone()]);
    let limited = s
        .list(&IncidentFilter {
            limit: Some(1),
            ..IncidentFilter::default()
        })
        .expect("list limited");
    assert_eq!(limited, vec![b.clone()]);

    let acked = Incident {
        state: IncidentState::Acknowledged,
        acknowledged_at: Some(2_000),
        ..a.clone()
    };
    let acked = s.update(&acked).expect("update");
    assert_eq!(acked.revision, 2);
    assert_eq!(s.get(a.id).expect("get"), acked);
    assert!(
        matches!(s.update(&a), Err(StateError::Conflict { .. })),
        "a stale revision is a conflict"
    );
    let by_state = s
        .list(&IncidentFilter {
            states: vec![IncidentState::Acknowledged, IncidentState::Resolved],
            ..IncidentFilter::default()
        })
        .expect("list by state");
    assert_eq!(by_state, vec![acked.clone()]);

    assert!(matches!(
        s.get(IncidentId(999)),
        Err(StateError::NotFound { .. })
    ));
    let ghost = Incident {
        id: IncidentId(999),
        revision: 1,
        ..acked.clone()
    };
    assert!(matches!(s.update(&ghost), Err(StateError::NotFound { .. })));
    assert!(matches!(
        s.create(&sample_incident(" ", None)),
        Err(StateError::Invalid { .. })
    ));
}

pub fn open_incident_per_group(s: &dyn IncidentStore) {
    assert_eq!(s.find_open_by_group_key("g1").expect("find"), None);
    let a = s
        .create(&sample_incident("first", Some("g1")))
        .expect("create");
    assert_eq!(
        s.find_open_by_group_key("g1").expect("find").map(|i| i.id),
        Some(a.id)
    );
    assert!(
        matches!(
            s.create(&sample_incident("twin", Some("g1"))),
            Err(StateError::Conflict { .. })
        ),
        "one open incident per group key"
    );
    let resolved = s
        .update(&Incident {
            state: IncidentState::Resolved,
            resolved_at: Some(9_000),
            ..a.clone()
        })
        .expect("resolve");
    assert_eq!(s.find_open_by_group_key("g1").expect("find"), None);
    let b = s
        .create(&sample_incident("again", Some("g1")))
        .expect("a resolved incident frees its group key");
    assert!(
        matches!(
            s.update(&Incident {
                state: IncidentState::Triggered,
                ..resolved
            }),
            Err(StateError::Conflict { .. })
        ),
        "reopening while another is open for the group conflicts"
    );
    let by_group = s
        .list(&IncidentFilter {
            group_key: Some("g1".into()),
            ..IncidentFilter::default()
        })
        .expect("list by group");
    assert_eq!(
        by_group.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );
}

pub fn timeline(s: &dyn IncidentStore) {
    let i = s.create(&sample_incident("t", None)).expect("create");
    let other = s.create(&sample_incident("other", None)).expect("create");
    let s1 = s
        .append_event(&event(i.id, 2_000, EventKind::Acknowledged, "acked"))
        .expect("append");
    let s2 = s
        .append_event(&event(i.id, 1_000, EventKind::AlertFiring, "fired"))
        .expect("append");
    let s3 = s
        .append_event(&event(i.id, 2_000, EventKind::Note, "note | with pipe"))
        .expect("append");
    s.append_event(&event(other.id, 1_500, EventKind::Note, "elsewhere"))
        .expect("append other");
    assert!(s1 < s2 && s2 < s3, "seq increases");
    let t = s.timeline(i.id).expect("timeline");
    assert_eq!(
        t.iter().map(|e| e.summary.as_str()).collect::<Vec<_>>(),
        vec!["fired", "acked", "note | with pipe"],
        "by at, then seq"
    );
    assert_eq!(t[0].seq, s2);
    assert_eq!(
        t[0],
        TimelineEvent {
            seq: s2,
            ..event(i.id, 1_000, EventKind::AlertFiring, "fired")
        },
        "every field survives"
    );
    assert!(matches!(
        s.append_event(&event(IncidentId(999), 1, EventKind::Note, "x")),
        Err(StateError::NotFound { .. })
    ));
    assert!(matches!(
        s.timeline(IncidentId(999)),
        Err(StateError::NotFound { .. })
    ));
}

pub fn action_items(s: &dyn IncidentStore) {
    let i = s.create(&sample_incident("a", None)).expect("create");
    let item = ActionItem {
        id: 0,
        incident_id: i.id,
        title: "add a disk alert".into(),
        owner: Some("bo".into()),
        due: chrono::NaiveDate::from_ymd_opt(2026, 12, 24),
        state: ActionItemState::Open,
        created_at: 5_000,
        updated_at: 5_000,
    };
    let a = s.create_action_item(&item).expect("create item");
    assert!(a.id > 0);
    let b = s
        .create_action_item(&ActionItem {
            title: "second".into(),
            owner: None,
            due: None,
            ..item.clone()
        })
        .expect("create item");
    assert_eq!(s.get_action_item(a.id).expect("get"), a);
    let done = ActionItem {
        state: ActionItemState::Done,
        updated_at: 6_000,
        ..a.clone()
    };
    assert_eq!(s.update_action_item(&done).expect("update"), done);
    assert_eq!(
        s.action_items(i.id).expect("list"),
        vec![done.clone(), b.clone()]
    );
    s.delete_action_item(b.id).expect("delete");
    assert!(matches!(
        s.delete_action_item(b.id),
        Err(StateError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_action_item(b.id),
        Err(StateError::NotFound { .. })
    ));
    assert_eq!(s.action_items(i.id).expect("list"), vec![done]);
    assert!(matches!(
        s.create_action_item(&ActionItem {
            incident_id: IncidentId(999),
            ..item.clone()
        }),
        Err(StateError::NotFound { .. })
    ));
    assert!(matches!(
        s.create_action_item(&ActionItem {
            title: "".into(),
            ..item
        }),
        Err(StateError::Invalid { .. })
    ));
}

pub fn escalations(s: &dyn EscalationStore) {
    assert_eq!(s.get("INC-1").expect("get"), None);
    let r = EscalationRecord {
        key: "INC-1".into(),
        state_json: json!({"step": 1, "notified": ["ana"]}),
        updated_at: 1_000,
    };
    s.put(&r).expect("put");
    let r2 = EscalationRecord {
        state_json: json!({"step": 2}),
        updated_at: 2_000,
        ..r.clone()
    };
    s.put(&r2).expect("put again");
    let other = EscalationRecord {
        key: "page-7".into(),
        ..r.clone()
    };
    s.put(&other).expect("put other");
    assert_eq!(s.get("INC-1").expect("get"), Some(r2.clone()));
    assert_eq!(s.list_active().expect("list"), vec![r2, other.clone()]);
    assert!(s.delete("INC-1").expect("delete"));
    assert!(!s.delete("INC-1").expect("delete twice"));
    assert_eq!(s.list_active().expect("list"), vec![other]);
}

pub fn audit(s: &dyn AuditLog) {
    let entry = |at: i64, object: &str| AuditEntry {
        seq: 0,
        at,
        actor: "ana".into(),
        action: "silence.create".into(),
        object: object.into(),
        detail: json!({"comment": "x"}),
    };
    let a = s.append(&entry(1_000, "silence/a")).expect("append");
    let b = s.append(&entry(2_000, "silence/b")).expect("append");
    let c = s.append(&entry(3_000, "silence/a")).expect("append");
    assert!(a < b && b < c);
    let for_a = s.list_by_object("silence/a", 10).expect("list");
    assert_eq!(for_a.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![a, c]);
    assert_eq!(
        for_a[1],
        AuditEntry {
            seq: c,
            ..entry(3_000, "silence/a")
        }
    );
    let recent = s.list_recent(2).expect("recent");
    assert_eq!(recent.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![b, c]);
    assert!(s.list_by_object("nothing", 10).expect("list").is_empty());
}

/// Threads appending to one timeline at once lose nothing and never share
/// a `seq`.
pub fn concurrent_appends<B: StateBackend + 'static>(s: Arc<B>) {
    let i = s.create(&sample_incident("busy", None)).expect("create");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for n in 0..50 {
                    s.append_event(&event(i.id, n, EventKind::Note, &format!("{t}/{n}")))
                        .expect("append");
                    s.append(&AuditEntry {
                        seq: 0,
                        at: n,
                        actor: format!("t{t}"),
                        action: "note".into(),
                        object: "incident/busy".into(),
                        detail: json!(null),
                    })
                    .expect("audit");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let t = s.timeline(i.id).expect("timeline");
    assert_eq!(t.len(), 400);
    let mut seqs: Vec<i64> = t.iter().map(|e| e.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 400, "every event has its own seq");
    assert_eq!(
        s.list_by_object("incident/busy", 1_000)
            .expect("audit")
            .len(),
        400
    );
}

fn deploy(service: &str, version: &str, at: i64) -> Deploy {
    Deploy {
        id: 0,
        service: service.into(),
        version: version.into(),
        commit: Some("abc123".into()),
        author: Some("ana".into()),
        environment: "production".into(),
        change_type: None,
        started_at: at,
        finished_at: None,
        outcome: DeployOutcome::InProgress,
        labels: BTreeMap::from([("region".to_string(), "eu".to_string())]),
        rollback: None,
        rolls_back: None,
    }
}

pub fn deploys(s: &dyn DeployStore) {
    let a = s
        .record_deploy(&deploy("checkout", "1.0", 1_000))
        .expect("record");
    let b = s
        .record_deploy(&deploy("checkout", "1.1", 2_000))
        .expect("record");
    let c = s
        .record_deploy(&deploy("search", "7", 1_500))
        .expect("record");
    assert!(a < b && b < c, "ids increase");
    let got = s.get_deploy(b).expect("get").expect("exists");
    assert_eq!(got.id, b);
    assert_eq!(got.version, "1.1");
    assert_eq!(s.get_deploy(999).expect("get"), None);

    let all = s.list_deploys(&DeployFilter::default()).expect("list");
    assert_eq!(
        all.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![b, c, a],
        "newest first"
    );
    let f = DeployFilter {
        service: Some("checkout".into()),
        since: Some(1_500),
        ..Default::default()
    };
    assert_eq!(s.list_deploys(&f).expect("list").len(), 1);
    let f = DeployFilter {
        limit: 1,
        ..Default::default()
    };
    assert_eq!(s.list_deploys(&f).expect("list")[0].id, b);

    let mut done = got.clone();
    done.outcome = DeployOutcome::Succeeded;
    done.finished_at = Some(2_500);
    s.update_deploy(&done).expect("update");
    assert_eq!(
        s.get_deploy(b).expect("get").expect("exists").outcome,
        DeployOutcome::Succeeded
    );

    // The rollback is claimed once, ever.
    let r = RollbackRecord {
        at: 3_000,
        reason: "analysis run failed".into(),
        action: "http://deployer/rollback".into(),
        ok: None,
        detail: json!({}),
    };
    assert!(s.claim_rollback(b, &r).expect("claim"));
    assert!(!s.claim_rollback(b, &r).expect("claim twice"));
    // An update does not clear it.
    s.update_deploy(&done).expect("update");
    s.finish_rollback(b, true, &json!({"status": 200}))
        .expect("finish");
    let rb = s
        .get_deploy(b)
        .expect("get")
        .expect("exists")
        .rollback
        .expect("rollback");
    assert_eq!(rb.ok, Some(true));
    assert_eq!(rb.detail, json!({"status": 200}));
    assert!(matches!(
        s.claim_rollback(999, &r),
        Err(StateError::NotFound { .. })
    ));

    let bad = Deploy {
        version: " ".into(),
        ..deploy("checkout", "x", 1)
    };
    assert!(matches!(
        s.record_deploy(&bad),
        Err(StateError::Invalid { .. })
    ));
    let mut missing = done;
    missing.id = 999;
    assert!(matches!(
        s.update_deploy(&missing),
        Err(StateError::NotFound { .. })
    ));
}

/// Finishing a deploy: any final outcome once, a repeat is a no-op, a
/// finished deploy may still be rolled back, nothing else changes it.
pub fn deploy_finish(s: &dyn DeployStore) {
    let id = s
        .record_deploy(&deploy("checkout", "2.0", 1_000))
        .expect("record");
    let done = s
        .finish_deploy(id, DeployOutcome::Succeeded, 4_000)
        .expect("finish");
    assert_eq!(
        (done.outcome, done.finished_at),
        (DeployOutcome::Succeeded, Some(4_000))
    );
    assert_eq!(s.get_deploy(id).expect("get"), Some(done.clone()));
    // A retried finish keeps the first end.
    let again = s
        .finish_deploy(id, DeployOutcome::Succeeded, 9_000)
        .expect("repeat");
    assert_eq!(again.finished_at, Some(4_000));
    assert!(matches!(
        s.finish_deploy(id, DeployOutcome::Failed, 5_000),
        Err(StateError::Conflict { .. })
    ));
    let rolled = s
        .finish_deploy(id, DeployOutcome::RolledBack, 6_000)
        .expect("roll back a finished deploy");
    assert_eq!(
        (rolled.outcome, rolled.finished_at),
        (DeployOutcome::RolledBack, Some(4_000))
    );
    assert!(matches!(
        s.finish_deploy(id, DeployOutcome::Succeeded, 7_000),
        Err(StateError::Conflict { .. })
    ));
    assert!(matches!(
        s.finish_deploy(999, DeployOutcome::Failed, 7_000),
        Err(StateError::NotFound { .. })
    ));
    let other = s
        .record_deploy(&deploy("checkout", "2.1", 10_000))
        .expect("record");
    assert!(matches!(
        s.finish_deploy(other, DeployOutcome::InProgress, 11_000),
        Err(StateError::Invalid { .. })
    ));
    assert!(matches!(
        s.finish_deploy(other, DeployOutcome::Failed, 9_999),
        Err(StateError::Invalid { .. })
    ));
    assert_eq!(
        s.get_deploy(other).expect("get").map(|d| d.outcome),
        Some(DeployOutcome::InProgress),
        "a refused finish changes nothing"
    );
}

/// A rollback deploy marks the deploy it replaced rolled back, in the
/// same write; naming a deploy that does not exist stores nothing.
pub fn rollback_deploys(s: &dyn DeployStore) {
    let bad = s
        .record_deploy(&deploy("checkout", "2.0", 1_000))
        .expect("record");
    let rollback = Deploy {
        change_type: Some("rollback".into()),
        rolls_back: Some(bad),
        ..deploy("checkout", "1.9", 5_000)
    };
    let r = s.record_deploy(&rollback).expect("record rollback");
    let old = s.get_deploy(bad).expect("get").expect("exists");
    assert_eq!(
        (old.outcome, old.finished_at),
        (DeployOutcome::RolledBack, Some(5_000))
    );
    assert_eq!(
        s.get_deploy(r).expect("get").and_then(|d| d.rolls_back),
        Some(bad)
    );
    let dangling = Deploy {
        rolls_back: Some(999),
        ..rollback
    };
    assert!(matches!(
        s.record_deploy(&dangling),
        Err(StateError::NotFound { .. })
    ));
    assert_eq!(
        s.list_deploys(&DeployFilter::default())
            .expect("list")
            .len(),
        2,
        "nothing stored"
    );
}

/// An active override of `checkout` (`ovr-1`, 1 000 to 5 000 ms), for tests.
pub fn sample_override() -> GateOverride {
    GateOverride {
        id: "ovr-1".into(),
        service: "checkout".into(),
        reason: "launch".into(),
        author: "ana".into(),
        created_at: 1_000,
        expires_at: 5_000,
        revoked_at: None,
    }
}

/// An audit entry for an override change, as the gate service writes it.
pub fn override_audit(action: &str, id: &str, at: i64) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at,
        actor: "ana".into(),
        action: action.into(),
        object: format!("gate-override/{id}"),
        detail: json!({}),
    }
}

pub fn overrides<S: OverrideStore + AuditLog + ?Sized>(s: &S) {
    let o = sample_override();
    let create = |id: &str, at| override_audit("gate.override.create", id, at);
    let revoke = |id: &str, at| override_audit("gate.override.revoke", id, at);
    s.create_override(&o, &create("ovr-1", 1_000))
        .expect("create");
    assert!(matches!(
        s.create_override(&o, &create("ovr-1", 1_500)),
        Err(StateError::Conflict { .. })
    ));
    let o2 = GateOverride {
        id: "ovr-2".into(),
        created_at: 2_000,
        service: "search".into(),
        ..o.clone()
    };
    s.create_override(&o2, &create("ovr-2", 2_000))
        .expect("create");
    assert_eq!(
        s.list_overrides(None).expect("list"),
        vec![o2.clone(), o.clone()]
    );
    assert_eq!(
        s.list_overrides(Some("checkout")).expect("list"),
        vec![o.clone()]
    );
    assert!(
        s.revoke_override("ovr-1", 3_000, &revoke("ovr-1", 3_000))
            .expect("revoke")
    );
    assert!(
        !s.revoke_override("ovr-1", 4_000, &revoke("ovr-1", 4_000))
            .expect("revoke twice")
    );
    assert_eq!(
        s.list_overrides(Some("checkout")).expect("list")[0].revoked_at,
        Some(3_000)
    );
    assert!(matches!(
        s.revoke_override("nope", 1, &revoke("nope", 1)),
        Err(StateError::NotFound { .. })
    ));
    // Every change that was stored is audited, once; refused ones are not.
    let actions: Vec<(String, i64)> = s
        .list_by_object("gate-override/ovr-1", 10)
        .expect("audit")
        .into_iter()
        .map(|e| (e.action, e.at))
        .collect();
    assert_eq!(
        actions,
        [
            ("gate.override.create".to_string(), 1_000),
            ("gate.override.revoke".to_string(), 3_000)
        ]
    );
    assert!(
        s.list_by_object("gate-override/nope", 10)
            .expect("audit")
            .is_empty()
    );
}
