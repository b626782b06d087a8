//! Per-route and per-endpoint counters, lock-free on the request path and
//! read as [`Metric`] rows at scrape time (the server renders them on
//! `/metrics`). Names are documented in docs/traffic.md.

use std::sync::atomic::{AtomicU64, Ordering};

/// One sample for `/metrics` (same shape as the HTTP edge's external metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub help: &'static str,
    /// `counter`, `gauge` or `histogram` (then `name` ends in `_bucket`, `_count` or `_sum`).
    pub kind: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Answers by code class: 1xx … 5xx.
#[derive(Debug, Default)]
pub struct ByClass([AtomicU64; 5]);

impl ByClass {
    pub fn add(&self, status: u16) {
        let i = usize::from(status / 100).clamp(1, 5) - 1;
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }
    fn get(&self, i: usize) -> u64 {
        self.0[i].load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds, so it stays an integer counter.
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }
}

/// What one endpoint counts.
#[derive(Debug, Default)]
pub struct EndpointStats {
    pub responses: ByClass,
    /// Connect errors, resets before headers and timeouts.
    pub gateway_failures: AtomicU64,
    pub ejections: AtomicU64,
    pub latency: Histogram,
}

/// What a route counts, whoever answered.
#[derive(Debug, Default)]
pub struct RouteStats {
    pub responses: ByClass,
    pub overflow_requests: AtomicU64,
    pub overflow_pending: AtomicU64,
    pub fallback_static: AtomicU64,
    pub fallback_stale: AtomicU64,
    pub no_upstream: AtomicU64,
    pub fault_aborts: AtomicU64,
    pub fault_delays: AtomicU64,
    pub latency: Histogram,
}

fn counter(
    name: &'static str,
    help: &'static str,
    labels: Vec<(&'static str, String)>,
    v: u64,
) -> Metric {
    Metric {
        name,
        help,
        kind: "counter",
        labels,
        value: v as f64,
    }
}

fn histogram(
    out: &mut Vec<Metric>,
    base: [&'static str; 3],
    help: &'static str,
    labels: &[(&'static str, String)],
    h: &Histogram,
) {
    let mut cumulative = 0;
    for (i, le) in BUCKETS.iter().enumerate() {
        cumulative += h.buckets[i].load(Ordering::Relaxed);
        let mut l = labels.to_vec();
        l.push(("le", le.to_string()));
        out.push(Metric {
            name: base[0],
            help,
            kind: "histogram",
            labels: l,
            value: cumulative as f64,
        });
    }
    let count = h.count.load(Ordering::Relaxed);
    let mut l = labels.to_vec();
    l.push(("le", "+Inf".into()));
    out.push(Metric {
        name: base[0],
        help,
        kind: "histogram",
        labels: l,
        value: count as f64,
    });
    out.push(Metric {
        name: base[1],
        help,
        kind: "histogram",
        labels: labels.to_vec(),
        value: count as f64,
    });
    let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
    out.push(Metric {
        name: base[2],
        help,
        kind: "histogram",
        labels: labels.to_vec(),
        value: sum,
    });
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

pub(crate) fn route_metrics(out: &mut Vec<Metric>, route: &str, s: &RouteStats) {
    let r = || vec![("route", route.to_string())];
    for (i, class) in CLASSES.iter().enumerate() {
        let mut l = r();
        l.push(("code_class", (*class).to_string()));
        out.push(counter(
            "homeostat_traffic_requests_total",
            "Requests answered by a traffic route, by code class (upstream, fallback, fault or overflow answers alike).",
            l,
            s.responses.get(i),
        ));
    }
    histogram(
        out,
        [
            "homeostat_traffic_request_duration_seconds_bucket",
            "homeostat_traffic_request_duration_seconds_count",
            "homeostat_traffic_request_duration_seconds_sum",
        ],
        "Time from a request's arrival to its response headers, per route.",
        &r(),
        &s.latency,
    );
    for (breaker, v) in [
        ("max_requests", &s.overflow_requests),
        ("max_pending_requests", &s.overflow_pending),
    ] {
        let mut l = r();
        l.push(("breaker", breaker.into()));
        out.push(counter(
            "homeostat_traffic_overflow_total",
            "Requests refused with 503 by a circuit breaker threshold.",
            l,
            v.load(Ordering::Relaxed),
        ));
    }
    for (kind, v) in [
        ("static", &s.fallback_static),
        ("stale", &s.fallback_stale),
        ("none", &s.no_upstream),
    ] {
        let mut l = r();
        l.push(("kind", kind.into()));
        out.push(counter(
            "homeostat_traffic_fallbacks_total",
            "Requests answered without an upstream because no endpoint was available (kind none: a plain 503).",
            l,
            v.load(Ordering::Relaxed),
        ));
    }
    for (kind, v) in [("abort", &s.fault_aborts), ("delay", &s.fault_delays)] {
        let mut l = r();
        l.push(("kind", kind.into()));
        out.push(counter(
            "homeostat_traffic_faults_total",
            "HTTP faults injected.",
            l,
            v.load(Ordering::Relaxed),
        ));
    }
}

pub(crate) struct EndpointView<'a> {
    pub route: &'a str,
    pub address: &'a str,
    pub zone: &'a str,
    pub healthy: bool,
    pub ejected: bool,
    pub stats: &'a EndpointStats,
}

pub(crate) fn endpoint_metrics(out: &mut Vec<Metric>, e: &EndpointView<'_>) {
    let l = || {
        vec![
            ("route", e.route.to_string()),
            ("endpoint", e.address.to_string()),
            ("zone", e.zone.to_string()),
        ]
    };
    for (i, class) in CLASSES.iter().enumerate() {
        let mut labels = l();
        labels.push(("code_class", (*class).to_string()));
        out.push(counter(
            "homeostat_traffic_upstream_requests_total",
            "Answers from an upstream endpoint, by code class.",
            labels,
            e.stats.responses.get(i),
        ));
    }
    out.push(counter(
        "homeostat_traffic_upstream_errors_total",
        "Upstream requests without an answer: connect errors, resets before headers, timeouts.",
        l(),
        e.stats.gateway_failures.load(Ordering::Relaxed),
    ));
    out.push(counter(
        "homeostat_traffic_ejections_total",
        "Times outlier detection ejected the endpoint.",
        l(),
        e.stats.ejections.load(Ordering::Relaxed),
    ));
    for (name, help, v) in [
        (
            "homeostat_traffic_endpoint_healthy",
            "1 when the endpoint passes its active health checks.",
            e.healthy,
        ),
        (
            "homeostat_traffic_endpoint_ejected",
            "1 while outlier detection keeps the endpoint out of the pool.",
            e.ejected,
        ),
    ] {
        out.push(Metric {
            name,
            help,
            kind: "gauge",
            labels: l(),
            value: f64::from(u8::from(v)),
        });
    }
    histogram(
        out,
        [
            "homeostat_traffic_upstream_duration_seconds_bucket",
            "homeostat_traffic_upstream_duration_seconds_count",
            "homeostat_traffic_upstream_duration_seconds_sum",
        ],
        "Time from sending a request to an endpoint to its response headers.",
        &l(),
        &e.stats.latency,
    );
}
