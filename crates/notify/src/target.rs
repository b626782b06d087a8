//! Where a notification goes: one validated target per receiver type. The
//! YAML shapes that produce them live in `spec.rs`.

use std::fmt;
use std::time::Duration;

/// The default HTTP timeout of one delivery attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// PagerDuty's Events API v2 endpoint.
pub const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Any receiver target; what [`crate::deliver`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Webhook(WebhookTarget),
    Slack(SlackTarget),
    PagerDuty(PagerDutyTarget),
    Email(EmailTarget),
}

impl Target {
    pub fn send_resolved(&self) -> bool {
        match self {
            Target::Webhook(t) => t.send_resolved,
            Target::Slack(t) => t.send_resolved,
            Target::PagerDuty(t) => t.send_resolved,
            Target::Email(t) => t.send_resolved,
        }
    }

    /// The receiver type, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Webhook(_) => "webhook",
            Target::Slack(_) => "slack",
            Target::PagerDuty(_) => "pagerduty",
            Target::Email(_) => "email",
        }
    }
}

/// An Alertmanager-compatible webhook (payload version 4).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: String,
    /// At most this many alerts in one payload, 0 for no limit; the rest are
    /// counted in `truncatedAlerts`.
    pub max_alerts: usize,
    pub send_resolved: bool,
    pub timeout: Duration,
}

/// A Slack incoming webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackTarget {
    pub api_url: String,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub icon_emoji: Option<String>,
    pub send_resolved: bool,
    pub timeout: Duration,
}

/// PagerDuty's four event severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    /// Case-insensitive; `None` for anything PagerDuty would reject.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// PagerDuty Events API v2.
#[derive(Clone, PartialEq, Eq)]
pub struct PagerDutyTarget {
    pub routing_key: String,
    pub url: String,
    /// Used when `severity_label` is unset or its value is not a PagerDuty
    /// severity.
    pub severity: Severity,
    /// A common label whose value (critical, error, warning, info) picks
    /// the severity, e.g. `severity`.
    pub severity_label: Option<String>,
    /// `payload.source`; the alerts' common `instance` label, then
    /// `homeostat`, when unset.
    pub source: Option<String>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub class: Option<String>,
    pub send_resolved: bool,
    pub timeout: Duration,
}

/// `host:port` of an SMTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smarthost {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Smarthost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Email over SMTP.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailTarget {
    /// Validated RFC 5322 mailboxes (`a@x` or `Name <a@x>`).
    pub to: Vec<String>,
    pub from: String,
    pub smarthost: Smarthost,
    pub auth_username: Option<String>,
    pub auth_password: Option<String>,
    /// STARTTLS is required (and the connection fails without it); off means
    /// plain SMTP, for local relays and test servers. Port 465 always uses
    /// implicit TLS.
    pub require_tls: bool,
    pub send_resolved: bool,
    /// The name given in EHLO.
    pub hello: String,
    pub timeout: Duration,
}

// By hand so that the password never reaches a log line.
impl fmt::Debug for EmailTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailTarget")
            .field("to", &self.to)
            .field("from", &self.from)
            .field("smarthost", &self.smarthost)
            .field("auth_username", &self.auth_username)
            .field(
                "auth_password",
                &self.auth_password.as_ref().map(|_| "<secret>"),
            )
            .field("require_tls", &self.require_tls)
            .field("send_resolved", &self.send_resolved)
            .field("hello", &self.hello)
            .field("timeout", &self.timeout)
            .finish()
    }
}

// Webhook and Slack URLs and PagerDuty's routing key are credentials:
// anyone holding them can post, so they stay out of logs.
impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &crate::outbound::redact_url(&self.url))
            .field("max_alerts", &self.max_alerts)
            .field("send_resolved", &self.send_resolved)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for SlackTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackTarget")
            .field("api_url", &"<secret>")
            .field("channel", &self.channel)
            .field("username", &self.username)
            .field("icon_emoji", &self.icon_emoji)
            .field("send_resolved", &self.send_resolved)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for PagerDutyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyTarget")
            .field("routing_key", &"<secret>")
            .field("url", &self.url)
            .field("severity", &self.severity)
            .field("severity_label", &self.severity_label)
            .field("source", &self.source)
            .field("component", &self.component)
            .field("group", &self.group)
            .field("class", &self.class)
            .field("send_resolved", &self.send_resolved)
            .field("timeout", &self.timeout)
            .finish()
    }
}
