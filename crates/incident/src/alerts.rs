//! Alert groups into incidents: one open incident per alert group, joined
//! by every alert of that group, each alert on the timeline once per
//! firing.

use std::collections::{BTreeMap, BTreeSet};

use homeostat_model::{Fingerprint, Timestamp};
use homeostat_state::{
    EventKind, Incident, IncidentFilter, IncidentId, IncidentState, Severity, StateError,
    TimelineEvent,
};
use serde_json::json;

use crate::error::{IncidentError, Result};
use crate::service::{Ev, IncidentService, transition_events};

/// One alert as the dispatcher hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertInfo {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// When it started firing (Alertmanager's `startsAt`: after the rule's
    /// `for`); 0 or less means unknown, and the time of the call is used
    /// instead.
    pub starts_at: Timestamp,
    /// When it became active (pending), when the source said: homeostat's
    /// own rule engine does, alerts posted to the Alertmanager API do not.
    pub pending_since: Option<Timestamp>,
    /// When it resolved, if it has.
    pub ends_at: Option<Timestamp>,
    pub fingerprint: Fingerprint,
}

impl AlertInfo {
    fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("alert")
    }
}

/// The incident an alert group's firing belongs to.
enum Joined {
    /// Open (possibly just opened or reopened): record the alerts there.
    Open(Incident),
    /// Closed, and these alerts are already on its timeline as firing.
    Closed(Incident),
}

/// How many times opening an incident is retried when another writer
/// opened or closed one for the same group meanwhile.
const ATTEMPTS: usize = 5;

impl IncidentService {
    /// The alerts of `group_key` are firing: joins the group's open incident
    /// (or reopens its recently resolved one, or opens a new one) and
    /// records an `AlertFiring` event for each alert not already firing in
    /// it. The incident's severity only ever rises here, its detection time
    /// only moves earlier, and new `runbook_url` annotations are added.
    pub fn on_alert_group_firing(
        &self,
        group_key: &str,
        alerts: &[AlertInfo],
        at: i64,
    ) -> Result<Incident> {
        if group_key.is_empty() {
            return Err(IncidentError::invalid("group_key", "must not be empty"));
        }
        if alerts.is_empty() {
            return Err(IncidentError::invalid(
                "alerts",
                "a firing group has at least one alert",
            ));
        }
        let mut alerts = alerts.to_vec();
        for a in &mut alerts {
            if a.starts_at <= 0 {
                a.starts_at = at;
            }
        }
        alerts.sort_by_key(|a| (a.starts_at, a.fingerprint));

        let incident = match self.incident_for_group(group_key, &alerts, at)? {
            Joined::Open(i) => i,
            Joined::Closed(i) => return Ok(i),
        };
        let firing = firing_fingerprints(&self.store.timeline(incident.id)?);
        let new: Vec<&AlertInfo> = alerts
            .iter()
            .filter(|a| !firing.contains(&a.fingerprint))
            .collect();

        let actor = self.opts.system_actor.clone();
        let incident = self.modify(incident.id, |i| {
            let mut events = Vec::new();
            let severity = alerts_severity(&alerts, self.opts.default_severity);
            if severity < i.severity {
                events.push(Ev {
                    at,
                    kind: EventKind::SeverityChanged,
                    actor: Some(actor.clone()),
                    summary: format!(
                        "severity raised from {} to {severity} by alerts",
                        i.severity
                    ),
                    data: json!({"from": i.severity, "to": severity}),
                });
                i.severity = severity;
            }
            let earliest = alerts.iter().map(|a| a.starts_at).min();
            i.detected_at = match (i.detected_at, earliest) {
                (Some(d), Some(e)) => Some(d.min(e)),
                (d, e) => d.or(e),
            };
            for url in runbook_urls(&alerts) {
                if !i.runbook_urls.contains(&url) {
                    i.runbook_urls.push(url);
                }
            }
            Ok(events)
        })?;
        for a in new {
            let summary = match a.annotations.get("summary") {
                Some(s) => format!("{} firing: {s}", a.name()),
                None => format!("{} firing", a.name()),
            };
            let pending = a.pending_since.filter(|p| *p < a.starts_at);
            if let Some(p) = pending {
                self.append(
                    incident.id,
                    Ev {
                        at: p,
                        kind: EventKind::AlertPending,
                        actor: None,
                        summary: format!("{} pending", a.name()),
                        data: json!({
                            "fingerprint": a.fingerprint,
                            "labels": a.labels,
                            "pending_since": p,
                        }),
                    },
                )?;
            }
            self.append(
                incident.id,
                Ev {
                    at: a.starts_at,
                    kind: EventKind::AlertFiring,
                    actor: None,
                    summary,
                    data: json!({
                        "fingerprint": a.fingerprint,
                        "labels": a.labels,
                        "annotations": a.annotations,
                        "starts_at": a.starts_at,
                        "pending_since": pending,
                    }),
                },
            )?;
        }
        Ok(incident)
    }

