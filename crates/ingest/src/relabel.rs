//! Relabelling with Prometheus semantics: source labels joined by the
//! separator, fully anchored regexes, `$1`/`${1}` expansion, and an empty
//! replacement result deleting the target label. The same rules serve
//! `relabel_configs` (targets) and `metric_relabel_configs` (samples).

use homeostat_model::{Label, Labels, is_valid_label_name};
use md5::{Digest, Md5};
use regex::Regex;
use serde::Deserialize;

/// One entry of `relabel_configs` / `metric_relabel_configs` as written in
/// YAML; [`RelabelRule::compile`] validates it.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    #[serde(default)]
    pub source_labels: Vec<String>,
    pub separator: Option<String>,
    pub target_label: Option<String>,
    pub regex: Option<String>,
    pub modulus: Option<u64>,
    pub replacement: Option<String>,
    pub action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replace,
    Keep,
    Drop,
    Labelmap,
    Labeldrop,
    Labelkeep,
    Hashmod,
    Lowercase,
    Uppercase,
    Keepequal,
    Dropequal,
}

impl Action {
    /// Action names are case-insensitive, as in Prometheus.
    fn parse(s: &str) -> Option<Action> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "labelmap" => Action::Labelmap,
            "labeldrop" => Action::Labeldrop,
            "labelkeep" => Action::Labelkeep,
            "hashmod" => Action::Hashmod,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            "keepequal" => Action::Keepequal,
            "dropequal" => Action::Dropequal,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::Labelmap => "labelmap",
            Action::Labeldrop => "labeldrop",
            Action::Labelkeep => "labelkeep",
            Action::Hashmod => "hashmod",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
            Action::Keepequal => "keepequal",
            Action::Dropequal => "dropequal",
        }
    }
}

/// Why a relabel config is invalid; the config layer adds job and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RelabelError(String);

const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";
const DEFAULT_SEPARATOR: &str = ";";

/// A validated relabel rule, ready to apply.
#[derive(Debug, Clone)]
pub struct RelabelRule {
    source_labels: Vec<String>,
    separator: String,
    target_label: String,
    regex: Regex,
    modulus: u64,
    replacement: String,
    action: Action,
}

impl RelabelRule {
    /// Validates like Prometheus does when it loads a config, so a file
    /// accepted there is accepted here and vice versa.
    pub fn compile(c: &RelabelConfig) -> Result<RelabelRule, RelabelError> {
        let fail = |msg: String| Err(RelabelError(msg));
        let action = match c.action.as_deref() {
            None => Action::Replace,
            Some("") => return fail("relabel action cannot be empty".into()),
            Some(a) => match Action::parse(a) {
                Some(a) => a,
                None => return fail(format!("unknown relabel action {a:?}")),
            },
        };
        let name = action.as_str();
        for s in &c.source_labels {
            if !is_valid_label_name(s) {
                return fail(format!("{s:?} is not a valid label name in source_labels"));
            }
        }
        let target = c.target_label.as_deref().unwrap_or("");
        let needs_target = matches!(
            action,
            Action::Replace
                | Action::Hashmod
                | Action::Lowercase
                | Action::Uppercase
                | Action::Keepequal
                | Action::Dropequal
        );
        if needs_target && target.is_empty() {
            return fail(format!("action {name} requires target_label"));
        }
        let target_ok = match action {
            // A replace target may reference capture groups ("${1}_total").
            Action::Replace => is_valid_label_template(target),
            _ => target.is_empty() || is_valid_label_name(target),
        };
        if !target_ok {
            return fail(format!(
                "{target:?} is an invalid target_label for action {name}"
            ));
        }
        let replacement_set = c.replacement.is_some();
        let only_source_and_target = matches!(action, Action::Keepequal | Action::Dropequal);
        if only_source_and_target
            && (c.regex.is_some()
                || c.modulus.is_some()
                || c.separator.is_some()
                || replacement_set)
        {
            return fail(format!(
                "action {name} takes only source_labels and target_label"
            ));
        }
        if matches!(action, Action::Lowercase | Action::Uppercase) && replacement_set {
            return fail(format!("replacement cannot be set for action {name}"));
        }
        if matches!(action, Action::Labeldrop | Action::Labelkeep)
            && (!c.source_labels.is_empty()
                || !target.is_empty()
                || c.modulus.is_some()
                || c.separator.is_some()
                || replacement_set)
        {
            return fail(format!("action {name} takes only regex"));
        }
        let replacement = c.replacement.as_deref().unwrap_or(DEFAULT_REPLACEMENT);
        if action == Action::Labelmap && !is_valid_label_template(replacement) {
            return fail(format!(
                "{replacement:?} is an invalid replacement for action labelmap"
            ));
        }
        let modulus = c.modulus.unwrap_or(0);
        if action == Action::Hashmod && modulus == 0 {
            return fail("action hashmod requires a non-zero modulus".into());
        }
        let re_src = c.regex.as_deref().unwrap_or(DEFAULT_REGEX);
        let regex = Regex::new(&format!("^(?s:{re_src})$"))
            .map_err(|e| RelabelError(format!("invalid regex {re_src:?}: {e}")))?;
        Ok(RelabelRule {
            source_labels: c.source_labels.clone(),
            separator: c
                .separator
                .clone()
                .unwrap_or_else(|| DEFAULT_SEPARATOR.into()),
            target_label: target.to_string(),
            regex,
            modulus,
            replacement: replacement.to_string(),
            action,
        })
    }

