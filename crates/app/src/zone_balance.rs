//! The zone balancer: for each route with `zone_balance`, reads every
//! zone's error ratio, p99 latency and request rate from the proxy's own
//! metrics, asks `homeostat_remediation::zone_shift` for the next step and
//! applies it through [`ZoneWeights`] (the server's implementation goes
//! through the audited `TrafficDesk`, as `homeostat (zone balancer ROUTE)`).
//!
//! The traffic proxy is an edge crate, so this service reaches it only
//! through that trait. The per-route state lives in memory: a new leader
//! takes the weights it finds as the ones to come back to.

use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_model::Clock;
use homeostat_promql::Engine;
use homeostat_remediation::zone_shift::{self, ZoneReading, ZoneShiftConfig, ZoneShiftState};
use homeostat_storage::Querier;
use parking_lot::Mutex;

use crate::BoxFuture;

/// One route the balancer looks after.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneBalance {
    pub route: String,
    pub config: ZoneShiftConfig,
}

/// Readings of the metric store. Errors are sentences for the log.
pub trait ZoneSignals: Send + Sync {
    /// An instant PromQL query now, as one value per `zone` label.
    fn by_zone(&self, query: &str) -> BoxFuture<'_, Result<BTreeMap<String, f64>, String>>;
}

/// The traffic proxy's zone weights.
pub trait ZoneWeights: Send + Sync {
    /// Each zone's effective weight on the route: its explicit zone
    /// weight, or the sum of its endpoints' weights without one.
    fn zone_weights(&self, route: &str) -> BoxFuture<'_, Result<BTreeMap<String, u32>, String>>;
    fn set_zone_weights(
        &self,
        route: &str,
        weights: BTreeMap<String, u32>,
        actor: &str,
    ) -> BoxFuture<'_, Result<(), String>>;
}

/// What one tick did for one route.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneBalanceOutcome {
    pub route: String,
    /// The weights applied, if a step was taken and applied.
    pub applied: Option<BTreeMap<String, u32>>,
    /// Why (the engine's sentence), or what failed.
    pub reason: String,
    pub failed: bool,
}

/// Who the audit log names for the balancer's changes.
pub fn zone_balancer_actor(route: &str) -> String {
    format!("homeostat (zone balancer {route})")
}

pub struct ZoneBalancer {
    routes: Vec<ZoneBalance>,
    signals: Arc<dyn ZoneSignals>,
    weights: Arc<dyn ZoneWeights>,
    clock: Arc<dyn Clock>,
    states: Mutex<BTreeMap<String, ZoneShiftState>>,
}

