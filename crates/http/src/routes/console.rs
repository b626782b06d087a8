//! The web console's routes: every page of `homeostat_ui::PAGES` at its
//! path and every asset at `/console/<name>`. The pages talk to the same
//! JSON API as every other client; this file only serves them.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

use crate::AppState;

/// The console's pages and assets.
pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for page in homeostat_ui::PAGES {
        // Rendered once per request: a few kilobytes of string formatting.
        r = r.route(
            page.path,
            get(move || async move { Html(homeostat_ui::render(page)) }),
        );
    }
    for asset in homeostat_ui::ASSETS {
        r = r.route(
            &format!("/console/{}", asset.name),
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, asset.content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    asset.body,
                )
                    .into_response()
            }),
        );
    }
    r
}
