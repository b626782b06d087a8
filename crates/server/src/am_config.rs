//! `alertmanager:` in homeostat's config: the built-in Alertmanager's own
//! configuration file (Alertmanager's format, read by
//! `homeostat-alerting`), validated at startup and at every reload, with
//! each receiver's `*_configs` turned into notification targets through
//! `homeostat-notify`'s validating specs (one parser per field). Without a
//! file, [`DEFAULT_CONFIG`] runs, so the Alertmanager API answers from the
//! first start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use homeostat_alerting::Receiver;
use homeostat_model::FieldError;
use homeostat_notify::Target;
use homeostat_notify::spec::{EmailSpec, PagerDutySpec, SlackSpec, TargetsSpec, WebhookSpec};
use serde::Deserialize;

use crate::config::positive_duration;

/// The built-in Alertmanager's configuration while `alertmanager.config_file`
/// is not set, served as the effective config by `/api/v2/status`. Its one
/// receiver has no integrations: alerts are kept (the API, the console's
/// alerts page) and paging groups open incidents (`incidents.open_for`),
/// but nothing is sent. The console's alerts page recognises it by its
/// first line (`DEFAULT_ROUTE_MARKER` in crates/ui/assets/alerts.js).
pub const DEFAULT_CONFIG: &str = "\
# homeostat's built-in default: alertmanager.config_file is not set.
route:
  receiver: default
  group_by: [alertname]
  group_wait: 5s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: default
";

/// How long expired silences and notification-log entries are kept by
/// default, like Alertmanager's `--data.retention`.
const DEFAULT_RETENTION: Duration = Duration::from_secs(120 * 3600);

/// `alertmanager: {config_file, resolve_timeout, retention, expand_env}`.
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
    /// Replace `${NAME}` in the file with environment variables. Off by
    /// default so that nothing is expanded behind the operator's back.
    #[serde(default)]
    pub expand_env: bool,
}

/// The validated built-in Alertmanager settings.
#[derive(Debug, Clone)]
pub struct BuiltinAlertmanager {
    /// The file read; `None` for the built-in default route.
    pub config_file: Option<PathBuf>,
    pub config: Arc<homeostat_alerting::Config>,
    /// The file's text with every secret replaced by `<secret>` (or
    /// [`DEFAULT_CONFIG`]), served by `/api/v2/status`. The clear text is
    /// not kept.
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

    /// Whether this is the built-in default route rather than a file.
    pub fn is_default(&self) -> bool {
        self.config_file.is_none()
    }
}

/// The `alertmanager:` section: the file it names, or the default route.
pub fn validate(
    section: Option<&AlertmanagerSection>,
    config_path: &str,
) -> Result<BuiltinAlertmanager, FieldError> {
    match section {
        Some(s) => load(s, config_path),
        None => builtin_default(),
    }
}

/// The built-in default route (see [`DEFAULT_CONFIG`]).
pub fn builtin_default() -> Result<BuiltinAlertmanager, FieldError> {
    let config = homeostat_alerting::Config::parse(DEFAULT_CONFIG)
        .map_err(|e| FieldError::new("alertmanager", format!("built-in default: {e}")))?;
    from_config(
        None,
        config,
        DEFAULT_CONFIG.to_string(),
        None,
        DEFAULT_RETENTION,
    )
}

