//! The YAML shapes of receiver targets (field names follow Alertmanager's
//! `*_configs`), validated into [`Target`]s. Errors name the field and the
//! fix; the caller adds the file and the receiver.

use std::time::Duration;

use homeostat_model::{Secret, parse_duration};
use serde::Deserialize;

use crate::error::ConfigError;
use crate::target::{
    DEFAULT_PAGERDUTY_URL, DEFAULT_TIMEOUT, EmailTarget, PagerDutyTarget, Severity, SlackTarget,
    Smarthost, Target, WebhookTarget,
};

/// Every target of one receiver, as Alertmanager groups them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsSpec {
    #[serde(default)]
    pub webhook_configs: Vec<WebhookSpec>,
    #[serde(default)]
    pub slack_configs: Vec<SlackSpec>,
    #[serde(default)]
    pub pagerduty_configs: Vec<PagerDutySpec>,
    #[serde(default)]
    pub email_configs: Vec<EmailSpec>,
}

impl TargetsSpec {
    pub fn validate(&self) -> Result<Vec<Target>, ConfigError> {
        let mut out = Vec::new();
        for (i, s) in self.webhook_configs.iter().enumerate() {
            out.push(
                s.validate()
                    .map_err(|e| e.within(&format!("webhook_configs[{i}]")))?,
            );
        }
        for (i, s) in self.slack_configs.iter().enumerate() {
            out.push(
                s.validate()
                    .map_err(|e| e.within(&format!("slack_configs[{i}]")))?,
            );
        }
        for (i, s) in self.pagerduty_configs.iter().enumerate() {
            out.push(
                s.validate()
                    .map_err(|e| e.within(&format!("pagerduty_configs[{i}]")))?,
            );
        }
        for (i, s) in self.email_configs.iter().enumerate() {
            out.push(
                s.validate()
                    .map_err(|e| e.within(&format!("email_configs[{i}]")))?,
            );
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    pub url: Secret,
    #[serde(default)]
    pub max_alerts: usize,
    #[serde(default = "yes")]
    pub send_resolved: bool,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl WebhookSpec {
    pub fn validate(&self) -> Result<Target, ConfigError> {
        Ok(Target::Webhook(WebhookTarget {
            url: http_url("url", self.url.expose())?,
            max_alerts: self.max_alerts,
            send_resolved: self.send_resolved,
            timeout: timeout(self.timeout.as_deref())?,
        }))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSpec {
    pub api_url: Secret,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub icon_emoji: Option<String>,
    #[serde(default)]
    pub send_resolved: bool,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl SlackSpec {
    pub fn validate(&self) -> Result<Target, ConfigError> {
        Ok(Target::Slack(SlackTarget {
            api_url: http_url("api_url", self.api_url.expose())?,
            channel: self.channel.clone(),
            username: self.username.clone(),
            icon_emoji: self.icon_emoji.clone(),
            send_resolved: self.send_resolved,
            timeout: timeout(self.timeout.as_deref())?,
        }))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySpec {
    pub routing_key: Secret,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub severity_label: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub component: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default = "yes")]
    pub send_resolved: bool,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl PagerDutySpec {
    pub fn validate(&self) -> Result<Target, ConfigError> {
        if self.routing_key.expose().trim().is_empty() {
            return Err(ConfigError::new(
                "routing_key",
                "is empty: set it to the integration key of a PagerDuty Events API v2 integration",
            ));
        }
        let severity = match self.severity.as_deref() {
            None => Severity::Critical,
            Some(s) => Severity::parse(s).ok_or_else(|| {
                ConfigError::new(
                    "severity",
                    format!(
                        "{s:?} is not a PagerDuty severity: use critical, error, warning or info"
                    ),
                )
            })?,
        };
        let url = match &self.url {
            None => DEFAULT_PAGERDUTY_URL.to_string(),
            Some(u) => http_url("url", u)?,
        };
        Ok(Target::PagerDuty(PagerDutyTarget {
            routing_key: self.routing_key.expose().to_string(),
            url,
            severity,
            severity_label: self.severity_label.clone(),
            source: self.source.clone(),
            component: self.component.clone(),
            group: self.group.clone(),
            class: self.class.clone(),
            send_resolved: self.send_resolved,
            timeout: timeout(self.timeout.as_deref())?,
        }))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSpec {
    /// One address or several separated by commas, as in Alertmanager.
    pub to: String,
    pub from: String,
    pub smarthost: String,
    #[serde(default)]
    pub auth_username: Option<String>,
    #[serde(default)]
    pub auth_password: Option<Secret>,
    #[serde(default = "yes")]
    pub require_tls: bool,
    #[serde(default)]
    pub send_resolved: bool,
    #[serde(default)]
    pub hello: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl EmailSpec {
    pub fn validate(&self) -> Result<Target, ConfigError> {
        let to: Vec<String> = self
            .to
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if to.is_empty() {
            return Err(ConfigError::new(
                "to",
                "is empty: give at least one address",
            ));
        }
        for addr in &to {
            mailbox("to", addr)?;
        }
        mailbox("from", &self.from)?;
        if self.auth_username.is_some() != self.auth_password.is_some() {
            return Err(ConfigError::new(
                "auth_password",
                "auth_username and auth_password go together: set both or neither",
            ));
        }
        Ok(Target::Email(EmailTarget {
            to,
            from: self.from.clone(),
            smarthost: smarthost(&self.smarthost)?,
            auth_username: self.auth_username.clone(),
            auth_password: self.auth_password.as_ref().map(|p| p.expose().to_string()),
            require_tls: self.require_tls,
            send_resolved: self.send_resolved,
            hello: self
                .hello
                .clone()
                .unwrap_or_else(|| "localhost".to_string()),
            timeout: timeout(self.timeout.as_deref())?,
        }))
    }
}

fn yes() -> bool {
    true
}

/// Errors never quote `url`: its path or query may be the secret.
fn http_url(field: &str, url: &str) -> Result<String, ConfigError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {
            reqwest::Url::parse(url)
                .map_err(|e| ConfigError::new(field, format!("is not a valid URL: {e}")))?;
            Ok(url.to_string())
        }
        _ => Err(ConfigError::new(
            field,
            "is not an http:// or https:// URL with a host",
        )),
    }
}

fn timeout(s: Option<&str>) -> Result<Duration, ConfigError> {
    let Some(s) = s else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let d = parse_duration(s).map_err(|e| ConfigError::new("timeout", e.to_string()))?;
    if d.is_zero() {
        return Err(ConfigError::new("timeout", "must be positive, e.g. 10s"));
    }
    Ok(d)
}

fn mailbox(field: &str, addr: &str) -> Result<(), ConfigError> {
    addr.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| {
            ConfigError::new(
                field,
                format!("{addr:?} is not an email address ({e}): write it as a@example.org or Name <a@example.org>"),
            )
        })
}

fn smarthost(s: &str) -> Result<Smarthost, ConfigError> {
    let bad = || {
        ConfigError::new(
            "smarthost",
            format!("{s:?} is not host:port: write e.g. smtp.example.org:587"),
        )
    };
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    Ok(Smarthost {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn smarthost_parses_host_and_port() {
        let h = smarthost("mail.example.org:587").unwrap();
        assert_eq!((h.host.as_str(), h.port), ("mail.example.org", 587));
        let h = smarthost("[::1]:25").unwrap();
        assert_eq!(h.host, "::1");
        assert!(smarthost("mail.example.org").is_err());
        assert!(smarthost(":25").is_err());
    }

    #[test]
    fn urls_need_a_scheme_and_host() {
        assert!(http_url("url", "http://localhost:9/x").is_ok());
        assert!(http_url("url", "ftp://x").is_err());
        assert!(http_url("url", "http://").is_err());
    }
}
