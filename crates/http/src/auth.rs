//! Authentication and authorization at the edge: every request becomes a
//! [`Principal`] (or none), and the route table's rule for the matched route
//! decides whether it may proceed. Credentials are tried in a fixed order:
//! `Authorization: Bearer` (API tokens), `Authorization: Basic` (the web
//! config's users), the console's session cookie, a verified client
//! certificate, and a trusted proxy's identity header.

pub(crate) mod login;
mod principal;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use homeostat_auth::{BasicAuthCache, Peer, SessionKey, TokenLookup, TrustedProxies, WebConfig};
use homeostat_model::{AuthMethod, Clock, ErrorKind, Principal, Scopes};
use tokio::sync::watch;

use crate::ApiError;
use crate::error::Family;
use crate::route_table::{Access, RuleMap};

pub use principal::Credential;

/// A trusted authenticating proxy's identity headers.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// Peers whose identity headers are believed.
    pub trusted: TrustedProxies,
    /// The header naming the user (oauth2-proxy's `X-Forwarded-Email`).
    pub user_header: String,
    /// Scopes of a proxy-authenticated user without an entry in `users`.
    pub scopes: Scopes,
}

/// Whether requests must authenticate (`auth.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// On while the web config has `basic_auth_users` or requires client
    /// certificates, or a trusted proxy is configured; off otherwise.
    #[default]
    Auto,
    /// Always on: a request without valid credentials is refused.
    Required,
    /// Off on purpose (`auth: {mode: none}`): every caller is anonymous
    /// with every scope, whatever the web config says.
    Off,
}

/// How the server authenticates; built by the server from the `auth:`
/// config section and the web config file.
#[derive(Clone)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// The web config as last (re)loaded: basic-auth users live here.
    pub web: watch::Receiver<Arc<WebConfig>>,
    /// API tokens; `None` until the token service is wired.
    pub tokens: Option<Arc<dyn TokenLookup>>,
    /// Scopes per user name (basic auth, sessions, certificates, proxy);
    /// a basic-auth user or certificate without an entry holds every scope.
    pub users: BTreeMap<String, Scopes>,
    pub proxy: Option<ProxySettings>,
    pub session_key: SessionKey,
    /// How long a console session lasts.
    pub session_ttl_ms: i64,
    pub clock: Arc<dyn Clock>,
}

impl AuthSettings {
    /// [`AuthMode::Auto`] without proxy, tokens or per-user scopes: every
    /// request is [`Principal::anonymous`] until `web` holds users.
    pub fn new(web: watch::Receiver<Arc<WebConfig>>, clock: Arc<dyn Clock>) -> Self {
        Self {
            mode: AuthMode::Auto,
            web,
            tokens: None,
            users: BTreeMap::new(),
            proxy: None,
            session_key: SessionKey::generate(),
            session_ttl_ms: 12 * 3600 * 1000,
            clock,
        }
    }
}

/// What the middleware and the sign-in handlers share.
pub(crate) struct Auth {
    pub(crate) settings: AuthSettings,
    pub(crate) basic: Arc<BasicAuthCache>,
    pub(crate) logins: login::Backoff,
    rules: RuleMap,
}

impl Auth {
    pub(crate) fn new(settings: AuthSettings, rules: RuleMap) -> Arc<Self> {
        Arc::new(Self {
            settings,
            basic: Arc::new(BasicAuthCache::new()),
            logins: login::Backoff::default(),
            rules,
        })
    }

    /// Whether requests must authenticate now (the web config may have been reloaded).
    pub(crate) fn enabled(&self) -> bool {
        match self.settings.mode {
            AuthMode::Off => false,
            AuthMode::Required => true,
            AuthMode::Auto => {
                self.settings.proxy.is_some() || self.settings.web.borrow().authenticates()
            }
        }
    }

    fn has_basic_users(&self) -> bool {
        !self.settings.web.borrow().basic_auth_users.is_empty()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.settings.clock.now_millis()
    }

    /// Scopes of a user authenticated by name (basic, session, certificate).
    pub(crate) fn scopes_of(&self, name: &str, default: Scopes) -> Scopes {
        self.settings.users.get(name).copied().unwrap_or(default)
    }
}

