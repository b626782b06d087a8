//! Active health check thresholds: how many results in a row flip an
//! endpoint. Endpoints start healthy, so a route serves from its first
//! request; the first check runs at once.

use crate::spec::HealthCheckSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthState {
    pub healthy: bool,
    successes: u32,
    failures: u32,
}

impl Default for HealthState {
    fn default() -> Self {
        Self {
            healthy: true,
            successes: 0,
            failures: 0,
        }
    }
}

impl HealthState {
    /// Records one check; `Some(new health)` when it flips.
    pub fn observe(&mut self, spec: &HealthCheckSpec, ok: bool) -> Option<bool> {
        if ok {
            self.successes += 1;
            self.failures = 0;
            if !self.healthy && self.successes >= spec.healthy_threshold {
                self.healthy = true;
                return Some(true);
            }
        } else {
            self.failures += 1;
            self.successes = 0;
            if self.healthy && self.failures >= spec.unhealthy_threshold {
                self.healthy = false;
                return Some(false);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn thresholds_flip_health_both_ways() {
        let spec = HealthCheckSpec {
            path: "/healthz".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        };
        let mut h = HealthState::default();
        assert_eq!(h.observe(&spec, false), None);
        assert_eq!(h.observe(&spec, false), None);
        assert_eq!(h.observe(&spec, true), None, "a success breaks the run");
        assert_eq!(h.observe(&spec, false), None);
        assert_eq!(h.observe(&spec, false), None);
        assert_eq!(h.observe(&spec, false), Some(false));
        assert_eq!(h.observe(&spec, false), None);
        assert_eq!(h.observe(&spec, true), None);
        assert_eq!(h.observe(&spec, true), Some(true));
        assert!(h.healthy);
    }
}
