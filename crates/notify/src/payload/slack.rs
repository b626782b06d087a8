//! Slack incoming-webhook payload: one attachment, red while firing and
//! green once resolved, the title shaped like Alertmanager's and a text that
//! lists the alerts and the acknowledge link.

use std::fmt::Write;

use serde::Serialize;

use crate::error::PayloadError;
use crate::notification::{AlertStatus, GroupNotification};
use crate::payload::{DESCRIPTION, SUMMARY};
use crate::target::SlackTarget;

#[derive(Debug, Serialize)]
pub struct SlackMessage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<&'a str>,
    pub attachments: Vec<SlackAttachment>,
}

#[derive(Debug, Serialize)]
pub struct SlackAttachment {
    pub color: &'static str,
    pub title: String,
    pub title_link: String,
    pub text: String,
    pub fallback: String,
    pub mrkdwn_in: Vec<&'static str>,
}

pub fn message<'a>(n: &GroupNotification, target: &'a SlackTarget) -> SlackMessage<'a> {
    let title = n.title();
    let title_link = n.alerts_url();
    let fallback = match n.action_links() {
        Some(links) => format!("{title} | acknowledge: {}", links.ack_url),
        None => format!("{title} | {title_link}"),
    };
    SlackMessage {
        channel: target.channel.as_deref(),
        username: target.username.as_deref(),
        icon_emoji: target.icon_emoji.as_deref(),
        attachments: vec![SlackAttachment {
            color: match n.status {
                AlertStatus::Firing => "danger",
                AlertStatus::Resolved => "good",
            },
            title,
            title_link,
            text: text(n),
            fallback,
            mrkdwn_in: vec!["text"],
        }],
    }
}

pub fn body(n: &GroupNotification, target: &SlackTarget) -> Result<Vec<u8>, PayloadError> {
    Ok(serde_json::to_vec(&message(n, target))?)
}

/// The attachment text in Slack mrkdwn: one block per alert, then the
/// acknowledge and resolve links.
pub fn text(n: &GroupNotification) -> String {
    let mut out = String::new();
    for a in &n.alerts {
        let headline = a
            .annotations
            .get(SUMMARY)
            .or_else(|| a.labels.get("alertname"))
            .map_or("alert", String::as_str);
        let _ = writeln!(out, "*[{}]* {}", a.status.as_str(), escape(headline));
        if let Some(d) = a.annotations.get(DESCRIPTION) {
            let _ = writeln!(out, "{}", escape(d));
        }
        let labels: Vec<String> = a
            .labels
            .iter()
            .map(|(k, v)| format!("`{}={}`", escape(k), escape(v)))
            .collect();
        if !labels.is_empty() {
            let _ = writeln!(out, "*Labels:* {}", labels.join(" "));
        }
        if !a.generator_url.is_empty() {
            let _ = writeln!(out, "<{}|Source>", escape(&a.generator_url));
        }
        out.push('\n');
    }
    if n.truncated_alerts > 0 {
        let _ = writeln!(out, "…and {} more alerts\n", n.truncated_alerts);
    }
    if let Some(links) = n.action_links() {
        let _ = write!(
            out,
            "<{}|Acknowledge> · <{}|Resolve>",
            escape(&links.ack_url),
            escape(&links.resolve_url)
        );
    }
    out.trim_end().to_string()
}

/// Slack reads `&`, `<` and `>` as markup; everything else is literal.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
