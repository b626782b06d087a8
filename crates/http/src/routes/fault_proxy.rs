//! `GET /api/v1/chaos/proxies`: the fault proxy's proxies and their toxics
//! (docs/fault-proxy.md), read-only. Changes go through Toxiproxy's API on
//! the fault proxy's own listener.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::routes::release::ok;
use crate::{ApiError, AppState};

pub async fn list(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let data = match &st.fault_proxy {
        Some(fp) => json!({"enabled": true, "proxies": fp.list()}),
        None => json!({"enabled": false, "proxies": []}),
    };
    Ok(ok(data))
}
