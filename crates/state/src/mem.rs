//! [`MemState`]: every state trait in memory, for engine tests. It follows
//! the same rules as the SQL backend (the conformance suite checks both).

mod chaos;
mod dump;
mod remediation;
mod toil;

use std::collections::BTreeMap;

use parking_lot::Mutex;

use crate::error::{Result, StateError};
use crate::incident::{validate_action_item, validate_incident};
use crate::{
    ActionItem, AuditEntry, AuditLog, EscalationRecord, EscalationStore, Incident, IncidentFilter,
    IncidentId, IncidentStore, NflogEntry, NotificationLog, OutboxEntry, OutboxState, Silence,
    SilenceStore, TimelineEvent, expired_at, new_silence_id,
};
use crate::{AnalysisRecord, AnalysisStore};
use crate::{Deploy, DeployFilter, DeployStore, GateOverride, OverrideStore, RollbackRecord};
use crate::{Fence, Lease, LoggedAlert, Member};
use crate::{TokenRecord, TokenStore, UsedLinkStore};

// Leases, members and the alert log.
mod cluster;

/// In-memory state; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemState {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    silences: BTreeMap<String, Silence>,
    nflog: BTreeMap<(String, String), NflogEntry>,
    outbox: BTreeMap<String, OutboxEntry>,
    incidents: BTreeMap<IncidentId, Incident>,
    events: Vec<TimelineEvent>,
    action_items: BTreeMap<i64, ActionItem>,
    escalations: BTreeMap<String, EscalationRecord>,
    audit: Vec<AuditEntry>,
    deploys: BTreeMap<i64, Deploy>,
    overrides: Vec<GateOverride>,
    /// In insertion order.
    analyses: Vec<AnalysisRecord>,
    /// By name.
    tokens: BTreeMap<String, TokenRecord>,
    /// Used link key → when the link expires.
    used_links: BTreeMap<String, i64>,
    leases: BTreeMap<String, Lease>,
    members: BTreeMap<String, Member>,
    /// (sequence number, alert), in order.
    alert_log: Vec<(i64, LoggedAlert)>,
    next_alert_seq: i64,
    next_deploy: i64,
    next_incident: i64,
    next_seq: i64,
    next_action_item: i64,
    /// Experiment runs, in insertion order.
    chaos_runs: Vec<crate::ChaosRun>,
    terminations: Vec<crate::Termination>,
    /// Toil logged by hand, in insertion order.
    toil: Vec<crate::ToilEntry>,
    /// Remediation runs, in insertion order.
    remediations: Vec<crate::RemediationRun>,
    /// Set by [`MemState::close_audit`]: every audit write fails.
    audit_closed: bool,
}

impl MemState {
    /// Makes every later audit write fail, as a full disk or a broken
    /// database would; for tests of what must not happen without an audit
    /// record.
    pub fn close_audit(&self) {
        self.inner.lock().audit_closed = true;
    }
}

impl Inner {
    fn check_fence(&self, fence: Option<&Fence>) -> Result<()> {
        match fence {
            None => Ok(()),
            Some(f) => match self.leases.get(&f.lease) {
                Some(l) if l.holder == f.holder && l.token == f.token => Ok(()),
                _ => Err(StateError::fenced(f)),
            },
        }
    }

    fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64> {
        if self.audit_closed {
            return Err(StateError::backend(
                "append audit entry",
                std::io::Error::other("the audit log is closed"),
            ));
        }
        self.next_seq += 1;
        let mut e = entry.clone();
        e.seq = self.next_seq;
        self.audit.push(e);
        Ok(self.next_seq)
    }

    fn open_incident_for(&self, group_key: &str) -> Option<&Incident> {
        self.incidents
            .values()
            .find(|i| i.state.is_open() && i.group_key.as_deref() == Some(group_key))
    }
}

impl SilenceStore for MemState {
    fn upsert(&self, silence: &Silence) -> Result<Silence> {
        silence.validate()?;
        let mut s = silence.clone();
        if s.id.is_empty() {
            s.id = new_silence_id();
        }
        self.inner.lock().silences.insert(s.id.clone(), s.clone());
        Ok(s)
    }

    fn get(&self, id: &str) -> Result<Silence> {
        self.inner
            .lock()
            .silences
            .get(id)
            .cloned()
            .ok_or_else(|| StateError::not_found("silence", id))
    }

