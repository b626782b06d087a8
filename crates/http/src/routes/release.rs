//! Release guardrails over HTTP: deploy events (`/api/v1/deploys`), the
//! error-budget gate (`/api/v1/gate`) and its overrides
//! (`/api/v1/gate/overrides`). Budgets are measured as `/api/v1/slos` does;
//! the decision is `homeostat_gate::decide`.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use homeostat_gate::{Decision, Override, SloBudget, decide, validate_override};
use homeostat_model::ErrorKind;
use homeostat_state::{AuditEntry, Deploy, DeployFilter, DeployOutcome, IncidentId, StateError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::{Params, Path, parse_time};
use crate::routes::incidents::ACTOR_HEADER;
use crate::routes::read_body;
use crate::routes::slos::budget_of;
use crate::{ApiError, AppState};

const MAX_BODY: usize = 64 << 10;

fn state_error(e: StateError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

pub(crate) fn ok(data: Value) -> Json<Value> {
    Json(json!({"status": "success", "data": data}))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("release task failed: {e}")))?
}

/// Reads a JSON body of at most `limit` bytes into `T`.
pub(crate) async fn json_body<T: for<'de> Deserialize<'de>>(
    body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = read_body(body, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_data(format!("request body: {e}")))
}

fn time_field(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    v.as_deref()
        .map(|s| {
            parse_time(s).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "{name}: {s:?} is not a time; use RFC 3339 or Unix seconds"
                ))
            })
        })
        .transpose()
}

