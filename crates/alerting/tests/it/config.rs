use std::path::Path;
use std::time::Duration;

use homeostat_alerting::{Config, ConfigError, GroupBy};
use homeostat_model::Secret;

fn load(yaml: &str) -> Config {
    Config::parse(yaml).expect("valid config")
}

/// The error for `yaml`, which must name `field`.
fn invalid(yaml: &str, field: &str) -> String {
    let err = Config::parse(yaml).expect_err("config must be refused");
    assert_eq!(err.field(), Some(field), "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with(field), "{msg}");
    msg
}

const RECEIVERS: &str = "receivers: [{name: a}, {name: b}]\n";

#[test]
fn children_inherit_receiver_grouping_and_timings() {
    let cfg = load(&format!(
        "route:
  receiver: a
  group_by: [alertname]
  group_wait: 10s
  repeat_interval: 1h
  routes:
    - matchers: [x=1]
      group_interval: 2m
      routes:
        - matchers: [y=1]
          receiver: b
          group_by: ['...']
        - matchers: [y=2]
          group_by: []
{RECEIVERS}"
    ));
    let root = &cfg.route;
    assert_eq!(root.opts.group_interval, Duration::from_secs(300));
    let child = &root.routes[0];
    assert_eq!(child.opts.receiver, "a");
    assert_eq!(
        child.opts.group_by,
        GroupBy::Labels(vec!["alertname".into()])
    );
    assert_eq!(child.opts.group_wait, Duration::from_secs(10));
    assert_eq!(child.opts.group_interval, Duration::from_secs(120));
    assert_eq!(child.opts.repeat_interval, Duration::from_secs(3600));
    let grandchild = &child.routes[0];
    assert_eq!(grandchild.opts.receiver, "b");
    assert_eq!(grandchild.opts.group_by, GroupBy::All);
    assert_eq!(grandchild.opts.group_interval, Duration::from_secs(120));
    // `group_by: []` keeps the parent's grouping, as in Alertmanager.
    assert_eq!(
        child.routes[1].opts.group_by,
        GroupBy::Labels(vec!["alertname".into()])
    );
    assert_eq!(grandchild.path, "route.routes[0].routes[0]");
    assert_eq!(grandchild.id, r#"{}/{x="1"}/0/{y="1"}/0"#);
}

#[test]
fn defaults() {
    let cfg = load(&format!("route: {{receiver: a}}\n{RECEIVERS}"));
    assert_eq!(cfg.global.resolve_timeout, Duration::from_secs(300));
    assert_eq!(cfg.route.opts.group_wait, Duration::from_secs(30));
    assert_eq!(cfg.route.opts.group_interval, Duration::from_secs(300));
    assert_eq!(
        cfg.route.opts.repeat_interval,
        Duration::from_secs(4 * 3600)
    );
    assert_eq!(cfg.route.opts.group_by, GroupBy::Labels(vec![]));
}

#[test]
fn receivers_are_typed_with_defaults_and_global_fallbacks() {
    let cfg = load(
        "global:
  smtp_smarthost: 'mail:25'
  smtp_from: am@x
  slack_api_url: https://slack/x
  opsgenie_api_key: k
route: {receiver: r}
templates: ['/etc/am/*.tmpl']
receivers:
  - name: r
    webhook_configs: [{url: 'http://h/x'}]
    slack_configs: [{channel: '#c'}]
    pagerduty_configs: [{service_key: s}]
    email_configs: [{to: 'a@x', headers: {Subject: hi}}]
",
    );
    let r = cfg.receiver("r").expect("receiver r");
    assert!(r.webhook_configs[0].send_resolved);
    assert_eq!(r.webhook_configs[0].max_alerts, 0);
    assert!(!r.slack_configs[0].send_resolved);
    assert_eq!(
        r.slack_configs[0].api_url.as_ref().map(Secret::expose),
        Some("https://slack/x")
    );
    assert!(r.pagerduty_configs[0].send_resolved);
    assert_eq!(
        r.pagerduty_configs[0].url.as_deref(),
        Some("https://events.pagerduty.com/v2/enqueue")
    );
    let e = &r.email_configs[0];
    assert!(!e.send_resolved);
    assert_eq!(e.smarthost.as_deref(), Some("mail:25"));
    assert_eq!(e.from.as_deref(), Some("am@x"));
    assert_eq!(e.require_tls, Some(true));
    assert_eq!(e.headers["Subject"], "hi");
    assert_eq!(
        cfg.global.opsgenie_api_key.as_ref().map(Secret::expose),
        Some("k")
    );
    assert_eq!(cfg.templates, vec!["/etc/am/*.tmpl".to_string()]);
}

#[test]
fn unknown_receiver() {
    let msg = invalid(
        &format!(
            "route:\n  receiver: a\n  routes: [{{receiver: a}}, {{receiver: foo}}]\n{RECEIVERS}"
        ),
        "route.routes[1].receiver",
    );
    assert!(
        msg.contains("receiver \"foo\" is not defined; define it under receivers:"),
        "{msg}"
    );
}

#[test]
fn undefined_time_interval() {
    let msg = invalid(
        &format!(
            "route:\n  receiver: a\n  routes: [{{mute_time_intervals: [night]}}]\n{RECEIVERS}"
        ),
        "route.routes[0].mute_time_intervals[0]",
    );
    assert!(msg.contains("\"night\" is not defined"), "{msg}");
    invalid(
        &format!(
            "route:\n  receiver: a\n  routes: [{{active_time_intervals: [day]}}]\n{RECEIVERS}"
        ),
        "route.routes[0].active_time_intervals[0]",
    );
}

#[test]
fn duplicate_receiver_names() {
    let msg = invalid(
        "route: {receiver: a}\nreceivers: [{name: a}, {name: b}, {name: a}]\n",
        "receivers[2].name",
    );
    assert!(msg.contains("receivers[0]"), "{msg}");
}

#[test]
fn root_route_with_matchers() {
    invalid(
        &format!("route: {{receiver: a, matchers: [x=1]}}\n{RECEIVERS}"),
        "route.matchers",
    );
    invalid(
        &format!("route: {{receiver: a, match: {{x: '1'}}}}\n{RECEIVERS}"),
        "route.match",
    );
}

#[test]
fn missing_root_receiver() {
    invalid(
        &format!("route: {{group_by: [a]}}\n{RECEIVERS}"),
        "route.receiver",
    );
    invalid(RECEIVERS, "route");
}

#[test]
fn invalid_duration() {
    let msg = invalid(
        &format!("route:\n  receiver: a\n  routes: [{{group_wait: 5 minutes}}]\n{RECEIVERS}"),
        "route.routes[0].group_wait",
    );
    assert!(msg.contains("invalid duration"), "{msg}");
    invalid(
        &format!("global: {{resolve_timeout: x}}\nroute: {{receiver: a}}\n{RECEIVERS}"),
        "global.resolve_timeout",
    );
    invalid(
        &format!("route: {{receiver: a, repeat_interval: 0s}}\n{RECEIVERS}"),
        "route.repeat_interval",
    );
}

#[test]
fn invalid_regex() {
    let msg = invalid(
        &format!("route:\n  receiver: a\n  routes: [{{matchers: ['x=~\"(\"']}}]\n{RECEIVERS}"),
        "route.routes[0].matchers[0]",
    );
    assert!(msg.contains("invalid regular expression"), "{msg}");
    invalid(
        &format!("route:\n  receiver: a\n  routes: [{{match_re: {{svc: '[a'}}}}]\n{RECEIVERS}"),
        "route.routes[0].match_re.svc",
    );
    invalid(
        &format!(
            "route: {{receiver: a}}\ninhibit_rules: [{{source_match_re: {{a: '*'}}}}]\n{RECEIVERS}"
        ),
        "inhibit_rules[0].source_match_re.a",
    );
}

#[test]
fn invalid_label_name_in_group_by() {
    let msg = invalid(
        &format!("route: {{receiver: a, group_by: [alertname, 'bad-name']}}\n{RECEIVERS}"),
        "route.group_by[1]",
    );
    assert!(msg.contains("\"bad-name\""), "{msg}");
    invalid(
        &format!("route: {{receiver: a, group_by: ['...', job]}}\n{RECEIVERS}"),
        "route.group_by",
    );
}

#[test]
fn bad_matcher_syntax_names_the_entry() {
    let msg = invalid(
        &format!("route:\n  receiver: a\n  routes: [{{matchers: ['ok=1', 'x==\"']}}]\n{RECEIVERS}"),
        "route.routes[0].matchers[1]",
    );
    assert!(msg.contains("column"), "{msg}");
}

#[test]
fn time_interval_errors_name_the_field() {
    invalid(
        &format!(
            "route: {{receiver: a}}\ntime_intervals:\n  - name: t\n    time_intervals: [{{weekdays: [moonday]}}]\n{RECEIVERS}"
        ),
        "time_intervals[0].time_intervals[0].weekdays[0]",
    );
    invalid(
        &format!(
            "route: {{receiver: a}}\ntime_intervals: [{{name: t}}]\nmute_time_intervals: [{{name: t}}]\n{RECEIVERS}"
        ),
        "time_intervals[0].name",
    );
}

#[test]
fn unknown_fields_are_refused_at_every_level() {
    for yaml in [
        format!("route: {{receiver: a}}\nfoo: 1\n{RECEIVERS}"),
        format!("global: {{smtp_frm: x}}\nroute: {{receiver: a}}\n{RECEIVERS}"),
        format!("route: {{receiver: a, routes: [{{recevier: b}}]}}\n{RECEIVERS}"),
        "route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'http://x', sendresolved: true}]}]\n".into(),
        "route: {receiver: a}\nreceivers: [{name: a, opsgenie_configs: [{}]}]\n".into(),
        format!("route: {{receiver: a}}\ninhibit_rules: [{{equals: [a]}}]\n{RECEIVERS}"),
        format!("route: {{receiver: a}}\ntime_intervals: [{{name: t, time_intervals: [{{days: [1]}}]}}]\n{RECEIVERS}"),
    ] {
        let err = Config::parse(&yaml).expect_err(&yaml);
        assert!(matches!(err, ConfigError::Syntax { .. }), "{yaml}: {err}");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}

#[test]
fn receiver_integration_errors() {
    invalid(
        "route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: x@y}]}]\n",
        "receivers[0].email_configs[0].smarthost",
    );
    invalid(
        "route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{channel: '#x'}]}]\n",
        "receivers[0].slack_configs[0].api_url",
    );
    invalid(
        "route: {receiver: a}\nreceivers: [{name: a, pagerduty_configs: [{severity: x}]}]\n",
        "receivers[0].pagerduty_configs[0].routing_key",
    );
}

#[test]
fn errors_carry_the_file_path() {
    let err = Config::from_yaml_str("route: {receiver: nope}\n", Path::new("/etc/am.yml"))
        .expect_err("unknown receiver");
    assert!(
        err.to_string().starts_with("/etc/am.yml: route.receiver: "),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("homeostat-alerting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("am.yml");
    std::fs::write(&file, "route: {receiver: a}\nbogus: 1\n").expect("write");
    let err = Config::load(&file).expect_err("unknown field");
    assert!(
        err.to_string().starts_with(&file.display().to_string()),
        "{err}"
    );
    let err = Config::load(&dir.join("missing.yml")).expect_err("missing file");
    assert!(err.to_string().contains("missing.yml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
