//! Error-budget arithmetic: from measured error ratios to the numbers an
//! SRE reads — budget consumed and remaining (as a ratio and in minutes of
//! full outage), burn rate per window, and when the budget runs out at the
//! current burn. Pure: the caller measures, this crate computes.

use std::time::Duration;

use crate::spec::fill_window;
use crate::{Budgeting, Sli, SloSpec};

/// The windows reported for every SLO besides its period, shortest first.
pub const STATUS_WINDOWS: [Duration; 7] = [
    Duration::from_secs(300),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(7200),
    Duration::from_secs(21600),
    Duration::from_secs(86400),
    Duration::from_secs(259200),
];

/// The window whose burn rate projects the exhaustion time: long enough not
/// to swing with every spike, short enough to follow an incident.
pub const PROJECTION_WINDOW: Duration = Duration::from_secs(3600);

/// PromQL for the error ratio of `spec` over `window`, evaluated on raw data.
/// Events SLIs are event-weighted (errors over totals); without traffic the
/// ratio is 0, not NaN (the same rule as the compiled default-mode rules).
pub fn error_ratio_query(spec: &SloSpec, window: Duration) -> String {
    let w = homeostat_model::format_duration(window);
    match &spec.sli.to_events() {
        Sli::Events {
            error_query,
            total_query,
        } => format!(
            "(({}) or vector(0)) / clamp_min(({}), 1e-12)",
            fill_window(error_query, &w),
            fill_window(total_query, &w)
        ),
        Sli::Raw { error_ratio_query } => fill_window(error_ratio_query, &w),
        Sli::Latency { .. } => unreachable_latency(),
    }
}

/// PromQL for the share of the error budget's unit that went bad over
/// `window`, per the SLO's budgeting method: for occurrences the error
/// ratio of events ([`error_ratio_query`]); for timeslices the share of bad
/// slices, and for ratio timeslices the mean per-slice error ratio — both
/// read from the per-slice series the compiled rules record
/// (`slo:sli_slice_bad:bool`, `slo:sli_slice_error:ratio`), because
/// recomputing every slice of a 30-day period per request would be a
/// 43,200-step subquery.
pub fn budget_ratio_query(spec: &SloSpec, window: Duration) -> String {
    let w = homeostat_model::format_duration(window);
    let series = match spec.budgeting {
        Budgeting::Occurrences => return error_ratio_query(spec, window),
        Budgeting::Timeslices { .. } => crate::compile::SLICE_BAD,
        Budgeting::RatioTimeslices { .. } => crate::compile::SLICE_ERROR,
    };
    let id = spec.id.replace('\\', "\\\\").replace('"', "\\\"");
    format!("avg_over_time({series}{{sloth_id=\"{id}\"}}[{w}])")
}

/// Error and total event rates over `window`, for charts built step by step
/// (`None` for raw SLIs, which have no event counts).
pub fn event_rate_queries(spec: &SloSpec, window: Duration) -> Option<(String, String)> {
    if spec.budgeting != Budgeting::Occurrences {
        // Slices, not events, are the budget's unit.
        return None;
    }
    let w = homeostat_model::format_duration(window);
    match &spec.sli.to_events() {
        Sli::Events {
            error_query,
            total_query,
        } => Some((
            format!("({}) or vector(0)", fill_window(error_query, &w)),
            fill_window(total_query, &w),
        )),
        Sli::Raw { .. } | Sli::Latency { .. } => None,
    }
}

/// `to_events` never returns a latency SLI; an empty query would make
/// PromQL report a clear error rather than a wrong number.
fn unreachable_latency() -> String {
    String::new()
}

/// One window's measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowBurn {
    pub window: Duration,
    /// Share of bad events; `None` without data.
    pub error_ratio: Option<f64>,
    /// `error_ratio / (1 - objective)`: 1 spends the budget exactly over the period.
    pub burn_rate: Option<f64>,
}