    fn list(&self) -> Result<Vec<Silence>> {
        let mut all: Vec<Silence> = self.inner.lock().silences.values().cloned().collect();
        all.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
        Ok(all)
    }

    fn expire(&self, id: &str, at: i64) -> Result<Silence> {
        let mut inner = self.inner.lock();
        let s = inner
            .silences
            .get_mut(id)
            .ok_or_else(|| StateError::not_found("silence", id))?;
        *s = expired_at(s.clone(), at)?;
        Ok(s.clone())
    }

    fn gc(&self, older_than: i64) -> Result<usize> {
        let mut inner = self.inner.lock();
        let before = inner.silences.len();
        inner.silences.retain(|_, s| s.ends_at >= older_than);
        Ok(before - inner.silences.len())
    }
}

impl NotificationLog for MemState {
    fn record(&self, entry: &NflogEntry, fence: Option<&Fence>) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.check_fence(fence)?;
        inner.nflog.insert(
            (entry.receiver.clone(), entry.group_key.clone()),
            entry.clone(),
        );
        Ok(())
    }

    fn forget(&self, receiver: &str, group_key: &str, fence: Option<&Fence>) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.check_fence(fence)?;
        inner
            .nflog
            .remove(&(receiver.to_string(), group_key.to_string()));
        Ok(())
    }

    fn last(&self, receiver: &str, group_key: &str) -> Result<Option<NflogEntry>> {
        Ok(self
            .inner
            .lock()
            .nflog
            .get(&(receiver.to_string(), group_key.to_string()))
            .cloned())
    }

    fn gc(&self, now: i64) -> Result<usize> {
        let mut inner = self.inner.lock();
        let before = inner.nflog.len() + inner.outbox.len();
        inner.nflog.retain(|_, e| e.expires_at > now);
        inner.outbox.retain(|_, e| e.expires_at > now);
        Ok(before - inner.nflog.len() - inner.outbox.len())
    }

    fn enqueue(&self, entry: &OutboxEntry, fence: Option<&Fence>) -> Result<bool> {
        let mut inner = self.inner.lock();
        inner.check_fence(fence)?;
        if inner.outbox.contains_key(&entry.key) {
            return Ok(false);
        }
        let mut e = entry.clone();
        e.state = OutboxState::Pending;
        e.finished_at = None;
        inner.outbox.insert(e.key.clone(), e);
        Ok(true)
    }

    fn pending(&self, kind: &str) -> Result<Vec<OutboxEntry>> {
        let mut out: Vec<OutboxEntry> = self
            .inner
            .lock()
            .outbox
            .values()
            .filter(|e| e.kind == kind && e.state == OutboxState::Pending)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.key).cmp(&(b.created_at, &b.key)));
        Ok(out)
    }

    fn finish(&self, key: &str, delivered: bool, attempts: u32, at: i64) -> Result<()> {
        if let Some(e) = self.inner.lock().outbox.get_mut(key) {
            e.state = if delivered {
                OutboxState::Delivered
            } else {
                OutboxState::Failed
            };
            e.attempts = attempts;
            e.finished_at = Some(at);
        }
        Ok(())
    }

    fn outbox_entry(&self, key: &str) -> Result<Option<OutboxEntry>> {
        Ok(self.inner.lock().outbox.get(key).cloned())
    }
}

impl IncidentStore for MemState {
    fn create(&self, incident: &Incident) -> Result<Incident> {
        validate_incident(incident)?;
        let mut inner = self.inner.lock();
        if incident.state.is_open()
            && let Some(g) = &incident.group_key
            && let Some(other) = inner.open_incident_for(g)
        {
            return Err(StateError::conflict(
                "incident",
                other.id,
                format!("already open for group {g:?}"),
            ));
        }
        inner.next_incident += 1;
        let mut i = incident.clone();
        i.id = IncidentId(inner.next_incident);
        i.revision = 1;
        inner.incidents.insert(i.id, i.clone());
        Ok(i)
    }

    fn get(&self, id: IncidentId) -> Result<Incident> {
        self.inner
            .lock()
            .incidents
            .get(&id)
            .cloned()
            .ok_or_else(|| StateError::not_found("incident", id))
    }

