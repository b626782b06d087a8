//! Whether a policy may act now: the pure decision over the policy, the
//! target's run history, the time, a deploy freeze and the service's share
//! of targets already under action.
//!
//! A run is admitted once ([`admit_run`]: rate limit, cooldown, blast
//! radius); each action is admitted as its turn comes ([`admit_action`]:
//! the freeze, then approval), because a freeze may begin mid-run.

use std::time::Duration;

use homeostat_model::format_duration;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::policy::Guardrails;

/// A past run of the same policy on the same target. Dry runs count, so a
/// dry run shows what the guardrails would let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastRun {
    pub started_ms: i64,
    /// `None` while it is still going.
    pub ended_ms: Option<i64>,
}

/// How many of a service's targets are under action now, and how many it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Share {
    /// Targets of the service with a run in progress (this one not counted).
    pub acting: usize,
    /// Targets the service is known to have; 0 when unknown.
    pub known: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { reason: String },
    NeedsApproval,
}

/// Whether a new run on a target may start at `now`.
pub fn admit_run(g: &Guardrails, history: &[PastRun], now: i64, share: Share) -> Decision {
    if let Some(active) = history.iter().find(|r| r.ended_ms.is_none()) {
        return deny(format!(
            "a run on this target is in progress since {}",
            active.started_ms
        ));
    }
    if let Some(m) = g.max_runs {
        let since = now - m.window_ms;
        let recent = history.iter().filter(|r| r.started_ms > since).count();
        if recent >= m.count as usize {
            return deny(format!(
                "rate limit: {recent} runs on this target in the last {}, at most {}",
                human_ms(m.window_ms),
                m.count
            ));
        }
    }
    if let Some(last_end) = history.iter().filter_map(|r| r.ended_ms).max()
        && now < last_end + g.cooldown_ms
    {
        return deny(format!(
            "cooldown: the last run on this target ended {} ago, cooldown is {}",
            human_ms(now - last_end),
            human_ms(g.cooldown_ms)
        ));
    }
    if let Some(pct) = g.blast_radius_percent {
        let known = share.known.max(share.acting + 1);
        // At least one target may always be acted on, or a policy on a
        // small service (one instance, 34%) could never act at all.
        let limit = (known * pct as usize / 100).max(1);
        if share.acting + 1 > limit {
            return deny(format!(
                "blast radius: {} of the service's {known} targets would be under action, at most {pct}% ({limit})",
                share.acting + 1
            ));
        }
    }
    Decision::Allow
}

/// Whether an action may run now, given the service's deploy freeze
/// (its reason, when frozen).
pub fn admit_action(action: &Action, frozen: Option<&str>) -> Decision {
    if let Some(why) = frozen
        && !action.exempt_from_freeze
    {
        return deny(format!("deploy freeze: {why}"));
    }
    if action.needs_approval {
        return Decision::NeedsApproval;
    }
    Decision::Allow
}

fn deny(reason: String) -> Decision {
    Decision::Deny { reason }
}

/// `90s`, `10m`, `1h30m`: durations in reasons as people write them.
pub(crate) fn human_ms(ms: i64) -> String {
    format_duration(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}
