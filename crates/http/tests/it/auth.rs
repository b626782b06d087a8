//! Authentication and the route table: with users configured every route
//! outside the public ones refuses anonymous callers, the scope a rule
//! names is enforced, and each credential source yields its principal.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::http::header;
use homeostat_auth::{AuthError, Peer, SessionKey, TokenLookup, TrustedProxies, WebConfig};
use homeostat_http::{Access, AuthSettings, ProxySettings, access_rules, router_with_auth};
use homeostat_model::{AuthMethod, Principal, Scopes, SystemClock};

use super::*;

const PASSWORD: &str = "correct horse";

/// One bcrypt hash for every test (cost 4: tests, not production).
fn hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| bcrypt::hash(PASSWORD, 4).unwrap())
}

/// Accepts the token `good-token` as `ci` with `write` only.
struct Tokens;

impl TokenLookup for Tokens {
    fn principal(&self, token: &str, _now_ms: i64) -> Result<Option<Principal>, AuthError> {
        Ok((token == "good-token").then(|| Principal {
            name: "ci".into(),
            method: AuthMethod::Token,
            scopes: Scopes::parse_list("write").unwrap(),
        }))
    }
}

fn settings() -> AuthSettings {
    let web = WebConfig {
        basic_auth_users: BTreeMap::from([
            ("alice".to_string(), hash().to_string()),
            ("viewer".to_string(), hash().to_string()),
        ]),
        ..WebConfig::default()
    };
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(web));
    // Kept alive for the test process: the receiver must not see a closed channel.
    std::mem::forget(tx);
    let mut s = AuthSettings::new(rx, Arc::new(SystemClock));
    s.tokens = Some(Arc::new(Tokens));
    s.users
        .insert("viewer".into(), Scopes::parse_list("read").unwrap());
    s.proxy = Some(ProxySettings {
        trusted: TrustedProxies::parse(&["10.0.0.0/8"]).unwrap(),
        user_header: "X-Forwarded-Email".into(),
        scopes: Scopes::parse_list("read").unwrap(),
    });
    s.session_key = SessionKey::from_bytes([7; 32]);
    s
}

fn secured() -> axum::Router {
    router_with_auth(
        state(
            Arc::new(MemStorage::new()),
            Limits::default(),
            EngineOptions::default(),
        ),
        settings(),
    )
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding (a few lines rather than a dependency).
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Path parameters filled in far enough for the route to match.
fn concrete(path: &str) -> String {
    path.replace("{name}", "job")
        .replace("{item}", "1")
        .replace("{schedule}", "primary")
        .replace("{id}", "x")
}

async fn send(app: &axum::Router, req: Request<Body>) -> axum::response::Response {
    app.clone().oneshot(req).await.unwrap()
}

#[tokio::test]
async fn every_route_refuses_anonymous_callers_except_public_ones() {
    let app = secured();
    let rules = access_rules();
    assert!(rules.len() > 60, "{}", rules.len());
    for r in rules {
        let req = Request::builder()
            .method(r.method.clone())
            .uri(concrete(&r.path))
            .body(Body::empty())
            .unwrap();
        let resp = send(&app, req).await;
        let s = resp.status();
        match r.access {
            // A public handler may answer 401 itself (a wrong sign-in), but
            // never with the middleware's challenge.
            Access::Public => assert!(
                s != StatusCode::FORBIDDEN
                    && !resp.headers().contains_key(header::WWW_AUTHENTICATE),
                "{} {} is public but answered {s}",
                r.method,
                r.path
            ),
            Access::Page => {
                assert_eq!(s, StatusCode::SEE_OTHER, "{} {}", r.method, r.path);
                let to = resp.headers()[header::LOCATION].to_str().unwrap();
                assert!(to.starts_with("/login?next="), "{to}");
            }
            Access::ScopeOrLink(_) => {
                assert_eq!(s, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
                // With a link's token the handler judges the signature: a
                // forged one is refused there (400/403), not challenged.
                let req = Request::builder()
                    .method(r.method.clone())
                    .uri(format!("{}?token=1.00&user=bob", concrete(&r.path)))
                    .body(Body::empty())
                    .unwrap();
                let resp = send(&app, req).await;
                let s = resp.status();
                assert!(
                    s == StatusCode::FORBIDDEN || s == StatusCode::BAD_REQUEST,
                    "{} {}: {s}",
                    r.method,
                    r.path
                );
                assert!(!resp.headers().contains_key(header::WWW_AUTHENTICATE));
            }
            Access::Scope(_) => {
                assert_eq!(s, StatusCode::UNAUTHORIZED, "{} {}", r.method, r.path);
                let challenge = resp.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
                assert!(
                    challenge.starts_with("Basic realm=\"homeostat\""),
                    "{challenge}"
                );
            }
        }
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_refuse_anonymous_callers_too() {
    let app = secured();
    for (m, p) in [("GET", "/nope"), ("DELETE", "/api/v1/query")] {
        let req = Request::builder()
            .method(m)
            .uri(p)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&app, req).await.status(),
            StatusCode::UNAUTHORIZED,
            "{m} {p}"
        );
    }
}

#[tokio::test]
async fn basic_auth_passes_and_a_wrong_password_is_401() {
    let app = secured();
    let ok = Request::get("/api/v1/labels")
        .header(header::AUTHORIZATION, basic("alice", PASSWORD))
        .body(Body::empty())
        .unwrap();
    let (s, body) = call(&app, ok).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let bad = Request::get("/api/v1/labels")
        .header(header::AUTHORIZATION, basic("alice", "wrong"))
        .body(Body::empty())
        .unwrap();
    let (s, body) = call(&app, bad).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        !body.contains("wrong\""),
        "the password must not be echoed: {body}"
    );
}

#[tokio::test]
async fn a_missing_scope_is_403_naming_it() {
    let app = secured();
    let req = Request::post("/api/v2/silences")
        .header(header::AUTHORIZATION, basic("viewer", PASSWORD))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (s, body) = call(&app, req).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("respond"), "{body}");
}