    fn list(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let inner = self.inner.lock();
        Ok(inner
            .incidents
            .values()
            .rev()
            .filter(|i| filter.matches(i))
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    fn update(&self, incident: &Incident) -> Result<Incident> {
        validate_incident(incident)?;
        let mut inner = self.inner.lock();
        let stored = inner
            .incidents
            .get(&incident.id)
            .ok_or_else(|| StateError::not_found("incident", incident.id))?;
        if stored.revision != incident.revision {
            return Err(StateError::conflict(
                "incident",
                incident.id,
                format!(
                    "stale revision {} (stored {})",
                    incident.revision, stored.revision
                ),
            ));
        }
        if incident.state.is_open()
            && let Some(g) = &incident.group_key
            && let Some(other) = inner.open_incident_for(g)
            && other.id != incident.id
        {
            return Err(StateError::conflict(
                "incident",
                other.id,
                format!("already open for group {g:?}"),
            ));
        }
        let mut i = incident.clone();
        i.revision += 1;
        inner.incidents.insert(i.id, i.clone());
        Ok(i)
    }

    fn find_open_by_group_key(&self, group_key: &str) -> Result<Option<Incident>> {
        Ok(self.inner.lock().open_incident_for(group_key).cloned())
    }

    fn append_event(&self, event: &TimelineEvent) -> Result<i64> {
        let mut inner = self.inner.lock();
        if !inner.incidents.contains_key(&event.incident_id) {
            return Err(StateError::not_found("incident", event.incident_id));
        }
        inner.next_seq += 1;
        let mut e = event.clone();
        e.seq = inner.next_seq;
        inner.events.push(e);
        Ok(inner.next_seq)
    }

    fn timeline(&self, incident_id: IncidentId) -> Result<Vec<TimelineEvent>> {
        let inner = self.inner.lock();
        if !inner.incidents.contains_key(&incident_id) {
            return Err(StateError::not_found("incident", incident_id));
        }
        let mut events: Vec<TimelineEvent> = inner
            .events
            .iter()
            .filter(|e| e.incident_id == incident_id)
            .cloned()
            .collect();
        events.sort_by_key(|e| (e.at, e.seq));
        Ok(events)
    }

    fn create_action_item(&self, item: &ActionItem) -> Result<ActionItem> {
        validate_action_item(item)?;
        let mut inner = self.inner.lock();
        if !inner.incidents.contains_key(&item.incident_id) {
            return Err(StateError::not_found("incident", item.incident_id));
        }
        inner.next_action_item += 1;
        let mut a = item.clone();
        a.id = inner.next_action_item;
        inner.action_items.insert(a.id, a.clone());
        Ok(a)
    }

    fn get_action_item(&self, id: i64) -> Result<ActionItem> {
        self.inner
            .lock()
            .action_items
            .get(&id)
            .cloned()
            .ok_or_else(|| StateError::not_found("action item", id))
    }

    fn update_action_item(&self, item: &ActionItem) -> Result<ActionItem> {
        validate_action_item(item)?;
        let mut inner = self.inner.lock();
        let stored = inner
            .action_items
            .get_mut(&item.id)
            .ok_or_else(|| StateError::not_found("action item", item.id))?;
        if stored.incident_id != item.incident_id {
            return Err(StateError::invalid(
                "incident_id",
                "an action item cannot move to another incident",
            ));
        }
        *stored = item.clone();
        Ok(item.clone())
    }

    fn delete_action_item(&self, id: i64) -> Result<()> {
        self.inner
            .lock()
            .action_items
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| StateError::not_found("action item", id))
    }

    fn action_items(&self, incident_id: IncidentId) -> Result<Vec<ActionItem>> {
        Ok(self
            .inner
            .lock()
            .action_items
            .values()
            .filter(|a| a.incident_id == incident_id)
            .cloned()
            .collect())
    }
}

impl EscalationStore for MemState {
    fn put(&self, record: &EscalationRecord) -> Result<()> {
        self.inner
            .lock()
            .escalations
            .insert(record.key.clone(), record.clone());
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<EscalationRecord>> {
        Ok(self.inner.lock().escalations.get(key).cloned())
    }

    fn list_active(&self) -> Result<Vec<EscalationRecord>> {
        Ok(self.inner.lock().escalations.values().cloned().collect())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        Ok(self.inner.lock().escalations.remove(key).is_some())
    }
}

impl AuditLog for MemState {
    fn append(&self, entry: &AuditEntry) -> Result<i64> {
        self.inner.lock().append_audit(entry)
    }