    pub fn action(&self) -> Action {
        self.action
    }
}

/// Whether `s` can name a label once `$1`/`${name}` references are expanded
/// (Prometheus's check): it starts with a letter, `_` or a reference and
/// continues with word characters and references.
fn is_valid_label_template(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let rest = &b[i + 1..];
            let len = if rest.first() == Some(&b'{') {
                let n = rest[1..].iter().take_while(|&&c| word(c)).count();
                if n == 0 || rest.get(n + 1) != Some(&b'}') {
                    return false;
                }
                n + 2
            } else {
                let n = rest.iter().take_while(|&&c| word(c)).count();
                if n == 0 {
                    return false;
                }
                n
            };
            i += 1 + len;
        } else if word(b[i]) && (i > 0 || !b[i].is_ascii_digit()) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// The label set being rewritten: unsorted, cheap to edit; sorted and
/// validated once at the end.
struct Working(Vec<Label>);

impl Working {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|l| l.name == name)
            .map_or("", |l| l.value.as_str())
    }

    /// An empty value deletes, as in Prometheus's label builder.
    fn set(&mut self, name: &str, value: String) {
        match self.0.iter().position(|l| l.name == name) {
            Some(i) if value.is_empty() => {
                self.0.swap_remove(i);
            }
            Some(i) => self.0[i].value = value,
            None if value.is_empty() => {}
            None => self.0.push(Label::new(name, value)),
        }
    }
}

/// Applies the rules in order; `None` means the target or sample is dropped
/// (by a rule, or because the result is not a valid label set).
pub fn process(labels: &Labels, rules: &[RelabelRule]) -> Option<Labels> {
    if rules.is_empty() {
        return Some(labels.clone());
    }
    let mut w = Working(labels.as_slice().to_vec());
    for r in rules {
        if !apply(&mut w, r) {
            return None;
        }
    }
    Labels::new(w.0).ok()
}