/// The budget of one SLO at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetStatus {
    /// Objective as a ratio (0.999).
    pub objective: f64,
    pub period: Duration,
    /// Success ratio over the period (`1 - error ratio`); `None` without data.
    pub sli: Option<f64>,
    /// Allowed error ratio, `1 - objective`.
    pub budget: f64,
    /// The budget as minutes of full outage over the period.
    pub budget_minutes: f64,
    /// Share of the budget spent over the period (may exceed 1).
    pub consumed: Option<f64>,
    /// `1 - consumed`, negative once overspent.
    pub remaining: Option<f64>,
    pub remaining_minutes: Option<f64>,
    pub windows: Vec<WindowBurn>,
    /// When the remaining budget runs out at the burn rate of
    /// [`PROJECTION_WINDOW`] (ms since the epoch); `None` when it does not:
    /// no data, a burn below 1× (the rolling period sheds old errors faster
    /// than new ones arrive), or a budget already spent ([`Self::exhausted`]).
    pub exhausted_at: Option<i64>,
    /// The budget is spent: nothing is left to run out.
    pub exhausted: bool,
    /// How many budgets were spent once more than one was (2.4 = "spent
    /// 2.4× the budget"); `None` within budget.
    pub overspend: Option<f64>,
}

impl BudgetStatus {
    /// `period_error_ratio` is measured over the period; `windows` pairs each
    /// window with its measured error ratio.
    pub fn compute(
        objective_percent: f64,
        period: Duration,
        period_error_ratio: Option<f64>,
        windows: &[(Duration, Option<f64>)],
        now_ms: i64,
    ) -> BudgetStatus {
        let objective = objective_percent / 100.0;
        let budget = 1.0 - objective;
        let period_minutes = period.as_secs_f64() / 60.0;
        let burn = |r: Option<f64>| r.filter(|r| r.is_finite()).map(|r| r / budget);
        let consumed = burn(period_error_ratio);
        let remaining = consumed.map(|c| 1.0 - c);
        let windows: Vec<WindowBurn> = windows
            .iter()
            .map(|&(window, error_ratio)| WindowBurn {
                window,
                error_ratio,
                burn_rate: burn(error_ratio),
            })
            .collect();
        let projection = windows
            .iter()
            .find(|w| w.window == PROJECTION_WINDOW)
            .and_then(|w| w.burn_rate);
        let exhausted = remaining.is_some_and(|r| r <= 0.0);
        let exhausted_at = match (remaining, projection) {
            (Some(r), Some(b)) if r > 0.0 && b >= 1.0 => {
                // At burn rate b the whole budget lasts period / b.
                let ms = r * period.as_millis() as f64 / b;
                Some(now_ms.saturating_add(ms.min(i64::MAX as f64 / 2.0) as i64))
            }
            _ => None,
        };
        BudgetStatus {
            objective,
            period,
            sli: period_error_ratio.map(|r| 1.0 - r),
            budget,
            budget_minutes: budget * period_minutes,
            consumed,
            remaining,
            remaining_minutes: remaining.map(|r| r * budget * period_minutes),
            windows,
            exhausted_at,
            exhausted,
            overspend: consumed.filter(|c| *c > 1.0),
        }
    }
}