pub(crate) fn rfc3339(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms).map_or(Value::Null, |t| {
        json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

pub(crate) fn deploy_json(d: &Deploy) -> Value {
    json!({
        "id": d.id,
        "service": d.service,
        "version": d.version,
        "commit": d.commit,
        "author": d.author,
        "environment": d.environment,
        "changeType": d.change_type,
        "startedAt": rfc3339(d.started_at),
        "finishedAt": d.finished_at.map_or(Value::Null, rfc3339),
        "outcome": d.outcome.as_str(),
        "labels": d.labels,
        "rollback": d.rollback.as_ref().map(|r| json!({
            "at": rfc3339(r.at), "reason": r.reason, "action": r.action, "ok": r.ok, "detail": r.detail,
        })),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeployBody {
    service: String,
    version: String,
    commit: Option<String>,
    author: Option<String>,
    environment: Option<String>,
    #[serde(alias = "change_type")]
    change_type: Option<String>,
    #[serde(alias = "started_at")]
    started_at: Option<String>,
    #[serde(alias = "finished_at")]
    finished_at: Option<String>,
    outcome: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

/// `POST /api/v1/deploys`: records a deploy; 201 with the stored record.
pub async fn record(
    State(st): State<AppState>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: DeployBody = json_body(body, MAX_BODY).await?;
    let now = st.clock.now_millis();
    let outcome = match b.outcome.as_deref() {
        None => {
            if b.finished_at.is_some() {
                DeployOutcome::Succeeded
            } else {
                DeployOutcome::InProgress
            }
        }
        Some(o) => DeployOutcome::parse(o).ok_or_else(|| {
            ApiError::bad_data(format!(
                "outcome: {o:?} is not one of in_progress, succeeded, failed, rolled_back"
            ))
        })?,
    };
    let d = Deploy {
        id: 0,
        service: b.service,
        version: b.version,
        commit: b.commit,
        author: b.author,
        environment: b.environment.unwrap_or_else(|| "production".into()),
        change_type: b.change_type,
        started_at: time_field("startedAt", &b.started_at)?.unwrap_or(now),
        finished_at: time_field("finishedAt", &b.finished_at)?,
        outcome,
        labels: b.labels,
        rollback: None,
    };
    let state = st.state.clone();
    let saved = blocking(move || {
        let id = state.deploys.record_deploy(&d).map_err(state_error)?;
        let saved = state
            .deploys
            .get_deploy(id)
            .map_err(state_error)?
            .ok_or_else(|| ApiError::new(ErrorKind::Internal, "deploy vanished after insert"))?;
        // A deploy during an incident of its service is part of its story.
        homeostat_incident::IncidentService::new(state.incidents.clone())
            .record_on_open_incidents(
                &saved.service,
                homeostat_incident::ExternalKind::Deploy,
                &format!("deploy {} of {} {}", saved.id, saved.service, saved.version),
                json!({"deploy_id": saved.id, "author": saved.author, "change_type": saved.change_type}),
                saved.started_at,
            )
            .map_err(|e| ApiError::rest(e.kind(), e.to_string()))?;
        Ok(saved)
    })
    .await?;
    Ok((StatusCode::CREATED, ok(deploy_json(&saved))))
}

/// `GET /api/v1/deploys?service=&since=&until=&limit=`, newest first.
pub async fn list(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let opt_time = |n: &str| {
        p.get(n)
            .map(|s| {
                parse_time(s).ok_or_else(|| ApiError::bad_data(format!("{n}: {s:?} is not a time")))
            })
            .transpose()
    };
    let limit = match p.get("limit") {
        None => 100,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|&n| (1..=10_000).contains(&n))
            .ok_or_else(|| ApiError::bad_data(format!("limit: {s:?} is not 1..10000")))?,
    };
    let filter = DeployFilter {
        service: p.get("service").map(str::to_string),
        since: opt_time("since")?,
        until: opt_time("until")?,
        limit,
    };
    let store = st.state.deploys.clone();
    let list = blocking(move || store.list_deploys(&filter).map_err(state_error)).await?;
    Ok(ok(Value::Array(list.iter().map(deploy_json).collect())))
}

/// A cached budget older than this is measured again inline.
pub const GATE_CACHE_MAX_AGE_MS: i64 = 30_000;

/// The budgets of a service's SLOs as last measured, with its overrides.
#[derive(Debug, Clone)]
pub struct MeasuredBudgets {
    pub measured_at: i64,
    pub budgets: Vec<SloBudget>,
    /// Read with the budgets; creating or revoking an override drops the
    /// service's entry so the next answer reads them again.
    pub overrides: Vec<Override>,
}

/// Forgets the cached measurement of `service` (its overrides changed).
fn invalidate(st: &AppState, service: &str) {
    let mut m = (*st.gate_budgets.get()).clone();
    if m.remove(service).is_some() {
        st.gate_budgets.set(m);
    }
}

/// Measures every SLO of `slos` now: remaining budget and whether its page
/// tier fires (what the gate decides on).
pub fn measure_budgets(
    engine: &homeostat_promql::Engine,
    q: &dyn homeostat_storage::Querier,
    slos: &[homeostat_slo::SloSpec],
    now: i64,
) -> Vec<SloBudget> {
    slos.iter()
        .map(|spec| {
            let (status, firing) = budget_of(engine, q, spec, now);
            SloBudget {
                slo: spec.id.clone(),
                remaining: status.remaining,
                page_firing: firing.iter().any(|f| f == "page"),
            }
        })
        .collect()
}

fn decision_json(d: &Decision) -> Value {
    json!({
        "allow": d.allow,
        "service": d.service,
        "changeType": d.change_type,
        "reason": d.reason,
        "frozen": d.frozen,
        "freezeReasons": d.freeze_reasons,
        "threshold": d.threshold,
        "exempt": d.exempt,
        "slos": d.slos.iter().map(|s| json!({
            "id": s.slo, "remaining": s.remaining, "pageFiring": s.page_firing,
        })).collect::<Vec<_>>(),
        "override": d.override_used.as_ref().map(override_json),
    })
}

fn override_json(o: &Override) -> Value {
    json!({
        "id": o.id, "service": o.service, "reason": o.reason, "author": o.author,
        "createdAt": rfc3339(o.created_at), "expiresAt": rfc3339(o.expires_at),
        "revokedAt": o.revoked_at.map_or(Value::Null, rfc3339),
    })
}

/// `GET /api/v1/gate?service=…&change_type=…`: may this change ship now?
/// 200 either way (the answer is in `allow`); 404 for a service with SLOs
/// but no policy is not an error: such a service is not gated.
pub async fn check(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let service = p
        .get("service")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_data("service: missing; use ?service=<name>"))?
        .to_string();
    let change_type = p.get("change_type").map(str::to_string);
    Ok(ok(gate_answer(&st, service, change_type).await?))
}

/// The gate's answer for `service` as JSON (what `GET /api/v1/gate` sends
/// in `data`); 404 when neither an SLO nor a policy names the service.
pub(crate) async fn gate_answer(
    st: &AppState,
    service: String,
    change_type: Option<String>,
) -> Result<Value, ApiError> {
    let slos = st.slos.get();
    let policies = st.gate.get();
    let own: Vec<_> = slos
        .iter()
        .filter(|s| s.service == service)
        .cloned()
        .collect();
    let policy = policies.iter().find(|p| p.service == service).cloned();
    if own.is_empty() && policy.is_none() {
        return Err(ApiError::rest(
            ErrorKind::NotFound,
            format!("unknown service {service:?}: no SLOs and no gate policy name it"),
        ));
    }
    let Some(policy) = policy else {
        return Ok(json!({
            "allow": true, "service": service, "changeType": change_type,
            "reason": format!("allowed: no error-budget policy gates {service}"),
            "frozen": false, "freezeReasons": [], "slos": [], "override": null,
        }));
    };
    let now = st.clock.now_millis();
    let engine = st.engine.clone();
    let querier = st.querier.clone();
    let store = st.state.overrides.clone();
    let svc = service.clone();
    // Budgets measured by the server's refresher (every few seconds) answer
    // in microseconds; without a fresh entry the gate measures inline.
    let cached = st
        .gate_budgets
        .get()
        .get(&service)
        .filter(|c| now - c.measured_at <= GATE_CACHE_MAX_AGE_MS)
        // A cached "no data" may be a server that has just started or just
        // received its first samples: measure again rather than deny on it.
        .filter(|c| c.budgets.iter().all(|b| b.remaining.is_some()))
        .cloned();
    // The fast path (fresh cache) is pure computation on this thread: no
    // blocking-pool hop, no database read, so a busy machine answers in
    // microseconds.
    let inline = cached.is_none();
    let (decision, measured_at) = match cached {
        Some(c) => (
            decide(
                &policy,
                &c.budgets,
                &c.overrides,
                change_type.as_deref(),
                now,
            ),
            c.measured_at,
        ),
        None => {
            let (decision, fresh) = blocking(move || {
                let budgets = measure_budgets(&engine, querier.as_ref(), &own, now);
                let overrides = store.list_overrides(Some(&svc)).map_err(state_error)?;
                let d = decide(&policy, &budgets, &overrides, change_type.as_deref(), now);
                Ok((
                    d,
                    MeasuredBudgets {
                        measured_at: now,
                        budgets,
                        overrides,
                    },
                ))
            })
            .await?;
            // Later answers use this measurement until the background one
            // replaces it, so one slow answer does not become many.
            if fresh.budgets.iter().all(|b| b.remaining.is_some()) {
                let mut m = (*st.gate_budgets.get()).clone();
                if m.get(&service).is_none_or(|c| c.measured_at <= now) {
                    m.insert(service.clone(), fresh);
                    st.gate_budgets.set(m);
                }
            }
            (decision, now)
        }
    };
    let mut v = decision_json(&decision);
    v["measuredAt"] = rfc3339(measured_at);
    // Whether this answer measured the budgets itself (slow path) or used
    // the background measurement; lets a caller tell the two apart.
    v["measuredInline"] = json!(inline);
    Ok(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OverrideBody {
    service: String,
    reason: String,
    author: Option<String>,
    /// RFC 3339 or Unix seconds; or `duration` instead.
    #[serde(alias = "expires_at")]
    expires_at: Option<String>,
    /// A Prometheus duration (`2h`) from now.
    duration: Option<String>,
}

/// `POST /api/v1/gate/overrides`: lifts a freeze until it expires; audited.
pub async fn create_override(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: OverrideBody = json_body(body, MAX_BODY).await?;
    let now = st.clock.now_millis();
    let author = b
        .author
        .filter(|a| !a.trim().is_empty())
        .or_else(|| {
            headers
                .get(ACTOR_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let expires_at = match (time_field("expiresAt", &b.expires_at)?, &b.duration) {
        (Some(t), None) => t,
        (None, Some(d)) => {
            let d = homeostat_model::parse_duration(d)
                .map_err(|e| ApiError::bad_data(format!("duration: {e}")))?;
            now + d.as_millis() as i64
        }
        _ => {
            return Err(ApiError::bad_data(
                "give exactly one of expiresAt (a time) or duration (e.g. 2h)",
            ));
        }
    };
    let o = Override {
        id: format!("ovr-{}", homeostat_state::new_silence_id()),
        service: b.service,
        reason: b.reason,
        author,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    validate_override(&o, &st.gate.get(), now).map_err(|e| ApiError::bad_data(e.to_string()))?;
    let state = st.state.clone();
    let saved = o.clone();
    blocking(move || {
        let audit = AuditEntry {
            seq: 0,
            at: now,
            actor: o.author.clone(),
            action: "gate.override.create".into(),
            object: format!("gate-override/{}", o.id),
            detail: json!({"service": o.service, "reason": o.reason, "expires_at": o.expires_at}),
        };
        state
            .overrides
            .create_override(&o, &audit)
            .map_err(state_error)
    })
    .await?;
    invalidate(&st, &saved.service);
    Ok((StatusCode::CREATED, ok(override_json(&saved))))
}

/// `GET /api/v1/gate/overrides?service=`: every override, newest first.
pub async fn list_overrides(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let service = p.get("service").map(str::to_string);
    let store = st.state.overrides.clone();
    let list = blocking(move || {
        store
            .list_overrides(service.as_deref())
            .map_err(state_error)
    })
    .await?;
    Ok(ok(Value::Array(list.iter().map(override_json).collect())))
}

/// `DELETE /api/v1/gate/overrides/{id}`: revokes an override; audited.
pub async fn revoke_override(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = st.clock.now_millis();
    let actor = headers
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let state = st.state.clone();
    // Any cached measurement may hold the override: drop them all.
    st.gate_budgets.set(Default::default());
    let revoked = blocking(move || {
        let audit = AuditEntry {
            seq: 0,
            at: now,
            actor,
            action: "gate.override.revoke".into(),
            object: format!("gate-override/{id}"),
            detail: json!({}),
        };
        state
            .overrides
            .revoke_override(&id, now, &audit)
            .map_err(state_error)
    })
    .await?;
    Ok(ok(json!({"revoked": revoked})))
}

/// `GET /api/v1/incidents/{id}/suspects[?dependencies=a,b][&declared=false]`:
/// deploys of the incident's service and of its dependencies in the hour
/// before it was detected, the closest to the start of the burn first. The
/// dependencies are the declared ones (`services[].depends_on`, followed
/// transitively) plus those named in `dependencies` as direct ones;
/// `declared=false` leaves the declared ones out.
pub async fn suspects(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let extra: Vec<String> = p
        .get("dependencies")
        .map(|d| {
            d.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let declared = match p.get("declared") {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::bad_data(format!(
                "declared: {other:?} is not a boolean; use true or false"
            )));
        }
    };
    let graph = if declared {
        st.dependencies.get()
    } else {
        Default::default()
    };
    let id: IncidentId = id
        .parse()
        .map_err(|e: homeostat_state::StateError| ApiError::bad_data(e.to_string()))?;
    let state = st.state.clone();
    let data = blocking(move || {
        let inc = state.incidents.get(id).map_err(state_error)?;
        let Some(service) = inc.service.clone() else {
            return Ok(
                json!({"incident": id.to_string(), "service": null, "suspects": [],
                "reason": "the incident names no service"}),
            );
        };
        let detected = inc.created_at;
        let burn = inc.detected_at.unwrap_or(detected);
        let deploys = state
            .deploys
            .list_deploys(&DeployFilter {
                since: Some(detected - homeostat_incident::CORRELATION_WINDOW_MS),
                until: Some(detected),
                ..Default::default()
            })
            .map_err(state_error)?;
        let deps = homeostat_incident::dependency_paths(&service, &extra, &graph);
        let ranked = homeostat_incident::rank_suspects(&service, &deps, burn, detected, &deploys);
        let via = |path: &[String]| {
            if path.is_empty() {
                Value::Null
            } else {
                Value::String(path.join(" → "))
            }
        };
        Ok(json!({
            "incident": id.to_string(),
            "service": service,
            "burnStartedAt": rfc3339(burn),
            "detectedAt": rfc3339(detected),
            "dependencies": deps.iter().map(|(name, path)| json!({
                "service": name,
                "dependencyDepth": path.len().saturating_sub(1),
                "via": via(path),
            })).collect::<Vec<_>>(),
            "suspects": ranked.iter().map(|s| json!({
                "rank": s.rank,
                "leadSeconds": s.lead_ms as f64 / 1000.0,
                "sameService": s.same_service,
                "dependencyDepth": s.depth(),
                "via": via(&s.via),
                "deploy": deploy_json(&s.deploy),
            })).collect::<Vec<_>>(),
        }))
    })
    .await?;
    Ok(ok(data))
}