    fn list_by_object(&self, object: &str, limit: usize) -> Result<Vec<AuditEntry>> {
        Ok(newest(
            self.inner
                .lock()
                .audit
                .iter()
                .filter(|e| e.object == object)
                .cloned()
                .collect(),
            limit,
        ))
    }

    fn list_recent(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        Ok(newest(self.inner.lock().audit.clone(), limit))
    }
}

/// The newest `limit` entries by (at, seq), oldest first.
fn newest(mut entries: Vec<AuditEntry>, limit: usize) -> Vec<AuditEntry> {
    entries.sort_by_key(|e| (e.at, e.seq));
    let skip = entries.len().saturating_sub(limit);
    entries.split_off(skip)
}

impl DeployStore for MemState {
    fn record_deploy(&self, deploy: &Deploy) -> Result<i64> {
        deploy.validate()?;
        let mut g = self.inner.lock();
        // Checked before anything changes: one lock is this backend's
        // transaction.
        if let Some(old) = deploy.rolls_back {
            let Some(replaced) = g.deploys.get_mut(&old) else {
                return Err(StateError::not_found("deploy", old));
            };
            let mut marked = replaced.clone();
            marked.finish(crate::DeployOutcome::RolledBack, deploy.started_at)?;
            *replaced = marked;
        }
        g.next_deploy += 1;
        let id = g.next_deploy;
        let mut d = deploy.clone();
        d.id = id;
        g.deploys.insert(id, d);
        Ok(id)
    }

    fn finish_deploy(&self, id: i64, outcome: crate::DeployOutcome, at: i64) -> Result<Deploy> {
        let mut g = self.inner.lock();
        let Some(d) = g.deploys.get_mut(&id) else {
            return Err(StateError::not_found("deploy", id));
        };
        let mut done = d.clone();
        done.finish(outcome, at)?;
        *d = done.clone();
        Ok(done)
    }

    fn get_deploy(&self, id: i64) -> Result<Option<Deploy>> {
        Ok(self.inner.lock().deploys.get(&id).cloned())
    }

    fn list_deploys(&self, filter: &DeployFilter) -> Result<Vec<Deploy>> {
        let g = self.inner.lock();
        let mut out: Vec<Deploy> = g
            .deploys
            .values()
            .rev()
            .filter(|d| filter.matches(d))
            .cloned()
            .collect();
        out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        if filter.limit > 0 {
            out.truncate(filter.limit);
        }
        Ok(out)
    }

    fn update_deploy(&self, deploy: &Deploy) -> Result<()> {
        deploy.validate()?;
        let mut g = self.inner.lock();
        let Some(d) = g.deploys.get_mut(&deploy.id) else {
            return Err(StateError::not_found("deploy", deploy.id));
        };
        let rollback = d.rollback.take();
        *d = deploy.clone();
        d.rollback = rollback;
        Ok(())
    }

    fn claim_rollback(&self, id: i64, record: &RollbackRecord) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(d) = g.deploys.get_mut(&id) else {
            return Err(StateError::not_found("deploy", id));
        };
        if d.rollback.is_some() {
            return Ok(false);
        }
        d.rollback = Some(record.clone());
        Ok(true)
    }

    fn finish_rollback(&self, id: i64, ok: bool, detail: &serde_json::Value) -> Result<()> {
        let mut g = self.inner.lock();
        let Some(r) = g.deploys.get_mut(&id).and_then(|d| d.rollback.as_mut()) else {
            return Err(StateError::not_found("deploy rollback", id));
        };
        r.ok = Some(ok);
        r.detail = detail.clone();
        Ok(())
    }
}

impl OverrideStore for MemState {
    fn create_override(&self, o: &GateOverride, audit: &AuditEntry) -> Result<()> {
        // One lock over both lists is this backend's transaction.
        let mut g = self.inner.lock();
        if g.overrides.iter().any(|x| x.id == o.id) {
            return Err(StateError::conflict("override", &o.id, "the id exists"));
        }
        g.append_audit(audit)?;
        g.overrides.push(o.clone());
        Ok(())
    }

