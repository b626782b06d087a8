//! Experiments on the timelines of the incidents already open for their
//! service when they start or finish. Incidents that open later get them
//! from the suspects scan (`IncidentService::record_recent_chaos`), which
//! skips what is recorded here by the same `chaos_id`.

use std::sync::Arc;

use homeostat_app::{ChaosEvent, ChaosEventKind, ChaosService};
use homeostat_incident::{ExternalKind, IncidentService};
use homeostat_state::State;
use serde_json::json;
use tokio::sync::{broadcast, watch};

fn summary(e: &ChaosEvent) -> String {
    match e.kind {
        ChaosEventKind::Started => format!(
            "chaos experiment {} ({}) started by {}",
            e.title, e.id, e.principal
        ),
        ChaosEventKind::Finished => {
            let mut s = format!(
                "chaos experiment {} ({}) {}",
                e.title,
                e.id,
                e.status.as_str()
            );
            if e.deviated {
                s.push_str(", deviated");
            }
            if let Some(r) = &e.reason {
                s.push_str(": ");
                s.push_str(r);
            }
            s
        }
    }
}

pub async fn run(chaos: Arc<ChaosService>, state: State, mut stop: watch::Receiver<bool>) {
    let mut events = chaos.subscribe();
    loop {
        let e = tokio::select! {
            e = events.recv() => e,
            _ = stop.changed() => return,
        };
        let e = match e {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "chaos events: fell behind; some are missing from incident timelines"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(service) = e.service.clone() else {
            continue;
        };
        let incidents = IncidentService::new(state.incidents.clone());
        let text = summary(&e);
        let data = json!({
            "chaos_id": format!("Experiment:{}", e.id),
            "kind": "Experiment",
            "phase": e.kind,
            "status": e.status.as_str(),
            "deviated": e.deviated,
        });
        let res = tokio::task::spawn_blocking(move || {
            incidents
                .record_on_open_incidents(&service, ExternalKind::ChaosRun, &text, data, e.at)
                .map_err(|err| err.to_string())
        })
        .await
        .map_err(|err| err.to_string())
        .and_then(|r| r);
        if let Err(err) = res {
            tracing::warn!(error = %err, "recording an experiment on open incidents failed");
        }
    }
}
