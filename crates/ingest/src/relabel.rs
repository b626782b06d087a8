//! Relabelling with Prometheus semantics: source labels joined by the
//! separator, fully anchored regexes, `$1`/`${1}` expansion, and an empty
//! replacement result deleting the target label.

use homeostat_model::{Labels, is_valid_label_name};
use regex::Regex;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    Replace,
    Keep,
    Drop,
    Labelmap,
    Labeldrop,
    Labelkeep,
    Lowercase,
    Uppercase,
    Keepequal,
    Dropequal,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    #[serde(default)]
    pub source_labels: Vec<String>,
    pub separator: Option<String>,
    pub target_label: Option<String>,
    pub regex: Option<String>,
    pub replacement: Option<String>,
    pub action: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RelabelRule {
    source_labels: Vec<String>,
    separator: String,
    target_label: String,
    regex: Regex,
    replacement: String,
    action: Action,
}

impl RelabelRule {
    pub fn compile(c: &RelabelConfig) -> Result<RelabelRule, String> {
        let action = match c
            .action
            .as_deref()
            .unwrap_or("replace")
            .to_ascii_lowercase()
            .as_str()
        {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "labelmap" => Action::Labelmap,
            "labeldrop" => Action::Labeldrop,
            "labelkeep" => Action::Labelkeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            "keepequal" => Action::Keepequal,
            "dropequal" => Action::Dropequal,
            "hashmod" => return Err("action hashmod is not supported yet".into()),
            other => return Err(format!("unknown relabel action {other:?}")),
        };
        let re_src = c.regex.as_deref().unwrap_or("(.*)");
        let regex = Regex::new(&format!("^(?s:{re_src})$"))
            .map_err(|e| format!("invalid regex {re_src:?}: {e}"))?;
        let target_label = c.target_label.clone().unwrap_or_default();
        let needs_target = matches!(
            action,
            Action::Replace
                | Action::Lowercase
                | Action::Uppercase
                | Action::Keepequal
                | Action::Dropequal
        );
        if needs_target && target_label.is_empty() {
            return Err(format!("action {action:?} requires target_label"));
        }
        Ok(RelabelRule {
            source_labels: c.source_labels.clone(),
            separator: c.separator.clone().unwrap_or_else(|| ";".into()),
            target_label,
            regex,
            replacement: c.replacement.clone().unwrap_or_else(|| "$1".into()),
            action,
        })
    }
}

/// Applies the rules in order; `None` means the target or sample is dropped.
pub fn process(labels: &Labels, rules: &[RelabelRule]) -> Option<Labels> {
    let mut b = labels.builder();
    for r in rules {
        let val: Vec<&str> = r
            .source_labels
            .iter()
            .map(|n| b.get(n).unwrap_or(""))
            .collect();
        let val = val.join(&r.separator);
        match r.action {
            Action::Keep if !r.regex.is_match(&val) => return None,
            Action::Drop if r.regex.is_match(&val) => return None,
            Action::Keep | Action::Drop => {}
            Action::Keepequal if b.get(&r.target_label).unwrap_or("") != val => return None,
            Action::Dropequal if b.get(&r.target_label).unwrap_or("") == val => return None,
            Action::Keepequal | Action::Dropequal => {}
            Action::Replace => {
                if let Some(caps) = r.regex.captures(&val) {
                    let mut target = String::new();
                    caps.expand(&r.target_label, &mut target);
                    let mut value = String::new();
                    caps.expand(&r.replacement, &mut value);
                    if is_valid_label_name(&target) {
                        b.set(&target, &value);
                    }
                }
            }
            Action::Lowercase => {
                b.set(&r.target_label, &val.to_lowercase());
            }
            Action::Uppercase => {
                b.set(&r.target_label, &val.to_uppercase());
            }
            Action::Labelmap => {
                let current = b.build().ok()?;
                for l in current.iter() {
                    if let Some(caps) = r.regex.captures(&l.name) {
                        let mut name = String::new();
                        caps.expand(&r.replacement, &mut name);
                        if is_valid_label_name(&name) {
                            b.set(&name, &l.value);
                        }
                    }
                }
            }
            Action::Labeldrop | Action::Labelkeep => {
                let current = b.build().ok()?;
                for l in current.iter() {
                    let m = r.regex.is_match(&l.name);
                    if (r.action == Action::Labeldrop) == m {
                        b.del(&l.name);
                    }
                }
            }
        }
    }
    b.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> RelabelRule {
        RelabelRule::compile(&serde_norway::from_str(yaml).unwrap()).unwrap()
    }

    fn l(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p)
    }

    #[test]
    fn table() {
        let base = l(&[
            ("__address__", "host:9100"),
            ("job", "node"),
            ("__meta_env", "prod"),
        ]);
        let cases: Vec<(&str, Option<Labels>)> = vec![
            (
                "{source_labels: [__address__], regex: '(.*):\\d+', target_label: host, replacement: '$1'}",
                Some(l(&[
                    ("__address__", "host:9100"),
                    ("job", "node"),
                    ("__meta_env", "prod"),
                    ("host", "host"),
                ])),
            ),
            (
                "{source_labels: [job], regex: node, action: keep}",
                Some(base.clone()),
            ),
            ("{source_labels: [job], regex: nod, action: keep}", None),
            ("{source_labels: [job], regex: 'n.*', action: drop}", None),
            (
                "{regex: '__meta_(.*)', action: labelmap}",
                Some(l(&[
                    ("__address__", "host:9100"),
                    ("job", "node"),
                    ("__meta_env", "prod"),
                    ("env", "prod"),
                ])),
            ),
            (
                "{regex: '__meta_.*', action: labeldrop}",
                Some(l(&[("__address__", "host:9100"), ("job", "node")])),
            ),
            (
                "{regex: 'job', action: labelkeep}",
                Some(l(&[("job", "node")])),
            ),
            (
                "{source_labels: [nope], target_label: job, replacement: ''}",
                Some(l(&[("__address__", "host:9100"), ("__meta_env", "prod")])),
            ),
            (
                "{source_labels: [job], target_label: job, action: uppercase}",
                Some(l(&[
                    ("__address__", "host:9100"),
                    ("job", "NODE"),
                    ("__meta_env", "prod"),
                ])),
            ),
            (
                "{source_labels: [job], target_label: job, action: keepequal}",
                Some(base.clone()),
            ),
            (
                "{source_labels: [job], target_label: __meta_env, action: keepequal}",
                None,
            ),
            (
                "{source_labels: [job, __meta_env], separator: '-', target_label: x, regex: '(.*)-(.*)', replacement: '${2}_$1'}",
                Some(l(&[
                    ("__address__", "host:9100"),
                    ("job", "node"),
                    ("__meta_env", "prod"),
                    ("x", "prod_node"),
                ])),
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(process(&base, &[rule(yaml)]), want, "{yaml}");
        }
    }
}
