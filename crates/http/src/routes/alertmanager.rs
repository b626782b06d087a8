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
use homeostat_alerting::{AlertQuery, Alertmanager, Matchers, ServiceError};
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use regex::Regex;
use serde_json::{Value, json};

use crate::AppState;
use crate::params::Params;
use crate::routes::read_body;

/// Largest alert or silence post (a 10,000-alert batch fits comfortably).
const MAX_BODY_BYTES: usize = 16 << 20;

/// An error as Alertmanager answers it: the message as a JSON string.
pub struct AmError(StatusCode, String);

impl AmError {
    fn bad(message: impl Into<String>) -> Self {
        AmError(StatusCode::BAD_REQUEST, message.into())
    }
}

impl IntoResponse for AmError {
    fn into_response(self) -> Response {
        if self.0.is_server_error() {
            tracing::error!(error = %self.1, "alertmanager api error");
        }
        (self.0, Json(Value::String(self.1))).into_response()
    }
}

impl From<ServiceError> for AmError {
    fn from(e: ServiceError) -> Self {
        let status = match e.kind() {
            ErrorKind::InvalidInput | ErrorKind::LimitExceeded => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unavailable | ErrorKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "alertmanager state failed");
            "internal error; see the server log".to_string()
        } else {
            e.to_string()
        };
        AmError(status, message)
    }
}

type AmResult = Result<Response, AmError>;

/// Path parameters whose rejection (an id that is not UTF-8) is answered
/// as Alertmanager answers errors, not as axum's plain text.
pub struct Path<T>(T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AmError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AmError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(AmError::bad(crate::params::path_problem(&e))),
        }
    }
}

fn handle(st: &AppState) -> Result<Arc<Alertmanager>, AmError> {
    st.alertmanager.clone().ok_or_else(|| {
        AmError(
            StatusCode::SERVICE_UNAVAILABLE,
            "alertmanager is not configured: set alertmanager.config_file in homeostat's config"
                .into(),
        )
    })
}

/// Runs engine work that may lock or touch the state store off the async
/// threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AmError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        AmError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("task failed: {e}"),
        )
    })
}

/// `POST /api/v2/alerts`: an array of postableAlert. Valid alerts are kept
/// even when others are refused; the 400 names every refused index.
pub async fn post_alerts(State(st): State<AppState>, body: Body) -> AmResult {
    let am = handle(&st)?;
    let bytes = read_body(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| AmError(StatusCode::PAYLOAD_TOO_LARGE, e.message))?;
    let posted: Vec<wire::PostedAlert> = serde_json::from_slice(&bytes).map_err(|e| {
        am.stats
            .invalid
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        AmError::bad(format!(
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
    let refused = blocking(move || am.post_alerts(alerts)).await?;
    if let Err(list) = refused {
        errors.extend(list.iter().map(ToString::to_string));
    }
    if errors.is_empty() {
        Ok(StatusCode::OK.into_response())
    } else {
        Err(AmError::bad(errors.join("; ")))
    }
}

fn flag(p: &Params, name: &str) -> Result<bool, AmError> {
    match p.get(name) {
        None | Some("") => Ok(true),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(AmError::bad(format!(
            "{name}: {v:?} is not a boolean (true or false)"
        ))),
    }
}

fn filter(p: &Params) -> Result<Matchers, AmError> {
    let mut out = Matchers::default();
    for f in p.all("filter") {
        let m = Matchers::parse(f).map_err(|e| AmError::bad(format!("filter: {e}")))?;
        out.extend(m);
    }
    Ok(out)
}

fn query(raw: Option<String>) -> Result<AlertQuery, AmError> {
    let p = Params::parse(raw.as_deref(), b"");
    let receiver = match p.get("receiver").filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(
            Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| AmError::bad(format!("receiver: invalid regex {r:?}: {e}")))?,
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
    let body = body.map_err(|e| AmError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
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
    .await??;
    Ok(Json(body).into_response())
}

/// `POST /api/v2/silences`: create, or update when the body has an id.
pub async fn post_silence(State(st): State<AppState>, body: Body) -> AmResult {
    let am = handle(&st)?;
    let bytes = read_body(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| AmError(StatusCode::PAYLOAD_TOO_LARGE, e.message))?;
    let posted: wire::PostedSilence = serde_json::from_slice(&bytes)
        .map_err(|e| AmError::bad(format!("body is not a postableSilence: {e}")))?;
    let silence = posted.into_state(am.now()).map_err(AmError::bad)?;
    let id = blocking(move || am.put_silence(silence)).await??;
    Ok(Json(json!({"silenceID": id})).into_response())
}

/// `GET /api/v2/silence/{id}`.
pub async fn get_silence(State(st): State<AppState>, Path(id): Path<String>) -> AmResult {
    let am = handle(&st)?;
    let body = blocking(move || {
        let now = am.now();
        am.silence(&id).map(|s| wire::gettable_silence(&s, now))
    })
    .await??;
    Ok(Json(body).into_response())
}

/// `DELETE /api/v2/silence/{id}`: expires it now.
pub async fn delete_silence(State(st): State<AppState>, Path(id): Path<String>) -> AmResult {
    let am = handle(&st)?;
    blocking(move || am.expire_silence(&id)).await??;
    Ok(StatusCode::OK.into_response())
}

/// `GET /api/v2/status`: no cluster, the config text, the start time.
pub async fn status(State(st): State<AppState>) -> AmResult {
    let am = handle(&st)?;
    let running = am.running();
    Ok(Json(json!({
        "cluster": {"status": "disabled", "peers": []},
        "config": {"original": running.original},
        "uptime": rfc3339(am.started_at()),
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("HOMEOSTAT_REVISION").unwrap_or("unknown"),
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
