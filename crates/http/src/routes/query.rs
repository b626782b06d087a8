//! The PromQL API: `/api/v1/query`, `/api/v1/query_range`, `format_query`
//! and `query_exemplars`, with Prometheus's parameters, checks, messages and
//! JSON envelopes. Evaluation runs on a blocking thread under a deadline.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use homeostat_model::{ErrorKind, Timestamp, format_duration, parse_duration};
use homeostat_promql::{Engine, QueryError, QueryOutput, QueryParams};
use homeostat_storage::Querier;

use crate::encode::{success_envelope, write_str, write_value};
use crate::params::Params;
use crate::routes::params;
use crate::{ApiError, AppState};

/// `GET|POST /api/v1/query?query=…&time=…&timeout=…&lookback_delta=…`
pub async fn instant(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let p = params(q, body).await?;
    let t = p.time("time", st.clock.now_millis())?;
    let qp = query_params(&p)?;
    let expr = expression(&p)?;
    let out = run(&st, qp, move |engine, querier, qp| {
        engine.instant_query(querier, &expr, t, qp)
    })
    .await?;
    Ok(json_response(output_body(&out)))
}

/// `GET|POST /api/v1/query_range?query=…&start=…&end=…&step=…`
pub async fn range(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let p = params(q, body).await?;
    // Checked in Prometheus's order, with its messages, before parsing.
    let start = required_time(&p, "start")?;
    let end = required_time(&p, "end")?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start time",
        ));
    }
    let step = step_millis(&p)?;
    if step <= 0 {
        return Err(ApiError::bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let max_points = st.query.engine.options().max_points_per_series;
    // i128: `end - start` of two extreme timestamps overflows i64.
    let points = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
    if points > max_points as i128 {
        return Err(ApiError::bad_data(format!(
            "exceeded maximum resolution of {max_points} points per timeseries (limit query.max_points_per_series). Try decreasing the query resolution (?step=XX)"
        )));
    }
    let qp = query_params(&p)?;
    let expr = expression(&p)?;
    let step = Duration::from_millis(step.unsigned_abs());
    let out = run(&st, qp, move |engine, querier, qp| {
        engine.range_query(querier, &expr, start, end, step, qp)
    })
    .await?;
    Ok(json_response(output_body(&out)))
}

/// `GET|POST /api/v1/format_query?query=…`: the expression pretty-printed.
pub async fn format(RawQuery(q): RawQuery, body: Body) -> Result<Response, ApiError> {
    let p = params(q, body).await?;
    let text = p.get("query").unwrap_or("");
    let expr = Engine::parse(text).map_err(invalid_query)?;
    let mut data = String::new();
    write_str(&mut data, &expr.prettify());
    Ok(json_response(success_envelope(&data, &Default::default())))
}

/// `GET|POST /api/v1/query_exemplars`: homeostat stores no exemplars, so the
/// answer is always an empty list — after the same checks Prometheus makes.
pub async fn exemplars(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let p = params(q, body).await?;
    let now = st.clock.now_millis();
    let (start, end) = (p.time("start", now)?, p.time("end", now)?);
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start time",
        ));
    }
    expression(&p)?;
    Ok(json_response(success_envelope("[]", &Default::default())))
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn output_body(out: &QueryOutput) -> String {
    let mut data = String::new();
    write_value(&mut data, &out.value);
    success_envelope(&data, &out.annotations)
}

/// The `query` parameter, parsed once here so that a syntax error is
/// answered as Prometheus does: `invalid parameter "query": 1:5: parse error: …`.
fn expression(p: &Params) -> Result<String, ApiError> {
    let text = p.get("query").unwrap_or("");
    Engine::parse(text).map_err(invalid_query)?;
    Ok(text.to_string())
}

fn invalid_query(e: QueryError) -> ApiError {
    ApiError::bad_data(format!("invalid parameter \"query\": {e}"))
}

fn required_time(p: &Params, name: &str) -> Result<Timestamp, ApiError> {
    match p.get(name) {
        None | Some("") => Err(ApiError::bad_data(format!(
            "invalid parameter \"{name}\": cannot parse \"\" to a valid timestamp"
        ))),
        Some(_) => p.time(name, 0),
    }
}

