//! `gate:`: error-budget deploy gate policies (docs/gate.md), validated by
//! the gate crate against the services and SLOs the SLO files declare.

use homeostat_model::FieldError;
use serde::Deserialize;

/// `gate: {policies: [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSection {
    #[serde(default)]
    pub policies: Vec<homeostat_gate::PolicySpec>,
}

impl GateSection {
    pub(super) fn validate(
        &self,
        slos: &[homeostat_slo::SloSpec],
    ) -> Result<Vec<homeostat_gate::Policy>, FieldError> {
        let known = homeostat_gate::Known {
            slos: slos
                .iter()
                .map(|s| (s.service.clone(), s.id.clone()))
                .collect(),
        };
        homeostat_gate::validate(&self.policies, &known, "gate.policies").map_err(|e| FieldError {
            field: e.field,
            problem: e.problem,
            fix: e.fix,
        })
    }
}
