//! The Chaos Monkey's schedule and log (`/api/v1/chaos/monkey`,
//! `/api/v1/chaos/terminations`, docs/chaos-monkey.md).

use axum::Json;
use axum::extract::{RawQuery, State};
use homeostat_app::MonkeyError;
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use homeostat_state::Termination;
use serde_json::{Value, json};

use crate::params::{Params, since_and_limit};
use crate::routes::release::ok;
use crate::{ApiError, AppState};

fn internal(e: MonkeyError) -> ApiError {
    ApiError::new(ErrorKind::Internal, e.to_string())
}

pub fn termination_json(t: &Termination) -> Value {
    json!({
        "id": t.id,
        "group": t.group,
        "service": t.service,
        "target": t.target,
        "at": rfc3339(t.at_ms),
        "action": t.action,
        "outcome": t.outcome,
    })
}

/// `GET /api/v1/chaos/monkey`: the opted-in groups, their next window, last
/// termination and what holds them back now.
pub async fn status(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let groups = st.monkey.status().await.map_err(internal)?;
    let out: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "group": g.group,
                "service": g.service,
                "mode": g.mode,
                "dryRun": g.dry_run,
                "timeZone": g.time_zone,
                "meanWorkdaysBetweenTerminations": g.mean_workdays,
                "minWorkdaysBetweenTerminations": g.min_workdays,
                "nextWindow": g.next_window.map(|(s, e)| json!({"start": rfc3339(s), "end": rfc3339(e)})),
                "last": g.last.as_ref().map(termination_json),
                "blocked": g.blocked,
            })
        })
        .collect();
    Ok(ok(json!({ "groups": out })))
}

/// `GET /api/v1/chaos/terminations?group=&since=&limit=`: the termination
/// log, newest first; `since` defaults to 30 days ago.
pub async fn terminations(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let m = &st.monkey;
    let p = Params::parse(q.as_deref(), b"");
    let (since, limit) = since_and_limit(&p, st.clock.now_millis() - 30 * 86_400_000, 200)?;
    let list = m
        .terminations(p.get("group").map(str::to_string), since, limit)
        .await
        .map_err(internal)?;
    Ok(ok(Value::Array(
        list.iter().map(termination_json).collect(),
    )))
}
