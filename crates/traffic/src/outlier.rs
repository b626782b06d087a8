//! Outlier detection with Envoy's semantics, on injected time (ms).
//!
//! Consecutive 5xx answers (gateway failures count: a refused connection or
//! a timeout is a 503/504 the proxy makes) or consecutive gateway failures
//! (502, 503, 504, connect errors, timeouts) reach a threshold → the
//! endpoint is ejected for `base_ejection_time × times ejected`, unless
//! that would eject more than `max_ejection_percent` of the pool (one
//! endpoint may always be ejected, as in Envoy). Each detection interval an
//! endpoint spends back in the pool lowers its ejection multiplier by one.

use crate::spec::OutlierSpec;

/// What the proxy saw for one upstream request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer from the endpoint.
    Status(u16),
    /// No answer: connect error, reset before headers, or timeout.
    GatewayFailure,
}

impl Outcome {
    fn is_5xx(self) -> bool {
        match self {
            Outcome::Status(s) => s >= 500,
            Outcome::GatewayFailure => true,
        }
    }

    fn is_gateway_failure(self) -> bool {
        matches!(self, Outcome::Status(502..=504) | Outcome::GatewayFailure)
    }
}

/// One endpoint's detector state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutlierState {
    consecutive_5xx: u32,
    consecutive_gateway: u32,
    /// The multiplier of the base ejection time for the next ejection − 1.
    pub times_ejected: u32,
    /// Ejected until this time (ms); `None` when in the pool.
    pub ejected_until: Option<i64>,
}

impl OutlierState {
    /// Records one outcome; `true` when a threshold is reached and the
    /// endpoint should be ejected (if the pool allows it, see [`may_eject`]).
    pub fn record(&mut self, spec: &OutlierSpec, outcome: Outcome) -> bool {
        if outcome.is_5xx() {
            self.consecutive_5xx += 1;
        } else {
            self.consecutive_5xx = 0;
        }
        if outcome.is_gateway_failure() {
            self.consecutive_gateway += 1;
        } else {
            self.consecutive_gateway = 0;
        }
        if self.ejected_until.is_some() {
            return false;
        }
        spec.consecutive_5xx
            .is_some_and(|n| self.consecutive_5xx >= n)
            || spec
                .consecutive_gateway_failure
                .is_some_and(|n| self.consecutive_gateway >= n)
    }

    /// Ejects now; returns the time it ends (ms).
    pub fn eject(&mut self, spec: &OutlierSpec, now: i64) -> i64 {
        self.times_ejected = self.times_ejected.saturating_add(1);
        let ms = spec.base_ejection_time.as_millis() as i64 * i64::from(self.times_ejected);
        let until = now.saturating_add(ms);
        self.ejected_until = Some(until);
        self.consecutive_5xx = 0;
        self.consecutive_gateway = 0;
        until
    }

    /// A threshold was reached but the pool may not lose another endpoint:
    /// start counting again, as Envoy does.
    pub fn reset_counters(&mut self) {
        self.consecutive_5xx = 0;
        self.consecutive_gateway = 0;
    }

    /// Whether the endpoint is out of the pool at `now`.
    pub fn is_ejected(&self, now: i64) -> bool {
        self.ejected_until.is_some_and(|t| now < t)
    }

    /// The detection interval's sweep: `true` when the endpoint returns to
    /// the pool now. An endpoint that stayed in the pool for an interval
    /// has its multiplier lowered.
    pub fn tick(&mut self, now: i64) -> bool {
        match self.ejected_until {
            Some(t) if now >= t => {
                self.ejected_until = None;
                true
            }
            Some(_) => false,
            None => {
                self.times_ejected = self.times_ejected.saturating_sub(1);
                false
            }
        }
    }
}

/// Whether one more endpoint may be ejected from a pool of `total` with
/// `ejected` out already.
pub fn may_eject(ejected: usize, total: usize, max_ejection_percent: u32) -> bool {
    ejected == 0 || (ejected + 1) * 100 <= total * max_ejection_percent as usize
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec() -> OutlierSpec {
        OutlierSpec {
            consecutive_5xx: Some(3),
            consecutive_gateway_failure: Some(2),
            interval: Duration::from_secs(1),
            base_ejection_time: Duration::from_secs(10),
            max_ejection_percent: 50,
        }
    }

    #[test]
    fn consecutive_5xx_reaches_the_threshold_and_a_success_resets_it() {
        let s = spec();
        let mut o = OutlierState::default();
        assert!(!o.record(&s, Outcome::Status(500)));
        assert!(!o.record(&s, Outcome::Status(500)));
        assert!(!o.record(&s, Outcome::Status(200)));
        assert!(!o.record(&s, Outcome::Status(500)));
        assert!(!o.record(&s, Outcome::Status(503)), "one gateway failure");
        assert!(o.record(&s, Outcome::Status(500)), "third 5xx in a row");
    }

    #[test]
    fn gateway_failures_have_their_own_counter() {
        let s = spec();
        let mut o = OutlierState::default();
        assert!(!o.record(&s, Outcome::GatewayFailure));
        assert!(o.record(&s, Outcome::Status(502)));
        let s = OutlierSpec {
            consecutive_5xx: None,
            ..spec()
        };
        let mut o = OutlierState::default();
        o.record(&s, Outcome::Status(502));
        o.record(&s, Outcome::Status(500));
        assert!(
            !o.record(&s, Outcome::Status(504)),
            "a plain 500 breaks the gateway run"
        );
    }

    #[test]
    fn ejection_time_grows_with_times_ejected_and_decays_in_the_pool() {
        let s = spec();
        let mut o = OutlierState::default();
        assert_eq!(o.eject(&s, 0), 10_000);
        assert!(o.is_ejected(9_999));
        assert!(!o.tick(9_999));
        assert!(o.tick(10_000), "returns after base × 1");
        assert!(!o.is_ejected(10_000));
        assert_eq!(
            o.eject(&s, 20_000),
            40_000,
            "second ejection lasts base × 2"
        );
        assert!(o.tick(40_000));
        o.tick(41_000);
        o.tick(42_000);
        assert_eq!(o.times_ejected, 0);
        assert_eq!(o.eject(&s, 50_000), 60_000);
    }

    #[test]
    fn an_ejected_endpoint_does_not_ask_again() {
        let s = spec();
        let mut o = OutlierState::default();
        o.eject(&s, 0);
        for _ in 0..5 {
            assert!(!o.record(&s, Outcome::Status(500)));
        }
    }

    #[test]
    fn max_ejection_percent_but_always_one() {
        assert!(may_eject(0, 3, 0));
        assert!(!may_eject(1, 3, 50), "2 of 3 is over 50%");
        assert!(may_eject(1, 4, 50));
        assert!(!may_eject(2, 4, 50));
        assert!(may_eject(2, 3, 100));
    }
}
