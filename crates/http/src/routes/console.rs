//! The web console: static pages embedded in the binary (no build step),
//! talking to the same JSON API as every other client.

use axum::http::header;
use axum::response::{Html, IntoResponse};

const INDEX_HTML: &str = include_str!("../console/index.html");
const QUERY_HTML: &str = include_str!("../console/query.html");
const QUERY_JS: &str = include_str!("../console/query.js");

/// `GET /`: links to the console pages and the main endpoints.
pub async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

/// `GET /console/query`: expression box, instant/range, table and chart.
pub async fn query_page() -> Html<&'static str> {
    Html(QUERY_HTML)
}

pub async fn query_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        QUERY_JS,
    )
}
