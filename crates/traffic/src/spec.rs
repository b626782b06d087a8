//! A route as the proxy runs it: validated values (durations, numbers in
//! range). The server's `traffic:` config section builds these and reports
//! its own field errors; faults added at runtime come through
//! [`crate::FaultSpec::compile`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::fault::Fault;

/// One proxied route: its own listener and upstream pool.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub name: String,
    pub listen: SocketAddr,
    pub endpoints: Vec<EndpointSpec>,
    /// A zone's share of the traffic; a zone not listed gets the sum of
    /// its available endpoints' weights (plain endpoint weighting).
    pub zone_weights: BTreeMap<String, u32>,
    pub health_check: Option<HealthCheckSpec>,
    pub outlier: Option<OutlierSpec>,
    pub breakers: BreakerSpec,
    pub fallback: FallbackSpec,
    /// From the start of the upstream request to its response headers.
    pub timeout: Duration,
    pub faults: Vec<Fault>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointSpec {
    /// `host:port`, resolved at connect time.
    pub address: String,
    pub zone: String,
    pub weight: u32,
}

/// Active health checking: `GET path` every interval; an endpoint turns
/// unhealthy after `unhealthy_threshold` failures in a row and healthy again
/// after `healthy_threshold` successes (a 2xx answer within the timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSpec {
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
}

/// Envoy's outlier detection: consecutive 5xx / gateway failures eject an
/// endpoint for `base_ejection_time × times ejected`, never more than
/// `max_ejection_percent` of the pool (but always at least one endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlierSpec {
    pub consecutive_5xx: Option<u32>,
    pub consecutive_gateway_failure: Option<u32>,
    pub interval: Duration,
    pub base_ejection_time: Duration,
    pub max_ejection_percent: u32,
}

impl Default for OutlierSpec {
    /// Envoy's defaults (gateway failures off, as Envoy does not enforce them by default).
    fn default() -> Self {
        Self {
            consecutive_5xx: Some(5),
            consecutive_gateway_failure: None,
            interval: Duration::from_secs(10),
            base_ejection_time: Duration::from_secs(30),
            max_ejection_percent: 10,
        }
    }
}

/// Circuit breaker thresholds for the whole route (Envoy's per-cluster
/// defaults are 1024 each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerSpec {
    /// Upstream connections in use at once (one request each, HTTP/1.1).
    pub max_connections: u32,
    /// Requests waiting for a connection.
    pub max_pending_requests: u32,
    /// Requests outstanding on the route, waiting or in flight.
    pub max_requests: u32,
}

impl Default for BreakerSpec {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_pending_requests: 1024,
            max_requests: 1024,
        }
    }
}

/// What to answer when no endpoint is available: the last good answer to
/// the same GET (when `stale_cache`), else the static answer, else 503.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackSpec {
    pub stale_cache: bool,
    pub static_answer: Option<StaticAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticAnswer {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}
