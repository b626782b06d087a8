//! Error-budget policies as written in the config (`gate.policies`), and
//! their validation into [`Policy`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Change types that may ship through a freeze unless a policy says
/// otherwise: undoing a change, a security fix, a fix for a P0.
pub const DEFAULT_EXCEPTIONS: [&str; 3] = ["rollback", "security", "p0-fix"];

/// One policy as written.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// The service the policy gates (the `service` of its SLOs).
    pub service: String,
    /// The SLO ids whose budgets count; default: every SLO of the service.
    #[serde(default)]
    pub slos: Vec<String>,
    /// Freeze when any counted SLO has less than this share of its error
    /// budget left, in percent (0–100). Default 0: only an exhausted budget
    /// freezes.
    #[serde(default)]
    pub freeze_below_remaining_percent: f64,
    /// Freeze while a page-tier burn-rate alert of a counted SLO fires.
    #[serde(default = "yes")]
    pub freeze_on_page: bool,
    /// Change types that may still ship during a freeze.
    #[serde(default = "default_exceptions")]
    pub exceptions: Vec<String>,
    /// What to answer when a counted SLO's budget cannot be measured.
    #[serde(default)]
    pub on_no_data: NoDataAction,
}

fn yes() -> bool {
    true
}
fn default_exceptions() -> Vec<String> {
    DEFAULT_EXCEPTIONS.iter().map(|s| s.to_string()).collect()
}

/// Without budget data the gate fails closed by default: a gate that opens
/// when its data source is down is not a gate.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum NoDataAction {
    #[default]
    Deny,
    Allow,
}

/// Where a policy comes from: written in `gate.policies`, or the default
/// every service with SLOs gets when nobody wrote one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Explicit,
    Default,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Explicit => "explicit",
            Origin::Default => "default",
        }
    }
}

/// `gate.default_policy`: what gates a service that has SLOs and no
/// policy of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultPolicy {
    /// The SRE Workbook's error-budget policy: freeze normal changes while
    /// a budget is exhausted or a page-tier burn alert fires.
    #[default]
    Workbook,
    /// Services without a policy are not gated.
    None,
}

