//! Error budgets over HTTP: `/api/v1/slos` (every SLO with its budget),
//! `/api/v1/slos/<id>` (one SLO: SLI, budget, how much data it rests on,
//! whether it is exhausted, burn rates per window, projected exhaustion,
//! alert tiers firing) and `/api/v1/slos/<id>/burndown` (remaining budget
//! since the data starts, for the console chart). The numbers
//! come from `homeostat_app::SloMeter`; this file only encodes them.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use homeostat_app::{SloError, SloReport};
use homeostat_model::format_duration;
use homeostat_slo::{AlertWindows, SloSpec, budget_ratio_query};
use serde_json::{Value as Json_, json};

use crate::params::Path;
use crate::{ApiError, AppState};

fn slo_error(e: SloError) -> ApiError {
    ApiError::new(e.kind(), e.to_string())
}

fn num(v: Option<f64>) -> Json_ {
    v.filter(|v| v.is_finite())
        .map_or(Json_::Null, |v| json!(v))
}

fn encode(r: &SloReport, windows: &[AlertWindows]) -> Json_ {
    let (spec, s, firing) = (&r.spec, &r.status, &r.firing);
    let alert = AlertWindows::for_period(windows, s.period);
    // Which alert tiers watch a window, so the table can mark the rows the
    // alerts use (1m/12m under fast slo_windows, not only the Workbook's).
    let used_by = |w: Duration| -> Vec<&str> {
        let mut by = Vec::new();
        for (tier, on, pairs) in [
            (
                "page",
                spec.page.is_some(),
                [alert.page_quick, alert.page_slow],
            ),
            (
                "ticket",
                spec.ticket.is_some(),
                [alert.ticket_quick, alert.ticket_slow],
            ),
        ] {
            if on && pairs.iter().any(|p| p.short == w || p.long == w) {
                by.push(tier);
            }
        }
        by
    };
    // The page tier's fast pair: the two burn rates that page first.
    let chart_windows = [alert.page_quick.long, alert.page_quick.short];
    let burn_rate_queries: Vec<Json_> = chart_windows
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
            "exhausted": s.exhausted,
            "overspend": num(s.overspend),
            "dataSince": r.data_since.map(|t| t as f64 / 1000.0),
            "basedOnSeconds": r.based_on().map(|d| d.as_secs()),
        },
        "burnRates": s.windows.iter().map(|w| json!({
            "window": format_duration(w.window),
            "errorRatio": num(w.error_ratio),
            "burnRate": num(w.burn_rate),
            "query": budget_ratio_query(spec, w.window),
            "alerts": used_by(w.window),
        })).collect::<Vec<_>>(),
        "firing": firing,
        "alertTiers": alert_tiers(spec, s.period, windows, firing),
        "labels": spec.labels,
        // For charts: the page tier's fast pair of burn rates as PromQL,
        // ready for query_range.
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

fn ok(data: Json_) -> Json<Json_> {
    Json(json!({"status": "success", "data": data}))
}

fn encode_report(r: &SloReport, windows: &[AlertWindows]) -> Json_ {
    encode(r, windows)
}

/// `GET /api/v1/slos`
pub async fn list(State(st): State<AppState>) -> Result<Json<Json_>, ApiError> {
    let windows = st.slos.windows();
    let reports = st.slos.list().await.map_err(slo_error)?;
    let data: Vec<Json_> = reports.iter().map(|r| encode_report(r, &windows)).collect();
    Ok(ok(json!(data)))
}

/// `GET /api/v1/slos/<id>`
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let windows = st.slos.windows();
    let r = st.slos.get(&id).await.map_err(slo_error)?;
    Ok(ok(encode_report(&r, &windows)))
}

/// `GET /api/v1/slos/<id>/burndown`: remaining budget (1 = 100%) at
/// evenly spaced steps over the period ending now.
pub async fn burndown(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let b = st.slos.burndown(&id).await.map_err(slo_error)?;
    let points: Vec<Json_> = b
        .remaining
        .iter()
        .map(|(t, v)| json!([*t as f64 / 1000.0, v]))
        .collect();
    Ok(ok(json!({
        "id": b.id,
        "period": format_duration(b.period),
        "dataSince": b.data_since.map(|t| t as f64 / 1000.0),
        "remaining": points,
    })))
}
