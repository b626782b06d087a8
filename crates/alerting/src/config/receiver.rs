//! `receivers:`: a name and the integrations homeostat can deliver to, as
//! typed structs with Alertmanager's defaults. Other integrations
//! (opsgenie, wechat, …) are refused as unknown fields rather than ignored.

use std::collections::BTreeMap;

use homeostat_model::Secret;
use serde::Deserialize;

use super::Global;
use super::secret::{HttpConfig, SecretFiles};
use crate::error::ConfigError;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    pub name: String,
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    #[serde(default)]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    #[serde(default)]
    pub email_configs: Vec<EmailConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Its path or query is usually the key, so the whole URL is secret.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Read into `url` at load.
    #[serde(default)]
    pub url_file: Option<String>,
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// 0: no limit.
    #[serde(default)]
    pub max_alerts: u64,
    /// Kept as written; the notifier interprets it.
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Falls back to `global.slack_api_url`.
    #[serde(default)]
    pub api_url: Option<Secret>,
    /// Read into `api_url` at load.
    #[serde(default)]
    pub api_url_file: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub title_link: Option<String>,
    #[serde(default)]
    pub pretext: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub footer: Option<String>,
    #[serde(default)]
    pub icon_emoji: Option<String>,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub send_resolved: bool,
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Events API v2 key; one of this and `service_key` is required.
    #[serde(default)]
    pub routing_key: Option<Secret>,
    #[serde(default)]
    pub routing_key_file: Option<String>,
    /// Events API v1 key.
    #[serde(default)]
    pub service_key: Option<Secret>,
    #[serde(default)]
    pub service_key_file: Option<String>,
    /// Falls back to `global.pagerduty_url`.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub client_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub component: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub send_resolved: bool,
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub to: String,
    /// Falls back to `global.smtp_from`.
    #[serde(default)]
    pub from: Option<String>,
    /// `host:port`; falls back to `global.smtp_smarthost`.
    #[serde(default)]
    pub smarthost: Option<String>,
    #[serde(default)]
    pub hello: Option<String>,
    #[serde(default)]
    pub auth_username: Option<String>,
    #[serde(default)]
    pub auth_password: Option<Secret>,
    #[serde(default)]
    pub auth_password_file: Option<String>,
    #[serde(default)]
    pub auth_identity: Option<String>,
    #[serde(default)]
    pub auth_secret: Option<Secret>,
    /// Falls back to `global.smtp_require_tls` (default true).
    #[serde(default)]
    pub require_tls: Option<bool>,
    #[serde(default)]
    pub send_resolved: bool,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// Checks each receiver and fills what it leaves to `global:`, as
/// Alertmanager does when it loads the file.
pub(crate) fn resolve(
    receivers: &mut [Receiver],
    global: &Global,
    files: &SecretFiles<'_>,
) -> Result<(), ConfigError> {
    for (i, r) in receivers.iter_mut().enumerate() {
        let at = |field: String| format!("receivers[{i}].{field}");
        if r.name.is_empty() {
            return Err(ConfigError::invalid(
                at("name".into()),
                "a receiver needs a name",
            ));
        }
        read_secret_files(r, &at, files)?;
        for (j, w) in r.webhook_configs.iter().enumerate() {
            if w.url.is_none() {
                return Err(ConfigError::invalid(
                    at(format!("webhook_configs[{j}].url")),
                    "missing: set url (or url_file)",
                ));
            }
        }
        for (j, s) in r.slack_configs.iter_mut().enumerate() {
            if s.api_url.is_none() {
                match &global.slack_api_url {
                    Some(u) => s.api_url = Some(u.clone()),
                    None => {
                        return Err(ConfigError::invalid(
                            at(format!("slack_configs[{j}].api_url")),
                            "missing: set api_url (or api_url_file) here or global.slack_api_url",
                        ));
                    }
                }
            }
        }
        for (j, p) in r.pagerduty_configs.iter_mut().enumerate() {
            if p.routing_key.is_none() && p.service_key.is_none() {
                return Err(ConfigError::invalid(
                    at(format!("pagerduty_configs[{j}].routing_key")),
                    "missing: set routing_key (Events API v2) or service_key (v1), or their *_file",
                ));
            }
            if p.url.is_none() {
                p.url = Some(global.pagerduty_url.clone());
            }
        }
        for (j, e) in r.email_configs.iter_mut().enumerate() {
            if e.to.is_empty() {
                return Err(ConfigError::invalid(
                    at(format!("email_configs[{j}].to")),
                    "must not be empty",
                ));
            }
            if e.smarthost.is_none() {
                e.smarthost = Some(global.smtp_smarthost.clone().ok_or_else(|| {
                    ConfigError::invalid(
                        at(format!("email_configs[{j}].smarthost")),
                        "missing: set smarthost here or global.smtp_smarthost",
                    )
                })?);
            }
            if e.from.is_none() {
                e.from = Some(global.smtp_from.clone().ok_or_else(|| {
                    ConfigError::invalid(
                        at(format!("email_configs[{j}].from")),
                        "missing: set from here or global.smtp_from",
                    )
                })?);
            }
            e.hello = e.hello.take().or_else(|| global.smtp_hello.clone());
            e.auth_username = e
                .auth_username
                .take()
                .or_else(|| global.smtp_auth_username.clone());
            e.auth_password = e
                .auth_password
                .take()
                .or_else(|| global.smtp_auth_password.clone());
            e.auth_identity = e
                .auth_identity
                .take()
                .or_else(|| global.smtp_auth_identity.clone());
            e.auth_secret = e
                .auth_secret
                .take()
                .or_else(|| global.smtp_auth_secret.clone());
            e.require_tls = Some(e.require_tls.unwrap_or(global.smtp_require_tls));
        }
    }
    Ok(())
}

/// Every `*_file` of one receiver read into its secret field, and every
/// `http_config` checked.
fn read_secret_files(
    r: &mut Receiver,
    at: &impl Fn(String) -> String,
    files: &SecretFiles<'_>,
) -> Result<(), ConfigError> {
    let http = |cfg: &Option<HttpConfig>, item: String| match cfg {
        Some(h) => h.check(&at(format!("{item}.http_config")), files),
        None => Ok(()),
    };
    for (j, w) in r.webhook_configs.iter_mut().enumerate() {
        let item = format!("webhook_configs[{j}]");
        files.resolve(&at(item.clone()), "url", &mut w.url, &w.url_file)?;
        http(&w.http_config, item)?;
    }
    for (j, s) in r.slack_configs.iter_mut().enumerate() {
        let item = format!("slack_configs[{j}]");
        files.resolve(
            &at(item.clone()),
            "api_url",
            &mut s.api_url,
            &s.api_url_file,
        )?;
        http(&s.http_config, item)?;
    }
    for (j, p) in r.pagerduty_configs.iter_mut().enumerate() {
        let item = format!("pagerduty_configs[{j}]");
        let path = at(item.clone());
        files.resolve(
            &path,
            "routing_key",
            &mut p.routing_key,
            &p.routing_key_file,
        )?;
        files.resolve(
            &path,
            "service_key",
            &mut p.service_key,
            &p.service_key_file,
        )?;
        http(&p.http_config, item)?;
    }
    for (j, e) in r.email_configs.iter_mut().enumerate() {
        let path = at(format!("email_configs[{j}]"));
        files.resolve(
            &path,
            "auth_password",
            &mut e.auth_password,
            &e.auth_password_file,
        )?;
        files.resolve(&path, "auth_secret", &mut e.auth_secret, &None)?;
    }
    Ok(())
}
