//! Toxiproxy's HTTP API (2.x paths, JSON shapes, statuses and error texts)
//! over a [`FaultProxy`], for its own listener.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::FaultProxyError;
use crate::handle::FaultProxy;
use crate::proxy::{ProxyInput, ProxySpec, default_listen};
use crate::toxic::{NewToxic, ToxicPatch};

/// The Toxiproxy version reported by `GET /version`; clients compare it.
pub const TOXIPROXY_VERSION: &str = "2.9.0";

pub fn router(proxy: FaultProxy) -> Router {
    Router::new()
        .route("/reset", post(reset))
        .route("/version", get(version))
        .route("/proxies", get(proxy_index).post(proxy_create))
        .route("/populate", post(populate))
        .route(
            "/proxies/{proxy}",
            get(proxy_show)
                .post(proxy_update)
                .patch(proxy_update)
                .delete(proxy_delete),
        )
        .route(
            "/proxies/{proxy}/toxics",
            get(toxic_index).post(toxic_create),
        )
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(toxic_show)
                .post(toxic_update)
                .patch(toxic_update)
                .delete(toxic_delete),
        )
        .layer(middleware::from_fn(stop_browsers))
        .with_state(proxy)
}

/// The API has no authentication; like Toxiproxy, refuse browsers so a web
/// page cannot drive it through the user's loopback (CSRF, DNS rebinding).
async fn stop_browsers(req: Request, next: Next) -> Response {
    let browser = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("Mozilla/"));
    if browser {
        return (StatusCode::FORBIDDEN, "User agent not allowed\n").into_response();
    }
    next.run(req).await
}

struct ApiError(FaultProxyError);

impl From<FaultProxyError> for ApiError {
    fn from(e: FaultProxyError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = serde_json::json!({"error": self.0.to_string(), "status": status});
        json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &body,
        )
    }
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut text = serde_json::to_string(body).unwrap_or_else(|_| "null".into());
    text.push('\n');
    let mut resp = (status, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

type ApiResult = Result<Response, ApiError>;

/// Parses a request body as Toxiproxy does, errors worded `bad request body: …`.
fn parse<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, FaultProxyError> {
    // Toxiproxy treats an empty body on update as "no change" (io.EOF aside).
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(FaultProxyError::BadRequestBody("EOF".into()));
    }
    serde_json::from_slice(body).map_err(|e| FaultProxyError::BadRequestBody(e.to_string()))
}

fn spec_of(input: ProxyInput, at: &str) -> Result<ProxySpec, FaultProxyError> {
    let name = input.name.unwrap_or_default();
    if name.is_empty() {
        return Err(FaultProxyError::MissingField(format!("name{at}")));
    }
    let upstream = input.upstream.unwrap_or_default();
    if upstream.is_empty() {
        return Err(FaultProxyError::MissingField(format!("upstream{at}")));
    }
    Ok(ProxySpec {
        name,
        listen: input
            .listen
            .filter(|l| !l.is_empty())
            .unwrap_or_else(default_listen),
        upstream,
        enabled: input.enabled.unwrap_or(true),
    })
}

async fn version() -> Response {
    let body = format!("{{\"version\": \"{TOXIPROXY_VERSION}\"}}\n");
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    resp
}

async fn reset(State(p): State<FaultProxy>) -> ApiResult {
    p.reset().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn proxy_index(State(p): State<FaultProxy>) -> ApiResult {
    let map: serde_json::Map<String, serde_json::Value> = p
        .list()
        .into_iter()
        .map(|v| (v.name.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect();
    Ok(json_response(StatusCode::OK, &map))
}

async fn proxy_create(State(p): State<FaultProxy>, body: Bytes) -> ApiResult {
    let input: ProxyInput = parse(&body)?;
    let view = p.create(spec_of(input, "")?).await?;
    Ok(json_response(StatusCode::CREATED, &view))
}

async fn populate(State(p): State<FaultProxy>, body: Bytes) -> ApiResult {
    let inputs: Vec<ProxyInput> = parse(&body)?;
    let specs = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| spec_of(input, &format!(" at proxy {}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let proxies = p.populate(specs).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::json!({ "proxies": proxies }),
    ))
}

async fn proxy_show(State(p): State<FaultProxy>, Path(name): Path<String>) -> ApiResult {
    Ok(json_response(StatusCode::OK, &p.get(&name)?))
}

async fn proxy_update(
    State(p): State<FaultProxy>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    // Toxiproxy answers an unknown proxy before looking at the body.
    p.get(&name)?;
    let patch = parse(&body)?;
    Ok(json_response(
        StatusCode::OK,
        &p.update(&name, patch).await?,
    ))
}

async fn proxy_delete(State(p): State<FaultProxy>, Path(name): Path<String>) -> ApiResult {
    p.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn toxic_index(State(p): State<FaultProxy>, Path(name): Path<String>) -> ApiResult {
    Ok(json_response(StatusCode::OK, &p.toxics(&name)?))
}

async fn toxic_create(
    State(p): State<FaultProxy>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    p.get(&name)?;
    let new: NewToxic = parse(&body)?;
    // Toxiproxy answers 200 here, not 201.
    Ok(json_response(
        StatusCode::OK,
        &p.add_toxic(&name, new).await?,
    ))
}

async fn toxic_show(
    State(p): State<FaultProxy>,
    Path((name, toxic)): Path<(String, String)>,
) -> ApiResult {
    Ok(json_response(StatusCode::OK, &p.toxic(&name, &toxic)?))
}

async fn toxic_update(
    State(p): State<FaultProxy>,
    Path((name, toxic)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    p.toxic(&name, &toxic)?;
    let patch: ToxicPatch = parse(&body)?;
    Ok(json_response(
        StatusCode::OK,
        &p.update_toxic(&name, &toxic, patch).await?,
    ))
}

async fn toxic_delete(
    State(p): State<FaultProxy>,
    Path((name, toxic)): Path<(String, String)>,
) -> ApiResult {
    p.remove_toxic(&name, &toxic).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    proxy: FaultProxy,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(proxy))
        .with_graceful_shutdown(shutdown)
        .await
}
