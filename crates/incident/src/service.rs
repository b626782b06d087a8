//! [`IncidentService`]: every change to an incident, each recorded on its
//! timeline. Time is always an argument; nothing here reads a clock.

use std::sync::Arc;

use homeostat_state::{
    ActionItem, ActionItemState, EventKind, Incident, IncidentId, IncidentState, IncidentStore,
    Role, Severity, StateError, TimelineEvent,
};
use serde_json::{Value, json};

use crate::error::{IncidentError, Result};
use crate::lifecycle::{apply, check_transition};

/// Longest note or status update, in bytes: the timeline is read whole by
/// the console, the API and the postmortem export.
pub const MAX_TEXT_BYTES: usize = 64 << 10;

/// How many times a read-modify-write is retried when another writer got
/// there first.
const ATTEMPTS: usize = 5;

/// Tunables of [`IncidentService`].
#[derive(Debug, Clone)]
pub struct IncidentOptions {
    /// An alert group that fires again within this long after its incident
    /// was resolved reopens that incident instead of opening a new one.
    /// Flapping alerts then stay one story. 0 disables reopening.
    pub reopen_window_ms: i64,
    /// Severity of an incident opened from alerts without a readable
    /// `severity` label ([`Severity::from_label`]).
    pub default_severity: Severity,
    /// Resolve the incident when every alert in it has resolved. Off by
    /// default: alerts clearing is a signal, not proof that the work is
    /// done (a rollback may still be running, users still affected).
    pub resolve_when_alerts_clear: bool,
    /// The actor named on events homeostat records by itself.
    pub system_actor: String,
}

impl Default for IncidentOptions {
    fn default() -> Self {
        IncidentOptions {
            reopen_window_ms: 60 * 60 * 1000,
            default_severity: Severity::Sev2,
            resolve_when_alerts_clear: false,
            system_actor: "homeostat".to_string(),
        }
    }
}

/// What an outside system did during an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalKind {
    Deploy,
    Rollback,
    ChaosRun,
    Remediation,
}

impl ExternalKind {
    fn event_kind(self) -> EventKind {
        match self {
            ExternalKind::Deploy => EventKind::Deploy,
            ExternalKind::Rollback => EventKind::Rollback,
            ExternalKind::ChaosRun => EventKind::ChaosRun,
            ExternalKind::Remediation => EventKind::Remediation,
        }
    }
}

/// A timeline event before the store numbers it.
pub(crate) struct Ev {
    pub at: i64,
    pub kind: EventKind,
    pub actor: Option<String>,
    pub summary: String,
    pub data: Value,
}

/// Incident operations over any [`IncidentStore`].
#[derive(Clone)]
pub struct IncidentService {
    pub(crate) store: Arc<dyn IncidentStore>,
    pub(crate) opts: IncidentOptions,
}

