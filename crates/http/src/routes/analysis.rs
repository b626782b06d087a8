//! Canary analysis over HTTP: one judgment now (`POST /api/v1/canary/judge`)
//! and progressive runs (`/api/v1/analysis`), whose status JSON is readable
//! by Argo Rollouts' `web` metric provider (`jsonPath: "{$.data.phase}"`,
//! `successCondition: result == "Successful"`) and whose `/flagger` route
//! answers a Flagger webhook (200 while running or successful, 412 once it
//! failed). The server's ticker takes the judgments.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use homeostat_canary::{JudgeRequest, Phase, RunEntry, RunSpec, RunTarget, judge_now};
use homeostat_model::rfc3339::rfc3339;
use homeostat_model::{ErrorKind, parse_duration};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::Path;
use crate::routes::release::{json_body, ok};
use crate::{ApiError, AppState};

const MAX_BODY: usize = 256 << 10;

/// `POST /api/v1/canary/judge`: judges the canary now over the lookback.
pub async fn judge(State(st): State<AppState>, body: Body) -> Result<Json<Value>, ApiError> {
    let req: JudgeRequest = json_body(body, MAX_BODY).await?;
    let prepared = req
        .prepare()
        .map_err(|e| ApiError::bad_data(e.to_string()))?;
    let now = st.clock.now_millis();
    let (engine, querier) = (st.query.engine.clone(), st.query.querier.clone());
    let j =
        tokio::task::spawn_blocking(move || judge_now(&engine, querier.as_ref(), &prepared, now))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, format!("judge task failed: {e}")))?;
    Ok(ok(serde_json::to_value(&j).unwrap_or(Value::Null)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    service: Option<String>,
    /// The deploy to roll back when the run fails.
    deploy_id: Option<i64>,
    interval: String,
    count: u32,
    #[serde(default)]
    failure_limit: u32,
    #[serde(default)]
    inconclusive_limit: u32,
    judge: JudgeRequest,
}

fn status_json(e: &RunEntry) -> Value {
    let r = &e.run;
    let n = |v| r.count(v);
    json!({
        "id": r.id,
        "phase": r.phase,
        "message": r.message,
        "service": e.target.service,
        "deployId": e.target.deploy_id,
        "count": r.spec.count,
        "interval": homeostat_model::format_duration(r.spec.interval),
        "failureLimit": r.spec.failure_limit,
        "inconclusiveLimit": r.spec.inconclusive_limit,
        "successful": n(homeostat_canary::Verdict::Pass),
        "failed": n(homeostat_canary::Verdict::Fail),
        "inconclusive": n(homeostat_canary::Verdict::Marginal) + n(homeostat_canary::Verdict::NoData),
        "startedAt": rfc3339(r.started_at),
        "finishedAt": r.finished_at.map(rfc3339),
        "measurements": r.measurements.iter().map(|m| json!({
            "at": rfc3339(m.at), "verdict": m.verdict, "score": m.score, "reason": m.reason,
        })).collect::<Vec<_>>(),
        "lastJudgment": e.last.as_ref().map(|j| serde_json::to_value(j).unwrap_or(Value::Null)),
    })
}

/// `POST /api/v1/analysis`: starts a run; 201 with its status.
pub async fn start(
    State(st): State<AppState>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: RunBody = json_body(body, MAX_BODY).await?;
    let interval: Duration =
        parse_duration(&b.interval).map_err(|e| ApiError::bad_data(format!("interval: {e}")))?;
    let spec = RunSpec {
        interval,
        count: b.count,
        failure_limit: b.failure_limit,
        inconclusive_limit: b.inconclusive_limit,
    };
    spec.validate()
        .map_err(|e| ApiError::bad_data(e.to_string()))?;
    let prepared = b
        .judge
        .prepare()
        .map_err(|e| ApiError::bad_data(format!("judge.{e}")))?;
    if let Some(id) = b.deploy_id {
        let found = st
            .release
            .get(id)
            .await
            .map_err(|e| ApiError::rest(e.kind(), e.to_string()))?;
        if found.is_none() {
            return Err(ApiError::bad_data(format!(
                "deploy_id: no deploy {id}; record it first (POST /api/v1/deploys)"
            )));
        }
    }
    let now = st.clock.now_millis();
    let target = RunTarget {
        service: b.service,
        deploy_id: b.deploy_id,
    };
    // The run is written to the state store before it exists.
    let registry = st.analysis.clone();
    let id =
        tokio::task::spawn_blocking(move || registry.start(spec, target, b.judge, prepared, now))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, format!("start task failed: {e}")))?
            .map_err(|e| ApiError::rest(e.kind(), e.to_string()))?;
    let entry = st
        .analysis
        .get(&id)
        .ok_or_else(|| ApiError::new(ErrorKind::Internal, "run vanished"))?;
    Ok((StatusCode::CREATED, ok(status_json(&entry))))
}

fn find(st: &AppState, id: &str) -> Result<RunEntry, ApiError> {
    st.analysis
        .get(id)
        .ok_or_else(|| ApiError::rest(ErrorKind::NotFound, format!("no analysis run {id:?}")))
}

/// `GET /api/v1/analysis/{id}`
pub async fn status(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(ok(status_json(&find(&st, &id)?)))
}

/// `GET /api/v1/analysis`
pub async fn list(State(st): State<AppState>) -> Json<Value> {
    ok(Value::Array(
        st.analysis.list().iter().map(status_json).collect(),
    ))
}

/// `POST /api/v1/analysis/{id}/terminate`
pub async fn terminate(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    find(&st, &id)?;
    let (registry, now, run) = (st.analysis.clone(), st.clock.now_millis(), id.clone());
    tokio::task::spawn_blocking(move || registry.terminate(&run, now, "terminated over the API"))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("terminate task failed: {e}")))?
        .map_err(|e| ApiError::rest(e.kind(), e.to_string()))?;
    Ok(ok(status_json(&find(&st, &id)?)))
}

/// `POST /api/v1/analysis/{id}/flagger`: a Flagger webhook. 200 while the
/// run is running or succeeded; 412 with the reason once it failed, was
/// inconclusive or was terminated.
pub async fn flagger(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, String), ApiError> {
    let e = find(&st, &id)?;
    Ok(match e.run.phase {
        Phase::Running | Phase::Successful => (
            StatusCode::OK,
            format!("{:?}: {}\n", e.run.phase, e.run.message),
        ),
        p => (
            StatusCode::PRECONDITION_FAILED,
            format!("{p:?}: {}\n", e.run.message),
        ),
    })
}
