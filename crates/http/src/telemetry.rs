//! Homeostat's own metrics, rendered in the Prometheus text format. Counters
//! and histograms owned by the HTTP layer live here; the store and the scraper
//! contribute gauges and counters through [`StatsSource`], so this crate does
//! not depend on them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// A metric value contributed by another component at scrape time.
#[derive(Debug, Clone)]
pub struct ExternalMetric {
    pub name: &'static str,
    pub help: &'static str,
    /// `counter`, `gauge` or `histogram` (then `name` ends in `_bucket`,
    /// `_count` or `_sum`).
    pub kind: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

pub trait StatsSource: Send + Sync {
    fn collect(&self) -> Vec<ExternalMetric>;
}

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Telemetry {
    ingested: Mutex<BTreeMap<&'static str, u64>>,
    rejected: Mutex<BTreeMap<(&'static str, String), u64>>,
    requests: Mutex<BTreeMap<(String, u16), Histogram>>,
    pub requests_rejected_total: AtomicU64,
    sources: Mutex<Vec<Box<dyn StatsSource>>>,
    /// Ingestion paths that count their own samples (the scraper), read at render time.
    external_ingested: Mutex<Vec<(&'static str, IngestedFn)>>,
}

type IngestedFn = Box<dyn Fn() -> u64 + Send + Sync>;

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

impl Telemetry {
    pub fn add_source(&self, s: Box<dyn StatsSource>) {
        self.sources.lock().push(s);
    }

    /// Registers a counter of samples ingested by a path outside the HTTP layer.
    pub fn add_ingested_source(&self, source: &'static str, f: IngestedFn) {
        self.external_ingested.lock().push((source, f));
    }

    pub fn ingested(&self, source: &'static str, n: u64) {
        *self.ingested.lock().entry(source).or_default() += n;
    }

    pub fn rejected(&self, source: &'static str, reason: &str, n: u64) {
        *self
            .rejected
            .lock()
            .entry((source, reason.to_string()))
            .or_default() += n;
    }

    pub fn observe_request(&self, handler: &str, status: u16, seconds: f64) {
        let mut m = self.requests.lock();
        let h = m.entry((handler.to_string(), status)).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The exposition text for `GET /metrics`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP homeostat_samples_ingested_total Samples accepted into storage, by ingestion path."
        );
        let _ = writeln!(out, "# TYPE homeostat_samples_ingested_total counter");
        let mut ingested = self.ingested.lock().clone();
        for (src, f) in self.external_ingested.lock().iter() {
            *ingested.entry(src).or_default() += f();
        }
        for src in ["otlp", "remote_write", "scrape"] {
            let v = ingested.get(src).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "homeostat_samples_ingested_total{{source=\"{src}\"}} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP homeostat_samples_rejected_total Samples refused, by ingestion path and reason."
        );
        let _ = writeln!(out, "# TYPE homeostat_samples_rejected_total counter");
        for ((src, reason), v) in self.rejected.lock().iter() {
            let _ = writeln!(
                out,
                "homeostat_samples_rejected_total{{reason=\"{}\",source=\"{src}\"}} {v}",
                escape(reason)
            );
        }
        let _ = writeln!(
            out,
            "# HELP homeostat_http_requests_rejected_total Requests refused as malformed or over a limit."
        );
        let _ = writeln!(out, "# TYPE homeostat_http_requests_rejected_total counter");
        let _ = writeln!(
            out,
            "homeostat_http_requests_rejected_total {}",
            self.requests_rejected_total.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP homeostat_http_request_duration_seconds Latency of HTTP requests by handler and status code."
        );
        let _ = writeln!(
            out,
            "# TYPE homeostat_http_request_duration_seconds histogram"
        );
        for ((handler, code), h) in self.requests.lock().iter() {
            let l = format!("code=\"{code}\",handler=\"{}\"", escape(handler));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "homeostat_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "homeostat_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "homeostat_http_request_duration_seconds_sum{{{l}}} {}",
                fmt_value(h.sum)
            );
            let _ = writeln!(
                out,
                "homeostat_http_request_duration_seconds_count{{{l}}} {}",
                h.count
            );
        }
        let mut by_name: BTreeMap<&'static str, Vec<ExternalMetric>> = BTreeMap::new();
        for s in self.sources.lock().iter() {
            for m in s.collect() {
                by_name.entry(m.name).or_default().push(m);
            }
        }
        let mut family_written = "";
        for (name, ms) in by_name {
            // A histogram comes as `_bucket`, `_count` and `_sum` series
            // (adjacent by name) under one HELP/TYPE for the family.
            let family = if ms[0].kind == "histogram" {
                ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name)
            } else {
                name
            };
            if family != family_written {
                let _ = writeln!(out, "# HELP {family} {}", ms[0].help);
                let _ = writeln!(out, "# TYPE {family} {}", ms[0].kind);
                family_written = family;
            }
            for m in ms {
                let labels: Vec<String> = m
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {}", fmt_value(m.value));
                } else {
                    let _ = writeln!(out, "{name}{{{}}} {}", labels.join(","), fmt_value(m.value));
                }
            }
        }
        out
    }
}
