//! `query:` (PromQL limits) and `query_backend:` (where PromQL and the read
//! APIs get their data: the embedded store or a remote Prometheus-compatible
//! server).

use std::collections::BTreeMap;

use homeostat_model::{FieldError, format_duration, parse_duration};
use serde::Deserialize;

use super::{duration_or, positive};

/// PromQL limits; each maps onto one `homeostat_promql::EngineOptions` field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySection {
    /// Longest a query may run (a request's `timeout` can only shorten it).
    pub timeout: Option<String>,
    /// Most samples one query may load.
    pub max_samples: Option<usize>,
    /// How far back an instant selector looks for a sample.
    pub lookback_delta: Option<String>,
    /// Most points per series a range query may return.
    pub max_points_per_series: Option<usize>,
    /// Most `/api/v1/query` + `query_range` evaluations at once.
    pub max_concurrency: Option<usize>,
    /// Most API queries waiting for a slot; more are answered 503.
    pub max_queued: Option<usize>,
    /// Longest an API query waits for a slot before a 503.
    pub queue_timeout: Option<String>,
}

impl QuerySection {
    pub(super) fn slots(
        &self,
    ) -> Result<homeostat_http::query_slots::QuerySlotOptions, FieldError> {
        let d = homeostat_http::query_slots::QuerySlotOptions::default();
        Ok(homeostat_http::query_slots::QuerySlotOptions {
            max_concurrency: positive(
                "query.max_concurrency",
                self.max_concurrency.unwrap_or(d.max_concurrency),
            )?,
            // Zero is allowed: no queue, a busy server answers 503 at once.
            max_queued: self.max_queued.unwrap_or(d.max_queued),
            queue_timeout: duration_or(
                "query.queue_timeout",
                &self.queue_timeout,
                &format_duration(d.queue_timeout),
            )?,
        })
    }

    pub(super) fn validate(&self) -> Result<homeostat_promql::EngineOptions, FieldError> {
        let d = homeostat_promql::EngineOptions::default();
        Ok(homeostat_promql::EngineOptions {
            timeout: duration_or("query.timeout", &self.timeout, &format_duration(d.timeout))?,
            lookback_delta: duration_or(
                "query.lookback_delta",
                &self.lookback_delta,
                &format_duration(d.lookback_delta),
            )?,
            max_samples: positive(
                "query.max_samples",
                self.max_samples.unwrap_or(d.max_samples),
            )?,
            max_points_per_series: positive(
                "query.max_points_per_series",
                self.max_points_per_series
                    .unwrap_or(d.max_points_per_series),
            )?,
            ..d
        })
    }
}

/// `query_backend:` — `{kind: embedded}` (default) or `{kind: remote,
/// read_url: ..., api_url: ..., timeout: 30s, headers: {...}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBackendSection {
    /// `embedded` or `remote`.
    pub kind: Option<String>,
    /// Remote-read endpoint, e.g. `http://prom:9090/api/v1/read`.
    pub read_url: Option<String>,
    /// `remote_read` (default) or `query` (raw samples through
    /// `/api/v1/query`; needed for VictoriaMetrics).
    pub read_api: Option<String>,
    /// HTTP API base, e.g. `http://prom:9090`; derived from `read_url` when
    /// that ends in `/api/v1/read`.
    pub api_url: Option<String>,
    /// Per-request deadline. Defaults to 30s.
    pub timeout: Option<String>,
    /// Sent with every request, e.g. `Authorization` or `X-Scope-OrgID`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Largest accepted response, decompressed. Defaults to 512 MiB.
    pub max_response_bytes: Option<usize>,
}

/// The validated query backend.
#[derive(Debug, Clone, Default)]
pub enum QueryBackend {
    /// Queries read the embedded store that ingestion writes to.
    #[default]
    Embedded,
    /// Queries read a remote Prometheus-compatible server; ingestion still
    /// writes to the embedded store.
    Remote(homeostat_remote::RemoteConfig),
}

impl QueryBackendSection {
    pub(super) fn validate(&self) -> Result<QueryBackend, FieldError> {
        self.backend().map_err(|e| e.under("query_backend"))
    }

