//! Toil derived from the human actions homeostat saw: audit entries whose
//! actor is a person, incident work between ack and resolve, and rollback
//! deploys recorded by a person. Derived entries are computed on each read,
//! never stored, and their ids come from their source, so they are stable.

use std::collections::BTreeMap;

use homeostat_state::{
    AuditEntry, DeployFilter, Incident, IncidentFilter, IncidentState, Role, SilenceMatcher, State,
    ToilEntry, ToilSource,
};
use homeostat_toil::{WEEK_MS, default_minutes, kind, week_start};

use super::{ToilConfig, ToilError};

/// How many of the newest audit entries derivation reads: the audit log is
/// listed newest first, without a time index.
pub const DERIVE_AUDIT_LIMIT: usize = 100_000;
/// How many incidents and deploys derivation reads at most.
const DERIVE_LIST_LIMIT: usize = 10_000;

/// A person, not homeostat acting on its own (`homeostat`,
/// `homeostat (policy X)`).
pub fn is_human(actor: &str) -> bool {
    let a = actor.trim();
    !a.is_empty() && a != "homeostat" && !a.starts_with("homeostat (")
}

pub(super) fn derive(
    state: &State,
    config: &ToilConfig,
    since: i64,
    until: i64,
) -> Result<Vec<ToilEntry>, ToilError> {
    let incidents: BTreeMap<String, Incident> = state
        .incidents
        .list(&IncidentFilter {
            limit: Some(DERIVE_LIST_LIMIT),
            ..Default::default()
        })?
        .into_iter()
        .map(|i| (format!("incident/{}", i.id), i))
        .collect();
    let mut out = Vec::new();
    for a in state.audit.list_recent(DERIVE_AUDIT_LIMIT)? {
        if a.at < since || a.at >= until || !is_human(&a.actor) {
            continue;
        }
        if let Some(e) = from_audit(&a, config, &incidents) {
            out.push(e);
        }
    }
    for i in incidents.values() {
        out.extend(incident_work(i, config, since, until));
    }
    let deploys = state.deploys.list_deploys(&DeployFilter {
        since: Some(since),
        until: Some(until - 1),
        limit: DERIVE_LIST_LIMIT,
        ..Default::default()
    })?;
    for d in deploys {
        let author = d.author.as_deref().unwrap_or("");
        let rollback = d.rolls_back.is_some() || d.change_type.as_deref() == Some("rollback");
        if rollback && is_human(author) {
            out.push(derived(
                format!("deploy-{}", d.id),
                d.started_at,
                author,
                Some(&d.service),
                config,
                kind::MANUAL_ROLLBACK,
                format!("{} to {}", d.service, d.version),
                format!("rollback deploy {}", d.id),
            ));
        }
    }
    out.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    Ok(out)
}

/// The toil kind of an audited action, or none for actions that are not
/// toil (declaring an incident, managing tokens, chaos experiments).
fn kind_of(action: &str) -> Option<&'static str> {
    Some(match action {
        "incident.acknowledge" | "incident.ack" => kind::ACK,
        "silence.create" => kind::SILENCE,
        "gate.override.create" => kind::OVERRIDE,
        "deploy.rollback" => kind::MANUAL_ROLLBACK,
        "remediation.run" | "remediation.manual" => kind::MANUAL_REMEDIATION,
        a if a.ends_with(".approve") || a.ends_with(".reject") => kind::APPROVAL,
        _ => return None,
    })
}

fn from_audit(
    a: &AuditEntry,
    config: &ToilConfig,
    incidents: &BTreeMap<String, Incident>,
) -> Option<ToilEntry> {
    let k = kind_of(&a.action)?;
    let incident = incidents.get(&a.object);
    let (service, subject) = match k {
        kind::SILENCE => {
            let matchers: Vec<SilenceMatcher> =
                serde_json::from_value(a.detail.get("matchers")?.clone()).ok()?;
            let label = |n: &str| {
                matchers
                    .iter()
                    .find(|m| m.name == n && m.is_equal && !m.is_regex)
                    .map(|m| m.value.clone())
            };
            (label("service"), silence_subject(&matchers))
        }
        kind::OVERRIDE => {
            let s = a
                .detail
                .get("service")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let subject = format!("the gate of {}", s.as_deref().unwrap_or("?"));
            (s, subject)
        }
        _ => match incident {
            Some(i) => (i.service.clone(), i.title.clone()),
            None => (None, a.object.clone()),
        },
    };
    Some(derived(
        format!("audit-{}", a.seq),
        a.at,
        &a.actor,
        service.as_deref(),
        config,
        k,
        subject,
        a.action.clone(),
    ))
}

/// `DiskFull on db-3` for a silence of `alertname="DiskFull",
/// instance="db-3"`; the matchers as written otherwise.
fn silence_subject(matchers: &[SilenceMatcher]) -> String {
    let eq = |n: &str| {
        matchers
            .iter()
            .find(|m| m.name == n && m.is_equal && !m.is_regex)
            .map(|m| m.value.as_str())
    };
    match (eq("alertname"), eq("instance")) {
        (Some(a), Some(i)) => format!("{a} on {i}"),
        (Some(a), None) => a.to_string(),
        _ => matchers
            .iter()
            .map(|m| {
                let op = match (m.is_equal, m.is_regex) {
                    (true, false) => "=",
                    (false, false) => "!=",
                    (true, true) => "=~",
                    (false, true) => "!~",
                };
                format!("{}{op}{:?}", m.name, m.value)
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The time between ack and resolve, cut at week boundaries so that each
/// week gets its part; only parts inside `[since, until)`.
fn incident_work(i: &Incident, config: &ToilConfig, since: i64, until: i64) -> Vec<ToilEntry> {
    let (Some(start), Some(end)) = (i.acknowledged_at, i.resolved_at) else {
        return Vec::new();
    };
    if i.state != IncidentState::Resolved || end <= start {
        return Vec::new();
    }
    let actor = i
        .roles
        .get(&Role::IncidentCommander)
        .cloned()
        .unwrap_or_else(|| "responders".to_string());
    let mut out = Vec::new();
    let mut from = start;
    let mut n = 0;
    while from < end {
        let to = end.min(week_start(from) + WEEK_MS);
        if from >= since && from < until {
            let mut e = derived(
                if n == 0 {
                    format!("incident-{}", i.id.0)
                } else {
                    format!("incident-{}/{n}", i.id.0)
                },
                from,
                &actor,
                i.service.as_deref(),
                config,
                kind::INCIDENT_WORK,
                format!("{}: {}", i.id, i.title),
                "acknowledged to resolved".to_string(),
            );
            e.minutes = (to - from) as f64 / 60_000.0;
            out.push(e);
        }
        from = to;
        n += 1;
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn derived(
    id: String,
    at_ms: i64,
    actor: &str,
    service: Option<&str>,
    config: &ToilConfig,
    k: &str,
    subject: String,
    detail: String,
) -> ToilEntry {
    ToilEntry {
        id,
        at_ms,
        actor: actor.to_string(),
        service: service.map(str::to_string),
        team: config.team_of(service),
        kind: k.to_string(),
        subject,
        minutes: default_minutes(k).unwrap_or(0.0),
        source: ToilSource::Derived,
        detail,
    }
}
