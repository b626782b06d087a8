//! `route:` as written in the file, and its validation into the [`Route`]
//! tree with Alertmanager's inheritance: receiver, group_by and the three
//! timings come from the parent unless set; time intervals do not.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use homeostat_model::{is_valid_label_name, parse_duration};
use serde::Deserialize;

use crate::error::ConfigError;
use crate::matcher::{MatchType, Matcher, Matchers};
use crate::route::{GroupBy, Route, RouteOpts};
use crate::timeinterval::Scalar;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    #[serde(default)]
    pub receiver: Option<String>,
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    #[serde(default, rename = "match")]
    pub match_eq: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub match_re: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub matchers: Option<Vec<String>>,
    #[serde(default)]
    pub group_wait: Option<Scalar>,
    #[serde(default)]
    pub group_interval: Option<Scalar>,
    #[serde(default)]
    pub repeat_interval: Option<Scalar>,
    #[serde(default)]
    pub mute_time_intervals: Option<Vec<String>>,
    #[serde(default)]
    pub active_time_intervals: Option<Vec<String>>,
    #[serde(default)]
    pub routes: Option<Vec<RawRoute>>,
}

impl RawRoute {
    fn has_matchers(&self) -> bool {
        self.match_eq.as_ref().is_some_and(|m| !m.is_empty())
            || self.match_re.as_ref().is_some_and(|m| !m.is_empty())
            || self.matchers.as_ref().is_some_and(|m| !m.is_empty())
    }
}

/// What the tree is checked against: declared receivers and intervals.
pub(crate) struct Names<'a> {
    pub receivers: &'a BTreeSet<String>,
    pub time_intervals: &'a BTreeSet<String>,
}

/// Validates the root route and builds the tree.
pub(crate) fn build_root(raw: &RawRoute, names: &Names<'_>) -> Result<Route, ConfigError> {
    if raw.receiver.as_deref().unwrap_or("").is_empty() {
        return Err(ConfigError::invalid(
            "route.receiver",
            "the root route must name a default receiver (one of receivers:)",
        ));
    }
    if raw.has_matchers() {
        let field = if raw.matchers.as_ref().is_some_and(|m| !m.is_empty()) {
            "route.matchers"
        } else if raw.match_eq.as_ref().is_some_and(|m| !m.is_empty()) {
            "route.match"
        } else {
            "route.match_re"
        };
        return Err(ConfigError::invalid(
            field,
            "the root route must not have matchers: it receives every alert; \
             put the matchers on a child route under route.routes",
        ));
    }
    for (field, list) in [
        ("mute_time_intervals", &raw.mute_time_intervals),
        ("active_time_intervals", &raw.active_time_intervals),
    ] {
        if list.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(ConfigError::invalid(
                format!("route.{field}"),
                "the root route must not have time intervals; set them on a child route",
            ));
        }
    }
    build(raw, None, "route", "{}".into(), "{}".into(), names)
}

fn build(
    raw: &RawRoute,
    parent: Option<&RouteOpts>,
    path: &str,
    id: String,
    key: String,
    names: &Names<'_>,
) -> Result<Route, ConfigError> {
    let mut opts = parent.cloned().unwrap_or_default();
    if let Some(receiver) = raw.receiver.as_deref().filter(|r| !r.is_empty()) {
        if !names.receivers.contains(receiver) {
            return Err(ConfigError::invalid(
                format!("{path}.receiver"),
                format!("receiver {receiver:?} is not defined; define it under receivers:"),
            ));
        }
        opts.receiver = receiver.to_string();
    }
    if let Some(group_by) = &raw.group_by {
        apply_group_by(&mut opts, group_by, path)?;
    }
    for (field, value, target, may_be_zero) in [
        ("group_wait", &raw.group_wait, &mut opts.group_wait, true),
        (
            "group_interval",
            &raw.group_interval,
            &mut opts.group_interval,
            false,
        ),
        (
            "repeat_interval",
            &raw.repeat_interval,
            &mut opts.repeat_interval,
            false,
        ),
    ] {
        if let Some(v) = value {
            *target = duration(&format!("{path}.{field}"), v, may_be_zero)?;
        }
    }
    opts.mute_time_intervals =
        interval_names(path, "mute_time_intervals", &raw.mute_time_intervals, names)?;
    opts.active_time_intervals = interval_names(
        path,
        "active_time_intervals",
        &raw.active_time_intervals,
        names,
    )?;

    let matchers = route_matchers(raw, path)?;
    let mut route = Route {
        id,
        key,
        path: path.to_string(),
        matchers,
        continue_matching: raw.continue_matching,
        opts,
        routes: Vec::new(),
    };
    for (i, child) in raw.routes.iter().flatten().enumerate() {
        let child_matchers = route_matchers(child, "")
            .map(|m| m.to_string())
            .unwrap_or_default();
        let child_key = format!("{}/{}", route.key, child_matchers);
        let child_id = format!("{}/{}/{}", route.id, child_matchers, i);
        let built = build(
            child,
            Some(&route.opts),
            &format!("{path}.routes[{i}]"),
            child_id,
            child_key,
            names,
        )?;
        route.routes.push(built);
    }
    Ok(route)
}

