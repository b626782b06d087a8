//! Receiver target YAML: defaults, validation errors that name the field.

use std::time::Duration;

use homeostat_notify::spec::TargetsSpec;
use homeostat_notify::{DEFAULT_PAGERDUTY_URL, Severity, Target};

fn load(yaml: &str) -> Result<Vec<Target>, String> {
    let spec: TargetsSpec = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
    spec.validate().map_err(|e| e.to_string())
}

#[test]
fn every_kind_with_defaults() {
    let targets = load(
        r##"
webhook_configs:
  - url: http://hooks.internal/alerts
    max_alerts: 20
slack_configs:
  - api_url: https://hooks.slack.test/T000/B000/xyz
    channel: "#alerts"
pagerduty_configs:
  - routing_key: abc
    severity_label: severity
email_configs:
  - to: a@example.org, Team B <b@example.org>
    from: homeostat@example.org
    smarthost: smtp.example.org:587
    timeout: 30s
"##,
    )
    .unwrap();
    assert_eq!(targets.len(), 4);
    let Target::Webhook(w) = &targets[0] else {
        panic!()
    };
    assert!(w.send_resolved);
    assert_eq!(w.max_alerts, 20);
    assert_eq!(w.timeout, Duration::from_secs(10));
    let Target::Slack(s) = &targets[1] else {
        panic!()
    };
    assert!(!s.send_resolved);
    let Target::PagerDuty(p) = &targets[2] else {
        panic!()
    };
    assert_eq!(p.url, DEFAULT_PAGERDUTY_URL);
    assert_eq!(p.severity, Severity::Critical);
    assert!(p.send_resolved);
    let Target::Email(e) = &targets[3] else {
        panic!()
    };
    assert_eq!(e.to, ["a@example.org", "Team B <b@example.org>"]);
    assert!(e.require_tls);
    assert!(!e.send_resolved);
    assert_eq!(e.hello, "localhost");
    assert_eq!(e.timeout, Duration::from_secs(30));
}

#[test]
fn errors_name_the_field_and_the_fix() {
    let cases = [
        (
            "webhook_configs: [{url: 'hooks.internal'}]",
            "webhook_configs[0].url",
        ),
        (
            "pagerduty_configs: [{routing_key: k, severity: page}]",
            "critical, error, warning or info",
        ),
        (
            "pagerduty_configs: [{routing_key: ''}]",
            "pagerduty_configs[0].routing_key",
        ),
        (
            "email_configs: [{to: 'x', from: a@b.c, smarthost: 'h:25'}]",
            "email_configs[0].to",
        ),
        (
            "email_configs: [{to: a@b.c, from: a@b.c, smarthost: 'h'}]",
            "host:port",
        ),
        (
            "email_configs: [{to: a@b.c, from: a@b.c, smarthost: 'h:25', auth_username: u}]",
            "set both or neither",
        ),
        (
            "webhook_configs: [{url: 'http://h', timeout: 10}]",
            "timeout",
        ),
        (
            "webhook_configs: [{url: 'http://h', retries: 3}]",
            "unknown field",
        ),
    ];
    for (yaml, want) in cases {
        let err = load(yaml).unwrap_err();
        assert!(err.contains(want), "{yaml}: {err}");
    }
}
