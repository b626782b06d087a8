//! Release guardrails over HTTP: deploy events (`/api/v1/deploys`), the
//! error-budget gate (`/api/v1/gate`) and its overrides
//! (`/api/v1/gate/overrides`), and an incident's suspects. Decode, call one
//! method of `homeostat_app`'s gate or release service, encode.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use homeostat_app::{
    Expiry, GateAnswer, GateError, NewDeploy, NewOverride, ReleaseError, SuspectQuery,
};
use homeostat_gate::{Decision, Override};
use homeostat_model::rfc3339::rfc3339;
use homeostat_state::{Deploy, DeployFilter, DeployOutcome, IncidentId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::{Params, Path, parse_time};
use crate::routes::read_body;
use crate::{ApiError, AppState};

const MAX_BODY: usize = 64 << 10;

fn gate_error(e: GateError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

fn release_error(e: ReleaseError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

pub(crate) fn ok(data: Value) -> Json<Value> {
    Json(json!({"status": "success", "data": data}))
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
        "finishedAt": d.finished_at.map(rfc3339),
        "outcome": d.outcome.as_str(),
        "labels": d.labels,
        "rollsBack": d.rolls_back,
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
    /// For a rollback: the id of the deploy it replaces.
    #[serde(alias = "rolls_back")]
    rolls_back: Option<i64>,
}

/// `POST /api/v1/deploys`: records a deploy; 201 with the stored record.
pub async fn record(
    State(st): State<AppState>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: DeployBody = json_body(body, MAX_BODY).await?;
    let outcome = b
        .outcome
        .as_deref()
        .map(|o| {
            DeployOutcome::parse(o).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "outcome: {o:?} is not one of in_progress, succeeded, failed, rolled_back"
                ))
            })
        })
        .transpose()?;
    let d = NewDeploy {
        service: b.service,
        version: b.version,
        commit: b.commit,
        author: b.author,
        environment: b.environment,
        change_type: b.change_type,
        started_at: time_field("startedAt", &b.started_at)?,
        finished_at: time_field("finishedAt", &b.finished_at)?,
        outcome,
        labels: b.labels,
        rolls_back: b.rolls_back,
    };
    let saved = st.release.record(d).await.map_err(release_error)?;
    Ok((StatusCode::CREATED, ok(deploy_json(&saved))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FinishBody {
    outcome: String,
    #[serde(alias = "finished_at")]
    finished_at: Option<String>,
}

/// `PATCH /api/v1/deploys/{id}` with `{outcome, finishedAt?}`: ends a
/// deploy; 200 with the stored record. 404 for an unknown id, 409 when it
/// already ended with another outcome (only a rollback may follow an end).
pub async fn finish(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().ok().filter(|&n: &i64| n > 0).ok_or_else(|| {
        ApiError::bad_data(format!(
            "id: {id:?} is not a deploy id (a positive integer)"
        ))
    })?;
    let b: FinishBody = json_body(body, MAX_BODY).await?;
    let outcome = DeployOutcome::parse(&b.outcome)
        .filter(|o| *o != DeployOutcome::InProgress)
        .ok_or_else(|| {
            ApiError::bad_data(format!(
                "outcome: {:?} is not one of succeeded, failed, rolled_back",
                b.outcome
            ))
        })?;
    let at = time_field("finishedAt", &b.finished_at)?;
    let saved = st
        .release
        .finish(id, outcome, at)
        .await
        .map_err(release_error)?;
    Ok(ok(deploy_json(&saved)))
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
    let list = st.release.list(filter).await.map_err(release_error)?;
    Ok(ok(Value::Array(list.iter().map(deploy_json).collect())))
}

fn decision_json(d: &Decision) -> Value {
    json!({
        "allow": d.allow,
        "service": d.service,
        "policy": d.policy.as_str(),
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
        "revokedAt": o.revoked_at.map(rfc3339),
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
    let answer = st
        .gate
        .check(&service, change_type.as_deref())
        .await
        .map_err(gate_error)?;
    Ok(match answer {
        GateAnswer::Ungated {
            service,
            change_type,
        } => json!({
            "allow": true, "service": service, "policy": "none", "changeType": change_type,
            "reason": format!("allowed: no error-budget policy gates {service}"),
            "frozen": false, "freezeReasons": [], "slos": [], "override": null,
        }),
        GateAnswer::Decided {
            decision,
            measured_at,
            measured_inline,
        } => {
            let mut v = decision_json(&decision);
            v["measuredAt"] = rfc3339(measured_at).into();
            // Whether this answer measured the budgets itself (slow path)
            // or used the background measurement.
            v["measuredInline"] = json!(measured_inline);
            v
        }
    })
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
    crate::Caller(caller): crate::Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: OverrideBody = json_body(body, MAX_BODY).await?;
    // The author is the authenticated caller; a declared author (body or
    // header) only adds "on behalf of". Anonymous callers keep the declared
    // one (none: the gate service refuses it, as before).
    let declared = crate::routes::incidents::declared(b.author, &headers);
    let author = match (caller.method, declared) {
        (homeostat_model::AuthMethod::Unauthenticated, None) => String::new(),
        (_, d) => caller.actor(d.as_deref()),
    };
    let expiry = match (time_field("expiresAt", &b.expires_at)?, &b.duration) {
        (Some(t), None) => Expiry::At(t),
        (None, Some(d)) => Expiry::In(
            homeostat_model::parse_duration(d)
                .map_err(|e| ApiError::bad_data(format!("duration: {e}")))?,
        ),
        _ => {
            return Err(ApiError::bad_data(
                "give exactly one of expiresAt (a time) or duration (e.g. 2h)",
            ));
        }
    };
    let req = NewOverride {
        service: b.service,
        reason: b.reason,
        author,
        expiry,
    };
    let saved = st.gate.create_override(req).await.map_err(gate_error)?;
    Ok((StatusCode::CREATED, ok(override_json(&saved))))
}

/// `GET /api/v1/gate/overrides?service=`: every override, newest first.
pub async fn list_overrides(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let service = p.get("service").map(str::to_string);
    let list = st.gate.list_overrides(service).await.map_err(gate_error)?;
    Ok(ok(Value::Array(list.iter().map(override_json).collect())))
}

/// `DELETE /api/v1/gate/overrides/{id}`: revokes an override; audited.
pub async fn revoke_override(
    State(st): State<AppState>,
    crate::Caller(caller): crate::Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let declared = crate::routes::incidents::declared(None, &headers);
    let actor = match (caller.method, declared) {
        (homeostat_model::AuthMethod::Unauthenticated, None) => "unknown".to_string(),
        (_, d) => caller.actor(d.as_deref()),
    };
    let revoked = st
        .gate
        .revoke_override(&id, &actor)
        .await
        .map_err(gate_error)?;
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
    let id: IncidentId = id
        .parse()
        .map_err(|e: homeostat_state::StateError| ApiError::bad_data(e.to_string()))?;
    let s = st
        .release
        .suspects(id, SuspectQuery { extra, declared })
        .await
        .map_err(release_error)?;
    let Some(service) = &s.service else {
        return Ok(ok(
            json!({"incident": id.to_string(), "service": null, "suspects": [], "chaos": [],
            "reason": "the incident names no service"}),
        ));
    };
    let via = |path: &[String]| {
        if path.is_empty() {
            Value::Null
        } else {
            Value::String(path.join(" → "))
        }
    };
    Ok(ok(json!({
        "incident": id.to_string(),
        "service": service,
        "burnStartedAt": rfc3339(s.burn_started_at),
        "detectedAt": rfc3339(s.detected_at),
        "dependencies": s.dependencies.iter().map(|(name, path)| json!({
            "service": name,
            "dependencyDepth": path.len().saturating_sub(1),
            "via": via(path),
        })).collect::<Vec<_>>(),
        "suspects": s.suspects.iter().map(|x| json!({
            "rank": x.rank,
            "leadSeconds": x.lead_ms as f64 / 1000.0,
            "sameService": x.same_service,
            "dependencyDepth": x.depth(),
            "via": via(&x.via),
            "deploy": deploy_json(&x.deploy),
        })).collect::<Vec<_>>(),
        "chaos": s.chaos.iter().map(|x| json!({
            "kind": x.change.kind,
            "id": x.change.id,
            "title": x.change.title,
            "service": x.change.service,
            "status": x.change.status,
            "startedAt": rfc3339(x.change.started_at),
            "finishedAt": x.change.finished_at.map(rfc3339),
            "leadSeconds": x.lead_ms as f64 / 1000.0,
            "runningAtBurn": x.running_at_burn,
            "sameService": x.same_service,
            "via": via(&x.via),
            "summary": x.summary,
        })).collect::<Vec<_>>(),
    })))
}