    /// Alerts of `group_key` resolved: records `AlertResolved` for each one
    /// that was firing in the group's latest incident. With
    /// `resolve_when_alerts_clear`, an open incident with no alert left
    /// firing is resolved. `None` if the group never had an incident.
    pub fn on_alert_resolved(
        &self,
        group_key: &str,
        alerts: &[AlertInfo],
        at: i64,
    ) -> Result<Option<Incident>> {
        let Some(incident) = self.latest_for_group(group_key)? else {
            return Ok(None);
        };
        let mut firing = firing_fingerprints(&self.store.timeline(incident.id)?);
        for a in alerts {
            if !firing.remove(&a.fingerprint) {
                continue;
            }
            self.append(
                incident.id,
                Ev {
                    at: a.ends_at.unwrap_or(at),
                    kind: EventKind::AlertResolved,
                    actor: None,
                    summary: format!("{} resolved", a.name()),
                    data: json!({"fingerprint": a.fingerprint, "labels": a.labels}),
                },
            )?;
        }
        if self.opts.resolve_when_alerts_clear && firing.is_empty() && incident.state.is_open() {
            let by = self.opts.system_actor.clone();
            return Ok(Some(self.modify(incident.id, |i| {
                transition_events(i, IncidentState::Resolved, &by, at)
            })?));
        }
        Ok(Some(self.store.get(incident.id)?))
    }

    fn latest_for_group(&self, group_key: &str) -> Result<Option<Incident>> {
        Ok(self
            .store
            .list(&IncidentFilter {
                group_key: Some(group_key.to_string()),
                limit: Some(1),
                ..IncidentFilter::default()
            })?
            .pop())
    }

