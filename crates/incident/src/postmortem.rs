//! Blameless postmortems as Markdown. The facts (timeline, metrics,
//! impact numbers, changes, action items) are filled in; the judgement
//! sections are left for the review. Pure: the same inputs always give the
//! same bytes, so the output is golden-tested.

use std::fmt::Write;

use homeostat_state::{ActionItem, EventKind, Incident, Role, TimelineEvent};

use crate::service::role_name;

/// What the incident cost, computed by the caller from the metrics store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Impact {
    pub slos: Vec<SloImpact>,
    /// Deploys in or shortly before the incident window.
    pub deploys: Vec<DeployInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloImpact {
    pub id: String,
    /// Target ratio, e.g. 0.999.
    pub objective: f64,
    /// Share of the SLO period's error budget spent during the incident.
    pub budget_consumed_ratio: f64,
    pub error_minutes: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployInfo {
    pub service: String,
    pub version: String,
    pub at: i64,
    pub author: String,
    /// For a deploy of a declared dependency: the path from the incident's
    /// service to it (`[checkout, payments]`); empty for its own deploys.
    pub via: Vec<String>,
}

/// Renders the postmortem of `incident`. `timeline` is shown in the order
/// given (the store's order: by time, then sequence).
pub fn render_postmortem(
    incident: &Incident,
    timeline: &[TimelineEvent],
    action_items: &[ActionItem],
    impact: &Impact,
) -> String {
    let mut out = String::new();
    let o = &mut out;
    let i = incident;
    let start = i.detected_at.unwrap_or(i.created_at).min(i.created_at);

    line(o, &format!("# Postmortem: {} — {}", i.id, cell(&i.title)));
    line(o, "");
    line(
        o,
        "_Blameless review: it describes what happened and why each decision made sense at the time, so that systems and responses get better. It names no one as a cause._",
    );
    line(o, "");
    line(o, "| | |");
    line(o, "|---|---|");
    line(o, &format!("| Incident | {} |", i.id));
    line(o, &format!("| Severity | {} |", i.severity));
    line(o, &format!("| State | {} |", i.state));
    line(
        o,
        &format!(
            "| Service | {} |",
            cell(i.service.as_deref().unwrap_or("n/a"))
        ),
    );
    for role in Role::ALL {
        let who = i.roles.get(role).map_or("unassigned", String::as_str);
        line(
            o,
            &format!("| {} | {} |", capitalise(role_name(*role)), cell(who)),
        );
    }
    if let Some(g) = &i.group_key {
        let shown = match group_key_labels(g) {
            Some(pairs) if pairs.is_empty() => "every alert".to_string(),
            Some(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("`{}={}`", code_cell(k), code_cell(v)))
                .collect::<Vec<_>>()
                .join(" "),
            None => format!("`{}`", code_cell(g)),
        };
        line(o, &format!("| Alert group | {shown} |"));
    }
    for url in &i.runbook_urls {
        line(o, &format!("| Runbook | {} |", cell(url)));
    }

    line(o, "");
    line(o, "## Summary");
    line(o, "");
    let first = match i.detected_at {
        Some(d) => format!("first alert fired at {}, ", time(d)),
        None => String::new(),
    };
    let ended = match i.resolved_at {
        Some(r) => format!("resolved at {} ({} in all)", time(r), duration(r - start)),
        None => "not resolved yet".to_string(),
    };
    line(
        o,
        &format!(
            "{} ({}): {first}opened at {}, {ended}.",
            i.id,
            i.severity,
            time(i.created_at)
        ),
    );
    line(o, "");
    line(
        o,
        "_What happened, who was affected and how it was fixed, in two or three sentences._",
    );

    write_impact(o, i, start, impact);
    write_metrics(o, i, timeline);
    write_timeline(o, timeline);
    write_changes(o, start, &impact.deploys);
    write_action_items(o, action_items);

    for section in ["What went well", "What went wrong", "Where we got lucky"] {
        line(o, "");
        line(o, &format!("## {section}"));
        line(o, "");
        line(o, "_To be written in the review._");
    }
    out
}

fn write_impact(o: &mut String, i: &Incident, start: i64, impact: &Impact) {
    line(o, "");
    line(o, "## Impact");
    line(o, "");
    let duration = match i.resolved_at {
        Some(r) => duration(r - start),
        None => "ongoing".to_string(),
    };
    line(
        o,
        &format!(
            "- Duration: {duration} (from {} to {})",
            time(start),
            i.resolved_at.map_or("now".to_string(), time)
        ),
    );
    if impact.slos.is_empty() {
        line(o, "- SLOs affected: none recorded");
        return;
    }
    line(o, "");
    line(
        o,
        "| SLO | Objective | Error budget consumed | Error minutes |",
    );
    line(o, "|---|---|---|---|");
    for s in &impact.slos {
        line(
            o,
            &format!(
                "| {} | {} | {} | {} |",
                cell(&s.id),
                percent(s.objective),
                percent(s.budget_consumed_ratio),
                number(s.error_minutes)
            ),
        );
    }
}

fn write_metrics(o: &mut String, i: &Incident, timeline: &[TimelineEvent]) {
    line(o, "");
    line(o, "## Detection and response");
    line(o, "");
    line(o, "| Metric | Measured | Value |");
    line(o, "|---|---|---|");
    let span = |from: Option<i64>, to: Option<i64>| match (from, to) {
        (Some(f), Some(t)) => duration(t - f),
        _ => "n/a".to_string(),
    };
    let opened = Some(i.created_at);
    let rows = [
        (
            "Time to detect",
            "alert pending → first alert fired",
            span(began_at(timeline), i.detected_at),
        ),
        (
            "Time to open",
            "first alert fired → incident opened",
            span(i.detected_at, opened),
        ),
        (
            "Time to acknowledge",
            "opened → acknowledged",
            span(opened, i.acknowledged_at),
        ),
        (
            "Time to mitigate",
            "opened → mitigated",
            span(opened, i.mitigated_at),
        ),
        (
            "Time to resolve",
            "opened → resolved",
            span(opened, i.resolved_at),
        ),
    ];
    for (name, measured, value) in rows {
        line(o, &format!("| {name} | {measured} | {value} |"));
    }
}

fn write_timeline(o: &mut String, timeline: &[TimelineEvent]) {
    line(o, "");
    line(o, "## Timeline");
    line(o, "");
    if timeline.is_empty() {
        line(o, "No events recorded.");
        return;
    }
    line(o, "All times UTC.");
    line(o, "");
    line(o, "| Time | Event | Who | What |");
    line(o, "|---|---|---|---|");
    for e in timeline {
        line(
            o,
            &format!(
                "| {} | {} | {} | {} |",
                time(e.at),
                event_name(e.kind),
                cell(e.actor.as_deref().unwrap_or("—")),
                cell(&e.summary)
            ),
        );
    }
}

fn write_changes(o: &mut String, start: i64, deploys: &[DeployInfo]) {
    line(o, "");
    line(o, "## Contributing changes");
    line(o, "");
    if deploys.is_empty() {
        line(o, "No deploys recorded around the incident.");
        return;
    }
    line(
        o,
        "Deploys of the service and of its declared dependencies around the incident; offsets are from its start.",
    );
    line(o, "");
    line(o, "| Time | Offset | Service | Version | Author |");
    line(o, "|---|---|---|---|---|");
    let mut deploys: Vec<&DeployInfo> = deploys.iter().collect();
    deploys.sort_by(|a, b| (a.at, &a.service).cmp(&(b.at, &b.service)));
    for d in deploys {
        let offset = d.at - start;
        let sign = if offset < 0 { "−" } else { "+" };
        line(
            o,
            &format!(
                "| {} | {sign}{} | {} | {} | {} |",
                time(d.at),
                duration(offset.abs()),
                cell(&service_cell(d)),
                cell(&d.version),
                cell(&d.author)
            ),
        );
    }
}

/// The service, and for a dependency's deploy how it is one.
fn service_cell(d: &DeployInfo) -> String {
    if d.via.is_empty() {
        d.service.clone()
    } else {
        format!("{} (dependency: {})", d.service, d.via.join(" → "))
    }
}

fn write_action_items(o: &mut String, items: &[ActionItem]) {
    line(o, "");
    line(o, "## Action items");
    line(o, "");
    if items.is_empty() {
        line(o, "None yet.");
        return;
    }
    line(o, "| # | Item | Owner | Due | State |");
    line(o, "|---|---|---|---|---|");
    for a in items {
        line(
            o,
            &format!(
                "| {} | {} | {} | {} | {} |",
                a.id,
                cell(&a.title),
                cell(a.owner.as_deref().unwrap_or("unassigned")),
                a.due
                    .map_or("—".to_string(), |d| d.format("%Y-%m-%d").to_string()),
                a.state.as_str().replace('_', " ")
            ),
        );
    }
}

fn line(o: &mut String, text: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(o, "{text}");
}

/// When the problem began, as far as the alerts tell: the earliest time
/// one of them became pending. `None` when no source said (alerts posted
/// to the Alertmanager API carry only their firing time).
pub fn began_at(timeline: &[TimelineEvent]) -> Option<i64> {
    timeline
        .iter()
        .filter(|e| e.kind == EventKind::AlertPending)
        .map(|e| e.at)
        .min()
}

fn event_name(kind: EventKind) -> String {
    kind.as_str().replace('_', " ")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// Text safe inside backticks inside a table cell.
/// An Alertmanager group key (`{}/{route matchers}:{alertname="X", …}`) →
/// the group's labels, in the key's order; `None` when `key` is not one.
/// The labels are the last top-level `{…}` after a `:`; quoted values may
/// hold braces and escapes (Go's `%q`).
pub(crate) fn group_key_labels(key: &str) -> Option<Vec<(String, String)>> {
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    let (mut open, mut close) = (None, None);
    for (i, c) in key.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '{' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                }
            }
            _ => {}
        }
    }
    let (open, close) = (open?, close?);
    if depth != 0 || close < open || (open > 0 && !key[..open].ends_with(':')) {
        return None;
    }
    let mut body = key[open + 1..close].trim();
    let mut pairs = Vec::new();
    while !body.is_empty() {
        let (name, rest) = body.split_once('=')?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let rest = rest.trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        pairs.push((name.to_string(), value));
        body = rest[end + 1..].trim_start();
        body = body.strip_prefix(',').unwrap_or(body).trim_start();
    }
    Some(pairs)
}