/// Loads the Alertmanager file named by the section; errors name the
/// file and the offending receiver.
pub fn load(
    section: &AlertmanagerSection,
    config_path: &str,
) -> Result<BuiltinAlertmanager, FieldError> {
    let base = Path::new(config_path).parent().unwrap_or(Path::new(""));
    let file = if Path::new(&section.config_file).is_absolute() {
        PathBuf::from(&section.config_file)
    } else {
        base.join(&section.config_file)
    };
    let at = |f: &str| format!("alertmanager.{f}");
    let original = std::fs::read_to_string(&file).map_err(|e| {
        FieldError::new(
            at("config_file"),
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let options = homeostat_alerting::LoadOptions {
        expand_env: section.expand_env,
    };
    let config = homeostat_alerting::Config::from_yaml_str_with(&original, &file, options)
        .map_err(|e| FieldError::new(at("config_file"), e.to_string()))?;
    let original = homeostat_alerting::masked_yaml(&original)
        .map_err(|e| FieldError::new(at("config_file"), e.to_string()))?;
    let resolve_timeout = positive_duration(&at("resolve_timeout"), &section.resolve_timeout)?;
    let retention =
        positive_duration(&at("retention"), &section.retention)?.unwrap_or(DEFAULT_RETENTION);
    from_config(Some(file), config, original, resolve_timeout, retention)
}

fn from_config(
    file: Option<PathBuf>,
    config: homeostat_alerting::Config,
    original: String,
    resolve_timeout: Option<Duration>,
    retention: Duration,
) -> Result<BuiltinAlertmanager, FieldError> {
    let mut targets = BTreeMap::new();
    for (i, r) in config.receivers.iter().enumerate() {
        let list = receiver_targets(r).map_err(|e| {
            let name = file.as_ref().map_or_else(
                || "built-in default".to_string(),
                |f| f.display().to_string(),
            );
            FieldError::new(
                "alertmanager.config_file",
                format!(
                    "{name}: receivers[{i}] ({:?}).{}: {}",
                    r.name,
                    e.field,
                    e.detail()
                ),
            )
        })?;
        targets.insert(r.name.clone(), list);
    }
    Ok(BuiltinAlertmanager {
        config_file: file,
        resolve_timeout: resolve_timeout.unwrap_or(config.global.resolve_timeout),
        config: Arc::new(config),
        original,
        retention,
        targets,
    })
}

/// A Go template in a field homeostat takes literally: use the default.
fn literal(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.contains("{{"))
}

/// Alertmanager's typed receiver → notify's target specs → validated targets.
fn receiver_targets(r: &Receiver) -> Result<Vec<Target>, FieldError> {
    let mut spec = TargetsSpec::default();
    // The alerting crate has already read every `*_file` and applied the
    // global fallbacks, so the secrets are set here.
    let missing = |field: String| {
        FieldError::new(field, "missing after loading").with_fix("report this as a bug")
    };
    for (j, w) in r.webhook_configs.iter().enumerate() {
        let url = w
            .url
            .clone()
            .ok_or_else(|| missing(format!("webhook_configs[{j}].url")))?;
        spec.webhook_configs.push(WebhookSpec {
            url,
            max_alerts: w.max_alerts as usize,
            send_resolved: w.send_resolved,
            timeout: None,
        });
    }
    for (j, s) in r.slack_configs.iter().enumerate() {
        let api_url = s
            .api_url
            .clone()
            .ok_or_else(|| missing(format!("slack_configs[{j}].api_url")))?;
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
            FieldError::new(
                format!("pagerduty_configs[{j}].service_key"),
                "the Events API v1 service_key is not supported",
            )
            .with_fix("use routing_key (Events API v2)")
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
        .map_err(|e| FieldError::new("integration", e.to_string()))
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
        assert!(!b.is_default());
        // The status copy masks the webhook URL.
        assert!(!b.original.contains("127.0.0.1:1/x"), "{}", b.original);
        assert!(
            b.original.contains("url: http://127.0.0.1:1/<secret>"),
            "{}",
            b.original
        );

        std::fs::write(
            dir.path().join("am.yml"),
            "route: {receiver: hook}\nreceivers:\n- name: hook\n  webhook_configs: [{url: 'ftp://x'}]\n",
        )
        .unwrap();
        let e = load(&s, &cfg).unwrap_err();
        assert_eq!(e.field, "alertmanager.config_file");
        assert!(e.problem.contains("receivers[0] (\"hook\")"), "{e}");
        std::fs::write(dir.path().join("am.yml"), "route: {receiver: nobody}\n").unwrap();
        let e = load(&s, &cfg).unwrap_err();
        assert!(e.problem.contains("nobody"), "{e}");
    }

    #[test]
    fn the_default_route_keeps_alerts_in_one_receiver_without_integrations() {
        let b = builtin_default().unwrap();
        assert!(b.is_default());
        assert_eq!(b.original, DEFAULT_CONFIG);
        assert_eq!(b.config.route.opts.receiver, "default");
        assert_eq!(b.config.receivers.len(), 1);
        assert!(b.targets["default"].is_empty());
        assert_eq!(b.resolve_timeout, Duration::from_secs(300));
        assert_eq!(b.retention, DEFAULT_RETENTION);
    }
}
