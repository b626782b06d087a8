use chrono::{TimeZone, Utc};
use homeostat_alerting::{Config, Inhibitor};
use homeostat_model::{Fingerprint, Labels};

fn load(yaml: &str) -> Config {
    Config::parse(yaml).expect("valid config")
}

fn receivers(cfg: &Config, labels: &[(&str, &str)]) -> String {
    cfg.receivers_for(&Labels::from_pairs(labels)).join(",")
}

const TREE: &str = "
route:
  receiver: root
  group_by: [alertname]
  routes:
    - matchers: ['severity=\"page\"']
      receiver: pager
      continue: true
    - matchers: ['team=\"a\"']
      receiver: a
      routes:
        - matchers: ['service=~\"x|y\"']
          receiver: a-xy
          continue: true
        - matchers: ['service=\"x\"']
          receiver: a-x
    - matchers: ['team=~\"a|b\"']
      receiver: a-or-b
    - receiver: last
      continue: true
receivers: [{name: root}, {name: pager}, {name: a}, {name: a-xy}, {name: a-x}, {name: a-or-b}, {name: last}]
";

#[test]
fn first_match_wins_unless_continue() {
    let cfg = load(TREE);
    assert_eq!(receivers(&cfg, &[]), "last");
    assert_eq!(receivers(&cfg, &[("severity", "page")]), "pager,last");
    assert_eq!(receivers(&cfg, &[("team", "a")]), "a");
    assert_eq!(receivers(&cfg, &[("team", "b")]), "a-or-b");
    assert_eq!(
        receivers(&cfg, &[("team", "a"), ("service", "x")]),
        "a-xy,a-x"
    );
    assert_eq!(receivers(&cfg, &[("team", "a"), ("service", "y")]), "a-xy");
    assert_eq!(
        receivers(
            &cfg,
            &[("team", "a"), ("service", "x"), ("severity", "page")]
        ),
        "pager,a-xy,a-x"
    );
}

#[test]
fn root_is_the_match_when_no_child_matches() {
    let cfg = load(
        "route: {receiver: root, routes: [{matchers: [x=1], receiver: x}]}\nreceivers: [{name: root}, {name: x}]\n",
    );
    let routes = cfg.routes_for(&Labels::from_pairs(&[("x", "2")]));
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].id, "{}");
    assert_eq!(routes[0].path, "route");
}

