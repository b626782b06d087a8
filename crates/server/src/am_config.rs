//! `alertmanager:` in homeostat's config: the built-in Alertmanager's own
//! configuration file (Alertmanager's format, read by
//! `homeostat-alerting`), validated at startup and at every reload, with
//! each receiver's `*_configs` turned into notification targets through
//! `homeostat-notify`'s validating specs (one parser per field).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use homeostat_alerting::Receiver;
use homeostat_model::parse_duration;
use homeostat_notify::Target;
use homeostat_notify::spec::{EmailSpec, PagerDutySpec, SlackSpec, TargetsSpec, WebhookSpec};
use serde::Deserialize;

/// `alertmanager: {config_file, resolve_timeout, retention}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSection {
    /// Alertmanager's `alertmanager.yml`, relative to this file.
    pub config_file: String,
    /// Overrides the file's `global.resolve_timeout` (default 5m).
    pub resolve_timeout: Option<String>,
    /// How long expired silences and notification-log entries are kept.
    /// Defaults to 120h, like Alertmanager's `--data.retention`.
    pub retention: Option<String>,
}

/// The validated built-in Alertmanager settings.
#[derive(Debug, Clone)]
pub struct BuiltinAlertmanager {
    pub config_file: PathBuf,
    pub config: Arc<homeostat_alerting::Config>,
    /// The file's text, served by `/api/v2/status`.
    pub original: String,
    pub resolve_timeout: Duration,
    pub retention: Duration,
    /// Each receiver's targets, by receiver name (receivers without
    /// integrations have none: their notifications go nowhere).
    pub targets: BTreeMap<String, Vec<Target>>,
}

impl BuiltinAlertmanager {
    pub fn running(&self) -> homeostat_alerting::Running {
        homeostat_alerting::Running {
            config: self.config.clone(),
            original: self.original.clone(),
            resolve_timeout: self.resolve_timeout,
        }
    }
}

