//! Every payload against a file in `tests/it/golden/`. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p homeostat-notify --test it`; never edit
//! the files by hand.

use std::path::PathBuf;
use std::time::Duration;

use homeostat_notify::payload::{email, pagerduty, slack, webhook};
use homeostat_notify::{
    EmailTarget, PagerDutyTarget, Severity, SlackTarget, Smarthost, WebhookTarget,
};

use crate::fixtures::{at, firing, resolved};

fn check(name: &str, got: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert!(
        want == got,
        "{name} differs from its golden file\n--- want\n{}\n--- got\n{}",
        String::from_utf8_lossy(&want),
        String::from_utf8_lossy(got)
    );
}

pub fn webhook_target(url: &str) -> WebhookTarget {
    WebhookTarget {
        url: url.into(),
        max_alerts: 0,
        send_resolved: true,
        timeout: Duration::from_secs(5),
    }
}

pub fn pagerduty_target(url: &str) -> PagerDutyTarget {
    PagerDutyTarget {
        routing_key: "R0UT1NGKEY0000000000000000000000".into(),
        url: url.into(),
        severity: Severity::Critical,
        severity_label: None,
        source: None,
        component: None,
        group: None,
        class: None,
        send_resolved: true,
        timeout: Duration::from_secs(5),
    }
}