/// The middleware: authenticates, then applies the matched route's rule.
pub(crate) async fn authenticate(
    State(auth): State<Arc<Auth>>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(auth.clone());
    if !auth.enabled() {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let method = match req.method() {
        &Method::HEAD => Method::GET,
        m => m.clone(),
    };
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    // No rule: a path no route serves (the 404 fallback) or a method the
    // path does not take (405). Both reveal only that the route exists,
    // which the public OpenAPI document does too, but only to callers
    // that authenticate.
    let access = matched
        .as_ref()
        .and_then(|m| auth.rules.get(&(method.clone(), m.clone())).copied());
    let from = peer(&req);
    // A principal already in the extensions was put there by the server
    // itself (the self-scrape listener); nothing a client sends becomes one.
    let preset = req
        .extensions()
        .get::<Principal>()
        .filter(|p| p.method == AuthMethod::System)
        .cloned();
    let found = match preset {
        Some(p) => Ok(Some(p)),
        None => principal::identify(&auth, req.method(), req.headers(), &from).await,
    };
    // A signed ack/resolve link is its own credential: the handler checks
    // its signature, expiry and single use.
    let access = match access {
        Some(Access::ScopeOrLink(_)) if has_link_token(req.uri()) => Some(Access::Public),
        a => a,
    };
    let principal = match found {
        Ok(p) => p,
        Err(e) if access == Some(Access::Public) => {
            tracing::debug!(path = %path, error = %e.message, "credentials ignored on a public route");
            None
        }
        Err(e) => return deny(&auth, &path, e),
    };
    match (access, principal) {
        (Some(Access::Public), p) => {
            req.extensions_mut().insert(p.unwrap_or_else(nobody));
            next.run(req).await
        }
        (Some(Access::Page), None) => to_login(&req),
        (_, None) => deny(
            &auth,
            &path,
            ApiError::new(
                ErrorKind::Unauthenticated,
                "authentication required: sign in, or send basic-auth credentials or an API token",
            ),
        ),
        (Some(rule), Some(p)) => match rule.scope() {
            Some(s) if !p.can(s) => deny(
                &auth,
                &path,
                ApiError::new(
                    ErrorKind::Forbidden,
                    format!(
                        "this needs the {:?} scope; {} has {}",
                        s.as_str(),
                        p.name,
                        if p.scopes.is_empty() {
                            "no scopes".to_string()
                        } else {
                            p.scopes.to_string()
                        }
                    ),
                ),
            ),
            _ => {
                req.extensions_mut().insert(p);
                next.run(req).await
            }
        },
        (None, Some(p)) => {
            // Unknown route for an authenticated caller: the 404/405 answers.
            req.extensions_mut().insert(p);
            next.run(req).await
        }
    }
}

/// The principal of an unauthenticated caller on a public route: no scopes,
/// so a handler that asks the principal for a scope gets no.
fn nobody() -> Principal {
    Principal {
        scopes: Scopes::NONE,
        ..Principal::anonymous()
    }
}

/// A refusal in the envelope of the route's API family; a 401 says which
/// credentials would do.
fn deny(auth: &Auth, path: &str, e: ApiError) -> Response {
    let kind = e.kind;
    let family = if path.starts_with("/api/v2/") {
        Family::Alertmanager
    } else if path == "/api/v1/write" || path == "/v1/metrics" {
        Family::Ingest
    } else {
        Family::Prometheus
    };
    let mut resp = e.family(family).into_response();
    if kind == ErrorKind::Unauthenticated {
        // One challenge per scheme the server would accept; Basic first, so
        // clients that read only the first (curl, browsers) offer it.
        let h = resp.headers_mut();
        let basic = auth.has_basic_users();
        if basic {
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"homeostat\", charset=\"UTF-8\""),
            );
        }
        if auth.settings.tokens.is_some() || !basic {
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"homeostat\""),
            );
        }
    }
    resp
}

/// A console page without a session: to the sign-in page, then back.
fn to_login(req: &Request) -> Response {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
    let location = format!("/login?next={next}");
    match HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static("/login"))],
        )
            .into_response(),
    }
}

/// The peer the listener recorded, or an in-process one.
pub(crate) fn peer(req: &Request) -> Peer {
    req.extensions().get::<Peer>().cloned().unwrap_or_default()
}

/// Whether the query carries a signed link's `token=`.
fn has_link_token(uri: &axum::http::Uri) -> bool {
    uri.query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("token=")))
}
