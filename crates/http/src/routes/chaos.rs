//! Chaos Toolkit experiments over HTTP (`/api/v1/chaos/experiments`):
//! start one from a JSON or YAML document, list and read runs with their
//! journal, read the bare journal as `chaos run` writes it, abort a run.
//! Decode, call `homeostat_app::ChaosService`, encode.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use homeostat_app::ChaosError;
use homeostat_chaos::Format;
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use homeostat_state::ChaosRun;
use serde_json::{Value, json};

use crate::params::{Params, Path, since_and_limit};
use crate::routes::read_body;
use crate::routes::release::ok;
use crate::{ApiError, AppState};

/// Experiment documents are small; a megabyte is far more than any.
const MAX_BODY: usize = 1 << 20;
const DEFAULT_LIST_LIMIT: usize = 100;

fn chaos_error(e: ChaosError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

/// A run without its journal, for listings.
fn summary(r: &ChaosRun) -> Value {
    json!({
        "id": r.id,
        "title": r.title,
        "service": r.service,
        "status": r.status,
        "deviated": r.journal.get("deviated").and_then(Value::as_bool).unwrap_or(false),
        "deviation": r.journal.pointer("/homeostat/deviation").cloned().unwrap_or(Value::Null),
        "startedAt": rfc3339(r.started_at),
        "finishedAt": r.finished_at.map(rfc3339),
        "principal": r.principal,
    })
}

fn format_of(headers: &HeaderMap) -> Format {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.contains("json") {
        Format::Json
    } else if ct.contains("yaml") {
        Format::Yaml
    } else {
        Format::Auto
    }
}

/// `POST /api/v1/chaos/experiments[?wait=true]`: starts an experiment
/// (audited with the caller); 202 with its id, or with `wait=true` the
/// finished journal.
pub async fn start(
    State(st): State<AppState>,
    crate::Caller(caller): crate::Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let wait = match p.get("wait") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_data(format!(
                "wait: {other:?} is not true or false"
            )));
        }
    };
    let bytes = read_body(body, MAX_BODY).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_data("experiment: the document is not UTF-8 text"))?;
    let exp = st
        .chaos
        .validate(text, format_of(&headers))
        .map_err(chaos_error)?;
    let principal = caller.actor(None);
    let started = st.chaos.start(exp, &principal).await.map_err(chaos_error)?;
    if wait {
        let journal = started.finished.await.map_err(|_| {
            ApiError::new(
                ErrorKind::Internal,
                "the experiment task ended without a journal",
            )
        })?;
        return Ok(Json(serde_json::to_value(&journal).unwrap_or(Value::Null)).into_response());
    }
    Ok((
        StatusCode::ACCEPTED,
        ok(json!({"id": started.id, "status": started.status})),
    )
        .into_response())
}

/// `GET /api/v1/chaos/experiments?service=&since=&limit=`: runs, newest first.
pub async fn list(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let (since, limit) = since_and_limit(&p, 0, DEFAULT_LIST_LIMIT)?;
    let runs = st
        .chaos
        .list(p.get("service").map(str::to_string), since, limit)
        .await
        .map_err(chaos_error)?;
    Ok(ok(Value::Array(runs.iter().map(summary).collect())))
}

/// `GET /api/v1/chaos/experiments/{id}`: the run and its journal.
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = st.chaos.get(&id).await.map_err(chaos_error)?;
    let mut v = summary(&run);
    v["journal"] = run.journal;
    Ok(ok(v))
}

/// `GET /api/v1/chaos/experiments/{id}/journal`: the bare journal, in
/// Chaos Toolkit's shape.
pub async fn journal(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = st.chaos.get(&id).await.map_err(chaos_error)?;
    Ok(Json(run.journal))
}

/// `POST /api/v1/chaos/experiments/{id}/abort`: stops the method and runs
/// the rollbacks; audited.
pub async fn abort(
    State(st): State<AppState>,
    crate::Caller(caller): crate::Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    st.chaos
        .abort(&id, &caller.actor(None))
        .await
        .map_err(chaos_error)?;
    Ok((
        StatusCode::ACCEPTED,
        ok(json!({"id": id, "status": "aborting"})),
    ))
}