    /// The open incident of the group, the resolved one reopened, or a new
    /// one. A closed incident whose alerts are all still firing is left
    /// alone: the dispatcher repeating a notification is not a new problem,
    /// and a human closed it knowing the alerts were up.
    fn incident_for_group(&self, group_key: &str, alerts: &[AlertInfo], at: i64) -> Result<Joined> {
        for _ in 0..ATTEMPTS {
            if let Some(open) = self.store.find_open_by_group_key(group_key)? {
                return Ok(Joined::Open(open));
            }
            let last = self.latest_for_group(group_key)?;
            if let Some(last) = &last {
                let firing = firing_fingerprints(&self.store.timeline(last.id)?);
                if alerts.iter().all(|a| firing.contains(&a.fingerprint)) {
                    return Ok(Joined::Closed(last.clone()));
                }
            }
            if let Some(last) = last
                && last.state == IncidentState::Resolved
                && last
                    .resolved_at
                    .is_some_and(|r| at - r <= self.opts.reopen_window_ms)
            {
                let by = self.opts.system_actor.clone();
                match self.modify(last.id, |i| {
                    let mut events = transition_events(i, IncidentState::Triggered, &by, at)?;
                    for e in &mut events {
                        e.summary = "reopened: the alert group fired again".to_string();
                    }
                    Ok(events)
                }) {
                    Ok(i) => return Ok(Joined::Open(i)),
                    // Someone opened another incident for the group meanwhile.
                    Err(IncidentError::State(StateError::Conflict { .. })) => continue,
                    Err(e) => return Err(e),
                }
            }
            match self.store.create(&self.new_incident(group_key, alerts, at)) {
                Ok(created) => {
                    self.append(
                        created.id,
                        Ev {
                            at,
                            kind: EventKind::Declared,
                            actor: Some(self.opts.system_actor.clone()),
                            summary: format!("opened {} for alert group {group_key}", created.id),
                            data: json!({"group_key": group_key, "severity": created.severity}),
                        },
                    )?;
                    return Ok(Joined::Open(created));
                }
                Err(StateError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IncidentError::Contended {
            id: group_key.to_string(),
            attempts: ATTEMPTS,
        })
    }

    fn new_incident(&self, group_key: &str, alerts: &[AlertInfo], at: i64) -> Incident {
        let first = &alerts[0];
        let title = first
            .annotations
            .get("summary")
            .cloned()
            .unwrap_or_else(|| format!("{} firing", first.name()));
        let labels = common_labels(alerts);
        Incident {
            id: IncidentId(0),
            revision: 0,
            title,
            severity: alerts_severity(alerts, self.opts.default_severity),
            state: IncidentState::Triggered,
            // Sloth-format rules (in an outside Prometheus) name the
            // service only as `sloth_service`.
            service: labels
                .get("service")
                .or_else(|| labels.get("sloth_service"))
                .cloned(),
            group_key: Some(group_key.to_string()),
            created_at: at,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            detected_at: alerts.iter().map(|a| a.starts_at).min(),
            roles: BTreeMap::new(),
            runbook_urls: runbook_urls(alerts),
            labels,
        }
    }
}

/// Fingerprints whose latest alert event on the timeline is `AlertFiring`.
pub(crate) fn firing_fingerprints(timeline: &[TimelineEvent]) -> BTreeSet<Fingerprint> {
    let mut firing = BTreeSet::new();
    for e in timeline {
        // Stored as the number (`Fingerprint`'s serde form).
        let Some(fp) = e.data.get("fingerprint").and_then(|f| f.as_u64()) else {
            continue;
        };
        let fp = Fingerprint(fp);
        match e.kind {
            EventKind::AlertFiring => {
                firing.insert(fp);
            }
            EventKind::AlertResolved => {
                firing.remove(&fp);
            }
            _ => {}
        }
    }
    firing
}

/// The worst severity among the alerts' `severity` labels.
fn alerts_severity(alerts: &[AlertInfo], default: Severity) -> Severity {
    alerts
        .iter()
        .filter_map(|a| {
            a.labels
                .get("severity")
                .and_then(|s| Severity::from_label(s))
        })
        .min()
        .unwrap_or(default)
}

fn runbook_urls(alerts: &[AlertInfo]) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for url in alerts
        .iter()
        .filter_map(|a| a.annotations.get("runbook_url"))
    {
        if !url.is_empty() && !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    urls
}

/// Labels every alert carries with the same value (the group's labels).
fn common_labels(alerts: &[AlertInfo]) -> BTreeMap<String, String> {
    let Some((first, rest)) = alerts.split_first() else {
        return BTreeMap::new();
    };
    first
        .labels
        .iter()
        .filter(|(k, v)| rest.iter().all(|a| a.labels.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn alert(fp: u64, labels: &[(&str, &str)]) -> AlertInfo {
        AlertInfo {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            starts_at: 0,
            pending_since: None,
            ends_at: None,
            fingerprint: Fingerprint(fp),
        }
    }

    #[test]
    fn group_labels_and_severity() {
        let a = alert(
            1,
            &[
                ("alertname", "Down"),
                ("job", "api"),
                ("severity", "warning"),
            ],
        );
        let b = alert(
            2,
            &[
                ("alertname", "Down"),
                ("job", "db"),
                ("severity", "critical"),
            ],
        );
        let common = common_labels(&[a.clone(), b.clone()]);
        assert_eq!(common.keys().collect::<Vec<_>>(), vec!["alertname"]);
        assert_eq!(alerts_severity(&[a, b], Severity::Sev4), Severity::Sev2);
        assert_eq!(
            alerts_severity(&[alert(3, &[])], Severity::Sev4),
            Severity::Sev4
        );
    }
}
