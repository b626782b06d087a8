//! Progressive analysis runs, the shape Argo Rollouts' AnalysisRun made
//! familiar: a judgment every `interval`, `count` times; the run fails as
//! soon as more than `failure_limit` judgments failed, is inconclusive when
//! more than `inconclusive_limit` were marginal or without data, and
//! succeeds when all `count` judgments are in within both limits.
//!
//! Pure state: the caller takes the judgments at [`AnalysisRun::next_due`]
//! and feeds them to [`AnalysisRun::record`]; the clock is its argument.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::judge::{Judgment, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Time between judgments (and before the first one).
    #[serde(with = "ms")]
    pub interval: Duration,
    /// Judgments to take; the run succeeds after this many within limits.
    pub count: u32,
    /// Failed judgments tolerated; one more fails the run.
    #[serde(default)]
    pub failure_limit: u32,
    /// Marginal or no-data judgments tolerated; one more makes the run
    /// inconclusive.
    #[serde(default)]
    pub inconclusive_limit: u32,
}

mod ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The limits a run accepts: long enough for a release, short enough that
/// a forgotten run does not judge forever.
pub const MAX_COUNT: u32 = 1_000;
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct RunSpecError {
    pub field: &'static str,
    pub problem: String,
}

impl RunSpec {
    pub fn validate(&self) -> Result<(), RunSpecError> {
        let bad = |field, problem: String| Err(RunSpecError { field, problem });
        if self.count == 0 || self.count > MAX_COUNT {
            return bad(
                "count",
                format!("{} judgments; use 1 to {MAX_COUNT}", self.count),
            );
        }
        if self.interval < MIN_INTERVAL {
            return bad(
                "interval",
                format!("{:?} is shorter than 1s", self.interval),
            );
        }
        if self.failure_limit >= self.count {
            return bad(
                "failure_limit",
                format!(
                    "{} tolerated failures out of {} judgments could never fail the run",
                    self.failure_limit, self.count
                ),
            );
        }
        Ok(())
    }
}

/// Argo Rollouts' phase names, so a `jsonPath` on them reads the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Running,
    Successful,
    Failed,
    Inconclusive,
    /// Stopped by a person or a shutdown before a verdict.
    Error,
}

impl Phase {
    pub fn is_done(self) -> bool {
        self != Phase::Running
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub at: i64,
    pub verdict: Verdict,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRun {
    pub id: String,
    pub spec: RunSpec,
    pub started_at: i64,
    pub phase: Phase,
    pub message: String,
    pub measurements: Vec<Measurement>,
    pub finished_at: Option<i64>,
}

impl AnalysisRun {
    pub fn new(id: String, spec: RunSpec, now: i64) -> Self {
        Self {
            id,
            spec,
            started_at: now,
            phase: Phase::Running,
            message: "waiting for the first judgment".into(),
            measurements: Vec::new(),
            finished_at: None,
        }
    }

    /// When the next judgment is due; `None` once the run is done.
    pub fn next_due(&self) -> Option<i64> {
        if self.phase.is_done() {
            return None;
        }
        let n = self.measurements.len() as i64 + 1;
        Some(self.started_at + n * self.spec.interval.as_millis() as i64)
    }

    pub fn count(&self, v: Verdict) -> u32 {
        self.measurements.iter().filter(|m| m.verdict == v).count() as u32
    }

    fn inconclusive(&self) -> u32 {
        self.count(Verdict::Marginal) + self.count(Verdict::NoData)
    }

    /// Records one judgment and moves the phase. Judgments after the run
    /// ended are ignored.
    pub fn record(&mut self, at: i64, j: &Judgment) {
        if self.phase.is_done() {
            return;
        }
        self.measurements.push(Measurement {
            at,
            verdict: j.verdict,
            score: j.score,
            reason: j.reason.clone(),
        });
        let (failed, inconclusive) = (self.count(Verdict::Fail), self.inconclusive());
        let taken = self.measurements.len() as u32;
        let (phase, message) = if failed > self.spec.failure_limit {
            (
                Phase::Failed,
                format!(
                    "{failed} failed judgments exceed the failure limit {} (last: {})",
                    self.spec.failure_limit, j.reason
                ),
            )
        } else if inconclusive > self.spec.inconclusive_limit {
            (
                Phase::Inconclusive,
                format!(
                    "{inconclusive} marginal or no-data judgments exceed the inconclusive limit {} (last: {})",
                    self.spec.inconclusive_limit, j.reason
                ),
            )
        } else if taken >= self.spec.count {
            (
                Phase::Successful,
                format!(
                    "{taken} judgments: {} passed, {failed} failed, {inconclusive} inconclusive",
                    self.count(Verdict::Pass)
                ),
            )
        } else {
            (
                Phase::Running,
                format!(
                    "{taken} of {} judgments taken (last: {})",
                    self.spec.count, j.reason
                ),
            )
        };
        self.phase = phase;
        self.message = message;
        if phase.is_done() {
            self.finished_at = Some(at);
        }
    }

    /// Ends a running run without a verdict.
    pub fn terminate(&mut self, at: i64, why: &str) {
        if !self.phase.is_done() {
            self.phase = Phase::Error;
            self.message = format!("terminated: {why}");
            self.finished_at = Some(at);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn j(verdict: Verdict) -> Judgment {
        Judgment {
            verdict,
            score: 0.0,
            reason: format!("{verdict:?}"),
            groups: vec![],
            metrics: vec![],
        }
    }

    fn spec(count: u32, failure_limit: u32, inconclusive_limit: u32) -> RunSpec {
        RunSpec {
            interval: Duration::from_secs(60),
            count,
            failure_limit,
            inconclusive_limit,
        }
    }

    #[test]
    fn succeeds_after_count_passes() {
        let mut r = AnalysisRun::new("a".into(), spec(3, 0, 0), 0);
        assert_eq!(r.next_due(), Some(60_000));
        r.record(60_000, &j(Verdict::Pass));
        assert_eq!(r.phase, Phase::Running);
        assert_eq!(r.next_due(), Some(120_000));
        r.record(120_000, &j(Verdict::Pass));
        r.record(180_000, &j(Verdict::Pass));
        assert_eq!(r.phase, Phase::Successful);
        assert_eq!(r.next_due(), None);
        assert_eq!(r.finished_at, Some(180_000));
    }

    #[test]
    fn fails_as_soon_as_failures_exceed_the_limit() {
        let mut r = AnalysisRun::new("a".into(), spec(5, 1, 0), 0);
        r.record(1, &j(Verdict::Fail));
        assert_eq!(r.phase, Phase::Running);
        r.record(2, &j(Verdict::Fail));
        assert_eq!(r.phase, Phase::Failed);
        r.record(3, &j(Verdict::Pass));
        assert_eq!(r.measurements.len(), 2, "nothing recorded after the end");
    }

    #[test]
    fn no_data_is_inconclusive_not_a_pass() {
        let mut r = AnalysisRun::new("a".into(), spec(2, 0, 0), 0);
        r.record(1, &j(Verdict::NoData));
        assert_eq!(r.phase, Phase::Inconclusive);
        assert!(r.message.contains("no-data"));
    }

    #[test]
    fn bad_specs() {
        assert!(spec(0, 0, 0).validate().is_err());
        assert!(
            spec(3, 3, 0)
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("failure_limit")
        );
        let mut s = spec(3, 0, 0);
        s.interval = Duration::from_millis(10);
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .starts_with("interval")
        );
    }
}
