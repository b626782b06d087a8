use homeostat_model::Labels;
use homeostat_remediation::{ActionKind, Trigger};

use crate::{EXAMPLE, example, load};

#[test]
fn the_example_validates_with_defaults() {
    let r = example();
    assert_eq!(r.policies.len(), 2);
    let p = &r.policies[0];
    assert_eq!(p.actions[0].verify_ms, 120_000);
    assert_eq!(p.guardrails.cooldown_ms, 600_000);
    assert_eq!(p.guardrails.blast_radius_percent, Some(34));
    assert!(p.actions[1].needs_approval);
    assert!(matches!(p.actions[2].kind, ActionKind::Command { .. }));
    let slo = &r.policies[1];
    assert!(matches!(slo.trigger, Trigger::Slo { .. }));
    assert_eq!(slo.guardrails.approval_timeout_ms, 15 * 60_000);
    assert_eq!(slo.actions[0].verify_ms, 120_000);
}

fn err(yaml: &str) -> String {
    match load(yaml) {
        Ok(_) => panic!("expected an error for {yaml}"),
        Err(e) => e,
    }
}

#[test]
fn errors_name_the_field_and_never_echo_a_url() {
    let e = err(&EXAMPLE.replace(
        "https://orchestrator.example/scale",
        "ftp://user:pw@x/token",
    ));
    assert!(
        e.starts_with("remediation.policies[1].actions[0].webhook.url:"),
        "{e}"
    );
    assert!(!e.contains("token") && !e.contains("pw"), "{e}");

    let e = err(&EXAMPLE.replace("{{.instance}}\"}'", "{{.pod}}\"}'"));
    assert!(
        e.starts_with("remediation.policies[0].actions[0].webhook.body:"),
        "{e}"
    );
    assert!(e.contains("pod") && e.contains("target_labels"), "{e}");

    let e = err(&EXAMPLE.replace("/usr/local/bin/clean-disk,", "/bin/rm,"));
    assert!(
        e.starts_with("remediation.policies[0].actions[2].command[0]:"),
        "{e}"
    );

    let e = err(&EXAMPLE.replace("tier: page", "tier: urgent"));
    assert!(
        e.starts_with("remediation.policies[1].trigger.slo.tier:"),
        "{e}"
    );

    let e = err(&EXAMPLE.replace("max_percent: 34", "max_percent: 0"));
    assert!(
        e.starts_with("remediation.policies[0].guardrails.blast_radius.max_percent:"),
        "{e}"
    );

    let e = err(&EXAMPLE.replace("name: slo-burn", "name: restart-checkout"));
    assert!(e.starts_with("remediation.policies[1].name:"), "{e}");

    let e = err(&EXAMPLE.replace("severity=\"page\"", "severity=~\"(\""));
    assert!(
        e.starts_with("remediation.policies[0].trigger.alert[1]:"),
        "{e}"
    );

    let e = err(&EXAMPLE.replace("verify: 2m", "verify: 0s"));
    assert!(
        e.starts_with("remediation.policies[0].actions[0].verify:"),
        "{e}"
    );

    let e = err(&EXAMPLE.replace(
        "zones: {\"{{.zone}}\": 0}",
        "drain_endpoint: x, zones: {a: 1}",
    ));
    assert!(
        e.starts_with("remediation.policies[0].actions[1].traffic:"),
        "{e}"
    );

    let e = err(
        "policies: [{name: x, trigger: {}, actions: [{name: a, webhook: {url: 'https://h'}}]}]",
    );
    assert!(e.starts_with("remediation.policies[0].trigger:"), "{e}");
}

#[test]
fn triggers_match_alerts_and_slo_burn_alerts() {
    let r = example();
    let p = &r.policies[0];
    let firing = Labels::from_pairs(&[
        ("alertname", "CheckoutErrors"),
        ("severity", "page"),
        ("service", "checkout"),
        ("instance", "a:80"),
    ]);
    let t = p
        .target_of(&firing)
        .unwrap_or_else(|| panic!("should match"));
    assert_eq!(t.key, "service=checkout,instance=a:80");
    assert_eq!(t.service, "checkout");
    let ticket = Labels::from_pairs(&[("alertname", "CheckoutErrors"), ("severity", "ticket")]);
    assert!(p.target_of(&ticket).is_none());

    let slo = &r.policies[1];
    let burn = Labels::from_pairs(&[
        ("alertname", "CheckoutAvailabilityBurn"),
        ("sloth_id", "checkout-availability"),
        ("sloth_service", "checkout"),
        ("sloth_severity", "page"),
    ]);
    let t = slo
        .target_of(&burn)
        .unwrap_or_else(|| panic!("should match"));
    assert_eq!(t.service, "checkout");
    let other_tier = Labels::from_pairs(&[
        ("sloth_id", "checkout-availability"),
        ("sloth_severity", "ticket"),
    ]);
    assert!(slo.target_of(&other_tier).is_none());
}
