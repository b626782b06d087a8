//! `/api/v1/traffic/…`: the traffic proxy's routes, weight shifts and HTTP
//! faults. Changes are audited with the caller (docs/traffic.md).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use homeostat_traffic::{FaultSpec, TrafficError, Weights};
use serde_json::{Value, json};

use crate::params::Path;
use crate::routes::release::{json_body, ok};
use crate::{ApiError, AppState};

const MAX_BODY: usize = 64 << 10;

fn traffic_error(e: TrafficError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Who made a change: the authenticated caller, "on behalf of" a declared actor.
fn actor(caller: &homeostat_model::Principal, headers: &HeaderMap) -> String {
    let declared = crate::routes::incidents::declared(None, headers);
    match (caller.method, declared) {
        (homeostat_model::AuthMethod::Unauthenticated, None) => "unknown".to_string(),
        (_, d) => caller.actor(d.as_deref()),
    }
}

/// `GET /api/v1/traffic/routes`: every route with its endpoints' state.
pub async fn list(State(st): State<AppState>) -> Json<Value> {
    ok(to_json(&st.traffic.traffic().routes()))
}

/// `GET /api/v1/traffic/routes/{route}`.
pub async fn get(
    State(st): State<AppState>,
    Path(route): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = st.traffic.traffic().route(&route).map_err(traffic_error)?;
    Ok(ok(to_json(&r)))
}

/// `POST /api/v1/traffic/routes/{route}/weights`: `{zones, endpoints}`;
/// new requests use them at once. Answers `{before, after}`; audited.
pub async fn set_weights(
    State(st): State<AppState>,
    crate::Caller(caller): crate::Caller,
    headers: HeaderMap,
    Path(route): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let w: Weights = json_body(body, MAX_BODY).await?;
    if w.zones.is_empty() && w.endpoints.is_empty() {
        return Err(ApiError::bad_data(
            "request body: give zones, endpoints or both",
        ));
    }
    let (before, after) = st
        .traffic
        .set_weights(&route, &w, &actor(&caller, &headers))
        .await
        .map_err(traffic_error)?;
    Ok(ok(json!({"before": before, "after": after})))
}

/// `GET /api/v1/traffic/routes/{route}/faults`.
pub async fn list_faults(
    State(st): State<AppState>,
    Path(route): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let f = st.traffic.traffic().faults(&route).map_err(traffic_error)?;
    Ok(ok(to_json(&f)))
}

/// `POST /api/v1/traffic/routes/{route}/faults`: adds (or replaces, by
/// name) a fault; 201 with `{fault, replaced}`; audited.
pub async fn add_fault(
    State(st): State<AppState>,
    crate::Caller(caller): crate::Caller,
    headers: HeaderMap,
    Path(route): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let f: FaultSpec = json_body(body, MAX_BODY).await?;
    let replaced = st
        .traffic
        .add_fault(&route, f.clone(), &actor(&caller, &headers))
        .await
        .map_err(traffic_error)?;
    Ok((
        StatusCode::CREATED,
        ok(json!({"fault": f, "replaced": replaced})),
    ))
}

/// `DELETE /api/v1/traffic/routes/{route}/faults/{name}`: answers `{removed}`; audited.
pub async fn remove_fault(
    State(st): State<AppState>,
    crate::Caller(caller): crate::Caller,
    headers: HeaderMap,
    Path((route, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let removed = st
        .traffic
        .remove_fault(&route, &name, &actor(&caller, &headers))
        .await
        .map_err(traffic_error)?;
    Ok(ok(json!({"removed": removed})))
}
