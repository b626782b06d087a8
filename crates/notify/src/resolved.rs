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
//!    that went away because it was silenced, no change): stay quiet...
//! 5. ...unless the group still fires and `repeat_interval` has passed since
//!    the last notification: then it is sent again, as Alertmanager does
//!    ([`decide`]; [`plan`] is rules 1–4).
//!
//! [`plan`] also returns the record to keep, even when nothing is sent, so
//! that an alert that resolved silently and fires again is announced again.
//! This module is the one place the send decision lives; the server reads
//! the notification log, calls [`decide`] and stores the record.

use std::collections::BTreeSet;
use std::time::Duration;

use homeostat_model::{Fingerprint, Timestamp};

/// Fingerprints as the receiver last heard of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentRecord {
    /// Notified as firing and not since reported or seen resolved.
    pub firing: BTreeSet<Fingerprint>,
    /// Notified as resolved (kept while the dispatcher still lists them).
    pub resolved: BTreeSet<Fingerprint>,
}

/// What to do for one group and receiver now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub send: bool,
    /// The resolved alerts the notification may include; drop every other
    /// resolved alert from it (see
    /// [`GroupNotification::retain_alerts`](crate::GroupNotification::retain_alerts)).
    pub resolved_to_report: BTreeSet<Fingerprint>,
    /// The record to store whether or not the notification is sent.
    pub record: SentRecord,
}

/// What a receiver was last sent for a group, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastSent {
    pub record: SentRecord,
    pub sent_at: Timestamp,
}

/// The whole send decision for one group and receiver at `at`: [`plan`],
/// plus Alertmanager's repeat — a group still firing is sent again once
/// `repeat_interval` has passed since the last send.
pub fn decide(
    send_resolved: bool,
    previous: Option<&LastSent>,
    firing: &BTreeSet<Fingerprint>,
    resolved: &BTreeSet<Fingerprint>,
    at: Timestamp,
    repeat_interval: Duration,
) -> Plan {
    let mut plan = plan(send_resolved, previous.map(|p| &p.record), firing, resolved);
    let repeat_due = previous.is_some_and(|p| {
        let interval = i64::try_from(repeat_interval.as_millis()).unwrap_or(i64::MAX);
        at >= p.sent_at.saturating_add(interval)
    });
    if !plan.send && !firing.is_empty() && repeat_due {
        plan.send = true;
        plan.record.firing = firing.clone();
    }
    plan
}

/// Whether to notify now; [`plan`] without the bookkeeping.
pub fn should_send(
    send_resolved: bool,
    previous: Option<&SentRecord>,
    firing: &BTreeSet<Fingerprint>,
    resolved: &BTreeSet<Fingerprint>,
) -> bool {
    plan(send_resolved, previous, firing, resolved).send
}

/// The decision and the record to keep; the rule is in the module docs.
pub fn plan(
    send_resolved: bool,
    previous: Option<&SentRecord>,
    firing: &BTreeSet<Fingerprint>,
    resolved: &BTreeSet<Fingerprint>,
) -> Plan {
    let empty = SentRecord::default();
    let prev = previous.unwrap_or(&empty);
    let resolved_to_report: BTreeSet<Fingerprint> = if send_resolved {
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
    let mut still_resolved: BTreeSet<Fingerprint> =
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_interval_resends_a_still_firing_group() {
        let firing = BTreeSet::from([Fingerprint(0xaa)]);
        let prev = LastSent {
            record: SentRecord {
                firing: firing.clone(),
                resolved: BTreeSet::new(),
            },
            sent_at: 1_000,
        };
        let hour = Duration::from_secs(3600);
        let none = BTreeSet::new();
        assert!(!decide(true, Some(&prev), &firing, &none, 2_000, hour).send);
        assert!(decide(true, Some(&prev), &firing, &none, 1_000 + 3_600_000, hour).send);
        assert!(decide(true, None, &firing, &none, 0, hour).send);
        // Nothing fires: nothing to repeat.
        assert!(!decide(true, Some(&prev), &none, &none, i64::MAX, hour).send);
    }
}
