//! `GET /api/v1/catalog/signals?service=&range=`: one service's four golden
//! signals over a range, for the console's charts. The series come from
//! `homeostat_app::SignalService`, raw history included where the range
//! starts before the recording (ADR 0012); this file parses and encodes.

use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use homeostat_app::Range;
use homeostat_model::{ErrorKind, format_duration, parse_duration};
use serde_json::{Value, json};

use crate::params::Params;
use crate::routes::release::ok;
use crate::{ApiError, AppState};

const KNOWN_PARAMS: [&str; 2] = ["service", "range"];
const DEFAULT_RANGE: Duration = Duration::from_secs(6 * 3600);
const MIN_RANGE: Duration = Duration::from_secs(300);
const MAX_RANGE: Duration = Duration::from_secs(31 * 86_400);
/// Points per series: enough for a chart as wide as a screen.
const POINTS: u32 = 240;

struct Query {
    service: String,
    range: Duration,
}

fn parse(q: Option<&str>) -> Result<Query, ApiError> {
    let raw = form_urlencoded::parse(q.unwrap_or("").as_bytes());
    for (k, _) in raw {
        if !KNOWN_PARAMS.contains(&k.as_ref()) {
            return Err(ApiError::rest(
                ErrorKind::InvalidInput,
                format!("unknown parameter {k:?}; the signals take service= and range="),
            ));
        }
    }
    let p = Params::parse(q, b"");
    let service = match p.get("service") {
        Some(s) if !s.trim().is_empty() => s.to_string(),
        _ => {
            return Err(ApiError::rest(
                ErrorKind::InvalidInput,
                "service: missing; name the service whose signals to chart (service=checkout)",
            ));
        }
    };
    let range = match p.get("range") {
        None => DEFAULT_RANGE,
        Some(r) => parse_range(r)?,
    };
    Ok(Query { service, range })
}

/// A duration (`6h`, `7d`) or a number of seconds, from 5m to 31d.
fn parse_range(r: &str) -> Result<Duration, ApiError> {
    let d = match r.parse::<u64>() {
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => parse_duration(r).ok(),
    };
    d.filter(|d| (MIN_RANGE..=MAX_RANGE).contains(d))
        .ok_or_else(|| {
            ApiError::rest(
                ErrorKind::InvalidInput,
                format!(
                    "range: {r:?} is not a duration from 5m to 31d (write 1h, 6h, 1d, 7d or seconds)"
                ),
            )
        })
}

/// `GET /api/v1/catalog/signals?service=&range=`
pub async fn signals(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let want = parse(q.as_deref())?;
    let service = st.signals.clone();
    let now = service.now();
    let range = Range::last(want.range, now, POINTS);
    let name = want.service.clone();
    let charts = tokio::task::spawn_blocking(move || service.charts(&name, range))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("signals task failed: {e}")))?;
    let declared = st.signals.declared();
    let known = declared.contains(&want.service)
        || st.slos.specs().iter().any(|s| s.service == want.service)
        || charts.iter().any(|c| !c.series.is_empty());
    if !known {
        let mut names = declared;
        names.extend(st.slos.specs().iter().map(|s| s.service.clone()));
        names.sort();
        names.dedup();
        let known = if names.is_empty() {
            "none are declared (services: in the config)".to_string()
        } else {
            format!("known: {}", names.join(", "))
        };
        return Err(ApiError::rest(
            ErrorKind::NotFound,
            format!(
                "unknown service {:?}: no golden signals or SLO name it; {known}",
                want.service
            ),
        ));
    }
    let secs = |t: i64| t as f64 / 1000.0;
    let signals: Vec<Value> = charts
        .iter()
        .map(|c| {
            json!({
                "name": c.kind.name,
                "title": c.kind.title,
                "unit": c.kind.unit,
                "query": c.query,
                "series": c.series.iter().map(|s| json!({
                    "labels": s.labels,
                    "values": s.points.iter().map(|(t, v)| json!([secs(*t), v])).collect::<Vec<_>>(),
                    "rawUntil": s.raw_until.map(secs),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(ok(json!({
        "service": want.service,
        "range": format_duration(want.range),
        "start": secs(range.start),
        "end": secs(range.end),
        "step": range.step.as_secs_f64(),
        "signals": signals,
    })))
}
