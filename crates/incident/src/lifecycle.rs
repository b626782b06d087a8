//! The lifecycle: which state changes are allowed and what each one does
//! to the incident's timestamps.
//!
//! ```text
//! Triggered → Acknowledged → Mitigated → Resolved → Postmortem
//!     └──────────────┴─────────────┴──────↗ (forward skips allowed)
//!     ↖────────────────────────────────── Resolved (reopen)
//! ```
//!
//! - Moving forward may skip steps (a page resolved without an ack goes
//!   Triggered → Resolved). Skipped steps keep no timestamp, so the
//!   postmortem shows "n/a" for them rather than an invented time.
//! - `Postmortem` only follows `Resolved`: a review of an incident that is
//!   still going on would be rewritten anyway.
//! - The only step back is `Resolved → Triggered` (reopen): by hand at any
//!   time, or automatically when the same alert group fires again within
//!   the reopen window ([`crate::IncidentOptions::reopen_window_ms`]).
//!   Reopening clears `mitigated_at` and `resolved_at` (they must be reached
//!   again) but keeps `acknowledged_at`: someone was already on it.
//! - `Postmortem` is final; a later alert opens a new incident.
//! - Asking for the state an incident is already in is a no-op, so a
//!   double-clicked "acknowledge" is harmless.
//!
//! Timestamps record the first time a state was reached.

use homeostat_state::{Incident, IncidentState};

/// Why `from → to` is not allowed, or `None` if it is.
pub fn check_transition(from: IncidentState, to: IncidentState) -> Option<&'static str> {
    use IncidentState::*;
    match (from, to) {
        _ if from == to => None,
        (Resolved, Triggered) => None,
        (Resolved, Postmortem) => None,
        (_, Postmortem) => Some("resolve the incident before starting its postmortem"),
        (Postmortem, _) => Some("an incident in postmortem is closed; declare a new one"),
        _ if to > from => None,
        _ => Some("the lifecycle only moves forward, except reopening a resolved incident"),
    }
}

/// Sets `incident.state` to `to` and its timestamps; the transition must
/// have been checked.
pub(crate) fn apply(incident: &mut Incident, to: IncidentState, at: i64) {
    debug_assert!(check_transition(incident.state, to).is_none());
    match to {
        IncidentState::Triggered => {
            incident.mitigated_at = None;
            incident.resolved_at = None;
        }
        IncidentState::Acknowledged => {
            incident.acknowledged_at.get_or_insert(at);
        }
        IncidentState::Mitigated => {
            incident.mitigated_at.get_or_insert(at);
        }
        IncidentState::Resolved => {
            incident.resolved_at.get_or_insert(at);
        }
        IncidentState::Postmortem => {}
    }
    incident.state = to;
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentState::*;

    #[test]
    fn allowed_transitions() {
        let allowed = [
            (Triggered, Acknowledged),
            (Triggered, Mitigated),
            (Triggered, Resolved),
            (Acknowledged, Mitigated),
            (Acknowledged, Resolved),
            (Mitigated, Resolved),
            (Resolved, Postmortem),
            (Resolved, Triggered),
            (Mitigated, Mitigated),
        ];
        for (from, to) in allowed {
            assert_eq!(check_transition(from, to), None, "{from} → {to}");
        }
        let forbidden = [
            (Acknowledged, Triggered),
            (Mitigated, Acknowledged),
            (Resolved, Mitigated),
            (Triggered, Postmortem),
            (Mitigated, Postmortem),
            (Postmortem, Triggered),
            (Postmortem, Resolved),
        ];
        for (from, to) in forbidden {
            assert!(check_transition(from, to).is_some(), "{from} → {to}");
        }
    }
}
