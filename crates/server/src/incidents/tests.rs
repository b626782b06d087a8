//! The hub end to end over the in-memory state store and a local webhook
//! receiver, on a fake clock: paging groups open incidents, unacknowledged
//! pages escalate after the level's delay, acknowledged ones stop, and the
//! escalation survives a restart.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use homeostat_http::IncidentApi;
use homeostat_incident::{AlertInfo, LinkAction};
use homeostat_model::FakeClock;
use homeostat_state::{EventKind, IncidentId, IncidentState, MemState};
use parking_lot::Mutex;
use serde_json::Value;

use super::IncidentHub;
use crate::alert_events::{GroupFlush, IncidentHook, NotificationOutcome};
use crate::config::{Config, FileConfig};

const T0: i64 = 1_800_000_000_000;

type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver on a free port; pages land in the returned list.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let app =
        axum::Router::new()
            .route(
                "/{user}",
                axum::routing::post(
                    |State(got): State<Received>,
                     Path(user): Path<String>,
                     Json(v): Json<Value>| async move {
                        got.lock().push((user, v));
                    },
                ),
            )
            .with_state(got.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, got)
}

fn config(url: &str) -> Config {
    let yaml = format!(
        "oncall:\n  users: [{{id: alice, webhook_url: '{url}/alice'}}, {{id: bob, webhook_url: '{url}/bob'}}, {{id: carol}}]\n  escalation_policies:\n    - {{id: ops, levels: [{{delay: 3s, targets: [{{user: alice}}]}}, {{delay: 3s, targets: [{{user: bob}}, {{user: carol}}]}}]}}\nincidents:\n  default_escalation_policy: ops\n"
    );
    let f: FileConfig = serde_norway::from_str(&yaml).unwrap();
    Config::validate(f, "t").unwrap()
}

fn hub(state: &homeostat_state::State, cfg: &Config, clock: &FakeClock) -> Arc<IncidentHub> {
    let outbound = crate::outbound::outbound(Arc::new(clock.clone()))
        .unwrap()
        .0;
    hub_with(state, cfg, clock, outbound)
}

fn hub_with(
    state: &homeostat_state::State,
    cfg: &Config,
    clock: &FakeClock,
    outbound: homeostat_notify::Outbound,
) -> Arc<IncidentHub> {
    Arc::new(IncidentHub::new(
        state,
        cfg.incidents.clone(),
        b"0123456789abcdef",
        "http://homeostat.test".into(),
        Arc::new(clock.clone()),
        None,
        outbound,
    ))
}

fn alert(name: &str, severity: &str, fp: u64, ends_at: Option<i64>) -> AlertInfo {
    AlertInfo {
        labels: BTreeMap::from([
            ("alertname".to_string(), name.to_string()),
            ("severity".to_string(), severity.to_string()),
        ]),
        annotations: BTreeMap::from([(
            "runbook_url".to_string(),
            "https://runbooks/x".to_string(),
        )]),
        starts_at: T0 - 60_000,
        pending_since: None,
        ends_at,
        fingerprint: homeostat_model::Fingerprint(fp),
    }
}

fn flush(key: &str, alerts: Vec<AlertInfo>, at: i64) -> GroupFlush {
    GroupFlush {
        receiver: "team".into(),
        group_key: key.into(),
        group_labels: BTreeMap::new(),
        alerts,
        at,
    }
}

/// Advances to `now` and delivers what is due; returns `(user, level)`.
async fn tick(hub: &Arc<IncidentHub>, got: &Received, now: i64) -> Vec<(String, u64)> {
    got.lock().clear();
    let (pages, _) = hub.due_pages(now, None);
    for p in pages {
        hub.deliver(p).await;
    }
    got.lock()
        .iter()
        .map(|(u, v)| (u.clone(), v["level"].as_u64().unwrap()))
        .collect()
}

