//! The HTTP edge: every route and wire shape of homeostat, and the single
//! mapping from error kinds to HTTP statuses. Handlers decode, enforce
//! limits, call one method of an application service (`homeostat_app`),
//! the storage traits or the PromQL engine, and encode the answer; they hold
//! no business logic of their own.

mod browser;
mod caller;
mod encode;
mod error;
pub mod openapi;
pub mod params;
pub mod query_slots;
mod reload;
mod routes;
mod telemetry;
pub mod write_pool;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, patch, post};
use homeostat_model::{Clock, Timestamp};
use homeostat_promql::Engine;
use homeostat_storage::{Querier, Storage};

pub use browser::{BrowserPolicy, CONTENT_SECURITY_POLICY};
pub use caller::Caller;
pub use encode::format_value;
pub use error::{ApiError, Class, Family, answer_for, status_for};
// The incident API and the live-config cell moved to `homeostat_app`; these
// names stay until the server's incident modules import them from there.
pub use homeostat_app::{BasicIncidents, Declare, IncidentApi, Live};
pub use reload::{ReloadHandle, ReloadReply, ReloadStatus};
pub use routes::incidents::ACTOR_HEADER;
pub use routes::rules::alertmanager_v2_body;
pub use telemetry::{ExternalMetric, StatsSource, Telemetry};

/// Request limits; each breach is answered with a message naming the limit.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, compressed (413 above it).
    pub max_request_body_bytes: usize,
    /// Largest decompressed payload (413 above it).
    pub max_decompressed_bytes: usize,
    /// Most series in one write request (400 above it).
    pub max_series_per_request: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
            max_series_per_request: 100_000,
        }
    }
}

/// Facts about the running process for `/api/v1/status/runtimeinfo`.
#[derive(Debug, Clone, Default)]
pub struct RuntimeInfo {
    /// When the server started (and loaded its config), ms since the epoch.
    pub start_time: Timestamp,
    /// The configured retention, formatted like Prometheus (`15d`).
    pub storage_retention: String,
}

/// The read path: where ingestion appends, what reads and PromQL read
/// from, and the limits both enforce.
#[derive(Clone)]
pub struct QueryHandles {
    /// Where ingestion appends.
    pub storage: Arc<dyn Storage>,
    /// What every read route (series, labels, PromQL) reads from. The server
    /// picks it: the embedded store, or a remote backend.
    pub querier: Arc<dyn Querier>,
    /// Evaluates `/api/v1/query` and `/api/v1/query_range`; its options carry
    /// the query limits (timeout, max samples, lookback, points per series).
    pub engine: Engine,
    pub limits: Limits,
    /// The concurrency limit of the PromQL API.
    pub slots: Arc<query_slots::QuerySlots>,
}

/// The process itself: what `/-/ready`, `/-/reload`, `/metrics` and the
/// status routes answer from.
#[derive(Clone)]
pub struct OpsHandles {
    pub runtime: Arc<RuntimeInfo>,
    pub telemetry: Arc<Telemetry>,
    /// False until the store has replayed its WAL; `/-/ready` answers 503 until then.
    pub ready: Arc<AtomicBool>,
    /// `POST /-/reload` and the last reload's outcome.
    pub reload: ReloadHandle,
}

/// What every handler reaches: a handful of handles, each an engine or an
/// application service. The state store is not among them: what a route
/// reads or writes there goes through a service method.
#[derive(Clone)]
pub struct AppState {
    pub query: QueryHandles,
    pub ops: OpsHandles,
    pub clock: Arc<dyn Clock>,
    /// SLO budgets and burn-down (`/api/v1/slos`, the catalog, the console).
    pub slos: Arc<homeostat_app::SloMeter>,
    /// The rule engine's groups and alerts (`/api/v1/rules`, `/api/v1/alerts`);
    /// `homeostat_rules::NoRules` when none are loaded.
    pub rules: Arc<dyn homeostat_rules::RulesView>,
    /// Incidents, on-call and escalation (`/api/v1/incidents`,
    /// `/api/v1/oncall`), with the audit log of changes made by hand; the
    /// server's hub pages, [`BasicIncidents`] does not.
    pub incidents: homeostat_app::IncidentDesk,
    /// The built-in Alertmanager (API v2 under `/api/v2/`); `None` when no
    /// Alertmanager config is loaded, and those routes answer 503.
    pub alertmanager: Option<Arc<homeostat_alerting::Alertmanager>>,
    /// The deploy gate: decisions, its budget cache and overrides.
    pub gate: Arc<homeostat_app::GateService>,
    /// Deploys and suspects (`/api/v1/deploys`, `/incidents/{id}/suspects`,
    /// the catalog's last deploys).
    pub release: Arc<homeostat_app::ReleaseService>,
    /// Golden signals for the catalog and the service charts.
    pub signals: Arc<homeostat_app::SignalService>,
    /// Canary analysis runs (`/api/v1/analysis`); the server judges them.
    pub analysis: Arc<homeostat_canary::AnalysisRegistry>,
    /// The hosts and origins browsers may reach the server as (CSRF and
    /// DNS-rebinding checks, `browser.rs`).
    pub browser: Arc<BrowserPolicy>,
    /// API tokens (`/api/v1/tokens`); the server also hands it to
    /// authentication as the `homeostat_auth::TokenLookup`.
    pub tokens: Arc<homeostat_app::TokenService>,
}

