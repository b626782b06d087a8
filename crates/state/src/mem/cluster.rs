//! [`MemState`]'s leases, members and shared alert log.

use std::collections::BTreeMap;

use super::MemState;
use crate::error::Result;
use crate::{AlertLog, ClusterStore, Fence, Lease, LoggedAlert, Member};

impl ClusterStore for MemState {
    fn heartbeat(&self, member: &Member) -> Result<()> {
        self.inner
            .lock()
            .members
            .insert(member.id.clone(), member.clone());
        Ok(())
    }

    fn members(&self) -> Result<Vec<Member>> {
        Ok(self.inner.lock().members.values().cloned().collect())
    }

    fn forget_members(&self, seen_before: i64) -> Result<usize> {
        let mut inner = self.inner.lock();
        let before = inner.members.len();
        inner.members.retain(|_, m| m.last_seen >= seen_before);
        Ok(before - inner.members.len())
    }

    fn acquire_lease(&self, name: &str, holder: &str, now: i64, ttl_ms: i64) -> Result<Lease> {
        let mut inner = self.inner.lock();
        let prev = inner.leases.get(name).cloned();
        Ok(match Lease::acquired(prev, name, holder, now, ttl_ms) {
            Ok(lease) => {
                inner.leases.insert(name.to_string(), lease.clone());
                lease
            }
            Err(held) => held,
        })
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>> {
        Ok(self.inner.lock().leases.get(name).cloned())
    }

    fn release_lease(&self, fence: &Fence) -> Result<()> {
        let mut inner = self.inner.lock();
        if let Some(l) = inner.leases.get_mut(&fence.lease)
            && l.holder == fence.holder
            && l.token == fence.token
        {
            l.expires_at = i64::MIN;
        }
        Ok(())
    }
}

impl AlertLog for MemState {
    fn append_alerts(&self, alerts: &[LoggedAlert]) -> Result<i64> {
        let mut inner = self.inner.lock();
        for a in alerts {
            inner.next_alert_seq += 1;
            let seq = inner.next_alert_seq;
            inner.alert_log.push((seq, a.clone()));
        }
        Ok(inner.next_alert_seq)
    }

    fn alerts_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, LoggedAlert)>> {
        Ok(self
            .inner
            .lock()
            .alert_log
            .iter()
            .filter(|(seq, _)| *seq > after)
            .take(limit)
            .cloned()
            .collect())
    }

    fn gc_alerts(&self, ended_before: i64, superseded_before: i64) -> Result<usize> {
        let mut inner = self.inner.lock();
        let mut newest = BTreeMap::new();
        for (seq, a) in &inner.alert_log {
            newest.insert(a.fingerprint, *seq);
        }
        let before = inner.alert_log.len();
        inner.alert_log.retain(|(seq, a)| {
            let superseded = newest.get(&a.fingerprint).is_some_and(|n| n > seq);
            a.ends_at >= ended_before && !(superseded && a.updated_at < superseded_before)
        });
        Ok(before - inner.alert_log.len())
    }
}
