//! Incident records: the incident itself, its timeline and its action items.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StateError};

/// An incident number, shown as `INC-42`. Assigned by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(pub i64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INC-{}", self.0)
    }
}

impl FromStr for IncidentId {
    type Err = StateError;
    /// Accepts `INC-42`, `inc-42` and `42`.
    fn from_str(s: &str) -> Result<Self> {
        let digits = s
            .strip_prefix("INC-")
            .or_else(|| s.strip_prefix("inc-"))
            .unwrap_or(s);
        digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(IncidentId)
            .ok_or_else(|| StateError::invalid("incident id", format!("{s:?} is not like INC-42")))
    }
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The stable lowercase name used in storage and APIs.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = StateError;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(StateError::invalid(
                        stringify!($name),
                        format!("unknown value {s:?}; expected one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

text_enum!(
    /// How bad it is; `Sev1` is the worst. Ordered worst first.
    Severity { Sev1 = "sev1", Sev2 = "sev2", Sev3 = "sev3", Sev4 = "sev4" }
);

impl Severity {
    /// Reads an alert's `severity` label: `sev1`..`sev4`, `p1`..`p4`, or the
    /// Prometheus conventions `critical`/`page` (sev2), `warning` (sev3),
    /// `info` (sev4). `Sev1` is never inferred from a bare `critical`: a
    /// company-wide emergency is declared by a human.
    pub fn from_label(value: &str) -> Option<Severity> {
        match value.to_ascii_lowercase().as_str() {
            "sev1" | "p1" => Some(Severity::Sev1),
            "sev2" | "p2" | "critical" | "page" => Some(Severity::Sev2),
            "sev3" | "p3" | "warning" => Some(Severity::Sev3),
            "sev4" | "p4" | "info" => Some(Severity::Sev4),
            _ => None,
        }
    }
}

text_enum!(
    /// Where an incident is in its lifecycle, in order.
    IncidentState {
        Triggered = "triggered",
        Acknowledged = "acknowledged",
        Mitigated = "mitigated",
        Resolved = "resolved",
        Postmortem = "postmortem",
    }
);

impl IncidentState {
    /// Open incidents still need someone; alert groups join them.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            IncidentState::Triggered | IncidentState::Acknowledged | IncidentState::Mitigated
        )
    }
}

text_enum!(
    /// Incident roles, one person each.
    Role {
        IncidentCommander = "incident_commander",
        CommunicationsLead = "communications_lead",
        Scribe = "scribe",
    }
);

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// Assigned by [`IncidentStore::create`]; ignored there.
    pub id: IncidentId,
    /// Bumped by every successful [`IncidentStore::update`]; an update
    /// carrying an older revision is a conflict (someone else wrote first).
    pub revision: u64,
    pub title: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub service: Option<String>,
    /// The alert group this incident was opened for; at most one open
    /// incident per group key.
    pub group_key: Option<String>,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub mitigated_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// When the problem was detected: the earliest `startsAt` of its
    /// alerts, i.e. when the first of them fired (after its `for`). When
    /// it began is on the timeline (`alert_pending`), if the source knew.
    pub detected_at: Option<i64>,
    pub roles: BTreeMap<Role, String>,
    pub runbook_urls: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// Which incidents [`IncidentStore::list`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Empty means any state.
    pub states: Vec<IncidentState>,
    pub service: Option<String>,
    pub group_key: Option<String>,
    pub limit: Option<usize>,
}

impl IncidentFilter {
    pub fn matches(&self, i: &Incident) -> bool {
        (self.states.is_empty() || self.states.contains(&i.state))
            && self
                .service
                .as_ref()
                .is_none_or(|s| i.service.as_ref() == Some(s))
            && self
                .group_key
                .as_ref()
                .is_none_or(|g| i.group_key.as_ref() == Some(g))
    }
}

text_enum!(
    /// What a timeline event records. `alert_pending` is when an alert's
    /// condition began to hold, `alert_firing` when it had held for the
    /// rule's whole `for`.
    EventKind {
        Declared = "declared",
        AlertPending = "alert_pending",
        AlertFiring = "alert_firing",
        AlertResolved = "alert_resolved",
        NotificationSent = "notification_sent",
        NotificationFailed = "notification_failed",
        Escalated = "escalated",
        Acknowledged = "acknowledged",
        StateChanged = "state_changed",
        SeverityChanged = "severity_changed",
        RoleAssigned = "role_assigned",
        StatusUpdate = "status_update",
        Note = "note",
        Deploy = "deploy",
        Rollback = "rollback",
        ChaosRun = "chaos_run",
        Remediation = "remediation",
    }
);

/// One line of an incident's timeline. Append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEvent {
    /// Assigned by the store on append, increasing; breaks ties between
    /// events with the same `at`. Ignored on input.
    pub seq: i64,
    pub incident_id: IncidentId,
    pub at: i64,
    pub kind: EventKind,
    pub actor: Option<String>,
    pub summary: String,
    pub data: serde_json::Value,
}

