//! [`RemoteQuerier`]: the storage read contract over remote-read and the
//! Prometheus HTTP API.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

use homeostat_model::{Label, Labels, Sample, Timestamp, is_valid_label_name};
use homeostat_storage::{MatchOp, Matcher, Querier, SelectRequest, Series, StorageError};
use homeostat_wire::WireError;
use homeostat_wire::remote_read::{
    self, LabelMatcher, MatcherType, Query, ReadRequest, ResponseType,
};
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, USER_AGENT};
use serde::Deserialize;

use crate::config::{ReadApi, RemoteConfig, RemoteConfigError};
use crate::error;
use crate::selector::render_selector;

/// Reads from a remote Prometheus-compatible server. Cheap to share behind an
/// `Arc`; requests from many threads share one connection pool.
pub struct RemoteQuerier {
    read_url: String,
    read_api: ReadApi,
    api_url: String,
    timeout: Duration,
    headers: HeaderMap,
    max_response_bytes: usize,
    /// Built on first use: reqwest's blocking client cannot be created on an
    /// async runtime thread, and the server constructs backends there, while
    /// queries always run on blocking threads.
    client: OnceLock<Result<Client, String>>,
}

impl std::fmt::Debug for RemoteQuerier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers are left out: they usually carry credentials.
        f.debug_struct("RemoteQuerier")
            .field("read_url", &self.read_url)
            .field("api_url", &self.api_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RemoteQuerier {
    /// Validates the settings; makes no request, so a remote that is down at
    /// startup only fails the queries made while it is down.
    pub fn new(cfg: RemoteConfig) -> Result<Self, RemoteConfigError> {
        let (read_url, api_url, headers) = cfg.check()?;
        Ok(Self {
            read_url,
            read_api: cfg.read_api,
            api_url,
            timeout: cfg.timeout,
            headers,
            max_response_bytes: cfg.max_response_bytes,
            client: OnceLock::new(),
        })
    }

    pub fn read_url(&self) -> &str {
        &self.read_url
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn read_api(&self) -> ReadApi {
        self.read_api
    }

    pub(crate) fn client(&self) -> Result<&Client, StorageError> {
        let built = self.client.get_or_init(|| {
            Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout.min(Duration::from_secs(10)))
                .default_headers(self.headers.clone())
                .build()
                .map_err(|e| e.to_string())
        });
        built.as_ref().map_err(|e| {
            StorageError::Unavailable(format!(
                "remote {}: cannot create http client: {e}",
                self.read_url
            ))
        })
    }

    /// The body of a 2xx response, at most `max_response_bytes`; otherwise
    /// the error for the status, naming the URL.
    pub(crate) fn body(&self, url: &str, resp: Response) -> Result<Vec<u8>, StorageError> {
        let status = resp.status();
        let limit = self.max_response_bytes;
        if status.is_success()
            && let Some(len) = resp.content_length()
            && len > limit as u64
        {
            return Err(error::too_large(url, limit));
        }
        let mut buf = Vec::new();
        resp.take(limit as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| StorageError::Unavailable(format!("remote {url}: reading body: {e}")))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&buf);
            // Prometheus answers API errors with a JSON envelope; show its message.
            let detail = serde_json::from_str::<Envelope<serde_json::Value>>(&text)
                .ok()
                .and_then(|e| e.error)
                .unwrap_or_else(|| text.into_owned());
            return Err(error::status(url, status, &detail));
        }
        if buf.len() > limit {
            return Err(error::too_large(url, limit));
        }
        Ok(buf)
    }

    pub(crate) fn api<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, StorageError> {
        let url = format!("{}{path}", self.api_url);
        let resp = self
            .client()?
            .get(&url)
            .header(USER_AGENT, user_agent())
            .query(query)
            .send()
            .map_err(|e| error::transport(&url, &e))?;
        let body = self.body(&url, resp)?;
        let env: Envelope<T> =
            serde_json::from_slice(&body).map_err(|e| error::bad_response(&url, e))?;
        match (env.status.as_str(), env.data) {
            ("success", Some(data)) => Ok(data),
            _ => Err(error::bad_response(
                &url,
                format!(
                    "status {:?}: {}",
                    env.status,
                    env.error.unwrap_or_else(|| "no data".into())
                ),
            )),
        }
    }

    fn range_params(
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !matchers.is_empty() {
            q.push(("match[]", render_selector(matchers)));
        }
        q.push(("start", api_time(mint)));
        q.push(("end", api_time(maxt)));
        q
    }
}

/// Prometheus's JSON envelope.
#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    error: Option<String>,
}

fn user_agent() -> String {
    format!("homeostat/{}", env!("CARGO_PKG_VERSION"))
}

/// Milliseconds as the API's decimal seconds. Clamped to ±126,000 years: the
/// storage contract uses `i64::MIN/MAX` for "all time", which Prometheus
/// would otherwise misread after its float conversion.
pub(crate) fn api_time(ms: Timestamp) -> String {
    const LIMIT: i64 = 4_000_000_000_000_000;
    let ms = ms.clamp(-LIMIT, LIMIT);
    // |ms| < 2^53, so the division and 3-decimal rounding are exact.
    format!("{:.3}", ms as f64 / 1000.0)
}

fn pb_matcher(m: &Matcher) -> LabelMatcher {
    let t = match m.op {
        MatchOp::Equal => MatcherType::Eq,
        MatchOp::NotEqual => MatcherType::Neq,
        MatchOp::RegexMatch => MatcherType::Re,
        MatchOp::RegexNoMatch => MatcherType::Nre,
    };
    LabelMatcher {
        r#type: t as i32,
        name: m.name.clone(),
        value: m.value.clone(),
    }
}

