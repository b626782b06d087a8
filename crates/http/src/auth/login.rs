//! The console's sign-in: `GET /login` (the form), `POST /login` (checks
//! the web config's basic-auth users, sets the session and CSRF cookies)
//! and `POST /logout`. Failed attempts are logged without the password and
//! slowed down per user and client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use homeostat_auth::Session;
use homeostat_auth::session::{CSRF_COOKIE, SESSION_COOKIE};
use homeostat_model::Scopes;
use parking_lot::Mutex;

use super::{Auth, peer, principal};
use crate::params::Params;
use crate::routes::read_body;

/// Largest sign-in form accepted.
const MAX_FORM_BYTES: usize = 16 << 10;
/// Failures of one user from one address before sign-in slows down.
const FREE_FAILURES: u32 = 5;
/// The longest wait imposed after repeated failures.
const MAX_WAIT_MS: i64 = 300_000;
/// Remembered (user, address) pairs; forgotten all at once above this.
const MAX_TRACKED: usize = 10_000;

/// Who tried to sign in: the user name and the client's address.
type Attempt = (String, Option<IpAddr>);

/// Failed sign-ins per user and client address: (count, last failure ms).
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failures: Mutex<HashMap<Attempt, (u32, i64)>>,
}

impl Backoff {
    /// How long (ms) `key` must still wait before its next attempt.
    fn wait_ms(&self, key: &Attempt, now_ms: i64) -> i64 {
        match self.failures.lock().get(key) {
            Some(&(n, last)) if n >= FREE_FAILURES => {
                let wait = (1000i64 << (n - FREE_FAILURES).min(20)).min(MAX_WAIT_MS);
                (last + wait - now_ms).max(0)
            }
            _ => 0,
        }
    }

    fn failed(&self, key: Attempt, now_ms: i64) {
        let mut f = self.failures.lock();
        if f.len() >= MAX_TRACKED {
            f.clear();
        }
        let e = f.entry(key).or_insert((0, now_ms));
        e.0 += 1;
        e.1 = now_ms;
    }

    fn succeeded(&self, key: &Attempt) {
        self.failures.lock().remove(key);
    }
}

/// `next` when it is a path on this server, else `/`: never another host
/// (`//evil.example`, `/\evil.example`) or a scheme.
pub(crate) fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control()) =>
        {
            n
        }
        _ => "/",
    }
}

fn page_response(status: StatusCode, next: &str, message: Option<&str>) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(homeostat_ui::login::render(next, message)),
    )
        .into_response()
}

/// `GET /login`: the sign-in form.
pub async fn page(RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref(), b"");
    page_response(StatusCode::OK, safe_next(p.get("next")), None)
}

/// `POST /login`: checks the form's user and password; on success sets the
/// session and CSRF cookies and sends the browser on to `next`.
pub async fn sign_in(Extension(auth): Extension<Arc<Auth>>, req: Request) -> Response {
    let peer = peer(&req);
    let body = match read_body(req.into_body(), MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let form = Params::parse(None, &body);
    let next = safe_next(form.get("next")).to_string();
    let user = form.get("user").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("");
    if auth.settings.web.borrow().basic_auth_users.is_empty() {
        return page_response(
            StatusCode::NOT_FOUND,
            &next,
            Some("sign-in is off: the web config file (--web.config.file) has no basic_auth_users"),
        );
    }
    let key = (user.clone(), peer.addr.map(|a| a.ip()));
    let now = auth.now_ms();
    let wait = auth.logins.wait_ms(&key, now);
    if wait > 0 {
        tracing::warn!(user = %user, peer = ?peer.addr, "console sign-in refused: too many failures");
        let msg = format!(
            "too many failed sign-ins; try again in {} s",
            (wait + 999) / 1000
        );
        return page_response(StatusCode::TOO_MANY_REQUESTS, &next, Some(&msg));
    }
    if user.is_empty() || !principal::check_password(&auth, &user, password).await {
        auth.logins.failed(key, now);
        tracing::warn!(user = %user, peer = ?peer.addr, "console sign-in failed");
        return page_response(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("wrong user name or password"),
        );
    }
    auth.logins.succeeded(&key);
    let ttl = auth.settings.session_ttl_ms;
    let session = Session {
        scopes: auth.scopes_of(&user, Scopes::all()),
        name: user.clone(),
        expires_ms: now + ttl,
        nonce: rand::random(),
    };
    let value = auth.settings.session_key.sign(&session);
    let csrf = auth.settings.session_key.csrf_token(&value);
    tracing::info!(user = %user, peer = ?peer.addr, "console sign-in");
    let secure = if peer.tls { "; Secure" } else { "" };
    let max_age = ttl / 1000;
    let cookies = [
        format!(
            "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
        ),
        // Readable by the console's scripts, which send it back as X-CSRF-Token.
        format!("{CSRF_COOKIE}={csrf}; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"),
    ];
    redirect_with_cookies(&next, &cookies)
}

/// `POST /logout`: forgets the session in the browser.
pub async fn sign_out() -> Response {
    let cookies = [
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        format!("{CSRF_COOKIE}=; SameSite=Strict; Path=/; Max-Age=0"),
    ];
    redirect_with_cookies("/login", &cookies)
}

fn redirect_with_cookies(location: &str, cookies: &[String]) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(
            safe_next(Some("/console/alerts?x=1")),
            "/console/alerts?x=1"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn repeated_failures_slow_down_and_success_resets() {
        let b = Backoff::default();
        let k = ("alice".to_string(), None);
        for _ in 0..FREE_FAILURES {
            assert_eq!(b.wait_ms(&k, 0), 0);
            b.failed(k.clone(), 0);
        }
        assert_eq!(b.wait_ms(&k, 0), 1000);
        assert_eq!(b.wait_ms(&k, 1000), 0);
        b.failed(k.clone(), 1000);
        assert_eq!(b.wait_ms(&k, 1000), 2000);
        b.succeeded(&k);
        assert_eq!(b.wait_ms(&k, 1000), 0);
    }
}
