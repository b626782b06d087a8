//! [`StateDump`] for [`MemState`].

use super::{Inner, MemState};
use crate::error::Result;
use crate::{AnalysisStore, Dump, OverrideStore, StateDump, UsedLink};

impl StateDump for MemState {
    fn export(&self) -> Result<Dump> {
        let overrides = self.list_overrides(None)?;
        let analyses = self.list_analyses()?;
        let g = self.inner.lock();
        let mut dump = Dump {
            silences: g.silences.values().cloned().collect(),
            nflog: g.nflog.values().cloned().collect(),
            outbox: g.outbox.values().cloned().collect(),
            incidents: g.incidents.values().cloned().collect(),
            timeline: g.events.clone(),
            action_items: g.action_items.values().cloned().collect(),
            escalations: g.escalations.values().cloned().collect(),
            audit: g.audit.clone(),
            deploys: g.deploys.values().cloned().collect(),
            overrides,
            analyses,
            tokens: g.tokens.values().cloned().collect(),
            used_links: g
                .used_links
                .iter()
                .map(|(key, expires_at)| UsedLink {
                    key: key.clone(),
                    expires_at: *expires_at,
                })
                .collect(),
            chaos_runs: g.chaos_runs.clone(),
            terminations: g.terminations.clone(),
            toil: g.toil.clone(),
            remediation_runs: g.remediations.clone(),
        };
        dump.sort();
        Ok(dump)
    }

    fn import(&self, dump: &Dump, progress: &mut dyn FnMut(&str, usize)) -> Result<()> {
        let d = dump.clone();
        let max = |it: &mut dyn Iterator<Item = i64>| it.max().unwrap_or(0);
        let mut g = self.inner.lock();
        // Leases, members and the alert log are not part of a dump: they
        // stay as they are.
        let old = std::mem::take(&mut *g);
        *g = Inner {
            next_deploy: max(&mut d.deploys.iter().map(|x| x.id)),
            next_incident: max(&mut d.incidents.iter().map(|i| i.id.0)),
            next_seq: max(&mut d
                .timeline
                .iter()
                .map(|e| e.seq)
                .chain(d.audit.iter().map(|e| e.seq))),
            next_action_item: max(&mut d.action_items.iter().map(|a| a.id)),
            silences: d.silences.into_iter().map(|s| (s.id.clone(), s)).collect(),
            nflog: d
                .nflog
                .into_iter()
                .map(|e| ((e.receiver.clone(), e.group_key.clone()), e))
                .collect(),
            outbox: d.outbox.into_iter().map(|e| (e.key.clone(), e)).collect(),
            incidents: d.incidents.into_iter().map(|i| (i.id, i)).collect(),
            events: d.timeline,
            action_items: d.action_items.into_iter().map(|a| (a.id, a)).collect(),
            escalations: d
                .escalations
                .into_iter()
                .map(|e| (e.key.clone(), e))
                .collect(),
            audit: d.audit,
            deploys: d.deploys.into_iter().map(|x| (x.id, x)).collect(),
            overrides: d.overrides,
            analyses: d.analyses,
            tokens: d.tokens.into_iter().map(|t| (t.name.clone(), t)).collect(),
            used_links: d
                .used_links
                .into_iter()
                .map(|l| (l.key, l.expires_at))
                .collect(),
            chaos_runs: d.chaos_runs,
            terminations: d.terminations,
            toil: d.toil,
            remediations: d.remediation_runs,
            audit_closed: false,
            ..old
        };
        drop(g);
        for (store, n) in dump.counts() {
            progress(store, n);
        }
        Ok(())
    }
}
