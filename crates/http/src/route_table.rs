//! The one route table: every route of the server with exactly one access
//! rule. `router()` is built from it, so a route cannot exist without a
//! rule, and the authentication middleware looks the rule up by the matched
//! path and method; a request that matches no rule is refused.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use axum::Router;
use axum::http::Method;
use axum::response::{Html, IntoResponse};
use axum::routing::{MethodFilter, MethodRouter, on};
use homeostat_model::Scope;

use crate::AppState;
use crate::auth::login;
use crate::routes::{
    alertmanager, analysis, catalog, chaos, cluster, fault_proxy, incidents, ingest, monkey,
    oncall, ops, otlp,
};
use crate::routes::{query, read, release, remediation, rules, slos, toil, tokens, traffic};

/// What a route demands of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, the sign-in page, the console's static files, and the
    /// ack/resolve links, which carry their own signature.
    Public,
    /// A principal holding the scope.
    Scope(Scope),
    /// A console page: needs `read`; without a session the browser is sent
    /// to `/login` instead of getting a 401.
    Page,
    /// The scope, or a signed single-use link (`?token=`) the handler
    /// verifies: the ack/resolve links sent in pages.
    ScopeOrLink(Scope),
}

impl Access {
    /// The scope the rule needs, if any.
    pub fn scope(self) -> Option<Scope> {
        match self {
            Access::Public => None,
            Access::Scope(s) => Some(s),
            Access::Page => Some(Scope::Read),
            Access::ScopeOrLink(s) => Some(s),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Public => f.write_str("public"),
            Access::Scope(s) => f.write_str(s.as_str()),
            Access::Page => f.write_str("read (console page: redirects to /login)"),
            Access::ScopeOrLink(s) => write!(f, "{} (or a signed link's token=)", s.as_str()),
        }
    }
}

/// One method on one path, its rule and its handler.
pub struct Route {
    pub method: Method,
    pub path: String,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

/// The rule of a route, without its handler (for docs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    pub method: Method,
    pub path: String,
    pub access: Access,
}

fn filter(m: &Method) -> MethodFilter {
    match *m {
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::PATCH => MethodFilter::PATCH,
        Method::DELETE => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    }
}

macro_rules! r {
    ($m:ident $path:expr, $access:expr, $h:expr) => {
        Route {
            method: Method::$m,
            path: String::from($path),
            access: $access,
            handler: on(filter(&Method::$m), $h),
        }
    };
}