/// Remaining budget over the period, starting at 1 (100%), from per-step
/// error and total event rates: the budget spent by time t is the errors
/// counted since the period started over the budget's share of the events
/// the period is on course to see.
pub fn burn_down(objective_percent: f64, errors: &[f64], totals: &[f64]) -> Vec<f64> {
    let budget = 1.0 - objective_percent / 100.0;
    let n = errors.len().min(totals.len());
    let (mut err, mut tot) = (0.0, 0.0);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        err += errors[i].max(0.0);
        tot += totals[i].max(0.0);
        let elapsed = (i + 1) as f64 / n as f64;
        let expected_total = tot / elapsed;
        out.push(if expected_total > 0.0 {
            1.0 - err / (budget * expected_total)
        } else {
            1.0
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Duration = Duration::from_secs(3600);

    #[test]
    fn timeslice_budgets_count_bad_slices_from_the_recorded_series() {
        let text = r#"
version: prometheus/v1
service: web
slos:
  - name: latency
    objective: 99
    sli:
      events:
        error_query: sum(rate(errs[{{.window}}]))
        total_query: sum(rate(reqs[{{.window}}]))
    alerting: {name: WebLatency}
"#;
        let mut spec = crate::load_specs(text, "web.yaml")
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0);
        assert!(budget_ratio_query(&spec, Duration::from_secs(3600)).contains("rate(errs[1h])"));
        spec.budgeting = Budgeting::Timeslices {
            slice: Duration::from_secs(60),
            target: 0.95,
        };
        assert_eq!(
            budget_ratio_query(&spec, Duration::from_secs(3600)),
            r#"avg_over_time(slo:sli_slice_bad:bool{sloth_id="web-latency"}[1h])"#
        );
        assert!(event_rate_queries(&spec, Duration::from_secs(60)).is_none());
        spec.budgeting = Budgeting::RatioTimeslices {
            slice: Duration::from_secs(60),
        };
        assert!(
            budget_ratio_query(&spec, Duration::from_secs(60))
                .starts_with("avg_over_time(slo:sli_slice_error:ratio{")
        );
    }

    #[test]
    fn ten_times_burn_spends_the_budget_in_a_tenth_of_the_period() {
        let period = Duration::from_secs(30 * 86400);
        // 99.9%: 43.2 minutes of budget; 0.1% errors over the period so far = all spent.
        let s = BudgetStatus::compute(99.9, period, Some(0.0005), &[(H, Some(0.01))], 0);
        assert!((s.budget_minutes - 43.2).abs() < 1e-9);
        assert!((s.consumed.unwrap_or(0.0) - 0.5).abs() < 1e-9);
        assert!((s.remaining_minutes.unwrap_or(0.0) - 21.6).abs() < 1e-9);
        assert!((s.windows[0].burn_rate.unwrap_or(0.0) - 10.0).abs() < 1e-9);
        // Half the budget left at 10x: 30d / 10 * 0.5 = 1.5 days.
        let at = s.exhausted_at.unwrap_or(0);
        assert!((at - 36 * 3_600_000).abs() < 10, "{at}");
    }

    #[test]
    fn no_projection_without_burn_below_one_or_once_spent() {
        let p = Duration::from_secs(86400);
        let at = |period_ratio, h_ratio| {
            BudgetStatus::compute(99.0, p, Some(period_ratio), &[(H, Some(h_ratio))], 5)
        };
        assert_eq!(at(0.0, 0.0).exhausted_at, None);
        // 0.5× burn: the rolling period forgets errors faster than they come.
        let slow = at(0.005, 0.005);
        assert_eq!((slow.exhausted_at, slow.exhausted), (None, false));
        // Spent 2.4 budgets: exhausted, by how much, and no "runs out" time.
        let spent = at(0.024, 0.05);
        assert!(spent.exhausted);
        assert_eq!(spent.exhausted_at, None);
        assert!((spent.overspend.unwrap_or(0.0) - 2.4).abs() < 1e-9);
        assert_eq!(at(0.005, 0.02).overspend, None);
        assert!(at(0.005, 0.02).exhausted_at.is_some());
        assert_eq!(BudgetStatus::compute(99.0, p, None, &[], 5).remaining, None);
    }

    #[test]
    fn burn_down_starts_full_and_falls_with_errors() {
        let r = burn_down(99.0, &[0.0, 0.0, 2.0, 2.0], &[100.0; 4]);
        assert_eq!(r[0], 1.0);
        assert_eq!(r[1], 1.0);
        assert!(r[2] < 1.0 && r[3] < r[2]);
        // 4 errors of 400 events at 1% budget: exactly spent.
        assert!(r[3].abs() < 1e-9);
    }
}
