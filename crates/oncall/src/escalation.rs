//! Escalation of one page through a policy, as a pure state machine: the
//! caller feeds it times, it says whom to notify. Its state is plain serde
//! data so a server can persist it and carry on after a restart.
//!
//! Timing: level 0 is notified when the page starts; level `i + 1` is
//! notified `levels[i].delay` after level `i`. After the last level the
//! policy starts over at level 0 (`levels[last].delay` later), `repeat`
//! times; `levels[last].delay` after the last level of the last round the
//! escalation is exhausted. Acknowledging or resolving stops it.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::Oncall;
use crate::error::EscalationError;
use crate::schedule::user_on_call;

/// A validated escalation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    pub id: String,
    /// Extra rounds through all levels after the first.
    pub repeat: u32,
    /// Never empty once validated.
    pub levels: Vec<EscalationLevel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationLevel {
    /// How long this level has to acknowledge before the next is notified.
    pub delay: TimeDelta,
    pub targets: Vec<Target>,
}

/// Whom a level notifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A user id.
    User(String),
    /// A schedule id: whoever is on call on it when the level is notified.
    Schedule(String),
}

/// A target and the users it meant at the step's time. A schedule with
/// nobody on call (or no longer in the config) has no users: the caller
/// should say so rather than drop it silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedTarget {
    pub target: Target,
    pub users: Vec<String>,
}

/// One level being notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    /// Index into the policy's levels.
    pub level: usize,
    /// 0 for the first pass through the levels, 1 for the first repeat, …
    pub round: u32,
    /// When the step was due (not when `advance` noticed it).
    pub at: DateTime<Utc>,
    pub targets: Vec<ResolvedTarget>,
    /// Every user to notify, each once, in target order.
    pub users: Vec<String>,
}

/// Where a page's escalation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum EscalationStatus {
    /// Steps are still to come.
    Active,
    /// Someone took the page; nothing more is sent.
    Acknowledged { by: String, at: DateTime<Utc> },
    /// The page is over.
    Resolved { at: DateTime<Utc> },
    /// Every level of every round was notified and nobody acknowledged.
    Exhausted { at: DateTime<Utc> },
}

/// What happens at the next deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
enum Due {
    Notify {
        level: usize,
        round: u32,
        at: DateTime<Utc>,
    },
    Exhaust {
        at: DateTime<Utc>,
    },
}

impl Due {
    fn at(self) -> DateTime<Utc> {
        match self {
            Due::Notify { at, .. } | Due::Exhaust { at } => at,
        }
    }
}

/// The version of [`Escalation`]'s serialized form; bumped on any change
/// that an older reader would misread.
pub const ESCALATION_FORMAT_VERSION: u32 = 1;

/// The escalation of one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    version: u32,
    policy: String,
    started_at: DateTime<Utc>,
    status: EscalationStatus,
    /// `None` once the escalation is exhausted.
    due: Option<Due>,
}

impl Escalation {
    /// A page escalating through `policy` from `at`. Level 0 is due at once:
    /// call [`Escalation::advance`] with `at` to get it.
    pub fn start(policy: &EscalationPolicy, at: DateTime<Utc>) -> Self {
        let due = if policy.levels.is_empty() {
            Due::Exhaust { at }
        } else {
            Due::Notify {
                level: 0,
                round: 0,
                at,
            }
        };
        Escalation {
            version: ESCALATION_FORMAT_VERSION,
            policy: policy.id.clone(),
            started_at: at,
            status: EscalationStatus::Active,
            due: Some(due),
        }
    }

