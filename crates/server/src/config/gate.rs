//! `gate:`: error-budget deploy gate policies (docs/gate.md), validated by
//! the gate crate against the services and SLOs the SLO files declare, and
//! the default policy that gates every other service with SLOs.

use homeostat_gate::{DefaultPolicy, PolicyError};
use homeostat_model::FieldError;
use serde::Deserialize;

/// `gate: {default_policy: workbook, policies: [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSection {
    /// What gates a service with SLOs and no policy: `workbook` (default)
    /// or `none`. A string rather than a serde enum, so a wrong value gets
    /// the field and the accepted values rather than a YAML position.
    #[serde(default)]
    pub default_policy: Option<String>,
    #[serde(default)]
    pub policies: Vec<homeostat_gate::PolicySpec>,
}

fn field_error(e: PolicyError) -> FieldError {
    FieldError {
        field: e.field,
        problem: e.problem,
        fix: e.fix,
    }
}

impl GateSection {
    /// The policies in effect: the written ones and the default ones.
    pub(super) fn validate(
        &self,
        slos: &[homeostat_slo::SloSpec],
    ) -> Result<Vec<homeostat_gate::Policy>, FieldError> {
        let default = match &self.default_policy {
            Some(v) => DefaultPolicy::parse(v, "gate.default_policy").map_err(field_error)?,
            None => DefaultPolicy::default(),
        };
        let known = homeostat_gate::Known {
            slos: slos
                .iter()
                .map(|s| (s.service.clone(), s.id.clone()))
                .collect(),
        };
        let explicit = homeostat_gate::validate(&self.policies, &known, "gate.policies")
            .map_err(field_error)?;
        Ok(homeostat_gate::with_default(explicit, &known, default))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use homeostat_gate::Origin;

    use crate::config::Config;

    fn load(gate: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let spec = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml"),
        )
        .unwrap();
        std::fs::write(dir.path().join("slo.yaml"), spec).unwrap();
        let cfg = dir.path().join("homeostat.yaml");
        std::fs::write(&cfg, format!("slo_files: [slo.yaml]\n{gate}")).unwrap();
        Config::load(&cfg).map_err(|e| e.to_string())
    }

    #[test]
    fn a_service_with_slos_and_no_policy_gets_the_default_unless_turned_off() {
        let c = load("").unwrap();
        assert_eq!(c.gate.len(), 1);
        assert_eq!(c.gate[0].service, "checkout");
        assert_eq!(c.gate[0].origin, Origin::Default);

        let c = load("gate: {default_policy: none}\n").unwrap();
        assert!(c.gate.is_empty(), "{:?}", c.gate);

        let c =
            load("gate:\n  policies: [{service: checkout, freeze_below_remaining_percent: 10}]\n")
                .unwrap();
        assert_eq!(c.gate.len(), 1, "the written policy replaces the default");
        assert_eq!(c.gate[0].origin, Origin::Explicit);
        assert_eq!(c.gate[0].freeze_below_remaining, 0.1);
    }

    #[test]
    fn an_unknown_default_policy_names_the_field_and_the_accepted_values() {
        let e = load("gate: {default_policy: off}\n").unwrap_err();
        assert!(
            e.contains("gate.default_policy")
                && e.contains("\"off\"")
                && e.contains("workbook, none"),
            "{e}"
        );
    }
}
