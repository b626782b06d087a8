//! The `homeostat` extension of an experiment and its SLO guard: while the
//! experiment runs, a named SLO is read every `check_every`; the run is
//! aborted when it burns faster than `max_burn_rate` or its remaining
//! budget drops by more than `max_budget_drop_percent` points since the
//! start.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `extensions: [{name: homeostat, service: checkout, guard: {...}}]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HomeostatExtension {
    /// The service the experiment is about: its timeline shows the run.
    pub service: Option<String>,
    pub guard: Option<Guard>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    /// The SLO's id.
    pub slo: String,
    pub max_burn_rate: Option<f64>,
    pub max_budget_drop_percent: Option<f64>,
    /// `None`: the server's `chaos.default_guard_check_every`.
    #[serde(with = "opt_secs")]
    pub check_every: Option<Duration>,
    /// The window the burn rate is read over; `None`: the shortest the SLO
    /// reports (5m).
    #[serde(with = "opt_secs")]
    pub burn_window: Option<Duration>,
}

/// One reading of the guarded SLO.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardReading {
    pub burn_rate: Option<f64>,
    /// Remaining budget, 1 = 100%.
    pub budget_remaining: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum GuardDecision {
    Continue,
    Abort {
        /// `burn_rate` or `budget_drop`.
        cause: String,
        /// A sentence with the numbers, for the journal and the console.
        reason: String,
        observed: f64,
        threshold: f64,
    },
}

impl Guard {
    /// Whether the run may go on, given the reading at its start and now.
    /// A missing reading (no data yet) never aborts.
    pub fn decide(&self, start: &GuardReading, now: &GuardReading) -> GuardDecision {
        if let (Some(max), Some(rate)) = (self.max_burn_rate, now.burn_rate)
            && rate > max
        {
            return GuardDecision::Abort {
                cause: "burn_rate".into(),
                reason: format!(
                    "SLO {} burns at {:.2}x, above the guard's {}x",
                    self.slo, rate, max
                ),
                observed: rate,
                threshold: max,
            };
        }
        if let (Some(max), Some(then), Some(remaining)) = (
            self.max_budget_drop_percent,
            start.budget_remaining,
            now.budget_remaining,
        ) {
            let drop = (then - remaining) * 100.0;
            if drop > max {
                return GuardDecision::Abort {
                    cause: "budget_drop".into(),
                    reason: format!(
                        "SLO {} lost {:.2}% of its budget during the run ({:.2}% → {:.2}% left), more than the guard's {}%",
                        self.slo,
                        drop,
                        then * 100.0,
                        remaining * 100.0,
                        max
                    ),
                    observed: drop,
                    threshold: max,
                };
            }
        }
        GuardDecision::Continue
    }
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard {
            slo: "checkout-availability".into(),
            max_burn_rate: Some(14.4),
            max_budget_drop_percent: Some(5.0),
            check_every: Some(Duration::from_secs(5)),
            burn_window: None,
        }
    }

    fn reading(burn: f64, left: f64) -> GuardReading {
        GuardReading {
            burn_rate: Some(burn),
            budget_remaining: Some(left),
        }
    }

    #[test]
    fn continues_within_thresholds() {
        assert_eq!(
            guard().decide(&reading(1.0, 0.9), &reading(14.4, 0.86)),
            GuardDecision::Continue
        );
        assert_eq!(
            guard().decide(&GuardReading::default(), &GuardReading::default()),
            GuardDecision::Continue
        );
    }

    #[test]
    fn aborts_on_burn_rate_with_numbers() {
        let GuardDecision::Abort {
            cause,
            reason,
            observed,
            threshold,
        } = guard().decide(&reading(1.0, 0.9), &reading(20.0, 0.9))
        else {
            panic!("expected an abort");
        };
        assert_eq!(cause, "burn_rate");
        assert_eq!((observed, threshold), (20.0, 14.4));
        assert!(reason.contains("20.00x"), "{reason}");
    }

    #[test]
    fn aborts_on_budget_drop() {
        let d = guard().decide(&reading(1.0, 0.90), &reading(2.0, 0.84));
        let GuardDecision::Abort {
            cause, observed, ..
        } = d
        else {
            panic!("expected an abort");
        };
        assert_eq!(cause, "budget_drop");
        assert!((observed - 6.0).abs() < 1e-9);
    }
}
