//! The `service` label of homeostat-mode rules: the spec's service on every
//! recording and alert unless the spec's labels set one; none in Sloth mode.

use homeostat_slo::{CompileOptions, Mode, RuleFile, compile, load_specs};

const SPEC: &str = r#"version: prometheus/v1
service: checkout
labels: LABELS
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      page_alert: {labels: {severity: page}}
      ticket_alert: {labels: {severity: ticket}}
"#;

fn rules(labels: &str, mode: Mode) -> RuleFile {
    let specs = load_specs(&SPEC.replace("LABELS", labels), "checkout.yaml").unwrap();
    compile(
        &specs,
        &CompileOptions {
            mode,
            ..CompileOptions::default()
        },
    )
}

fn services(file: &RuleFile) -> Vec<Option<String>> {
    file.groups()
        .flat_map(|g| &g.rules)
        .map(|r| r.labels.get("service").cloned())
        .collect()
}

#[test]
fn every_rule_carries_the_specs_service() {
    let s = services(&rules("{team: payments}", Mode::Homeostat));
    assert!(s.len() > 10, "{s:?}");
    assert!(s.iter().all(|v| v.as_deref() == Some("checkout")), "{s:?}");
}

#[test]
fn a_service_label_in_the_spec_wins() {
    let s = services(&rules("{service: checkout-api}", Mode::Homeostat));
    assert!(
        s.iter().all(|v| v.as_deref() == Some("checkout-api")),
        "{s:?}"
    );
}

#[test]
fn sloth_mode_output_stays_sloths() {
    // Sloth's bytes are the contract of `--compat sloth` (and of the golden
    // cases in `sloth.rs`), so the label is homeostat mode's only.
    let s = services(&rules("{team: payments}", Mode::Sloth));
    assert!(s.iter().all(Option::is_none), "{s:?}");
}