impl std::fmt::Debug for IncidentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentService")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl IncidentService {
    pub fn new(store: Arc<dyn IncidentStore>) -> Self {
        Self::with_options(store, IncidentOptions::default())
    }

    pub fn with_options(store: Arc<dyn IncidentStore>, opts: IncidentOptions) -> Self {
        IncidentService { store, opts }
    }

    pub fn store(&self) -> &dyn IncidentStore {
        self.store.as_ref()
    }

    /// Opens an incident by hand.
    pub fn declare(
        &self,
        title: &str,
        severity: Severity,
        service: Option<&str>,
        by: &str,
        at: i64,
    ) -> Result<Incident> {
        if title.trim().is_empty() {
            return Err(IncidentError::invalid("title", "must not be empty"));
        }
        let incident = self.store.create(&Incident {
            id: IncidentId(0),
            revision: 0,
            title: title.trim().to_string(),
            severity,
            state: IncidentState::Triggered,
            service: service.map(str::to_string),
            group_key: None,
            created_at: at,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            detected_at: None,
            roles: Default::default(),
            runbook_urls: Vec::new(),
            labels: Default::default(),
        })?;
        self.append(
            incident.id,
            Ev {
                at,
                kind: EventKind::Declared,
                actor: Some(by.to_string()),
                summary: format!("{by} declared {} ({severity})", incident.id),
                data: json!({"title": incident.title, "severity": severity}),
            },
        )?;
        Ok(incident)
    }

    pub fn acknowledge(&self, id: IncidentId, by: &str, at: i64) -> Result<Incident> {
        self.transition(id, IncidentState::Acknowledged, by, at)
    }

    pub fn mitigate(&self, id: IncidentId, by: &str, at: i64) -> Result<Incident> {
        self.transition(id, IncidentState::Mitigated, by, at)
    }

    pub fn resolve(&self, id: IncidentId, by: &str, at: i64) -> Result<Incident> {
        self.transition(id, IncidentState::Resolved, by, at)
    }

    pub fn start_postmortem(&self, id: IncidentId, by: &str, at: i64) -> Result<Incident> {
        self.transition(id, IncidentState::Postmortem, by, at)
    }

    /// Reopens a resolved incident by hand (no window applies).
    pub fn reopen(&self, id: IncidentId, by: &str, at: i64) -> Result<Incident> {
        self.transition(id, IncidentState::Triggered, by, at)
    }

    /// Moves the incident to `to` if the lifecycle allows it
    /// ([`crate::lifecycle`]); a no-op if it is already there.
    pub fn transition(
        &self,
        id: IncidentId,
        to: IncidentState,
        by: &str,
        at: i64,
    ) -> Result<Incident> {
        self.modify(id, |i| transition_events(i, to, by, at))
    }

    pub fn set_severity(
        &self,
        id: IncidentId,
        severity: Severity,
        by: &str,
        at: i64,
    ) -> Result<Incident> {
        self.modify(id, |i| {
            if i.severity == severity {
                return Ok(Vec::new());
            }
            let from = i.severity;
            i.severity = severity;
            Ok(vec![Ev {
                at,
                kind: EventKind::SeverityChanged,
                actor: Some(by.to_string()),
                summary: format!("{by} changed severity from {from} to {severity}"),
                data: json!({"from": from, "to": severity}),
            }])
        })
    }

    pub fn assign_role(
        &self,
        id: IncidentId,
        role: Role,
        user: &str,
        by: &str,
        at: i64,
    ) -> Result<Incident> {
        if user.trim().is_empty() {
            return Err(IncidentError::invalid("user", "must not be empty"));
        }
        self.modify(id, |i| {
            let previous = i.roles.insert(role, user.to_string());
            if previous.as_deref() == Some(user) {
                return Ok(Vec::new());
            }
            Ok(vec![Ev {
                at,
                kind: EventKind::RoleAssigned,
                actor: Some(by.to_string()),
                summary: if by == user {
                    format!("{by} took the {} role", role_name(role))
                } else {
                    format!("{by} made {user} {}", role_name(role))
                },
                data: json!({"role": role, "user": user, "previous": previous}),
            }])
        })
    }

    /// A status update for stakeholders.
    pub fn post_update(&self, id: IncidentId, message: &str, by: &str, at: i64) -> Result<()> {
        self.text_event(id, EventKind::StatusUpdate, "message", message, by, at)
    }

    pub fn add_note(&self, id: IncidentId, text: &str, by: &str, at: i64) -> Result<()> {
        self.text_event(id, EventKind::Note, "text", text, by, at)
    }

    /// Records that a notification about the incident went to `receiver`
    /// (or failed to).
    pub fn record_notification(
        &self,
        id: IncidentId,
        receiver: &str,
        ok: bool,
        at: i64,
    ) -> Result<()> {
        let (kind, summary) = if ok {
            (EventKind::NotificationSent, format!("notified {receiver}"))
        } else {
            (
                EventKind::NotificationFailed,
                format!("notifying {receiver} failed"),
            )
        };
        self.append(
            id,
            Ev {
                at,
                kind,
                actor: Some(self.opts.system_actor.clone()),
                summary,
                data: json!({"receiver": receiver, "ok": ok}),
            },
        )
    }

    /// Records that the on-call engine escalated to `level`, paging
    /// `targets`.
    pub fn record_escalation(
        &self,
        id: IncidentId,
        level: u32,
        targets: &[String],
        at: i64,
    ) -> Result<()> {
        self.append(
            id,
            Ev {
                at,
                kind: EventKind::Escalated,
                actor: Some(self.opts.system_actor.clone()),
                summary: format!("escalated to level {level}: {}", targets.join(", ")),
                data: json!({"level": level, "targets": targets}),
            },
        )
    }

    /// Records a deploy, rollback, chaos run or remediation seen during
    /// the incident.
    pub fn record_external(
        &self,
        id: IncidentId,
        kind: ExternalKind,
        summary: &str,
        data: Value,
        at: i64,
    ) -> Result<()> {
        self.append(
            id,
            Ev {
                at,
                kind: kind.event_kind(),
                actor: None,
                summary: summary.to_string(),
                data,
            },
        )
    }

    /// Records an external event on every open incident of `service`
    /// (a deploy or rollback of the service while it is in trouble).
    pub fn record_on_open_incidents(
        &self,
        service: &str,
        kind: ExternalKind,
        summary: &str,
        data: Value,
        at: i64,
    ) -> Result<()> {
        let open = self.store.list(&homeostat_state::IncidentFilter {
            states: vec![
                IncidentState::Triggered,
                IncidentState::Acknowledged,
                IncidentState::Mitigated,
            ],
            service: Some(service.to_string()),
            ..Default::default()
        })?;
        for i in open {
            self.record_external(i.id, kind, summary, data.clone(), at)?;
        }
        Ok(())
    }

    /// Puts the service's changes from `since` up to `until` on a newly
    /// opened incident's timeline at the times they happened: deploys, and
    /// rollbacks that ran before the incident existed (an automatic
    /// rollback can be faster than the alert pipeline). Each change appears
    /// once, however often the incident reopens.
    pub fn record_recent_changes(
        &self,
        id: IncidentId,
        deploys: &[homeostat_state::Deploy],
        since: i64,
        until: i64,
    ) -> Result<()> {
        let seen: std::collections::BTreeSet<(String, i64)> = self
            .store
            .timeline(id)?
            .iter()
            .filter_map(|e| {
                let d = e.data.get("deploy_id")?.as_i64()?;
                Some((format!("{:?}", e.kind), d))
            })
            .collect();
        let mut changes = Vec::new();
        for d in deploys {
            if (since..=until).contains(&d.started_at) {
                changes.push((
                    ExternalKind::Deploy,
                    d.started_at,
                    format!("deploy {} of {} {}", d.id, d.service, d.version),
                    json!({"deploy_id": d.id, "author": d.author, "change_type": d.change_type}),
                ));
            }
            if let Some(rb) = d
                .rollback
                .as_ref()
                .filter(|rb| (since..=until).contains(&rb.at))
            {
                let how = match rb.ok {
                    Some(true) => "called",
                    Some(false) => "FAILED",
                    None => "in progress",
                };
                changes.push((
                    ExternalKind::Rollback,
                    rb.at,
                    format!(
                        "automatic rollback of {} {} ({how}): {}",
                        d.service, d.version, rb.reason
                    ),
                    json!({"deploy_id": d.id, "ok": rb.ok}),
                ));
            }
        }
        changes.sort_by_key(|c| c.1);
        for (kind, at, summary, data) in changes {
            let key = (
                format!("{:?}", kind.event_kind()),
                data["deploy_id"].as_i64().unwrap_or(-1),
            );
            if !seen.contains(&key) {
                self.record_external(id, kind, &summary, data, at)?;
            }
        }
        Ok(())
    }

    /// Puts chaos on a newly opened incident's timeline at the times it
    /// happened: experiments that started in `[since, until]` or were still
    /// running at `since`, and terminations in the window. Each appears once.
    pub fn record_recent_chaos(
        &self,
        id: IncidentId,
        changes: &[crate::ChaosChange],
        since: i64,
        until: i64,
    ) -> Result<()> {
        let seen: std::collections::BTreeSet<String> = self
            .store
            .timeline(id)?
            .iter()
            .filter_map(|e| Some(e.data.get("chaos_id")?.as_str()?.to_string()))
            .collect();
        let mut relevant: Vec<&crate::ChaosChange> = changes
            .iter()
            .filter(|c| c.started_at <= until && c.finished_at.is_none_or(|f| f >= since))
            .collect();
        relevant.sort_by_key(|c| c.started_at);
        for c in relevant {
            let key = format!("{:?}:{}", c.kind, c.id);
            if seen.contains(&key) {
                continue;
            }
            let summary = match c.kind {
                crate::ChaosKind::Experiment => {
                    format!(
                        "chaos experiment {} ({}) started: {}",
                        c.title, c.id, c.status
                    )
                }
                crate::ChaosKind::Termination => {
                    format!("chaos monkey terminated {}: {}", c.title, c.status)
                }
            };
            self.record_external(
                id,
                ExternalKind::ChaosRun,
                &summary,
                json!({"chaos_id": key, "kind": c.kind, "status": c.status}),
                c.started_at,
            )?;
        }
        Ok(())
    }

    pub fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEvent>> {
        Ok(self.store.timeline(id)?)
    }

    pub fn add_action_item(
        &self,
        id: IncidentId,
        title: &str,
        owner: Option<&str>,
        due: Option<chrono::NaiveDate>,
        at: i64,
    ) -> Result<ActionItem> {
        Ok(self.store.create_action_item(&ActionItem {
            id: 0,
            incident_id: id,
            title: title.trim().to_string(),
            owner: owner.map(str::to_string),
            due,
            state: ActionItemState::Open,
            created_at: at,
            updated_at: at,
        })?)
    }

    pub fn set_action_item_state(
        &self,
        item_id: i64,
        state: ActionItemState,
        at: i64,
    ) -> Result<ActionItem> {
        let item = self.store.get_action_item(item_id)?;
        Ok(self.store.update_action_item(&ActionItem {
            state,
            updated_at: at,
            ..item
        })?)
    }

    fn text_event(
        &self,
        id: IncidentId,
        kind: EventKind,
        field: &str,
        text: &str,
        by: &str,
        at: i64,
    ) -> Result<()> {
        if text.trim().is_empty() {
            return Err(IncidentError::invalid(field, "must not be empty"));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(IncidentError::invalid(
                field,
                format!(
                    "{} bytes; the limit is {MAX_TEXT_BYTES} (link a document for more)",
                    text.len()
                ),
            ));
        }
        self.append(
            id,
            Ev {
                at,
                kind,
                actor: Some(by.to_string()),
                summary: text.trim().to_string(),
                data: Value::Null,
            },
        )
    }

    pub(crate) fn append(&self, id: IncidentId, ev: Ev) -> Result<()> {
        self.store.append_event(&TimelineEvent {
            seq: 0,
            incident_id: id,
            at: ev.at,
            kind: ev.kind,
            actor: ev.actor,
            summary: ev.summary,
            data: ev.data,
        })?;
        Ok(())
    }

    /// Read-modify-write with optimistic concurrency: `change` edits a fresh
    /// copy and returns the events to record; a copy it left unchanged is
    /// not written. The incident is written before its events, so a crash
    /// in between loses timeline lines, never a state change.
    pub(crate) fn modify(
        &self,
        id: IncidentId,
        change: impl Fn(&mut Incident) -> Result<Vec<Ev>>,
    ) -> Result<Incident> {
        for _ in 0..ATTEMPTS {
            let current = self.store.get(id)?;
            let mut next = current.clone();
            let events = change(&mut next)?;
            let stored = if next == current {
                current
            } else {
                match self.store.update(&next) {
                    Ok(stored) => stored,
                    Err(e @ StateError::Conflict { .. }) => {
                        // A newer revision means we lost a race: redo the
                        // change on it. Otherwise the conflict is real (a
                        // reopen while the group has another open incident).
                        if self.store.get(id)?.revision != current.revision {
                            continue;
                        }
                        return Err(e.into());
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            for ev in events {
                self.append(id, ev)?;
            }
            return Ok(stored);
        }
        Err(IncidentError::Contended {
            id: id.to_string(),
            attempts: ATTEMPTS,
        })
    }
}

/// Applies `incident → to` and says what to record.
pub(crate) fn transition_events(
    incident: &mut Incident,
    to: IncidentState,
    by: &str,
    at: i64,
) -> Result<Vec<Ev>> {
    let from = incident.state;
    if from == to {
        return Ok(Vec::new());
    }
    if let Some(why) = check_transition(from, to) {
        return Err(IncidentError::InvalidTransition {
            id: incident.id,
            from,
            to,
            why,
        });
    }
    apply(incident, to, at);
    let (kind, summary) = match (from, to) {
        (_, IncidentState::Acknowledged) => (EventKind::Acknowledged, format!("{by} acknowledged")),
        (IncidentState::Resolved, IncidentState::Triggered) => (
            EventKind::StateChanged,
            format!("{by} reopened the incident"),
        ),
        (_, IncidentState::Postmortem) => (
            EventKind::StateChanged,
            format!("{by} started the postmortem"),
        ),
        _ => (EventKind::StateChanged, format!("{by} marked it {to}")),
    };
    Ok(vec![Ev {
        at,
        kind,
        actor: Some(by.to_string()),
        summary,
        data: json!({"from": from, "to": to}),
    }])
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::IncidentCommander => "incident commander",
        Role::CommunicationsLead => "communications lead",
        Role::Scribe => "scribe",
    }
}