    pub fn policy_id(&self) -> &str {
        &self.policy
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn status(&self) -> &EscalationStatus {
        &self.status
    }

    /// The serialized form's version ([`ESCALATION_FORMAT_VERSION`] when
    /// written by this code).
    pub fn format_version(&self) -> u32 {
        self.version
    }

    /// When [`Escalation::advance`] next has something to do; `None` once
    /// acknowledged, resolved or exhausted.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        match self.status {
            EscalationStatus::Active => self.due.map(Due::at),
            _ => None,
        }
    }

    /// When the escalation ran out of levels, if it did.
    pub fn exhausted_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            EscalationStatus::Exhausted { at } => Some(at),
            _ => None,
        }
    }

    /// Every step due at or before `now`, in order, each resolved at its own
    /// due time (a server that was down catches up with all of them; it may
    /// choose to send only the last). Schedule targets are looked up in
    /// `oncall`, so a config reload applies to the next step. When the last
    /// round runs out, the status becomes [`EscalationStatus::Exhausted`]
    /// (see [`Escalation::exhausted_at`]).
    pub fn advance(
        &mut self,
        oncall: &Oncall,
        now: DateTime<Utc>,
    ) -> Result<Vec<EscalationStep>, EscalationError> {
        let mut steps = Vec::new();
        if self.status != EscalationStatus::Active {
            return Ok(steps);
        }
        let policy = oncall
            .escalation_policies
            .get(&self.policy)
            .ok_or_else(|| EscalationError::UnknownPolicy(self.policy.clone()))?;
        while let Some(due) = self.due.filter(|d| d.at() <= now) {
            match due {
                Due::Exhaust { at } => {
                    self.status = EscalationStatus::Exhausted { at };
                    self.due = None;
                }
                Due::Notify { level, round, at } => {
                    // The policy may have lost levels in a config reload.
                    let Some(current) = policy.levels.get(level) else {
                        self.due = Some(after_last_level(policy, round, at));
                        continue;
                    };
                    steps.push(resolve_step(oncall, level, round, at, current));
                    let next_at = at.checked_add_signed(current.delay).unwrap_or(at);
                    self.due = Some(if level + 1 < policy.levels.len() {
                        Due::Notify {
                            level: level + 1,
                            round,
                            at: next_at,
                        }
                    } else {
                        after_last_level(policy, round, next_at)
                    });
                }
            }
        }
        Ok(steps)
    }

    /// Stops escalation: nothing more is returned by `advance`. `false` when
    /// the page was already acknowledged or resolved. Acknowledging an
    /// exhausted page records who took it.
    pub fn acknowledge(&mut self, by: &str, at: DateTime<Utc>) -> bool {
        match self.status {
            EscalationStatus::Active | EscalationStatus::Exhausted { .. } => {
                self.status = EscalationStatus::Acknowledged {
                    by: by.to_string(),
                    at,
                };
                true
            }
            _ => false,
        }
    }

    /// Ends the page. `false` when it was already resolved.
    pub fn resolve(&mut self, at: DateTime<Utc>) -> bool {
        if matches!(self.status, EscalationStatus::Resolved { .. }) {
            return false;
        }
        self.status = EscalationStatus::Resolved { at };
        true
    }
}

fn after_last_level(policy: &EscalationPolicy, round: u32, at: DateTime<Utc>) -> Due {
    if round < policy.repeat && !policy.levels.is_empty() {
        Due::Notify {
            level: 0,
            round: round + 1,
            at,
        }
    } else {
        Due::Exhaust { at }
    }
}

fn resolve_step(
    oncall: &Oncall,
    level: usize,
    round: u32,
    at: DateTime<Utc>,
    current: &EscalationLevel,
) -> EscalationStep {
    let targets: Vec<ResolvedTarget> = current
        .targets
        .iter()
        .map(|target| {
            let users = match target {
                Target::User(id) => vec![id.clone()],
                Target::Schedule(id) => oncall
                    .schedules
                    .get(id)
                    .and_then(|s| user_on_call(s, at))
                    .map(|u| vec![u])
                    .unwrap_or_default(),
            };
            ResolvedTarget {
                target: target.clone(),
                users,
            }
        })
        .collect();
    let mut users: Vec<String> = Vec::new();
    for u in targets.iter().flat_map(|t| &t.users) {
        if !users.contains(u) {
            users.push(u.clone());
        }
    }
    EscalationStep {
        level,
        round,
        at,
        targets,
        users,
    }
}
