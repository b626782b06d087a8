//! The process's one outbound delivery path ([`homeostat_notify::Outbound`])
//! and its metrics on `/metrics`: every notification, page, alert push and
//! rollback webhook is built from the [`Outbound`] made here.

use std::sync::Arc;

use homeostat_http::{ExternalMetric, StatsSource};
use homeostat_model::Clock;
use homeostat_notify::{LATENCY_BUCKETS, Outbound, OutboundMetrics, Retrier, RetryPolicy};

use crate::ServerError;

/// The delivery path with the default retry policy on `clock`.
pub fn outbound(clock: Arc<dyn Clock>) -> Result<(Outbound, OutboundSource), ServerError> {
    let metrics = Arc::new(OutboundMetrics::default());
    let out = Outbound::new(Retrier::new(RetryPolicy::default(), clock), metrics.clone())
        .map_err(|e| ServerError::Task(format!("outbound http client: {e}")))?;
    Ok((out, OutboundSource(metrics)))
}

/// `homeostat_outbound_requests_total{kind,outcome}` (attempts) and
/// `homeostat_outbound_request_duration_seconds{kind}` (their latency).
pub struct OutboundSource(pub Arc<OutboundMetrics>);

const REQUESTS_HELP: &str = "Outbound HTTP attempts (notifications, pages, alerts to Alertmanagers, rollback webhooks) by kind and outcome.";
const DURATION_HELP: &str = "Latency of outbound HTTP attempts by kind.";

impl StatsSource for OutboundSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        let mut out = Vec::new();
        for ((kind, outcome), n) in self.0.requests() {
            out.push(ExternalMetric {
                name: "homeostat_outbound_requests_total",
                help: REQUESTS_HELP,
                kind: "counter",
                labels: vec![
                    ("kind", kind.as_str().to_string()),
                    ("outcome", outcome.as_str().to_string()),
                ],
                value: n as f64,
            });
        }
        let series = |name, labels, value| ExternalMetric {
            name,
            help: DURATION_HELP,
            kind: "histogram",
            labels,
            value,
        };
        for (kind, h) in self.0.latency() {
            let kind = kind.as_str().to_string();
            for (le, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
                out.push(series(
                    "homeostat_outbound_request_duration_seconds_bucket",
                    vec![("kind", kind.clone()), ("le", le.to_string())],
                    n as f64,
                ));
            }
            out.push(series(
                "homeostat_outbound_request_duration_seconds_bucket",
                vec![("kind", kind.clone()), ("le", "+Inf".to_string())],
                h.count as f64,
            ));
            out.push(series(
                "homeostat_outbound_request_duration_seconds_sum",
                vec![("kind", kind.clone())],
                h.sum_seconds,
            ));
            out.push(series(
                "homeostat_outbound_request_duration_seconds_count",
                vec![("kind", kind)],
                h.count as f64,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use homeostat_http::Telemetry;
    use homeostat_notify::{AttemptOutcome, OutboundKind};

    use super::*;

    #[test]
    fn metrics_are_exposed_as_a_counter_and_a_histogram() {
        let metrics = Arc::new(OutboundMetrics::default());
        metrics.observe(OutboundKind::Page, AttemptOutcome::ServerError, 0.02);
        metrics.observe(OutboundKind::Page, AttemptOutcome::Success, 0.2);
        let t = Telemetry::default();
        t.add_source(Box::new(OutboundSource(metrics)));
        let text = t.render();
        for line in [
            "# TYPE homeostat_outbound_requests_total counter",
            "homeostat_outbound_requests_total{kind=\"page\",outcome=\"server_error\"} 1",
            "homeostat_outbound_requests_total{kind=\"page\",outcome=\"success\"} 1",
            "# TYPE homeostat_outbound_request_duration_seconds histogram",
            "homeostat_outbound_request_duration_seconds_bucket{kind=\"page\",le=\"0.025\"} 1",
            "homeostat_outbound_request_duration_seconds_bucket{kind=\"page\",le=\"+Inf\"} 2",
            "homeostat_outbound_request_duration_seconds_count{kind=\"page\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert_eq!(
            text.matches("# TYPE homeostat_outbound_request_duration_seconds")
                .count(),
            1,
            "one TYPE for the histogram family"
        );
    }
}
