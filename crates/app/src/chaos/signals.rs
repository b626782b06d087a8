//! [`ChaosSignals`] on the server's own PromQL engine and SLO meter.

use std::sync::Arc;
use std::time::Duration;

use homeostat_chaos::GuardReading;
use homeostat_promql::{Engine, QueryParams};
use homeostat_storage::Querier;

use super::providers::{BoxFuture, ChaosSignals, prometheus_data};
use crate::SloMeter;

pub struct MeterSignals {
    pub engine: Engine,
    pub querier: Arc<dyn Querier>,
    pub meter: Arc<SloMeter>,
}

impl ChaosSignals for MeterSignals {
    fn promql(&self, query: &str) -> BoxFuture<'_, Result<serde_json::Value, String>> {
        let (engine, querier, query) =
            (self.engine.clone(), self.querier.clone(), query.to_string());
        let now = self.meter.now();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                engine
                    .instant_query(querier.as_ref(), &query, now, &QueryParams::default())
                    .map(|out| prometheus_data(&out.value))
                    .map_err(|e| format!("query {query:?}: {e}"))
            })
            .await
            .map_err(|e| e.to_string())?
        })
    }

    /// The burn rate over `window` when the SLO reports that window, over
    /// its shortest otherwise.
    fn slo(
        &self,
        slo: &str,
        window: Option<Duration>,
    ) -> BoxFuture<'_, Result<GuardReading, String>> {
        let meter = self.meter.clone();
        let id = slo.to_string();
        Box::pin(async move {
            let spec = meter
                .specs()
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .ok_or_else(|| format!("no SLO {id:?} is configured"))?;
            let now = meter.now();
            let (status, _) = tokio::task::spawn_blocking(move || meter.measure(&spec, now))
                .await
                .map_err(|e| e.to_string())?;
            let burn = window
                .and_then(|w| status.windows.iter().find(|b| b.window == w))
                .or_else(|| status.windows.iter().min_by_key(|b| b.window))
                .and_then(|b| b.burn_rate);
            Ok(GuardReading {
                burn_rate: burn,
                budget_remaining: status.remaining,
            })
        })
    }
}
