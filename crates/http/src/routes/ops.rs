use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;

pub async fn healthy() -> &'static str {
    "Homeostat is Healthy.\n"
}

pub async fn ready(State(st): State<AppState>) -> impl IntoResponse {
    if st.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "Homeostat is Ready.\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Homeostat is replaying its WAL; not ready yet.\n",
        )
    }
}

pub async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let text = tokio::task::spawn_blocking(move || st.telemetry.render())
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
