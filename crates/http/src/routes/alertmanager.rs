//! Alertmanager's API v2 over the built-in Alertmanager
//! (`homeostat_alerting::Alertmanager`): alerts in and out, groups,
//! silences, status and receivers, with the shapes of Alertmanager's
//! OpenAPI spec so that Prometheus and `amtool` talk to it unchanged.
//! Errors are answered as Alertmanager does: a JSON string body, 400 for
//! bad input, 404 for an unknown silence; 503 when no Alertmanager config
//! is loaded.

mod wire;

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use homeostat_alerting::{AlertQuery, Alertmanager, Matchers, PostError, ServiceError};
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use regex::Regex;
use serde_json::{Value, json};

use crate::params::Params;
use crate::routes::read_body;
use crate::{ApiError, AppState, Family};

/// Largest alert or silence post (a 10,000-alert batch fits comfortably).
const MAX_BODY_BYTES: usize = 16 << 20;

/// A refused request, as Alertmanager answers it (a JSON string, 400).
fn bad(message: impl Into<String>) -> ApiError {
    ApiError::alertmanager(ErrorKind::InvalidInput, message)
}

fn service_error(e: ServiceError) -> ApiError {
    ApiError::alertmanager(e.kind(), e.to_string())
}

type AmResult = Result<Response, ApiError>;

/// Path parameters whose rejection (an id that is not UTF-8) is answered
/// as Alertmanager answers errors, not as axum's plain text.
pub struct Path<T>(T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(bad(crate::params::path_problem(&e))),
        }
    }
}

fn handle(st: &AppState) -> Result<Arc<Alertmanager>, ApiError> {
    st.alertmanager.clone().ok_or_else(|| {
        ApiError::alertmanager(
            ErrorKind::Unavailable,
            "alertmanager is not configured: set alertmanager.config_file in homeostat's config",
        )
    })
}

/// Runs engine work that may lock or touch the state store off the async
/// threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::alertmanager(ErrorKind::Internal, format!("task failed: {e}")))
}

/// `POST /api/v2/alerts`: an array of postableAlert. Valid alerts are kept
/// even when others are refused; the 400 names every refused index.
pub async fn post_alerts(State(st): State<AppState>, body: Body) -> AmResult {
    let am = handle(&st)?;
    let bytes = read_body(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| e.family(Family::Alertmanager))?;
    let posted: Vec<wire::PostedAlert> = serde_json::from_slice(&bytes).map_err(|e| {
        am.stats
            .invalid
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bad(format!(
            "body is not a JSON array of alerts (postableAlerts): {e}"
        ))
    })?;
    let mut alerts = Vec::with_capacity(posted.len());
    let mut errors = Vec::new();
    for (i, p) in posted.into_iter().enumerate() {
        match p.into_engine(i) {
            Ok(a) => alerts.push(a),
            Err(e) => errors.push(e),
        }
    }
    match blocking(move || am.post_alerts(alerts)).await? {
        Ok(()) => {}
        Err(PostError::Refused(list)) => errors.extend(list.iter().map(ToString::to_string)),
        Err(e @ PostError::Unavailable(_)) => {
            // Nothing was stored: 503 tells the sender to try again.
            tracing::error!(error = %e, "posting alerts failed");
            return Err(ApiError::alertmanager(
                ErrorKind::Unavailable,
                "the shared alert intake is unavailable; nothing was stored, retry",
            ));
        }
    }
    if errors.is_empty() {
        Ok(StatusCode::OK.into_response())
    } else {
        Err(bad(errors.join("; ")))
    }
}

fn flag(p: &Params, name: &str) -> Result<bool, ApiError> {
    match p.get(name) {
        None | Some("") => Ok(true),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(bad(format!(
            "{name}: {v:?} is not a boolean (true or false)"
        ))),
    }
}

fn filter(p: &Params) -> Result<Matchers, ApiError> {
    let mut out = Matchers::default();
    for f in p.all("filter") {
        let m = Matchers::parse(f).map_err(|e| bad(format!("filter: {e}")))?;
        out.extend(m);
    }
    Ok(out)
}

fn query(raw: Option<String>) -> Result<AlertQuery, ApiError> {
    let p = Params::parse(raw.as_deref(), b"");
    let receiver = match p.get("receiver").filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(
            Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| bad(format!("receiver: invalid regex {r:?}: {e}")))?,
        ),
    };
    Ok(AlertQuery {
        matchers: filter(&p)?,
        active: flag(&p, "active")?,
        silenced: flag(&p, "silenced")?,
        inhibited: flag(&p, "inhibited")?,
        unprocessed: flag(&p, "unprocessed")?,
        receiver,
    })
}

/// `GET /api/v2/alerts` with `filter`, `active`, `silenced`, `inhibited`,
/// `unprocessed` and `receiver`.
pub async fn get_alerts(State(st): State<AppState>, RawQuery(raw): RawQuery) -> AmResult {
    let am = handle(&st)?;
    let q = query(raw)?;
    let body = blocking(move || {
        let views = am.alerts(&q);
        let list: Vec<_> = views.iter().map(wire::gettable_alert).collect();
        serde_json::to_vec(&list)
    })
    .await?;
    json_bytes(body)
}

