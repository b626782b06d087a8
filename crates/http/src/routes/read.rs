//! Read paths with Prometheus's JSON envelopes: series, label names and
//! values, and the raw-sample debug endpoint.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use homeostat_model::{ErrorKind, Labels, is_stale_nan};
use homeostat_storage::{Matcher, SelectRequest};
use serde_json::{Value, json};

use crate::params::Params;
use crate::routes::read_body;
use crate::{ApiError, AppState};

const MIN_TIME: i64 = i64::MIN / 2;
const MAX_TIME: i64 = i64::MAX / 2;

fn success(data: Value) -> Json<Value> {
    Json(json!({"status": "success", "data": data}))
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.clone(), Value::String(l.value.clone())))
            .collect(),
    )
}

/// Formats a sample value as Prometheus does in JSON.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

async fn params(query: Option<String>, body: Body) -> Result<Params, ApiError> {
    let body = read_body(body, 1 << 20).await?;
    Ok(Params::parse(query.as_deref(), &body))
}

/// Runs a storage call off the async runtime, mapping its error.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, homeostat_storage::StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(|e| ApiError::new(e.kind(), e.to_string()))
}

/// Union over selectors of the label sets they match (all series when none).
async fn matching_series(st: &AppState, p: &Params) -> Result<Vec<Labels>, ApiError> {
    let (start, end) = (p.time("start", MIN_TIME)?, p.time("end", MAX_TIME)?);
    let selectors = p.selectors()?;
    let storage = st.storage.clone();
    blocking(move || {
        let mut out = std::collections::BTreeSet::new();
        if selectors.is_empty() {
            out.extend(storage.series(&[], start, end)?);
        }
        for m in selectors {
            out.extend(storage.series(&m, start, end)?);
        }
        Ok(out.into_iter().collect())
    })
    .await
}

pub async fn series(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let p = params(q, body).await?;
    if p.all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let series = matching_series(&st, &p).await?;
    Ok(success(Value::Array(
        series.iter().map(labels_json).collect(),
    )))
}

pub async fn labels(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let p = params(q, body).await?;
    let names: std::collections::BTreeSet<String> = matching_series(&st, &p)
        .await?
        .iter()
        .flat_map(|l| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
        .collect();
    Ok(success(json!(names)))
}

pub async fn label_values(
    State(st): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    if !homeostat_model::is_valid_label_name(&name) {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let p = params(q, body).await?;
    let values: std::collections::BTreeSet<String> = matching_series(&st, &p)
        .await?
        .iter()
        .filter_map(|l| l.get(&name).map(str::to_string))
        .collect();
    Ok(success(json!(values)))
}

/// `GET /api/v1/debug/samples?match[]=…&start=…&end=…[&stale=1]`: every raw
/// sample of the matching series, in the matrix shape of a range query.
pub async fn debug_samples(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), b"");
    let (start, end) = (p.time("start", MIN_TIME)?, p.time("end", MAX_TIME)?);
    let selectors = p.selectors()?;
    if selectors.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let with_stale = matches!(p.get("stale"), Some("1" | "true"));
    let storage = st.storage.clone();
    let series = blocking(move || {
        let mut all: std::collections::BTreeMap<Labels, Vec<homeostat_model::Sample>> =
            Default::default();
        for m in selectors {
            let m: Vec<Matcher> = m;
            for s in storage.select(&SelectRequest {
                matchers: m,
                mint: start,
                maxt: end,
                max_samples: Some(50_000_000),
            })? {
                all.insert(s.labels, s.samples);
            }
        }
        Ok(all)
    })
    .await?;
    let result: Vec<Value> = series
        .into_iter()
        .filter_map(|(labels, samples)| {
            let values: Vec<Value> = samples
                .iter()
                .filter(|s| with_stale || !is_stale_nan(s.v))
                .map(|s| {
                    json!([
                        s.t as f64 / 1000.0,
                        if is_stale_nan(s.v) {
                            "stale".to_string()
                        } else {
                            format_value(s.v)
                        }
                    ])
                })
                .collect();
            (!values.is_empty()).then(|| json!({"metric": labels_json(&labels), "values": values}))
        })
        .collect();
    Ok(success(json!({"resultType": "matrix", "result": result})))
}
