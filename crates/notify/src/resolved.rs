//! When to notify a receiver about a group again, and which resolved alerts
//! to tell it about.
//!
//! The rule, per (group, receiver), given what was last sent
//! ([`SentRecord`]) and the group's current firing and resolved
//! fingerprints:
//!
//! 1. Nothing sent yet: notify if anything fires. A group that is only
//!    resolved is never announced.
//! 2. An alert fires that the receiver was not told about: notify.
//! 3. With `send_resolved`, an alert the receiver was told is *firing* has
//!    resolved: notify, once. A resolved alert the receiver never saw
//!    firing is never reported (Alertmanager sends such "resolved" messages
//!    for alerts that fired and cleared between two notifications, which
//!    people find confusing), and one already reported as resolved is not
//!    reported again.
//! 4. Anything else (an alert resolved without `send_resolved`, an alert
//!    that went away because it was silenced, no change): stay quiet. Repeat
//!    notifications after `repeat_interval` are the dispatcher's business.
//!
//! [`plan`] also returns the record to keep, even when nothing is sent, so
//! that an alert that resolved silently and fires again is announced again.

use std::collections::BTreeSet;

/// Fingerprints as the receiver last heard of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentRecord {
    /// Notified as firing and not since reported or seen resolved.
    pub firing: BTreeSet<String>,
    /// Notified as resolved (kept while the dispatcher still lists them).
    pub resolved: BTreeSet<String>,
}

/// What to do for one group and receiver now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub send: bool,
    /// The resolved alerts the notification may include; drop every other
    /// resolved alert from it (see
    /// [`GroupNotification::retain_alerts`](crate::GroupNotification::retain_alerts)).
    pub resolved_to_report: BTreeSet<String>,
    /// The record to store whether or not the notification is sent.
    pub record: SentRecord,
}

/// Whether to notify now; [`plan`] without the bookkeeping.
pub fn should_send(
    send_resolved: bool,
    previous: Option<&SentRecord>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
) -> bool {
    plan(send_resolved, previous, firing, resolved).send
}

/// The decision and the record to keep; the rule is in the module docs.
pub fn plan(
    send_resolved: bool,
    previous: Option<&SentRecord>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
) -> Plan {
    let empty = SentRecord::default();
    let prev = previous.unwrap_or(&empty);
    let resolved_to_report: BTreeSet<String> = if send_resolved {
        resolved
            .iter()
            .filter(|f| prev.firing.contains(*f) && !prev.resolved.contains(*f))
            .cloned()
            .collect()
    } else {
        BTreeSet::new()
    };
    let new_firing = firing.iter().any(|f| !prev.firing.contains(f));
    let send = new_firing || !resolved_to_report.is_empty();
    // Reported resolutions are remembered while the dispatcher still lists
    // them; older ones cannot come back as "resolved" without firing first.
    let mut still_resolved: BTreeSet<String> =
        prev.resolved.intersection(resolved).cloned().collect();
    let record = if send {
        still_resolved.extend(resolved_to_report.iter().cloned());
        SentRecord {
            firing: firing.clone(),
            resolved: still_resolved,
        }
    } else {
        // Forget alerts that stopped firing, so that firing again is news.
        SentRecord {
            firing: prev.firing.intersection(firing).cloned().collect(),
            resolved: still_resolved,
        }
    };
    Plan {
        send,
        resolved_to_report,
        record,
    }
}