async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let start = Instant::now();
    let resp = next.run(req).await;
    st.ops.telemetry.observe_request(
        &handler,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/write", post(routes::ingest::remote_write))
        .route("/v1/metrics", post(routes::otlp::metrics))
        .route("/metrics", get(routes::ops::metrics))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/-/healthy", get(routes::ops::healthy))
        .route("/favicon.ico", get(routes::ops::favicon))
        .route("/-/ready", get(routes::ops::ready))
        .route(
            "/-/reload",
            post(routes::ops::reload).put(routes::ops::reload),
        )
        .route(
            "/api/v1/series",
            get(routes::read::series).post(routes::read::series),
        )
        .route(
            "/api/v1/labels",
            get(routes::read::labels).post(routes::read::labels),
        )
        .route(
            "/api/v1/label/{name}/values",
            get(routes::read::label_values),
        )
        .route("/api/v1/debug/samples", get(routes::read::debug_samples))
        .route(
            "/api/v1/query",
            get(routes::query::instant).post(routes::query::instant),
        )
        .route(
            "/api/v1/query_range",
            get(routes::query::range).post(routes::query::range),
        )
        .route(
            "/api/v1/format_query",
            get(routes::query::format).post(routes::query::format),
        )
        .route(
            "/api/v1/query_exemplars",
            get(routes::query::exemplars).post(routes::query::exemplars),
        )
        .route("/api/v1/metadata", get(routes::ops::metadata))
        .route("/api/v1/rules", get(routes::rules::rules))
        .route("/api/v1/alerts", get(routes::rules::alerts))
        .route(
            "/api/v2/alerts",
            get(routes::alertmanager::get_alerts).post(routes::alertmanager::post_alerts),
        )
        .route(
            "/api/v2/alerts/groups",
            get(routes::alertmanager::get_groups),
        )
        .route(
            "/api/v2/silences",
            get(routes::alertmanager::get_silences).post(routes::alertmanager::post_silence),
        )
        .route(
            "/api/v2/silence/{id}",
            get(routes::alertmanager::get_silence).delete(routes::alertmanager::delete_silence),
        )
        .route("/api/v2/status", get(routes::alertmanager::status))
        .route("/api/v2/receivers", get(routes::alertmanager::receivers))
        .route("/api/v1/status/buildinfo", get(routes::ops::buildinfo))
        .route(
            "/api/v1/deploys",
            get(routes::release::list).post(routes::release::record),
        )
        .route("/api/v1/deploys/{id}", patch(routes::release::finish))
        .route("/api/v1/gate", get(routes::release::check))
        .route("/api/v1/canary/judge", post(routes::analysis::judge))
        .route(
            "/api/v1/analysis",
            get(routes::analysis::list).post(routes::analysis::start),
        )
        .route("/api/v1/analysis/{id}", get(routes::analysis::status))
        .route(
            "/api/v1/analysis/{id}/terminate",
            post(routes::analysis::terminate),
        )
        .route(
            "/api/v1/analysis/{id}/flagger",
            post(routes::analysis::flagger),
        )
        .route(
            "/api/v1/gate/overrides",
            get(routes::release::list_overrides).post(routes::release::create_override),
        )
        .route(
            "/api/v1/gate/overrides/{id}",
            axum::routing::delete(routes::release::revoke_override),
        )
        .route(
            "/api/v1/tokens",
            get(routes::tokens::list).post(routes::tokens::create),
        )
        .route(
            "/api/v1/tokens/{name}",
            axum::routing::delete(routes::tokens::revoke),
        )
        .route("/api/v1/catalog", get(routes::catalog::catalog))
        .route("/api/v1/catalog/signals", get(routes::catalog::signals))
        .route("/api/v1/slos", get(routes::slos::list))
        .route("/api/v1/slos/{id}", get(routes::slos::get))
        .route("/api/v1/slos/{id}/burndown", get(routes::slos::burndown))
        .route("/api/v1/status/runtimeinfo", get(routes::ops::runtimeinfo))
        .route(
            "/api/v1/incidents",
            get(routes::incidents::list).post(routes::incidents::declare),
        )
        .route("/api/v1/incidents/{id}", get(routes::incidents::get))
        .route(
            "/api/v1/incidents/{id}/suspects",
            get(routes::release::suspects),
        )
        .route(
            "/api/v1/incidents/{id}/ack",
            get(routes::incidents::ack_link).post(routes::incidents::ack),
        )
        .route(
            "/api/v1/incidents/{id}/resolve",
            get(routes::incidents::resolve_link).post(routes::incidents::resolve),
        )
        .route(
            "/api/v1/incidents/{id}/mitigate",
            post(routes::incidents::mitigate),
        )
        .route(
            "/api/v1/incidents/{id}/roles",
            post(routes::incidents::assign_role),
        )
        .route(
            "/api/v1/incidents/{id}/updates",
            post(routes::incidents::post_update),
        )
        .route(
            "/api/v1/incidents/{id}/notes",
            post(routes::incidents::add_note),
        )
        .route(
            "/api/v1/incidents/{id}/action_items",
            post(routes::incidents::add_action_item),
        )
        .route(
            "/api/v1/incidents/{id}/action_items/{item}",
            patch(routes::incidents::patch_action_item),
        )
        .route(
            "/api/v1/incidents/{id}/postmortem",
            get(routes::incidents::postmortem),
        )
        .route("/api/v1/oncall", get(routes::oncall::all))
        .route("/api/v1/oncall/{schedule}", get(routes::oncall::who))
        .route(
            "/api/v1/oncall/{schedule}/shifts",
            get(routes::oncall::schedule_shifts),
        )
        .route(
            "/api/v1/escalation_policies",
            get(routes::oncall::escalation_policies),
        )
        .merge(routes::console::router())
        .fallback(routes::ops::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            browser::guard,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        // Bodies are read with our own limit so the 413 names it.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}
