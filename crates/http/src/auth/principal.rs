//! Turning a request's credentials into a [`Principal`], in the order the
//! module docs of `auth` give. A credential that is presented but wrong is
//! an error (401), never a fall-through to a weaker source.

use axum::http::{HeaderMap, Method, header};
use homeostat_auth::Peer;
use homeostat_auth::session::{CSRF_HEADER, SESSION_COOKIE};
use homeostat_model::{AuthMethod, ErrorKind, Principal, Scopes};

use super::Auth;
use crate::ApiError;

/// A credential found in a request, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Bearer(String),
    Basic { user: String, password: String },
    Session(String),
}

fn unauthenticated(msg: &str) -> ApiError {
    ApiError::new(ErrorKind::Unauthenticated, msg)
}

/// The `name` cookie's value.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The credential the request presents, by precedence: the Authorization
/// header, then the session cookie.
fn credential(headers: &HeaderMap) -> Result<Option<Credential>, ApiError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| unauthenticated("the Authorization header is not ASCII"))?;
        let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v.trim(), ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Ok(Some(Credential::Bearer(rest.trim().to_string())));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let (user, password) = homeostat_auth::parse_basic(v).ok_or_else(|| {
                unauthenticated("the Authorization: Basic header is not base64 of user:password")
            })?;
            return Ok(Some(Credential::Basic { user, password }));
        }
        return Err(unauthenticated(
            "unsupported Authorization scheme (use Basic or Bearer)",
        ));
    }
    Ok(cookie(headers, SESSION_COOKIE).map(|c| Credential::Session(c.to_string())))
}

/// Who sent a request, or `None` when it carries no identity at all. Takes
/// the request's parts, not the request: its body is not `Sync`, and this
/// future must be `Send`.
pub(crate) async fn identify(
    auth: &Auth,
    method: &Method,
    headers: &HeaderMap,
    peer: &Peer,
) -> Result<Option<Principal>, ApiError> {
    match credential(headers)? {
        Some(Credential::Bearer(token)) => bearer(auth, token).await.map(Some),
        Some(Credential::Basic { user, password }) => basic(auth, user, password).await.map(Some),
        Some(Credential::Session(value)) => session(auth, method, headers, &value).map(Some),
        None => Ok(certificate_or_proxy(auth, headers, peer)),
    }
}

async fn bearer(auth: &Auth, token: String) -> Result<Principal, ApiError> {
    let Some(tokens) = auth.settings.tokens.clone() else {
        return Err(unauthenticated("API tokens are not enabled on this server"));
    };
    let now = auth.now_ms();
    let found = tokio::task::spawn_blocking(move || tokens.principal(&token, now))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("token lookup panicked: {e}")))?;
    match found {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(unauthenticated(
            "the bearer token is unknown, revoked or expired",
        )),
        Err(e) => Err(ApiError::new(
            e.kind(),
            format!("checking the bearer token: {e}"),
        )),
    }
}

async fn basic(auth: &Auth, user: String, password: String) -> Result<Principal, ApiError> {
    if check_password(auth, &user, &password).await {
        Ok(Principal {
            scopes: auth.scopes_of(&user, Scopes::all()),
            name: user,
            method: AuthMethod::Basic,
        })
    } else {
        tracing::info!(user = %user, "basic authentication failed");
        Err(unauthenticated("wrong user name or password"))
    }
}

/// Checks a password against the current web config, off the async threads
/// (bcrypt takes tens of milliseconds on a cache miss).
pub(crate) async fn check_password(auth: &Auth, user: &str, password: &str) -> bool {
    let users = auth.settings.web.borrow().basic_auth_users.clone();
    let cache = auth.basic.clone();
    let (user, password) = (user.to_string(), password.to_string());
    tokio::task::spawn_blocking(move || cache.check(&users, &user, &password))
        .await
        .unwrap_or(false)
}

fn session(
    auth: &Auth,
    method: &Method,
    headers: &HeaderMap,
    value: &str,
) -> Result<Principal, ApiError> {
    let key = &auth.settings.session_key;
    let s = key
        .verify(value, auth.now_ms())
        .map_err(|e| unauthenticated(&e.to_string()))?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let token_ok = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| key.check_csrf(value, t));
        if !token_ok && !same_origin(headers) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                "a request signed in by the session cookie must carry its X-CSRF-Token header or come from this server's own origin",
            ));
        }
    }
    Ok(s.principal())
}

/// Whether the Origin header names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(o), Some(h)) => {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            rest.is_some_and(|r| r.eq_ignore_ascii_case(h))
        }
        _ => false,
    }
}

fn certificate_or_proxy(auth: &Auth, headers: &HeaderMap, peer: &Peer) -> Option<Principal> {
    if let Some(name) = peer.client_cert_name.clone().filter(|n| !n.is_empty()) {
        return Some(Principal {
            scopes: auth.scopes_of(&name, Scopes::all()),
            name,
            method: AuthMethod::ClientCert,
        });
    }
    let proxy = auth.settings.proxy.as_ref()?;
    let user = headers
        .get(proxy.user_header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|u| !u.is_empty())?;
    match peer.addr {
        Some(addr) if proxy.trusted.trusts(addr.ip()) => Some(Principal {
            scopes: auth.scopes_of(user, proxy.scopes),
            name: user.to_string(),
            method: AuthMethod::Proxy,
        }),
        _ => {
            tracing::warn!(
                peer = ?peer.addr,
                header = %proxy.user_header,
                "identity header from an untrusted peer ignored"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; homeostat_session=v1.x; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("v1.x"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn the_authorization_header_wins_over_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("homeostat_session=x"),
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(
            credential(&h).unwrap(),
            Some(Credential::Bearer("abc".into()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Digest x"));
        assert!(credential(&h).is_err());
        h.remove(header::AUTHORIZATION);
        assert_eq!(
            credential(&h).unwrap(),
            Some(Credential::Session("x".into()))
        );
    }

    #[test]
    fn same_origin_compares_origin_with_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("localhost:9090"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:9090"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8000"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
