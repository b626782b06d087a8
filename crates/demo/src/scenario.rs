//! The demo's scenario as a state machine: which milestones have been seen
//! (each at most once, in the order the server produces them), what the
//! demo's people do next, and which milestone is overdue.
//!
//! The server does the detection, paging, escalation and rollback; the
//! scenario only watches for them. The people's steps (the bad deploy, the
//! acknowledgement, mitigation, resolution and the postmortem) are
//! [`Action`]s the caller performs and then reports back as observed.

use std::collections::BTreeMap;

/// A step of the story, in story order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Milestone {
    /// The bad version of the service is deployed (by the demo).
    Deployed,
    /// The SLO's page-tier burn-rate alert fires (rule engine).
    PageFired,
    /// The paging alert group opened an incident (incident hub).
    IncidentOpened,
    /// The rollback action was called (release guardrails).
    RolledBack,
    /// Nobody acknowledged: the policy's level 2 was paged (escalator).
    Escalated,
    /// Level 2 acknowledged (by the demo).
    Acknowledged,
    /// The service's error ratio is back to normal.
    Recovered,
    /// Marked mitigated (by the demo).
    Mitigated,
    /// The page alert resolved (rule engine).
    AlertResolved,
    /// Marked resolved (by the demo).
    Resolved,
    /// The postmortem's summary and action items written (by the demo).
    PostmortemWritten,
}

impl Milestone {
    pub const ALL: [Milestone; 11] = [
        Milestone::Deployed,
        Milestone::PageFired,
        Milestone::IncidentOpened,
        Milestone::RolledBack,
        Milestone::Escalated,
        Milestone::Acknowledged,
        Milestone::Recovered,
        Milestone::Mitigated,
        Milestone::AlertResolved,
        Milestone::Resolved,
        Milestone::PostmortemWritten,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Milestone::Deployed => "bad deploy",
            Milestone::PageFired => "page fired",
            Milestone::IncidentOpened => "incident opened",
            Milestone::RolledBack => "automatic rollback",
            Milestone::Escalated => "escalated to level 2",
            Milestone::Acknowledged => "acknowledged",
            Milestone::Recovered => "recovered",
            Milestone::Mitigated => "mitigated",
            Milestone::AlertResolved => "alert resolved",
            Milestone::Resolved => "incident resolved",
            Milestone::PostmortemWritten => "postmortem written",
        }
    }

    /// The milestone whose time starts this one's deadline, and how long it
    /// may take after it (ms). The longest waits are the burn-rate alert's
    /// own: its long window filling past the threshold plus `for: 2m`, and
    /// its short window emptying after the rollback.
    fn deadline(self) -> (Option<Milestone>, i64) {
        const S: i64 = 1000;
        match self {
            Milestone::Deployed => (None, 2 * 60 * S),
            Milestone::PageFired => (Some(Milestone::Deployed), 6 * 60 * S),
            Milestone::IncidentOpened => (Some(Milestone::PageFired), 60 * S),
            Milestone::RolledBack => (Some(Milestone::PageFired), 60 * S),
            Milestone::Escalated => (Some(Milestone::IncidentOpened), 2 * 60 * S),
            Milestone::Acknowledged => (Some(Milestone::Escalated), 30 * S),
            Milestone::Recovered => (Some(Milestone::RolledBack), 3 * 60 * S),
            Milestone::Mitigated => (Some(Milestone::Recovered), 60 * S),
            Milestone::AlertResolved => (Some(Milestone::RolledBack), 5 * 60 * S),
            Milestone::Resolved => (Some(Milestone::AlertResolved), 60 * S),
            Milestone::PostmortemWritten => (Some(Milestone::Resolved), 60 * S),
        }
    }
}

/// What the demo's people do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Record and roll out the bad version.
    Deploy,
    /// Acknowledge the incident as the level-2 responder.
    Acknowledge,
    Mitigate,
    Resolve,
    WritePostmortem,
}

