//! [`TrafficDesk`]: the [`Traffic`] handle for changes made by a person or
//! an automation acting for one — each change is written to the audit log
//! with who made it and the state before and after. The audit write is
//! best effort, as for incidents: a traffic shift during an outage must not
//! fail because the audit store does (the failure is logged).

use std::sync::Arc;

use homeostat_model::Clock;
use homeostat_state::{AuditEntry, AuditLog};
use serde_json::json;

use crate::error::TrafficError;
use crate::event::Weights;
use crate::fault::FaultSpec;
use crate::handle::Traffic;

#[derive(Clone)]
pub struct TrafficDesk {
    traffic: Traffic,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TrafficDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrafficDesk")
            .field("traffic", &self.traffic)
            .finish_non_exhaustive()
    }
}

impl TrafficDesk {
    pub fn new(traffic: Traffic, audit: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self {
            traffic,
            audit,
            clock,
        }
    }

    /// The handle itself, for reads and subscriptions.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    pub async fn set_weights(
        &self,
        route: &str,
        update: &Weights,
        actor: &str,
    ) -> Result<(Weights, Weights), TrafficError> {
        let (before, after) = self.traffic.set_weights(route, update, actor)?;
        self.record(
            actor,
            "traffic.weights.set",
            route,
            json!({"before": before, "after": after}),
        )
        .await;
        Ok((before, after))
    }

    pub async fn add_fault(
        &self,
        route: &str,
        spec: FaultSpec,
        actor: &str,
    ) -> Result<Option<FaultSpec>, TrafficError> {
        let after = spec.clone();
        let before = self.traffic.add_fault(route, spec, actor)?;
        self.record(
            actor,
            "traffic.fault.add",
            route,
            json!({"before": before, "after": after}),
        )
        .await;
        Ok(before)
    }

    pub async fn remove_fault(
        &self,
        route: &str,
        name: &str,
        actor: &str,
    ) -> Result<FaultSpec, TrafficError> {
        let before = self.traffic.remove_fault(route, name, actor)?;
        self.record(
            actor,
            "traffic.fault.remove",
            route,
            json!({"before": before, "after": null}),
        )
        .await;
        Ok(before)
    }

    async fn record(&self, actor: &str, action: &str, route: &str, detail: serde_json::Value) {
        let entry = AuditEntry {
            seq: 0,
            at: self.clock.now_millis(),
            actor: actor.to_string(),
            action: action.to_string(),
            object: format!("traffic-route/{route}"),
            detail,
        };
        let audit = self.audit.clone();
        let written = tokio::task::spawn_blocking(move || audit.append(&entry)).await;
        match written {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, action, route, "traffic: audit entry not written")
            }
            Err(e) => tracing::error!(error = %e, action, route, "traffic: audit task failed"),
        }
    }
}
