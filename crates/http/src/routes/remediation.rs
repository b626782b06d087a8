//! Remediation policies and runs (`/api/v1/remediation/…`,
//! docs/remediation.md): what the policies are, what they did, and the
//! answer to an approval request.

use axum::Json;
use axum::extract::{RawQuery, State};
use homeostat_app::{RemediationError, RemediationService};
use homeostat_model::rfc3339::rfc3339;
use homeostat_remediation::{ActionKind, Policy, host_of};
use homeostat_state::{RemediationFilter, RemediationRun};
use serde_json::{Value, json};

use crate::params::{Params, Path, since_and_limit};
use crate::routes::release::ok;
use crate::{ApiError, AppState};

/// The service; a server without it has no policies and no runs.
fn service(st: &AppState) -> Option<&RemediationService> {
    st.remediation.as_deref()
}

fn no_run(id: &str) -> ApiError {
    error(RemediationError::NotFound(id.to_string()))
}

fn error(e: RemediationError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

fn policy_json(p: &Policy) -> Value {
    let actions: Vec<Value> = p
        .actions
        .iter()
        .map(|a| {
            // A webhook's path may hold a token: only its host is shown.
            let (kind, to) = match &a.kind {
                ActionKind::Webhook { url, .. } => ("webhook", host_of(url)),
                ActionKind::Command { program, .. } => ("command", program.clone()),
                ActionKind::Traffic { route, .. } => ("traffic", route.clone()),
            };
            json!({
                "name": a.name,
                "kind": kind,
                "to": to,
                "verifySeconds": a.verify_ms / 1000,
                "needsApproval": a.needs_approval,
                "exemptFromFreeze": a.exempt_from_freeze,
            })
        })
        .collect();
    let g = &p.guardrails;
    json!({
        "name": p.name,
        "trigger": p.trigger.describe(),
        "targetLabels": p.target_labels,
        "dryRun": p.dry_run,
        "actions": actions,
        "guardrails": {
            "maxRuns": g.max_runs.map(|m| json!({"count": m.count, "windowSeconds": m.window_ms / 1000})),
            "cooldownSeconds": g.cooldown_ms / 1000,
            "blastRadiusPercent": g.blast_radius_percent,
            "approvalTimeoutSeconds": g.approval_timeout_ms / 1000,
        },
    })
}

fn run_json(r: &RemediationRun) -> Value {
    json!({
        "id": r.id,
        "policy": r.policy,
        "target": r.target,
        "service": r.service,
        "incident": r.incident.map(|i| format!("INC-{i}")),
        "state": r.state,
        "startedAt": rfc3339(r.started_at),
        "endedAt": r.ended_at.map(rfc3339),
        "steps": r.run.get("steps").cloned().unwrap_or(Value::Array(Vec::new())),
    })
}

/// `GET /api/v1/remediation/policies`: the loaded policies.
pub async fn policies(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let config = service(&st)
        .map(RemediationService::policies)
        .unwrap_or_default();
    let list: Vec<Value> = config.policies.iter().map(policy_json).collect();
    Ok(ok(json!({"dryRun": config.dry_run, "policies": list})))
}

/// `GET /api/v1/remediation/runs?policy=&target=&since=&limit=`: runs,
/// newest first; `since` defaults to 30 days ago.
pub async fn runs(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let (since, limit) = since_and_limit(&p, st.clock.now_millis() - 30 * 86_400_000, 200)?;
    let filter = RemediationFilter {
        policy: p.get("policy").map(str::to_string),
        target: p.get("target").map(str::to_string),
        since,
        limit,
    };
    let list = match service(&st) {
        Some(svc) => svc.runs(filter).await.map_err(error)?,
        None => Vec::new(),
    };
    Ok(ok(Value::Array(list.iter().map(run_json).collect())))
}

/// `POST /api/v1/remediation/runs/{id}/approve`: runs the action the run
/// waits on now.
pub async fn approve(
    State(st): State<AppState>,
    caller: crate::Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    answer(&st, caller, &id, true).await
}

/// `POST /api/v1/remediation/runs/{id}/reject`: skips the action the run
/// waits on; the run goes on with the next.
pub async fn reject(
    State(st): State<AppState>,
    caller: crate::Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    answer(&st, caller, &id, false).await
}

async fn answer(
    st: &AppState,
    crate::Caller(caller): crate::Caller,
    id: &str,
    approve: bool,
) -> Result<Json<Value>, ApiError> {
    let svc = service(st).ok_or_else(|| no_run(id))?;
    let by = caller.actor(None);
    let run = if approve {
        svc.approve(id, &by).await
    } else {
        svc.reject(id, &by).await
    }
    .map_err(error)?;
    Ok(ok(run_json(&run)))
}