impl Querier for RemoteQuerier {
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
        if req.mint > req.maxt {
            return Ok(Vec::new());
        }
        if self.read_api == ReadApi::Query {
            return crate::query_api::select(self, req);
        }
        let url = &self.read_url;
        let body = remote_read::encode_request(&ReadRequest {
            queries: vec![Query {
                start_timestamp_ms: req.mint,
                end_timestamp_ms: req.maxt,
                matchers: req.matchers.iter().map(pb_matcher).collect(),
                hints: None,
            }],
            accepted_response_types: vec![ResponseType::Samples as i32],
        });
        let resp = self
            .client()?
            .post(url)
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(CONTENT_ENCODING, "snappy")
            .header(remote_read::VERSION_HEADER, remote_read::VERSION)
            .header(USER_AGENT, user_agent())
            .body(body)
            .send()
            .map_err(|e| error::transport(url, &e))?;
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = self.body(url, resp)?;
        if content_type.starts_with("application/x-streamed-protobuf") {
            return Err(error::bad_response(
                url,
                "server sent streamed chunks although only SAMPLES was accepted",
            ));
        }
        let decoded =
            remote_read::decode_response(&body, self.max_response_bytes).map_err(|e| match e {
                WireError::TooLarge { limit, .. } => error::too_large(url, limit),
                e => error::bad_response(url, e),
            })?;
        if decoded.results.len() != 1 {
            return Err(error::bad_response(
                url,
                format!("{} results for 1 query", decoded.results.len()),
            ));
        }
        let pb = decoded
            .results
            .into_iter()
            .flat_map(|r| r.timeseries)
            .collect();
        let series = remote_read::series_from_pb(pb).map_err(|e| error::bad_response(url, e))?;
        let mut out = merge(series, req.mint, req.maxt);
        check_max_samples(&out, req.max_samples, url)?;
        out.shrink_to_fit();
        Ok(out)
    }

    fn series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError> {
        let q = Self::range_params(matchers, mint, maxt);
        let q = if matchers.is_empty() {
            // /api/v1/series requires a selector.
            let mut with = vec![("match[]", render_selector(&[]))];
            with.extend(q);
            with
        } else {
            q
        };
        let raw: Vec<BTreeMap<String, String>> = self.api("/api/v1/series", &q)?;
        let url = format!("{}/api/v1/series", self.api_url);
        let mut out = Vec::with_capacity(raw.len());
        for m in raw {
            let labels = Labels::new(m.into_iter().map(|(n, v)| Label::new(n, v)).collect())
                .map_err(|e| error::bad_response(&url, e))?;
            out.push(labels);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let mut names: Vec<String> =
            self.api("/api/v1/labels", &Self::range_params(matchers, mint, maxt))?;
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        // The name goes into the URL path; a valid label name needs no escaping.
        if !is_valid_label_name(name) {
            return Err(StorageError::InvalidInput(format!(
                "invalid label name {name:?}"
            )));
        }
        let mut values: Vec<String> = self.api(
            &format!("/api/v1/label/{name}/values"),
            &Self::range_params(matchers, mint, maxt),
        )?;
        values.retain(|v| !v.is_empty());
        values.sort();
        values.dedup();
        Ok(values)
    }
}

pub(crate) fn check_max_samples(
    out: &[Series],
    max: Option<usize>,
    url: &str,
) -> Result<(), StorageError> {
    if let Some(max) = max {
        let n: usize = out.iter().map(|s| s.samples.len()).sum();
        if n > max {
            return Err(StorageError::LimitExceeded {
                limit: "max_samples",
                detail: format!(
                    "query would load {n} samples from {url}, more than the limit of {max}"
                ),
            });
        }
    }
    Ok(())
}

/// Keeps samples in `[mint, maxt]`, drops series left empty, sorts by
/// labels and merges series that arrive twice (a remote fanning out to
/// replicas may send the same label set more than once).
pub(crate) fn merge(mut series: Vec<Series>, mint: Timestamp, maxt: Timestamp) -> Vec<Series> {
    for s in &mut series {
        s.samples.retain(|x| x.t >= mint && x.t <= maxt);
    }
    series.retain(|s| !s.samples.is_empty());
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match out.last_mut() {
            Some(last) if last.labels == s.labels => {
                last.samples.extend(s.samples);
                last.samples.sort_by_key(|x: &Sample| x.t);
                last.samples.dedup_by_key(|x| x.t);
            }
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_time_is_decimal_seconds_and_clamped() {
        assert_eq!(api_time(1_700_000_000_123), "1700000000.123");
        assert_eq!(api_time(-1), "-0.001");
        assert_eq!(api_time(-1500), "-1.500");
        assert_eq!(api_time(0), "0.000");
        assert_eq!(api_time(i64::MAX), "4000000000000.000");
        assert_eq!(api_time(i64::MIN), "-4000000000000.000");
    }

    #[test]
    fn merge_sorts_filters_and_dedups() {
        let s = |name: &str, ts: &[i64]| Series {
            labels: Labels::from_pairs(&[("__name__", name)]),
            samples: ts.iter().map(|&t| Sample::new(t, t as f64)).collect(),
        };
        let out = merge(
            vec![
                s("b", &[1, 5]),
                s("a", &[2, 3]),
                s("b", &[2, 5]),
                s("c", &[100]),
            ],
            0,
            10,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], s("a", &[2, 3]));
        assert_eq!(out[1], s("b", &[1, 2, 5]));
    }
}
