//! `select` through `/api/v1/query` for servers without remote-read
//! (VictoriaMetrics): an instant query of `{matchers}[range]` at `maxt`
//! answers the raw samples in the range as a matrix, on Prometheus, Mimir,
//! Thanos and VictoriaMetrics alike.

use std::collections::BTreeMap;

use homeostat_model::{Label, Labels, Sample};
use homeostat_storage::{SelectRequest, Series, StorageError};
use serde::Deserialize;

use crate::error;
use crate::querier::{RemoteQuerier, api_time, check_max_samples, merge};
use crate::selector::render_selector;

/// Ranges longer than this are cut to it: Go's `time.Duration` (which the
/// servers parse ranges into) ends near 292 years.
const MAX_RANGE_MS: i64 = 200 * 365 * 86_400_000;

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<MatrixSeries>,
}

#[derive(Deserialize)]
struct MatrixSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// The PromQL text and evaluation time for `req`: the range is one
/// millisecond wider than `maxt - mint`, so `mint` is inside whether the
/// server's range is left-open (Prometheus 3, VictoriaMetrics) or closed
/// (Prometheus 2); `merge` trims the extra millisecond.
pub(crate) fn query_for(req: &SelectRequest) -> (String, String) {
    let range = req
        .maxt
        .saturating_sub(req.mint)
        .saturating_add(1)
        .clamp(1, MAX_RANGE_MS);
    (
        format!("{}[{range}ms]", render_selector(&req.matchers)),
        api_time(req.maxt),
    )
}

pub(crate) fn select(q: &RemoteQuerier, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
    let url = format!("{}/api/v1/query", q.api_url());
    let (expr, time) = query_for(req);
    let data: QueryData = q.api("/api/v1/query", &[("query", expr), ("time", time)])?;
    if data.result_type != "matrix" {
        return Err(error::bad_response(
            &url,
            format!("resultType {:?}, expected matrix", data.result_type),
        ));
    }
    let mut series = Vec::with_capacity(data.result.len());
    let mut loaded = 0usize;
    for m in data.result {
        let labels = Labels::new(
            m.metric
                .into_iter()
                .map(|(n, v)| Label::new(n, v))
                .collect(),
        )
        .map_err(|e| error::bad_response(&url, e))?;
        let mut samples = Vec::with_capacity(m.values.len());
        for (t, v) in m.values {
            let v: f64 = v
                .parse()
                .map_err(|_| error::bad_response(&url, format!("sample value {v:?}")))?;
            samples.push(Sample::new((t * 1000.0).round() as i64, v));
        }
        loaded += samples.len();
        // Checked as we go, so a huge answer fails before it is all built.
        if let Some(max) = req.max_samples
            && loaded > max
        {
            return Err(StorageError::LimitExceeded {
                limit: "max_samples",
                detail: format!("query would load more than {max} samples from {url}, the limit"),
            });
        }
        samples.sort_by_key(|s: &Sample| s.t);
        series.push(Series { labels, samples });
    }
    let mut out = merge(series, req.mint, req.maxt);
    check_max_samples(&out, req.max_samples, &url)?;
    out.shrink_to_fit();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use homeostat_storage::Matcher;

    use super::*;

    #[test]
    fn range_covers_mint_and_is_clamped() {
        let req = SelectRequest::new(vec![Matcher::equal("__name__", "up")], 1_000, 61_000);
        let (q, t) = query_for(&req);
        assert_eq!(q, r#"{__name__="up"}[60001ms]"#);
        assert_eq!(t, "61.000");
        let all = SelectRequest::new(vec![Matcher::equal("__name__", "up")], i64::MIN, 0);
        assert_eq!(
            query_for(&all).0,
            format!(r#"{{__name__="up"}}[{MAX_RANGE_MS}ms]"#)
        );
        assert!("+Inf".parse::<f64>().unwrap().is_infinite());
        assert!("NaN".parse::<f64>().unwrap().is_nan());
    }
}
