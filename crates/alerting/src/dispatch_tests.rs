#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use homeostat_model::{Clock, FakeClock};
use homeostat_state::{Silence, SilenceMatcher};

use super::*;
use crate::store::{PostableAlert, validate};

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname, job]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 1h
  routes:
    - matchers: [team="db"]
      receiver: db
      mute_time_intervals: [weekends]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [job]
receivers:
  - name: default
  - name: db
time_intervals:
  - name: weekends
    time_intervals:
      - weekdays: [saturday, sunday]
"#;

/// Thursday 2023-11-16 00:00:00 UTC.
const T0: i64 = 1_700_092_800_000;

fn dispatcher() -> Dispatcher {
    Dispatcher::new(Arc::new(Config::parse(CONFIG).unwrap()))
}

fn alert(clock: &FakeClock, pairs: &[(&str, &str)], ends_at: Option<i64>) -> Alert {
    let p = PostableAlert {
        labels: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ends_at,
        starts_at: Some(ends_at.unwrap_or(i64::MAX).min(clock.now_millis())),
        ..Default::default()
    };
    validate(0, p, clock.now_millis(), Duration::from_secs(60)).unwrap()
}

#[test]
fn groups_flush_after_group_wait_then_every_group_interval() {
    let clock = FakeClock::new(T0);
    let mut d = dispatcher();
    let a = alert(
        &clock,
        &[("alertname", "Down"), ("job", "api"), ("i", "1")],
        None,
    );
    let b = alert(
        &clock,
        &[("alertname", "Down"), ("job", "api"), ("i", "2")],
        None,
    );
    let c = alert(&clock, &[("alertname", "Down"), ("job", "web")], None);
    d.ingest(vec![a, b, c], T0);
    assert_eq!(d.group_count(), 2);
    assert_eq!(d.next_deadline(), Some(T0 + 2_000));
    assert!(d.tick(T0 + 1_999).is_empty());
    let mut flushes = d.tick(T0 + 2_000);
    flushes.sort_by(|x, y| x.group_key.cmp(&y.group_key));
    assert_eq!(flushes.len(), 2);
    assert_eq!(flushes[0].group_key, r#"{}:{alertname="Down", job="api"}"#);
    assert_eq!(flushes[0].alerts.len(), 2);
    assert_eq!(flushes[0].receiver, "default");
    assert_eq!(flushes[0].repeat_interval, Duration::from_secs(3600));
    // Nothing until group_interval has passed, then every group again.
    assert!(d.tick(T0 + 6_999).is_empty());
    assert_eq!(d.tick(T0 + 7_000).len(), 2);
}

#[test]
fn resolved_alerts_flush_once_then_the_group_goes() {
    let clock = FakeClock::new(T0);
    let mut d = dispatcher();
    d.ingest(vec![alert(&clock, &[("alertname", "Down")], None)], T0);
    assert_eq!(d.tick(T0 + 2_000).len(), 1);
    // Resolution by timeout: no endsAt was posted, resolve_timeout is 60s.
    clock.set(T0 + 61_000);
    assert!(
        d.alerts(&AlertQuery::default(), T0 + 61_000).is_empty(),
        "resolved alerts are not listed"
    );
    let f = d.tick(T0 + 61_000);
    assert_eq!(f.len(), 1);
    assert!(f[0].alerts[0].is_resolved(T0 + 61_000));
    assert_eq!(d.group_count(), 0);
    assert!(d.tick(T0 + 200_000).is_empty());
    // Kept for re-sends, then collected.
    assert_eq!(d.gc(T0 + 62_000), 0);
    assert_eq!(d.gc(T0 + 61_000 + 15 * 60_000), 1);
}

#[test]
fn resent_resolution_is_no_news_and_old_alerts_flush_at_once() {
    let clock = FakeClock::new(T0);
    let mut d = dispatcher();
    let old = PostableAlert {
        labels: BTreeMap::from([("alertname".to_string(), "Old".to_string())]),
        starts_at: Some(T0 - 600_000),
        ..Default::default()
    };
    d.ingest(
        vec![validate(0, old, T0, Duration::from_secs(60)).unwrap()],
        T0,
    );
    assert_eq!(d.next_deadline(), Some(T0));
    assert_eq!(d.tick(T0).len(), 1);

    let done = alert(&clock, &[("alertname", "Done")], Some(T0 - 1));
    d.ingest(vec![done.clone()], T0);
    assert_eq!(d.tick(T0 + 2_000).len(), 1);
    d.ingest(vec![done], T0 + 3_000);
    assert_eq!(d.group_count(), 1, "only the Old group");
}

fn silence(name: &str, value: &str, ends_at: i64) -> Silence {
    Silence {
        id: "11111111-1111-4111-8111-111111111111".into(),
        matchers: vec![SilenceMatcher {
            name: name.into(),
            value: value.into(),
            is_regex: false,
            is_equal: true,
        }],
        starts_at: T0,
        ends_at,
        created_by: "ana".into(),
        comment: "c".into(),
        updated_at: T0,
    }
}

#[test]
fn silences_and_inhibition_suppress_at_flush_and_in_status() {
    let clock = FakeClock::new(T0);
    let mut d = dispatcher();
    let crit = alert(
        &clock,
        &[("alertname", "A"), ("job", "x"), ("severity", "critical")],
        None,
    );
    let warn = alert(
        &clock,
        &[("alertname", "B"), ("job", "x"), ("severity", "warning")],
        None,
    );
    let other = alert(
        &clock,
        &[("alertname", "B"), ("job", "y"), ("severity", "warning")],
        None,
    );
    let crit_fp = crit.fingerprint.to_string();
    d.ingest(vec![crit, warn, other], T0);
    d.set_silences(vec![silence("job", "y", T0 + 10_000)], T0);

    let flushes = d.tick(T0 + 2_000);
    let names: Vec<String> = flushes
        .iter()
        .flat_map(|f| {
            f.alerts.iter().map(|a| {
                a.labels.get("job").unwrap_or("").to_string()
                    + a.labels.get("alertname").unwrap_or("")
            })
        })
        .collect();
    assert_eq!(
        names,
        vec!["xA".to_string()],
        "inhibited and silenced left out"
    );

    let all = d.alerts(&AlertQuery::default(), T0 + 2_000);
    assert_eq!(all.len(), 3);
    let by_job_name = |job: &str, name: &str| {
        all.iter()
            .find(|v| {
                v.alert.labels.get("job") == Some(job)
                    && v.alert.labels.get("alertname") == Some(name)
            })
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(by_job_name("x", "B").inhibited_by, vec![crit_fp]);
    assert_eq!(by_job_name("x", "B").state, AlertState::Suppressed);
    assert_eq!(by_job_name("y", "B").silenced_by.len(), 1);
    assert_eq!(by_job_name("x", "A").state, AlertState::Active);

    let active_only = AlertQuery {
        silenced: false,
        inhibited: false,
        ..Default::default()
    };
    assert_eq!(d.alerts(&active_only, T0 + 2_000).len(), 1);
    let by_receiver = AlertQuery {
        receiver: Some(Regex::new("^(?:db)$").unwrap()),
        ..Default::default()
    };
    assert!(d.alerts(&by_receiver, T0 + 2_000).is_empty());
    // After the silence ends the alert is notified again.
    let f = d.tick(T0 + 12_000);
    assert!(
        f.iter()
            .any(|f| f.alerts.iter().any(|a| a.labels.get("job") == Some("y")))
    );
    let groups = d.groups(&AlertQuery::default(), T0 + 12_000);
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0].receiver, "default");
}

#[test]
fn mute_intervals_hold_notifications_and_reload_regroups() {
    let clock = FakeClock::new(T0);
    let mut d = dispatcher();
    d.ingest(
        vec![alert(
            &clock,
            &[("alertname", "Slow"), ("team", "db")],
            None,
        )],
        T0,
    );
    // Thursday: not muted.
    assert_eq!(d.tick(T0 + 2_000)[0].receiver, "db");
    // Saturday: muted.
    let sat = T0 + 2 * 86_400_000;
    d.ingest(
        vec![alert(
            &clock,
            &[("alertname", "Slow"), ("team", "db")],
            Some(sat + 60_000),
        )],
        sat,
    );
    assert!(d.tick(sat).is_empty());

    let cfg = Config::parse(
        "route: {receiver: other, group_by: ['...'], group_wait: 1s}\nreceivers: [{name: other}]",
    )
    .unwrap();
    d.set_config(Arc::new(cfg), sat);
    assert_eq!(d.group_count(), 1);
    let f = d.tick(sat + 1_000);
    assert_eq!(f[0].receiver, "other");
    assert_eq!(f[0].group_key, r#"{}:{alertname="Slow", team="db"}"#);
}