/// Every route. Ordered as the HTTP reference lists them.
pub fn routes() -> Vec<Route> {
    use Access::{Public, Scope as S, ScopeOrLink};
    use Scope::{Admin, Read, Release, Respond, Write};
    let mut v = vec![
        r!(GET "/-/healthy", Public, ops::healthy),
        r!(GET "/-/ready", Public, ops::ready),
        r!(GET "/favicon.ico", Public, ops::favicon),
        r!(GET "/login", Public, login::page),
        r!(POST "/login", Public, login::sign_in),
        r!(POST "/logout", Public, login::sign_out),
        r!(POST "/-/reload", S(Admin), ops::reload),
        r!(PUT "/-/reload", S(Admin), ops::reload),
        r!(GET "/metrics", S(Read), ops::metrics),
        r!(GET "/api/openapi.json", S(Read), crate::openapi::serve),
        r!(POST "/api/v1/write", S(Write), ingest::remote_write),
        r!(POST "/v1/metrics", S(Write), otlp::metrics),
        r!(GET "/api/v1/series", S(Read), read::series),
        r!(POST "/api/v1/series", S(Read), read::series),
        r!(GET "/api/v1/labels", S(Read), read::labels),
        r!(POST "/api/v1/labels", S(Read), read::labels),
        r!(GET "/api/v1/label/{name}/values", S(Read), read::label_values),
        r!(GET "/api/v1/debug/samples", S(Read), read::debug_samples),
        r!(GET "/api/v1/query", S(Read), query::instant),
        r!(POST "/api/v1/query", S(Read), query::instant),
        r!(GET "/api/v1/query_range", S(Read), query::range),
        r!(POST "/api/v1/query_range", S(Read), query::range),
        r!(GET "/api/v1/format_query", S(Read), query::format),
        r!(POST "/api/v1/format_query", S(Read), query::format),
        r!(GET "/api/v1/query_exemplars", S(Read), query::exemplars),
        r!(POST "/api/v1/query_exemplars", S(Read), query::exemplars),
        r!(GET "/api/v1/metadata", S(Read), ops::metadata),
        r!(GET "/api/v1/rules", S(Read), rules::rules),
        r!(GET "/api/v1/alerts", S(Read), rules::alerts),
        r!(GET "/api/v1/status/buildinfo", S(Read), ops::buildinfo),
        r!(GET "/api/v1/status/runtimeinfo", S(Read), ops::runtimeinfo),
        r!(GET "/api/v1/status/cluster", S(Read), cluster::status),
        r!(GET "/api/v2/alerts", S(Read), alertmanager::get_alerts),
        r!(POST "/api/v2/alerts", S(Write), alertmanager::post_alerts),
        r!(GET "/api/v2/alerts/groups", S(Read), alertmanager::get_groups),
        r!(GET "/api/v2/silences", S(Read), alertmanager::get_silences),
        r!(POST "/api/v2/silences", S(Respond), alertmanager::post_silence),
        r!(GET "/api/v2/silence/{id}", S(Read), alertmanager::get_silence),
        r!(DELETE "/api/v2/silence/{id}", S(Respond), alertmanager::delete_silence),
        r!(GET "/api/v2/status", S(Admin), alertmanager::status),
        r!(GET "/api/v2/receivers", S(Read), alertmanager::receivers),
        r!(GET "/api/v1/chaos/proxies", S(Read), fault_proxy::list),
        r!(GET "/api/v1/deploys", S(Read), release::list),
        r!(POST "/api/v1/deploys", S(Release), release::record),
        r!(PATCH "/api/v1/deploys/{id}", S(Release), release::finish),
        r!(GET "/api/v1/gate", S(Read), release::check),
        r!(GET "/api/v1/gate/overrides", S(Read), release::list_overrides),
        r!(POST "/api/v1/gate/overrides", S(Release), release::create_override),
        r!(DELETE "/api/v1/gate/overrides/{id}", S(Release), release::revoke_override),
        r!(POST "/api/v1/canary/judge", S(Release), analysis::judge),
        r!(GET "/api/v1/analysis", S(Read), analysis::list),
        r!(POST "/api/v1/analysis", S(Release), analysis::start),
        r!(GET "/api/v1/analysis/{id}", S(Read), analysis::status),
        r!(POST "/api/v1/analysis/{id}/terminate", S(Release), analysis::terminate),
        r!(POST "/api/v1/analysis/{id}/flagger", S(Release), analysis::flagger),
        r!(GET "/api/v1/traffic/routes", S(Read), traffic::list),
        r!(GET "/api/v1/traffic/routes/{route}", S(Read), traffic::get),
        r!(POST "/api/v1/traffic/routes/{route}/weights", S(Release), traffic::set_weights),
        r!(GET "/api/v1/traffic/routes/{route}/faults", S(Read), traffic::list_faults),
        r!(POST "/api/v1/traffic/routes/{route}/faults", S(Release), traffic::add_fault),
        r!(DELETE "/api/v1/traffic/routes/{route}/faults/{name}", S(Release), traffic::remove_fault),
        r!(GET "/api/v1/chaos/experiments", S(Read), chaos::list),
        r!(POST "/api/v1/chaos/experiments", S(Release), chaos::start),
        r!(GET "/api/v1/chaos/experiments/{id}", S(Read), chaos::get),
        r!(GET "/api/v1/chaos/experiments/{id}/journal", S(Read), chaos::journal),
        r!(POST "/api/v1/chaos/experiments/{id}/abort", S(Release), chaos::abort),
        r!(GET "/api/v1/chaos/monkey", S(Read), monkey::status),
        r!(GET "/api/v1/chaos/terminations", S(Read), monkey::terminations),
        r!(GET "/api/v1/toil", S(Read), toil::list),
        r!(POST "/api/v1/toil", S(Respond), toil::log),
        r!(GET "/api/v1/toil/report", S(Read), toil::report),
        r!(GET "/api/v1/remediation/policies", S(Read), remediation::policies),
        r!(GET "/api/v1/remediation/runs", S(Read), remediation::runs),
        r!(POST "/api/v1/remediation/runs/{id}/approve", S(Respond), remediation::approve),
        r!(POST "/api/v1/remediation/runs/{id}/reject", S(Respond), remediation::reject),
        r!(GET "/api/v1/tokens", S(Admin), tokens::list),
        r!(POST "/api/v1/tokens", S(Admin), tokens::create),
        r!(DELETE "/api/v1/tokens/{name}", S(Admin), tokens::revoke),
        r!(GET "/api/v1/catalog", S(Read), catalog::catalog),
        r!(GET "/api/v1/catalog/signals", S(Read), catalog::signals),
        r!(GET "/api/v1/slos", S(Read), slos::list),
        r!(GET "/api/v1/slos/{id}", S(Read), slos::get),
        r!(GET "/api/v1/slos/{id}/burndown", S(Read), slos::burndown),
        r!(GET "/api/v1/incidents", S(Read), incidents::list),
        r!(POST "/api/v1/incidents", S(Respond), incidents::declare),
        r!(GET "/api/v1/incidents/{id}", S(Read), incidents::get),
        r!(GET "/api/v1/incidents/{id}/suspects", S(Read), release::suspects),
        // The links carry their own expiring, single-use signature: the GET
        // page checks it, the POST it offers spends it.
        r!(GET "/api/v1/incidents/{id}/ack", Public, incidents::ack_link),
        r!(POST "/api/v1/incidents/{id}/ack", ScopeOrLink(Respond), incidents::ack),
        r!(GET "/api/v1/incidents/{id}/resolve", Public, incidents::resolve_link),
        r!(POST "/api/v1/incidents/{id}/resolve", ScopeOrLink(Respond), incidents::resolve),
        r!(POST "/api/v1/incidents/{id}/mitigate", S(Respond), incidents::mitigate),
        r!(POST "/api/v1/incidents/{id}/roles", S(Respond), incidents::assign_role),
        r!(POST "/api/v1/incidents/{id}/updates", S(Respond), incidents::post_update),
        r!(POST "/api/v1/incidents/{id}/notes", S(Respond), incidents::add_note),
        r!(POST "/api/v1/incidents/{id}/action_items", S(Respond), incidents::add_action_item),
        r!(PATCH "/api/v1/incidents/{id}/action_items/{item}", S(Respond), incidents::patch_action_item),
        r!(GET "/api/v1/incidents/{id}/postmortem", S(Read), incidents::postmortem),
        r!(GET "/api/v1/oncall", S(Read), oncall::all),
        r!(GET "/api/v1/oncall/{schedule}", S(Read), oncall::who),
        r!(GET "/api/v1/oncall/{schedule}/shifts", S(Read), oncall::schedule_shifts),
        r!(GET "/api/v1/escalation_policies", S(Read), oncall::escalation_policies),
    ];
    for page in homeostat_ui::PAGES {
        // Rendered once per request: a few kilobytes of string formatting.
        v.push(r!(GET page.path, Access::Page, move || async move {
            Html(homeostat_ui::render(page))
        }));
    }
    for asset in homeostat_ui::ASSETS {
        v.push(r!(
            GET format!("/console/{}", asset.name),
            Public,
            move || async move {
                (
                    [
                        (axum::http::header::CONTENT_TYPE, asset.content_type),
                        (axum::http::header::CACHE_CONTROL, "no-cache"),
                    ],
                    asset.body,
                )
                    .into_response()
            }
        ));
    }
    v
}