impl DefaultPolicy {
    /// The values `gate.default_policy` accepts, as written.
    pub const NAMES: [&'static str; 2] = ["workbook", "none"];

    /// Parses the config value; the error lists the accepted values.
    pub fn parse(value: &str, field: &str) -> Result<Self, PolicyError> {
        match value.trim() {
            "workbook" => Ok(DefaultPolicy::Workbook),
            "none" => Ok(DefaultPolicy::None),
            other => Err(err(
                field.to_string(),
                format!("unknown default policy {other:?}"),
                format!("use one of: {}", Self::NAMES.join(", ")),
            )),
        }
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub service: String,
    /// Written in the config, or the default policy.
    pub origin: Origin,
    /// Empty: every SLO of the service.
    pub slos: Vec<String>,
    /// As a fraction (0.1 = 10 %).
    pub freeze_below_remaining: f64,
    pub freeze_on_page: bool,
    pub exceptions: BTreeSet<String>,
    pub on_no_data: NoDataAction,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}; {fix}")]
pub struct PolicyError {
    pub field: String,
    pub problem: String,
    pub fix: String,
}

fn err(field: String, problem: String, fix: impl Into<String>) -> PolicyError {
    PolicyError {
        field,
        problem,
        fix: fix.into(),
    }
}

/// The services and SLOs policies may name (from the loaded SLO specs).
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// (service, slo id) pairs.
    pub slos: Vec<(String, String)>,
}

impl Known {
    fn services(&self) -> BTreeSet<&str> {
        self.slos.iter().map(|(s, _)| s.as_str()).collect()
    }
}

/// Validates every policy against the known services and SLOs. `at` is the
/// config path of the list (e.g. `gate.policies`).
pub fn validate(specs: &[PolicySpec], known: &Known, at: &str) -> Result<Vec<Policy>, PolicyError> {
    let services = known.services();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(specs.len());
    for (i, p) in specs.iter().enumerate() {
        let f = |name: &str| format!("{at}[{i}].{name}");
        if !services.contains(p.service.as_str()) {
            let list: Vec<&str> = services.iter().copied().collect();
            return Err(err(
                f("service"),
                format!("unknown service {:?}", p.service),
                if list.is_empty() {
                    "no SLOs are loaded; add slo_files to the config first".to_string()
                } else {
                    format!("use one of the services with SLOs: {}", list.join(", "))
                },
            ));
        }
        if !seen.insert(p.service.as_str()) {
            return Err(err(
                f("service"),
                format!("service {:?} has two policies", p.service),
                "merge them into one",
            ));
        }
        for (j, id) in p.slos.iter().enumerate() {
            if !known
                .slos
                .iter()
                .any(|(s, slo)| s == &p.service && slo == id)
            {
                return Err(err(
                    format!("{}[{j}]", f("slos")),
                    format!("service {:?} has no SLO {id:?}", p.service),
                    "use an SLO id as `homeostat slo status` lists it",
                ));
            }
        }
        let t = p.freeze_below_remaining_percent;
        if !(0.0..=100.0).contains(&t) {
            return Err(err(
                f("freeze_below_remaining_percent"),
                format!("{t} is outside 0..100"),
                "give the share of budget left that freezes deploys, e.g. 10",
            ));
        }
        if let Some(e) = p.exceptions.iter().find(|e| e.trim().is_empty()) {
            return Err(err(
                f("exceptions"),
                format!("empty change type {e:?}"),
                "list change types such as rollback, security, p0-fix",
            ));
        }
        out.push(Policy {
            service: p.service.clone(),
            origin: Origin::Explicit,
            slos: p.slos.clone(),
            freeze_below_remaining: t / 100.0,
            freeze_on_page: p.freeze_on_page,
            exceptions: p.exceptions.iter().map(|e| e.trim().to_string()).collect(),
            on_no_data: p.on_no_data,
        });
    }
    Ok(out)
}

impl Policy {
    /// The SRE Workbook's error-budget policy for `service`: every SLO
    /// counts, an exhausted budget or a firing page-tier burn alert freezes
    /// normal changes, and rollbacks, security fixes and P0 fixes still
    /// ship. Unlike a written policy it does not freeze on missing data:
    /// nobody asked for this gate, and a new service whose SLI has no
    /// samples yet has spent nothing.
    pub fn workbook(service: &str) -> Policy {
        Policy {
            service: service.to_string(),
            origin: Origin::Default,
            slos: Vec::new(),
            freeze_below_remaining: 0.0,
            freeze_on_page: true,
            exceptions: default_exceptions().into_iter().collect(),
            on_no_data: NoDataAction::Allow,
        }
    }
}

/// The policies in effect: the written ones, plus the default policy for
/// every service with SLOs that none of them names (none with
/// [`DefaultPolicy::None`]). A written policy replaces the default whole;
/// nothing of the default is merged into it.
pub fn with_default(explicit: Vec<Policy>, known: &Known, default: DefaultPolicy) -> Vec<Policy> {
    let mut out = explicit;
    if default == DefaultPolicy::None {
        return out;
    }
    for service in known.services() {
        if !out.iter().any(|p| p.service == service) {
            out.push(Policy::workbook(service));
        }
    }
    out
}

/// Parses and validates `policies:` YAML (a list of policies).
pub fn from_yaml(text: &str, known: &Known, at: &str) -> Result<Vec<Policy>, PolicyError> {
    let specs: Vec<PolicySpec> = serde_norway::from_str(text).map_err(|e| {
        err(
            at.to_string(),
            e.to_string(),
            "see docs/gate.md for the fields",
        )
    })?;
    validate(&specs, known, at)
}
