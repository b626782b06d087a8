//! Alertmanager's configuration file (`alertmanager.yml`, 0.25 schema) read
//! with serde (unknown fields refused at every level) and validated into a
//! [`Config`]: the route tree with inheritance resolved, inhibit rules,
//! receivers with their global fallbacks, and named time intervals.

mod receiver;
mod route;
mod secret;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use homeostat_model::{Labels, Secret, is_valid_label_name};
use serde::Deserialize;

pub use receiver::{EmailConfig, PagerdutyConfig, Receiver, SlackConfig, WebhookConfig};
pub use secret::{HttpConfig, LoadOptions, expand_env, masked_yaml};

use crate::error::ConfigError;
use crate::inhibit::InhibitRule;
use crate::route::{Route, TimeIntervals};
use crate::timeinterval::{RawTimeInterval, Scalar, TimeInterval};
use route::{Names, RawRoute, build_root, duration, legacy_matchers, matcher_list};
use secret::SecretFiles;

const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: Option<RawGlobal>,
    #[serde(default)]
    route: Option<RawRoute>,
    #[serde(default)]
    inhibit_rules: Vec<RawInhibitRule>,
    #[serde(default)]
    receivers: Vec<Receiver>,
    #[serde(default)]
    templates: Vec<String>,
    #[serde(default)]
    mute_time_intervals: Vec<RawNamedInterval>,
    #[serde(default)]
    time_intervals: Vec<RawNamedInterval>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    #[serde(default)]
    resolve_timeout: Option<Scalar>,
    #[serde(default)]
    http_config: Option<HttpConfig>,
    #[serde(default)]
    smtp_from: Option<String>,
    #[serde(default)]
    smtp_hello: Option<String>,
    #[serde(default)]
    smtp_smarthost: Option<String>,
    #[serde(default)]
    smtp_auth_username: Option<String>,
    #[serde(default)]
    smtp_auth_password: Option<Secret>,
    #[serde(default)]
    smtp_auth_password_file: Option<String>,
    #[serde(default)]
    smtp_auth_identity: Option<String>,
    #[serde(default)]
    smtp_auth_secret: Option<Secret>,
    #[serde(default)]
    smtp_require_tls: Option<bool>,
    #[serde(default)]
    slack_api_url: Option<Secret>,
    #[serde(default)]
    slack_api_url_file: Option<String>,
    #[serde(default)]
    pagerduty_url: Option<String>,
    #[serde(default)]
    opsgenie_api_url: Option<String>,
    #[serde(default)]
    opsgenie_api_key: Option<Secret>,
    #[serde(default)]
    victorops_api_url: Option<String>,
    #[serde(default)]
    victorops_api_key: Option<Secret>,
    #[serde(default)]
    wechat_api_url: Option<String>,
    #[serde(default)]
    wechat_api_secret: Option<Secret>,
    #[serde(default)]
    wechat_api_corp_id: Option<String>,
    #[serde(default)]
    telegram_api_url: Option<String>,
    #[serde(default)]
    webex_api_url: Option<String>,
}

/// `global:` with Alertmanager's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    /// How long an alert without `endsAt` stays firing after its last update.
    pub resolve_timeout: Duration,
    pub http_config: Option<HttpConfig>,
    pub smtp_from: Option<String>,
    pub smtp_hello: Option<String>,
    pub smtp_smarthost: Option<String>,
    pub smtp_auth_username: Option<String>,
    pub smtp_auth_password: Option<Secret>,
    pub smtp_auth_identity: Option<String>,
    pub smtp_auth_secret: Option<Secret>,
    pub smtp_require_tls: bool,
    pub slack_api_url: Option<Secret>,
    pub pagerduty_url: String,
    pub opsgenie_api_url: Option<String>,
    pub opsgenie_api_key: Option<Secret>,
    pub victorops_api_url: Option<String>,
    pub victorops_api_key: Option<Secret>,
    pub wechat_api_url: Option<String>,
    pub wechat_api_secret: Option<Secret>,
    pub wechat_api_corp_id: Option<String>,
    pub telegram_api_url: Option<String>,
    pub webex_api_url: Option<String>,
}

