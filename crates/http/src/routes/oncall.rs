//! Who is on call, over HTTP: `GET /api/v1/oncall` (every schedule now),
//! `GET /api/v1/oncall/{schedule}?at=` and
//! `GET /api/v1/oncall/{schedule}/shifts?from=&to=` (the final schedule,
//! at most [`MAX_SHIFTS_RANGE_DAYS`] days) and
//! `GET /api/v1/escalation_policies?at=` (every policy's levels, delays and
//! targets, with whom each target pages at that instant). Answers come from
//! the on-call config in effect (`IncidentApi::oncall`).

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use chrono_tz::Tz;
use homeostat_model::rfc3339::rfc3339;
use homeostat_model::{ErrorKind, format_duration};
use homeostat_oncall::{
    EscalationPolicy, OnCall, Oncall, Schedule, Shift, Target, parse_instant, shifts,
    who_is_on_call,
};
use serde_json::{Value, json};

use crate::params::{Params, Path};
use crate::{ApiError, AppState};

/// The widest `shifts` range: rendering is linear in it.
pub const MAX_SHIFTS_RANGE_DAYS: i64 = 90;

fn ok(data: Value) -> Json<Value> {
    Json(json!({"status": "success", "data": data}))
}

fn instant(
    p: &Params,
    name: &str,
    tz: Tz,
    default: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let t = match p.get(name).filter(|s| !s.is_empty()) {
        None => return Ok(default),
        Some(s) => parse_instant(s, tz).map_err(|e| {
            ApiError::bad_data(format!(
                "{name}: {e}; use RFC 3339 like 2026-11-02T09:00:00Z"
            ))
        })?,
    };
    // Schedules are rendered from here over days to come: chrono's far
    // ends (year ±262,143) would overflow that arithmetic.
    if !(1..=9999).contains(&t.year()) {
        return Err(ApiError::bad_data(format!(
            "{name}: {t} is out of range; use a time between the years 1 and 9999"
        )));
    }
    Ok(t)
}

fn now(st: &AppState) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(st.clock.now_millis()).unwrap_or_default()
}

/// Homeostat's API form of an on-call instant (milliseconds, `Z`).
fn time(t: DateTime<Utc>) -> String {
    rfc3339(t.timestamp_millis())
}

fn encode_shift(sh: &Shift) -> Value {
    json!({
        "user": sh.user,
        "start": time(sh.start),
        "end": time(sh.end),
        "sources": sh.sources,
    })
}

fn encode_now(s: &Schedule, at: DateTime<Utc>, who: Option<OnCall>) -> Value {
    json!({
        "schedule": s.id,
        "timeZone": s.time_zone.name(),
        "at": time(at),
        "onCall": who.as_ref().map(|w| json!({
            "user": w.user,
            "source": w.source,
            "shiftStart": w.shift_start.map(time),
            "shiftEnd": w.shift_end.map(time),
        })),
        // The next handoff is when the current shift ends (or, with nobody
        // on call, when the next one starts).
        "nextHandoff": match &who {
            Some(w) => json!(w.shift_end.map(time)),
            None => json!(shifts(s, at, at + TimeDelta::days(MAX_SHIFTS_RANGE_DAYS)).first().map(|x| time(x.start))),
        },
    })
}

