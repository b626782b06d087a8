//! Reliable delivery: build the payload once, send it, and retry failures
//! that may pass later (connection errors, 5xx, 429, transient SMTP replies)
//! with exponential backoff and jitter until a deadline. Time, sleep and
//! jitter are injected so that tests run instantly and deterministically.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use homeostat_model::Clock;

use crate::error::{DeliveryError, PayloadError};
use crate::notification::{AlertStatus, GroupNotification, utc_from_millis};
use crate::outbound::{Outbound, OutboundKind};
use crate::payload::{email, pagerduty, slack, webhook};
use crate::target::{PagerDutyTarget, Target};
use crate::transport::Request;

/// Backoff and give-up rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The backoff after the first failure.
    pub initial: Duration,
    /// Each further backoff is this many times the previous one.
    pub factor: f64,
    /// No single backoff is longer than this (a `Retry-After` may be).
    pub max: Duration,
    /// No attempt starts later than this after the first one.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            factor: 2.0,
            max: Duration::from_secs(30),
            deadline: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `retry + 1` (`retry` counts from 1), given
    /// a jitter fraction in [0, 1): half the exponential step is kept, the
    /// other half is spread, so that receivers recovering from an outage are
    /// not hit by every sender at once.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = self.factor.powi(retry.saturating_sub(1).min(64) as i32);
        let base = self.initial.as_secs_f64() * exp;
        let base = base.min(self.max.as_secs_f64());
        let jitter = jitter.clamp(0.0, 1.0);
        Duration::from_secs_f64(base / 2.0 + base / 2.0 * jitter)
    }
}

/// A source of jitter fractions in [0, 1).
pub trait Jitter: Send + Sync + fmt::Debug {
    fn fraction(&self) -> f64;
}

/// Random jitter for production.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn fraction(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// The same fraction every time, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn fraction(&self) -> f64 {
        self.0
    }
}

/// Waits between attempts.
pub trait Sleeper: Send + Sync + fmt::Debug {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// `tokio::time::sleep`, for production.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// Attempts made; 0 when nothing had to be sent.
    pub attempts: u32,
    /// The error of the last failed attempt, also when a later one succeeded.
    pub last_error: Option<DeliveryError>,
    pub delivered: bool,
    /// Nothing to send: only resolved alerts and `send_resolved` is off.
    pub skipped: bool,
    /// The HTTP status of the last answer, when there was one.
    pub status: Option<u16>,
}

/// The injected pieces of a retry loop.
#[derive(Debug, Clone)]
pub struct Retrier {
    pub policy: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    pub sleeper: Arc<dyn Sleeper>,
    pub jitter: Arc<dyn Jitter>,
}

impl Retrier {
    /// Production pieces around `clock`: tokio sleep, random jitter.
    pub fn new(policy: RetryPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            policy,
            clock,
            sleeper: Arc::new(TokioSleeper),
            jitter: Arc::new(RandomJitter),
        }
    }

    /// Calls `attempt` until it succeeds, fails for good, or the next try
    /// would start after the deadline.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> DeliveryOutcome
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DeliveryError>>,
        T: Into<Option<u16>>,
    {
        let start = self.clock.now_millis();
        let deadline = start.saturating_add(self.policy.deadline.as_millis() as i64);
        let mut attempts = 0u32;
        let mut last_error = None;
        loop {
            attempts += 1;
            let err = match attempt().await {
                Ok(status) => {
                    return DeliveryOutcome {
                        attempts,
                        last_error,
                        delivered: true,
                        skipped: false,
                        status: status.into(),
                    };
                }
                Err(e) => e,
            };
            let retryable = err.is_retryable();
            let mut delay = self.policy.backoff(attempts, self.jitter.fraction());
            if let DeliveryError::Status {
                retry_after_secs: Some(secs),
                ..
            } = &err
            {
                delay = delay.max(Duration::from_secs(*secs));
            }
            last_error = Some(err);
            let resume = self
                .clock
                .now_millis()
                .saturating_add(delay.as_millis() as i64);
            if !retryable || resume > deadline {
                let status = match &last_error {
                    Some(DeliveryError::Status { status, .. }) => Some(*status),
                    _ => None,
                };
                return DeliveryOutcome {
                    attempts,
                    last_error,
                    status,
                    ..DeliveryOutcome::default()
                };
            }
            self.sleeper.sleep(delay).await;
        }
    }
}

