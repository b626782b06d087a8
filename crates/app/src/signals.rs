//! Golden signals for charts: the four series the `services:` recording
//! rules write (traffic, errors, latency, saturation), per service, over a
//! range. Where a range starts before a service's recorded history — the
//! rules were added, or the server started, after the raw data arrived —
//! the points before the first recorded sample come from the rule's own
//! expression evaluated over the raw series (ADR 0012), so a 7-day chart
//! shows the seven days that exist.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use homeostat_model::{Clock, METRIC_NAME};
use homeostat_promql::{Engine, QueryParams, Value};
use homeostat_slo::ServiceSignals;
use homeostat_slo::signal_names::{ERRORS, LATENCY, SATURATION, TRAFFIC};
use homeostat_storage::Querier;

use crate::Live;

/// A series' labels without its metric name, sorted.
pub type SeriesLabels = BTreeMap<String, String>;

/// Points as `(ms since the epoch, value)`, oldest first.
pub type Points = Vec<(i64, f64)>;

/// One golden signal as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalKind {
    /// `traffic`, `errors`, `latency`, `saturation`.
    pub name: &'static str,
    /// The recorded series.
    pub metric: &'static str,
    /// What a figure of it is, window included ("errors, 5 min rate").
    pub title: &'static str,
    pub unit: &'static str,
}

/// The four signals, in the order the console draws them.
pub const SIGNALS: [SignalKind; 4] = [
    SignalKind {
        name: "latency",
        metric: LATENCY,
        title: "latency quantiles, 5 min window",
        unit: "seconds",
    },
    SignalKind {
        name: "traffic",
        metric: TRAFFIC,
        title: "traffic, 5 min rate",
        unit: "requests/s",
    },
    SignalKind {
        name: "errors",
        metric: ERRORS,
        title: "errors, 5 min rate",
        unit: "share of requests",
    },
    SignalKind {
        name: "saturation",
        metric: SATURATION,
        title: "saturation",
        unit: "ratio",
    },
];

/// One series of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalSeries {
    pub labels: SeriesLabels,
    pub points: Points,
    /// Points before this time (ms) were computed from the raw series,
    /// because nothing was recorded yet; `None` when all are recorded.
    pub raw_until: Option<i64>,
}

/// One signal of one service over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalChart {
    pub kind: SignalKind,
    /// The recorded series selected for this service, as PromQL.
    pub query: String,
    pub series: Vec<SignalSeries>,
}

/// A time range cut into steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: i64,
    pub end: i64,
    pub step: Duration,
}

impl Range {
    /// The last `span` up to `now`, in about `points` steps of at least 15 s.
    pub fn last(span: Duration, now: i64, points: u32) -> Range {
        let step = (span / points.max(1)).max(Duration::from_secs(15));
        Range {
            start: now - span.as_millis() as i64,
            end: now,
            step,
        }
    }

    fn step_ms(&self) -> i64 {
        self.step.as_millis() as i64
    }
}

/// Reads golden signals. The declared services are swapped at a reload.
pub struct SignalService {
    engine: Engine,
    querier: Arc<dyn Querier>,
    clock: Arc<dyn Clock>,
    services: Arc<Live<Vec<ServiceSignals>>>,
}

