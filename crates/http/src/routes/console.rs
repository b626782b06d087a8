//! The web console: static pages embedded in the binary (no build step),
//! talking to the same JSON API as every other client.

use axum::http::header;
use axum::response::{Html, IntoResponse};

const INDEX_HTML: &str = include_str!("../console/index.html");
const QUERY_HTML: &str = include_str!("../console/query.html");
const QUERY_JS: &str = include_str!("../console/query.js");
const CHART_JS: &str = include_str!("../console/chart.js");
const SLOS_HTML: &str = include_str!("../console/slos.html");
const SLOS_JS: &str = include_str!("../console/slos.js");
const SERVICES_HTML: &str = include_str!("../console/services.html");
const SERVICES_JS: &str = include_str!("../console/services.js");
const INCIDENTS_HTML: &str = include_str!("../console/incidents.html");
const INCIDENT_HTML: &str = include_str!("../console/incident.html");
const ONCALL_HTML: &str = include_str!("../console/oncall.html");
const INCIDENTS_JS: &str = include_str!("../console/incidents.js");
const ALERTS_HTML: &str = include_str!("../console/alerts.html");
const ALERTS_JS: &str = include_str!("../console/alerts.js");

/// `GET /`: links to the console pages and the main endpoints.
pub async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

/// `GET /console/query`: expression box, instant/range, table and chart.
pub async fn query_page() -> Html<&'static str> {
    Html(QUERY_HTML)
}

fn script(js: &'static str) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        js,
    )
}

pub async fn query_script() -> impl IntoResponse {
    script(QUERY_JS)
}

/// The chart and DOM helpers every console page shares.
pub async fn chart_script() -> impl IntoResponse {
    script(CHART_JS)
}

/// `GET /console/slos`: every SLO's budget, burn rates, burn-down chart.
pub async fn slos_page() -> Html<&'static str> {
    Html(SLOS_HTML)
}

pub async fn slos_script() -> impl IntoResponse {
    script(SLOS_JS)
}

/// `GET /console/services`: the golden signals of every declared service.
pub async fn services_page() -> Html<&'static str> {
    Html(SERVICES_HTML)
}

pub async fn services_script() -> impl IntoResponse {
    script(SERVICES_JS)
}

/// `GET /console/incidents`: incidents with state, severity and age; declare.
pub async fn incidents_page() -> Html<&'static str> {
    Html(INCIDENTS_HTML)
}

/// `GET /console/incident?id=INC-4`: one incident, its buttons and timeline.
pub async fn incident_page() -> Html<&'static str> {
    Html(INCIDENT_HTML)
}

/// `GET /console/oncall`: who is on call now on each schedule.
pub async fn oncall_page() -> Html<&'static str> {
    Html(ONCALL_HTML)
}

pub async fn incidents_script() -> impl IntoResponse {
    script(INCIDENTS_JS)
}

/// `GET /console/alerts`: alert groups with silence buttons, and silences.
pub async fn alerts_page() -> Html<&'static str> {
    Html(ALERTS_HTML)
}

pub async fn alerts_script() -> impl IntoResponse {
    script(ALERTS_JS)
}