/// Loads the Alertmanager file named by the section; errors are
/// `(field, detail)` with the file and the offending receiver named.
pub fn load(
    section: &AlertmanagerSection,
    config_path: &str,
) -> Result<BuiltinAlertmanager, (String, String)> {
    let base = Path::new(config_path).parent().unwrap_or(Path::new(""));
    let file = if Path::new(&section.config_file).is_absolute() {
        PathBuf::from(&section.config_file)
    } else {
        base.join(&section.config_file)
    };
    let field = |f: &str| format!("alertmanager.{f}");
    let original = std::fs::read_to_string(&file).map_err(|e| {
        (
            field("config_file"),
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let config = homeostat_alerting::Config::from_yaml_str(&original, &file)
        .map_err(|e| (field("config_file"), e.to_string()))?;
    let dur = |name: &str, v: &Option<String>| -> Result<Option<Duration>, (String, String)> {
        match v {
            None => Ok(None),
            Some(s) => match parse_duration(s) {
                Ok(d) if !d.is_zero() => Ok(Some(d)),
                Ok(_) => Err((field(name), "must be greater than zero".into())),
                Err(e) => Err((field(name), e.to_string())),
            },
        }
    };
    let resolve_timeout =
        dur("resolve_timeout", &section.resolve_timeout)?.unwrap_or(config.global.resolve_timeout);
    let retention =
        dur("retention", &section.retention)?.unwrap_or(Duration::from_secs(120 * 3600));
    let mut targets = BTreeMap::new();
    for (i, r) in config.receivers.iter().enumerate() {
        let list = receiver_targets(r).map_err(|(f, d)| {
            (
                field("config_file"),
                format!("{}: receivers[{i}] ({:?}).{f}: {d}", file.display(), r.name),
            )
        })?;
        targets.insert(r.name.clone(), list);
    }
    Ok(BuiltinAlertmanager {
        config_file: file,
        config: Arc::new(config),
        original,
        resolve_timeout,
        retention,
        targets,
    })
}

/// A Go template in a field homeostat takes literally: use the default.
fn literal(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.contains("{{"))
}

/// Alertmanager's typed receiver → notify's target specs → validated targets.
fn receiver_targets(r: &Receiver) -> Result<Vec<Target>, (String, String)> {
    let mut spec = TargetsSpec::default();
    for (j, w) in r.webhook_configs.iter().enumerate() {
        let url = w.url.clone().ok_or_else(|| {
            (
                format!("webhook_configs[{j}].url_file"),
                "url_file is not supported; write the url".to_string(),
            )
        })?;
        spec.webhook_configs.push(WebhookSpec {
            url,
            max_alerts: w.max_alerts as usize,
            send_resolved: w.send_resolved,
            timeout: None,
        });
    }
    for (j, s) in r.slack_configs.iter().enumerate() {
        let api_url = s.api_url.clone().ok_or_else(|| {
            (
                format!("slack_configs[{j}].api_url_file"),
                "api_url_file is not supported; write the api_url".to_string(),
            )
        })?;
        spec.slack_configs.push(SlackSpec {
            api_url,
            channel: literal(&s.channel),
            username: literal(&s.username),
            icon_emoji: literal(&s.icon_emoji),
            send_resolved: s.send_resolved,
            timeout: None,
        });
    }
    for (j, p) in r.pagerduty_configs.iter().enumerate() {
        let routing_key = p.routing_key.clone().ok_or_else(|| {
            (
                format!("pagerduty_configs[{j}].service_key"),
                "the Events API v1 service_key is not supported; use routing_key (Events API v2)"
                    .to_string(),
            )
        })?;
        spec.pagerduty_configs.push(PagerDutySpec {
            routing_key,
            url: p.url.clone(),
            severity: literal(&p.severity),
            severity_label: None,
            source: literal(&p.client),
            component: literal(&p.component),
            group: literal(&p.group),
            class: literal(&p.class),
            send_resolved: p.send_resolved,
            timeout: None,
        });
    }
    for e in &r.email_configs {
        spec.email_configs.push(EmailSpec {
            to: e.to.clone(),
            from: e.from.clone().unwrap_or_default(),
            smarthost: e.smarthost.clone().unwrap_or_default(),
            auth_username: e.auth_username.clone(),
            auth_password: e.auth_password.clone(),
            require_tls: e.require_tls.unwrap_or(true),
            send_resolved: e.send_resolved,
            hello: e.hello.clone(),
            timeout: None,
        });
    }
    spec.validate()
        .map_err(|e| (String::new(), e.to_string()))
        .map_err(|(_, d)| ("integration".to_string(), d))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loads_relative_file_and_converts_receivers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("am.yml"),
            "global: {resolve_timeout: 2m}\nroute: {receiver: hook}\nreceivers:\n- name: hook\n  webhook_configs: [{url: 'http://127.0.0.1:1/x'}]\n- name: none\n",
        )
        .unwrap();
        let cfg = dir.path().join("homeostat.yml").display().to_string();
        let s = AlertmanagerSection {
            config_file: "am.yml".into(),
            ..Default::default()
        };
        let b = load(&s, &cfg).unwrap();
        assert_eq!(b.resolve_timeout, Duration::from_secs(120));
        assert_eq!(b.retention, Duration::from_secs(120 * 3600));
        assert_eq!(b.targets["hook"].len(), 1);
        assert!(b.targets["none"].is_empty());

        std::fs::write(
            dir.path().join("am.yml"),
            "route: {receiver: hook}\nreceivers:\n- name: hook\n  webhook_configs: [{url: 'ftp://x'}]\n",
        )
        .unwrap();
        let (field, detail) = load(&s, &cfg).unwrap_err();
        assert_eq!(field, "alertmanager.config_file");
        assert!(detail.contains("receivers[0] (\"hook\")"), "{detail}");
        std::fs::write(dir.path().join("am.yml"), "route: {receiver: nobody}\n").unwrap();
        let (_, detail) = load(&s, &cfg).unwrap_err();
        assert!(detail.contains("nobody"), "{detail}");
    }
}
