//! Fixed notifications and the fakes the delivery tests share.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use homeostat_model::FakeClock;
use homeostat_notify::{
    AckLinks, AlertData, AlertStatus, FixedJitter, GroupNotification, Retrier, RetryPolicy, Sleeper,
};

pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn at(h: u32, m: u32, s: u32, nanos: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, h, m, s).unwrap()
        + chrono::Duration::nanoseconds(nanos.into())
}

fn alert(instance: &str, status: AlertStatus, fingerprint: &str) -> AlertData {
    AlertData {
        status,
        labels: map(&[
            ("alertname", "HighLatency"),
            ("env", "prod"),
            ("instance", instance),
            ("service", "api"),
            ("severity", "warning"),
        ]),
        annotations: map(&[
            (
                "description",
                &format!("p99 latency on {instance} is above 500ms"),
            ),
            ("summary", "API latency is high"),
        ]),
        starts_at: at(9, 30, 0, 123_450_000),
        ends_at: match status {
            AlertStatus::Firing => None,
            AlertStatus::Resolved => Some(at(10, 2, 15, 0)),
        },
        generator_url: "http://prom:9090/graph?g0.expr=latency%3E0.5&g0.tab=1".into(),
        fingerprint: fingerprint.parse().unwrap(),
    }
}

/// Two firing alerts and one resolved, with acknowledge links.
pub fn firing() -> GroupNotification {
    let alerts = vec![
        alert("api-1:8080", AlertStatus::Firing, "1a30ba71cca2921f"),
        alert("api-2:8080", AlertStatus::Firing, "5e2c9f0a77d3b410"),
        alert("api-3:8080", AlertStatus::Resolved, "c6eadffa33fcdf37"),
    ];
    GroupNotification {
        receiver: "api-oncall".into(),
        group_key: "{}/{env=\"prod\"}:{alertname=\"HighLatency\", service=\"api\"}".into(),
        group_labels: map(&[("alertname", "HighLatency"), ("service", "api")]),
        common_labels: map(&[
            ("alertname", "HighLatency"),
            ("env", "prod"),
            ("service", "api"),
            ("severity", "warning"),
        ]),
        common_annotations: map(&[("summary", "API latency is high")]),
        external_url: "https://homeostat.example.org".into(),
        status: GroupNotification::new_status(&alerts),
        alerts,
        truncated_alerts: 0,
        links: Some(AckLinks {
            ack_url: "https://homeostat.example.org/ack/7f3a?action=ack&t=abc".into(),
            resolve_url: "https://homeostat.example.org/ack/7f3a?action=resolve&t=abc".into(),
        }),
    }
}

/// Every alert of [`firing`] resolved.
pub fn resolved() -> GroupNotification {
    let mut n = firing();
    for a in &mut n.alerts {
        a.status = AlertStatus::Resolved;
        a.ends_at = Some(at(10, 2, 15, 0));
    }
    n.status = GroupNotification::new_status(&n.alerts);
    n
}

/// Sleeps no time: records the delay and moves the fake clock by it.
#[derive(Debug, Clone, Default)]
pub struct FakeSleeper {
    pub clock: FakeClock,
    pub slept: Arc<Mutex<Vec<Duration>>>,
}

impl Sleeper for FakeSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.slept.lock().unwrap().push(d);
        self.clock.advance(d.as_millis() as i64);
        Box::pin(async {})
    }
}

/// A retrier on a fake clock at 2026-03-14T10:05:00Z with jitter 0.5.
pub fn retrier(deadline: Duration) -> (Retrier, FakeSleeper) {
    let clock = FakeClock::new(at(10, 5, 0, 0).timestamp_millis());
    let sleeper = FakeSleeper {
        clock: clock.clone(),
        slept: Arc::default(),
    };
    let retrier = Retrier {
        policy: RetryPolicy {
            deadline,
            ..RetryPolicy::default()
        },
        clock: Arc::new(clock),
        sleeper: Arc::new(sleeper.clone()),
        jitter: Arc::new(FixedJitter(0.5)),
    };
    (retrier, sleeper)
}
