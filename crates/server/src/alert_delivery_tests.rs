//! Delivery across a restart: silences and the notification log are in
//! SQLite, so a new process neither repeats a notification nor forgets a
//! resolution it owes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use homeostat_alerting::{Config, PostableAlert, Running};
use homeostat_model::FakeClock;
use homeostat_notify::{Retrier, RetryPolicy, WebhookTarget};
use homeostat_state::{Silence, SilenceMatcher};

use super::*;
use crate::alert_events::NoIncidents;

type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

async fn webhook() -> (String, Seen) {
    async fn receive(State(seen): State<Seen>, body: String) -> &'static str {
        seen.lock().push(serde_json::from_str(&body).unwrap());
        ""
    }
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

const CONFIG: &str = "route: {receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 5s, repeat_interval: 1h}\nreceivers: [{name: hook}]\n";
const T0: i64 = 1_700_000_000_000;

/// One "process": a fresh Alertmanager and delivery over the same database.
fn process(dir: &std::path::Path, clock: &FakeClock, url: &str) -> Delivery {
    let state = homeostat_state::State::from_backend(Arc::new(
        homeostat_state_sql::SqliteState::open(dir).unwrap(),
    ));
    let clock: Arc<dyn homeostat_model::Clock> = Arc::new(clock.clone());
    let am = Alertmanager::new(
        Running {
            config: Arc::new(Config::parse(CONFIG).unwrap()),
            original: CONFIG.into(),
            resolve_timeout: Duration::from_secs(300),
        },
        state.silences.clone(),
        clock.clone(),
    )
    .unwrap();
    let target = Target::Webhook(WebhookTarget {
        url: url.into(),
        max_alerts: 0,
        send_resolved: true,
        timeout: Duration::from_secs(5),
    });
    Delivery::new(
        Arc::new(am),
        BTreeMap::from([("hook".to_string(), vec![target])]),
        Notifier::new(Retrier::new(RetryPolicy::default(), clock)).unwrap(),
        state.nflog.clone(),
        Arc::new(NoIncidents),
        "http://homeostat".into(),
        Duration::from_secs(120 * 3600),
    )
}

fn alert(ends_at: Option<i64>) -> PostableAlert {
    PostableAlert {
        labels: BTreeMap::from([
            ("alertname".to_string(), "Down".to_string()),
            ("job".to_string(), "api".to_string()),
        ]),
        starts_at: Some(T0),
        ends_at,
        ..Default::default()
    }
}

async fn tick(d: &Delivery) {
    for f in d.am.tick() {
        d.deliver_flush(f, None).await;
    }
}

#[tokio::test]
async fn restart_neither_repeats_nor_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = webhook().await;
    let clock = FakeClock::new(T0);

    let first = process(dir.path(), &clock, &url);
    first.am.post_alerts(vec![alert(None)]).unwrap();
    clock.set(T0 + 1_000);
    tick(&first).await;
    assert_eq!(seen.lock().len(), 1);
    assert_eq!(seen.lock()[0]["status"], "firing");
    assert_eq!(seen.lock()[0]["version"], "4");
    // No change: nothing more at the next group_interval.
    clock.set(T0 + 6_000);
    tick(&first).await;
    assert_eq!(seen.lock().len(), 1);
    let silence_id = first
        .am
        .put_silence(Silence {
            id: String::new(),
            matchers: vec![SilenceMatcher {
                name: "job".into(),
                value: "other".into(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: T0,
            ends_at: T0 + 3_600_000,
            created_by: "ana".into(),
            comment: "c".into(),
            updated_at: 0,
        })
        .unwrap();
    assert_eq!(first.stats.total("sent"), 1);
    drop(first);

    // Restart: Prometheus re-sends the firing alert.
    clock.set(T0 + 60_000);
    let second = process(dir.path(), &clock, &url);
    assert_eq!(
        second.am.silence(&silence_id).unwrap().id,
        silence_id,
        "silences survive"
    );
    second.am.post_alerts(vec![alert(None)]).unwrap();
    tick(&second).await;
    assert_eq!(seen.lock().len(), 1, "not re-notified after the restart");

    // It resolves: sent once, not again.
    clock.set(T0 + 70_000);
    second
        .am
        .post_alerts(vec![alert(Some(T0 + 65_000))])
        .unwrap();
    clock.set(T0 + 71_000);
    tick(&second).await;
    clock.set(T0 + 80_000);
    tick(&second).await;
    let got = seen.lock().clone();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[1]["status"], "resolved");
    assert_eq!(got[1]["alerts"][0]["endsAt"], "2023-11-14T22:14:25Z");
    // The resolution re-sent by Prometheus after another restart is no news.
    let third = process(dir.path(), &clock, &url);
    third
        .am
        .post_alerts(vec![alert(Some(T0 + 65_000))])
        .unwrap();
    clock.set(T0 + 90_000);
    tick(&third).await;
    assert_eq!(seen.lock().len(), 2);
}

#[test]
fn repeat_interval_resends_a_still_firing_group() {
    // The rule itself is tested in `homeostat_notify::resolved`; this is
    // the notification log's entry read into it.
    let firing = BTreeSet::from([homeostat_model::Fingerprint(0xaa)]);
    let prev = NflogEntry {
        receiver: "r".into(),
        group_key: "g".into(),
        firing_fingerprints: vec![homeostat_model::Fingerprint(0xaa)],
        resolved_fingerprints: vec![],
        sent_at: 1_000,
        expires_at: i64::MAX,
    };
    let prev = last_sent(&prev);
    let hour = Duration::from_secs(3600);
    let decide = homeostat_notify::decide;
    let d = decide(true, Some(&prev), &firing, &BTreeSet::new(), 2_000, hour);
    assert!(!d.send);
    let d = decide(
        true,
        Some(&prev),
        &firing,
        &BTreeSet::new(),
        1_000 + 3_600_000,
        hour,
    );
    assert!(d.send);
    let d = decide(true, None, &firing, &BTreeSet::new(), 0, hour);
    assert!(d.send);
}