impl ZoneBalancer {
    pub fn new(
        routes: Vec<ZoneBalance>,
        signals: Arc<dyn ZoneSignals>,
        weights: Arc<dyn ZoneWeights>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            routes,
            signals,
            weights,
            clock,
            states: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn routes(&self) -> &[ZoneBalance] {
        &self.routes
    }

    /// The state kept for a route (for tests and the status page).
    pub fn state(&self, route: &str) -> Option<ZoneShiftState> {
        self.states.lock().get(route).cloned()
    }

    /// Drops every route's state: a replica that stops leading must not
    /// act later on health streaks it did not watch.
    pub fn forget(&self) {
        self.states.lock().clear();
    }

    /// One evaluation of every route.
    pub async fn tick(&self) -> Vec<ZoneBalanceOutcome> {
        let mut out = Vec::with_capacity(self.routes.len());
        for r in &self.routes {
            let outcome = match self.step(r).await {
                Ok(o) => o,
                Err(e) => ZoneBalanceOutcome {
                    route: r.route.clone(),
                    applied: None,
                    reason: e,
                    failed: true,
                },
            };
            if outcome.failed {
                tracing::warn!(route = %r.route, reason = %outcome.reason, "zone balancer: step failed");
            } else if outcome.applied.is_some() {
                tracing::info!(route = %r.route, reason = %outcome.reason, "zone balancer: weights shifted");
            } else {
                tracing::debug!(route = %r.route, reason = %outcome.reason, "zone balancer: no step");
            }
            out.push(outcome);
        }
        out
    }

    async fn step(&self, r: &ZoneBalance) -> Result<ZoneBalanceOutcome, String> {
        let readings = self.readings(&r.route).await?;
        let decision = {
            let mut states = self.states.lock();
            let state = states.entry(r.route.clone()).or_default();
            zone_shift::decide(&readings, &r.config, state, self.clock.now_millis())
        };
        let Some(weights) = decision.weights else {
            return Ok(ZoneBalanceOutcome {
                route: r.route.clone(),
                applied: None,
                reason: decision.reason,
                failed: false,
            });
        };
        self.weights
            .set_zone_weights(&r.route, weights.clone(), &zone_balancer_actor(&r.route))
            .await
            .map_err(|e| format!("{}; applying the weights failed: {e}", decision.reason))?;
        Ok(ZoneBalanceOutcome {
            route: r.route.clone(),
            applied: Some(weights),
            reason: decision.reason,
            failed: false,
        })
    }

    /// Every zone of the route, with its readings over the last minute.
    /// Gateway failures (refused, reset, timed out) count as errors and as
    /// requests, so a zone whose endpoints do not answer at all is judged.
    async fn readings(&self, route: &str) -> Result<Vec<ZoneReading>, String> {
        let q = ZoneQueries::new(route);
        let weights = self.weights.zone_weights(route).await?;
        let answers = self.signals.by_zone(&q.answers).await?;
        let server_errors = self.signals.by_zone(&q.server_errors).await?;
        let failures = self.signals.by_zone(&q.failures).await?;
        let p99 = self.signals.by_zone(&q.p99).await?;
        let get = |m: &BTreeMap<String, f64>, z: &str| m.get(z).copied().filter(|v| v.is_finite());
        Ok(weights
            .into_iter()
            .map(|(zone, current_weight)| {
                let failed = get(&failures, &zone).unwrap_or(0.0);
                let requests = get(&answers, &zone).unwrap_or(0.0) + failed;
                let errors = get(&server_errors, &zone).unwrap_or(0.0) + failed;
                ZoneReading {
                    error_ratio: if requests > 0.0 {
                        errors / requests
                    } else {
                        0.0
                    },
                    p99_latency_s: get(&p99, &zone),
                    requests_per_s: requests,
                    current_weight,
                    zone,
                }
            })
            .collect())
    }
}

/// The PromQL the balancer reads for one route (names in docs/traffic.md).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneQueries {
    pub answers: String,
    pub server_errors: String,
    pub failures: String,
    pub p99: String,
}

impl ZoneQueries {
    pub fn new(route: &str) -> Self {
        let route = route.replace('\\', "\\\\").replace('"', "\\\"");
        let answers = "homeostat_traffic_upstream_requests_total";
        Self {
            answers: format!("sum by (zone) (rate({answers}{{route=\"{route}\"}}[1m]))"),
            server_errors: format!(
                "sum by (zone) (rate({answers}{{route=\"{route}\", code_class=\"5xx\"}}[1m]))"
            ),
            failures: format!(
                "sum by (zone) (rate(homeostat_traffic_upstream_errors_total{{route=\"{route}\"}}[1m]))"
            ),
            p99: format!(
                "histogram_quantile(0.99, sum by (zone, le) \
                 (rate(homeostat_traffic_upstream_duration_seconds_bucket{{route=\"{route}\"}}[1m])))"
            ),
        }
    }
}

/// [`ZoneSignals`] on the server's own PromQL engine.
pub struct EngineZoneSignals {
    pub engine: Engine,
    pub querier: Arc<dyn Querier>,
    pub clock: Arc<dyn Clock>,
}

impl ZoneSignals for EngineZoneSignals {
    fn by_zone(&self, query: &str) -> BoxFuture<'_, Result<BTreeMap<String, f64>, String>> {
        let (engine, querier, query) =
            (self.engine.clone(), self.querier.clone(), query.to_string());
        let now = self.clock.now_millis();
        Box::pin(async move {
            Ok(crate::instant_vector(engine, querier, query, now)
                .await?
                .iter()
                .filter_map(|s| s.labels.get("zone").map(|z| (z.to_string(), s.v)))
                .collect())
        })
    }
}

#[cfg(test)]
#[path = "zone_balance_tests.rs"]
mod tests;