/// Every rule, without handlers.
pub fn access_rules() -> Vec<AccessRule> {
    routes()
        .into_iter()
        .map(|r| AccessRule {
            method: r.method,
            path: r.path,
            access: r.access,
        })
        .collect()
}

/// The rules by (method, path pattern), as the middleware looks them up.
pub(crate) type RuleMap = HashMap<(Method, String), Access>;

/// The router of every route in the table, and the table as a lookup map.
/// Panics at start (never per request) if the table names a method on a
/// path twice.
pub(crate) fn build() -> (Router<AppState>, RuleMap) {
    let mut by_path: BTreeMap<String, MethodRouter<AppState>> = BTreeMap::new();
    let mut rules = RuleMap::new();
    for r in routes() {
        let prev = rules.insert((r.method.clone(), r.path.clone()), r.access);
        assert!(prev.is_none(), "route table: {} {} twice", r.method, r.path);
        let mr = match by_path.remove(&r.path) {
            Some(m) => m.merge(r.handler),
            None => r.handler,
        };
        by_path.insert(r.path, mr);
    }
    let mut router = Router::new();
    for (path, mr) in by_path {
        router = router.route(&path, mr);
    }
    (router, rules)
}

/// The access table of docs/reference/http.md, generated from [`routes`].
pub fn access_table_markdown() -> String {
    let mut out = String::from("| Method | Path | Access |\n|---|---|---|\n");
    for r in access_rules() {
        if r.path.starts_with("/console/")
            && homeostat_ui::ASSETS
                .iter()
                .any(|a| r.path == format!("/console/{}", a.name))
        {
            continue;
        }
        out.push_str(&format!("| {} | `{}` | {} |\n", r.method, r.path, r.access));
    }
    out.push_str("| GET | `/console/<asset>` (scripts, stylesheet) | public |\n");
    out
}