#[tokio::test]
async fn bearer_tokens_go_through_the_token_lookup() {
    let app = secured();
    let req = |tok: &str, uri: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&app, req("bad-token", "/api/v1/labels"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // `ci` holds write only.
    let (s, body) = call(&app, req("good-token", "/api/v1/labels")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("read"), "{body}");
    let w = Request::post("/api/v1/write")
        .header(header::AUTHORIZATION, "Bearer good-token")
        .header("Content-Encoding", "snappy")
        .body(Body::from(compress(&raw(&[("__name__", "up")]))))
        .unwrap();
    let (s, body) = call(&app, w).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
}

fn from(addr: &str, mut req: Request<Body>) -> Request<Body> {
    let addr: SocketAddr = addr.parse().unwrap();
    req.extensions_mut().insert(Peer {
        addr: Some(addr),
        ..Peer::default()
    });
    req
}

#[tokio::test]
async fn proxy_headers_count_only_from_trusted_networks() {
    let app = secured();
    let req = || {
        Request::get("/api/v1/labels")
            .header("X-Forwarded-Email", "carol@example.com")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&app, from("10.1.2.3:5000", req())).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&app, from("192.0.2.1:5000", req())).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_client_certificate_name_is_a_principal() {
    let app = secured();
    let mut req = Request::get("/api/v1/labels").body(Body::empty()).unwrap();
    req.extensions_mut().insert(Peer {
        client_cert_name: Some("prometheus".into()),
        tls: true,
        ..Peer::default()
    });
    assert_eq!(send(&app, req).await.status(), StatusCode::OK);
}

/// Signs in through the form; returns the session and CSRF cookie values.
async fn sign_in(app: &axum::Router) -> (String, String) {
    let resp = send(
        app,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "user=alice&password={}&next=%2Fconsole%2Falerts",
                PASSWORD.replace(' ', "+")
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[header::LOCATION], "/console/alerts");
    let mut session = String::new();
    let mut csrf = String::new();
    for c in resp.headers().get_all(header::SET_COOKIE) {
        let c = c.to_str().unwrap();
        let v = c.split(';').next().unwrap().to_string();
        if c.starts_with("homeostat_session=") {
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                "{c}"
            );
            session = v;
        } else if let Some(t) = v.strip_prefix("homeostat_csrf=") {
            assert!(!c.contains("HttpOnly"), "{c}");
            csrf = t.to_string();
        }
    }
    assert!(!session.is_empty() && !csrf.is_empty());
    (session, csrf)
}

#[tokio::test]
async fn console_sign_in_sets_a_session_and_state_changes_need_its_csrf_token() {
    let app = secured();
    let bad = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("user=alice&password=nope"))
        .unwrap();
    assert_eq!(send(&app, bad).await.status(), StatusCode::UNAUTHORIZED);

    let (session, csrf) = sign_in(&app).await;
    let page = Request::get("/console/alerts")
        .header(header::COOKIE, &session)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, page).await.status(), StatusCode::OK);

    let declare = |extra: Option<(&str, &str)>| {
        let mut b = Request::post("/api/v1/incidents")
            .header(header::COOKIE, &session)
            .header(header::HOST, "127.0.0.1:9797")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some((k, v)) = extra {
            b = b.header(k, v);
        }
        b.body(Body::from(
            r#"{"title":"db down","severity":"sev2","by":"alice"}"#,
        ))
        .unwrap()
    };
    // A cross-origin form post carries the cookie but neither the token nor our origin.
    let (s, body) = call(&app, declare(Some(("Origin", "https://evil.example")))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = call(&app, declare(None)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = call(&app, declare(Some(("X-CSRF-Token", &csrf)))).await;
    assert!(s.is_success(), "{s} {body}");

    let out = send(&app, Request::post("/logout").body(Body::empty()).unwrap()).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn a_forged_session_cookie_is_refused() {
    let app = secured();
    let req = Request::get("/api/v1/labels")
        .header(header::COOKIE, "homeostat_session=v1.forged.value")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_users_everybody_is_anonymous_with_every_scope() {
    let app = app(Arc::new(MemStorage::new()), Limits::default());
    // `admin` routes included.
    let req = Request::post("/-/reload").body(Body::empty()).unwrap();
    let s = send(&app, req).await.status();
    assert!(
        s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN,
        "{s}"
    );
    let req = Request::get("/console/alerts").body(Body::empty()).unwrap();
    assert_eq!(send(&app, req).await.status(), StatusCode::OK);
}

#[test]
fn access_table_in_the_security_docs_is_current() {
    const BEGIN: &str = "<!-- BEGIN access table (generated by the access_table test; UPDATE_GOLDEN=1 rewrites it) -->\n";
    const END: &str = "<!-- END access table -->";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/security/authn.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("the BEGIN marker");
    let (_, tail) = rest.split_once(END).expect("the END marker");
    let want = format!(
        "{head}{BEGIN}{}{END}{tail}",
        homeostat_http::access_table_markdown()
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        doc == want,
        "docs/security/authn.md's access table is out of date; rerun with UPDATE_GOLDEN=1"
    );
}
