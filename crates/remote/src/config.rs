//! Settings for a remote backend, validated before any request is made.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// How `select` reads raw samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadApi {
    /// Prometheus remote-read (Prometheus, Mimir, Thanos).
    #[default]
    RemoteRead,
    /// An instant query of `{matchers}[range]` at the end of the range
    /// through `/api/v1/query`, which answers raw samples as a matrix: works
    /// on every engine, and is the only way on VictoriaMetrics, which has no
    /// remote-read endpoint.
    Query,
}

impl ReadApi {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "remote_read" => Some(Self::RemoteRead),
            "query" => Some(Self::Query),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RemoteRead => "remote_read",
            Self::Query => "query",
        }
    }
}

/// Where and how to reach the remote server.
#[derive(Clone)]
pub struct RemoteConfig {
    /// The remote-read endpoint, e.g. `http://prom:9090/api/v1/read`;
    /// unused (may be empty) with [`ReadApi::Query`].
    pub read_url: String,
    /// How `select` reads samples.
    pub read_api: ReadApi,
    /// The base of the HTTP API, e.g. `http://prom:9090` (`/api/v1/...` is appended).
    pub api_url: String,
    /// Deadline for one whole request, connect to last byte.
    pub timeout: Duration,
    /// Sent with every request (authentication, tenant ids such as `X-Scope-OrgID`).
    pub headers: Vec<(String, String)>,
    /// Refuse responses larger than this (decompressed), so one query cannot
    /// exhaust memory even when `max_samples` is not set.
    pub max_response_bytes: usize,
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values usually carry credentials: names only.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RemoteConfig")
            .field("read_url", &self.read_url)
            .field("read_api", &self.read_api)
            .field("api_url", &self.api_url)
            .field("timeout", &self.timeout)
            .field("headers", &names)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl RemoteConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 512 << 20;

    pub fn new(read_url: impl Into<String>, api_url: impl Into<String>) -> Self {
        Self {
            read_url: read_url.into(),
            read_api: ReadApi::RemoteRead,
            api_url: api_url.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            headers: Vec::new(),
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// A setting that cannot work, named by its field in `homeostat.yaml`.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct RemoteConfigError {
    pub field: String,
    pub detail: String,
}

fn invalid(field: &str, detail: impl Into<String>) -> RemoteConfigError {
    RemoteConfigError {
        field: field.to_string(),
        detail: detail.into(),
    }
}

/// Checks a URL is absolute http(s) with a host; returns it without a trailing slash.
pub(crate) fn check_url(field: &str, url: &str) -> Result<String, RemoteConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| invalid(field, format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(
            field,
            format!("{url:?}: scheme must be http or https"),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(field, format!("{url:?} has no host")));
    }
    Ok(url.trim_end_matches('/').to_string())
}

pub(crate) fn check_headers(headers: &[(String, String)]) -> Result<HeaderMap, RemoteConfigError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let field = format!("headers.{name}");
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(&field, "not a valid HTTP header name"))?;
        let mut v = HeaderValue::from_str(value)
            .map_err(|_| invalid(&field, "value has characters not allowed in a header"))?;
        // Keeps tokens out of debug logs of the header map.
        v.set_sensitive(true);
        map.insert(n, v);
    }
    Ok(map)
}

impl RemoteConfig {
    /// Checks every setting; the error names the field (`read_url`, `headers.<name>`, ...).
    pub fn validate(&self) -> Result<(), RemoteConfigError> {
        self.check().map(|_| ())
    }

    /// Validated URLs (without trailing slash) and the header map.
    pub(crate) fn check(&self) -> Result<(String, String, HeaderMap), RemoteConfigError> {
        let read = match self.read_api {
            ReadApi::RemoteRead => check_url("read_url", &self.read_url)?,
            ReadApi::Query => self.read_url.trim_end_matches('/').to_string(),
        };
        let api = check_url("api_url", &self.api_url)?;
        if self.timeout.is_zero() {
            return Err(invalid("timeout", "must be greater than zero"));
        }
        if self.max_response_bytes == 0 {
            return Err(invalid("max_response_bytes", "must be greater than zero"));
        }
        Ok((read, api, check_headers(&self.headers)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let mut c = RemoteConfig::new("http://p:9090/api/v1/read", "http://p:9090/");
        let (_, api, _) = c.check().unwrap();
        assert_eq!(api, "http://p:9090");
        c.read_url = "prom:9090".into();
        assert_eq!(c.check().unwrap_err().field, "read_url");
        c.read_url = "ftp://p/x".into();
        assert_eq!(c.check().unwrap_err().field, "read_url");
        c.read_url = "http://p:9090/api/v1/read".into();
        c.api_url = "not a url".into();
        assert_eq!(c.check().unwrap_err().field, "api_url");
        c.api_url = "http://p:9090".into();
        c.headers = vec![("bad header".into(), "x".into())];
        assert_eq!(c.check().unwrap_err().field, "headers.bad header");
        c.headers = vec![("Authorization".into(), "Bearer a\nb".into())];
        assert_eq!(c.check().unwrap_err().field, "headers.Authorization");
        c.headers = vec![];
        c.timeout = Duration::ZERO;
        assert_eq!(c.check().unwrap_err().field, "timeout");
    }
}
