//! The escalation ticker: at every deadline it advances each running
//! escalation (records in the state store, so a restart resumes them),
//! pages the users of each due level by POSTing a small JSON document to
//! their `webhook_url`, and records the escalation and each page on the
//! incident's timeline. A page goes through the process's one outbound
//! path (retried like a notification) and is recorded in the notification
//! log's outbox before the escalation moves past it, so a restart resumes
//! a page still owed ([`IncidentHub::resume_pages`]) and never sends a
//! delivered one again. An incident that is no longer `triggered`
//! (acknowledged, mitigated, resolved) stops escalating at the next tick,
//! whoever changed it.

use std::sync::Arc;
use std::time::Duration;

use homeostat_app::Leadership;
use homeostat_http::IncidentApi;
use homeostat_incident::{IncidentOptions, LinkAction};
use homeostat_notify::OutboundKind;
use homeostat_oncall::{Escalation, EscalationStatus, EscalationStep, Target};
use homeostat_state::{
    EscalationRecord, Fence, Incident, IncidentId, IncidentState, OutboxEntry, OutboxState,
    StateError,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::{IncidentHub, utc};

/// The ticker never sleeps longer than this, so a deadline that a reload
/// moved earlier is noticed soon.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// How long one attempt to page a person may take.
const PAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a page's outbox entry is kept after it was owed: long enough
/// that a restart never sends a finished page again.
const PAGE_RETENTION_MS: i64 = 7 * 24 * 3_600_000;
/// The outbox kind of pages.
const PAGE_KIND: &str = "page";

/// One level of one escalation, due now.
#[derive(Debug, Clone)]
pub struct Page {
    pub incident: Incident,
    pub policy: String,
    pub step: EscalationStep,
    /// Per user of the step, the page owed to them: `None` when the user
    /// has no `webhook_url`, or the outbox already held it (a restart
    /// between recording the page and advancing the escalation; the resumed
    /// page is sent by [`resume_pages`]).
    sends: Vec<(String, Option<OutboxEntry>)>,
}

/// What a page's outbox entry holds: enough to send it again after a
/// restart. The URL is not stored (it may carry a secret, and a reload may
/// change it); it is looked up by user at each send.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageDoc {
    incident: IncidentId,
    user: String,
    level: u32,
    body: serde_json::Value,
}