/// What the caller saw on the server at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub page_firing: bool,
    /// The incident opened for the page, once there is one.
    pub incident: Option<String>,
    /// The incident's timeline has a level-2 escalation.
    pub escalated_level2: bool,
    /// Calls the rollback receiver got.
    pub rollbacks: u32,
    /// The service's current error ratio (short window), when measured.
    pub error_ratio: Option<f64>,
}

/// Error ratio under which the service counts as recovered.
pub const RECOVERED_BELOW: f64 = 0.01;

/// The scenario's progress.
#[derive(Debug, Clone)]
pub struct Scenario {
    started_ms: i64,
    /// Healthy traffic before the bad deploy, ms.
    warmup_ms: i64,
    seen: BTreeMap<Milestone, i64>,
    incident: Option<String>,
}

impl Scenario {
    pub fn new(started_ms: i64, warmup_ms: i64) -> Self {
        Scenario {
            started_ms,
            warmup_ms,
            seen: BTreeMap::new(),
            incident: None,
        }
    }

    pub fn incident(&self) -> Option<&str> {
        self.incident.as_deref()
    }

    pub fn at(&self, m: Milestone) -> Option<i64> {
        self.seen.get(&m).copied()
    }

    pub fn is_complete(&self) -> bool {
        self.seen.contains_key(&Milestone::PostmortemWritten)
    }

    /// Records that the caller performed an action's milestone.
    pub fn done(&mut self, m: Milestone, now: i64) -> bool {
        self.mark(m, now)
    }

    fn mark(&mut self, m: Milestone, now: i64) -> bool {
        if self.seen.contains_key(&m) {
            return false;
        }
        self.seen.insert(m, now);
        true
    }

    /// Takes in what the server shows; returns the milestones newly reached,
    /// in story order.
    pub fn observe(&mut self, now: i64, o: &Observation) -> Vec<Milestone> {
        let before: Vec<Milestone> = self.seen.keys().copied().collect();
        let deployed = self.seen.contains_key(&Milestone::Deployed);
        if deployed && o.page_firing {
            self.mark(Milestone::PageFired, now);
        }
        let fired = self.seen.contains_key(&Milestone::PageFired);
        if fired && let Some(id) = &o.incident {
            self.incident.get_or_insert_with(|| id.clone());
            self.mark(Milestone::IncidentOpened, now);
        }
        if self.incident.is_some() && o.escalated_level2 {
            self.mark(Milestone::Escalated, now);
        }
        if deployed && o.rollbacks > 0 {
            self.mark(Milestone::RolledBack, now);
        }
        let rolled_back = self.seen.contains_key(&Milestone::RolledBack);
        if rolled_back && o.error_ratio.is_some_and(|r| r < RECOVERED_BELOW) {
            self.mark(Milestone::Recovered, now);
        }
        if fired && rolled_back && !o.page_firing {
            self.mark(Milestone::AlertResolved, now);
        }
        self.seen
            .keys()
            .copied()
            .filter(|m| !before.contains(m))
            .collect()
    }

    /// The people's next steps at `now`.
    pub fn next_actions(&self, now: i64) -> Vec<Action> {
        let has = |m| self.seen.contains_key(&m);
        let mut out = Vec::new();
        if !has(Milestone::Deployed) && now - self.started_ms >= self.warmup_ms {
            out.push(Action::Deploy);
        }
        if has(Milestone::Escalated) && !has(Milestone::Acknowledged) {
            out.push(Action::Acknowledge);
        }
        if has(Milestone::Acknowledged) && has(Milestone::Recovered) && !has(Milestone::Mitigated) {
            out.push(Action::Mitigate);
        }
        if has(Milestone::Mitigated) && has(Milestone::AlertResolved) && !has(Milestone::Resolved) {
            out.push(Action::Resolve);
        }
        if has(Milestone::Resolved) && !has(Milestone::PostmortemWritten) {
            out.push(Action::WritePostmortem);
        }
        out
    }

