//! The service catalog (`GET /api/v1/catalog`): one entry per service —
//! every service with golden signals recorded and every service an SLO
//! names — with its SLOs' budgets, the four golden signals over the last
//! hour, open incidents, last deploys and the gate's answer. The console's
//! home page is drawn from this one call.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use homeostat_promql::{QueryParams, Value as PromValue};
use homeostat_state::{DeployFilter, IncidentFilter, IncidentState};
use serde_json::{Value, json};

use crate::params::Params;
use crate::routes::incidents::encode_incident;
use crate::routes::release::{deploy_json, gate_answer, ok};
use crate::{ApiError, AppState};

/// The sparklines cover the last hour, one point a minute.
const SPARK_RANGE_MS: i64 = 3_600_000;
const SPARK_STEP: Duration = Duration::from_secs(60);
const DEFAULT_DEPLOYS: usize = 5;
const MAX_DEPLOYS: usize = 50;
const KNOWN_PARAMS: [&str; 2] = ["service", "deploys"];

/// The series the `services:` golden-signal rules record (see
/// `homeostat_slo::ServiceSignals::rules`).
const TRAFFIC: &str = "service:requests:rate5m";
const ERRORS: &str = "service:request_errors:ratio_rate5m";
const LATENCY: &str = "service:request_latency_seconds:quantile";
const SATURATION: &str = "service:saturation:ratio";

/// The golden signals as the catalog names them, with the recorded series
/// each is read from (latency: the p99 of successful requests).
fn signal_queries() -> [(&'static str, String); 4] {
    [
        ("traffic", TRAFFIC.to_string()),
        ("errors", ERRORS.to_string()),
        (
            "latency",
            format!("{}{{quantile=\"0.99\", outcome=\"success\"}}", LATENCY),
        ),
        ("saturation", SATURATION.to_string()),
    ]
}

struct Query {
    service: Option<String>,
    deploys: usize,
}

fn parse(q: Option<&str>) -> Result<Query, ApiError> {
    let p = Params::parse(q, b"");
    let raw = form_urlencoded::parse(q.unwrap_or("").as_bytes());
    for (k, _) in raw {
        if !KNOWN_PARAMS.contains(&k.as_ref()) {
            return Err(ApiError::bad_data(format!(
                "unknown parameter {k:?}; the catalog takes service= and deploys="
            )));
        }
    }
    let service = match p.get("service") {
        None => None,
        Some(s) if s.trim().is_empty() => {
            return Err(ApiError::bad_data(
                "service: empty; give a service name or leave the parameter out",
            ));
        }
        Some(s) => Some(s.to_string()),
    };
    let deploys = match p.get("deploys") {
        None => DEFAULT_DEPLOYS,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_DEPLOYS).contains(n))
            .ok_or_else(|| {
                ApiError::bad_data(format!(
                    "deploys: {s:?} is not a number from 1 to {MAX_DEPLOYS}"
                ))
            })?,
    };
    Ok(Query { service, deploys })
}

/// Per signal, per service: the points of the last hour.
type Signals = BTreeMap<String, BTreeMap<&'static str, Vec<(i64, f64)>>>;

fn measure_signals(
    engine: &homeostat_promql::Engine,
    q: &dyn homeostat_storage::Querier,
    now: i64,
) -> Signals {
    let mut out = Signals::new();
    for (name, expr) in signal_queries() {
        let Ok(res) = engine.range_query(
            q,
            &expr,
            now - SPARK_RANGE_MS,
            now,
            SPARK_STEP,
            &QueryParams::default(),
        ) else {
            continue;
        };
        let PromValue::Matrix(m) = res.value else {
            continue;
        };
        for s in m {
            let Some(service) = s.labels.get("service") else {
                continue;
            };
            let pts = s
                .samples
                .iter()
                .filter(|p| p.v.is_finite())
                .map(|p| (p.t, p.v))
                .collect();
            out.entry(service.to_string())
                .or_default()
                .insert(name, pts);
        }
    }
    out
}

fn signal_json(name: &str, expr: &str, service: &str, pts: Option<&Vec<(i64, f64)>>) -> Value {
    // The query behind the number, for the console's query page.
    let (metric, rest) = expr.split_once('{').unwrap_or((expr, "}"));
    let matchers = rest.trim_end_matches('}');
    let sep = if matchers.is_empty() { "" } else { ", " };
    let query = format!("{metric}{{service={service:?}{sep}{matchers}}}");
    let points: Vec<Value> = pts
        .map(|p| {
            p.iter()
                .map(|(t, v)| json!([*t as f64 / 1000.0, v]))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "name": name,
        "query": query,
        "value": pts.and_then(|p| p.last()).map(|(_, v)| *v),
        "points": points,
    })
}