/// The per-request `timeout` and `lookback_delta`; zero or absent means the
/// configured value.
fn query_params(p: &Params) -> Result<QueryParams, ApiError> {
    let positive = |name: &str| -> Result<Option<Duration>, ApiError> {
        match p.get(name) {
            None | Some("") => Ok(None),
            Some(s) => {
                let ms = parse_duration_millis(name, s)?;
                if ms < 0 {
                    return Err(ApiError::bad_data(format!(
                        "invalid parameter \"{name}\": {s:?} must not be negative"
                    )));
                }
                Ok((ms > 0).then(|| Duration::from_millis(ms.unsigned_abs())))
            }
        }
    };
    Ok(QueryParams {
        timeout: positive("timeout")?,
        lookback_delta: positive("lookback_delta")?,
    })
}

fn step_millis(p: &Params) -> Result<i64, ApiError> {
    parse_duration_millis("step", p.get("step").unwrap_or(""))
}

/// A duration parameter as Prometheus takes it: float seconds (`15`, `0.5`,
/// `-1`) or a duration string (`15s`, `1h30m`), in milliseconds.
fn parse_duration_millis(name: &str, s: &str) -> Result<i64, ApiError> {
    let bad = |why: &str| {
        ApiError::bad_data(format!(
            "invalid parameter \"{name}\": cannot parse {s:?} to a valid duration{why}"
        ))
    };
    if let Ok(secs) = s.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        if !ms.is_finite() || ms.abs() >= i64::MAX as f64 {
            return Err(bad(". It overflows int64"));
        }
        return Ok(ms as i64);
    }
    let d = parse_duration(s).map_err(|_| bad(""))?;
    i64::try_from(d.as_millis()).map_err(|_| bad(". It overflows int64"))
}

/// Runs `f` on a blocking thread (the engine is synchronous and may read a
/// lot) once a query slot is free, and gives up after the query timeout. The engine enforces the same
/// deadline itself and stops; the outer timer only guarantees the client an
/// answer if evaluation is stuck somewhere that does not check it.
async fn run(
    st: &AppState,
    qp: QueryParams,
    f: impl FnOnce(&Engine, &dyn Querier, &QueryParams) -> Result<QueryOutput, QueryError>
    + Send
    + 'static,
) -> Result<QueryOutput, ApiError> {
    let configured = st.query.engine.options().timeout;
    let (limit, limit_name) = match qp.timeout {
        Some(t) if t < configured => (t, "timeout parameter"),
        _ => (configured, "query.timeout"),
    };
    let slot = st.query.slots.acquire().await?;
    let engine = st.query.engine.clone();
    let querier = st.query.querier.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        f(&engine, &*querier, &qp)
    });
    match tokio::time::timeout(limit, task).await {
        Err(_) => Err(ApiError::query(QueryError::Timeout(format!(
            "expression evaluation (limit {limit_name} = {})",
            format_duration(limit)
        )))),
        Ok(Err(join)) => Err(ApiError::new(
            ErrorKind::Internal,
            format!("query task failed: {join}"),
        )),
        Ok(Ok(result)) => result.map_err(ApiError::query),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_prometheus_takes_them() {
        assert_eq!(parse_duration_millis("step", "15").ok(), Some(15_000));
        assert_eq!(parse_duration_millis("step", "0.5").ok(), Some(500));
        assert_eq!(parse_duration_millis("step", "-1").ok(), Some(-1_000));
        assert_eq!(parse_duration_millis("step", "15s").ok(), Some(15_000));
        assert_eq!(parse_duration_millis("step", "1h30m").ok(), Some(5_400_000));
        let e = parse_duration_millis("step", "soon").unwrap_err();
        assert!(
            e.message.contains("invalid parameter \"step\""),
            "{}",
            e.message
        );
        assert!(parse_duration_millis("step", "1e300").is_err());
        assert!(parse_duration_millis("step", "NaN").is_err());
    }
}
