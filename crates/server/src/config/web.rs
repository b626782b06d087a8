//! `web:` — how long the listener waits for a client and how many clients
//! it serves at once. TLS, response headers and users are in the separate
//! `--web.config.file` (Prometheus's format); these are the limits that keep
//! slow or idle clients from holding the server.

use std::time::Duration;

use homeostat_model::{FieldError, format_duration};
use serde::Deserialize;

use super::{duration_or, positive};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Most connections served at once; more wait in the listen backlog.
    pub max_connections: Option<usize>,
    /// From accepting a connection (or the first byte of a keep-alive
    /// request) to the end of the request's headers, TLS handshake included.
    pub header_timeout: Option<String>,
    /// From the request's headers to the end of its body.
    pub body_timeout: Option<String>,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Option<String>,
    /// On shutdown, how long in-flight requests may take to finish.
    pub drain_timeout: Option<String>,
}

/// The validated `web:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub drain_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(120),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

impl WebSection {
    pub(super) fn validate(&self) -> Result<ListenerLimits, FieldError> {
        let d = ListenerLimits::default();
        let dur = |field: &str, v: &Option<String>, def: Duration| {
            duration_or(field, v, &format_duration(def))
        };
        Ok(ListenerLimits {
            max_connections: positive(
                "web.max_connections",
                self.max_connections.unwrap_or(d.max_connections),
            )?,
            header_timeout: dur("web.header_timeout", &self.header_timeout, d.header_timeout)?,
            body_timeout: dur("web.body_timeout", &self.body_timeout, d.body_timeout)?,
            idle_timeout: dur("web.idle_timeout", &self.idle_timeout, d.idle_timeout)?,
            drain_timeout: dur("web.drain_timeout", &self.drain_timeout, d.drain_timeout)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values_name_the_field() {
        let l = WebSection::default().validate().unwrap();
        assert_eq!(l, ListenerLimits::default());
        let s = WebSection {
            max_connections: Some(0),
            ..Default::default()
        };
        assert_eq!(
            s.validate().unwrap_err().field,
            "web.max_connections".to_string()
        );
        let s = WebSection {
            header_timeout: Some("0s".into()),
            ..Default::default()
        };
        assert_eq!(s.validate().unwrap_err().field, "web.header_timeout");
        let s = WebSection {
            idle_timeout: Some("5m".into()),
            ..Default::default()
        };
        assert_eq!(s.validate().unwrap().idle_timeout, Duration::from_secs(300));
    }
}
