//! `deploys:`: which deploys `POST /api/v1/deploys` records. By default
//! only those of a service something declares (`services:`, an SLO, a gate
//! policy), so a typo in a pipeline is refused instead of filing deploys no
//! page, suspect list or gate ever shows.

use std::collections::BTreeSet;

use serde::Deserialize;

/// `deploys: {allow_unknown_services: false}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploysSection {
    /// Record deploys of services nobody declares. Default false.
    pub allow_unknown_services: Option<bool>,
}

impl DeploysSection {
    /// The admission rule, with the services declared under `services:`
    /// and `rollback.actions` (the SLOs' and gate policies' services are
    /// read by the release service itself, from the cells a reload swaps).
    pub(super) fn admission(
        &self,
        services: &[super::ServiceSection],
        rollback: &crate::release::RollbackSection,
    ) -> homeostat_app::DeployAdmission {
        homeostat_app::DeployAdmission {
            declared_services: services
                .iter()
                .map(|s| s.name.clone())
                .chain(rollback.actions.iter().map(|a| a.service.clone()))
                .collect::<BTreeSet<_>>(),
            allow_unknown_services: self.allow_unknown_services.unwrap_or(false),
        }
    }
}
