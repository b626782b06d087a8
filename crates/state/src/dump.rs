//! Every record of every store at once, to move a state from one backend
//! to another (`homeostat state migrate`). Ids, sequence numbers and
//! revisions travel as they are: links to `INC-42` keep working and an
//! incident keeps its timeline.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::{
    ActionItem, AnalysisRecord, AuditEntry, ChaosRun, Deploy, EscalationRecord, GateOverride,
    Incident, NflogEntry, OutboxEntry, RemediationRun, Silence, Termination, TimelineEvent,
    ToilEntry, TokenRecord,
};

/// A used action link, as [`crate::UsedLinkStore`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsedLink {
    pub key: String,
    pub expires_at: i64,
}

/// All records, each list in a fixed order: silences, escalations, tokens
/// and used links by key; the notification log by (receiver, group key);
/// the outbox by key; incidents, action items and deploys by id; timeline
/// events and audit entries by `seq`; overrides newest first (as listed);
/// analysis runs by start, then insertion; experiment runs by start, then
/// id; terminations by id; toil entries by time, then id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dump {
    pub silences: Vec<Silence>,
    pub nflog: Vec<NflogEntry>,
    pub outbox: Vec<OutboxEntry>,
    pub incidents: Vec<Incident>,
    pub timeline: Vec<TimelineEvent>,
    pub action_items: Vec<ActionItem>,
    pub escalations: Vec<EscalationRecord>,
    pub audit: Vec<AuditEntry>,
    pub deploys: Vec<Deploy>,
    pub overrides: Vec<GateOverride>,
    pub analyses: Vec<AnalysisRecord>,
    pub tokens: Vec<TokenRecord>,
    pub used_links: Vec<UsedLink>,
    /// Absent from dumps written before chaos experiments existed.
    #[serde(default)]
    pub chaos_runs: Vec<ChaosRun>,
    #[serde(default)]
    pub terminations: Vec<Termination>,
    /// Toil logged by hand; absent from dumps written before the ledger.
    #[serde(default)]
    pub toil: Vec<ToilEntry>,
    /// Absent from dumps written before remediation existed.
    #[serde(default)]
    pub remediation_runs: Vec<RemediationRun>,
}

impl Dump {
    /// How many records of each store, in import order.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("silences", self.silences.len()),
            ("nflog", self.nflog.len()),
            ("outbox", self.outbox.len()),
            ("incidents", self.incidents.len()),
            ("timeline", self.timeline.len()),
            ("action_items", self.action_items.len()),
            ("escalations", self.escalations.len()),
            ("audit", self.audit.len()),
            ("deploys", self.deploys.len()),
            ("overrides", self.overrides.len()),
            ("analyses", self.analyses.len()),
            ("tokens", self.tokens.len()),
            ("used_links", self.used_links.len()),
            ("chaos_runs", self.chaos_runs.len()),
            ("terminations", self.terminations.len()),
            ("toil", self.toil.len()),
            ("remediation_runs", self.remediation_runs.len()),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, n)| *n == 0)
    }

    /// Puts every list in the documented order, so that dumps of equal
    /// states compare equal whatever order a backend read them in.
    pub fn sort(&mut self) {
        self.silences.sort_by(|a, b| a.id.cmp(&b.id));
        self.nflog
            .sort_by(|a, b| (&a.receiver, &a.group_key).cmp(&(&b.receiver, &b.group_key)));
        self.outbox.sort_by(|a, b| a.key.cmp(&b.key));
        self.incidents.sort_by_key(|i| i.id);
        self.timeline.sort_by_key(|e| e.seq);
        self.action_items.sort_by_key(|a| a.id);
        self.escalations.sort_by(|a, b| a.key.cmp(&b.key));
        self.audit.sort_by_key(|e| e.seq);
        self.deploys.sort_by_key(|d| d.id);
        self.overrides
            .sort_by(|a, b| (b.created_at, &a.id).cmp(&(a.created_at, &b.id)));
        self.tokens.sort_by(|a, b| a.name.cmp(&b.name));
        self.used_links.sort_by(|a, b| a.key.cmp(&b.key));
        self.chaos_runs
            .sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        self.terminations.sort_by_key(|t| t.id);
        self.toil
            .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        self.remediation_runs
            .sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    }
}

/// Reads and writes a whole state; every backend implements it.
pub trait StateDump: Send + Sync {
    /// Every record, sorted as [`Dump`] documents, read in one consistent
    /// snapshot where the backend has them.
    fn export(&self) -> Result<Dump>;
    /// Replaces everything stored with `dump`, in one transaction: the
    /// records keep their ids, sequence numbers and revisions, and ids
    /// assigned later follow the highest imported one. `progress` is told
    /// each store's name and count once it is written.
    fn import(&self, dump: &Dump, progress: &mut dyn FnMut(&str, usize)) -> Result<()>;
}