text_enum!(
    ActionItemState {
        Open = "open",
        InProgress = "in_progress",
        Done = "done",
        WontDo = "wont_do",
    }
);

/// A follow-up from an incident review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItem {
    /// Assigned by the store on create; ignored there.
    pub id: i64,
    pub incident_id: IncidentId,
    pub title: String,
    pub owner: Option<String>,
    pub due: Option<chrono::NaiveDate>,
    pub state: ActionItemState,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where incidents, timelines and action items live.
pub trait IncidentStore: Send + Sync {
    /// Stores a new incident with the next id and revision 1, and returns
    /// it. Conflict if `group_key` already has an open incident.
    fn create(&self, incident: &Incident) -> Result<Incident>;
    fn get(&self, id: IncidentId) -> Result<Incident>;
    /// Matching incidents, newest (highest id) first.
    fn list(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;
    /// Replaces the incident if its stored revision still equals
    /// `incident.revision`; returns it with the revision bumped. Conflict on
    /// a stale revision or a second open incident for the same group key.
    fn update(&self, incident: &Incident) -> Result<Incident>;
    fn find_open_by_group_key(&self, group_key: &str) -> Result<Option<Incident>>;

    /// Appends to the incident's timeline; returns the event's `seq`.
    /// NotFound if the incident does not exist.
    fn append_event(&self, event: &TimelineEvent) -> Result<i64>;
    /// The incident's events by `at`, then `seq`.
    fn timeline(&self, incident_id: IncidentId) -> Result<Vec<TimelineEvent>>;

    /// Stores a new action item and returns it with its id.
    fn create_action_item(&self, item: &ActionItem) -> Result<ActionItem>;
    fn get_action_item(&self, id: i64) -> Result<ActionItem>;
    fn update_action_item(&self, item: &ActionItem) -> Result<ActionItem>;
    fn delete_action_item(&self, id: i64) -> Result<()>;
    /// The incident's action items by id.
    fn action_items(&self, incident_id: IncidentId) -> Result<Vec<ActionItem>>;
}

/// Checks shared by backends before writing an incident.
pub fn validate_incident(i: &Incident) -> Result<()> {
    if i.title.trim().is_empty() {
        return Err(StateError::invalid("title", "must not be empty"));
    }
    if i.group_key.as_deref() == Some("") {
        return Err(StateError::invalid(
            "group_key",
            "must not be empty; use none for a declared incident",
        ));
    }
    Ok(())
}

pub fn validate_action_item(a: &ActionItem) -> Result<()> {
    if a.title.trim().is_empty() {
        return Err(StateError::invalid("title", "must not be empty"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn incident_ids_read_and_print_as_inc() {
        assert_eq!("INC-42".parse::<IncidentId>().unwrap(), IncidentId(42));
        assert_eq!("7".parse::<IncidentId>().unwrap().to_string(), "INC-7");
        assert!("INC-x".parse::<IncidentId>().is_err());
        assert!("INC-0".parse::<IncidentId>().is_err());
    }

    #[test]
    fn enums_round_trip_through_their_names() {
        for s in IncidentState::ALL {
            assert_eq!(s.as_str().parse::<IncidentState>().unwrap(), *s);
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), *k);
        }
        assert!("bogus".parse::<Severity>().is_err());
        assert!(Severity::Sev1 < Severity::Sev4);
    }

    #[test]
    fn roles_serialise_as_a_json_object() {
        let mut roles = BTreeMap::new();
        roles.insert(Role::IncidentCommander, "ana".to_string());
        let json = serde_json::to_string(&roles).unwrap();
        assert_eq!(json, r#"{"incident_commander":"ana"}"#);
        let back: BTreeMap<Role, String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, roles);
    }

    #[test]
    fn severity_labels() {
        assert_eq!(Severity::from_label("critical"), Some(Severity::Sev2));
        assert_eq!(Severity::from_label("SEV1"), Some(Severity::Sev1));
        assert_eq!(Severity::from_label("whatever"), None);
    }
}