    /// The first milestone not reached within its deadline, if any.
    pub fn overdue(&self, now: i64) -> Option<Milestone> {
        Milestone::ALL.into_iter().find(|m| {
            if self.seen.contains_key(m) {
                return false;
            }
            let (after, limit) = m.deadline();
            let from = match after {
                None => Some(self.started_ms + self.warmup_ms),
                Some(p) => self.seen.get(&p).copied(),
            };
            from.is_some_and(|f| now - f > limit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    #[test]
    fn the_whole_story_in_order() {
        let mut sc = Scenario::new(0, 30 * S);
        let mut o = Observation::default();
        assert!(sc.next_actions(10 * S).is_empty());
        assert_eq!(sc.next_actions(30 * S), vec![Action::Deploy]);
        assert!(sc.done(Milestone::Deployed, 30 * S));
        assert!(!sc.done(Milestone::Deployed, 31 * S), "once only");

        o.page_firing = true;
        assert_eq!(sc.observe(200 * S, &o), vec![Milestone::PageFired]);
        o.incident = Some("INC-1".into());
        o.rollbacks = 1;
        o.error_ratio = Some(0.3);
        assert_eq!(
            sc.observe(202 * S, &o),
            vec![Milestone::IncidentOpened, Milestone::RolledBack]
        );
        assert_eq!(sc.incident(), Some("INC-1"));
        assert!(
            sc.next_actions(203 * S).is_empty(),
            "nobody acks before level 2"
        );
        o.escalated_level2 = true;
        assert_eq!(sc.observe(232 * S, &o), vec![Milestone::Escalated]);
        assert_eq!(sc.next_actions(232 * S), vec![Action::Acknowledge]);
        sc.done(Milestone::Acknowledged, 233 * S);
        o.error_ratio = Some(0.002);
        assert_eq!(sc.observe(260 * S, &o), vec![Milestone::Recovered]);
        assert_eq!(sc.next_actions(260 * S), vec![Action::Mitigate]);
        sc.done(Milestone::Mitigated, 261 * S);
        assert!(
            sc.next_actions(262 * S).is_empty(),
            "resolve waits for the alert"
        );
        o.page_firing = false;
        assert_eq!(sc.observe(300 * S, &o), vec![Milestone::AlertResolved]);
        assert_eq!(sc.next_actions(300 * S), vec![Action::Resolve]);
        sc.done(Milestone::Resolved, 301 * S);
        assert_eq!(sc.next_actions(301 * S), vec![Action::WritePostmortem]);
        sc.done(Milestone::PostmortemWritten, 302 * S);
        assert!(sc.is_complete() && sc.overdue(10_000 * S).is_none());
        assert_eq!(sc.at(Milestone::PageFired), Some(200 * S));
    }

    #[test]
    fn nothing_counts_before_the_deploy() {
        let mut sc = Scenario::new(0, 30 * S);
        let o = Observation {
            page_firing: true,
            incident: Some("INC-9".into()),
            rollbacks: 1,
            error_ratio: Some(0.0),
            escalated_level2: true,
        };
        assert!(sc.observe(5 * S, &o).is_empty());
        assert_eq!(sc.incident(), None);
    }

    #[test]
    fn a_missing_page_is_overdue_by_name() {
        let mut sc = Scenario::new(0, 30 * S);
        assert_eq!(sc.overdue(100 * S), None);
        assert_eq!(sc.overdue(151 * S), Some(Milestone::Deployed));
        sc.done(Milestone::Deployed, 30 * S);
        assert_eq!(sc.overdue(30 * S + 6 * 60 * S), None);
        let late = sc.overdue(31 * S + 6 * 60 * S);
        assert_eq!(late, Some(Milestone::PageFired));
        assert_eq!(late.map(Milestone::name), Some("page fired"));
    }
}
