//! The toil ledger (issue 17): toil logged by hand, toil derived from the
//! human actions homeostat already sees (the audit log, incidents, rollback
//! deploys), and the report — toil share per team per ISO week against the
//! cap, with on-call hours from the schedules as the denominator, and the
//! repeated actions worth automating.
//!
//! Teams come from the service catalog (`services[].team`); a team's
//! on-call hours are those of the on-call schedule with the team's name.

mod derive;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use homeostat_model::{Clock, ErrorKind};
use homeostat_oncall::Oncall;
use homeostat_state::{AuditEntry, Silence, State, StateError, ToilEntry, ToilFilter, ToilSource};
use homeostat_toil::{Candidate, CandidateOptions, DEFAULT_CAP, Shift, WEEK_MS, WeekShare};
use serde_json::json;

use crate::Live;

pub use derive::{DERIVE_AUDIT_LIMIT, is_human};

/// Most weeks a report covers.
pub const MAX_REPORT_WEEKS: u32 = 52;

/// What the ledger reads from the config; replaced at a reload.
#[derive(Debug, Clone)]
pub struct ToilConfig {
    /// Service → team, from `services[].team`.
    pub teams: BTreeMap<String, String>,
    /// The on-call schedules; a team's are the one named after it.
    pub oncall: Arc<Oncall>,
    /// Largest healthy toil share (0.5 by default).
    pub cap: f64,
    pub candidates: CandidateOptions,
}

impl Default for ToilConfig {
    fn default() -> Self {
        Self {
            teams: BTreeMap::new(),
            oncall: Arc::new(Oncall::default()),
            cap: DEFAULT_CAP,
            candidates: CandidateOptions::default(),
        }
    }
}

impl ToilConfig {
    pub fn team_of(&self, service: Option<&str>) -> Option<String> {
        service.and_then(|s| self.teams.get(s).cloned())
    }
}

/// Work logged by hand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManualToil {
    pub kind: String,
    pub service: Option<String>,
    pub minutes: f64,
    pub note: String,
    /// Who did the work.
    pub by: String,
    /// When the work was done; now when none.
    pub at_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ToilError {
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error(transparent)]
    State(#[from] StateError),
}

impl ToilError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid { .. } => ErrorKind::InvalidInput,
            Self::State(e) => e.kind(),
        }
    }

    fn invalid(field: &str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

/// The toil report over whole ISO weeks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ToilReport {
    pub cap: f64,
    /// Monday 00:00 UTC of the first week.
    pub from_ms: i64,
    /// Monday 00:00 UTC after the last week.
    pub until_ms: i64,
    /// By team, then week.
    pub weeks: Vec<WeekShare>,
    /// Over the candidate window ending now, most repeated first.
    pub candidates: Vec<Candidate>,
    pub candidate_window_days: i64,
}

pub struct ToilService {
    state: State,
    clock: Arc<dyn Clock>,
    config: Arc<Live<ToilConfig>>,
}

impl std::fmt::Debug for ToilService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToilService").finish_non_exhaustive()
    }
}

impl ToilService {
    pub fn new(state: State, clock: Arc<dyn Clock>, config: Arc<Live<ToilConfig>>) -> Self {
        Self {
            state,
            clock,
            config,
        }
    }

    /// Validates and stores work logged by hand, with the service's team,
    /// and audits it (`toil.log`).
    pub fn log_manual(&self, m: &ManualToil) -> Result<ToilEntry, ToilError> {
        let now = self.clock.now_millis();
        let at_ms = m.at_ms.unwrap_or(now);
        if at_ms > now {
            return Err(ToilError::invalid(
                "at",
                "toil is logged once done, not ahead",
            ));
        }
        let service = m
            .service
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let config = self.config.get();
        let entry = ToilEntry {
            id: format!("toil-{}", homeostat_state::new_silence_id()),
            at_ms,
            actor: m.by.trim().to_string(),
            service: service.map(str::to_string),
            team: config.team_of(service),
            kind: m.kind.trim().to_string(),
            subject: service.unwrap_or("-").to_string(),
            minutes: m.minutes,
            source: ToilSource::Manual,
            detail: m.note.trim().to_string(),
        };
        entry.validate()?;
        self.state.toil.record_toil(&entry)?;
        let audit = AuditEntry {
            seq: 0,
            at: now,
            actor: entry.actor.clone(),
            action: "toil.log".into(),
            object: format!("toil/{}", entry.id),
            detail: json!({"kind": entry.kind, "service": entry.service, "minutes": entry.minutes}),
        };
        if let Err(e) = self.state.audit.append(&audit) {
            tracing::warn!(error = %e, "writing the audit log failed");
        }
        Ok(entry)
    }