impl IncidentHub {
    /// Advances every running escalation to `now` and returns the pages
    /// due, and the next deadline (ms) if any escalation still runs.
    /// Blocking (state store).
    pub fn due_pages(&self, now: i64, fence: Option<&Fence>) -> (Vec<Page>, Option<i64>) {
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
            match self.advance_one(&rt.oncall, &record, now, fence) {
                Ok((mut p, deadline)) => {
                    pages.append(&mut p);
                    if let Some(d) = deadline {
                        next = Some(next.map_or(d, |n| n.min(d)));
                    }
                }
                Err(e @ StateError::Fenced { .. }) => {
                    tracing::warn!(error = %e, "no longer leading: escalations stop here");
                    return (pages, None);
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
        fence: Option<&Fence>,
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
        // The pages are owed before the escalation moves past them, so a
        // restart in between resumes them rather than losing them.
        let mut pages = Vec::new();
        for step in steps {
            let sends = self.owe_pages(oncall, &incident, &policy, &step, now, fence)?;
            pages.push(Page {
                incident: incident.clone(),
                policy: policy.clone(),
                step,
                sends,
            });
        }
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
        Ok((pages, deadline))
    }

    /// Records in the outbox the page each user of `step` is owed.
    fn owe_pages(
        &self,
        oncall: &homeostat_oncall::Oncall,
        incident: &Incident,
        policy: &str,
        step: &EscalationStep,
        now: i64,
        fence: Option<&Fence>,
    ) -> Result<Vec<(String, Option<OutboxEntry>)>, StateError> {
        let level = step.level as u32 + 1;
        let at = step.at.timestamp_millis();
        let mut sends = Vec::new();
        for user in &step.users {
            if oncall
                .user(user)
                .and_then(|u| u.webhook_url.as_ref())
                .is_none()
            {
                sends.push((user.clone(), None));
                continue;
            }
            let doc = PageDoc {
                incident: incident.id,
                user: user.clone(),
                level,
                body: self.page_body(incident, policy, step, user, level),
            };
            let entry = OutboxEntry {
                key: format!("page/{}/{at}/{}/{user}", incident.id, step.level),
                kind: PAGE_KIND.to_string(),
                doc: serde_json::to_value(&doc)
                    .map_err(|e| StateError::backend("serialise page", e))?,
                created_at: now,
                expires_at: now.saturating_add(PAGE_RETENTION_MS),
                state: OutboxState::Pending,
                attempts: 0,
                finished_at: None,
            };
            // The key names the page, so a new leader that advances the same
            // escalation step owes nothing the old one already owed; the
            // fence stops a deposed leader from owing anything at all.
            let fresh = self.nflog.enqueue(&entry, fence)?;
            sends.push((user.clone(), fresh.then_some(entry)));
        }
        Ok(sends)
    }

    fn page_body(
        &self,
        i: &Incident,
        policy: &str,
        step: &EscalationStep,
        user: &str,
        level: u32,
    ) -> serde_json::Value {
        json!({
            "version": "1",
            "kind": "page",
            "incident": i.id.to_string(),
            "title": i.title,
            "severity": i.severity,
            "state": i.state,
            "service": i.service,
            "policy": policy,
            "level": level,
            "round": step.round,
            "user": user,
            "runbookUrls": i.runbook_urls,
            "ackUrl": self.link(i.id, LinkAction::Acknowledge, user),
            "resolveUrl": self.link(i.id, LinkAction::Resolve, user),
            "url": self.console_url(i.id),
        })
    }

    /// Pages every user of the step (with retries, through the outbound
    /// path) and records the escalation and each delivery on the timeline.
    pub async fn deliver(self: &Arc<Self>, page: Page) {
        let id = page.incident.id;
        let level = page.step.level as u32 + 1;
        let at = page.step.at.timestamp_millis();
        let mut outcomes = Vec::new();
        for (user, entry) in &page.sends {
            let ok = match entry {
                Some(entry) => self.send_page(entry).await,
                None if self.owes_url(user) => continue,
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

    /// Whether `user` has a webhook: a page owed to them but not in this
    /// batch is being resumed elsewhere.
    fn owes_url(&self, user: &str) -> bool {
        self.runtime
            .get()
            .oncall
            .user(user)
            .is_some_and(|u| u.webhook_url.is_some())
    }

    /// Sends one owed page and marks it finished in the outbox; whether it
    /// was delivered.
    async fn send_page(&self, entry: &OutboxEntry) -> bool {
        let (ok, attempts) = match serde_json::from_value::<PageDoc>(entry.doc.clone()) {
            Ok(doc) => {
                let url = self
                    .runtime
                    .get()
                    .oncall
                    .user(&doc.user)
                    .and_then(|u| u.webhook_url.clone());
                match url {
                    Some(url) => {
                        let out = self
                            .outbound
                            .post_json(
                                OutboundKind::Page,
                                &url,
                                doc.body.to_string().into_bytes(),
                                PAGE_TIMEOUT,
                            )
                            .await;
                        if out.delivered {
                            tracing::info!(incident = %doc.incident, user = %doc.user, level = doc.level, attempts = out.attempts, "paged");
                        } else {
                            tracing::warn!(incident = %doc.incident, user = %doc.user, level = doc.level, attempts = out.attempts, "page not delivered");
                        }
                        (out.delivered, out.attempts)
                    }
                    None => {
                        tracing::warn!(incident = %doc.incident, user = %doc.user, "user has no webhook_url any more; page not sent");
                        (false, 0)
                    }
                }
            }
            Err(e) => {
                tracing::error!(key = %entry.key, error = %e, "unreadable page in the outbox (written by another version?)");
                (false, 0)
            }
        };
        let nflog = self.nflog.clone();
        let key = entry.key.clone();
        let now = self.clock.now_millis();
        match tokio::task::spawn_blocking(move || nflog.finish(&key, ok, attempts, now)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(key = %entry.key, error = %e, "recording a page in the outbox failed")
            }
            Err(e) => tracing::error!(error = %e, "outbox task failed"),
        }
        ok
    }

    /// Sends every page still owed from before a restart, and records each
    /// on its incident's timeline. Returns when all were tried.
    pub async fn resume_pages(self: &Arc<Self>) {
        let owed = self.owed_pages().await;
        self.send_owed(owed).await;
    }

    /// The pages still owed. Read before the ticker starts, so that pages
    /// the ticker owes later are not sent twice.
    async fn owed_pages(&self) -> Vec<OutboxEntry> {
        let nflog = self.nflog.clone();
        match tokio::task::spawn_blocking(move || nflog.pending(PAGE_KIND)).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reading owed pages failed");
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox task failed");
                Vec::new()
            }
        }
    }

    async fn send_owed(self: &Arc<Self>, pending: Vec<OutboxEntry>) {
        if !pending.is_empty() {
            tracing::info!(
                pages = pending.len(),
                "resuming pages owed from before a restart"
            );
        }
        let mut tasks = Vec::new();
        for entry in pending {
            let hub = self.clone();
            tasks.push(tokio::spawn(async move {
                let ok = hub.send_page(&entry).await;
                let Ok(doc) = serde_json::from_value::<PageDoc>(entry.doc) else {
                    return;
                };
                let h = hub.clone();
                let recorded = tokio::task::spawn_blocking(move || {
                    h.service().record_notification(
                        doc.incident,
                        &format!("page {}", doc.user),
                        ok,
                        h.clock.now_millis(),
                    )
                })
                .await;
                if let Ok(Err(e)) = recorded {
                    tracing::error!(incident = %doc.incident, error = %e, "recording a page failed");
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Runs until `stop`: advance escalations at each deadline (at least every
/// [`MAX_SLEEP`], and at once when one starts), page in the background.
pub async fn run_escalations(
    hub: Arc<IncidentHub>,
    leadership: Leadership,
    mut stop: watch::Receiver<bool>,
) {
    let mut roles = leadership.subscribe();
    let mut leading = false;
    loop {
        let Some(acting) = crate::cluster::until_acting(&leadership, &mut roles, &mut stop).await
        else {
            return;
        };
        if !leading {
            // Starting to lead (or to run): pages a previous leader owed
            // and did not finish are sent now.
            leading = true;
            let owed = hub.owed_pages().await;
            let h = hub.clone();
            tokio::spawn(async move { h.send_owed(owed).await });
        }
        let now = hub.clock.now_millis();
        let h = hub.clone();
        let fence = acting.fence().cloned();
        let (pages, next) =
            match tokio::task::spawn_blocking(move || h.due_pages(now, fence.as_ref())).await {
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
            _ = roles.changed() => {
                leading = leadership.is_leader();
            }
            _ = stop.changed() => return,
        }
    }
}
