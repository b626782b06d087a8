//! The shapes of proxies (what is asked for, what is shown) and of the
//! events and statistics the handle publishes.

use serde::{Deserialize, Serialize};

use crate::toxic::Toxic;

/// A proxy to create: Toxiproxy's `POST /proxies` body and a `fault_proxy`
/// config entry. `listen` "127.0.0.1:0" picks a free port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySpec {
    pub name: String,
    #[serde(default = "default_listen")]
    pub listen: String,
    pub upstream: String,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

pub fn default_listen() -> String {
    "127.0.0.1:0".to_string()
}

fn enabled_default() -> bool {
    true
}

/// The API's input for create/populate: every field optional so a missing
/// one gets Toxiproxy's `missing required field` answer instead of serde's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyInput {
    pub name: Option<String>,
    pub listen: Option<String>,
    pub upstream: Option<String>,
    pub enabled: Option<bool>,
    /// Sent back by clients that echo a proxy they read; ignored.
    pub toxics: Option<serde_json::Value>,
}

/// A proxy update (`POST`/`PATCH /proxies/{proxy}`): fields not given keep
/// their value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyPatch {
    pub name: Option<String>,
    pub listen: Option<String>,
    pub upstream: Option<String>,
    pub enabled: Option<bool>,
    /// Sent back by clients that echo a proxy they read; ignored.
    pub toxics: Option<serde_json::Value>,
}

/// A proxy as Toxiproxy shows it; `listen` is the bound address once
/// enabled (the real port when "…:0" was asked for).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProxyView {
    pub name: String,
    pub listen: String,
    pub upstream: String,
    pub enabled: bool,
    pub toxics: Vec<Toxic>,
}

/// What changed, for timelines: published on [`crate::FaultProxy::subscribe`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProxyEvent {
    ProxyCreated {
        proxy: ProxyView,
    },
    ProxyUpdated {
        proxy: ProxyView,
    },
    ProxyDeleted {
        name: String,
    },
    ToxicAdded {
        proxy: String,
        toxic: Toxic,
    },
    ToxicUpdated {
        proxy: String,
        toxic: Toxic,
    },
    ToxicRemoved {
        proxy: String,
        toxic: Toxic,
    },
    /// All proxies enabled again, all toxics removed.
    Reset,
}

/// One proxy's counters, read at scrape time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxyStats {
    pub name: String,
    pub enabled: bool,
    pub bytes_upstream: u64,
    pub bytes_downstream: u64,
    pub connections_total: u64,
    pub connections_active: u64,
    pub toxics_active: u64,
}
