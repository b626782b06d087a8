//! `remediation:` (docs/remediation.md): policies that act on firing
//! alerts and verify the fix. The file format is the engine's
//! ([`RemediationSpec`]); a `command` action may run only what
//! `chaos.process_allowlist` allows. Reloadable: a reload swaps the
//! policies, and runs in progress go on under the new ones by name.

use homeostat_model::FieldError;
use homeostat_remediation::{Remediation, RemediationSpec, validate_section};

use super::ChaosSection;

pub(super) fn validate(
    spec: &RemediationSpec,
    chaos: &ChaosSection,
) -> Result<Remediation, FieldError> {
    let allowlist: Vec<String> = chaos
        .process_allowlist
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    validate_section(spec, &allowlist)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str, allow: &str) -> Result<Remediation, String> {
        let spec: RemediationSpec = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        let chaos: ChaosSection = serde_norway::from_str(allow).map_err(|e| e.to_string())?;
        validate(&spec, &chaos).map_err(|e| e.to_string())
    }

    const POLICY: &str = "
policies:
  - name: clean
    trigger: {alert: ['alertname=\"DiskFull\"']}
    target_labels: [instance]
    actions:
      - name: clean-disk
        command: [/usr/local/bin/clean-disk, '{{.instance}}']
";

    #[test]
    fn commands_must_be_on_the_chaos_allow_list() {
        let r = parse(POLICY, "{process_allowlist: [/usr/local/bin/clean-disk]}")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.policies.len(), 1);
        assert!(!r.dry_run);
        assert!(
            parse(POLICY, "{}")
                .is_err_and(|e| e.starts_with("remediation.policies[0].actions[0].command[0]:"))
        );
        assert!(parse("{bogus: 1}", "{}").is_err_and(|e| e.contains("bogus")));
        assert!(parse("{}", "{}").is_ok_and(|r| r.policies.is_empty()));
    }
}
