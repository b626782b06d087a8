//! Multi-window multi-burn-rate alert windows (SRE Workbook, chapter 5).
//!
//! A window pair alerts when the error ratio over both its long and short
//! window exceeds `burn factor × error budget`, where the factor is the
//! speed that spends `error_budget_percent` of the budget within the long
//! window: `percent × period_hours / 100 / long_window_hours` (Sloth's
//! formula, in the same floating-point order so the digits match).

use std::time::Duration;

use serde::Deserialize;

use crate::error::SpecError;

/// One window pair of a tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Share of the period's error budget this pair catches being spent.
    pub error_budget_percent: f64,
    pub short: Duration,
    pub long: Duration,
}

/// The four window pairs used for an SLO period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertWindows {
    pub period: Duration,
    pub page_quick: Window,
    pub page_slow: Window,
    pub ticket_quick: Window,
    pub ticket_slow: Window,
}

const fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

impl AlertWindows {
    /// The Workbook's windows (5m/1h, 30m/6h pages; 2h/1d, 6h/3d tickets)
    /// spending 2 %, 5 %, 10 % and 10 % of the budget; for 30 days this is
    /// 14.4×, 6×, 3× and 1×. The factors scale with the period.
    /// The windows configured for `period`, else the Workbook's scaled to it
    /// (what the compiler uses, so what an SLO's alerts really watch).
    pub fn for_period(configured: &[AlertWindows], period: Duration) -> Self {
        configured
            .iter()
            .find(|w| w.period == period)
            .copied()
            .unwrap_or_else(|| AlertWindows::google(period))
    }

    pub fn google(period: Duration) -> Self {
        let w = |pct, short, long| Window {
            error_budget_percent: pct,
            short: mins(short),
            long: mins(long),
        };
        AlertWindows {
            period,
            page_quick: w(2.0, 5, 60),
            page_slow: w(5.0, 30, 6 * 60),
            ticket_quick: w(10.0, 2 * 60, 24 * 60),
            ticket_slow: w(10.0, 6 * 60, 3 * 24 * 60),
        }
    }

    /// The burn factor of a window pair for this period.
    pub fn burn_factor(&self, w: &Window) -> f64 {
        w.error_budget_percent * go_hours(self.period) / 100.0 / go_hours(w.long)
    }

    /// Every distinct short and long window, shortest first.
    pub fn all(&self) -> Vec<Duration> {
        let mut v: Vec<Duration> = [
            self.page_quick,
            self.page_slow,
            self.ticket_quick,
            self.ticket_slow,
        ]
        .iter()
        .flat_map(|w| [w.short, w.long])
        .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Reads a Sloth `AlertWindows` file (`apiVersion: sloth.slok.dev/v1`).
    pub fn from_yaml(text: &str, file: &str) -> Result<Self, SpecError> {
        let doc: WindowsDoc = serde_norway::from_str(text).map_err(|e| SpecError::Yaml {
            file: file.to_string(),
            location: e
                .location()
                .map(|l| format!("line {} column {}", l.line(), l.column()))
                .unwrap_or_else(|| "document 1".into()),
            message: e.to_string(),
        })?;
        let bad =
            |field: &str, problem: String, fix: &str| SpecError::invalid(file, field, problem, fix);
        if doc.api_version != "sloth.slok.dev/v1" || doc.kind != "AlertWindows" {
            return Err(bad(
                "apiVersion",
                format!(
                    "unsupported windows file {:?} kind {:?}",
                    doc.api_version, doc.kind
                ),
                "use `apiVersion: sloth.slok.dev/v1` and `kind: AlertWindows`",
            ));
        }
        let dur = |field: &str, s: &str| {
            homeostat_model::parse_duration(s)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    bad(
                        field,
                        format!("invalid duration {s:?}"),
                        "use e.g. 5m, 1h, 3d",
                    )
                })
        };
        let win = |field: &str, w: &WindowDoc| -> Result<Window, SpecError> {
            if !(w.error_budget_percent > 0.0 && w.error_budget_percent <= 100.0) {
                return Err(bad(
                    &format!("{field}.errorBudgetPercent"),
                    format!("{} is out of range", w.error_budget_percent),
                    "use a percentage above 0, e.g. 2",
                ));
            }
            let short = dur(&format!("{field}.shortWindow"), &w.short_window)?;
            let long = dur(&format!("{field}.longWindow"), &w.long_window)?;
            if short >= long {
                return Err(bad(
                    &format!("{field}.shortWindow"),
                    "the short window is not shorter than the long window".into(),
                    "use a short window of about 1/12 of the long one",
                ));
            }
            Ok(Window {
                error_budget_percent: w.error_budget_percent,
                short,
                long,
            })
        };
        let s = &doc.spec;
        Ok(AlertWindows {
            period: dur("spec.sloPeriod", &s.slo_period)?,
            page_quick: win("spec.page.quick", &s.page.quick)?,
            page_slow: win("spec.page.slow", &s.page.slow)?,
            ticket_quick: win("spec.ticket.quick", &s.ticket.quick)?,
            ticket_slow: win("spec.ticket.slow", &s.ticket.slow)?,
        })
    }
}

/// Go's `time.Duration.Hours()`.
fn go_hours(d: Duration) -> f64 {
    let nanos = d.as_nanos();
    let hour = 3_600_000_000_000u128;
    (nanos / hour) as f64 + (nanos % hour) as f64 / 3.6e12
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WindowsDoc {
    api_version: String,
    kind: String,
    spec: WindowsSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WindowsSpec {
    slo_period: String,
    page: TierDoc,
    ticket: TierDoc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierDoc {
    quick: WindowDoc,
    slow: WindowDoc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WindowDoc {
    error_budget_percent: f64,
    short_window: String,
    long_window: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbook_factors_for_30_days() {
        let w = AlertWindows::google(Duration::from_secs(30 * 86_400));
        assert_eq!(w.burn_factor(&w.page_quick), 14.4);
        assert_eq!(w.burn_factor(&w.page_slow), 6.0);
        assert_eq!(w.burn_factor(&w.ticket_quick), 3.0);
        assert_eq!(w.burn_factor(&w.ticket_slow), 1.0);
        assert_eq!(w.all().len(), 7);
    }
}
