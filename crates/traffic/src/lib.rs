//! The HTTP traffic proxy (issue 16): routes to weighted endpoint pools
//! labelled by zone, with health checks, outlier ejection, circuit
//! breakers, fallbacks and Envoy-style HTTP faults.
//!
//! The decisions live in plain modules on injected time (`pick`,
//! `outlier`, `health`, `breaker`, `fault`); `proxy` is the hyper edge and
//! [`Traffic`] the handle every caller changes the proxies through
//! (docs/traffic.md).

mod breaker;
mod desk;
mod error;
mod event;
mod fault;
mod handle;
mod health;
mod metrics;
mod outlier;
mod pick;
mod proxy;
mod route;
mod spec;

pub use breaker::Overflow;
pub use desk::TrafficDesk;
pub use error::TrafficError;
pub use event::{TrafficEvent, Weights};
pub use fault::{
    AbortSpec, DelaySpec, Fault, FaultError, FaultMatch, FaultSpec, HeaderMatchSpec, NAME_RULE,
    is_valid_name,
};
pub use handle::{MAX_WEIGHT, Traffic};
pub use metrics::Metric;
pub use route::{BreakerStatus, EndpointStatus, FallbackStatus, RouteStatus};
pub use spec::{
    BreakerSpec, EndpointSpec, FallbackSpec, HealthCheckSpec, OutlierSpec, RouteSpec, StaticAnswer,
};