impl Global {
    fn from_raw(mut raw: RawGlobal, files: &SecretFiles<'_>) -> Result<Self, ConfigError> {
        let at = "global";
        files.resolve(
            at,
            "slack_api_url",
            &mut raw.slack_api_url,
            &raw.slack_api_url_file,
        )?;
        files.resolve(
            at,
            "smtp_auth_password",
            &mut raw.smtp_auth_password,
            &raw.smtp_auth_password_file,
        )?;
        for (field, value) in [
            ("smtp_auth_secret", &mut raw.smtp_auth_secret),
            ("opsgenie_api_key", &mut raw.opsgenie_api_key),
            ("victorops_api_key", &mut raw.victorops_api_key),
            ("wechat_api_secret", &mut raw.wechat_api_secret),
        ] {
            files.resolve(at, field, value, &None)?;
        }
        if let Some(h) = &raw.http_config {
            h.check("global.http_config", files)?;
        }
        let resolve_timeout = match &raw.resolve_timeout {
            Some(v) => duration("global.resolve_timeout", v, true)?,
            None => Duration::from_secs(300),
        };
        Ok(Self {
            resolve_timeout,
            http_config: raw.http_config,
            smtp_from: raw.smtp_from,
            smtp_hello: Some(raw.smtp_hello.unwrap_or_else(|| "localhost".into())),
            smtp_smarthost: raw.smtp_smarthost,
            smtp_auth_username: raw.smtp_auth_username,
            smtp_auth_password: raw.smtp_auth_password,
            smtp_auth_identity: raw.smtp_auth_identity,
            smtp_auth_secret: raw.smtp_auth_secret,
            smtp_require_tls: raw.smtp_require_tls.unwrap_or(true),
            slack_api_url: raw.slack_api_url,
            pagerduty_url: raw
                .pagerduty_url
                .unwrap_or_else(|| DEFAULT_PAGERDUTY_URL.into()),
            opsgenie_api_url: raw.opsgenie_api_url,
            opsgenie_api_key: raw.opsgenie_api_key,
            victorops_api_url: raw.victorops_api_url,
            victorops_api_key: raw.victorops_api_key,
            wechat_api_url: raw.wechat_api_url,
            wechat_api_secret: raw.wechat_api_secret,
            wechat_api_corp_id: raw.wechat_api_corp_id,
            telegram_api_url: raw.telegram_api_url,
            webex_api_url: raw.webex_api_url,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInhibitRule {
    #[serde(default)]
    source_matchers: Option<Vec<String>>,
    #[serde(default)]
    target_matchers: Option<Vec<String>>,
    #[serde(default)]
    source_match: Option<BTreeMap<String, String>>,
    #[serde(default)]
    source_match_re: Option<BTreeMap<String, String>>,
    #[serde(default)]
    target_match: Option<BTreeMap<String, String>>,
    #[serde(default)]
    target_match_re: Option<BTreeMap<String, String>>,
    #[serde(default)]
    equal: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamedInterval {
    name: String,
    #[serde(default)]
    time_intervals: Vec<RawTimeInterval>,
}

/// A validated Alertmanager configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub global: Global,
    /// The root of the routing tree.
    pub route: Route,
    pub inhibit_rules: Vec<InhibitRule>,
    pub receivers: Vec<Receiver>,
    /// Both `time_intervals:` and the older `mute_time_intervals:`.
    pub time_intervals: TimeIntervals,
    /// Accepted and kept; homeostat does not render Go templates files.
    pub templates: Vec<String>,
}

impl Config {
    /// Reads and validates a config file; errors name the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_str(&text, path)
    }

    /// Validates config text that came from `source` (named in errors).
    pub fn from_yaml_str(text: &str, source: &Path) -> Result<Self, ConfigError> {
        Self::from_yaml_str_with(text, source, LoadOptions::default())
    }

    /// Validates config text that came from `source`: errors name it, and
    /// `*_file` paths are relative to its directory. With
    /// `options.expand_env`, `${NAME}` is replaced from the environment
    /// first.
    pub fn from_yaml_str_with(
        text: &str,
        source: &Path,
        options: LoadOptions,
    ) -> Result<Self, ConfigError> {
        let base = source.parent().unwrap_or(Path::new(""));
        let expanded;
        let text = if options.expand_env {
            expanded = expand_env(text, |name| std::env::var(name).ok())
                .map_err(|e| e.with_path(source))?;
            expanded.as_str()
        } else {
            text
        };
        Self::parse_in(text, &SecretFiles { base, options }).map_err(|e| e.with_path(source))
    }

    /// Validates config text that came from nowhere in particular;
    /// `*_file` paths are relative to the working directory.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_in(
            text,
            &SecretFiles {
                base: Path::new(""),
                options: LoadOptions::default(),
            },
        )
    }

    fn parse_in(text: &str, files: &SecretFiles<'_>) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_norway::from_str(text).map_err(|e| ConfigError::Syntax {
            path: None,
            message: e.to_string(),
        })?;
        let global = Global::from_raw(raw.global.unwrap_or_default(), files)?;

