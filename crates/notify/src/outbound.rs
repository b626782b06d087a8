//! The one outbound delivery path: every HTTP call homeostat makes to
//! someone else (notifications, pages to on-call people, alerts pushed to
//! external Alertmanagers, rollback webhooks) goes through [`Outbound`], so
//! that all of them retry the same way ([`Retrier`]: exponential backoff
//! with jitter up to a deadline, only what may pass later), time out the
//! same way (a per-attempt timeout), log the same way and are counted in
//! the same metrics ([`OutboundMetrics`]).
//!
//! **Invariant:** a URL's path and query may hold a secret (a Slack token,
//! a webhook key), so nothing here logs or returns more of a URL than
//! `scheme://host:port` ([`redact_url`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::DeliveryError;
use crate::retry::{DeliveryOutcome, Retrier, RetryPolicy};
use crate::transport::{Request, Transport};

/// Who an outbound call is for; the `kind` label of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutboundKind {
    /// A notification to an Alertmanager receiver (webhook, Slack,
    /// PagerDuty, email).
    Notification,
    /// A page to an on-call person's webhook.
    Page,
    /// Alerts pushed to an external Alertmanager.
    Alertmanager,
    /// A rollback webhook.
    Rollback,
    /// A chaos action's webhook (a Chaos Monkey termination).
    Chaos,
    /// A remediation policy's webhook action.
    Remediation,
}

impl OutboundKind {
    pub const ALL: [OutboundKind; 6] = [
        OutboundKind::Notification,
        OutboundKind::Page,
        OutboundKind::Alertmanager,
        OutboundKind::Rollback,
        OutboundKind::Chaos,
        OutboundKind::Remediation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboundKind::Notification => "notification",
            OutboundKind::Page => "page",
            OutboundKind::Alertmanager => "alertmanager",
            OutboundKind::Rollback => "rollback",
            OutboundKind::Chaos => "chaos",
            OutboundKind::Remediation => "remediation",
        }
    }
}

/// How one attempt ended; the `outcome` label of the metrics. A small
/// closed set, so the label never grows with what receivers answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AttemptOutcome {
    Success,
    /// Answered 4xx (other than 429): the request itself is wrong.
    ClientError,
    /// Answered 5xx or 429.
    ServerError,
    /// No answer: refused, reset, DNS, TLS, timed out.
    ConnectionError,
    /// Any other failure (SMTP replies, a payload that cannot be built).
    Other,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Success => "success",
            AttemptOutcome::ClientError => "client_error",
            AttemptOutcome::ServerError => "server_error",
            AttemptOutcome::ConnectionError => "connection_error",
            AttemptOutcome::Other => "other",
        }
    }

    fn of(result: &Result<(), DeliveryError>) -> Self {
        match result {
            Ok(()) => AttemptOutcome::Success,
            Err(DeliveryError::Status { status, .. }) if *status == 429 || *status >= 500 => {
                AttemptOutcome::ServerError
            }
            Err(DeliveryError::Status { .. }) => AttemptOutcome::ClientError,
            Err(DeliveryError::Connection(_)) => AttemptOutcome::ConnectionError,
            Err(_) => AttemptOutcome::Other,
        }
    }
}

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A latency histogram: cumulative counts per bucket of
/// [`LATENCY_BUCKETS`], plus the total count and sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyHistogram {
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    fn observe(&mut self, seconds: f64) {
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum_seconds += seconds;
    }
}

/// Attempts by kind and outcome, and their latency by kind. Shared by every
/// [`Outbound`] of a process; the server exposes it on `/metrics` as
/// `homeostat_outbound_requests_total{kind,outcome}` and
/// `homeostat_outbound_request_duration_seconds{kind}`.
#[derive(Debug, Default)]
pub struct OutboundMetrics {
    requests: Mutex<BTreeMap<(OutboundKind, AttemptOutcome), u64>>,
    latency: Mutex<BTreeMap<OutboundKind, LatencyHistogram>>,
}

impl OutboundMetrics {
    /// Counts one attempt of `kind` that took `seconds`.
    pub fn observe(&self, kind: OutboundKind, outcome: AttemptOutcome, seconds: f64) {
        *self.requests.lock().entry((kind, outcome)).or_default() += 1;
        self.latency
            .lock()
            .entry(kind)
            .or_default()
            .observe(seconds);
    }

    /// Attempts so far, by (kind, outcome).
    pub fn requests(&self) -> BTreeMap<(OutboundKind, AttemptOutcome), u64> {
        self.requests.lock().clone()
    }

    /// Attempts of `kind` that ended with `outcome`.
    pub fn count(&self, kind: OutboundKind, outcome: AttemptOutcome) -> u64 {
        self.requests
            .lock()
            .get(&(kind, outcome))
            .copied()
            .unwrap_or(0)
    }

    /// Latency by kind.
    pub fn latency(&self) -> BTreeMap<OutboundKind, LatencyHistogram> {
        self.latency.lock().clone()
    }
}

