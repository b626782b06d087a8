//! A Toxiproxy-compatible TCP fault proxy (issue 16): proxies with toxics
//! per stream, and Toxiproxy's HTTP API on its own listener.
//!
//! [`FaultProxy`] is the handle the server and the API share; `api` is
//! Toxiproxy's HTTP API over it; `link` moves the bytes, `plan` decides
//! what the toxics do to them.

pub mod api;
mod error;
mod handle;
mod link;
mod plan;
mod proxy;
mod toxic;

pub use api::{TOXIPROXY_VERSION, router, serve};
pub use error::FaultProxyError;
pub use handle::FaultProxy;
pub use proxy::{
    ProxyEvent, ProxyInput, ProxyPatch, ProxySpec, ProxyStats, ProxyView, default_listen,
};
pub use toxic::{NewToxic, Stream, TOXIC_TYPES, Toxic, ToxicKind, ToxicPatch};