impl SignalService {
    pub fn new(
        engine: Engine,
        querier: Arc<dyn Querier>,
        clock: Arc<dyn Clock>,
        services: Arc<Live<Vec<ServiceSignals>>>,
    ) -> Self {
        Self {
            engine,
            querier,
            clock,
            services,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The services declared under `services:`.
    pub fn declared(&self) -> Vec<String> {
        self.services
            .get()
            .iter()
            .map(|s| s.service.clone())
            .collect()
    }

    /// Every series of `kind` over `range` for every service that has one,
    /// keyed by service; declared services get raw history before their
    /// first recorded sample. Runs PromQL: call it on a blocking thread.
    pub fn all(&self, kind: SignalKind, range: Range) -> BTreeMap<String, Vec<SignalSeries>> {
        let mut by_service: BTreeMap<String, Vec<(SeriesLabels, Points)>> = BTreeMap::new();
        for (labels, points) in self.range(kind.metric, range) {
            if let Some(service) = labels.get("service").cloned() {
                by_service
                    .entry(service)
                    .or_default()
                    .push((labels, points));
            }
        }
        let services = self.services.get();
        let mut out = BTreeMap::new();
        for svc in services.iter() {
            let recorded = by_service.remove(&svc.service).unwrap_or_default();
            let series = self.with_raw_history(svc, kind, recorded, range);
            if !series.is_empty() {
                out.insert(svc.service.clone(), series);
            }
        }
        // Services recorded by rules homeostat did not write keep what was
        // recorded.
        for (service, recorded) in by_service {
            out.insert(service, recorded_only(recorded));
        }
        out
    }

    /// The four signals of `service` over `range`. Runs PromQL: call it on
    /// a blocking thread.
    pub fn charts(&self, service: &str, range: Range) -> Vec<SignalChart> {
        let declared = self
            .services
            .get()
            .iter()
            .find(|s| s.service == service)
            .cloned();
        SIGNALS
            .iter()
            .map(|&kind| {
                let query = format!("{}{{service={}}}", kind.metric, quote(service));
                let recorded = self.range(&query, range);
                let series = match &declared {
                    Some(svc) => self.with_raw_history(svc, kind, recorded, range),
                    None => recorded_only(recorded),
                };
                SignalChart {
                    kind,
                    query,
                    series,
                }
            })
            .collect()
    }

    /// `recorded` (the recorded series of `svc` for `kind`), each preceded
    /// by its rule's expression over the raw data where the range starts
    /// before the recording does.
    fn with_raw_history(
        &self,
        svc: &ServiceSignals,
        kind: SignalKind,
        recorded: Vec<(SeriesLabels, Points)>,
        range: Range,
    ) -> Vec<SignalSeries> {
        let mut out: BTreeMap<SeriesLabels, SignalSeries> = recorded
            .into_iter()
            .map(|(labels, points)| {
                let s = SignalSeries {
                    labels: labels.clone(),
                    points,
                    raw_until: None,
                };
                (labels, s)
            })
            .collect();
        let group = svc.rules();
        for rule in group
            .rules
            .iter()
            .filter(|r| r.record.as_deref() == Some(kind.metric))
        {
            let mine = |l: &SeriesLabels| rule.labels.iter().all(|(k, v)| l.get(k) == Some(v));
            // The recording's first point in range; the raw expression
            // fills the steps before it.
            let first = out
                .iter()
                .filter(|(l, _)| mine(l))
                .filter_map(|(_, s)| s.points.first().map(|p| p.0))
                .min();
            let until = first.unwrap_or(range.end + range.step_ms());
            if until <= range.start {
                continue;
            }
            let raw_end = (until - range.step_ms()).min(range.end);
            if raw_end < range.start {
                continue;
            }
            // Raw steps fall on the same grid as the recorded ones.
            let raw_range = Range {
                end: range.start + (raw_end - range.start) / range.step_ms() * range.step_ms(),
                ..range
            };
            for (raw_labels, points) in self.range(&rule.expr, raw_range) {
                let mut labels = raw_labels;
                labels.extend(rule.labels.clone());
                let points: Points = points.into_iter().filter(|p| p.0 < until).collect();
                if points.is_empty() {
                    continue;
                }
                let entry = out.entry(labels.clone()).or_insert_with(|| SignalSeries {
                    labels,
                    points: Vec::new(),
                    raw_until: None,
                });
                let mut merged = points;
                merged.append(&mut entry.points);
                entry.points = merged;
                entry.raw_until = Some(until.min(range.end + range.step_ms()));
            }
        }
        out.into_values().collect()
    }

    /// A range query's series with their labels (no metric name) and
    /// finite points; nothing when the query fails (a chart without a
    /// line, not a page without charts).
    fn range(&self, expr: &str, range: Range) -> Vec<(SeriesLabels, Points)> {
        let out = match self.engine.range_query(
            self.querier.as_ref(),
            expr,
            range.start,
            range.end,
            range.step,
            &QueryParams::default(),
        ) {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(query = expr, error = %e, "golden signal query failed");
                return Vec::new();
            }
        };
        let Value::Matrix(m) = out.value else {
            return Vec::new();
        };
        m.into_iter()
            .map(|s| {
                let labels = s
                    .labels
                    .iter()
                    .filter(|l| l.name != METRIC_NAME)
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                let points = s
                    .samples
                    .iter()
                    .filter(|p| p.v.is_finite())
                    .map(|p| (p.t, p.v))
                    .collect();
                (labels, points)
            })
            .collect()
    }
}

fn recorded_only(recorded: Vec<(SeriesLabels, Points)>) -> Vec<SignalSeries> {
    recorded
        .into_iter()
        .map(|(labels, points)| SignalSeries {
            labels,
            points,
            raw_until: None,
        })
        .collect()
}

/// A PromQL string literal.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
