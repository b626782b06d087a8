//! A toil record, its kinds and the minutes a derived action counts for.

use serde::{Deserialize, Serialize};

/// Longest single entry: a day. Longer work is logged day by day, so that
/// it lands in the right week.
const MAX_MINUTES: f64 = 24.0 * 60.0;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ToilError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl ToilError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Invalid { field, .. } => field,
        }
    }
}

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Logged by a person (`homeostat toil log`, the API, the console).
    Manual,
    /// Derived from an action homeostat saw (the audit log, incidents).
    Derived,
}

impl Source {
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
    /// One of [`kind`]'s constants for derived entries; any slug
    /// (`disk-cleanup`) for manual ones.
    pub kind: String,
    /// What was acted on: `DiskFull on db-3`, a deploy, an incident.
    pub subject: String,
    pub minutes: f64,
    pub source: Source,
    /// A note, or the action it was derived from.
    pub detail: String,
}

impl ToilEntry {
    pub fn validate(&self) -> Result<(), ToilError> {
        if self.id.trim().is_empty() {
            return Err(ToilError::invalid("id", "a toil entry needs an id"));
        }
        if self.actor.trim().is_empty() {
            return Err(ToilError::invalid(
                "by",
                "say who did the work (a name or an email)",
            ));
        }
        validate_kind(&self.kind)?;
        if !self.minutes.is_finite() || self.minutes <= 0.0 || self.minutes > MAX_MINUTES {
            return Err(ToilError::invalid(
                "minutes",
                format!(
                    "{} is not a duration: give minutes above 0 and at most {MAX_MINUTES} (log longer work day by day)",
                    self.minutes
                ),
            ));
        }
        if let Some(s) = &self.service
            && s.trim().is_empty()
        {
            return Err(ToilError::invalid(
                "service",
                "leave the service out rather than empty",
            ));
        }
        Ok(())
    }

    pub fn hours(&self) -> f64 {
        self.minutes / 60.0
    }
}

/// Kinds are slugs, so that they group and read well in reports.
fn validate_kind(kind: &str) -> Result<(), ToilError> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && kind.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ToilError::invalid(
            "kind",
            format!(
                "{kind:?} is not a kind: use lowercase letters, digits and dashes, like disk-cleanup"
            ),
        ))
    }
}

/// The kinds homeostat derives from what it sees.
pub mod kind {
    pub const ACK: &str = "ack";
    pub const SILENCE: &str = "silence";
    pub const OVERRIDE: &str = "override";
    pub const MANUAL_ROLLBACK: &str = "manual-rollback";
    pub const APPROVAL: &str = "approval";
    pub const MANUAL_REMEDIATION: &str = "manual-remediation";
    /// Time between an incident's ack and its resolve; its minutes are
    /// measured, not taken from [`super::DEFAULT_MINUTES`].
    pub const INCIDENT_WORK: &str = "incident-work";
}

/// Minutes a derived action counts for. Estimates of the hands-on time of
/// each action (reading the page, deciding, acting, checking), kept small
/// so that derived toil is a floor; incident work is measured instead.
///
/// | kind               | minutes | why                                          |
/// |--------------------|---------|----------------------------------------------|
/// | ack                | 5       | read the page, open the dashboard            |
/// | silence            | 5       | pick matchers and a duration                 |
/// | override           | 10      | judge the risk of deploying past the gate    |
/// | manual-rollback    | 15      | roll back, watch the service recover         |
/// | approval           | 5       | read the request, approve or reject          |
/// | manual-remediation | 10      | run the fix, check it worked                 |
pub const DEFAULT_MINUTES: &[(&str, f64)] = &[
    (kind::ACK, 5.0),
    (kind::SILENCE, 5.0),
    (kind::OVERRIDE, 10.0),
    (kind::MANUAL_ROLLBACK, 15.0),
    (kind::APPROVAL, 5.0),
    (kind::MANUAL_REMEDIATION, 10.0),
];

/// The minutes a derived action of `kind` counts for, from
/// [`DEFAULT_MINUTES`].
pub fn default_minutes(kind: &str) -> Option<f64> {
    DEFAULT_MINUTES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, m)| *m)
}

/// The past-tense verb a sentence about `kind` starts with ("silenced
/// DiskFull on db-3 9 times in 30 days").
pub fn verb(kind: &str) -> String {
    match kind {
        kind::ACK => "acknowledged".into(),
        kind::SILENCE => "silenced".into(),
        kind::OVERRIDE => "overrode the gate for".into(),
        kind::MANUAL_ROLLBACK => "rolled back".into(),
        kind::APPROVAL => "approved".into(),
        kind::MANUAL_REMEDIATION => "ran remediation for".into(),
        kind::INCIDENT_WORK => "worked on".into(),
        other => format!("did {other} for"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(kind: &str, minutes: f64) -> ToilEntry {
        ToilEntry {
            id: "e1".into(),
            at_ms: 0,
            actor: "ana".into(),
            service: Some("db".into()),
            team: Some("storage".into()),
            kind: kind.into(),
            subject: "db".into(),
            minutes,
            source: Source::Manual,
            detail: String::new(),
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(entry("disk-cleanup", 20.0).validate(), Ok(()));
        for (e, field) in [
            (entry("Disk Cleanup", 20.0), "kind"),
            (entry("", 20.0), "kind"),
            (entry("-x", 20.0), "kind"),
            (entry("disk-cleanup", 0.0), "minutes"),
            (entry("disk-cleanup", -3.0), "minutes"),
            (entry("disk-cleanup", f64::NAN), "minutes"),
            (entry("disk-cleanup", 24.0 * 60.0 + 1.0), "minutes"),
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
            let err = e.validate().expect_err("invalid");
            assert_eq!(err.field(), field, "{err}");
        }
    }

    #[test]
    fn every_derived_kind_but_incident_work_has_default_minutes() {
        for k in [
            kind::ACK,
            kind::SILENCE,
            kind::OVERRIDE,
            kind::MANUAL_ROLLBACK,
            kind::APPROVAL,
            kind::MANUAL_REMEDIATION,
        ] {
            assert!(default_minutes(k).is_some_and(|m| m > 0.0), "{k}");
        }
        assert_eq!(default_minutes(kind::INCIDENT_WORK), None);
        assert_eq!(default_minutes(kind::SILENCE), Some(5.0));
        assert_eq!(default_minutes(kind::MANUAL_ROLLBACK), Some(15.0));
    }

    #[test]
    fn verbs_read_as_sentences() {
        assert_eq!(verb(kind::SILENCE), "silenced");
        assert_eq!(verb("disk-cleanup"), "did disk-cleanup for");
    }
}