/// Builds notification payloads and hands them to the [`Outbound`] path.
/// One per process is enough.
#[derive(Debug, Clone)]
pub struct Notifier {
    outbound: Outbound,
}

impl Notifier {
    /// A notifier with a delivery path (and metrics) of its own.
    pub fn new(retrier: Retrier) -> Result<Self, DeliveryError> {
        Ok(Self::with_outbound(Outbound::new(retrier, Arc::default())?))
    }

    /// A notifier on the process's shared delivery path.
    pub fn with_outbound(outbound: Outbound) -> Self {
        Self { outbound }
    }

    /// Sends `n` to `target` with retries. Without `send_resolved`, resolved
    /// alerts are left out, and a group with nothing else is skipped.
    pub async fn deliver(&self, target: &Target, n: &GroupNotification) -> DeliveryOutcome {
        let now = utc_from_millis(self.outbound.retrier().clock.now_millis());
        let req = match request(target, n, now) {
            Ok(Some(req)) => req,
            Ok(None) => {
                return DeliveryOutcome {
                    delivered: true,
                    skipped: true,
                    ..DeliveryOutcome::default()
                };
            }
            Err(e) => return payload_failure(e),
        };
        self.send(&req).await
    }

    /// Tells PagerDuty that a person acknowledged the group here.
    pub async fn acknowledge_pagerduty(
        &self,
        target: &PagerDutyTarget,
        group_key: &str,
    ) -> DeliveryOutcome {
        match pagerduty::acknowledge_body(target, group_key) {
            Ok(body) => {
                self.send(&Request::Http {
                    url: target.url.clone(),
                    body,
                    timeout: target.timeout,
                })
                .await
            }
            Err(e) => payload_failure(e),
        }
    }

    /// Sends an already built request with retries.
    pub async fn send(&self, req: &Request) -> DeliveryOutcome {
        self.outbound.send(OutboundKind::Notification, req).await
    }
}

fn payload_failure(e: PayloadError) -> DeliveryOutcome {
    DeliveryOutcome {
        last_error: Some(e.into()),
        ..DeliveryOutcome::default()
    }
}

/// The request `target` gets for `n` at `now` (the email date), or `None`
/// when there is nothing to send.
pub fn request(
    target: &Target,
    n: &GroupNotification,
    now: DateTime<Utc>,
) -> Result<Option<Request>, PayloadError> {
    let filtered;
    let n = if target.send_resolved() {
        n
    } else {
        let mut only_firing = n.clone();
        only_firing.retain_alerts(|a| a.status == AlertStatus::Firing);
        filtered = only_firing;
        &filtered
    };
    if n.alerts.is_empty() {
        return Ok(None);
    }
    let req = match target {
        Target::Webhook(t) => Request::Http {
            url: t.url.clone(),
            body: webhook::body(n, t.max_alerts)?,
            timeout: t.timeout,
        },
        Target::Slack(t) => Request::Http {
            url: t.api_url.clone(),
            body: slack::body(n, t)?,
            timeout: t.timeout,
        },
        Target::PagerDuty(t) => Request::Http {
            url: t.url.clone(),
            body: pagerduty::body(n, t)?,
            timeout: t.timeout,
        },
        Target::Email(t) => Request::Email {
            target: t.clone(),
            message: Box::new(email::message(n, t, now)?),
        },
    };
    Ok(Some(req))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        // Jitter 1.0 is the full exponential step.
        let full: Vec<u128> = (1..=8).map(|r| p.backoff(r, 1.0).as_millis()).collect();
        assert_eq!(full, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        // Jitter 0 keeps half of it.
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(1500));
        assert_eq!(p.backoff(u32::MAX, 1.0), Duration::from_secs(30));
    }
}