fn find(st: &AppState, id: &str) -> Result<std::sync::Arc<homeostat_oncall::Oncall>, ApiError> {
    let oncall = st.incidents.oncall();
    if oncall.schedule(id).is_none() {
        let known: Vec<&str> = oncall.schedules.keys().map(String::as_str).collect();
        return Err(ApiError::new(
            ErrorKind::NotFound,
            format!(
                "no schedule {id:?} (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    Ok(oncall)
}

/// `GET /api/v1/oncall`: every schedule, now.
pub async fn all(State(st): State<AppState>) -> Json<Value> {
    let at = now(&st);
    let oncall = st.incidents.oncall();
    let data: Vec<Value> = oncall
        .schedules
        .values()
        .map(|s| encode_now(s, at, who_is_on_call(s, at)))
        .collect();
    ok(json!(data))
}

/// `GET /api/v1/oncall/{schedule}?at=RFC3339`
pub async fn who(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let oncall = find(&st, &id)?;
    let Some(s) = oncall.schedule(&id) else {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            format!("no schedule {id:?}"),
        ));
    };
    let p = Params::parse(q.as_deref(), b"");
    let at = instant(&p, "at", s.time_zone, now(&st))?;
    Ok(ok(encode_now(s, at, who_is_on_call(s, at))))
}

/// `GET /api/v1/oncall/{schedule}/shifts?from=&to=` (default: the next 7 days).
pub async fn schedule_shifts(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let oncall = find(&st, &id)?;
    let Some(s) = oncall.schedule(&id) else {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            format!("no schedule {id:?}"),
        ));
    };
    let p = Params::parse(q.as_deref(), b"");
    let from = instant(&p, "from", s.time_zone, now(&st))?;
    let to = instant(&p, "to", s.time_zone, from + TimeDelta::days(7))?;
    if to <= from {
        return Err(ApiError::bad_data("to: must be after from"));
    }
    if to - from > TimeDelta::days(MAX_SHIFTS_RANGE_DAYS) {
        return Err(ApiError::bad_data(format!(
            "from..to spans more than {MAX_SHIFTS_RANGE_DAYS} days; ask for a shorter range"
        )));
    }
    let list = shifts(s, from, to);
    Ok(ok(json!({
        "schedule": s.id,
        "timeZone": s.time_zone.name(),
        "from": time(from),
        "to": time(to),
        "shifts": list.iter().map(encode_shift).collect::<Vec<_>>(),
    })))
}

/// Whom `target` pages at `at`: the user itself, or whoever is on call on
/// the schedule (nobody, or a schedule gone from the config, is empty).
fn target_now(oncall: &Oncall, target: &Target, at: DateTime<Utc>) -> Value {
    match target {
        Target::User(id) => json!({"kind": "user", "id": id, "pages": [id]}),
        Target::Schedule(id) => {
            let who = oncall
                .schedule(id)
                .and_then(|s| who_is_on_call(s, at))
                .map(|w| w.user);
            json!({"kind": "schedule", "id": id, "pages": who.into_iter().collect::<Vec<_>>()})
        }
    }
}

fn encode_policy(oncall: &Oncall, p: &EscalationPolicy, at: DateTime<Utc>) -> Value {
    // Level i is paged after the delays of the levels before it.
    let mut after = TimeDelta::zero();
    let levels: Vec<Value> = p
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v = json!({
                "level": i + 1,
                "pagedAfterSeconds": after.num_seconds(),
                "delay": format_duration(l.delay.to_std().unwrap_or_default()),
                "delaySeconds": l.delay.num_seconds(),
                "targets": l.targets.iter().map(|t| target_now(oncall, t, at)).collect::<Vec<_>>(),
            });
            after += l.delay;
            v
        })
        .collect();
    json!({
        "id": p.id,
        "repeat": p.repeat,
        // One pass takes the sum of the delays; the last level of the last
        // pass waits its delay too before the escalation gives up.
        "exhaustedAfterSeconds": after.num_seconds() * (i64::from(p.repeat) + 1),
        "levels": levels,
    })
}

/// `GET /api/v1/escalation_policies?at=RFC3339`: every policy, with whom
/// each target pages at `at` (default now).
pub async fn escalation_policies(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let at = instant(&p, "at", Tz::UTC, now(&st))?;
    let oncall = st.incidents.oncall();
    let data: Vec<Value> = oncall
        .escalation_policies
        .values()
        .map(|p| encode_policy(&oncall, p, at))
        .collect();
    Ok(ok(json!({"at": time(at), "policies": data})))
}
