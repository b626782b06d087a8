//! The OpenAPI document against the router: every route registered in
//! `router()` is documented and every documented path and method is
//! routed (so the document cannot fall behind), and the HTTP reference in
//! docs/ is rendered from it (golden; `UPDATE_GOLDEN=1` rewrites it).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::*;

/// Methods an operation may have, in the order the reference lists them.
pub(crate) const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document as the server serves it.
pub(crate) async fn served_doc(app: &axum::Router) -> Value {
    let (s, body) = call(
        app,
        Request::get("/api/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Every path of the route table, which `router()` is built from.
fn routed_paths() -> BTreeSet<String> {
    homeostat_http::access_rules()
        .into_iter()
        .map(|r| r.path)
        .collect()
}

/// Path parameters as a value the route accepts far enough to answer.
fn with_params(path: &str) -> String {
    path.replace("{name}", "job")
        .replace("{item}", "1")
        .replace("{schedule}", "primary")
        .replace("{id}", "x")
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = app(Arc::new(MemStorage::new()), Limits::default());
    let doc = served_doc(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    let routed = routed_paths();
    assert!(routed.len() > 50, "the route scan found only {routed:?}");
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "crates/http/src/openapi.yaml is out of step with the route table in crates/http/src/route_table.rs:\n\
         routed but not documented: {missing:?}\ndocumented but not routed: {extra:?}"
    );
    // Methods: a documented one is routed (never 405), an undocumented one
    // is not (always 405).
    for (path, item) in paths {
        let uri = with_params(path);
        for m in METHODS {
            let documented = item.get(m).is_some();
            let req = Request::builder()
                .method(m.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let (s, body) = call(&app, req).await;
            if documented {
                assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}: {body}");
            } else {
                assert_eq!(
                    s,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{m} {path} is routed but not in openapi.yaml: {body}"
                );
            }
            if let Some(op) = item.get(m) {
                let tags = op["tags"].as_array().map_or(0, Vec::len);
                assert_eq!(tags, 1, "{m} {path}: give it exactly one tag");
                assert!(op["summary"].is_string(), "{m} {path}: no summary");
                assert!(op["responses"].is_object(), "{m} {path}: no responses");
            }
        }
    }
    // Every $ref points at something.
    let text = doc.to_string();
    for (i, _) in text.match_indices("\"$ref\":\"#/") {
        let r = &text[i + 9..];
        let r = &r[..r.find('"').unwrap()];
        let target = doc.pointer(r.trim_start_matches('#'));
        assert!(target.is_some(), "dangling $ref {r}");
    }
}

/// A `$ref`'d component or the value itself.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(v),
        None => v,
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The HTTP reference: one table per tag, operations by path. Keys are
/// sorted here, whatever map order serde_json was built with.
pub(crate) fn render_reference(doc: &Value) -> String {
    let mut out = String::from(
        "# HTTP API reference\n\n\
         <!-- Generated from crates/http/src/openapi.yaml by the `http_reference` test;\n\
         do not edit. Regenerate: UPDATE_GOLDEN=1 cargo test -p homeostat-http --test it http_reference -->\n\n",
    );
    out.push_str(&format!(
        "{}\n\nThe same document is served as JSON at `GET /api/openapi.json`.\n\n",
        doc["info"]["description"].as_str().unwrap_or("").trim()
    ));
    let mut by_tag: BTreeMap<&str, Vec<(String, String, &Value, &Value)>> = BTreeMap::new();
    let paths: BTreeMap<&String, &Value> = doc["paths"].as_object().unwrap().iter().collect();
    for (path, item) in paths {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                let tag = op["tags"][0].as_str().unwrap_or("other");
                by_tag
                    .entry(tag)
                    .or_default()
                    .push((m.to_uppercase(), path.clone(), op, item));
            }
        }
    }
    for tag in doc["tags"].as_array().unwrap() {
        let name = tag["name"].as_str().unwrap_or("");
        let Some(ops) = by_tag.get(name) else {
            continue;
        };
        out.push_str(&format!(
            "## {name}\n\n{}\n\n| method | path | what | parameters | statuses |\n|---|---|---|---|---|\n",
            tag["description"].as_str().unwrap_or("")
        ));
        let mut rows: Vec<(Vec<String>, [String; 4])> = Vec::new();
        for (method, path, op, item) in ops {
            let mut params: Vec<String> = Vec::new();
            let all = item["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(op["parameters"].as_array().into_iter().flatten());
            for p in all {
                let p = resolve(doc, p);
                let name = p["name"].as_str().unwrap_or("?");
                let place = p["in"].as_str().unwrap_or("?");
                let req = if p["required"] == true { "*" } else { "" };
                let shown = format!("`{name}`{req} ({place})");
                if !params.contains(&shown) {
                    params.push(shown);
                }
            }
            if let Some(body) = op.get("requestBody") {
                let mut types: Vec<&str> = body["content"]
                    .as_object()
                    .map(|c| c.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                types.sort_unstable();
                params.push(format!("body: {}", types.join(", ")));
            }
            let mut statuses: Vec<&str> = op["responses"]
                .as_object()
                .map(|r| r.keys().map(String::as_str).collect())
                .unwrap_or_default();
            statuses.sort_unstable();
            let row = [
                cell(path),
                cell(op["summary"].as_str().unwrap_or("")),
                cell(&params.join(", ")),
                statuses.join(" "),
            ];
            // GET and POST of the same operation share a row.
            match rows.last_mut() {
                Some((methods, last)) if *last == row => methods.push(method.clone()),
                _ => rows.push((vec![method.clone()], row)),
            }
        }
        for (methods, [path, what, params, statuses]) in rows {
            out.push_str(&format!(
                "| {} | `{path}` | {what} | {params} | {statuses} |\n",
                methods.join(", ")
            ));
        }
        out.push('\n');
    }
    out.push_str(
        "`*` marks a required parameter. Error bodies: Prometheus-style routes answer \
         `{\"status\":\"error\",\"errorType\":…,\"error\":…}`, Alertmanager routes a JSON \
         string, ingestion routes plain text.\n",
    );
    out
}

#[tokio::test]
async fn http_reference() {
    let app = app(Arc::new(MemStorage::new()), Limits::default());
    let got = render_reference(&served_doc(&app).await);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/reference/http-api.md"
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        got == want,
        "docs/reference/http-api.md is out of date with crates/http/src/openapi.yaml; \
         regenerate it: UPDATE_GOLDEN=1 cargo test -p homeostat-http --test it http_reference"
    );
}
