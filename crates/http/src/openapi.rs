//! The OpenAPI 3.1 document of every route, written once as YAML
//! (`openapi.yaml`, next to this file) and served as JSON at
//! `GET /api/openapi.json`. The docs' HTTP reference is rendered from the
//! same document, and the route tests check both against `router()`.

use std::sync::LazyLock;

use axum::Json;
use homeostat_model::ErrorKind;
use serde_json::{Value, json};

use crate::ApiError;

const SOURCE: &str = include_str!("openapi.yaml");

/// Parsed on first use; a test parses it on every build, so an error here
/// never reaches a release.
static DOC: LazyLock<Result<Value, String>> = LazyLock::new(|| {
    let mut doc: Value = serde_norway::from_str(SOURCE).map_err(|e| e.to_string())?;
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        add_console(paths);
    }
    Ok(doc)
});

/// The console's pages and assets, from the lists the router serves.
fn add_console(paths: &mut serde_json::Map<String, Value>) {
    for page in homeostat_ui::PAGES {
        paths.insert(
            page.path.to_string(),
            json!({"get": {
                "tags": ["console"],
                "summary": format!("Console page: {}.", page.title),
                "responses": {"200": {"description": "HTML."}},
            }}),
        );
    }
    for asset in homeostat_ui::ASSETS {
        paths.insert(
            format!("/console/{}", asset.name),
            json!({"get": {
                "tags": ["console"],
                "summary": format!("Console asset `{}`.", asset.name),
                "responses": {"200": {"description": asset.content_type}},
            }}),
        );
    }
}

/// The document as a JSON value.
pub fn document() -> Result<&'static Value, String> {
    DOC.as_ref().map_err(Clone::clone)
}

/// `GET /api/openapi.json`.
pub async fn serve() -> Result<Json<Value>, ApiError> {
    document().map(|v| Json(v.clone())).map_err(|e| {
        ApiError::new(
            ErrorKind::Internal,
            format!("the embedded openapi.yaml does not parse: {e}"),
        )
    })
}