/// Whether any incident or deploy names `service`.
async fn has_history(st: &AppState, service: &str) -> Result<bool, ApiError> {
    let deploys = st
        .release
        .list(DeployFilter {
            service: Some(service.to_string()),
            limit: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| ApiError::rest(e.kind(), e.to_string()))?;
    if !deploys.is_empty() {
        return Ok(true);
    }
    let (incidents, svc) = (st.incidents.clone(), service.to_string());
    tokio::task::spawn_blocking(move || {
        incidents
            .service()
            .store()
            .list(&IncidentFilter {
                service: Some(svc),
                limit: Some(1),
                ..Default::default()
            })
            .map(|found| !found.is_empty())
            .map_err(|e| ApiError::rest(e.kind(), e.to_string()))
    })
    .await
    .map_err(|e| ApiError::new(ErrorKind::Internal, format!("catalog task failed: {e}")))?
}

/// `GET /api/v1/catalog?service=&deploys=`
pub async fn catalog(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let want = parse(q.as_deref())?;
    let meter = st.slos.clone();
    let now = meter.now();
    let slos = meter.specs();
    let slos2 = slos.clone();
    let (engine, querier) = (st.query.engine.clone(), st.query.querier.clone());
    let (signals, budgets) = tokio::task::spawn_blocking(move || {
        let signals = measure_signals(&engine, querier.as_ref(), now);
        let budgets: Vec<Value> = slos2
            .iter()
            .map(|spec| {
                let (s, firing) = meter.measure(spec, now);
                json!({
                    "id": spec.id, "name": spec.name, "service": spec.service,
                    "objective": s.objective,
                    "sli": s.sli.filter(|v| v.is_finite()),
                    "remaining": s.remaining.filter(|v| v.is_finite()),
                    "firing": firing,
                })
            })
            .collect();
        (signals, budgets)
    })
    .await
    .map_err(|e| ApiError::new(ErrorKind::Internal, format!("catalog task failed: {e}")))?;

    let mut names: BTreeSet<String> = signals.keys().cloned().collect();
    names.extend(slos.iter().map(|s| s.service.clone()));
    names.extend(st.gate.policies().iter().map(|p| p.service.clone()));
    if let Some(s) = &want.service {
        // A service without SLOs or signals still has a page when incidents
        // or deploys name it (an incident links to its service).
        if !names.contains(s) && !has_history(&st, s).await? {
            return Err(ApiError::rest(
                ErrorKind::NotFound,
                format!(
                    "unknown service {s:?}: no SLO, golden signal, gate policy, incident or deploy names it"
                ),
            ));
        }
        names = BTreeSet::from([s.clone()]);
    }

    let incidents = st.incidents.clone();
    let open = tokio::task::spawn_blocking(move || {
        incidents
            .service()
            .store()
            .list(&IncidentFilter {
                states: vec![
                    IncidentState::Triggered,
                    IncidentState::Acknowledged,
                    IncidentState::Mitigated,
                ],
                limit: Some(500),
                ..Default::default()
            })
            .map_err(|e| ApiError::rest(e.kind(), e.to_string()))
    })
    .await
    .map_err(|e| ApiError::new(ErrorKind::Internal, format!("catalog task failed: {e}")))??;
    let deploys = st
        .release
        .latest_per_service(names.iter().cloned().collect(), want.deploys)
        .await
        .map_err(|e| ApiError::rest(e.kind(), e.to_string()))?;

    let mut services = Vec::new();
    for name in &names {
        let gate = match gate_answer(&st, name.clone(), None).await {
            Ok(v) => v,
            Err(e) if e.kind == ErrorKind::NotFound => Value::Null,
            Err(e) => json!({"error": e.message}),
        };
        let sig = signals.get(name);
        services.push(json!({
            "name": name,
            "goldenSignals": sig.is_some(),
            "slos": budgets.iter().filter(|b| b["service"] == name.as_str()).collect::<Vec<_>>(),
            "signals": signal_queries().iter().map(|(n, expr)| {
                signal_json(n, expr, name, sig.and_then(|s| s.get(n)))
            }).collect::<Vec<_>>(),
            "incidents": open.iter()
                .filter(|i| i.service.as_deref() == Some(name.as_str()))
                .map(encode_incident)
                .collect::<Vec<_>>(),
            "deploys": deploys.get(name).map(|d| d.iter().map(deploy_json).collect::<Vec<_>>()).unwrap_or_default(),
            "gate": gate,
        }));
    }
    Ok(ok(json!({
        "generatedAt": rfc3339(now),
        "services": services,
    })))
}
