//! Email: the subject is the group title, the body a plain-text part and a
//! simple HTML part listing the alerts, their labels and annotations, and
//! the acknowledge links; assembled into an RFC 5322 message by `lettre`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::error::PayloadError;
use crate::gojson;
use crate::notification::{AlertData, GroupNotification};
use crate::payload::pagerduty::dedup_key;
use crate::payload::{DESCRIPTION, SUMMARY};
use crate::target::EmailTarget;

/// Subject and both bodies, before MIME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn content(n: &GroupNotification) -> EmailContent {
    EmailContent {
        subject: n.title(),
        text: text(n),
        html: html(n),
    }
}

/// The full message dated `date`. Message-ID and MIME boundary derive from
/// the group key and the date, so the same input always gives the same
/// bytes (lettre would otherwise pick random ones and read the clock).
pub fn message(
    n: &GroupNotification,
    target: &EmailTarget,
    date: DateTime<Utc>,
) -> Result<Message, PayloadError> {
    let c = content(n);
    let key = dedup_key(&n.group_key);
    let key = &key[..16];
    let millis = date.timestamp_millis();
    let mut builder = Message::builder()
        .from(mailbox(&target.from)?)
        .subject(c.subject)
        .date(SystemTime::from(date))
        .message_id(Some(format!("<{key}.{millis}@homeostat>")));
    for to in &target.to {
        builder = builder.to(mailbox(to)?);
    }
    let body = MultiPart::alternative()
        .boundary(format!("homeostat-{key}-{millis}"))
        .singlepart(SinglePart::plain(c.text))
        .singlepart(SinglePart::html(c.html));
    builder
        .multipart(body)
        .map_err(|e| PayloadError::Email(e.to_string()))
}

/// The message as it goes on the wire.
pub fn rfc5322(
    n: &GroupNotification,
    target: &EmailTarget,
    date: DateTime<Utc>,
) -> Result<Vec<u8>, PayloadError> {
    Ok(message(n, target, date)?.formatted())
}

fn mailbox(addr: &str) -> Result<Mailbox, PayloadError> {
    addr.parse()
        .map_err(|e: lettre::address::AddressError| PayloadError::Address {
            address: addr.to_string(),
            reason: e.to_string(),
        })
}

fn headline(a: &AlertData) -> &str {
    a.annotations
        .get(SUMMARY)
        .or_else(|| a.labels.get("alertname"))
        .map_or("alert", String::as_str)
}

fn pairs(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(n: &GroupNotification) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", n.title());
    let _ = writeln!(
        out,
        "{} firing, {} resolved (receiver {})",
        n.num_firing(),
        n.num_resolved(),
        n.receiver
    );
    if let Some(links) = n.action_links() {
        let _ = writeln!(out, "\nAcknowledge: {}", links.ack_url);
        let _ = writeln!(out, "Resolve: {}", links.resolve_url);
    }
    for (heading, alerts) in [
        ("Firing", n.firing().collect::<Vec<_>>()),
        ("Resolved", n.resolved().collect()),
    ] {
        if alerts.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{heading}:");
        for a in alerts {
            let _ = writeln!(out, "\n- {}", headline(a));
            if let Some(d) = a.annotations.get(DESCRIPTION) {
                let _ = writeln!(out, "  {d}");
            }
            let _ = writeln!(out, "  Labels: {}", pairs(&a.labels));
            if !a.annotations.is_empty() {
                let _ = writeln!(out, "  Annotations: {}", pairs(&a.annotations));
            }
            let _ = writeln!(out, "  Started: {}", gojson::rfc3339_nano(&a.starts_at));
            if let Some(end) = &a.ends_at {
                let _ = writeln!(out, "  Ended: {}", gojson::rfc3339_nano(end));
            }
            if !a.generator_url.is_empty() {
                let _ = writeln!(out, "  Source: {}", a.generator_url);
            }
        }
    }
    if n.truncated_alerts > 0 {
        let _ = writeln!(out, "\n…and {} more alerts", n.truncated_alerts);
    }
    let _ = writeln!(out, "\nView in homeostat: {}", n.alerts_url());
    out
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn html_pairs(out: &mut String, m: &BTreeMap<String, String>) {
    out.push_str("<ul>");
    for (k, v) in m {
        let _ = write!(out, "<li><code>{}</code> = {}</li>", esc(k), esc(v));
    }
    out.push_str("</ul>\n");
}

/// Whether `url` is an absolute http(s) URL, the only kind rendered as a link.
fn is_http_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn html(n: &GroupNotification) -> String {
    let mut out = String::new();
    let color = match n.status {
        crate::AlertStatus::Firing => "#c0392b",
        crate::AlertStatus::Resolved => "#27ae60",
    };
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family: sans-serif\">",
        esc(&n.title())
    );
    let _ = writeln!(
        out,
        "<h2 style=\"color: {color}\">{}</h2>\n<p>{} firing, {} resolved (receiver {})</p>",
        esc(&n.title()),
        n.num_firing(),
        n.num_resolved(),
        esc(&n.receiver)
    );
    if let Some(links) = n.action_links() {
        let _ = writeln!(
            out,
            "<p><a href=\"{}\">Acknowledge</a> | <a href=\"{}\">Resolve</a></p>",
            esc(&links.ack_url),
            esc(&links.resolve_url)
        );
    }
    for (heading, alerts) in [
        ("Firing", n.firing().collect::<Vec<_>>()),
        ("Resolved", n.resolved().collect()),
    ] {
        if alerts.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h3>{heading}</h3>");
        for a in alerts {
            let _ = writeln!(out, "<h4>{}</h4>", esc(headline(a)));
            if let Some(d) = a.annotations.get(DESCRIPTION) {
                let _ = writeln!(out, "<p>{}</p>", esc(d));
            }
            out.push_str("<p>Labels:</p>");
            html_pairs(&mut out, &a.labels);
            if !a.annotations.is_empty() {
                out.push_str("<p>Annotations:</p>");
                html_pairs(&mut out, &a.annotations);
            }
            let _ = write!(out, "<p>Started {}", gojson::rfc3339_nano(&a.starts_at));
            if let Some(end) = &a.ends_at {
                let _ = write!(out, ", ended {}", gojson::rfc3339_nano(end));
            }
            if is_http_url(&a.generator_url) {
                let _ = write!(out, " · <a href=\"{}\">Source</a>", esc(&a.generator_url));
            } else if !a.generator_url.is_empty() {
                // Pushed alerts carry any string here: a `javascript:` or
                // `data:` URL is shown, never made a link.
                let _ = write!(out, " · source <code>{}</code>", esc(&a.generator_url));
            }
            out.push_str("</p>\n");
        }
    }
    if n.truncated_alerts > 0 {
        let _ = writeln!(out, "<p>…and {} more alerts</p>", n.truncated_alerts);
    }
    let _ = writeln!(
        out,
        "<p><a href=\"{}\">View in homeostat</a></p>\n</body></html>",
        esc(&n.alerts_url())
    );
    out
}
