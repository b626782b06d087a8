//! Experiment documents in the shapes of Chaos Toolkit's own examples.

use std::time::Duration;

use homeostat_chaos::{
    ActivityKind, ConfigValue, Format, HomeostatFunc, Provider, Resolved, Tolerance,
    parse_experiment,
};
use serde_json::json;

/// The Chaos Toolkit tutorial's shape (JSON, http probe, process action,
/// python driver call, pauses, refs, rollbacks).
const TUTORIAL: &str = r#"{
  "version": "1.0.0",
  "title": "What is the impact of an expired certificate on our application chain?",
  "description": "If the certificate expires, we should be alerted.",
  "tags": ["tls"],
  "configuration": {
    "base": "http://localhost:8443",
    "token": {"type": "env", "key": "SHOP_TOKEN", "default": "none"}
  },
  "secrets": {"shop": {"api_key": "s3cr3t-key"}},
  "steady-state-hypothesis": {
    "title": "Application responds",
    "probes": [
      {"type": "probe", "name": "the-astre-service-must-be-running", "tolerance": true,
       "provider": {"type": "python", "module": "chaosprometheus.probes", "func": "query",
                    "arguments": {"query": "up{job=\"astre\"}"}}},
      {"type": "probe", "name": "the-sunset-service-must-be-running", "tolerance": 200,
       "provider": {"type": "http", "url": "${base}/health", "timeout": [1, 2]}}
    ]
  },
  "method": [
    {"type": "action", "name": "swap-to-expired-cert",
     "provider": {"type": "process", "path": "/usr/bin/cp",
                  "arguments": ["expired-cert.pem", "cert.pem"]},
     "pauses": {"after": 1.5}},
    {"type": "probe", "name": "read-tls-cert-expiry-date",
     "provider": {"type": "process", "path": "/usr/bin/openssl",
                  "arguments": ["x509", "-enddate", "-noout", "-in", "cert.pem"]}},
    {"ref": "the-sunset-service-must-be-running"}
  ],
  "rollbacks": [
    {"type": "action", "name": "swap-to-valid-cert",
     "provider": {"type": "process", "path": "/usr/bin/cp", "arguments": ["valid-cert.pem", "cert.pem"]}}
  ],
  "controls": [{"name": "tracing", "provider": {"type": "python", "module": "chaostracing.control"}}]
}"#;

#[test]
fn the_tutorial_shape_parses() {
    let e = parse_experiment(TUTORIAL, Format::Auto).expect("valid");
    assert_eq!(e.tags, vec!["tls"]);
    let h = e.hypothesis.as_ref().expect("hypothesis");
    assert_eq!(h.probes.len(), 2);
    assert_eq!(h.probes[0].tolerance, Some(Tolerance::Bool(true)));
    let Provider::Python(p) = &h.probes[0].provider else {
        panic!("python provider");
    };
    assert_eq!(p.native().expect("mapped").func, HomeostatFunc::Promql);
    let Provider::Http(http) = &h.probes[1].provider else {
        panic!("http provider");
    };
    assert_eq!(http.method, "GET");
    assert_eq!(http.timeout, Some(Duration::from_secs(3)));
    assert_eq!(e.method.len(), 3);
    assert_eq!(e.method[0].pauses.after, Some(Duration::from_millis(1500)));
    // A ref is the activity it names.
    assert_eq!(e.method[2].name, "the-sunset-service-must-be-running");
    assert_eq!(e.method[2].kind, ActivityKind::Probe);
    assert_eq!(e.rollbacks.len(), 1);
    assert_eq!(e.notes.len(), 1, "controls are noted as ignored");
    assert!(matches!(e.configuration["token"], ConfigValue::Env { .. }));
    // Inline secrets never reach the journal's copy of the document.
    assert_eq!(e.document["secrets"]["shop"]["api_key"], "********");
    assert!(!e.document.to_string().contains("s3cr3t-key"));

    let env = |k: &str| (k == "SHOP_TOKEN").then(|| "tok".to_string());
    let r = Resolved::resolve(&e, &env).expect("resolved");
    assert_eq!(r.configuration["token"], json!("tok"));
    assert_eq!(r.substitute_text("${base}/x"), "http://localhost:8443/x");
}

const YAML: &str = r#"
title: Checkout survives 500 ms of latency to its database
description: The SLO guard stops us before users notice.
steady-state-hypothesis:
  title: checkout is healthy
  probes:
    - type: probe
      name: error-ratio-low
      tolerance: {type: range, range: [0, 0.01]}
      provider: {type: homeostat, func: promql, arguments: {query: "sum(rate(errors[1m]))"}}
    - type: probe
      name: budget-left
      tolerance: {type: jsonpath, path: "$.value", expect: 1}
      provider: {type: homeostat, func: slo, arguments: {slo: checkout-availability, measure: budget_remaining}}
    - type: probe
      name: body-says-ok
      tolerance: {type: regex, pattern: "^ok", target: body}
      provider: {type: http, url: "http://127.0.0.1:1/health", expected_status: [200, 204]}
method:
  - type: action
    name: add-latency
    background: false
    provider:
      type: homeostat
      func: add_toxic
      arguments: {proxy: checkout-db, toxic: {name: lat, type: latency, attributes: {latency: 500}}}
    pauses: {before: 0, after: 30}
