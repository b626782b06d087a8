//! Read paths with Prometheus's JSON envelopes: series, label names and
//! values, and the raw-sample debug endpoint.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use homeostat_model::{ErrorKind, Labels, is_stale_nan};
use homeostat_storage::{Matcher, Querier, SelectRequest, StorageError};
use serde_json::{Value, json};

use crate::encode::format_value;
use crate::params::{Params, Path};
use crate::routes::params;
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

/// Runs a storage call off the async runtime, mapping its error.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, homeostat_storage::StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(|e| ApiError::new(e.kind(), e.to_string()))
}

/// The `start`/`end` window of a metadata request (everything when absent).
fn window(p: &Params) -> Result<(i64, i64), ApiError> {
    Ok((p.time("start", MIN_TIME)?, p.time("end", MAX_TIME)?))
}

/// Union over selectors of the label sets they match (all series when none).
async fn matching_series(st: &AppState, p: &Params) -> Result<Vec<Labels>, ApiError> {
    let (start, end) = window(p)?;
    let selectors = p.selectors()?;
    let querier = st.query.querier.clone();
    blocking(move || {
        let mut out = BTreeSet::new();
        if selectors.is_empty() {
            out.extend(querier.series(&[], start, end)?);
        }
        for m in selectors {
            out.extend(querier.series(&m, start, end)?);
        }
        Ok(out.into_iter().collect())
    })
    .await
}

/// Union over selectors of what `f` answers for each (for all series when
/// there is none): label names or one label's values.
async fn union_over_selectors(
    st: &AppState,
    p: &Params,
    f: impl Fn(&dyn Querier, &[Matcher], i64, i64) -> Result<Vec<String>, StorageError> + Send + 'static,
) -> Result<BTreeSet<String>, ApiError> {
    let (start, end) = window(p)?;
    let mut selectors = p.selectors()?;
    if selectors.is_empty() {
        selectors.push(Vec::new());
    }
    let querier = st.query.querier.clone();
    blocking(move || {
        let mut out = BTreeSet::new();
        for m in selectors {
            out.extend(f(&*querier, &m, start, end)?);
        }
        Ok(out)
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
    let names =
        union_over_selectors(&st, &p, |q, m, start, end| q.label_names(m, start, end)).await?;
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
    let values = union_over_selectors(&st, &p, move |q, m, start, end| {
        q.label_values(&name, m, start, end)
    })
    .await?;
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
    let querier = st.query.querier.clone();
    let series = blocking(move || {
        let mut all: std::collections::BTreeMap<Labels, Vec<homeostat_model::Sample>> =
            Default::default();
        for m in selectors {
            let m: Vec<Matcher> = m;
            for s in querier.select(&SelectRequest {
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
