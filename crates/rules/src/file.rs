//! Prometheus rule files: the serde types (unknown fields refused) and their
//! validation into [`GroupSpec`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use homeostat_model::{is_valid_label_name, is_valid_metric_name, parse_duration};
use serde::Deserialize;

use crate::RuleError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    groups: Vec<GroupDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDoc {
    #[serde(default)]
    name: String,
    interval: Option<String>,
    #[serde(default)]
    limit: usize,
    query_offset: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    rules: Vec<RuleDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    record: Option<String>,
    alert: Option<String>,
    #[serde(default)]
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A validated rule group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    /// The file it came from (shown by `/api/v1/rules`).
    pub file: String,
    /// `None`: the manager's default evaluation interval.
    pub interval: Option<Duration>,
    /// Most series (recording) or alerts (alerting) a rule may produce; 0 = no limit.
    pub limit: usize,
    /// Evaluate this far in the past, for data that arrives late.
    pub query_offset: Duration,
    /// Labels added to every rule of the group (rule labels win).
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Recording,
    Alerting,
}

/// A validated rule: `name` is the `record` or the `alert`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub kind: RuleKind,
    pub name: String,
    pub expr: String,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Reads and validates one rule file.
pub fn load_file(path: &Path) -> Result<Vec<GroupSpec>, RuleError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RuleError::Read {
        file: file.clone(),
        source,
    })?;
    parse_rule_file(&file, &text)
}

/// Reads and validates every rule file matching the glob patterns.
pub fn load_globs(patterns: &[String]) -> Result<Vec<GroupSpec>, RuleError> {
    let mut out = Vec::new();
    for f in expand_globs(patterns)? {
        out.extend(load_file(&f)?);
    }
    Ok(out)
}

/// The files matching each pattern, sorted per pattern, in pattern order.
pub fn expand_globs(patterns: &[String]) -> Result<Vec<std::path::PathBuf>, RuleError> {
    let mut out = Vec::new();
    for pattern in patterns {
        let paths = glob::glob(pattern).map_err(|e| RuleError::Pattern {
            pattern: pattern.clone(),
            detail: e.to_string(),
        })?;
        let mut files = Vec::new();
        for p in paths {
            let p = p.map_err(|e| RuleError::Pattern {
                pattern: pattern.clone(),
                detail: e.to_string(),
            })?;
            files.push(p);
        }
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

/// Parses and validates a rule file's text; `file` names it in errors.
pub fn parse_rule_file(file: &str, text: &str) -> Result<Vec<GroupSpec>, RuleError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let doc: FileDoc = serde_norway::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        detail: e.to_string(),
    })?;
    let mut seen = BTreeSet::new();
    let mut groups = Vec::with_capacity(doc.groups.len());
    for (gi, g) in doc.groups.into_iter().enumerate() {
        let gloc = format!("group {:?}: ", g.name);
        let invalid = |loc: &str, field: &str, detail: String| RuleError::Invalid {
            file: file.to_string(),
            location: loc.to_string(),
            field: field.to_string(),
            detail,
        };
        if g.name.is_empty() {
            return Err(invalid(
                &format!("group {}: ", gi + 1),
                "name",
                "group name must not be empty".into(),
            ));
        }
        if !seen.insert(g.name.clone()) {
            return Err(invalid(
                &gloc,
                "name",
                "repeated group name; group names must be unique within a file".into(),
            ));
        }
        let dur = |loc: &str, field: &str, v: &Option<String>| -> Result<Duration, RuleError> {
            match v {
                None => Ok(Duration::ZERO),
                Some(s) => parse_duration(s).map_err(|e| invalid(loc, field, e.to_string())),
            }
        };
        let interval = match &g.interval {
            None => None,
            Some(_) => {
                let d = dur(&gloc, "interval", &g.interval)?;
                if d.is_zero() {
                    return Err(invalid(
                        &gloc,
                        "interval",
                        "must be greater than zero".into(),
                    ));
                }
                Some(d)
            }
        };
        let query_offset = dur(&gloc, "query_offset", &g.query_offset)?;
        check_labels(&g.labels).map_err(|(f, d)| invalid(&gloc, &format!("labels.{f}"), d))?;
        if g.rules.is_empty() {
            // Prometheus accepts empty groups; they evaluate nothing.
        }
        let mut rules = Vec::with_capacity(g.rules.len());
        for (ri, r) in g.rules.into_iter().enumerate() {
            let what = match (&r.record, &r.alert) {
                (Some(n), _) => format!("record {n:?}"),
                (_, Some(n)) => format!("alert {n:?}"),
                _ => "no name".to_string(),
            };
            let loc = format!("{gloc}rule {} ({what}): ", ri + 1);
            let (kind, name) = match (r.record, r.alert) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        &loc,
                        "record",
                        "only one of 'record' and 'alert' must be set".into(),
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        &loc,
                        "record",
                        "one of 'record' or 'alert' must be set".into(),
                    ));
                }
                (Some(n), None) => {
                    if !is_valid_metric_name(&n) {
                        return Err(invalid(
                            &loc,
                            "record",
                            format!(
                                "invalid recording rule name: {n:?} is not a valid metric name"
                            ),
                        ));
                    }
                    (RuleKind::Recording, n)
                }
                (None, Some(n)) => {
                    if n.is_empty() {
                        return Err(invalid(
                            &loc,
                            "alert",
                            "alert name must not be empty".into(),
                        ));
                    }
                    (RuleKind::Alerting, n)
                }
            };
            if r.expr.trim().is_empty() {
                return Err(invalid(
                    &loc,
                    "expr",
                    "field 'expr' must be set in rule".into(),
                ));
            }
            if let Err(e) = homeostat_promql::Engine::parse(&r.expr) {
                return Err(invalid(&loc, "expr", e.to_string()));
            }
            if kind == RuleKind::Recording {
                for (field, set) in [
                    ("annotations", !r.annotations.is_empty()),
                    ("for", r.for_.is_some()),
                    ("keep_firing_for", r.keep_firing_for.is_some()),
                ] {
                    if set {
                        return Err(invalid(
                            &loc,
                            field,
                            format!("invalid field '{field}' in recording rule"),
                        ));
                    }
                }
            }
            check_labels(&r.labels).map_err(|(f, d)| invalid(&loc, &format!("labels.{f}"), d))?;
            if kind == RuleKind::Alerting {
                for k in r.annotations.keys() {
                    if !is_valid_label_name(k) {
                        return Err(invalid(
                            &loc,
                            &format!("annotations.{k}"),
                            format!("invalid annotation name: {k:?}"),
                        ));
                    }
                }
            }
            let for_ = dur(&loc, "for", &r.for_)?;
            let keep_firing_for = dur(&loc, "keep_firing_for", &r.keep_firing_for)?;
            rules.push(RuleSpec {
                kind,
                name,
                expr: r.expr,
                for_,
                keep_firing_for,
                labels: r.labels,
                annotations: r.annotations,
            });
        }
        groups.push(GroupSpec {
            name: g.name,
            file: file.to_string(),
            interval,
            limit: g.limit,
            query_offset,
            labels: g.labels,
            rules,
        });
    }
    Ok(groups)
}

fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), (String, String)> {
    for k in labels.keys() {
        if !is_valid_label_name(k) || k == homeostat_model::METRIC_NAME {
            return Err((k.clone(), format!("invalid label name: {k:?}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse_rule_file("r.yml", text) {
            Ok(g) => panic!("expected an error, got {g:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_groups_and_rules() {
        let g = parse_rule_file(
            "r.yml",
            "groups:\n- name: a\n  interval: 30s\n  limit: 5\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n    labels: {x: y}\n  - alert: Down\n    expr: up == 0\n    for: 5m\n    keep_firing_for: 1m\n    annotations: {summary: '{{ $labels.job }} down'}\n",
        )
        .expect("valid");
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].interval, Some(Duration::from_secs(30)));
        assert_eq!(g[0].limit, 5);
        assert_eq!(g[0].rules[0].kind, RuleKind::Recording);
        assert_eq!(g[0].rules[1].for_, Duration::from_secs(300));
        assert_eq!(g[0].rules[1].keep_firing_for, Duration::from_secs(60));
    }

    #[test]
    fn errors_name_file_group_rule_and_field() {
        let e = err("groups:\n- name: a\n  rules:\n  - record: x\n    expr: sum(\n");
        assert!(
            e.starts_with("rule file r.yml: group \"a\": rule 1 (record \"x\"): field `expr`: "),
            "{e}"
        );
        // Bad PromQL reads as Prometheus's parser words it, after the path.
        let e =
            err("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: sum by (job) rate(x[5m])\n");
        assert_eq!(
            e,
            "rule file r.yml: group \"a\": rule 1 (alert \"A\"): field `expr`: 1:14: parse error: unexpected identifier \"rate\" in aggregation"
        );
        // A rule nested past the evaluator's limit fails the load, it does
        // not overflow the stack when the group first runs.
        let deep = format!("{}up{}", "(".repeat(5_000), ")".repeat(5_000));
        let e = err(&format!(
            "groups:\n- name: a\n  rules:\n  - record: x\n    expr: '{deep}'\n"
        ));
        assert!(
            e.contains("field `expr`: 1:256: parse error: expression nested too deeply"),
            "{}",
            &e[..e.len().min(300)]
        );
        let e = err("groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n");
        assert!(
            e.contains("group \"a\": field `name`: repeated group name"),
            "{e}"
        );
        let e = err("groups:\n- name: a\n  rules:\n  - record: 'not a-metric'\n    expr: up\n");
        assert!(
            e.contains("field `record`: invalid recording rule name"),
            "{e}"
        );
        let e = err("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    fore: 5m\n");
        assert!(e.contains("unknown field `fore`"), "{e}");
        let e = err("groups:\n- name: a\n  rules:\n  - record: a\n    expr: up\n    for: 5m\n");
        assert!(
            e.contains("field `for`: invalid field 'for' in recording rule"),
            "{e}"
        );
        let e = err("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    for: 5x\n");
        assert!(e.contains("field `for`"), "{e}");
    }
}
