//! `/api/v1/tokens` in-process, and identity threading: what is recorded as
//! who acted when the authentication middleware put a principal on the
//! request (here inserted by hand, as the middleware does).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_auth::TokenLookup;
use homeostat_model::{AuthMethod, Principal, Scopes};
use homeostat_storage::MemStorage;
use serde_json::Value;

use crate::{call, state_and_store};

fn ci() -> Principal {
    Principal {
        name: "ci".into(),
        method: AuthMethod::Token,
        scopes: Scopes::all(),
    }
}

fn as_ci(mut req: Request<Body>) -> Request<Body> {
    req.extensions_mut().insert(ci());
    req
}

fn post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn tokens_are_created_once_listed_without_secrets_and_revoked() {
    let (st, _store) = state_and_store(
        Arc::new(MemStorage::new()),
        Default::default(),
        Default::default(),
        |_| {},
    );
    let lookup = st.tokens.clone();
    let app = homeostat_http::router(st);
    let (s, body) = call(
        &app,
        as_ci(post(
            "/api/v1/tokens",
            r#"{"name":"deployer","scopes":["release","read"],"expires":"30d"}"#,
        )),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let v = json(&body);
    let token = v["data"]["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("hst_"), "{body}");
    assert_eq!(v["data"]["createdBy"], "ci");
    assert_eq!(v["data"]["scopes"], serde_json::json!(["read", "release"]));
    assert!(v["data"]["expiresAt"].is_string(), "{body}");

    let now = homeostat_model::Clock::now_millis(&homeostat_model::SystemClock);
    let p = lookup.principal(&token, now).unwrap().unwrap();
    assert_eq!(p.name, "deployer");

    let (s, body) = call(
        &app,
        Request::get("/api/v1/tokens").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(!body.contains(&token), "no secret in the list: {body}");
    assert_eq!(json(&body)["data"][0]["name"], "deployer");

    // Bad input names the field.
    for (bad, field) in [
        (r#"{"name":"x y","scopes":"read"}"#, "name"),
        (r#"{"name":"x","scopes":"root"}"#, "scopes"),
        (
            r#"{"name":"x","scopes":"read","expires":"soon"}"#,
            "expires",
        ),
    ] {
        let (s, body) = call(&app, post("/api/v1/tokens", bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.contains(field), "{bad}: {body}");
    }
    let (s, body) = call(
        &app,
        post("/api/v1/tokens", r#"{"name":"deployer","scopes":"read"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "a live name: {body}");

    let del = Request::delete("/api/v1/tokens/deployer")
        .body(Body::empty())
        .unwrap();
    let (s, body) = call(&app, del).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(json(&body)["data"]["revokedAt"].is_string(), "{body}");
    assert_eq!(lookup.principal(&token, now).unwrap(), None);
    let del = Request::delete("/api/v1/tokens/ghost")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, del).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_principal_is_recorded_and_by_only_adds_on_behalf_of() {
    let (st, store) = state_and_store(
        Arc::new(MemStorage::new()),
        Default::default(),
        Default::default(),
        |_| {},
    );
    let app = homeostat_http::router(st);
    // A token declaring someone else: both are recorded, the token first.
    let (s, body) = call(
        &app,
        as_ci(post("/api/v1/incidents", r#"{"title":"x","by":"alice"}"#)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // No `by` at all is fine once the caller is known.
    let (s, body) = call(
        &app,
        as_ci(post("/api/v1/incidents/INC-1/notes", r#"{"text":"n"}"#)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Anonymous (authentication off): the declared name, as before.
    let (s, body) = call(&app, post("/api/v1/incidents/INC-1/ack", r#"{"by":"bob"}"#)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, body) = call(
        &app,
        Request::get("/api/v1/incidents/INC-1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let actors: Vec<String> = json(&body)["data"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(actors, ["ci (on behalf of alice)", "ci", "bob"], "{body}");
    let audit = store.audit.list_by_object("incident/INC-1", 10).unwrap();
    assert_eq!(audit[0].actor, "ci (on behalf of alice)");
}
