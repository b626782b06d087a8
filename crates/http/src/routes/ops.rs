use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::go_rfc3339_nano_millis;

use crate::{ApiError, AppState};

pub async fn healthy() -> &'static str {
    "Homeostat is Healthy.\n"
}

/// `GET /favicon.ico`: browsers ask for it on a console page's first visit;
/// an empty answer keeps a 404 out of the page's error console.
pub async fn favicon() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "public, max-age=86400")],
    )
}

/// `GET /-/ready`: 503 while the WAL replays, and while the store refuses
/// writes (a full disk, a failed fsync) with the reason, so a load balancer
/// or Prometheus' remote-write sender sees why samples are not taken.
pub async fn ready(State(st): State<AppState>) -> Response {
    if !st.ops.ready.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Homeostat is replaying its WAL; not ready yet.\n",
        )
            .into_response();
    }
    match st.query.storage.writable() {
        Ok(()) => (StatusCode::OK, "Homeostat is Ready.\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Homeostat is not ready: {e}\n"),
        )
            .into_response(),
    }
}

pub async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let text = tokio::task::spawn_blocking(move || st.ops.telemetry.render())
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

pub async fn buildinfo() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "success",
        "data": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "n/a (homeostat is written in Rust)",
        }
    }))
}

/// `GET /api/v1/metadata`: homeostat keeps no metric metadata (HELP/TYPE)
/// yet, so the map is empty.
pub async fn metadata() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "success", "data": {}}))
}

/// `GET /api/v1/status/runtimeinfo` with Prometheus's field names. The Go
/// runtime fields are answered with what they mean here: the parallelism
/// tokio sees, no memory limit, no GC settings.
pub async fn runtimeinfo(State(st): State<AppState>) -> Json<serde_json::Value> {
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let procs = std::thread::available_parallelism().map_or(1, |n| n.get());
    Json(serde_json::json!({
        "status": "success",
        "data": {
            "startTime": go_rfc3339_nano_millis(st.ops.runtime.start_time),
            "CWD": cwd,
            "hostname": hostname,
            "serverTime": go_rfc3339_nano_millis(st.clock.now_millis()),
            "reloadConfigSuccess": st.ops.reload.status.last_successful(),
            "lastConfigTime": go_rfc3339_nano_millis(st.ops.reload.status.last_success_at()),
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": procs,
            // Go's "no limit" value (math.MaxInt64).
            "GOMEMLIMIT": i64::MAX,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": st.ops.runtime.storage_retention,
            // homeostat's own: which state backend, its password masked.
            "stateBackend": st.ops.runtime.state_backend,
            "storageMode": if st.ops.runtime.storage_mode.is_empty() { "embedded" } else { st.ops.runtime.storage_mode.as_str() },
            "remoteWriteURL": st.ops.runtime.remote_write_url,
        }
    }))
}

/// `POST /-/reload`: re-reads the config file and applies it; on any error
/// the running config stays and the answer is 500 with the reason, as
/// Prometheus's lifecycle endpoint does.
pub async fn reload(State(st): State<AppState>) -> (StatusCode, String) {
    match st.ops.reload.reload().await {
        Ok(summary) => (StatusCode::OK, format!("{summary}\n")),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        ),
    }
}

/// No route matches: a 404 in the error shape of the API the path is
/// under, so that API clients read why.
pub async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/v2/") {
        let msg = format!("no route for {path}");
        (StatusCode::NOT_FOUND, Json(serde_json::Value::String(msg))).into_response()
    } else if path.starts_with("/api/") {
        ApiError::new(
            ErrorKind::NotFound,
            format!("no route for {path}; every route is in GET /api/openapi.json"),
        )
        .into_response()
    } else {
        (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
    }
}
