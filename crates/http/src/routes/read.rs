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

/// Most series, label names or label values one metadata request answers
/// (422 naming it above; a smaller `limit=` truncates instead).
pub const MAX_METADATA_RESULTS: usize = 100_000;

/// Most raw samples `/api/v1/debug/samples` loads (or `query.max_samples`
/// when that is lower): the answer is JSON, about 30 bytes a sample.
pub const MAX_DEBUG_SAMPLES: usize = 5_000_000;

fn success(data: Value) -> Json<Value> {
    Json(json!({"status": "success", "data": data}))
}

/// Prometheus's `limit=`: at most that many results, with a warning when
/// some were left off; `0` or absent means no limit of the caller's own.
fn limit_param(p: &Params) -> Result<Option<usize>, ApiError> {
    match p.get("limit") {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<usize>() {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(ApiError::bad_data(format!(
                "invalid parameter \"limit\": cannot parse {s:?} to a non-negative integer"
            ))),
        },
    }
}

/// Cuts `items` to the caller's `limit=` (with Prometheus's warning) or
/// refuses more than [`MAX_METADATA_RESULTS`].
fn bounded<T>(
    mut items: Vec<T>,
    limit: Option<usize>,
    what: &str,
) -> Result<(Vec<T>, Option<&'static str>), ApiError> {
    match limit {
        Some(n) if n <= MAX_METADATA_RESULTS && items.len() > n => {
            items.truncate(n);
            Ok((items, Some("results truncated due to limit")))
        }
        _ if items.len() > MAX_METADATA_RESULTS => Err(ApiError::new(
            ErrorKind::LimitExceeded,
            format!(
                "more than {MAX_METADATA_RESULTS} {what} match (the server's limit per request); narrow match[], start and end, or pass limit="
            ),
        )),
        _ => Ok((items, None)),
    }
}

fn success_with(data: Value, warning: Option<&str>) -> Json<Value> {
    match warning {
        Some(w) => Json(json!({"status": "success", "data": data, "warnings": [w]})),
        None => success(data),
    }
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
    let limit = limit_param(&p)?;
    let (series, warning) = bounded(matching_series(&st, &p).await?, limit, "series")?;
    Ok(success_with(
        Value::Array(series.iter().map(labels_json).collect()),
        warning,
    ))
}

pub async fn labels(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let p = params(q, body).await?;
    let limit = limit_param(&p)?;
    let names =
        union_over_selectors(&st, &p, |q, m, start, end| q.label_names(m, start, end)).await?;
    let (names, warning) = bounded(names.into_iter().collect(), limit, "label names")?;
    Ok(success_with(json!(names), warning))
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
    let limit = limit_param(&p)?;
    let values = union_over_selectors(&st, &p, move |q, m, start, end| {
        q.label_values(&name, m, start, end)
    })
    .await?;
    let (values, warning) = bounded(values.into_iter().collect(), limit, "label values")?;
    Ok(success_with(json!(values), warning))
}

/// `GET /api/v1/debug/samples?match[]=…&start=…&end=…[&stale=1]`: every raw
/// sample of the matching series, in the matrix shape of a range query.
/// At most [`MAX_DEBUG_SAMPLES`] samples (422 naming the limit above) and
/// `limit=` series.
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
    let limit = limit_param(&p)?;
    let max_samples = st.query.engine.options().max_samples.min(MAX_DEBUG_SAMPLES);
    let querier = st.query.querier.clone();
    let too_many = move || StorageError::LimitExceeded {
        limit: "debug/samples",
        detail: format!("more than {max_samples} raw samples match; narrow match[], start and end"),
    };
    let series = blocking(move || {
        let mut all: std::collections::BTreeMap<Labels, Vec<homeostat_model::Sample>> =
            Default::default();
        // The limit holds across selectors: what one loaded counts
        // against the next.
        let mut loaded = 0;
        for m in selectors {
            let m: Vec<Matcher> = m;
            let left = max_samples.saturating_sub(loaded);
            let found = querier
                .select(&SelectRequest {
                    matchers: m,
                    mint: start,
                    maxt: end,
                    max_samples: Some(left),
                })
                .map_err(|e| match e {
                    StorageError::LimitExceeded { .. } => too_many(),
                    e => e,
                })?;
            for s in found {
                loaded += s.samples.len();
                all.insert(s.labels, s.samples);
            }
            if loaded > max_samples {
                return Err(too_many());
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
    let (result, warning) = bounded(result, limit, "series")?;
    Ok(success_with(
        json!({"resultType": "matrix", "result": result}),
        warning,
    ))
}
