//! Error budgets over HTTP: `/api/v1/slos` (every SLO with its budget),
//! `/api/v1/slos/<id>` (one SLO: SLI, budget, burn rates per window,
//! projected exhaustion, alert tiers firing) and `/api/v1/slos/<id>/burndown`
//! (remaining budget over the period, for the console chart). The numbers
//! come from `homeostat_slo::BudgetStatus`; this file only measures and
//! encodes.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use homeostat_model::{ErrorKind, format_duration};
use homeostat_promql::{Engine, QueryParams, Value};
use homeostat_slo::{
    AlertWindows, BudgetStatus, STATUS_WINDOWS, SloSpec, budget_ratio_query, burn_down,
};
use homeostat_storage::Querier;
use serde_json::{Value as Json_, json};

use crate::params::Path;
use crate::{ApiError, AppState};

/// SLOs without a period of their own use 30 days, like the compiler.
const DEFAULT_PERIOD: Duration = Duration::from_secs(30 * 86_400);

/// Points in a burn-down chart.
const BURNDOWN_POINTS: i64 = 120;

fn period_of(spec: &SloSpec) -> Duration {
    spec.period.unwrap_or(DEFAULT_PERIOD)
}

/// The first value of an instant query, `None` without data or on NaN.
fn scalar_of(engine: &Engine, q: &dyn Querier, expr: &str, t: i64) -> Option<f64> {
    let out = engine
        .instant_query(q, expr, t, &QueryParams::default())
        .ok()?;
    let v = match out.value {
        Value::Scalar { v, .. } => v,
        Value::Vector(v) => v.first()?.v,
        _ => return None,
    };
    v.is_finite().then_some(v)
}

/// An SLO's budget now and the alert tiers firing, for the gate.
pub(crate) fn budget_of(
    engine: &Engine,
    q: &dyn Querier,
    spec: &SloSpec,
    now: i64,
) -> (BudgetStatus, Vec<String>) {
    status(engine, q, spec, now)
}

pub(crate) fn status(
    engine: &Engine,
    q: &dyn Querier,
    spec: &SloSpec,
    now: i64,
) -> (BudgetStatus, Vec<String>) {
    let period = period_of(spec);
    let period_ratio = scalar_of(engine, q, &budget_ratio_query(spec, period), now);
    let windows: Vec<(Duration, Option<f64>)> = STATUS_WINDOWS
        .iter()
        .map(|&w| (w, scalar_of(engine, q, &budget_ratio_query(spec, w), now)))
        .collect();
    let status = BudgetStatus::compute(spec.objective, period, period_ratio, &windows, now);
    // The alert tiers firing now, as the rule engine records them.
    let firing = engine
        .instant_query(
            q,
            &format!(
                "ALERTS{{sloth_id=\"{}\", alertstate=\"firing\"}}",
                spec.id.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            now,
            &QueryParams::default(),
        )
        .ok()
        .and_then(|o| match o.value {
            Value::Vector(v) => Some(
                v.iter()
                    .filter_map(|s| s.labels.get("sloth_severity").map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    (status, firing)
}

fn num(v: Option<f64>) -> Json_ {
    v.filter(|v| v.is_finite())
        .map_or(Json_::Null, |v| json!(v))
}

fn encode(spec: &SloSpec, s: &BudgetStatus, windows: &[AlertWindows], firing: &[String]) -> Json_ {
    let burn_rate_queries: Vec<Json_> = [STATUS_WINDOWS[2], STATUS_WINDOWS[4]]
        .iter()
        .map(|&w| {
            json!({
                "window": format_duration(w),
                "query": format!(
                    "({}) / {}",
                    budget_ratio_query(spec, w),
                    homeostat_promql::format_value(s.budget)
                ),
            })
        })
        .collect();
    json!({
        "id": spec.id,
        "service": spec.service,
        "name": spec.name,
        "description": spec.description,
        "objective": s.objective,
        "period": format_duration(s.period),
        "sli": num(s.sli),
        "budget": {
            "ratio": s.budget,
            "minutes": s.budget_minutes,
            "consumed": num(s.consumed),
            "remaining": num(s.remaining),
            "remainingMinutes": num(s.remaining_minutes),
            "exhaustedAt": s.exhausted_at.map(|t| t as f64 / 1000.0),
        },
        "burnRates": s.windows.iter().map(|w| json!({
            "window": format_duration(w.window),
            "errorRatio": num(w.error_ratio),
            "burnRate": num(w.burn_rate),
            "query": budget_ratio_query(spec, w.window),
        })).collect::<Vec<_>>(),
        "firing": firing,
        "alertTiers": alert_tiers(spec, s.period, windows, firing),
        "labels": spec.labels,
        // For charts: the 1h and 6h burn rates as PromQL, ready for query_range.
        "burnRateQueries": burn_rate_queries,
    })
}

/// The page and ticket tiers as the compiler writes them (`slo_windows` for
/// the period, else the Workbook's window pairs scaled to it): each pair
/// fires when both windows burn faster than its factor.
fn alert_tiers(
    spec: &SloSpec,
    period: Duration,
    configured: &[AlertWindows],
    firing: &[String],
) -> Json_ {
    let w = AlertWindows::for_period(configured, period);
    let pair = |p: &homeostat_slo::Window| {
        json!({
            "short": format_duration(p.short),
            "long": format_duration(p.long),
            "factor": w.burn_factor(p),
            "budgetPercent": p.error_budget_percent,
        })
    };
    let tiers = [
        ("page", &spec.page, [w.page_quick, w.page_slow]),
        ("ticket", &spec.ticket, [w.ticket_quick, w.ticket_slow]),
    ];
    json!(
        tiers
            .iter()
            .filter_map(|(severity, tier, pairs)| {
                let tier = tier.as_ref()?;
                Some(json!({
                    "severity": severity,
                    "alert": tier.name,
                    "firing": firing.iter().any(|f| f == severity),
                    "windows": pairs.iter().map(pair).collect::<Vec<_>>(),
                    "annotations": tier.annotations,
                }))
            })
            .collect::<Vec<_>>()
    )
}

async fn blocking<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&Engine, &dyn Querier) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let engine = st.engine.clone();
    let querier = st.querier.clone();
    tokio::task::spawn_blocking(move || f(&engine, &*querier))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("slo task failed: {e}")))
}

fn find(st: &AppState, id: &str) -> Result<SloSpec, ApiError> {
    st.slos
        .get()
        .iter()
        .find(|s| s.id == id)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("no SLO with id {id:?}")))
}

