//! What the traffic proxy tells its subscribers (timelines, remediation,
//! chaos experiments): a tokio broadcast of these.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrafficEvent {
    WeightsShifted {
        route: String,
        actor: String,
        before: Weights,
        after: Weights,
    },
    FaultAdded {
        route: String,
        fault: String,
        actor: String,
    },
    FaultRemoved {
        route: String,
        fault: String,
        actor: String,
    },
    EndpointEjected {
        route: String,
        endpoint: String,
        /// Unix ms.
        until: i64,
    },
    EndpointReturned {
        route: String,
        endpoint: String,
    },
    HealthChanged {
        route: String,
        endpoint: String,
        healthy: bool,
    },
}

/// A route's weights: explicit zone shares and every endpoint's weight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    #[serde(default)]
    pub zones: BTreeMap<String, u32>,
    /// By endpoint address.
    #[serde(default)]
    pub endpoints: BTreeMap<String, u32>,
}