rollbacks:
  - type: action
    name: remove-latency
    provider: {type: homeostat, func: remove_toxic, arguments: {proxy: checkout-db, toxic: lat}}
extensions:
  - name: homeostat
    service: checkout
    guard: {slo: checkout-availability, max_burn_rate: 14.4, max_budget_drop_percent: 5, check_every: 5s}
  - name: someone-else
    anything: [1, 2]
"#;

#[test]
fn yaml_with_the_homeostat_extension() {
    let e = parse_experiment(YAML, Format::Yaml).expect("valid");
    assert_eq!(e.service(), Some("checkout"));
    let g = e
        .homeostat
        .as_ref()
        .and_then(|h| h.guard.as_ref())
        .expect("guard");
    assert_eq!(g.slo, "checkout-availability");
    assert_eq!(g.max_burn_rate, Some(14.4));
    assert_eq!(g.max_budget_drop_percent, Some(5.0));
    assert_eq!(g.check_every, Some(Duration::from_secs(5)));
    let probes = &e.hypothesis.as_ref().expect("hypothesis").probes;
    assert!(
        matches!(probes[0].tolerance, Some(Tolerance::Range { lo, hi, .. }) if lo == 0.0 && hi == 0.01)
    );
    assert!(matches!(
        probes[1].tolerance,
        Some(Tolerance::JsonPath { .. })
    ));
    assert!(matches!(probes[2].tolerance, Some(Tolerance::Regex { .. })));
    let Provider::Http(h) = &probes[2].provider else {
        panic!("http");
    };
    assert_eq!(h.expected_status, Some(vec![200, 204]));
    assert_eq!(e.method[0].pauses.after, Some(Duration::from_secs(30)));
}

fn error_of(doc: &str) -> String {
    parse_experiment(doc, Format::Auto)
        .expect_err("invalid")
        .to_string()
}

#[test]
fn errors_name_the_path() {
    let base = |method: serde_json::Value| json!({"title": "t", "method": method}).to_string();
    assert_eq!(
        error_of(&base(
            json!([{"type": "action", "name": "a", "provider": {"type": "http"}}])
        )),
        "method[0].provider.url: is required"
    );
    assert!(
        error_of(&base(json!([
            {"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}},
            {"type": "action", "name": "b", "provider": {"type": "http", "url": "ftp://x"}}
        ])))
        .starts_with("method[1].provider.url: ")
    );
    assert!(
        error_of(&base(json!([{"type": "action", "name": "a",
        "provider": {"type": "process", "path": "/bin/echo", "arguments": "a b"}}])))
        .starts_with("method[0].provider.arguments: must be a list of strings")
    );
    assert!(error_of(&base(json!([{"type": "action", "name": "a",
        "provider": {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods"}}])))
    .contains("chaosk8s.pod.actions.terminate_pods is not supported"));
    assert!(
        error_of(&base(json!([{"ref": "nope"}]))).starts_with("method[0].ref: no activity named")
    );
    assert!(
        error_of(&base(json!([{"type": "action", "name": "a", "bogus": 1,
        "provider": {"type": "http", "url": "http://x"}}])))
        .starts_with("method[0].bogus: unknown field")
    );
    assert!(
        error_of(&base(json!([{"type": "action", "name": "a",
        "provider": {"type": "homeostat", "func": "add_toxic", "arguments": {"proxy": "p"}}}])))
        .starts_with("method[0].provider.arguments.toxic: is required")
    );
    assert_eq!(
        error_of(
            r#"{"title": "t", "steady-state-hypothesis": {"title": "h", "probes": [
            {"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}}]}}"#
        ),
        "steady-state-hypothesis.probes[0].tolerance: a steady-state probe needs a tolerance"
    );
    assert!(
        error_of(
            r#"{"title": "t", "method": [], "steady-state-hypothesis": {"title": "h", "probes": [
            {"type": "probe", "name": "p", "tolerance": {"type": "range", "range": [2, 1]},
             "provider": {"type": "http", "url": "http://x"}}]}}"#
        )
        .starts_with("steady-state-hypothesis.probes[0].tolerance.range: low 2 is above high 1")
    );
    assert!(
        error_of(
            r#"{"title": "t", "method": [{"type": "action", "name": "a",
        "provider": {"type": "http", "url": "http://x"}}],
        "extensions": [{"name": "homeostat", "guard": {"slo": "s"}}]}"#
        )
        .starts_with("extensions[0].guard: a guard needs")
    );
    assert!(error_of("{not json").starts_with("experiment: invalid JSON"));
    assert!(error_of("title: [unclosed").starts_with("experiment: invalid YAML"));
    assert_eq!(error_of(r#"{"method": []}"#), "title: is required");
}

#[test]
fn probe_tolerance_is_an_activity() {
    let doc = json!({"title": "t", "steady-state-hypothesis": {"title": "h", "probes": [
        {"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"},
         "tolerance": {"type": "probe", "name": "check", "provider":
            {"type": "http", "url": "http://y", "method": "post"}}}]}});
    let e = parse_experiment(&doc.to_string(), Format::Json).expect("valid");
    let Some(Tolerance::Probe(a)) = &e.hypothesis.expect("h").probes[0].tolerance else {
        panic!("probe tolerance");
    };
    assert_eq!(a.name, "check");
}
