//! The `oncall:` and `incidents:` sections of `homeostat.yaml`: who is on
//! call (the on-call crate's own format, docs/oncall.md) and which alert
//! groups open incidents and page whom (docs/incidents.md).

use std::collections::BTreeMap;
use std::time::Duration;

use homeostat_alerting::Matchers;
use homeostat_model::{FieldError, parse_duration};
use homeostat_oncall::Oncall;
use serde::Deserialize;

/// `incidents:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsSection {
    /// Alert groups with a firing alert matching any of these matcher sets
    /// (`'severity="page"'`, `'{team="db", severity=~"page|critical"}'`)
    /// open an incident. Default: `severity="page"` or
    /// `sloth_severity="page"`.
    pub open_for: Option<Vec<String>>,
    /// Which escalation policy pages for an incident: the first entry whose
    /// matchers all hold for the paging alert's labels.
    #[serde(default)]
    pub escalation: Vec<EscalationRouteSection>,
    /// The policy used when no `escalation` entry matches; without it such
    /// incidents are opened but nobody is paged by homeostat.
    pub default_escalation_policy: Option<String>,
    /// A group that fires again within this long after its incident was
    /// resolved reopens it. Default 1h; 0s disables reopening.
    pub reopen_window: Option<String>,
    /// Base of the acknowledge/resolve links in pages and notifications.
    /// Default: `external_url`, else `http://<listen>`.
    pub link_base_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRouteSection {
    /// Matchers that must all hold (`['team="payments"']`).
    #[serde(default)]
    pub matchers: Vec<String>,
    pub escalation_policy: String,
}

/// Validated `incidents:` settings.
#[derive(Debug, Clone)]
pub struct IncidentsConfig {
    /// Any set matching a firing alert makes its group page.
    pub open_for: Vec<Matchers>,
    pub escalation: Vec<EscalationRoute>,
    pub default_escalation_policy: Option<String>,
    pub reopen_window: Duration,
    /// Without a trailing slash; `None` means "the server's own URL".
    pub link_base_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EscalationRoute {
    pub matchers: Matchers,
    pub escalation_policy: String,
}

/// What the hub runs with; replaced as a whole at a reload.
#[derive(Debug, Clone, Default)]
pub struct IncidentsRuntime {
    pub oncall: Oncall,
    pub incidents: IncidentsConfig,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            open_for: default_open_for(),
            escalation: Vec::new(),
            default_escalation_policy: None,
            reopen_window: Duration::from_secs(3600),
            link_base_url: None,
        }
    }
}

fn default_open_for() -> Vec<Matchers> {
    ["severity=\"page\"", "sloth_severity=\"page\""]
        .iter()
        .filter_map(|m| Matchers::parse(m).ok())
        .collect()
}

/// Whether every matcher holds for `labels`; a missing label matches as
/// the empty string, as in Alertmanager.
pub fn matches(m: &Matchers, labels: &BTreeMap<String, String>) -> bool {
    m.iter()
        .all(|x| x.matches_value(labels.get(x.name()).map_or("", String::as_str)))
}

impl IncidentsConfig {
    /// Whether an alert with these labels opens (or joins) an incident.
    pub fn pages(&self, labels: &BTreeMap<String, String>) -> bool {
        self.open_for.iter().any(|m| matches(m, labels))
    }

    /// The escalation policy for a paging alert with these labels.
    pub fn policy_for(&self, labels: &BTreeMap<String, String>) -> Option<&str> {
        self.escalation
            .iter()
            .find(|r| matches(&r.matchers, labels))
            .map(|r| r.escalation_policy.as_str())
            .or(self.default_escalation_policy.as_deref())
    }
}

/// Reads `oncall:` with the on-call crate's validation (its messages
/// already name `oncall.<field>` and the fix).
pub fn oncall(value: Option<serde_norway::Value>) -> Result<Oncall, String> {
    match value {
        None | Some(serde_norway::Value::Null) => Ok(Oncall::default()),
        Some(v) => Oncall::from_yaml_value(v).map_err(|e| e.to_string()),
    }
}

