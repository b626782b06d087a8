//! The HTTP edge: every route and wire shape of homeostat, and the single
//! mapping from error kinds to HTTP statuses. Handlers decode, enforce
//! limits, call one method of an application service (`homeostat_app`),
//! the storage traits or the PromQL engine, and encode the answer; they hold
//! no business logic of their own.

pub mod auth;
mod browser;
mod caller;
mod encode;
mod error;
pub mod openapi;
pub mod params;
pub mod query_slots;
mod reload;
pub mod route_table;
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
use homeostat_model::{Clock, Timestamp};
use homeostat_promql::Engine;
use homeostat_storage::{Querier, Storage};

pub use auth::{AuthMode, AuthSettings, ProxySettings};
pub use browser::{BrowserPolicy, CONTENT_SECURITY_POLICY};
pub use caller::Caller;
pub use encode::format_value;
pub use error::{ApiError, Class, Family, answer_for, status_for};
pub use route_table::{Access, AccessRule, access_rules, access_table_markdown};
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
    /// Where the state lives: `sqlite:<path>`, or the PostgreSQL DSN
    /// without its password (`postgres://user@host:5432/db`).
    pub state_backend: String,
    /// `storage.mode`: `embedded`, or `remote` (the embedded store is not
    /// opened and holds no series).
    pub storage_mode: String,
    /// With `storage.mode: remote`, the remote-write URL samples go to.
    pub remote_write_url: Option<String>,
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
    /// The replicas and the leader (`/api/v1/status/cluster`, the
    /// `cluster` of `/api/v2/status`); `ClusterView::single` when alone.
    pub cluster: homeostat_app::ClusterView,
    /// The fault proxy (`GET /api/v1/chaos/proxies`); `None` unless
    /// `fault_proxy.enabled`.
    pub fault_proxy: Option<homeostat_faultproxy::FaultProxy>,
    /// The HTTP traffic proxy (`/api/v1/traffic`): its routes, weights and
    /// faults, changes audited; `Traffic::empty()` without a `traffic:` section.
    pub traffic: homeostat_traffic::TrafficDesk,
    /// Chaos Toolkit experiments (`/api/v1/chaos/experiments`).
    pub chaos: Arc<homeostat_app::ChaosService>,
    /// The toil ledger (`/api/v1/toil`); also audits silences made here.
    pub toil: Arc<homeostat_app::ToilService>,
    /// The Chaos Monkey (`/api/v1/chaos/monkey`, `/api/v1/chaos/terminations`);
    /// with or without opted-in groups.
    pub monkey: Arc<homeostat_app::MonkeyService>,
    /// Remediation policies and runs (`/api/v1/remediation`); `None` (503)
    /// until the server runs the service.
    pub remediation: Option<Arc<homeostat_app::RemediationService>>,
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

/// The router with authentication off: every caller is anonymous with all
/// scopes (tests, and servers on loopback without a web config).
pub fn router(state: AppState) -> Router {
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(homeostat_auth::WebConfig::default()));
    // The sender goes with it: nothing will ever reload this config.
    drop(tx);
    let clock = state.clock.clone();
    router_with_auth(state, AuthSettings::new(rx, clock))
}

/// Every route of the route table, behind authentication and the table's
/// access rules.
pub fn router_with_auth(state: AppState, auth: AuthSettings) -> Router {
    let (routes, rules) = route_table::build();
    let auth = auth::Auth::new(auth, rules);
    routes
        .fallback(routes::ops::not_found)
        .layer(middleware::from_fn_with_state(auth, auth::authenticate))
        // Outside authentication: a rebinding or cross-site request is
        // refused before it can learn whether credentials would do.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            browser::guard,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        // Bodies are read with our own limit so the 413 names it.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}