fn ok(data: Json_) -> Json<Json_> {
    Json(json!({"status": "success", "data": data}))
}

/// `GET /api/v1/slos`
pub async fn list(State(st): State<AppState>) -> Result<Json<Json_>, ApiError> {
    let now = st.clock.now_millis();
    let slos: Arc<Vec<SloSpec>> = st.slos.get();
    let windows = st.slo_windows.get();
    let data = blocking(&st, move |e, q| {
        slos.iter()
            .map(|spec| {
                let (s, firing) = status(e, q, spec, now);
                encode(spec, &s, &windows, &firing)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(ok(json!(data)))
}

/// `GET /api/v1/slos/<id>`
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let spec = find(&st, &id)?;
    let now = st.clock.now_millis();
    let windows = st.slo_windows.get();
    let data = blocking(&st, move |e, q| {
        let (s, firing) = status(e, q, &spec, now);
        encode(&spec, &s, &windows, &firing)
    })
    .await?;
    Ok(ok(data))
}

/// `GET /api/v1/slos/<id>/burndown`: remaining budget (1 = 100%) at
/// `BURNDOWN_POINTS` steps over the period ending now, and the burn rate of
/// each step's slice.
pub async fn burndown(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let spec = find(&st, &id)?;
    let now = st.clock.now_millis();
    let period = period_of(&spec);
    let step_ms = (period.as_millis() as i64 / BURNDOWN_POINTS).max(1000);
    let start = now - step_ms * (BURNDOWN_POINTS - 1);
    let data = blocking(&st, move |e, q| -> Result<Json_, String> {
        let step = Duration::from_millis(step_ms as u64);
        let Some((err_q, tot_q)) = homeostat_slo::event_rate_queries(&spec, step) else {
            // Raw SLIs and timeslice budgets: the bad share per step, each
            // step weighing the same.
            let series = range_values(e, q, &budget_ratio_query(&spec, step), start, now, step)?;
            let totals = vec![1.0; series.len()];
            let remaining = burn_down(spec.objective, &series, &totals);
            return Ok(points(start, step_ms, &remaining));
        };
        // Rates per second over each slice → events per slice.
        let secs = step.as_secs_f64();
        let errs: Vec<f64> = range_values(e, q, &err_q, start, now, step)?
            .into_iter()
            .map(|r| r * secs)
            .collect();
        let tots: Vec<f64> = range_values(e, q, &tot_q, start, now, step)?
            .into_iter()
            .map(|r| r * secs)
            .collect();
        let remaining = burn_down(spec.objective, &errs, &tots);
        Ok(points(start, step_ms, &remaining))
    })
    .await?
    .map_err(|m| ApiError::new(ErrorKind::InvalidInput, m))?;
    Ok(ok(
        json!({"id": id, "period": format_duration(period), "remaining": data}),
    ))
}

/// The first series of a range query as one value per step (0 where absent).
fn range_values(
    e: &Engine,
    q: &dyn Querier,
    expr: &str,
    start: i64,
    end: i64,
    step: Duration,
) -> Result<Vec<f64>, String> {
    let out = e
        .range_query(q, expr, start, end, step, &QueryParams::default())
        .map_err(|err| format!("{expr}: {err}"))?;
    let step_ms = step.as_millis() as i64;
    let n = ((end - start) / step_ms + 1) as usize;
    let mut vals = vec![0.0; n];
    if let Value::Matrix(m) = out.value
        && let Some(series) = m.first()
    {
        for p in &series.samples {
            let i = ((p.t - start) / step_ms) as usize;
            if i < n && p.v.is_finite() {
                vals[i] = p.v;
            }
        }
    }
    Ok(vals)
}

fn points(start: i64, step_ms: i64, vals: &[f64]) -> Json_ {
    json!(
        vals.iter()
            .enumerate()
            .map(|(i, v)| json!([(start + i as i64 * step_ms) as f64 / 1000.0, v]))
            .collect::<Vec<_>>()
    )
}
