//! A [`homeostat_storage::Querier`] backed by a remote Prometheus-compatible
//! server — Prometheus, Mimir, Thanos, VictoriaMetrics — so the PromQL engine
//! and the read APIs can run over data homeostat does not store itself.
//!
//! `select` uses Prometheus remote-read (snappy protobuf, `SAMPLES` response
//! type) or, for servers without remote-read (VictoriaMetrics), an instant
//! query of `{matchers}[range]` through `/api/v1/query` ([`ReadApi`]); `series`, `label_names` and `label_values` use the HTTP API
//! (`/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values`).
//! The client is blocking, like the trait: callers in async code run it on
//! `spawn_blocking`. Every error names the remote URL, and the HTTP status
//! when there was one.
//!
//! [`Forwarder`] is the write side: an `Appender` that queues batches on
//! local disk and sends them with remote-write 1.0.

mod config;
mod error;
mod forward;
mod querier;
mod query_api;
mod selector;

pub use config::{ReadApi, RemoteConfig, RemoteConfigError};
pub use forward::{ForwardConfig, ForwardError, ForwardSnapshot, Forwarder};
pub use querier::RemoteQuerier;
pub use selector::render_selector;
