//! The service catalog (`GET /api/v1/catalog`): one entry per service —
//! every service with golden signals recorded and every service an SLO
//! names — with its SLOs' budgets, the four golden signals over the last
//! hour (from `homeostat_app::SignalService`), open incidents, last deploys
//! and the gate's answer. The console's home page is drawn from this one
//! call.

mod signals;

pub use signals::signals;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use homeostat_app::{Range, SIGNALS, SignalKind, SignalService};
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use homeostat_state::{DeployFilter, IncidentFilter, IncidentState};
use serde_json::{Value, json};

use crate::params::Params;
use crate::routes::incidents::encode_incident;
use crate::routes::release::{deploy_json, gate_answer, ok};
use crate::{ApiError, AppState};

/// The sparklines cover the last hour, one point a minute.
const SPARK_RANGE: Duration = Duration::from_secs(3600);
const SPARK_POINTS: u32 = 60;
const DEFAULT_DEPLOYS: usize = 5;
const MAX_DEPLOYS: usize = 50;
const KNOWN_PARAMS: [&str; 2] = ["service", "deploys"];

/// The one series of a signal a card shows: latency is the p99 of
/// successful requests.
fn card_series(kind: SignalKind) -> &'static [(&'static str, &'static str)] {
    if kind.name == "latency" {
        &[("quantile", "0.99"), ("outcome", "success")]
    } else {
        &[]
    }
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

/// Per service, per signal: the points of the last hour.
type Signals = BTreeMap<String, BTreeMap<&'static str, Vec<(i64, f64)>>>;

fn measure_signals(signals: &SignalService, now: i64) -> Signals {
    let range = Range::last(SPARK_RANGE, now, SPARK_POINTS);
    let mut out = Signals::new();
    for kind in SIGNALS {
        let want = card_series(kind);
        for (service, series) in signals.all(kind, range) {
            let Some(s) = series.into_iter().find(|s| {
                want.iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            }) else {
                continue;
            };
            out.entry(service).or_default().insert(kind.name, s.points);
        }
    }
    out
}

fn signal_json(kind: SignalKind, service: &str, pts: Option<&Vec<(i64, f64)>>) -> Value {
    // The query behind the number, for the console's query page.
    let mut matchers = vec![format!("service={service:?}")];
    matchers.extend(card_series(kind).iter().map(|(k, v)| format!("{k}={v:?}")));
    let query = format!("{}{{{}}}", kind.metric, matchers.join(", "));
    let points: Vec<Value> = pts
        .map(|p| {
            p.iter()
                .map(|(t, v)| json!([*t as f64 / 1000.0, v]))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "name": kind.name,
        "title": kind.title,
        "query": query,
        "value": pts.and_then(|p| p.last()).map(|(_, v)| *v),
        "points": points,
    })
}

/// A card's signals in the order it shows them: traffic, errors, p99
/// latency, saturation.
fn card_signals(
    service: &str,
    sig: Option<&BTreeMap<&'static str, Vec<(i64, f64)>>>,
) -> Vec<Value> {
    [SIGNALS[1], SIGNALS[2], SIGNALS[0], SIGNALS[3]]
        .iter()
        .map(|&kind| signal_json(kind, service, sig.and_then(|s| s.get(kind.name))))
        .collect()
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
    let signal_service = st.signals.clone();
    let (signals, budgets) = tokio::task::spawn_blocking(move || {
        let signals = measure_signals(&signal_service, now);
        let budgets: Vec<Value> = slos2
            .iter()
            .map(|spec| {
                let (s, firing) = meter.measure(spec, now);
                let since = meter.data_since(spec, now, s.sli.is_some());
                let based_on = homeostat_app::based_on(since, now, homeostat_app::period_of(spec));
                json!({
                    "id": spec.id, "name": spec.name, "service": spec.service,
                    "objective": s.objective,
                    "sli": s.sli.filter(|v| v.is_finite()),
                    "remaining": s.remaining.filter(|v| v.is_finite()),
                    "exhausted": s.exhausted,
                    "overspend": s.overspend.filter(|v| v.is_finite()),
                    "basedOnSeconds": based_on.map(|d| d.as_secs()),
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
            "signals": card_signals(name, sig),
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