fn kinds(hub: &IncidentHub, id: IncidentId) -> Vec<EventKind> {
    hub.service()
        .timeline(id)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn an_unacknowledged_page_escalates_and_an_acknowledged_one_stops() {
    let (url, got) = receiver().await;
    let cfg = config(&url);
    let clock = FakeClock::new(T0);
    let state = homeostat_state::State::from_backend(Arc::new(MemState::default()));
    let hub = hub(&state, &cfg, &clock);

    // A warning does not page; a page opens INC-1 and returns signed links.
    let links = hub.before_notify(&flush(
        "{}:{a=\"w\"}",
        vec![alert("W", "warning", 1, None)],
        T0,
    ));
    assert_eq!(links.incident_id, None);
    let links = hub.before_notify(&flush(
        "{}:{a=\"d\"}",
        vec![alert("Down", "page", 2, None)],
        T0,
    ));
    assert_eq!(links.incident_id.as_deref(), Some("INC-1"));
    let ack = links.ack_url.unwrap();
    assert!(
        ack.starts_with("http://homeostat.test/api/v1/incidents/INC-1/ack?token="),
        "{ack}"
    );
    let token = ack.split("token=").nth(1).unwrap();
    let now = homeostat_model::Clock::now_millis(&*hub.clock);
    let expires = hub
        .links()
        .verify(IncidentId(1), LinkAction::Acknowledge, "", token, now)
        .expect("a valid link");
    assert_eq!(expires, now + homeostat_incident::DEFAULT_LINK_TTL_MS);
    // The same group again (another receiver, a repeat) joins, no new page.
    hub.before_notify(&flush(
        "{}:{a=\"d\"}",
        vec![alert("Down", "page", 2, None)],
        T0,
    ));
    hub.after_notify(&NotificationOutcome {
        receiver: "team".into(),
        group_key: "{}:{a=\"d\"}".into(),
        delivered: true,
        attempts: 1,
        error: None,
        at: T0,
    });

    assert_eq!(tick(&hub, &got, T0).await, [("alice".to_string(), 1)]);
    let page = got.lock()[0].1.clone();
    assert_eq!(page["incident"], "INC-1");
    assert_eq!(page["runbookUrls"][0], "https://runbooks/x");
    let ack = page["ackUrl"].as_str().unwrap();
    assert!(ack.ends_with("&user=alice"), "{ack}");
    assert_eq!(tick(&hub, &got, T0 + 2_999).await, []);
    assert_eq!(tick(&hub, &got, T0 + 3_000).await, [("bob".to_string(), 2)]);
    let k = kinds(&hub, IncidentId(1));
    assert_eq!(k.iter().filter(|k| **k == EventKind::Escalated).count(), 2);
    assert!(k.contains(&EventKind::AlertFiring) && k.contains(&EventKind::NotificationSent));
    // carol has no webhook_url: her page is a failed notification.
    assert!(k.contains(&EventKind::NotificationFailed));

    // INC-2 is acknowledged before its delay: level 2 never comes.
    hub.before_notify(&flush(
        "{}:{a=\"e\"}",
        vec![alert("Err", "page", 3, None)],
        T0 + 10_000,
    ));
    assert_eq!(
        tick(&hub, &got, T0 + 10_000).await,
        [("alice".to_string(), 1)]
    );
    let i = hub
        .transition(
            IncidentId(2),
            IncidentState::Acknowledged,
            "alice",
            T0 + 11_000,
        )
        .unwrap();
    assert_eq!(i.state, IncidentState::Acknowledged);
    assert!(hub.escalation(IncidentId(2)).is_none());
    assert_eq!(tick(&hub, &got, T0 + 20_000).await, []);
}

#[tokio::test]
async fn escalations_survive_a_restart_and_stop_when_alerts_resolve() {
    let (url, got) = receiver().await;
    let cfg = config(&url);
    let clock = FakeClock::new(T0);
    let state = homeostat_state::State::from_backend(Arc::new(MemState::default()));
    let first = hub(&state, &cfg, &clock);
    first.before_notify(&flush("g", vec![alert("Down", "page", 2, None)], T0));
    assert_eq!(tick(&first, &got, T0).await, [("alice".to_string(), 1)]);
    drop(first);
    // A new hub over the same store carries on at level 2, not level 1.
    let second = hub(&state, &cfg, &clock);
    assert!(second.escalation(IncidentId(1)).is_some());
    assert_eq!(
        tick(&second, &got, T0 + 3_000).await,
        [("bob".to_string(), 2)]
    );

    // Every alert of the group resolved: paging stops, the incident stays open.
    second.before_notify(&flush(
        "g",
        vec![alert("Down", "page", 2, Some(T0 + 4_000))],
        T0 + 5_000,
    ));
    assert!(second.escalation(IncidentId(1)).is_none());
    let k = kinds(&second, IncidentId(1));
    assert!(k.contains(&EventKind::AlertResolved), "{k:?}");
    assert_eq!(
        second.service().store().get(IncidentId(1)).unwrap().state,
        IncidentState::Triggered
    );
}

#[tokio::test]
async fn declared_incidents_page_through_the_named_policy() {
    let (url, got) = receiver().await;
    let cfg = config(&url);
    let clock = FakeClock::new(T0);
    let state = homeostat_state::State::from_backend(Arc::new(MemState::default()));
    let hub = hub(&state, &cfg, &clock);
    let d = homeostat_http::Declare {
        title: "db is slow".into(),
        severity: homeostat_state::Severity::Sev2,
        service: None,
        commander: None,
        escalation_policy: Some("ops".into()),
        by: "ana".into(),
    };
    let i = hub.declare(&d, T0).unwrap();
    assert_eq!(tick(&hub, &got, T0).await, [("alice".to_string(), 1)]);
    let page = got.lock()[0].1.clone();
    assert_eq!(
        (page["title"].as_str(), page["policy"].as_str()),
        (Some("db is slow"), Some("ops"))
    );
    let bad = homeostat_http::Declare {
        escalation_policy: Some("nope".into()),
        ..d
    };
    assert!(hub.declare(&bad, T0).is_err());
    hub.transition(i.id, IncidentState::Resolved, "ana", T0 + 1_000)
        .unwrap();
    assert_eq!(tick(&hub, &got, T0 + 3_000).await, []);
}

#[tokio::test]
async fn a_rollback_that_ran_before_the_page_is_on_the_new_incidents_timeline() {
    let (url, _got) = receiver().await;
    let cfg = config(&url);
    let clock = FakeClock::new(T0);
    let state = homeostat_state::State::from_backend(Arc::new(MemState::default()));
    let deploy = |version: &str, at: i64| homeostat_state::Deploy {
        id: 0,
        service: "checkout".into(),
        version: version.into(),
        commit: None,
        author: Some("dana".into()),
        environment: "production".into(),
        change_type: None,
        started_at: at,
        finished_at: None,
        outcome: homeostat_state::DeployOutcome::Succeeded,
        labels: BTreeMap::new(),
        rollback: None,
        rolls_back: None,
    };
    // Two hours old: not part of this story.
    state
        .deploys
        .record_deploy(&deploy("1.0", T0 - 7_200_000))
        .unwrap();
    let bad = state
        .deploys
        .record_deploy(&deploy("1.1", T0 - 180_000))
        .unwrap();
    let rb = homeostat_state::RollbackRecord {
        at: T0 - 2_000,
        reason: "page-tier burn alert".into(),
        action: "http://deployer/rollback".into(),
        ok: None,
        detail: Value::Null,
    };
    assert!(state.deploys.claim_rollback(bad, &rb).unwrap());
    state
        .deploys
        .finish_rollback(bad, true, &Value::Null)
        .unwrap();

    let hub = hub(&state, &cfg, &clock);
    let mut page = alert("CheckoutBurn", "page", 9, None);
    page.labels.insert("service".into(), "checkout".into());
    hub.before_notify(&flush("g", vec![page.clone()], T0));
    let id = hub.service().store().list(&Default::default()).unwrap()[0].id;
    let timeline = hub.service().timeline(id).unwrap();
    let changes: Vec<(EventKind, i64, &str)> = timeline
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Deploy | EventKind::Rollback))
        .map(|e| (e.kind, e.at, e.summary.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (EventKind::Deploy, T0 - 180_000, "deploy 2 of checkout 1.1"),
            (
                EventKind::Rollback,
                T0 - 2_000,
                "automatic rollback of checkout 1.1 (called): page-tier burn alert"
            ),
        ],
        "{timeline:?}"
    );
    // The same group firing again joins the incident without repeating them.
    hub.before_notify(&flush("g", vec![page], T0 + 60_000));
    let again = hub.service().timeline(id).unwrap();
    assert_eq!(
        again
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Deploy | EventKind::Rollback))
            .count(),
        2
    );
}