        let mut receivers = raw.receivers;
        let mut receiver_names = BTreeSet::new();
        for (i, r) in receivers.iter().enumerate() {
            if !receiver_names.insert(r.name.clone()) {
                let first = receivers.iter().position(|o| o.name == r.name).unwrap_or(0);
                return Err(ConfigError::invalid(
                    format!("receivers[{i}].name"),
                    format!(
                        "receiver {:?} is defined twice (also receivers[{first}]); names must be unique",
                        r.name
                    ),
                ));
            }
        }
        receiver::resolve(&mut receivers, &global, files)?;

        let mut intervals = BTreeMap::new();
        for (field, list) in [
            ("mute_time_intervals", &raw.mute_time_intervals),
            ("time_intervals", &raw.time_intervals),
        ] {
            for (i, named) in list.iter().enumerate() {
                let at = format!("{field}[{i}]");
                if named.name.is_empty() {
                    return Err(ConfigError::invalid(
                        format!("{at}.name"),
                        "a time interval needs a name",
                    ));
                }
                if intervals.contains_key(&named.name) {
                    return Err(ConfigError::invalid(
                        format!("{at}.name"),
                        format!(
                            "time interval {:?} is defined twice; names must be unique",
                            named.name
                        ),
                    ));
                }
                let parsed = named
                    .time_intervals
                    .iter()
                    .enumerate()
                    .map(|(j, ti)| {
                        TimeInterval::from_raw(ti).map_err(|(f, m)| {
                            ConfigError::invalid(format!("{at}.time_intervals[{j}].{f}"), m)
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                intervals.insert(named.name.clone(), parsed);
            }
        }
        let interval_names: BTreeSet<String> = intervals.keys().cloned().collect();

        let raw_route = raw.route.ok_or_else(|| {
            ConfigError::invalid(
                "route",
                "missing: every config needs a root route with a receiver",
            )
        })?;
        let route = build_root(
            &raw_route,
            &Names {
                receivers: &receiver_names,
                time_intervals: &interval_names,
            },
        )?;

        let inhibit_rules = raw
            .inhibit_rules
            .iter()
            .enumerate()
            .map(|(i, r)| inhibit_rule(&format!("inhibit_rules[{i}]"), r))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Self {
            global,
            route,
            inhibit_rules,
            receivers,
            time_intervals: TimeIntervals(intervals),
            templates: raw.templates,
        })
    }

    /// The routes an alert goes to, leaf-most first-match with `continue`,
    /// exactly as Alertmanager decides.
    pub fn routes_for(&self, labels: &Labels) -> Vec<&Route> {
        self.route.matching(labels)
    }

    /// The receiver names an alert goes to, in tree order (what
    /// `amtool config routes test` prints).
    pub fn receivers_for(&self, labels: &Labels) -> Vec<&str> {
        self.routes_for(labels)
            .into_iter()
            .map(|r| r.opts.receiver.as_str())
            .collect()
    }

    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// Whether a route's notifications are held back at `at` by its mute or
    /// active time intervals.
    pub fn is_muted(&self, route: &Route, at: DateTime<Utc>) -> bool {
        self.time_intervals.is_muted(route, at)
    }
}

fn inhibit_rule(at: &str, raw: &RawInhibitRule) -> Result<InhibitRule, ConfigError> {
    let mut source = legacy_matchers(
        at,
        "source_match",
        "source_match_re",
        &raw.source_match,
        &raw.source_match_re,
    )?;
    source.extend(matcher_list(
        &format!("{at}.source_matchers"),
        &raw.source_matchers,
    )?);
    let mut target = legacy_matchers(
        at,
        "target_match",
        "target_match_re",
        &raw.target_match,
        &raw.target_match_re,
    )?;
    target.extend(matcher_list(
        &format!("{at}.target_matchers"),
        &raw.target_matchers,
    )?);
    for (i, name) in raw.equal.iter().enumerate() {
        if !is_valid_label_name(name) {
            return Err(ConfigError::invalid(
                format!("{at}.equal[{i}]"),
                format!("invalid label name {name:?} (must match [a-zA-Z_][a-zA-Z0-9_]*)"),
            ));
        }
    }
    Ok(InhibitRule {
        source,
        target,
        equal: raw.equal.clone(),
    })
}
