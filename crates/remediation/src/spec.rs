//! The `remediation:` section as written (serde shapes, unknown fields
//! refused); [`crate::policy::validate`] turns it into typed policies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `remediation: {dry_run, policies}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemediationSpec {
    /// Every policy records what it would do without acting. Default false.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub policies: Vec<PolicySpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    pub trigger: TriggerSpec,
    /// The alert labels that name the target; rate limits and cooldowns are
    /// per target.
    #[serde(default)]
    pub target_labels: Vec<String>,
    /// Further alert labels the actions' templates may use (`{{.zone}}`).
    #[serde(default)]
    pub labels: Vec<String>,
    pub actions: Vec<ActionSpec>,
    #[serde(default)]
    pub guardrails: GuardrailsSpec,
    /// This policy only records what it would do. Default false.
    #[serde(default)]
    pub dry_run: bool,
}

/// Exactly one of `alert` and `slo`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// Alertmanager matchers, all of which must match the alert's labels.
    pub alert: Option<Vec<String>>,
    /// The burn-rate alert of one tier of one SLO.
    pub slo: Option<SloTriggerSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloTriggerSpec {
    pub id: String,
    /// `page` or `ticket` (the alert's `sloth_severity`).
    pub tier: String,
}

/// A name, exactly one of `webhook`, `command` and `traffic`, and how the
/// step is run.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub name: String,
    pub webhook: Option<WebhookSpec>,
    /// argv; the program must be on the process allow-list.
    pub command: Option<Vec<String>>,
    pub traffic: Option<TrafficSpec>,
    /// How long to wait before re-evaluating the trigger. Default 2m.
    pub verify: Option<String>,
    #[serde(default)]
    pub needs_approval: bool,
    #[serde(default)]
    pub exempt_from_freeze: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    pub url: String,
    /// A `{{.label}}` template; values are JSON-escaped.
    pub body: Option<String>,
}

/// A route of the built-in proxy and exactly one of `zones` and
/// `drain_endpoint`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    pub route: String,
    /// Zone (a template, e.g. `{{.zone}}`) → weight.
    pub zones: Option<BTreeMap<String, u32>>,
    pub drain_endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardrailsSpec {
    pub max_runs: Option<MaxRunsSpec>,
    /// After a run ends, per target. Default 10m.
    pub cooldown: Option<String>,
    pub blast_radius: Option<BlastRadiusSpec>,
    /// Then the action is skipped as not approved. Default 15m.
    pub approval_timeout: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MaxRunsSpec {
    pub count: u32,
    pub window: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BlastRadiusSpec {
    /// Share of the service's targets acted on at once, 1–100.
    pub max_percent: u32,
}
