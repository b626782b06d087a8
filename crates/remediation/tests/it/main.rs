//! The remediation engine's tests: policy validation, guardrails and the
//! act-then-verify loop on a fake clock (plain `i64` ms).

mod guardrails;
mod policy;
mod run;

use homeostat_remediation::{Remediation, RemediationSpec, validate_section};

pub const ALLOW: &[&str] = &["/usr/local/bin/clean-disk"];

pub const EXAMPLE: &str = r#"
dry_run: false
policies:
  - name: restart-checkout
    trigger:
      alert: ['alertname="CheckoutErrors"', 'severity="page"']
    target_labels: [service, instance]
    labels: [zone]
    actions:
      - name: restart
        webhook: {url: "https://orchestrator.example/restart?token=s3cret", body: '{"service":"{{.service}}","instance":"{{.instance}}"}'}
        verify: 2m
      - name: drain-zone
        traffic: {route: checkout, zones: {"{{.zone}}": 0}}
        needs_approval: true
      - name: clean-disk
        command: [/usr/local/bin/clean-disk, "--host", "{{.instance}}"]
        exempt_from_freeze: true
    guardrails:
      max_runs: {count: 3, window: 1h}
      cooldown: 10m
      blast_radius: {max_percent: 34}
      approval_timeout: 15m
  - name: slo-burn
    trigger:
      slo: {id: checkout-availability, tier: page}
    actions:
      - name: scale
        webhook: {url: "https://orchestrator.example/scale"}
"#;

pub fn load(yaml: &str) -> Result<Remediation, String> {
    let spec: RemediationSpec = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
    let allow: Vec<String> = ALLOW.iter().map(ToString::to_string).collect();
    validate_section(&spec, &allow).map_err(|e| e.to_string())
}

pub fn example() -> Remediation {
    load(EXAMPLE).unwrap_or_else(|e| panic!("{e}"))
}