fn json_bytes(body: Result<Vec<u8>, serde_json::Error>) -> AmResult {
    let body = body.map_err(|e| ApiError::alertmanager(ErrorKind::Internal, e.to_string()))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// `GET /api/v2/alerts/groups`.
pub async fn get_groups(State(st): State<AppState>, RawQuery(raw): RawQuery) -> AmResult {
    let am = handle(&st)?;
    let q = query(raw)?;
    let body = blocking(move || {
        let groups = am.groups(&q);
        let list: Vec<_> = groups.iter().map(wire::alert_group).collect();
        serde_json::to_vec(&list)
    })
    .await?;
    json_bytes(body)
}

/// `GET /api/v2/silences`, with `filter` matchers.
pub async fn get_silences(State(st): State<AppState>, RawQuery(raw): RawQuery) -> AmResult {
    let am = handle(&st)?;
    let f = filter(&Params::parse(raw.as_deref(), b""))?;
    let body = blocking(move || {
        let now = am.now();
        am.silences(&f).map(|list| {
            Value::Array(
                list.iter()
                    .map(|s| wire::gettable_silence(s, now))
                    .collect(),
            )
        })
    })
    .await?
    .map_err(service_error)?;
    Ok(Json(body).into_response())
}

/// `POST /api/v2/silences`: create, or update when the body has an id. The
/// silence's `createdBy` is the authenticated caller; the posted one is
/// kept only as "on behalf of" (amtool fills it with the local user name).
pub async fn post_silence(
    State(st): State<AppState>,
    crate::Caller(caller): crate::Caller,
    body: Body,
) -> AmResult {
    let am = handle(&st)?;
    let bytes = read_body(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| e.family(Family::Alertmanager))?;
    let posted: wire::PostedSilence = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("body is not a postableSilence: {e}")))?;
    let mut silence = posted.into_state(am.now()).map_err(bad)?;
    if caller.method != homeostat_model::AuthMethod::Unauthenticated {
        silence.created_by = caller.actor(Some(&silence.created_by));
    }
    let posted_id = silence.id.clone();
    let mut audited = silence.clone();
    let id = blocking(move || am.put_silence(silence))
        .await?
        .map_err(service_error)?;
    // The toil ledger counts silences made by people (docs/toil.md).
    let updated = !posted_id.is_empty() && posted_id == id;
    audited.id = id.clone();
    let toil = st.toil.clone();
    blocking(move || toil.audit_silence(&audited, updated)).await?;
    Ok(Json(json!({"silenceID": id})).into_response())
}

/// `GET /api/v2/silence/{id}`.
pub async fn get_silence(State(st): State<AppState>, Path(id): Path<String>) -> AmResult {
    let am = handle(&st)?;
    let body = blocking(move || {
        let now = am.now();
        am.silence(&id).map(|s| wire::gettable_silence(&s, now))
    })
    .await?
    .map_err(service_error)?;
    Ok(Json(body).into_response())
}

/// `DELETE /api/v2/silence/{id}`: expires it now.
pub async fn delete_silence(State(st): State<AppState>, Path(id): Path<String>) -> AmResult {
    let am = handle(&st)?;
    blocking(move || am.expire_silence(&id))
        .await?
        .map_err(service_error)?;
    Ok(StatusCode::OK.into_response())
}

/// The Alertmanager release whose API v2 and configuration format homeostat
/// implements and is tested against, reported as `versionInfo.version`.
/// amtool compares this string with its own version and warns on any
/// difference, so reporting homeostat's version made every amtool command
/// print a mismatch warning; homeostat's own version goes in `revision`.
pub const ALERTMANAGER_API_VERSION: &str = "0.25.0";

/// `GET /api/v2/status`: the replicas (`disabled` when alone), the config
/// text, the start time.
pub async fn status(State(st): State<AppState>) -> AmResult {
    let am = handle(&st)?;
    let running = am.running();
    let cluster = super::cluster::alertmanager_cluster(&st).await;
    Ok(Json(json!({
        "cluster": cluster,
        "config": {"original": running.original},
        "uptime": rfc3339(am.started_at()),
        "versionInfo": {
            "version": ALERTMANAGER_API_VERSION,
            "revision": format!(
                "homeostat {} ({})",
                env!("CARGO_PKG_VERSION"),
                option_env!("HOMEOSTAT_REVISION").unwrap_or("unknown revision")
            ),
            "branch": option_env!("HOMEOSTAT_BRANCH").unwrap_or("unknown"),
            "buildUser": "homeostat",
            "buildDate": option_env!("HOMEOSTAT_BUILD_DATE").unwrap_or("unknown"),
            "goVersion": "n/a (homeostat is written in Rust)",
        },
    }))
    .into_response())
}

/// `GET /api/v2/receivers`.
pub async fn receivers(State(st): State<AppState>) -> AmResult {
    let am = handle(&st)?;
    let list: Vec<Value> = am
        .receivers()
        .into_iter()
        .map(|n| json!({"name": n}))
        .collect();
    Ok(Json(Value::Array(list)).into_response())
}
