//! `web:` — how long the listener waits for a client, how many clients it
//! serves at once, and which host names browsers may reach it as. TLS,
//! response headers and users are in the separate `--web.config.file`
//! (Prometheus's format); these keep slow or idle clients from holding the
//! server and rebinding pages from using it (docs/security.md).

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
    /// Host names (no scheme, no port) requests may name in `Host` besides
    /// IP literals, `localhost`, `external_url` and
    /// `incidents.link_base_url`; `*` accepts any (a proxy in front checks
    /// it).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
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

impl WebSection {
    /// The host names, trimmed; an entry with a scheme, port or path is an
    /// error naming it.
    pub(super) fn allowed_hosts(&self) -> Result<Vec<String>, FieldError> {
        let mut out = Vec::with_capacity(self.allowed_hosts.len());
        for (i, h) in self.allowed_hosts.iter().enumerate() {
            let h = h.trim();
            let field = format!("web.allowed_hosts[{i}]");
            if h.is_empty() {
                return Err(FieldError::new(&field, "is empty"));
            }
            let v6 = h.starts_with('[') && h.ends_with(']');
            if h.contains("://") || h.contains('/') || (!v6 && h.contains(':')) {
                return Err(FieldError::new(
                    &field,
                    format!(
                        "{h:?} is not a bare host name: list names like homeostat.example.com, without scheme, port or path"
                    ),
                ));
            }
            out.push(h.to_string());
        }
        Ok(out)
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

#[cfg(test)]
mod allowed_hosts_tests {
    use super::*;

    fn check(hosts: &[&str]) -> Result<Vec<String>, FieldError> {
        WebSection {
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
        .allowed_hosts()
    }

    #[test]
    fn bare_host_names_only() {
        assert_eq!(
            check(&[" mon.internal ", "*", "[::1]"]).ok(),
            Some(vec!["mon.internal".into(), "*".into(), "[::1]".into()])
        );
        for (bad, at) in [
            (vec!["ok", "http://x"], "web.allowed_hosts[1]"),
            (vec!["x:9797"], "web.allowed_hosts[0]"),
            (vec!["x/y"], "web.allowed_hosts[0]"),
            (vec![""], "web.allowed_hosts[0]"),
        ] {
            let e = check(&bad).err().map(|e| e.field);
            assert_eq!(e.as_deref(), Some(at), "{bad:?}");
        }
    }
}