pub fn email_target(smarthost: Smarthost) -> EmailTarget {
    EmailTarget {
        to: vec![
            "oncall@example.org".into(),
            "Team API <api@example.org>".into(),
        ],
        from: "Homeostat <homeostat@example.org>".into(),
        smarthost,
        auth_username: None,
        auth_password: None,
        require_tls: false,
        send_resolved: true,
        hello: "homeostat.test".into(),
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn webhook_firing() {
    check("webhook_firing.json", &webhook::body(&firing(), 0).unwrap());
}

#[test]
fn webhook_resolved() {
    check(
        "webhook_resolved.json",
        &webhook::body(&resolved(), 0).unwrap(),
    );
}

#[test]
fn webhook_max_alerts_counts_the_rest() {
    let mut n = firing();
    n.truncated_alerts = 4;
    n.links = None;
    let body = webhook::body(&n, 1).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(v["truncatedAlerts"], 6);
    check("webhook_truncated.json", &body);
}

#[test]
fn webhook_shape_is_version_4() {
    let v: serde_json::Value =
        serde_json::from_slice(&webhook::body(&firing(), 0).unwrap()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = [
        "alerts",
        "commonAnnotations",
        "commonLabels",
        "externalURL",
        "groupKey",
        "groupLabels",
        "receiver",
        "status",
        "truncatedAlerts",
        "version",
    ];
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(v["version"], "4");
    assert_eq!(v["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(v["alerts"][0]["startsAt"], "2026-03-14T09:30:00.12345Z");
    assert_eq!(v["alerts"][2]["endsAt"], "2026-03-14T10:02:15Z");
    assert_eq!(
        v["commonAnnotations"]["homeostat_ack_url"],
        "https://homeostat.example.org/ack/7f3a?action=ack&t=abc"
    );
}

#[test]
fn slack_firing() {
    let t = SlackTarget {
        api_url: "https://hooks.slack.test/x".into(),
        channel: Some("#api-alerts".into()),
        username: Some("homeostat".into()),
        icon_emoji: Some(":rotating_light:".into()),
        send_resolved: true,
        timeout: Duration::from_secs(5),
    };
    let body = slack::body(&firing(), &t).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["attachments"][0]["color"], "danger");
    assert_eq!(
        v["attachments"][0]["title"],
        "[FIRING:2] HighLatency api (prod warning)"
    );
    check("slack_firing.json", &body);
}

#[test]
fn slack_resolved_without_optional_fields() {
    let t = SlackTarget {
        api_url: "https://hooks.slack.test/x".into(),
        channel: None,
        username: None,
        icon_emoji: None,
        send_resolved: true,
        timeout: Duration::from_secs(5),
    };
    let body = slack::body(&resolved(), &t).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["attachments"][0]["color"], "good");
    assert!(v.get("channel").is_none());
    check("slack_resolved.json", &body);
}

#[test]
fn pagerduty_trigger() {
    let body = pagerduty::body(&firing(), &pagerduty_target("http://pd")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["event_action"], "trigger");
    assert_eq!(v["payload"]["severity"], "critical");
    assert_eq!(v["payload"]["custom_details"]["num_firing"], "2");
    check("pagerduty_trigger.json", &body);
}

#[test]
fn pagerduty_severity_from_a_label() {
    let mut t = pagerduty_target("http://pd");
    t.severity_label = Some("severity".into());
    t.source = Some("api-cluster".into());
    t.component = Some("api".into());
    let v: serde_json::Value =
        serde_json::from_slice(&pagerduty::body(&firing(), &t).unwrap()).unwrap();
    assert_eq!(v["payload"]["severity"], "warning");
    assert_eq!(v["payload"]["source"], "api-cluster");
    assert_eq!(v["payload"]["component"], "api");
    // A label value PagerDuty would reject falls back to the configured one.
    let mut n = firing();
    n.common_labels.insert("severity".into(), "page".into());
    let v: serde_json::Value = serde_json::from_slice(&pagerduty::body(&n, &t).unwrap()).unwrap();
    assert_eq!(v["payload"]["severity"], "critical");
}

#[test]
fn pagerduty_summary_is_capped() {
    let mut n = firing();
    n.group_labels.insert("alertname".into(), "x".repeat(3000));
    let v: serde_json::Value =
        serde_json::from_slice(&pagerduty::body(&n, &pagerduty_target("http://pd")).unwrap())
            .unwrap();
    let summary = v["payload"]["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), pagerduty::MAX_SUMMARY_CHARS);
    assert!(summary.ends_with('…'));
}

#[test]
fn pagerduty_resolve_and_acknowledge_carry_only_the_key() {
    let t = pagerduty_target("http://pd");
    let resolve = pagerduty::body(&resolved(), &t).unwrap();
    check("pagerduty_resolve.json", &resolve);
    let ack = pagerduty::acknowledge_body(&t, &firing().group_key).unwrap();
    check("pagerduty_acknowledge.json", &ack);
    for body in [resolve, ack] {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["dedup_key", "event_action", "routing_key"]);
        assert_eq!(v["dedup_key"], pagerduty::dedup_key(&firing().group_key));
    }
}

#[test]
fn email_firing() {
    let t = email_target(Smarthost {
        host: "localhost".into(),
        port: 25,
    });
    let raw = email::rfc5322(&firing(), &t, at(10, 5, 0, 0)).unwrap();
    let text = String::from_utf8(raw.clone()).unwrap();
    assert!(text.contains("Subject: [FIRING:2] HighLatency api (prod warning)\r\n"));
    assert!(text.contains("Date: Sat, 14 Mar 2026 10:05:00 +0000\r\n"));
    assert!(text.contains("Content-Type: multipart/alternative;"));
    assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(text.contains("Content-Type: text/html; charset=utf-8"));
    check("email_firing.eml", &raw);
}

#[test]
fn email_content_lists_alerts_and_links() {
    let c = email::content(&firing());
    assert!(
        c.text
            .contains("Acknowledge: https://homeostat.example.org/ack/7f3a?action=ack&t=abc")
    );
    assert!(
        c.text
            .contains("Labels: alertname=HighLatency, env=prod, instance=api-1:8080")
    );
    assert!(
        c.html
            .contains("href=\"https://homeostat.example.org/ack/7f3a?action=ack&amp;t=abc\"")
    );
    assert!(c.html.contains("<h3>Resolved</h3>"));
}

/// A pushed alert's generatorURL is any string: only http(s) becomes a link,
/// a `javascript:` URL is shown as text a click cannot run.
#[test]
fn email_links_only_http_generator_urls() {
    let mut n = firing();
    n.alerts[0].generator_url = "javascript:alert(document.cookie)".into();
    n.alerts[1].generator_url = " DATA:text/html,<script>x</script>".into();
    let html = email::content(&n).html;
    assert!(!html.contains("href=\"javascript:"), "{html}");
    assert!(
        !html.to_ascii_lowercase().contains("href=\" data:"),
        "{html}"
    );
    assert!(
        html.contains("<code>javascript:alert(document.cookie)</code>"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(html.contains("href=\"http://prom:9090/graph"), "{html}");
}
