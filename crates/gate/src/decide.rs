//! The gate's answer for one change: frozen or not, and whether this change
//! may ship anyway (an exempt change type, or an active override).

use homeostat_model::rfc3339::rfc3339_seconds;
use serde::Serialize;

use crate::policy::{NoDataAction, Origin, Policy};

/// A manual override (stored by the `state` crate): lets normal changes of
/// a service ship through a freeze until it expires or is revoked. Who, why
/// and until when are required, and every override is audited.
pub use homeostat_state::GateOverride as Override;

/// Whether `o` lifts the freeze at `now`.
pub fn override_active(o: &Override, now: i64) -> bool {
    o.created_at <= now && now < o.expires_at && o.revoked_at.is_none_or(|r| r > now)
}

/// The longest override accepted: a freeze lifted for longer is a policy
/// change and belongs in the config.
pub const MAX_OVERRIDE_MS: i64 = 7 * 86_400_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct OverrideError {
    pub field: &'static str,
    pub problem: String,
}

/// Checks a requested override before it is stored.
pub fn validate_override(o: &Override, policies: &[Policy], now: i64) -> Result<(), OverrideError> {
    let bad = |field, problem: String| Err(OverrideError { field, problem });
    if !policies.iter().any(|p| p.service == o.service) {
        return bad(
            "service",
            format!(
                "service {:?} has no error-budget policy to override",
                o.service
            ),
        );
    }
    if o.reason.trim().is_empty() {
        return bad("reason", "an override needs a reason".into());
    }
    if o.author.trim().is_empty() {
        return bad("author", "an override needs an author".into());
    }
    if o.expires_at <= now {
        return bad("expires_at", "the override would already be expired".into());
    }
    if o.expires_at - now > MAX_OVERRIDE_MS {
        return bad(
            "expires_at",
            "an override may last at most 7 days; change the policy instead".into(),
        );
    }
    Ok(())
}

/// One SLO's budget as measured now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloBudget {
    pub slo: String,
    /// Remaining share of the error budget (1 = untouched, < 0 overspent);
    /// `None` when it could not be measured.
    pub remaining: Option<f64>,
    /// A page-tier burn-rate alert of this SLO is firing.
    pub page_firing: bool,
}

/// The answer, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub allow: bool,
    pub service: String,
    /// Which policy decided: the service's own or the default.
    pub policy: Origin,
    pub change_type: Option<String>,
    /// One sentence a person reads in a CI log.
    pub reason: String,
    pub frozen: bool,
    pub freeze_reasons: Vec<String>,
    /// Freeze threshold, as a fraction of the budget.
    pub threshold: f64,
    pub slos: Vec<SloBudget>,
    pub exempt: bool,
    #[serde(rename = "override")]
    pub override_used: Option<Override>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Decides for a change of `policy.service`. `budgets` are the service's
/// SLOs (those not counted by the policy are ignored); `overrides` may
/// include expired ones, which do not apply.
pub fn decide(
    policy: &Policy,
    budgets: &[SloBudget],
    overrides: &[Override],
    change_type: Option<&str>,
    now: i64,
) -> Decision {
    let counted: Vec<SloBudget> = budgets
        .iter()
        .filter(|b| policy.slos.is_empty() || policy.slos.contains(&b.slo))
        .cloned()
        .collect();
    let mut reasons = Vec::new();
    for b in &counted {
        match b.remaining {
            None if policy.on_no_data == NoDataAction::Deny => {
                reasons.push(format!("no budget data for {}", b.slo))
            }
            None => {}
            // "-139% left" reads as a typo; an overspent budget is said so.
            Some(r) if r <= 0.0 => reasons.push(format!(
                "{} has exhausted its error budget (spent {:.1}× the budget)",
                b.slo,
                1.0 - r
            )),
            Some(r) if r < policy.freeze_below_remaining => reasons.push(format!(
                "{} has {} of its error budget left (freeze below {})",
                b.slo,
                pct(r),
                pct(policy.freeze_below_remaining)
            )),
            Some(_) => {}
        }
        if policy.freeze_on_page && b.page_firing {
            reasons.push(format!(
                "a page-tier burn-rate alert of {} is firing",
                b.slo
            ));
        }
    }
    if counted.is_empty() && policy.on_no_data == NoDataAction::Deny {
        reasons.push(format!("no SLO of {} could be measured", policy.service));
    }
    let frozen = !reasons.is_empty();
    let change = change_type
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let exempt = frozen
        && change
            .as_deref()
            .is_some_and(|c| policy.exceptions.contains(c));
    let active = overrides
        .iter()
        .filter(|o| o.service == policy.service && override_active(o, now))
        .max_by_key(|o| o.expires_at)
        .cloned();
    // The reader of a CI log should see when the gate they never wrote
    // stopped them.
    let (allowed, denied) = match policy.origin {
        Origin::Explicit => ("allowed", "denied"),
        Origin::Default => (
            "allowed by the default policy",
            "denied by the default policy",
        ),
    };
    let (allow, override_used, reason) = if !frozen {
        let least = counted
            .iter()
            .filter_map(|b| b.remaining.map(|r| (r, &b.slo)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let why = match least {
            Some((r, slo)) => format!(
                "{allowed}: error budget ok (lowest: {slo} with {} left, freeze below {})",
                pct(r),
                pct(policy.freeze_below_remaining)
            ),
            None => format!("{allowed}: no SLO budget to enforce"),
        };
        (true, None, why)
    } else if exempt {
        (
            true,
            None,
            format!(
                "{allowed}: change type {:?} may ship during the freeze ({})",
                change.as_deref().unwrap_or_default(),
                reasons.join("; ")
            ),
        )
    } else if let Some(o) = active {
        let why = format!(
            "allowed by override {} from {} until {} ({}); frozen because {}",
            o.id,
            o.author,
            // Prose for a person: whole seconds.
            rfc3339_seconds(o.expires_at),
            o.reason,
            reasons.join("; ")
        );
        (true, Some(o), why)
    } else {
        (false, None, format!("{denied}: {}", reasons.join("; ")))
    };
    Decision {
        allow,
        service: policy.service.clone(),
        policy: policy.origin,
        change_type: change,
        reason,
        frozen,
        freeze_reasons: reasons,
        threshold: policy.freeze_below_remaining,
        slos: counted,
        exempt,
        override_used,
    }
}