fn code_cell(s: &str) -> String {
    s.replace('`', "'")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// `2026-11-30 14:05:09 UTC`; milliseconds are dropped.
pub(crate) fn time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{ms} ms"),
    }
}

/// `1d 2h 3m 4s`, largest units first, zero units left out; `0s` for
/// nothing, and a leading `-` if `to` came before `from` (clock skew).
pub(crate) fn duration(ms: i64) -> String {
    if ms < 0 {
        return format!("-{}", duration(ms.saturating_neg()));
    }
    let mut secs = ms / 1000;
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            parts.push(format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if parts.is_empty() {
        "0s".to_string()
    } else {
        parts.join(" ")
    }
}

/// A ratio as a percentage, up to three decimals, no trailing zeros.
fn percent(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{} %", number(ratio * 100.0))
    } else {
        "n/a".to_string()
    }
}

fn number(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_keys_read_as_labels() {
        let pairs = |k: &str| group_key_labels(k);
        let own = |v: &[(&str, &str)]| {
            Some(
                v.iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            pairs(r#"{}:{alertname="HighErrorRate", service="checkout"}"#),
            own(&[("alertname", "HighErrorRate"), ("service", "checkout")])
        );
        assert_eq!(
            pairs(r#"{}/{team="a"}:{alertname="X{y}", q="say \"hi\""}"#),
            own(&[("alertname", "X{y}"), ("q", "say \"hi\"")])
        );
        assert_eq!(pairs("{}:{}"), own(&[]));
        assert_eq!(pairs("INC-4 by hand"), None);
        assert_eq!(pairs(r#"{}:{alertname="unterminated}"#), None);
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(999), "0s");
        assert_eq!(duration(61_000), "1m 1s");
        assert_eq!(duration(3_600_000), "1h");
        assert_eq!(duration(90_061_000), "1d 1h 1m 1s");
        assert_eq!(duration(-5_000), "-5s");
    }

    #[test]
    fn numbers_and_percentages() {
        assert_eq!(percent(0.999), "99.9 %");
        assert_eq!(percent(0.25), "25 %");
        assert_eq!(percent(f64::NAN), "n/a");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(-0.0001), "0");
    }

    #[test]
    fn cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b<br>c");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(1_764_513_909_123), "2025-11-30 14:45:09 UTC");
    }
}
