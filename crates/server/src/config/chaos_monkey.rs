//! `chaos.target_groups` and `chaos.monkey`: who may be acted on (with a
//! Chaos Mesh selector) and the Chaos Monkey schedule of the opted-in
//! groups (docs/chaos.md, "Chaos Monkey").

use std::collections::BTreeSet;

use homeostat_app::{Members, MonkeyGroup, TargetGroup, TerminationAction};
use homeostat_chaos::SelectorMode;
use homeostat_chaos::monkey::{BusinessHours, MonkeySchedule};
use homeostat_model::FieldError;
use homeostat_model::template::Template;
use serde::Deserialize;

/// `chaos.target_groups[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroupSpec {
    pub name: String,
    pub service: String,
    /// Members listed by name…
    #[serde(default)]
    pub targets: Vec<String>,
    /// …or the values of `label` in an instant query's answer.
    pub query: Option<String>,
    pub label: Option<String>,
    /// `one | all | fixed | fixed-percent | random-max-percent`; default `one`.
    pub mode: Option<String>,
    /// The count or percentage `fixed*` and `random-max-percent` need.
    pub value: Option<serde_norway::Value>,
}

/// `chaos.monkey[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonkeySpec {
    pub group: String,
    pub business_hours: BusinessHoursSpec,
    pub mean_workdays_between_terminations: f64,
    #[serde(default = "one")]
    pub min_workdays_between_terminations: u32,
    pub action: TerminationSpec,
    #[serde(default)]
    pub dry_run: bool,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursSpec {
    #[serde(default = "weekdays")]
    pub days: Vec<String>,
    #[serde(default = "nine")]
    pub start: String,
    #[serde(default = "five")]
    pub end: String,
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn weekdays() -> Vec<String> {
    vec!["mon-fri".into()]
}
fn nine() -> String {
    "09:00".into()
}
fn five() -> String {
    "17:00".into()
}
fn utc() -> String {
    "UTC".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminationSpec {
    /// argv; the program must be on `chaos.process_allowlist`.
    pub command: Option<Vec<String>>,
    pub webhook: Option<TerminationWebhook>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminationWebhook {
    pub url: Option<String>,
    /// A file holding the URL, for URLs with a token in them.
    pub url_file: Option<String>,
    pub body: Option<String>,
}

/// The placeholders a termination command or body may use.
pub const TERMINATION_KEYS: &[&str] = &["group", "service", "target"];

fn value_text(v: &serde_norway::Value) -> String {
    match v {
        serde_norway::Value::String(s) => s.clone(),
        serde_norway::Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Validates the groups, then the schedules that name them.
pub fn validate(
    groups: &[TargetGroupSpec],
    monkey: &[MonkeySpec],
    allowlist: &[String],
    base: &std::path::Path,
) -> Result<Vec<MonkeyGroup>, FieldError> {
    let mut valid: Vec<TargetGroup> = Vec::new();
    let mut names = BTreeSet::new();
    for (i, g) in groups.iter().enumerate() {
        let at = |f: &str| format!("chaos.target_groups[{i}].{f}");
        if g.name.trim().is_empty() {
            return Err(FieldError::new(at("name"), "missing group name"));
        }
        if !names.insert(g.name.clone()) {
            return Err(FieldError::new(
                at("name"),
                format!("group {:?} is defined twice", g.name),
            ));
        }
        if g.service.trim().is_empty() {
            return Err(FieldError::new(at("service"), "missing service name")
                .with_fix("name the service whose incidents and freezes pause this group"));
        }
        let members = match (&g.query, g.targets.is_empty()) {
            (Some(q), true) => {
                homeostat_promql::parse(q)
                    .map_err(|e| FieldError::new(at("query"), e.to_string()))?;
                let label = g
                    .label
                    .clone()
                    .filter(|l| !l.trim().is_empty())
                    .ok_or_else(|| {
                        FieldError::new(
                            at("label"),
                            "a query-defined group needs the label that names its members",
                        )
                        .with_fix("e.g. label: instance")
                    })?;
                Members::Query {
                    query: q.clone(),
                    label,
                }
            }
            (None, false) => {
                if let Some(t) = g.targets.iter().position(|t| t.trim().is_empty()) {
                    return Err(FieldError::new(
                        at(&format!("targets[{t}]")),
                        "empty target name",
                    ));
                }
                Members::Static(g.targets.clone())
            }
            _ => {
                return Err(FieldError::new(
                    at("targets"),
                    "give exactly one of `targets` or `query`",
                ));
            }
        };
        let mode = SelectorMode::parse(
            g.mode.as_deref().unwrap_or("one"),
            g.value.as_ref().map(value_text).as_deref(),
        )
        .map_err(|e| FieldError::new(at("mode"), e.to_string()))?;
        valid.push(TargetGroup {
            name: g.name.clone(),
            service: g.service.clone(),
            members,
            mode,
        });
    }
    let mut out = Vec::new();
    let mut scheduled = BTreeSet::new();
    for (i, m) in monkey.iter().enumerate() {
        let at = |f: &str| format!("chaos.monkey[{i}].{f}");
        let Some(group) = valid.iter().find(|g| g.name == m.group) else {
            return Err(FieldError::new(
                at("group"),
                format!("unknown target group {:?}", m.group),
            )
            .with_fix("name a group under chaos.target_groups"));
        };
        if !scheduled.insert(m.group.clone()) {
            return Err(FieldError::new(
                at("group"),
                format!("group {:?} has two schedules", m.group),
            ));
        }
        let h = &m.business_hours;
        let hours = BusinessHours::parse(&h.days, &h.start, &h.end, &h.time_zone)
            .map_err(|e| FieldError::new(at("business_hours"), e.to_string()))?;
        // A seed per group name keeps each group's day plan stable across
        // restarts without making every group pick the same days.
        let schedule = MonkeySchedule::new(
            m.group.clone(),
            hours,
            m.mean_workdays_between_terminations,
            m.min_workdays_between_terminations,
            0x6d6f_6e6b_6579,
        )
        .map_err(|e| FieldError::new(at("mean_workdays_between_terminations"), e.to_string()))?;
        let action = match (&m.action.command, &m.action.webhook) {
            (Some(argv), None) => {
                let Some(program) = argv.first().filter(|p| !p.trim().is_empty()) else {
                    return Err(FieldError::new(at("action.command"), "empty command"));
                };
                if !allowlist.iter().any(|a| a == program) {
                    return Err(FieldError::new(
                        at("action.command"),
                        format!("{program:?} is not on chaos.process_allowlist"),
                    )
                    .with_fix("add its absolute path to chaos.process_allowlist"));
                }
                for (j, a) in argv.iter().enumerate() {
                    Template::parse(a, TERMINATION_KEYS).map_err(|e| {
                        FieldError::new(at(&format!("action.command[{j}]")), e.to_string())
                    })?;
                }
                TerminationAction::Command(argv.clone())
            }
            (None, Some(w)) => {
                let url = match (&w.url, &w.url_file) {
                    (Some(u), None) => u.clone(),
                    (None, Some(f)) => {
                        let path = base.join(f);
                        std::fs::read_to_string(&path)
                            .map_err(|e| {
                                FieldError::new(
                                    at("action.webhook.url_file"),
                                    format!("cannot read {}: {e}", path.display()),
                                )
                            })?
                            .trim()
                            .to_string()
                    }
                    _ => {
                        return Err(FieldError::new(
                            at("action.webhook.url"),
                            "give exactly one of `url` or `url_file`",
                        ));
                    }
                };
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    // Never echo the URL: its path may be a token.
                    return Err(FieldError::new(
                        at("action.webhook.url"),
                        "not an http(s) URL",
                    ));
                }
                if let Some(b) = &w.body {
                    Template::parse(b, TERMINATION_KEYS)
                        .map_err(|e| FieldError::new(at("action.webhook.body"), e.to_string()))?;
                }
                TerminationAction::Webhook {
                    url,
                    body: w.body.clone(),
                }
            }
            _ => {
                return Err(FieldError::new(
                    at("action"),
                    "give exactly one of `command` or `webhook`",
                ));
            }
        };
        out.push(MonkeyGroup {
            schedule,
            group: group.clone(),
            action,
            dry_run: m.dry_run,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(groups: &str, monkey: &str) -> Result<Vec<MonkeyGroup>, FieldError> {
        let g: Vec<TargetGroupSpec> = serde_norway::from_str(groups).unwrap();
        let m: Vec<MonkeySpec> = serde_norway::from_str(monkey).unwrap();
        validate(
            &g,
            &m,
            &["/usr/local/bin/kill-pod".to_string()],
            std::path::Path::new("."),
        )
    }

    const GROUPS: &str =
        "[{name: pods, service: checkout, targets: [a, b, c], mode: fixed-percent, value: 50}]";

    #[test]
    fn a_valid_schedule() {
        let m = parse(
            GROUPS,
            "[{group: pods, business_hours: {time_zone: Europe/Berlin}, mean_workdays_between_terminations: 3, action: {command: [/usr/local/bin/kill-pod, '{{.target}}']}}]",
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].group.mode, SelectorMode::FixedPercent(50));
        assert_eq!(m[0].schedule.min_workdays(), 1);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(GROUPS, "[{group: nope, business_hours: {}, mean_workdays_between_terminations: 3, action: {command: [/bin/true]}}]")
            .unwrap_err();
        assert_eq!(e.field, "chaos.monkey[0].group");
        let e = parse(GROUPS, "[{group: pods, business_hours: {}, mean_workdays_between_terminations: 3, action: {command: [/bin/rm, x]}}]")
            .unwrap_err();
        assert!(e.problem.contains("process_allowlist"), "{e}");
        let e = parse(GROUPS, "[{group: pods, business_hours: {}, mean_workdays_between_terminations: 3, action: {command: [/usr/local/bin/kill-pod, '{{.pod}}']}}]")
            .unwrap_err();
        assert_eq!(e.field, "chaos.monkey[0].action.command[1]");
        let e = parse(GROUPS, "[{group: pods, business_hours: {time_zone: Mars/Base}, mean_workdays_between_terminations: 3, action: {command: [/usr/local/bin/kill-pod]}}]")
            .unwrap_err();
        assert!(e.problem.contains("time zone"), "{e}");
        let e = parse(
            "[{name: pods, service: checkout, targets: [a], mode: fixed}]",
            "[]",
        )
        .unwrap_err();
        assert_eq!(e.field, "chaos.target_groups[0].mode");
        let e = parse(GROUPS, "[{group: pods, business_hours: {}, mean_workdays_between_terminations: 3, action: {webhook: {url: 'ftp://h/secret-token'}}}]")
            .unwrap_err();
        assert!(!e.to_string().contains("secret-token"), "{e}");
    }
}
