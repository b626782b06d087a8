//! A [`homeostat_storage::Querier`] backed by a remote Prometheus-compatible
//! server — Prometheus, Mimir, Thanos, VictoriaMetrics — so the PromQL engine
//! and the read APIs can run over data homeostat does not store itself.
//!
//! `select` uses Prometheus remote-read (snappy protobuf, `SAMPLES` response
//! type); `series`, `label_names` and `label_values` use the HTTP API
//! (`/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values`).
//! The client is blocking, like the trait: callers in async code run it on
//! `spawn_blocking`. Every error names the remote URL, and the HTTP status
//! when there was one.

mod config;
mod error;
mod querier;
mod selector;

pub use config::{RemoteConfig, RemoteConfigError};
pub use querier::RemoteQuerier;
pub use selector::render_selector;
