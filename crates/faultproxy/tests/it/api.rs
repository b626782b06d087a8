//! Toxiproxy's HTTP API: shapes, statuses, error texts, populate, reset,
//! and the events the handle publishes.

use homeostat_faultproxy::{FaultProxy, ProxyEvent};
use serde_json::{Value, json};

use crate::harness::echo_server;

struct Api {
    base: String,
    http: reqwest::Client,
    fp: FaultProxy,
}

async fn api() -> Api {
    let fp = FaultProxy::new();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(homeostat_faultproxy::serve(
        l,
        fp.clone(),
        std::future::pending(),
    ));
    Api {
        base,
        http: reqwest::Client::new(),
        fp,
    }
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn err(msg: &str, status: u16) -> Value {
    json!({"error": msg, "status": status})
}

#[tokio::test]
async fn proxies_and_toxics_round_trip_with_toxiproxy_shapes() {
    let a = api().await;
    let echo = echo_server().await;
    let mut events = a.fp.subscribe();
    let body = json!({"name": "redis", "listen": "127.0.0.1:0", "upstream": echo}).to_string();
    let (st, p) = a.call("POST", "/proxies", Some(&body)).await;
    assert_eq!(st, 201);
    assert_eq!(p["name"], "redis");
    assert_eq!(p["enabled"], true);
    assert_eq!(p["toxics"], json!([]));
    let listen = p["listen"].as_str().unwrap().to_string();
    assert!(
        listen.starts_with("127.0.0.1:") && !listen.ends_with(":0"),
        "{listen}"
    );
    assert!(matches!(
        events.recv().await.unwrap(),
        ProxyEvent::ProxyCreated { .. }
    ));

    assert_eq!(
        a.call("POST", "/proxies", Some(&body)).await,
        (409, err("proxy already exists", 409))
    );
    let (st, all) = a.call("GET", "/proxies", None).await;
    assert_eq!(st, 200);
    assert_eq!(all["redis"]["listen"], listen.as_str());

    let t = json!({"type": "latency", "attributes": {"latency": 50}}).to_string();
    let (st, tx) = a.call("POST", "/proxies/redis/toxics", Some(&t)).await;
    assert_eq!(st, 200);
    assert_eq!(
        tx,
        json!({"name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 1.0,
               "attributes": {"latency": 50, "jitter": 0}})
    );
    assert!(
        matches!(events.recv().await.unwrap(), ProxyEvent::ToxicAdded { ref proxy, .. } if proxy == "redis")
    );
    assert_eq!(
        a.call("POST", "/proxies/redis/toxics", Some(&t)).await,
        (409, err("toxic already exists", 409))
    );
    let (st, up) = a
        .call(
            "PATCH",
            "/proxies/redis/toxics/latency_downstream",
            Some(r#"{"attributes": {"jitter": 5}}"#),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(up["attributes"], json!({"latency": 50, "jitter": 5}));
    let (_, list) = a.call("GET", "/proxies/redis/toxics", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, one) = a.call("GET", "/proxies/redis", None).await;
    assert_eq!(one["toxics"][0]["name"], "latency_downstream");

    let (st, off) = a
        .call("POST", "/proxies/redis", Some(r#"{"enabled": false}"#))
        .await;
    assert_eq!((st, off["enabled"].clone()), (200, json!(false)));

    assert_eq!(
        a.call("DELETE", "/proxies/redis/toxics/latency_downstream", None)
            .await
            .0,
        204
    );
    assert_eq!(
        a.call("DELETE", "/proxies/redis/toxics/latency_downstream", None)
            .await,
        (404, err("toxic not found", 404))
    );
    assert_eq!(a.call("DELETE", "/proxies/redis", None).await.0, 204);
    assert_eq!(
        a.call("GET", "/proxies/redis", None).await,
        (404, err("proxy not found", 404))
    );
}

#[tokio::test]
async fn bad_input_gets_toxiproxy_errors() {
    let a = api().await;
    let echo = echo_server().await;
    assert_eq!(
        a.call("POST", "/proxies", Some(r#"{"upstream": "127.0.0.1:1"}"#))
            .await,
        (400, err("missing required field: name", 400))
    );
    assert_eq!(
        a.call("POST", "/proxies", Some(r#"{"name": "x"}"#)).await,
        (400, err("missing required field: upstream", 400))
    );
    let (st, e) = a.call("POST", "/proxies", Some("{not json")).await;
    assert_eq!(st, 400);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .starts_with("bad request body: "),
        "{e}"
    );
    let (st, e) = a
        .call(
            "POST",
            "/proxies",
            Some(r#"{"name": "x", "upstream": "a:1", "colour": 1}"#),
        )
        .await;
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().contains("colour"), "{e}");
    assert_eq!(
        a.call(
            "POST",
            "/proxies/nope/toxics",
            Some(r#"{"type": "latency"}"#)
        )
        .await,
        (404, err("proxy not found", 404))
    );
    let body = json!({"name": "p", "upstream": echo}).to_string();
    assert_eq!(a.call("POST", "/proxies", Some(&body)).await.0, 201);
    assert_eq!(
        a.call(
            "POST",
            "/proxies/p/toxics",
            Some(r#"{"type": "latency", "stream": "sideways"}"#)
        )
        .await,
        (
            400,
            err(
                "stream was invalid, can be either upstream or downstream",
                400
            )
        )
    );
    assert_eq!(
        a.call("POST", "/proxies/p/toxics", Some(r#"{"type": "gremlin"}"#))
            .await,
        (400, err("invalid toxic type", 400))
    );
    let (st, e) = a
        .call(
            "POST",
            "/proxies/p/toxics",
            Some(r#"{"type": "latency", "attributes": {"latncy": 5}}"#),
        )
        .await;
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().contains("latncy"), "{e}");
    let (st, e) = a
        .call(
            "POST",
            "/proxies/p/toxics",
            Some(r#"{"type": "latency", "toxicity": 1.5}"#),
        )
        .await;
    assert_eq!(st, 400, "{e}");
    assert_eq!(
        a.call("GET", "/proxies/p/toxics/none", None).await,
        (404, err("toxic not found", 404))
    );
    // A listen address in use: Toxiproxy's 500 with the bind error.
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let body =
        json!({"name": "q", "listen": taken.local_addr().unwrap().to_string(), "upstream": echo})
            .to_string();
    let (st, e) = a.call("POST", "/proxies", Some(&body)).await;
    assert_eq!(st, 500);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .starts_with("listen tcp 127.0.0.1:"),
        "{e}"
    );
    assert_eq!(a.call("GET", "/proxies/q", None).await.0, 404);
    // Browsers are refused: the API has no authentication.
    let resp = a
        .http
        .get(format!("{}/proxies", a.base))
        .header("user-agent", "Mozilla/5.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn populate_reset_and_version() {
    let a = api().await;
    let echo = echo_server().await;
    let (st, v) = a.call("GET", "/version", None).await;
    assert_eq!((st, v), (200, json!({"version": "2.9.0"})));

    let body = json!([
        {"name": "one", "listen": "127.0.0.1:0", "upstream": echo},
        {"name": "two", "listen": "127.0.0.1:0", "upstream": echo, "enabled": false},
    ])
    .to_string();
    let (st, out) = a.call("POST", "/populate", Some(&body)).await;
    assert_eq!(st, 201);
    let proxies = out["proxies"].as_array().unwrap();
    assert_eq!(proxies.len(), 2);
    assert_eq!(proxies[1]["enabled"], false);
    assert_eq!(
        a.call("POST", "/populate", Some(r#"[{"name": "x"}]"#))
            .await,
        (400, err("missing required field: upstream at proxy 1", 400))
    );
    let t = json!({"type": "timeout", "attributes": {"timeout": 0}}).to_string();
    assert_eq!(a.call("POST", "/proxies/one/toxics", Some(&t)).await.0, 200);
    assert_eq!(a.call("POST", "/reset", None).await.0, 204);
    let (_, all) = a.call("GET", "/proxies", None).await;
    assert_eq!(all["one"]["toxics"], json!([]));
    assert_eq!(all["two"]["enabled"], true);
}
