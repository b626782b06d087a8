//! The escalation ticker: at every deadline it advances each running
//! escalation (records in the state store, so a restart resumes them),
//! pages the users of each due level by POSTing a small JSON document to
//! their `webhook_url`, and records the escalation and each page on the
//! incident's timeline. An incident that is no longer `triggered`
//! (acknowledged, mitigated, resolved) stops escalating at the next tick,
//! whoever changed it.

use std::sync::Arc;
use std::time::Duration;

use homeostat_http::IncidentApi;
use homeostat_incident::{IncidentOptions, LinkAction};
use homeostat_oncall::{Escalation, EscalationStatus, EscalationStep, Target};
use homeostat_state::{EscalationRecord, Incident, IncidentId, IncidentState, StateError};
use serde_json::json;
use tokio::sync::watch;

use super::{IncidentHub, utc};

/// The ticker never sleeps longer than this, so a deadline that a reload
/// moved earlier is noticed soon.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// One level of one escalation, due now.
#[derive(Debug, Clone)]
pub struct Page {
    pub incident: Incident,
    pub policy: String,
    pub step: EscalationStep,
}

impl IncidentHub {
    /// Advances every running escalation to `now` and returns the pages
    /// due, and the next deadline (ms) if any escalation still runs.
    /// Blocking (state store).
    pub fn due_pages(&self, now: i64) -> (Vec<Page>, Option<i64>) {
        let rt = self.runtime.get();
        let _g = self.escalation_lock.lock();
        let records = match self.escalations.list_active() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "listing escalations failed");
                return (Vec::new(), None);
            }
        };
        let mut pages = Vec::new();
        let mut next: Option<i64> = None;
        for record in records {
            match self.advance_one(&rt.oncall, &record, now) {
                Ok((mut p, deadline)) => {
                    pages.append(&mut p);
                    if let Some(d) = deadline {
                        next = Some(next.map_or(d, |n| n.min(d)));
                    }
                }
                Err(e) => {
                    tracing::error!(key = %record.key, error = %e, "advancing an escalation failed")
                }
            }
        }
        (pages, next)
    }

    fn advance_one(
        &self,
        oncall: &homeostat_oncall::Oncall,
        record: &EscalationRecord,
        now: i64,
    ) -> Result<(Vec<Page>, Option<i64>), StateError> {
        let drop_it = |why: &str| -> Result<(Vec<Page>, Option<i64>), StateError> {
            tracing::info!(key = %record.key, why, "escalation ended");
            self.escalations.delete(&record.key)?;
            Ok((Vec::new(), None))
        };
        let Ok(id) = record.key.parse::<IncidentId>() else {
            return drop_it("not an incident id");
        };
        let Ok(mut esc) = serde_json::from_value::<Escalation>(record.state_json.clone()) else {
            return drop_it("unreadable state (written by another version?)");
        };
        let incident = match self.store.get(id) {
            Ok(i) => i,
            Err(StateError::NotFound { .. }) => return drop_it("incident gone"),
            Err(e) => return Err(e),
        };
        if incident.state != IncidentState::Triggered {
            return drop_it("incident acknowledged or closed");
        }
        let steps = match esc.advance(oncall, utc(now)) {
            Ok(s) => s,
            Err(e) => {
                let note = format!("escalation stopped: {e}");
                let _ = self.service().add_note(
                    id,
                    &note,
                    &IncidentOptions::default().system_actor,
                    now,
                );
                return drop_it("policy no longer configured");
            }
        };
        let policy = esc.policy_id().to_string();
        let deadline = esc.next_deadline().map(|d| d.timestamp_millis());
        if matches!(esc.status(), EscalationStatus::Active) {
            let state_json = serde_json::to_value(&esc)
                .map_err(|e| StateError::backend("serialise escalation", e))?;
            self.escalations.put(&EscalationRecord {
                key: record.key.clone(),
                state_json,
                updated_at: now,
            })?;
        } else {
            self.escalations.delete(&record.key)?;
            let _ = self.service().add_note(
                id,
                "escalation exhausted: every level was paged and nobody acknowledged",
                &IncidentOptions::default().system_actor,
                now,
            );
        }
        let pages = steps
            .into_iter()
            .map(|step| Page {
                incident: incident.clone(),
                policy: policy.clone(),
                step,
            })
            .collect();
        Ok((pages, deadline))
    }

    /// Pages every user of the step and records the escalation and each
    /// delivery on the timeline.
    pub async fn deliver(self: &Arc<Self>, page: Page) {
        let id = page.incident.id;
        let level = page.step.level as u32 + 1;
        let at = page.step.at.timestamp_millis();
        let rt = self.runtime.get();
        let mut outcomes = Vec::new();
        for user in &page.step.users {
            let url = rt.oncall.user(user).and_then(|u| u.webhook_url.clone());
            let ok = match url {
                Some(url) => self.post_page(&url, &page, user, level).await,
                None => {
                    tracing::warn!(incident = %id, user, "user has no webhook_url; page not sent");
                    false
                }
            };
            outcomes.push((user.clone(), ok));
        }
        let empty: Vec<String> = page
            .step
            .targets
            .iter()
            .filter(|t| t.users.is_empty())
            .map(|t| match &t.target {
                Target::User(u) => format!("user {u}"),
                Target::Schedule(s) => format!("schedule {s} (nobody on call)"),
            })
            .collect();
        let hub = self.clone();
        let users = page.step.users.clone();
        let done = tokio::task::spawn_blocking(move || {
            let s = hub.service();
            let mut names = users;
            names.extend(empty);
            s.record_escalation(id, level, &names, at)?;
            for (user, ok) in outcomes {
                s.record_notification(id, &format!("page {user}"), ok, hub.clock.now_millis())?;
            }
            Ok::<_, homeostat_incident::IncidentError>(())
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(incident = %id, error = %e, "recording a page failed"),
            Err(e) => tracing::error!(incident = %id, error = %e, "recording task failed"),
        }
    }

    async fn post_page(&self, url: &str, page: &Page, user: &str, level: u32) -> bool {
        let i = &page.incident;
        let body = json!({
            "version": "1",
            "kind": "page",
            "incident": i.id.to_string(),
            "title": i.title,
            "severity": i.severity,
            "state": i.state,
            "service": i.service,
            "policy": page.policy,
            "level": level,
            "round": page.step.round,
            "user": user,
            "runbookUrls": i.runbook_urls,
            "ackUrl": self.link(i.id, LinkAction::Acknowledge, user),
            "resolveUrl": self.link(i.id, LinkAction::Resolve, user),
            "url": self.console_url(i.id),
        });
        // Two tries: a page matters more than a duplicate; the next level
        // follows anyway if both fail.
        for attempt in 0..2 {
            let request = self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
            match request.send().await {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(incident = %i.id, user, level, "paged");
                    return true;
                }
                Ok(r) => {
                    tracing::warn!(incident = %i.id, user, status = %r.status(), attempt, "page refused")
                }
                Err(e) => {
                    tracing::warn!(incident = %i.id, user, error = %e, attempt, "page failed")
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    }
}

/// Runs until `stop`: advance escalations at each deadline (at least every
/// [`MAX_SLEEP`], and at once when one starts), page in the background.
pub async fn run_escalations(hub: Arc<IncidentHub>, mut stop: watch::Receiver<bool>) {
    loop {
        let now = hub.clock.now_millis();
        let h = hub.clone();
        let (pages, next) = match tokio::task::spawn_blocking(move || h.due_pages(now)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "escalation tick failed");
                (Vec::new(), None)
            }
        };
        for page in pages {
            let h = hub.clone();
            tokio::spawn(async move { h.deliver(page).await });
        }
        let sleep = next
            .map(|d| Duration::from_millis((d - now).clamp(5, MAX_SLEEP.as_millis() as i64) as u64))
            .unwrap_or(MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = hub.wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}