/// Validates `incidents:` against the on-call config it pages through.
pub fn incidents(s: &IncidentsSection, oncall: &Oncall) -> Result<IncidentsConfig, FieldError> {
    let parse = |field: String, text: &str| {
        let m = Matchers::parse(text).map_err(|e| FieldError::new(field.clone(), e.to_string()))?;
        if m.is_empty() {
            return Err(
                FieldError::new(field, "empty matcher").with_fix("write it like severity=\"page\"")
            );
        }
        Ok(m)
    };
    let open_for = match &s.open_for {
        None => default_open_for(),
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, t)| parse(format!("incidents.open_for[{i}]"), t))
            .collect::<Result<_, _>>()?,
    };
    let known = |field: String, id: &str| -> Result<String, FieldError> {
        if oncall.escalation_policy(id).is_some() {
            return Ok(id.to_string());
        }
        let have: Vec<&str> = oncall
            .escalation_policies
            .keys()
            .map(String::as_str)
            .collect();
        Err(
            FieldError::new(field, format!("unknown escalation policy {id:?}")).with_fix(format!(
                "define it under oncall.escalation_policies (defined: {})",
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            )),
        )
    };
    let mut escalation = Vec::new();
    for (i, r) in s.escalation.iter().enumerate() {
        let field = format!("incidents.escalation[{i}]");
        let mut matchers = Matchers::default();
        for (j, t) in r.matchers.iter().enumerate() {
            matchers.extend(parse(format!("{field}.matchers[{j}]"), t)?);
        }
        escalation.push(EscalationRoute {
            matchers,
            escalation_policy: known(format!("{field}.escalation_policy"), &r.escalation_policy)?,
        });
    }
    let default_escalation_policy = match &s.default_escalation_policy {
        Some(id) => Some(known("incidents.default_escalation_policy".into(), id)?),
        None => None,
    };
    let reopen_window = match &s.reopen_window {
        None => Duration::from_secs(3600),
        Some(t) => parse_duration(t)
            .map_err(|e| FieldError::new("incidents.reopen_window", e.to_string()))?,
    };
    let link_base_url = match &s.link_base_url {
        None => None,
        Some(u) => {
            let u = u.trim_end_matches('/');
            if !super::http_url(u) {
                return Err(FieldError::new(
                    "incidents.link_base_url",
                    format!("{u:?} is not an http(s) URL like https://homeostat.example.com"),
                ));
            }
            Some(u.to_string())
        }
    };
    Ok(IncidentsConfig {
        open_for,
        escalation,
        default_escalation_policy,
        reopen_window,
        link_base_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, FileConfig};

    fn parse(yaml: &str) -> Result<Config, String> {
        let f: FileConfig = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        Config::validate(f, "t").map_err(|e| e.to_string())
    }

    const ONCALL: &str = "oncall:\n  users: [{id: alice, webhook_url: 'http://127.0.0.1:1/a'}, {id: bob}]\n  escalation_policies:\n    - {id: ops, levels: [{delay: 3s, targets: [{user: alice}]}, {delay: 1m, targets: [{user: bob}]}]}\n    - {id: db, levels: [{delay: 1m, targets: [{user: bob}]}]}\n";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_page_on_severity_page() {
        let c = parse("{}").unwrap();
        let i = &c.incidents.incidents;
        assert!(i.pages(&labels(&[("severity", "page")])));
        assert!(i.pages(&labels(&[("sloth_severity", "page")])));
        assert!(!i.pages(&labels(&[("severity", "ticket")])));
        assert_eq!(i.policy_for(&labels(&[("severity", "page")])), None);
        assert_eq!(i.reopen_window, Duration::from_secs(3600));
    }

    #[test]
    fn escalation_routes_first_match_wins_then_the_default() {
        let c = parse(&format!(
            "{ONCALL}incidents:\n  open_for: ['{{severity=~\"page|critical\"}}']\n  escalation:\n    - {{matchers: ['team=\"db\"', 'env!=\"dev\"'], escalation_policy: db}}\n    - {{matchers: ['team=~\"d.*\"'], escalation_policy: ops}}\n  default_escalation_policy: ops\n  reopen_window: 10m\n  link_base_url: 'https://h.example.com/'\n"
        ))
        .unwrap();
        let i = &c.incidents.incidents;
        assert!(i.pages(&labels(&[("severity", "critical")])));
        assert_eq!(i.policy_for(&labels(&[("team", "db")])), Some("db"));
        assert_eq!(
            i.policy_for(&labels(&[("team", "db"), ("env", "dev")])),
            Some("ops")
        );
        assert_eq!(i.policy_for(&labels(&[])), Some("ops"));
        assert_eq!(i.link_base_url.as_deref(), Some("https://h.example.com"));
        assert!(c.incidents.oncall.escalation_policy("db").is_some());
    }

    #[test]
    fn errors_name_the_field() {
        for (yaml, want) in [
            (
                format!("{ONCALL}incidents: {{default_escalation_policy: nope}}"),
                "incidents.default_escalation_policy",
            ),
            (
                format!(
                    "{ONCALL}incidents: {{escalation: [{{matchers: ['a=\"b\"'], escalation_policy: nope}}]}}"
                ),
                "incidents.escalation[0].escalation_policy",
            ),
            (
                format!(
                    "{ONCALL}incidents: {{escalation: [{{matchers: ['a=~\"(\"'], escalation_policy: ops}}]}}"
                ),
                "incidents.escalation[0].matchers[0]",
            ),
            (
                "incidents: {open_for: ['severity']}".to_string(),
                "incidents.open_for[0]",
            ),
            (
                "incidents: {reopen_window: soon}".to_string(),
                "incidents.reopen_window",
            ),
            (
                "incidents: {link_base_url: 'h:1'}".to_string(),
                "incidents.link_base_url",
            ),
            ("incidents: {open_fro: []}".to_string(), "open_fro"),
            (
                "oncall: {users: [{id: a}], escalation_policies: [{id: p, levels: [{delay: 1m, targets: [{user: zed}]}]}]}".to_string(),
                "unknown user",
            ),
            (
                "oncall: {users: [{id: a, pager: x}]}".to_string(),
                "pager",
            ),
        ] {
            let e = parse(&yaml).unwrap_err();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}