    fn backend(&self) -> Result<QueryBackend, FieldError> {
        match self.kind.as_deref().unwrap_or("embedded") {
            "embedded" => {
                // Remote settings under `kind: embedded` are a mistake that would
                // otherwise go unnoticed until someone wonders why data is local.
                let stray = [
                    ("read_url", self.read_url.is_some()),
                    ("read_api", self.read_api.is_some()),
                    ("api_url", self.api_url.is_some()),
                    ("timeout", self.timeout.is_some()),
                    ("headers", !self.headers.is_empty()),
                    ("max_response_bytes", self.max_response_bytes.is_some()),
                ];
                if let Some((field, _)) = stray.iter().find(|(_, set)| *set) {
                    return Err(FieldError::new(*field, "only used with `kind: remote`"));
                }
                Ok(QueryBackend::Embedded)
            }
            "remote" => {
                let read_api = match self.read_api.as_deref() {
                    None => homeostat_remote::ReadApi::RemoteRead,
                    Some(s) => homeostat_remote::ReadApi::parse(s).ok_or_else(|| {
                        FieldError::new("read_api", format!("{s:?}: expected remote_read or query"))
                    })?,
                };
                let read_url = match (&self.read_url, read_api) {
                    (Some(u), _) => u.clone(),
                    (None, homeostat_remote::ReadApi::Query) => {
                        let api = self.api_url.clone().ok_or_else(|| {
                            FieldError::new("api_url", "required with `read_api: query`")
                        })?;
                        format!("{}/api/v1/read", api.trim_end_matches('/'))
                    }
                    (None, _) => {
                        return Err(FieldError::new("read_url", "required with `kind: remote`"));
                    }
                };
                let api_url = match &self.api_url {
                    Some(u) => u.clone(),
                    None => read_url
                        .trim_end_matches('/')
                        .strip_suffix("/api/v1/read")
                        .map(str::to_string)
                        .ok_or_else(|| {
                            FieldError::new(
                                "api_url",
                                "required when read_url does not end in /api/v1/read",
                            )
                        })?,
                };
                let mut rc = homeostat_remote::RemoteConfig::new(read_url, api_url);
                rc.read_api = read_api;
                if let Some(t) = &self.timeout {
                    rc.timeout =
                        parse_duration(t).map_err(|e| FieldError::new("timeout", e.to_string()))?;
                }
                if let Some(n) = self.max_response_bytes {
                    rc.max_response_bytes = n;
                }
                rc.headers = self
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                rc.validate()
                    .map_err(|e| FieldError::new(e.field, e.detail))?;
                Ok(QueryBackend::Remote(rc))
            }
            other => Err(FieldError::new(
                "kind",
                format!("{other:?}: expected embedded or remote"),
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::super::tests::parse;
    use super::*;

    #[test]
    fn query_section_maps_to_engine_options() {
        let d = parse("{}").unwrap().query;
        assert_eq!(d.timeout, Duration::from_secs(120));
        assert_eq!(d.lookback_delta, Duration::from_secs(300));
        assert_eq!(d.max_points_per_series, 11_000);
        let q = parse(
            "query: {timeout: 30s, max_samples: 1000, lookback_delta: 1m, max_points_per_series: 500}",
        )
        .unwrap()
        .query;
        assert_eq!(q.timeout, Duration::from_secs(30));
        assert_eq!(q.max_samples, 1000);
        assert_eq!(q.lookback_delta, Duration::from_secs(60));
        assert_eq!(q.max_points_per_series, 500);
        for (yaml, field) in [
            ("query: {timeout: 0s}", "query.timeout"),
            ("query: {max_samples: 0}", "query.max_samples"),
            ("query: {lookback_delta: soon}", "query.lookback_delta"),
            ("query: {max_points: 5}", "max_points"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{yaml}: {e}");
        }
    }

    #[test]
    fn query_backend() {
        assert!(matches!(
            parse("{}").unwrap().query_backend,
            QueryBackend::Embedded
        ));
        let c = parse(
            "query_backend: {kind: remote, read_url: 'http://prom:9090/api/v1/read', timeout: 5s, headers: {X-Scope-OrgID: t1}}",
        )
        .unwrap();
        let QueryBackend::Remote(r) = c.query_backend else {
            panic!("expected remote")
        };
        assert_eq!(r.api_url, "http://prom:9090");
        assert_eq!(r.read_api, homeostat_remote::ReadApi::RemoteRead);
        let QueryBackend::Remote(vm) =
            parse("query_backend: {kind: remote, api_url: 'http://vm:8428', read_api: query}")
                .unwrap()
                .query_backend
        else {
            panic!("expected remote")
        };
        assert_eq!(vm.read_api, homeostat_remote::ReadApi::Query);
        assert_eq!(r.timeout, Duration::from_secs(5));
        assert_eq!(
            r.headers,
            vec![("X-Scope-OrgID".to_string(), "t1".to_string())]
        );
        for (yaml, field) in [
            ("query_backend: {kind: remote}", "query_backend.read_url"),
            ("query_backend: {kind: mimir}", "query_backend.kind"),
            (
                "query_backend: {read_url: 'http://p/api/v1/read'}",
                "query_backend.read_url",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/read'}",
                "query_backend.api_url",
            ),
            (
                "query_backend: {kind: remote, read_url: 'p:9090/api/v1/read'}",
                "query_backend.read_url",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/api/v1/read', timeout: 0s}",
                "query_backend.timeout",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/api/v1/read', timeout: soon}",
                "query_backend.timeout",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/api/v1/read', headers: {'a b': x}}",
                "query_backend.headers.a b",
            ),
            ("query_backend: {kind: remote, raed_url: x}", "raed_url"),
            (
                "query_backend: {kind: remote, read_api: query}",
                "query_backend.api_url",
            ),
            (
                "query_backend: {kind: remote, api_url: 'http://vm:8428', read_api: grpc}",
                "query_backend.read_api",
            ),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{yaml}: {e}");
        }
    }
}