/// `scheme://host:port` of `url`: what may be logged of it. Anything that
/// does not parse is shown as `<invalid url>` rather than quoted.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", u.scheme()),
            (Some(host), None) => format!("{}://{host}", u.scheme()),
            _ => format!("{}://", u.scheme()),
        },
        Err(_) => "<invalid url>".to_string(),
    }
}

/// The delivery path. Cheap to clone; clones share the client and metrics.
#[derive(Debug, Clone)]
pub struct Outbound {
    transport: Transport,
    retrier: Retrier,
    metrics: Arc<OutboundMetrics>,
}

impl Outbound {
    pub fn new(retrier: Retrier, metrics: Arc<OutboundMetrics>) -> Result<Self, DeliveryError> {
        Ok(Self {
            transport: Transport::new()?,
            retrier,
            metrics,
        })
    }

    /// The same path with another backoff/deadline, for a caller whose work
    /// is stale sooner (alerts pushed to an Alertmanager are re-sent at the
    /// next rule evaluation anyway).
    pub fn with_policy(&self, policy: RetryPolicy) -> Self {
        let mut out = self.clone();
        out.retrier.policy = policy;
        out
    }

    pub fn metrics(&self) -> &Arc<OutboundMetrics> {
        &self.metrics
    }

    pub fn retrier(&self) -> &Retrier {
        &self.retrier
    }

    /// POSTs a JSON `body` to `url`, retrying as the policy says; each
    /// attempt is bounded by `timeout`.
    pub async fn post_json(
        &self,
        kind: OutboundKind,
        url: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> DeliveryOutcome {
        let req = Request::Http {
            url: url.to_string(),
            body,
            timeout,
        };
        self.send(kind, &req).await
    }

    /// Sends a built request with retries.
    pub async fn send(&self, kind: OutboundKind, req: &Request) -> DeliveryOutcome {
        let target = match req {
            Request::Http { url, .. } => redact_url(url),
            Request::Email { target, .. } => format!("smtp://{}", target.smarthost),
        };
        let mut attempt = 0u32;
        let target_ref = target.as_str();
        let outcome = self
            .retrier
            .run(|| {
                attempt += 1;
                self.attempt(kind, target_ref, attempt, req)
            })
            .await;
        if outcome.delivered {
            tracing::debug!(kind = kind.as_str(), target = %target, attempts = outcome.attempts, "delivered");
        } else {
            let error = outcome.last_error.as_ref().map(ToString::to_string);
            tracing::warn!(kind = kind.as_str(), target = %target, attempts = outcome.attempts, error = ?error, "delivery failed; giving up");
        }
        outcome
    }

    async fn attempt(
        &self,
        kind: OutboundKind,
        target: &str,
        attempt: u32,
        req: &Request,
    ) -> Result<Option<u16>, DeliveryError> {
        // Latency is real elapsed time, not the injected clock: it measures
        // the receiver, not the schedule.
        let started = Instant::now();
        let result = self.transport.send(req).await;
        let outcome = AttemptOutcome::of(&result.as_ref().map(|_| ()).map_err(Clone::clone));
        self.metrics
            .observe(kind, outcome, started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            tracing::warn!(
                kind = kind.as_str(),
                target = %target,
                attempt,
                retryable = e.is_retryable(),
                error = %e,
                "outbound attempt failed"
            );
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_scheme_host_and_port_only() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T000/B000/XXXX?token=s3cret"),
            "https://hooks.slack.com:443"
        );
        assert_eq!(
            redact_url("http://user:pw@10.0.0.1:8080/hook#frag"),
            "http://10.0.0.1:8080"
        );
        assert_eq!(redact_url("http://[::1]:9/x"), "http://[::1]:9");
        assert_eq!(redact_url("not a url /secret"), "<invalid url>");
    }

    #[test]
    fn outcomes_are_classified_for_the_metrics() {
        let status = |s| {
            Err(DeliveryError::Status {
                status: s,
                body: String::new(),
                retry_after_secs: None,
            })
        };
        assert_eq!(AttemptOutcome::of(&Ok(())), AttemptOutcome::Success);
        assert_eq!(
            AttemptOutcome::of(&status(404)),
            AttemptOutcome::ClientError
        );
        assert_eq!(
            AttemptOutcome::of(&status(429)),
            AttemptOutcome::ServerError
        );
        assert_eq!(
            AttemptOutcome::of(&status(503)),
            AttemptOutcome::ServerError
        );
        assert_eq!(
            AttemptOutcome::of(&Err(DeliveryError::Connection("refused".into()))),
            AttemptOutcome::ConnectionError
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = OutboundMetrics::default();
        m.observe(OutboundKind::Page, AttemptOutcome::Success, 0.02);
        m.observe(OutboundKind::Page, AttemptOutcome::ServerError, 3.0);
        let h = &m.latency()[&OutboundKind::Page];
        assert_eq!(h.count, 2);
        assert_eq!(h.buckets[0], 0, "0.005");
        assert_eq!(h.buckets[2], 1, "0.025");
        assert_eq!(h.buckets[9], 2, "5");
        assert_eq!(m.count(OutboundKind::Page, AttemptOutcome::Success), 1);
    }
}
