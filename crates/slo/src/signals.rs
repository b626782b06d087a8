//! The four golden signals of a service as recording rules: latency
//! (p50/p90/p99, successes and failures apart), traffic (requests per
//! second), errors (the share of failed requests, timeouts included) and
//! saturation (a resource ratio the service declares).
//!
//! Two request-metric conventions are understood:
//! - **Prometheus**: a counter `http_requests_total` with a `code` label and a
//!   histogram `http_request_duration_seconds` (also with `code`);
//! - **OpenTelemetry** HTTP semantic conventions as exported to Prometheus: the
//!   histogram `http_server_request_duration_seconds` with
//!   `http_response_status_code`, whose `_count` is the request counter.
//!
//! Every recorded series carries `service="<name>"`, so the console can chart
//! any service from the same four metric names.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::{Rule, RuleGroup};

/// Which metrics a service's requests are recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Convention {
    #[default]
    Prometheus,
    OpenTelemetry,
}

/// A service whose golden signals homeostat records.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceSignals {
    pub service: String,
    pub convention: Convention,
    /// Label matchers without braces selecting the service's series,
    /// e.g. `job="checkout"`.
    pub selector: String,
    /// A PromQL expression for the saturation ratio (0..1), if declared.
    pub saturation: Option<String>,
}

/// The recorded metric names, one per signal.
pub const LATENCY: &str = "service:request_latency_seconds:quantile";
pub const TRAFFIC: &str = "service:requests:rate5m";
pub const ERRORS: &str = "service:request_errors:ratio_rate5m";
pub const SATURATION: &str = "service:saturation:ratio";

struct Metrics<'a> {
    counter: &'a str,
    histogram: &'a str,
    status: &'a str,
}

impl ServiceSignals {
    fn metrics(&self) -> Metrics<'static> {
        match self.convention {
            Convention::Prometheus => Metrics {
                counter: "http_requests_total",
                histogram: "http_request_duration_seconds",
                status: "code",
            },
            Convention::OpenTelemetry => Metrics {
                counter: "http_server_request_duration_seconds_count",
                histogram: "http_server_request_duration_seconds",
                status: "http_response_status_code",
            },
        }
    }

    /// The recording rules, as one group evaluated every 30 s.
    pub fn rules(&self) -> RuleGroup {
        let m = self.metrics();
        let sel = |extra: &str| -> String {
            match (self.selector.trim(), extra) {
                ("", "") => String::new(),
                ("", e) => format!("{{{e}}}"),
                (s, "") => format!("{{{s}}}"),
                (s, e) => format!("{{{s}, {e}}}"),
            }
        };
        // 5xx answers and timeouts (408 from the server, 504 from a gateway) fail.
        let failed = format!("{}=~\"5..|408\"", m.status);
        let succeeded = format!("{}!~\"5..|408\"", m.status);
        let labels = |extra: &[(&str, &str)]| -> BTreeMap<String, String> {
            let mut l = BTreeMap::from([("service".to_string(), self.service.clone())]);
            for (k, v) in extra {
                l.insert((*k).to_string(), (*v).to_string());
            }
            l
        };
        let record = |name: &str, expr: String, extra: &[(&str, &str)]| Rule {
            record: Some(name.to_string()),
            expr,
            labels: labels(extra),
            ..Rule::default()
        };
        let mut rules = vec![
            record(
                TRAFFIC,
                format!("sum(rate({}{}[5m]))", m.counter, sel("")),
                &[],
            ),
            record(
                ERRORS,
                format!(
                    "(sum(rate({c}{f}[5m])) or vector(0)) / clamp_min(sum(rate({c}{a}[5m])), 1e-12)",
                    c = m.counter,
                    f = sel(&failed),
                    a = sel("")
                ),
                &[],
            ),
        ];
        for (outcome, matcher) in [("success", &succeeded), ("failure", &failed)] {
            for q in ["0.5", "0.9", "0.99"] {
                rules.push(record(
                    LATENCY,
                    format!(
                        "histogram_quantile({q}, sum by (le) (rate({}_bucket{}[5m])))",
                        m.histogram,
                        sel(matcher)
                    ),
                    &[("quantile", q), ("outcome", outcome)],
                ));
            }
        }
        if let Some(s) = &self.saturation {
            rules.push(record(SATURATION, s.clone(), &[]));
        }
        RuleGroup {
            name: format!("homeostat-signals-{}", self.service),
            interval: Some(Duration::from_secs(30)),
            rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_convention_rules_parse_and_name_the_service() {
        let s = ServiceSignals {
            service: "checkout".into(),
            selector: "job=\"checkout\"".into(),
            saturation: Some("avg(process_open_fds / process_max_fds)".into()),
            ..Default::default()
        };
        let g = s.rules();
        assert_eq!(g.name, "homeostat-signals-checkout");
        assert_eq!(g.rules.len(), 9);
        for r in &g.rules {
            assert_eq!(
                r.labels.get("service").map(String::as_str),
                Some("checkout")
            );
            promql_parser::parser::parse(&r.expr).unwrap_or_else(|e| panic!("{}: {e}", r.expr));
        }
        assert!(
            g.rules[1].expr.contains("code=~\"5..|408\""),
            "{}",
            g.rules[1].expr
        );
    }

    #[test]
    fn otel_convention_uses_the_histogram_count_and_status_attribute() {
        let s = ServiceSignals {
            service: "api".into(),
            convention: Convention::OpenTelemetry,
            ..Default::default()
        };
        let g = s.rules();
        assert!(
            g.rules[0]
                .expr
                .contains("http_server_request_duration_seconds_count")
        );
        assert!(g.rules[2].expr.contains("http_response_status_code!~"));
        for r in &g.rules {
            promql_parser::parser::parse(&r.expr).unwrap_or_else(|e| panic!("{}: {e}", r.expr));
        }
    }
}