#[test]
fn matches_carry_ids_timings_and_group_keys() {
    let cfg = load(TREE);
    let labels = Labels::from_pairs(&[
        ("alertname", "Hot"),
        ("team", "a"),
        ("service", "y"),
        ("pod", "p1"),
    ]);
    let routes = cfg.routes_for(&labels);
    assert_eq!(routes.len(), 1);
    let r = routes[0];
    assert_eq!(r.opts.receiver, "a-xy");
    assert_eq!(r.id, r#"{}/{team="a"}/1/{service=~"x|y"}/0"#);
    assert_eq!(
        r.group_key(&labels),
        r#"{}/{team="a"}/{service=~"x|y"}:{alertname="Hot"}"#
    );
    assert_eq!(
        r.group_labels(&labels),
        Labels::from_pairs(&[("alertname", "Hot")])
    );
    // Ids are unique across the tree.
    let mut ids: Vec<&str> = cfg.route.walk().iter().map(|r| r.id.as_str()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn group_by_all_uses_every_label() {
    let cfg = load("route: {receiver: r, group_by: ['...']}\nreceivers: [{name: r}]\n");
    let labels = Labels::from_pairs(&[("a", "1"), ("b", "2")]);
    assert_eq!(cfg.route.group_labels(&labels), labels);
    assert_eq!(cfg.route.group_key(&labels), r#"{}:{a="1", b="2"}"#);
}

#[test]
fn legacy_match_re_is_anchored() {
    let cfg = load(
        "route: {receiver: r, routes: [{match_re: {svc: 'foo|bar'}, receiver: fb}]}\nreceivers: [{name: r}, {name: fb}]\n",
    );
    assert_eq!(receivers(&cfg, &[("svc", "foo")]), "fb");
    assert_eq!(receivers(&cfg, &[("svc", "foobar")]), "r");
    assert_eq!(cfg.route.routes[0].id, r#"{}/{svc=~"^(?:foo|bar)$"}/0"#);
}

#[test]
fn inhibition() {
    let cfg = load(
        "route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [cluster]
  - source_match: {alertname: Maintenance}
    target_match_re: {alertname: '.+'}
",
    );
    let inhibitor = Inhibitor::new(&cfg.inhibit_rules);
    let crit_eu = Labels::from_pairs(&[("severity", "critical"), ("cluster", "eu")]);
    let warn_eu = Labels::from_pairs(&[("severity", "warning"), ("cluster", "eu")]);
    let warn_us = Labels::from_pairs(&[("severity", "warning"), ("cluster", "us")]);
    let warn_none = Labels::from_pairs(&[("severity", "warning")]);
    let crit_none = Labels::from_pairs(&[("severity", "critical")]);
    let firing = [crit_eu.clone(), warn_eu.clone(), warn_us.clone()];
    assert!(inhibitor.is_inhibited(&warn_eu, &firing));
    assert!(!inhibitor.is_inhibited(&warn_us, &firing));
    assert!(!inhibitor.is_inhibited(&crit_eu, &firing));
    // An absent `equal` label equals an absent one.
    assert!(inhibitor.is_inhibited(&warn_none, &[crit_none]));
    assert!(!inhibitor.is_inhibited(&warn_none, &firing));
    let maint = Labels::from_pairs(&[("alertname", "Maintenance")]);
    let other = Labels::from_pairs(&[("alertname", "Down")]);
    assert!(inhibitor.is_inhibited(&other, std::slice::from_ref(&maint)));
}

#[test]
fn an_alert_matching_both_sides_does_not_inhibit_itself() {
    let cfg = load(
        "route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: ['severity=~\"warning|critical\"']
    target_matchers: ['severity=~\"warning|info\"']
    equal: [job]
",
    );
    let inhibitor = Inhibitor::new(&cfg.inhibit_rules);
    let warn = Labels::from_pairs(&[("severity", "warning"), ("job", "api")]);
    let warn2 = Labels::from_pairs(&[("severity", "warning"), ("job", "api"), ("x", "2")]);
    let crit = Labels::from_pairs(&[("severity", "critical"), ("job", "api")]);
    let info = Labels::from_pairs(&[("severity", "info"), ("job", "api")]);
    assert!(!inhibitor.is_inhibited(&warn, std::slice::from_ref(&warn)));
    // Another two-sided alert does not inhibit it either.
    assert!(!inhibitor.is_inhibited(&warn, &[warn.clone(), warn2.clone()]));
    // A source-only alert does.
    assert!(inhibitor.is_inhibited(&warn, &[warn.clone(), crit.clone()]));
    // A target-only alert is inhibited by a two-sided one.
    assert!(inhibitor.is_inhibited(&info, &[warn]));
}

#[test]
fn mute_and_active_time_intervals() {
    let cfg = load(
        "route:
  receiver: r
  routes:
    - matchers: [kind=office]
      active_time_intervals: [office]
    - matchers: [kind=quiet]
      mute_time_intervals: [nights, new-year]
receivers: [{name: r}]
time_intervals:
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:30'}]
        location: America/New_York
  - name: nights
    time_intervals:
      - times: [{start_time: '00:00', end_time: '06:00'}, {start_time: '22:00', end_time: '24:00'}]
mute_time_intervals:
  - name: new-year
    time_intervals: [{months: [january], days_of_month: [1]}]
",
    );
    let office = cfg.routes_for(&Labels::from_pairs(&[("kind", "office")]))[0];
    let quiet = cfg.routes_for(&Labels::from_pairs(&[("kind", "quiet")]))[0];
    // Wednesday 2025-03-12: New York is UTC-4 (daylight time from 9 March).
    let wed = |h, m| {
        Utc.with_ymd_and_hms(2025, 3, 12, h, m, 0)
            .single()
            .expect("instant")
    };
    assert!(cfg.is_muted(office, wed(12, 59)));
    assert!(!cfg.is_muted(office, wed(13, 0)));
    assert!(!cfg.is_muted(office, wed(21, 29)));
    assert!(cfg.is_muted(office, wed(21, 30)));
    assert!(cfg.is_muted(quiet, wed(23, 0)));
    assert!(cfg.is_muted(quiet, wed(5, 59)));
    assert!(!cfg.is_muted(quiet, wed(6, 0)));
    let new_year = Utc
        .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("instant");
    assert!(cfg.is_muted(quiet, new_year));
    assert!(!cfg.is_muted(&cfg.route, new_year));
}

#[test]
fn fingerprints_are_stable() {
    let a = Labels::from_pairs(&[("alertname", "Down"), ("job", "api")]);
    let fp = Fingerprint::of(&a);
    assert_eq!(fp.to_string().len(), 16);
    assert_eq!(fp, Fingerprint::of(&a.clone()));
    assert_ne!(
        fp,
        Fingerprint::of(&Labels::from_pairs(&[("alertname", "Down")]))
    );
}
