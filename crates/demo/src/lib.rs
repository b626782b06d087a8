//! The closed-loop demo's pure parts: a simulated fleet of services
//! ([`Fleet`]) that turns time into Prometheus samples — diurnal traffic,
//! request counters by status code and latency histograms, with a version
//! per service that can be bad — and the scenario plan ([`Scenario`]), a
//! state machine of what has been seen and what the demo's "humans" do next.
//!
//! Nothing here reads the clock or touches the network: the `homeostat demo`
//! command passes every instant in and does the I/O.

mod fleet;
mod scenario;

pub use fleet::{Fleet, ServiceModel, default_services};
pub use scenario::{Action, Milestone, Observation, Scenario};
