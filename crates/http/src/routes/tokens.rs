//! API tokens over HTTP (`/api/v1/tokens`, `admin` scope): create (the
//! answer holds the secret, once), list (never a secret), revoke by name.
//! The work is done by [`homeostat_app::TokenService`].

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use homeostat_app::{NewToken, TokenError, TokenInfo};
use homeostat_model::{ErrorKind, Scopes};
use serde::Deserialize;
use serde_json::Value;

use crate::params::Path;
use crate::routes::release::{json_body, ok};
use crate::{ApiError, AppState, Caller};

const MAX_BODY: usize = 16 << 10;

fn token_error(e: TokenError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

/// Token work reads and writes the state store: off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TokenError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("token task failed: {e}")))?
        .map_err(token_error)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    /// `["read","write"]` or `"read,write"`.
    scopes: ScopeList,
    /// A Prometheus duration (`30d`) from now; none: until revoked.
    expires: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    One(String),
    Many(Vec<String>),
}

impl ScopeList {
    fn parse(&self) -> Result<Scopes, ApiError> {
        let joined = match self {
            ScopeList::One(s) => s.clone(),
            ScopeList::Many(v) => v.join(","),
        };
        Scopes::parse_list(&joined).map_err(|e| ApiError::bad_data(format!("scopes: {e}")))
    }
}

/// `POST /api/v1/tokens` `{name, scopes, expires?}`: 201 with the token,
/// which is shown this once and stored only as its hash.
pub async fn create(
    State(st): State<AppState>,
    Caller(caller): Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: CreateBody = json_body(body, MAX_BODY).await?;
    let expires_in_ms = match &b.expires {
        Some(d) => Some(
            homeostat_model::parse_duration(d)
                .map_err(|e| ApiError::bad_data(format!("expires: {e}")))?
                .as_millis()
                .try_into()
                .unwrap_or(i64::MAX),
        ),
        None => None,
    };
    let req = NewToken {
        name: b.name,
        scopes: b.scopes.parse()?,
        expires_in_ms,
    };
    let svc = st.tokens.clone();
    let created = blocking(move || svc.create(&req, &caller)).await?;
    let mut data = created.info.to_json();
    data["token"] = Value::String(created.token);
    Ok((StatusCode::CREATED, ok(data)))
}

/// `GET /api/v1/tokens`: every token by name, revoked ones included; no
/// secrets.
pub async fn list(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let svc = st.tokens.clone();
    let list = blocking(move || svc.list()).await?;
    Ok(ok(Value::Array(
        list.iter().map(TokenInfo::to_json).collect(),
    )))
}

/// `DELETE /api/v1/tokens/{name}`: the token stops working at once.
pub async fn revoke(
    State(st): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let svc = st.tokens.clone();
    let revoked = blocking(move || svc.revoke(&name, &caller)).await?;
    Ok(ok(revoked.to_json()))
}
