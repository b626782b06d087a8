//! Delivery over HTTP against a local axum receiver that answers from a
//! script, then 200.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use homeostat_notify::{
    DeliveryError, Notifier, SlackTarget, Target, payload::pagerduty, payload::webhook,
};

use crate::fixtures::{firing, resolved, retrier};
use crate::golden::{pagerduty_target, webhook_target};

/// Status, body and `Retry-After` of one scripted answer.
type Answer = (u16, String, Option<&'static str>);

#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<Answer>>>,
    bodies: Arc<Mutex<Vec<(Bytes, HeaderMap)>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    r.bodies.lock().unwrap().push((body, headers));
    let next = r.script.lock().unwrap().pop_front();
    let (status, text, retry_after) = next.unwrap_or((200, "ok".into(), None));
    let mut out = HeaderMap::new();
    if let Some(secs) = retry_after {
        out.insert("retry-after", secs.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), out, text)
}

/// Starts the receiver; answers `script` in order, then 200.
async fn serve(script: Vec<(u16, &str, Option<&'static str>)>) -> (String, Receiver) {
    let r = Receiver::default();
    r.script
        .lock()
        .unwrap()
        .extend(script.into_iter().map(|(s, t, ra)| (s, t.to_string(), ra)));
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), r)
}

fn notifier(deadline: Duration) -> (Notifier, crate::fixtures::FakeSleeper) {
    let (retrier, sleeper) = retrier(deadline);
    (Notifier::new(retrier).unwrap(), sleeper)
}

#[tokio::test]
async fn two_503s_then_delivered_in_three_attempts() {
    let (url, r) = serve(vec![(503, "busy", None), (503, "busy", None)]).await;
    let (n, sleeper) = notifier(Duration::from_secs(60));
    let out = n
        .deliver(&Target::Webhook(webhook_target(&url)), &firing())
        .await;
    assert!(out.delivered, "{out:?}");
    assert_eq!(out.attempts, 3);
    assert!(matches!(
        out.last_error,
        Some(DeliveryError::Status { status: 503, .. })
    ));
    // Jitter 0.5 keeps three quarters of each exponential step.
    assert_eq!(
        *sleeper.slept.lock().unwrap(),
        [Duration::from_millis(375), Duration::from_millis(750)]
    );
    let bodies = r.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    // Every attempt sends the same bytes: the webhook v4 payload.
    assert_eq!(bodies[2].0, webhook::body(&firing(), 0).unwrap());
    assert_eq!(bodies[0].0, bodies[2].0);
    assert_eq!(bodies[0].1["content-type"], "application/json");
}

#[tokio::test]
async fn a_400_is_not_retried_and_its_body_is_quoted() {
    let long = format!("bad request: {}", "x".repeat(500));
    let (url, r) = serve(vec![(400, &long, None)]).await;
    let (n, sleeper) = notifier(Duration::from_secs(60));
    let out = n
        .deliver(&Target::Webhook(webhook_target(&url)), &firing())
        .await;
    assert!(!out.delivered);
    assert_eq!(out.attempts, 1);
    match out.last_error {
        Some(DeliveryError::Status { status, body, .. }) => {
            assert_eq!(status, 400);
            assert_eq!(body.chars().count(), 200);
            assert!(body.starts_with("bad request: xxx"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(sleeper.slept.lock().unwrap().is_empty());
    assert_eq!(r.bodies.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_429_is_retried_after_what_the_receiver_asks() {
    let (url, _r) = serve(vec![(429, "slow down", Some("7"))]).await;
    let (n, sleeper) = notifier(Duration::from_secs(60));
    let out = n
        .deliver(&Target::Webhook(webhook_target(&url)), &firing())
        .await;
    assert!(out.delivered);
    assert_eq!(out.attempts, 2);
    assert_eq!(*sleeper.slept.lock().unwrap(), [Duration::from_secs(7)]);
}

#[tokio::test]
async fn gives_up_at_the_deadline() {
    let (url, r) = serve(vec![(500, "down", None); 100]).await;
    // Backoffs 375, 750, 1500, 3000 ms: the fifth attempt would start after 5 s.
    let (n, sleeper) = notifier(Duration::from_secs(5));
    let out = n
        .deliver(&Target::Webhook(webhook_target(&url)), &firing())
        .await;
    assert!(!out.delivered);
    assert_eq!(out.attempts, 4);
    assert_eq!(sleeper.slept.lock().unwrap().len(), 3);
    assert_eq!(r.bodies.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn connection_refused_is_retried() {
    // Bind and drop to find a port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (n, _sleeper) = notifier(Duration::from_secs(2));
    let out = n
        .deliver(
            &Target::Webhook(webhook_target(&format!("http://{addr}/hook"))),
            &firing(),
        )
        .await;
    assert!(!out.delivered);
    assert!(out.attempts > 1, "{out:?}");
    assert!(matches!(out.last_error, Some(DeliveryError::Connection(_))));
}

#[tokio::test]
async fn resolved_only_group_is_skipped_without_send_resolved() {
    let (url, r) = serve(vec![]).await;
    let (n, _sleeper) = notifier(Duration::from_secs(5));
    let mut target = webhook_target(&url);
    target.send_resolved = false;
    let out = n
        .deliver(&Target::Webhook(target.clone()), &resolved())
        .await;
    assert!(out.skipped && out.delivered && out.attempts == 0);
    // With firing alerts, the resolved one is left out of the payload.
    let out = n.deliver(&Target::Webhook(target), &firing()).await;
    assert!(out.delivered && !out.skipped);
    let bodies = r.bodies.lock().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bodies[0].0).unwrap();
    assert_eq!(v["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(v["status"], "firing");
}

#[tokio::test]
async fn slack_and_pagerduty_post_their_payloads() {
    let (url, r) = serve(vec![]).await;
    let (n, _sleeper) = notifier(Duration::from_secs(5));
    let slack = Target::Slack(SlackTarget {
        api_url: url.clone(),
        channel: None,
        username: None,
        icon_emoji: None,
        send_resolved: false,
        timeout: Duration::from_secs(5),
    });
    assert!(n.deliver(&slack, &firing()).await.delivered);
    let pd = pagerduty_target(&url);
    assert!(
        n.deliver(&Target::PagerDuty(pd.clone()), &firing())
            .await
            .delivered
    );
    assert!(
        n.acknowledge_pagerduty(&pd, &firing().group_key)
            .await
            .delivered
    );
    let bodies = r.bodies.lock().unwrap();
    let actions: Vec<String> = bodies[1..]
        .iter()
        .map(|(b, _)| {
            let v: serde_json::Value = serde_json::from_slice(b).unwrap();
            v["event_action"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(actions, ["trigger", "acknowledge"]);
    let v: serde_json::Value = serde_json::from_slice(&bodies[2].0).unwrap();
    assert_eq!(v["dedup_key"], pagerduty::dedup_key(&firing().group_key));
}
