//! Authentication without I/O beyond reading its own files: Prometheus's
//! web configuration file (the exporter-toolkit format, so existing files
//! and tooling work unchanged), checking presented credentials against it,
//! API token hashing, the console's session cookies and trusted proxy
//! headers. It answers "who is this and what may they do" as a
//! [`homeostat_model::Principal`]; the HTTP edge asks, and the route table
//! there decides which [`homeostat_model::Scope`] a request needs.

mod error;
pub mod web_config;

pub use error::AuthError;
pub use web_config::{ClientAuthType, HttpServerConfig, TlsServerConfig, WebConfig};
