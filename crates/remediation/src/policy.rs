//! Remediation policies validated into typed structs. An error names the
//! field path (`remediation.policies[2].actions[0].webhook.url`) and never
//! echoes a URL, which may carry a token.

use std::collections::BTreeSet;

use homeostat_alerting::Matcher;
use homeostat_model::template::Template;
use homeostat_model::{FieldError, is_valid_label_name, parse_duration};

use crate::action::{Action, ActionKind, TrafficChange};
use crate::spec::{
    ActionSpec, GuardrailsSpec, PolicySpec, RemediationSpec, TrafficSpec, TriggerSpec,
};
use crate::trigger::Trigger;

/// Placeholders every action template may use besides the policy's labels.
pub const BUILTIN_KEYS: [&str; 3] = ["policy", "target", "incident"];

/// The validated `remediation:` section.
#[derive(Debug, Clone, Default)]
pub struct Remediation {
    pub dry_run: bool,
    pub policies: Vec<Policy>,
}

impl Remediation {
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub trigger: Trigger,
    pub target_labels: Vec<String>,
    pub actions: Vec<Action>,
    pub guardrails: Guardrails,
    pub dry_run: bool,
}

/// Limits on how often and how widely a policy acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrails {
    /// At most `count` runs started per target within `window_ms`.
    pub max_runs: Option<MaxRuns>,
    pub cooldown_ms: i64,
    /// Largest share of a service's targets under action at once, percent.
    pub blast_radius_percent: Option<u32>,
    pub approval_timeout_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRuns {
    pub count: u32,
    pub window_ms: i64,
}

const DEFAULT_VERIFY: &str = "2m";
const DEFAULT_COOLDOWN: &str = "10m";
const DEFAULT_APPROVAL_TIMEOUT: &str = "15m";

/// Validates the section; `allowlist` holds the absolute paths a `command`
/// action may run.
pub fn validate(spec: &RemediationSpec, allowlist: &[String]) -> Result<Remediation, FieldError> {
    let mut names = BTreeSet::new();
    let mut policies = Vec::new();
    for (i, p) in spec.policies.iter().enumerate() {
        let at = format!("policies[{i}]");
        let policy = validate_policy(p, allowlist).map_err(|e| e.under(&at))?;
        if !names.insert(policy.name.clone()) {
            return Err(FieldError::new(
                format!("{at}.name"),
                format!("policy {:?} is defined twice", policy.name),
            )
            .with_fix("give every policy its own name"));
        }
        policies.push(policy);
    }
    Ok(Remediation {
        dry_run: spec.dry_run,
        policies,
    })
}

/// [`validate`] with errors under `remediation.` as a config file shows them.
pub fn validate_section(
    spec: &RemediationSpec,
    allowlist: &[String],
) -> Result<Remediation, FieldError> {
    validate(spec, allowlist).map_err(|e| e.under("remediation"))
}

fn validate_policy(p: &PolicySpec, allowlist: &[String]) -> Result<Policy, FieldError> {
    if p.name.trim().is_empty() {
        return Err(FieldError::new("name", "is empty").with_fix("name the policy"));
    }
    let trigger = validate_trigger(&p.trigger).map_err(|e| e.under("trigger"))?;
    for (field, list) in [("target_labels", &p.target_labels), ("labels", &p.labels)] {
        for (i, l) in list.iter().enumerate() {
            if !is_valid_label_name(l) {
                return Err(FieldError::new(
                    format!("{field}[{i}]"),
                    format!("{l:?} is not a label name"),
                ));
            }
        }
    }
    let mut keys: Vec<&str> = BUILTIN_KEYS.to_vec();
    keys.extend(p.target_labels.iter().map(String::as_str));
    keys.extend(p.labels.iter().map(String::as_str));
    if p.actions.is_empty() {
        return Err(FieldError::new("actions", "is empty").with_fix("list at least one action"));
    }
    let mut actions = Vec::new();
    for (i, a) in p.actions.iter().enumerate() {
        actions.push(
            validate_action(a, &keys, allowlist).map_err(|e| e.under(&format!("actions[{i}]")))?,
        );
    }
    let guardrails = validate_guardrails(&p.guardrails).map_err(|e| e.under("guardrails"))?;
    Ok(Policy {
        name: p.name.clone(),
        trigger,
        target_labels: p.target_labels.clone(),
        actions,
        guardrails,
        dry_run: p.dry_run,
    })
}

fn validate_trigger(t: &TriggerSpec) -> Result<Trigger, FieldError> {
    match (&t.alert, &t.slo) {
        (Some(list), None) => {
            if list.is_empty() {
                return Err(FieldError::new("alert", "is empty")
                    .with_fix("write at least one matcher, e.g. 'alertname=\"CheckoutErrors\"'"));
            }
            let mut matchers = Vec::new();
            for (i, m) in list.iter().enumerate() {
                matchers.push(
                    Matcher::parse(m)
                        .map_err(|e| FieldError::new(format!("alert[{i}]"), e.to_string()))?,
                );
            }
            Ok(Trigger::Alert(matchers))
        }
        (None, Some(slo)) => {
            if slo.id.trim().is_empty() {
                return Err(FieldError::new("slo.id", "is empty").with_fix("name the SLO"));
            }
            if slo.tier != "page" && slo.tier != "ticket" {
                return Err(
                    FieldError::new("slo.tier", format!("{:?} is not a tier", slo.tier))
                        .with_fix("write page or ticket"),
                );
            }
            Ok(Trigger::Slo {
                id: slo.id.clone(),
                tier: slo.tier.clone(),
            })
        }
        _ => Err(FieldError::new("", "needs exactly one of alert and slo")),
    }
}

