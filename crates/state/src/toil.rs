//! The toil ledger's records: manual and operational work done by people,
//! with its service, team, kind and minutes (issue 17). Entries logged by
//! hand are stored; entries derived from the audit log and incidents are
//! computed by the app layer in the same shape.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StateError};

/// Longest single entry: a day. Longer work is logged day by day, so that
/// it lands in the right week.
pub const TOIL_MAX_MINUTES: f64 = 24.0 * 60.0;

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToilSource {
    /// Logged by a person (`homeostat toil log`, the API, the console).
    Manual,
    /// Derived from an action homeostat saw (the audit log, incidents).
    Derived,
}

impl ToilSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Derived => "derived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(Self::Manual),
            "derived" => Some(Self::Derived),
            _ => None,
        }
    }

    /// Reads a stored source; an unknown one means a corrupt row.
    pub fn decode(stored: &str) -> Result<Self> {
        Self::parse(stored).ok_or_else(|| {
            StateError::backend(
                "read toil entry",
                std::io::Error::other(format!("toil_entries.source: unknown {stored:?}")),
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToilEntry {
    /// Unique. Derived entries use the id of what they come from
    /// (`audit-42`, `incident-7`), so deriving twice gives the same entries.
    pub id: String,
    pub at_ms: i64,
    /// Who did the work.
    pub actor: String,
    pub service: Option<String>,
    /// From the service catalog when the service has one.
    pub team: Option<String>,
    /// A slug: `ack`, `silence`, … for derived entries, anything like
    /// `disk-cleanup` for manual ones.
    pub kind: String,
    /// What was acted on: `DiskFull on db-3`, a deploy, an incident.
    pub subject: String,
    pub minutes: f64,
    pub source: ToilSource,
    /// A note, or the action it was derived from.
    pub detail: String,
}

impl ToilEntry {
    /// Errors name the field as the API calls it (`by` for the actor).
    pub fn validate(&self) -> Result<()> {
        if self.id.trim().is_empty() {
            return Err(StateError::invalid("id", "a toil entry needs an id"));
        }
        if self.actor.trim().is_empty() {
            return Err(StateError::invalid(
                "by",
                "say who did the work (a name or an email)",
            ));
        }
        validate_kind(&self.kind)?;
        if !self.minutes.is_finite() || self.minutes <= 0.0 || self.minutes > TOIL_MAX_MINUTES {
            return Err(StateError::invalid(
                "minutes",
                format!(
                    "{} is not a duration: give minutes above 0 and at most {TOIL_MAX_MINUTES} (log longer work day by day)",
                    self.minutes
                ),
            ));
        }
        for (field, v) in [("service", &self.service), ("team", &self.team)] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(StateError::invalid(
                    field,
                    format!("leave the {field} out rather than empty"),
                ));
            }
        }
        Ok(())
    }

    pub fn hours(&self) -> f64 {
        self.minutes / 60.0
    }
}

/// Kinds are slugs, so that they group and read well in reports.
fn validate_kind(kind: &str) -> Result<()> {
    let ok = kind.len() <= 64
        && kind
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StateError::invalid(
            "kind",
            format!(
                "{kind:?} is not a kind: use lowercase letters, digits and dashes, like disk-cleanup"
            ),
        ))
    }
}

/// Which entries [`ToilStore::list_toil`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToilFilter {
    /// At or after, in ms.
    pub since: i64,
    /// Before, in ms; none for no end.
    pub until: Option<i64>,
    pub team: Option<String>,
    pub service: Option<String>,
}

impl ToilFilter {
    pub fn matches(&self, e: &ToilEntry) -> bool {
        e.at_ms >= self.since
            && self.until.is_none_or(|u| e.at_ms < u)
            && (self.team.is_none() || e.team == self.team)
            && (self.service.is_none() || e.service == self.service)
    }
}

/// `record_toil`/`list_toil`, not `record`/`list`: a backend implements
/// every store trait, and those names are taken.
pub trait ToilStore: Send + Sync {
    /// Stores an entry; a conflict when its id is taken.
    fn record_toil(&self, entry: &ToilEntry) -> Result<()>;
    /// The entries `filter` matches, oldest first (by time, then id).
    fn list_toil(&self, filter: &ToilFilter) -> Result<Vec<ToilEntry>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, minutes: f64) -> ToilEntry {
        ToilEntry {
            id: "e1".into(),
            at_ms: 0,
            actor: "ana".into(),
            service: Some("db".into()),
            team: Some("storage".into()),
            kind: kind.into(),
            subject: "db".into(),
            minutes,
            source: ToilSource::Manual,
            detail: String::new(),
        }
    }

    #[test]
    fn validation_names_the_field() {
        entry("disk-cleanup", 20.0)
            .validate()
            .unwrap_or_else(|e| panic!("{e}"));
        for (e, field) in [
            (entry("Disk Cleanup", 20.0), "kind"),
            (entry("", 20.0), "kind"),
            (entry("-x", 20.0), "kind"),
            (entry("disk-cleanup", 0.0), "minutes"),
            (entry("disk-cleanup", -3.0), "minutes"),
            (entry("disk-cleanup", f64::NAN), "minutes"),
            (entry("disk-cleanup", TOIL_MAX_MINUTES + 1.0), "minutes"),
            (
                ToilEntry {
                    actor: " ".into(),
                    ..entry("x", 1.0)
                },
                "by",
            ),
            (
                ToilEntry {
                    service: Some(String::new()),
                    ..entry("x", 1.0)
                },
                "service",
            ),
        ] {
            match e.validate() {
                Err(StateError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{e:?}: {other:?}"),
            }
        }
    }
}