#[path = "page_restart_tests.rs"]
mod page_restart;

/// The getting-started spec, compiled as the server compiles it and
/// evaluated over an outage: its page opens an incident of `checkout`, and
/// the deploy recorded minutes before is its first suspect.
#[tokio::test]
async fn the_getting_started_slo_opens_an_incident_of_its_service_with_the_deploy_as_suspect() {
    use homeostat_storage::Appender;
    const SPEC: &str = r#"apiVersion: homeostat/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      page:
        labels: {severity: page}
      ticket:
        labels: {severity: ticket}
"#;
    let specs = homeostat_slo::load_specs(SPEC, "slos/checkout.yaml").unwrap();
    let rules = homeostat_slo::compile(&specs, &homeostat_slo::CompileOptions::default());
    let groups = homeostat_rules::parse_rule_file("checkout.slo.yaml", &rules.to_yaml()).unwrap();
    let store = Arc::new(homeostat_storage::MemStorage::new());
    let start = T0 - 30 * 60_000;
    let m = homeostat_rules::RuleManager::new(
        groups,
        homeostat_promql::Engine::default(),
        store.clone(),
        store.clone(),
        Arc::new(FakeClock::new(start)),
        homeostat_rules::ManagerOptions::default(),
    );
    let series = |code: &str, t: i64, v: f64| homeostat_model::TimeSeries {
        labels: homeostat_model::Labels::from_pairs(&[
            ("__name__", "http_requests_total"),
            ("job", "checkout"),
            ("code", code),
        ]),
        samples: vec![homeostat_model::Sample::new(t, v)],
    };
    // Every request fails from `start`, 10 per second, until the page fires.
    let mut page = None;
    for i in 0..=60 {
        let t = start + i * 30_000;
        store
            .append(&[series("500", t, 300.0 * i as f64), series("200", t, 0.0)])
            .unwrap();
        page = m
            .eval_all(t)
            .into_iter()
            .find(|n| n.labels.get("sloth_severity").map(String::as_str) == Some("page"));
        if page.is_some() {
            break;
        }
    }
    let page = page.expect("the page alert fires on a full outage");
    assert_eq!(
        page.labels.get("service").map(String::as_str),
        Some("checkout")
    );

    let (url, _got) = receiver().await;
    let cfg = config(&url);
    let fired = page.starts_at;
    let clock = FakeClock::new(fired);
    let state = homeostat_state::State::from_backend(Arc::new(MemState::default()));
    let deploy = homeostat_state::Deploy {
        id: 0,
        service: "checkout".into(),
        version: "1.4.2".into(),
        commit: Some("abc123".into()),
        author: None,
        environment: "production".into(),
        change_type: None,
        started_at: start - 4 * 60_000,
        finished_at: None,
        outcome: homeostat_state::DeployOutcome::Succeeded,
        labels: BTreeMap::new(),
        rollback: None,
        rolls_back: None,
    };
    let deploy_id = state.deploys.record_deploy(&deploy).unwrap();
    let hub = hub(&state, &cfg, &clock);
    let info = AlertInfo {
        labels: page.labels.clone(),
        annotations: page.annotations.clone(),
        starts_at: page.starts_at,
        pending_since: Some(page.pending_since),
        ends_at: None,
        fingerprint: homeostat_model::Fingerprint(1),
    };
    hub.before_notify(&flush(
        "{}:{alertname=\"CheckoutAvailability\"}",
        vec![info],
        fired,
    ));
    let incidents = hub.service().store().list(&Default::default()).unwrap();
    assert_eq!(incidents.len(), 1, "the page opens one incident");
    let inc = &incidents[0];
    assert_eq!(inc.service.as_deref(), Some("checkout"), "{inc:?}");
    let deploys = state
        .deploys
        .list_deploys(&homeostat_state::DeployFilter::default())
        .unwrap();
    let suspects = homeostat_incident::rank_suspects(
        "checkout",
        &BTreeMap::new(),
        inc.detected_at.unwrap_or(inc.created_at),
        inc.created_at,
        &deploys,
    );
    assert_eq!(
        suspects.first().map(|s| s.deploy.id),
        Some(deploy_id),
        "{suspects:?}"
    );
    assert!(
        kinds(&hub, inc.id).contains(&EventKind::Deploy),
        "the deploy is on the new incident's timeline"
    );
}

#[cfg(unix)]
#[test]
fn a_link_key_readable_by_others_is_refused_naming_chmod_600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let first = crate::incidents::load_link_secret(dir.path()).unwrap();
    let path = dir.path().join(crate::incidents::LINK_SECRET_FILE);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "created owner-only");
    assert_eq!(
        crate::incidents::load_link_secret(dir.path()).unwrap(),
        first
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = crate::incidents::load_link_secret(dir.path()).unwrap_err();
    assert!(e.to_string().contains("chmod 600"), "{e}");
}