/// Applies one rule; false means drop.
fn apply(w: &mut Working, r: &RelabelRule) -> bool {
    let val = match r.source_labels.as_slice() {
        [] => String::new(),
        [one] => w.get(one).to_string(),
        many => {
            let parts: Vec<&str> = many.iter().map(|n| w.get(n)).collect();
            parts.join(&r.separator)
        }
    };
    match r.action {
        Action::Keep => return r.regex.is_match(&val),
        Action::Drop => return !r.regex.is_match(&val),
        Action::Keepequal => return w.get(&r.target_label) == val,
        Action::Dropequal => return w.get(&r.target_label) != val,
        Action::Replace => {
            let Some(caps) = r.regex.captures(&val) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&r.target_label, &mut target);
            if !is_valid_label_name(&target) {
                return true;
            }
            let mut value = String::new();
            caps.expand(&r.replacement, &mut value);
            w.set(&target, value);
        }
        Action::Lowercase => w.set(&r.target_label, val.to_lowercase()),
        Action::Uppercase => w.set(&r.target_label, val.to_uppercase()),
        Action::Hashmod => {
            let d = Md5::digest(val.as_bytes());
            // Prometheus uses the last 8 bytes, big-endian.
            let mut tail = [0u8; 8];
            tail.copy_from_slice(&d[8..]);
            let m = u64::from_be_bytes(tail) % r.modulus;
            w.set(&r.target_label, m.to_string());
        }
        Action::Labelmap => {
            let snapshot = w.0.clone();
            for l in &snapshot {
                if let Some(caps) = r.regex.captures(&l.name) {
                    let mut name = String::new();
                    caps.expand(&r.replacement, &mut name);
                    if is_valid_label_name(&name) {
                        w.set(&name, l.value.clone());
                    }
                }
            }
        }
        Action::Labeldrop => w.0.retain(|l| !r.regex.is_match(&l.name)),
        Action::Labelkeep => w.0.retain(|l| r.regex.is_match(&l.name)),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> RelabelRule {
        let c: RelabelConfig = serde_norway::from_str(yaml).unwrap();
        RelabelRule::compile(&c).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    fn l(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p)
    }

    /// `base` plus `extra` (an empty value removes the label).
    fn with(base: &Labels, extra: &[(&str, &str)]) -> Labels {
        let mut b = base.builder();
        for (k, v) in extra {
            b.set(k, v);
        }
        b.build().unwrap()
    }

    fn base() -> Labels {
        l(&[
            ("__address__", "host:9100"),
            ("__meta_env", "prod"),
            ("__meta_zone", "eu-1"),
            ("job", "node"),
        ])
    }

    #[test]
    fn table() {
        let b = base();
        let cases: Vec<(&str, Option<Labels>)> = vec![
            // replace: default regex and replacement copy the source value
            (
                "{source_labels: [job], target_label: team}",
                Some(with(&b, &[("team", "node")])),
            ),
            (
                "{source_labels: [__address__], regex: '(.*):\\d+', target_label: host}",
                Some(with(&b, &[("host", "host")])),
            ),
            // no match: nothing changes
            (
                "{source_labels: [__address__], regex: 'nomatch', target_label: host, replacement: x}",
                Some(b.clone()),
            ),
            // the regex is anchored at both ends
            (
                "{source_labels: [job], regex: 'od', target_label: x, replacement: y}",
                Some(b.clone()),
            ),
            // empty result deletes the target label
            (
                "{source_labels: [nope], target_label: job, replacement: ''}",
                Some(with(&b, &[("job", "")])),
            ),
            (
                "{source_labels: [nope], regex: '(.*)', target_label: job}",
                Some(with(&b, &[("job", "")])),
            ),
            // target label from a capture group
            (
                "{source_labels: [__meta_zone], regex: '(\\w+)-(\\d)', target_label: 'zone_${2}', replacement: '$1'}",
                Some(with(&b, &[("zone_1", "eu")])),
            ),
            // an invalid resulting label name changes nothing
            (
                "{source_labels: [__meta_zone], regex: '(.*)', target_label: '$1', replacement: x}",
                Some(b.clone()),
            ),
            // several sources joined by the separator; ${n} and $n expansion
            (
                "{source_labels: [job, __meta_env], separator: '-', target_label: x, regex: '(.*)-(.*)', replacement: '${2}_$1'}",
                Some(with(&b, &[("x", "prod_node")])),
            ),
            (
                "{source_labels: [job, __meta_env], target_label: x}",
                Some(with(&b, &[("x", "node;prod")])),
            ),
            // missing sources join as empty strings
            (
                "{source_labels: [job, nope, __meta_env], target_label: x}",
                Some(with(&b, &[("x", "node;;prod")])),
            ),
            // $$ is a literal dollar
            (
                "{source_labels: [job], target_label: x, replacement: 'cost$$'}",
                Some(with(&b, &[("x", "cost$")])),
            ),
            // keep / drop
            (
                "{source_labels: [job], regex: node, action: keep}",
                Some(b.clone()),
            ),
            ("{source_labels: [job], regex: nod, action: keep}", None),
            ("{source_labels: [job], regex: 'n.*', action: drop}", None),
            (
                "{source_labels: [job], regex: 'x.*', action: drop}",
                Some(b.clone()),
            ),
            ("{source_labels: [nope], regex: '', action: drop}", None),
            ("{source_labels: [job], regex: 'NODE', action: KEEP}", None),
            // labelmap
            (
                "{regex: '__meta_(.*)', action: labelmap}",
                Some(with(&b, &[("env", "prod"), ("zone", "eu-1")])),
            ),
            (
                "{regex: '__meta_(.*)', replacement: 'm_$1', action: labelmap}",
                Some(with(&b, &[("m_env", "prod"), ("m_zone", "eu-1")])),
            ),
            // labeldrop / labelkeep
            (
                "{regex: '__meta_.*', action: labeldrop}",
                Some(l(&[("__address__", "host:9100"), ("job", "node")])),
            ),
            (
                "{regex: 'job|__address__', action: labelkeep}",
                Some(l(&[("__address__", "host:9100"), ("job", "node")])),
            ),
            // lowercase / uppercase
            (
                "{source_labels: [job], target_label: job, action: uppercase}",
                Some(with(&b, &[("job", "NODE")])),
            ),
            (
                "{source_labels: [__meta_zone, job], target_label: z, action: lowercase}",
                Some(with(&b, &[("z", "eu-1;node")])),
            ),
            // keepequal / dropequal
            (
                "{source_labels: [job], target_label: job, action: keepequal}",
                Some(b.clone()),
            ),
            (
                "{source_labels: [job], target_label: __meta_env, action: keepequal}",
                None,
            ),
            (
                "{source_labels: [job], target_label: job, action: dropequal}",
                None,
            ),
            (
                "{source_labels: [job], target_label: __meta_env, action: dropequal}",
                Some(b.clone()),
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(process(&b, &[rule(yaml)]), want, "{yaml}");
        }
    }

    #[test]
    fn hashmod_matches_prometheus_shards() {
        // md5("host:9100") mod 8, computed independently with Python's hashlib.
        let r = rule(
            "{source_labels: [__address__], modulus: 8, target_label: shard, action: hashmod}",
        );
        let got = process(&base(), &[r]).unwrap();
        assert_eq!(got.get("shard"), Some("3"));
        // Sharding keeps only one shard: exactly one of the 8 keeps the target.
        let kept = (0..8)
            .filter(|shard| {
                let rules = [
                    rule("{source_labels: [__address__], modulus: 8, target_label: __tmp_shard, action: hashmod}"),
                    rule(&format!("{{source_labels: [__tmp_shard], regex: '{shard}', action: keep}}")),
                ];
                process(&base(), &rules).is_some()
            })
            .count();
        assert_eq!(kept, 1);
    }

    #[test]
    fn rules_apply_in_order() {
        let rules = [
            rule("{source_labels: [__meta_env], target_label: env}"),
            rule("{source_labels: [env], regex: prod, action: keep}"),
            rule("{regex: '__meta_.*', action: labeldrop}"),
        ];
        assert_eq!(
            process(&base(), &rules),
            Some(l(&[
                ("__address__", "host:9100"),
                ("env", "prod"),
                ("job", "node")
            ]))
        );
    }

    #[test]
    fn invalid_configs_are_rejected_with_a_reason() {
        for (yaml, want) in [
            ("{action: explode}", "unknown relabel action"),
            ("{action: ''}", "cannot be empty"),
            (
                "{source_labels: [a], regex: '(', target_label: x}",
                "invalid regex",
            ),
            ("{source_labels: [a]}", "requires target_label"),
            ("{source_labels: ['1a'], target_label: x}", "source_labels"),
            (
                "{source_labels: [a], target_label: '1x'}",
                "invalid target_label",
            ),
            (
                "{source_labels: [a], target_label: 'a-b'}",
                "invalid target_label",
            ),
            (
                "{source_labels: [a], target_label: '${1'}",
                "invalid target_label",
            ),
            (
                "{source_labels: [a], target_label: x, action: hashmod}",
                "modulus",
            ),
            (
                "{source_labels: [a], modulus: 2, action: hashmod}",
                "target_label",
            ),
            (
                "{source_labels: [a], target_label: '$1', modulus: 2, action: hashmod}",
                "invalid target_label",
            ),
            (
                "{source_labels: [a], target_label: x, regex: a, action: keepequal}",
                "only source_labels",
            ),
            (
                "{source_labels: [a], target_label: x, replacement: y, action: lowercase}",
                "replacement",
            ),
            (
                "{source_labels: [a], regex: a, action: labeldrop}",
                "only regex",
            ),
            (
                "{regex: a, replacement: 'a-$1', action: labelmap}",
                "invalid replacement",
            ),
        ] {
            let c: RelabelConfig = serde_norway::from_str(yaml).unwrap();
            let e = RelabelRule::compile(&c).unwrap_err().to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
        assert!(serde_norway::from_str::<RelabelConfig>("{bogus: 1}").is_err());
    }

    #[test]
    fn label_templates() {
        for ok in [
            "a",
            "_a",
            "a1",
            "$1",
            "${1}",
            "${1}_total",
            "x_$1_y",
            "$name",
        ] {
            assert!(is_valid_label_template(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "$", "${}", "${1", "a b", "$-"] {
            assert!(!is_valid_label_template(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn process_never_panics(
            names in proptest::collection::vec("[a-z_]{1,6}", 0..6),
            values in proptest::collection::vec("\\PC{0,8}", 6),
            replacement in "[a-z$_{}0-9]{0,8}",
            regex in "[a-z.*()|_]{0,6}",
        ) {
            let labels: Vec<Label> = names
                .iter()
                .zip(&values)
                .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
                .collect();
            let Ok(labels) = Labels::new(labels) else { return Ok(()) };
            for action in ["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep",
                           "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"] {
                let c = RelabelConfig {
                    source_labels: names.clone(),
                    target_label: Some("t".into()),
                    regex: Some(regex.clone()),
                    replacement: Some(replacement.clone()),
                    modulus: Some(7),
                    action: Some(action.into()),
                    ..RelabelConfig::default()
                };
                if let Ok(rule) = RelabelRule::compile(&c) {
                    let _ = process(&labels, &[rule]);
                }
            }
        }
    }
}
