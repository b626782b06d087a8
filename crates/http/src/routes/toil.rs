//! The toil ledger over HTTP (`/api/v1/toil`, docs/toil.md): log work done
//! outside homeostat, list logged and derived toil, and the weekly report
//! with automation candidates. The work is done by
//! [`homeostat_app::ToilService`].

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use homeostat_app::{ManualToil, ToilError, ToilReport};
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use homeostat_state::{ToilEntry, ToilFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::{Params, parse_time};
use crate::routes::incidents::actor;
use crate::routes::release::{json_body, ok};
use crate::{ApiError, AppState, Caller};

const MAX_BODY: usize = 16 << 10;
/// The default look-back of `GET /api/v1/toil`.
const DEFAULT_SINCE_MS: i64 = 30 * 86_400_000;

fn toil_error(e: ToilError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

/// The ledger reads and writes the state store: off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ToilError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("toil task failed: {e}")))?
        .map_err(toil_error)
}

/// The one JSON shape of a toil entry.
pub fn entry_json(e: &ToilEntry) -> Value {
    json!({
        "id": e.id,
        "at": rfc3339(e.at_ms),
        "by": e.actor,
        "service": e.service,
        "team": e.team,
        "kind": e.kind,
        "subject": e.subject,
        "minutes": e.minutes,
        "source": e.source.as_str(),
        "detail": e.detail,
    })
}

/// The one JSON shape of a report: what the console draws and the CLI prints.
pub fn report_json(r: &ToilReport) -> Value {
    json!({
        "cap": r.cap,
        "from": rfc3339(r.from_ms),
        "until": rfc3339(r.until_ms),
        "weeks": r.weeks.iter().map(|w| json!({
            "team": w.team,
            "week": rfc3339(w.week_start_ms),
            "toilHours": w.toil_hours,
            "oncallHours": w.oncall_hours,
            "share": w.share,
            "overCap": w.over_cap,
            "entries": w.entries,
        })).collect::<Vec<_>>(),
        "candidateWindowDays": r.candidate_window_days,
        "candidates": r.candidates.iter().map(|c| json!({
            "service": c.service,
            "team": c.team,
            "kind": c.kind,
            "subject": c.subject,
            "count": c.count,
            "totalMinutes": c.total_minutes,
            "first": rfc3339(c.first_at_ms),
            "last": rfc3339(c.last_at_ms),
            "actors": c.actors,
            "sentence": c.sentence,
            "draftPolicy": c.draft_policy,
        })).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogBody {
    kind: String,
    service: Option<String>,
    minutes: f64,
    #[serde(default)]
    note: String,
    by: Option<String>,
    /// When the work was done (RFC 3339 or Unix seconds); now when absent.
    at: Option<String>,
}

/// `POST /api/v1/toil` `{kind, service, minutes, note, by, at?}`: 201 with
/// the entry; 400 naming the field on bad input.
pub async fn log(
    State(st): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: LogBody = json_body(body, MAX_BODY).await?;
    let at_ms = match &b.at {
        None => None,
        Some(s) => Some(
            parse_time(s).ok_or_else(|| ApiError::bad_data(format!("at: {s:?} is not a time")))?,
        ),
    };
    let m = ManualToil {
        kind: b.kind,
        service: b.service,
        minutes: b.minutes,
        note: b.note,
        by: actor(&caller, b.by, &headers)?,
        at_ms,
    };
    let toil = st.toil.clone();
    let e = blocking(move || toil.log_manual(&m)).await?;
    Ok((StatusCode::CREATED, ok(entry_json(&e))))
}

/// `GET /api/v1/toil?since=&until=&team=&service=`: logged and derived
/// entries, oldest first; `since` defaults to 30 days ago.
pub async fn list(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        p.get(name)
            .map(|s| {
                parse_time(s)
                    .ok_or_else(|| ApiError::bad_data(format!("{name}: {s:?} is not a time")))
            })
            .transpose()
    };
    let f = ToilFilter {
        since: time("since")?.unwrap_or_else(|| st.clock.now_millis() - DEFAULT_SINCE_MS),
        until: time("until")?,
        team: p.get("team").map(str::to_string),
        service: p.get("service").map(str::to_string),
    };
    let toil = st.toil.clone();
    let list = blocking(move || toil.list(&f)).await?;
    Ok(ok(Value::Array(list.iter().map(entry_json).collect())))
}

/// `GET /api/v1/toil/report?weeks=4`: the toil share per team per ISO week
/// against the cap, and the automation candidates with draft policies.
pub async fn report(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let weeks = match p.get("weeks") {
        None => 4,
        Some(w) => w
            .parse::<u32>()
            .map_err(|_| ApiError::bad_data(format!("weeks: {w:?} is not a number of weeks")))?,
    };
    let toil = st.toil.clone();
    let r = blocking(move || toil.report(weeks)).await?;
    Ok(ok(report_json(&r)))
}