fn template(field: &str, src: &str, keys: &[&str]) -> Result<Template, FieldError> {
    Template::parse(src, keys).map_err(|e| {
        FieldError::new(field, e.to_string())
            .with_fix("name the label in target_labels or labels to use it")
    })
}

fn validate_action(
    a: &ActionSpec,
    keys: &[&str],
    allowlist: &[String],
) -> Result<Action, FieldError> {
    if a.name.trim().is_empty() {
        return Err(FieldError::new("name", "is empty").with_fix("name the action"));
    }
    let kind = match (&a.webhook, &a.command, &a.traffic) {
        (Some(w), None, None) => {
            if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                return Err(FieldError::new("webhook.url", "is not an http(s) URL")
                    .with_fix("write https://host/path"));
            }
            let body = match &w.body {
                Some(b) => Some(template("webhook.body", b, keys)?),
                None => None,
            };
            ActionKind::Webhook {
                url: w.url.clone(),
                body,
            }
        }
        (None, Some(argv), None) => {
            let Some(program) = argv.first() else {
                return Err(FieldError::new("command", "is empty")
                    .with_fix("write the program and its arguments"));
            };
            if !allowlist.iter().any(|p| p == program) {
                return Err(FieldError::new(
                    "command[0]",
                    format!("{program} is not on the process allow-list"),
                )
                .with_fix("add its absolute path to chaos.process_allowlist"));
            }
            let mut args = Vec::new();
            for (i, arg) in argv.iter().enumerate().skip(1) {
                args.push(template(&format!("command[{i}]"), arg, keys)?);
            }
            ActionKind::Command {
                program: program.clone(),
                args,
            }
        }
        (None, None, Some(t)) => validate_traffic(t, keys).map_err(|e| e.under("traffic"))?,
        _ => {
            return Err(FieldError::new(
                "",
                "needs exactly one of webhook, command and traffic",
            ));
        }
    };
    let verify_ms = duration_ms("verify", a.verify.as_deref().unwrap_or(DEFAULT_VERIFY))?;
    Ok(Action {
        name: a.name.clone(),
        kind,
        verify_ms,
        needs_approval: a.needs_approval,
        exempt_from_freeze: a.exempt_from_freeze,
    })
}

fn validate_traffic(t: &TrafficSpec, keys: &[&str]) -> Result<ActionKind, FieldError> {
    if t.route.trim().is_empty() {
        return Err(FieldError::new("route", "is empty").with_fix("name a route of the proxy"));
    }
    let change = match (&t.zones, &t.drain_endpoint) {
        (Some(zones), None) => {
            if zones.is_empty() {
                return Err(FieldError::new("zones", "is empty")
                    .with_fix("give at least one zone a weight, e.g. {\"{{.zone}}\": 0}"));
            }
            let mut out = Vec::new();
            for (zone, weight) in zones {
                if *weight > 100 {
                    return Err(FieldError::new(
                        format!("zones.{zone}"),
                        "a weight is at most 100",
                    ));
                }
                out.push((template(&format!("zones.{zone}"), zone, keys)?, *weight));
            }
            TrafficChange::Zones(out)
        }
        (None, Some(ep)) => TrafficChange::Drain(template("drain_endpoint", ep, keys)?),
        _ => {
            return Err(FieldError::new(
                "",
                "needs exactly one of zones and drain_endpoint",
            ));
        }
    };
    Ok(ActionKind::Traffic {
        route: t.route.clone(),
        change,
    })
}

fn validate_guardrails(g: &GuardrailsSpec) -> Result<Guardrails, FieldError> {
    let max_runs = match &g.max_runs {
        Some(m) => {
            if m.count == 0 {
                return Err(FieldError::new("max_runs.count", "must be at least 1")
                    .with_fix("drop max_runs to allow any number"));
            }
            Some(MaxRuns {
                count: m.count,
                window_ms: duration_ms("max_runs.window", &m.window)?,
            })
        }
        None => None,
    };
    let blast_radius_percent = match &g.blast_radius {
        Some(b) if b.max_percent == 0 || b.max_percent > 100 => {
            return Err(FieldError::new(
                "blast_radius.max_percent",
                "must be between 1 and 100",
            ));
        }
        Some(b) => Some(b.max_percent),
        None => None,
    };
    Ok(Guardrails {
        max_runs,
        cooldown_ms: zero_or_duration_ms(
            "cooldown",
            g.cooldown.as_deref().unwrap_or(DEFAULT_COOLDOWN),
        )?,
        blast_radius_percent,
        approval_timeout_ms: duration_ms(
            "approval_timeout",
            g.approval_timeout
                .as_deref()
                .unwrap_or(DEFAULT_APPROVAL_TIMEOUT),
        )?,
    })
}

fn zero_or_duration_ms(field: &str, v: &str) -> Result<i64, FieldError> {
    let d = parse_duration(v).map_err(|e| {
        FieldError::new(field, e.to_string()).with_fix("write a duration such as 10m")
    })?;
    i64::try_from(d.as_millis())
        .map_err(|_| FieldError::new(field, "is too long").with_fix("write at most a few days"))
}

/// A duration greater than zero, in ms.
fn duration_ms(field: &str, v: &str) -> Result<i64, FieldError> {
    match zero_or_duration_ms(field, v)? {
        0 => Err(FieldError::new(field, "must be greater than zero")),
        ms => Ok(ms),
    }
}