    fn list_overrides(&self, service: Option<&str>) -> Result<Vec<GateOverride>> {
        let g = self.inner.lock();
        let mut out: Vec<GateOverride> = g
            .overrides
            .iter()
            .filter(|o| service.is_none_or(|s| o.service == s))
            .cloned()
            .collect();
        out.sort_by_key(|o| std::cmp::Reverse(o.created_at));
        Ok(out)
    }

    fn revoke_override(&self, id: &str, at: i64, audit: &AuditEntry) -> Result<bool> {
        let mut g = self.inner.lock();
        let Some(i) = g.overrides.iter().position(|o| o.id == id) else {
            return Err(StateError::not_found("override", id));
        };
        if g.overrides[i].revoked_at.is_some() {
            return Ok(false);
        }
        g.append_audit(audit)?;
        g.overrides[i].revoked_at = Some(at);
        Ok(true)
    }
}

impl AnalysisStore for MemState {
    fn save_analysis(&self, run: &AnalysisRecord) -> Result<()> {
        run.validate()?;
        let mut g = self.inner.lock();
        match g.analyses.iter_mut().find(|a| a.id == run.id) {
            Some(stored) => {
                let mut kept = std::mem::take(&mut stored.measurements);
                kept.extend(run.measurements.iter().skip(kept.len()).cloned());
                *stored = AnalysisRecord {
                    measurements: kept,
                    ..run.clone()
                };
            }
            None => g.analyses.push(run.clone()),
        }
        Ok(())
    }

    fn get_analysis(&self, id: &str) -> Result<Option<AnalysisRecord>> {
        Ok(self
            .inner
            .lock()
            .analyses
            .iter()
            .find(|a| a.id == id)
            .cloned())
    }

    fn list_analyses(&self) -> Result<Vec<AnalysisRecord>> {
        let mut out = self.inner.lock().analyses.clone();
        out.sort_by_key(|a| a.started_at);
        Ok(out)
    }

    fn delete_analysis(&self, id: &str) -> Result<bool> {
        let mut g = self.inner.lock();
        let before = g.analyses.len();
        g.analyses.retain(|a| a.id != id);
        Ok(g.analyses.len() != before)
    }
}

impl TokenStore for MemState {
    fn create_token(&self, token: &TokenRecord) -> Result<()> {
        let mut inner = self.inner.lock();
        if inner
            .tokens
            .get(&token.name)
            .is_some_and(|t| t.revoked_at.is_none())
        {
            return Err(StateError::conflict("token", &token.name, "name in use"));
        }
        if inner.tokens.values().any(|t| t.hash == token.hash) {
            return Err(StateError::conflict("token", &token.name, "hash in use"));
        }
        inner.tokens.insert(token.name.clone(), token.clone());
        Ok(())
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let inner = self.inner.lock();
        Ok(inner.tokens.values().find(|t| t.hash == hash).cloned())
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.inner.lock().tokens.values().cloned().collect())
    }

    fn revoke_token(&self, name: &str, at: i64) -> Result<TokenRecord> {
        let mut inner = self.inner.lock();
        let t = inner
            .tokens
            .get_mut(name)
            .ok_or_else(|| StateError::not_found("token", name))?;
        t.revoked_at.get_or_insert(at);
        Ok(t.clone())
    }
}

impl UsedLinkStore for MemState {
    fn claim_link(&self, key: &str, expires_at: i64, now: i64) -> Result<bool> {
        let mut inner = self.inner.lock();
        inner.used_links.retain(|_, exp| *exp >= now);
        if inner.used_links.contains_key(key) {
            return Ok(false);
        }
        inner.used_links.insert(key.to_string(), expires_at);
        Ok(true)
    }

    fn link_used(&self, key: &str) -> Result<bool> {
        Ok(self.inner.lock().used_links.contains_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{override_audit, sample_override};

    #[test]
    fn passes_the_conformance_suite() {
        crate::conformance::run_all(|| std::sync::Arc::new(MemState::default()));
        crate::conformance::dump_round_trip(&MemState::default());
    }

    #[test]
    fn an_override_whose_audit_fails_is_not_stored() {
        let s = MemState::default();
        s.close_audit();
        let o = sample_override();
        let audit = override_audit("gate.override.create", "ovr-1", 1_000);
        assert!(s.create_override(&o, &audit).is_err());
        assert!(s.list_overrides(None).is_ok_and(|l| l.is_empty()));
    }
}