fn apply_group_by(
    opts: &mut RouteOpts,
    group_by: &[String],
    path: &str,
) -> Result<(), ConfigError> {
    let mut labels = Vec::new();
    let mut all = false;
    for (i, name) in group_by.iter().enumerate() {
        let field = format!("{path}.group_by[{i}]");
        if name == "..." {
            all = true;
            continue;
        }
        if !is_valid_label_name(name) {
            return Err(ConfigError::invalid(
                field,
                format!(
                    "invalid label name {name:?} (must match [a-zA-Z_][a-zA-Z0-9_]*, or be '...' for all labels)"
                ),
            ));
        }
        if labels.contains(name) {
            return Err(ConfigError::invalid(
                field,
                format!("label {name:?} is listed twice"),
            ));
        }
        labels.push(name.clone());
    }
    if all && !labels.is_empty() {
        return Err(ConfigError::invalid(
            format!("{path}.group_by"),
            "'...' already groups by every label; remove the other names or the '...'",
        ));
    }
    // As in Alertmanager, `group_by: []` keeps the parent's grouping.
    if !labels.is_empty() {
        opts.group_by = GroupBy::Labels(labels);
    } else if all {
        opts.group_by = GroupBy::All;
    }
    Ok(())
}

pub(crate) fn duration(
    field: &str,
    v: &Scalar,
    may_be_zero: bool,
) -> Result<Duration, ConfigError> {
    let text = match v {
        Scalar::Int(i) => i.to_string(),
        Scalar::Str(s) => s.clone(),
    };
    let d = parse_duration(&text).map_err(|e| ConfigError::invalid(field, e.to_string()))?;
    if d.is_zero() && !may_be_zero {
        return Err(ConfigError::invalid(field, "must be greater than zero"));
    }
    Ok(d)
}

fn interval_names(
    path: &str,
    field: &str,
    list: &Option<Vec<String>>,
    names: &Names<'_>,
) -> Result<Vec<String>, ConfigError> {
    let list = list.clone().unwrap_or_default();
    for (i, name) in list.iter().enumerate() {
        if !names.time_intervals.contains(name) {
            return Err(ConfigError::invalid(
                format!("{path}.{field}[{i}]"),
                format!("time interval {name:?} is not defined; define it under time_intervals:"),
            ));
        }
    }
    Ok(list)
}

/// `match`, `match_re` and `matchers` of one route, merged and sorted as
/// Alertmanager does.
fn route_matchers(raw: &RawRoute, path: &str) -> Result<Matchers, ConfigError> {
    let mut out = legacy_matchers(path, "match", "match_re", &raw.match_eq, &raw.match_re)?;
    out.extend(matcher_list(&format!("{path}.matchers"), &raw.matchers)?);
    out.sort();
    Ok(out)
}

/// Legacy `match:` (equality) and `match_re:` (anchored regex) maps.
pub(crate) fn legacy_matchers(
    path: &str,
    eq_field: &str,
    re_field: &str,
    eq: &Option<BTreeMap<String, String>>,
    re: &Option<BTreeMap<String, String>>,
) -> Result<Matchers, ConfigError> {
    let mut out = Matchers::default();
    for (field, map, op) in [
        (eq_field, eq, MatchType::Equal),
        (re_field, re, MatchType::Regex),
    ] {
        for (name, value) in map.iter().flatten() {
            let field = format!("{path}.{field}.{name}");
            if !is_valid_label_name(name) {
                return Err(ConfigError::invalid(
                    field,
                    format!("invalid label name {name:?} (must match [a-zA-Z_][a-zA-Z0-9_]*)"),
                ));
            }
            // Alertmanager 0.25 keeps a `match_re` value in its anchored
            // form, which shows in route keys and ids.
            let value = match op {
                MatchType::Regex => format!("^(?:{value})$"),
                _ => value.clone(),
            };
            let m = Matcher::new(op, name, &value).map_err(|e| {
                ConfigError::invalid(field, format!("invalid regular expression {value:?}: {e}"))
            })?;
            out.push(m);
        }
    }
    Ok(out)
}

/// A `matchers:` list; each entry may hold several comma-separated matchers.
pub(crate) fn matcher_list(
    field: &str,
    list: &Option<Vec<String>>,
) -> Result<Matchers, ConfigError> {
    let mut out = Matchers::default();
    for (i, text) in list.iter().flatten().enumerate() {
        let parsed = Matchers::parse(text)
            .map_err(|e| ConfigError::invalid(format!("{field}[{i}]"), e.to_string()))?;
        out.extend(parsed);
    }
    Ok(out)
}
