//! Which alerts start a policy, and which target an alert names.
//!
//! An SLO trigger matches the burn-rate alert homeostat's SLO compiler
//! writes (`crates/slo`, Sloth-compatible): `sloth_id` is the SLO's id and
//! `sloth_severity` the tier (`page` or `ticket`).

use std::collections::BTreeMap;

use homeostat_alerting::Matcher;
use homeostat_model::Labels;

use crate::policy::Policy;

#[derive(Debug, Clone)]
pub enum Trigger {
    /// Every matcher must match.
    Alert(Vec<Matcher>),
    Slo {
        id: String,
        tier: String,
    },
}

impl Trigger {
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Trigger::Alert(ms) => ms.iter().all(|m| m.matches(labels)),
            Trigger::Slo { id, tier } => {
                labels.get("sloth_id") == Some(id.as_str())
                    && labels.get("sloth_severity") == Some(tier.as_str())
            }
        }
    }

    /// How the trigger reads in a timeline line.
    pub fn describe(&self) -> String {
        match self {
            Trigger::Alert(ms) => {
                let m: Vec<String> = ms.iter().map(ToString::to_string).collect();
                format!("alert {{{}}}", m.join(", "))
            }
            Trigger::Slo { id, tier } => format!("SLO {id} burning at the {tier} tier"),
        }
    }
}

/// The thing a run acts on: the values of the policy's target labels, and
/// the service whose share of targets the blast radius limits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// `instance=a,service=checkout` in the order of `target_labels`; the
    /// key of rate limits and cooldowns.
    pub key: String,
    pub service: String,
}

impl Policy {
    /// The target an alert names, when the alert triggers this policy.
    pub fn target_of(&self, labels: &Labels) -> Option<Target> {
        if !self.trigger.matches(labels) {
            return None;
        }
        let key: Vec<String> = self
            .target_labels
            .iter()
            .map(|l| format!("{l}={}", labels.get(l).unwrap_or("")))
            .collect();
        let service = labels
            .get("service")
            .or_else(|| labels.get("sloth_service"))
            .unwrap_or(&self.name)
            .to_string();
        Some(Target {
            key: key.join(","),
            service,
        })
    }

    /// Template variables for a target: the alert's labels, then
    /// `policy`, `target` and `incident` (which win over labels so named).
    pub fn vars(&self, labels: &Labels, target: &str, incident: &str) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        out.insert("policy".to_string(), self.name.clone());
        out.insert("target".to_string(), target.to_string());
        out.insert("incident".to_string(), incident.to_string());
        out
    }
}
