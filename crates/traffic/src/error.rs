//! What a traffic operation can refuse, each with what to fix.

use std::net::SocketAddr;

use crate::fault::FaultError;

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("no traffic route named {0:?}")]
    UnknownRoute(String),
    #[error("route {route:?} has no endpoint in zone {zone:?}")]
    UnknownZone { route: String, zone: String },
    #[error("route {route:?} has no endpoint {endpoint:?} (endpoints are named by address)")]
    UnknownEndpoint { route: String, endpoint: String },
    #[error("weight {0} is over the maximum of 1000000")]
    InvalidWeight(u32),
    #[error("invalid fault: {0}")]
    InvalidFault(FaultError),
    #[error("route {route:?} has no fault named {fault:?}")]
    UnknownFault { route: String, fault: String },
    #[error("traffic route {route:?} cannot listen on {addr}: {source}")]
    Bind {
        route: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl TrafficError {
    /// Whether the caller named something that does not exist (404), as
    /// opposed to a value that does not validate (400) or a failure to start.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            TrafficError::UnknownRoute(_) | TrafficError::UnknownFault { .. }
        )
    }
}

impl TrafficError {
    /// The class of failure, for the HTTP edge's one error table.
    pub fn kind(&self) -> homeostat_model::ErrorKind {
        use homeostat_model::ErrorKind as K;
        match self {
            TrafficError::UnknownRoute(_) | TrafficError::UnknownFault { .. } => K::NotFound,
            TrafficError::UnknownZone { .. }
            | TrafficError::UnknownEndpoint { .. }
            | TrafficError::InvalidWeight(_)
            | TrafficError::InvalidFault(_) => K::InvalidInput,
            TrafficError::Bind { .. } => K::Internal,
        }
    }
}