    /// Audits a silence created or changed through the Alertmanager API,
    /// so that the ledger sees it (`silence.create`, `silence.update`).
    pub fn audit_silence(&self, s: &Silence, updated: bool) {
        let entry = AuditEntry {
            seq: 0,
            at: self.clock.now_millis(),
            actor: s.created_by.clone(),
            action: if updated {
                "silence.update"
            } else {
                "silence.create"
            }
            .into(),
            object: format!("silence/{}", s.id),
            detail: json!({"matchers": s.matchers, "ends_at": s.ends_at, "comment": s.comment}),
        };
        if let Err(e) = self.state.audit.append(&entry) {
            tracing::warn!(error = %e, "writing the audit log failed");
        }
    }

    /// Toil derived from what homeostat saw in `[since, until)`.
    pub fn derive(&self, since: i64, until: i64) -> Result<Vec<ToilEntry>, ToilError> {
        derive::derive(&self.state, &self.config.get(), since, until)
    }

    /// Logged and derived entries that `f` matches, oldest first.
    pub fn list(&self, f: &ToilFilter) -> Result<Vec<ToilEntry>, ToilError> {
        let until = f.until.unwrap_or_else(|| self.clock.now_millis() + 1);
        let mut out = self.state.toil.list_toil(f)?;
        out.extend(
            self.derive(f.since, until)?
                .into_iter()
                .filter(|e| f.matches(e)),
        );
        out.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        Ok(out)
    }

    /// The report over the last `weeks` ISO weeks, this one included.
    pub fn report(&self, weeks: u32) -> Result<ToilReport, ToilError> {
        self.report_at(weeks, self.clock.now_millis())
    }

    pub fn report_at(&self, weeks: u32, now: i64) -> Result<ToilReport, ToilError> {
        if weeks == 0 || weeks > MAX_REPORT_WEEKS {
            return Err(ToilError::invalid(
                "weeks",
                format!("{weeks} is out of range: ask for 1 to {MAX_REPORT_WEEKS} weeks"),
            ));
        }
        let config = self.config.get();
        let until_ms = homeostat_toil::week_start(now) + WEEK_MS;
        let from_ms = until_ms - i64::from(weeks) * WEEK_MS;
        let since = from_ms.min(now - config.candidates.window_ms);
        let entries = self.list(&ToilFilter {
            since,
            until: Some(until_ms),
            ..Default::default()
        })?;
        let oncall = oncall_shifts(&config, from_ms, until_ms);
        Ok(ToilReport {
            cap: config.cap,
            from_ms,
            until_ms,
            weeks: homeostat_toil::weekly_shares(&entries, &oncall, from_ms, until_ms, config.cap),
            candidates: homeostat_toil::candidates(&entries, now, config.candidates),
            candidate_window_days: config.candidates.window_ms / homeostat_toil::DAY_MS,
        })
    }
}

/// Every team's shifts in `[from, until)`: those of the schedule named after
/// the team.
fn oncall_shifts(config: &ToilConfig, from: i64, until: i64) -> BTreeMap<String, Vec<Shift>> {
    let (Some(from_t), Some(until_t)) = (
        DateTime::<Utc>::from_timestamp_millis(from),
        DateTime::<Utc>::from_timestamp_millis(until),
    ) else {
        return BTreeMap::new();
    };
    let mut teams: Vec<&String> = config.teams.values().collect();
    teams.sort();
    teams.dedup();
    teams
        .into_iter()
        .filter_map(|team| {
            let schedule = config.oncall.schedule(team)?;
            let shifts = homeostat_oncall::shifts(schedule, from_t, until_t)
                .into_iter()
                .map(|s| Shift {
                    start_ms: s.start.timestamp_millis(),
                    end_ms: s.end.timestamp_millis(),
                })
                .collect();
            Some((team.clone(), shifts))
        })
        .collect()
}

#[cfg(test)]
mod tests;
