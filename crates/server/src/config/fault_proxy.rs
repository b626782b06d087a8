//! `fault_proxy:`: the Toxiproxy-compatible TCP fault proxy and the
//! proxies it starts with (docs/fault-proxy.md).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use homeostat_faultproxy::ProxySpec;
use homeostat_model::FieldError;
use serde::Deserialize;

/// `fault_proxy: {enabled, listen, allow_remote_api, proxies: [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultProxySection {
    /// Start the fault proxy and its API. Default false.
    pub enabled: Option<bool>,
    /// Where Toxiproxy's HTTP API listens (its own listener, not the main
    /// one). Default 127.0.0.1:8474, Toxiproxy's port.
    pub listen: Option<String>,
    /// Allow a non-loopback `listen`. The API has no authentication: anyone
    /// who reaches it can cut or slow the proxied traffic. Default false.
    pub allow_remote_api: Option<bool>,
    /// Proxies created at start, like Toxiproxy's populate: `{name, listen,
    /// upstream, enabled}`.
    #[serde(default)]
    pub proxies: Vec<ProxySpec>,
}

/// Validated `fault_proxy:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultProxyConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    pub proxies: Vec<ProxySpec>,
}

impl FaultProxySection {
    pub(super) fn validate(&self) -> Result<FaultProxyConfig, FieldError> {
        self.checked().map_err(|e| e.under("fault_proxy"))
    }

    fn checked(&self) -> Result<FaultProxyConfig, FieldError> {
        let listen_text = self.listen.as_deref().unwrap_or("127.0.0.1:8474");
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            FieldError::new(
                "listen",
                format!("{listen_text:?} is not an address:port (e.g. 127.0.0.1:8474)"),
            )
        })?;
        if !listen.ip().is_loopback() && !self.allow_remote_api.unwrap_or(false) {
            return Err(FieldError::new(
                "listen",
                format!(
                    "{listen} is not a loopback address, and the fault proxy's API (Toxiproxy's) has \
                     no authentication: anyone reaching it could cut or slow the proxied traffic"
                ),
            )
            .with_fix(
                "listen on 127.0.0.1, or set fault_proxy.allow_remote_api: true on a network you trust",
            ));
        }
        let mut names = BTreeSet::new();
        for (i, p) in self.proxies.iter().enumerate() {
            let at = |field: &str| format!("proxies[{i}].{field}");
            if p.name.is_empty() {
                return Err(FieldError::new(at("name"), "must not be empty"));
            }
            if !names.insert(p.name.as_str()) {
                return Err(FieldError::new(
                    at("name"),
                    format!("{:?} is named twice", p.name),
                ));
            }
            if p.upstream.is_empty() || !p.upstream.contains(':') {
                return Err(FieldError::new(at("upstream"), "must be host:port"));
            }
            if p.listen.parse::<SocketAddr>().is_err() {
                return Err(FieldError::new(
                    at("listen"),
                    format!(
                        "{:?} is not an address:port (e.g. 127.0.0.1:26379)",
                        p.listen
                    ),
                ));
            }
        }
        Ok(FaultProxyConfig {
            enabled: self.enabled.unwrap_or(false),
            listen,
            proxies: self.proxies.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<FaultProxyConfig, String> {
        let s: FaultProxySection = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        s.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_proxies_and_errors() {
        let c = parse("{}").unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.enabled);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8474");
        let c = parse("{enabled: true, proxies: [{name: redis, upstream: 'localhost:6379'}]}")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.proxies[0].listen, "127.0.0.1:0");
        assert!(c.proxies[0].enabled);

        let e = parse("{listen: '0.0.0.0:8474'}").err().unwrap_or_default();
        assert!(
            e.contains("fault_proxy.listen") && e.contains("allow_remote_api: true"),
            "{e}"
        );
        assert!(parse("{listen: '0.0.0.0:8474', allow_remote_api: true}").is_ok());
        let e = parse("{proxies: [{name: a, upstream: 'x:1'}, {name: a, upstream: 'y:1'}]}")
            .err()
            .unwrap_or_default();
        assert!(e.contains("fault_proxy.proxies[1].name"), "{e}");
        let e = parse("{proxies: [{name: a, upstream: 'x:1', listen: nowhere}]}")
            .err()
            .unwrap_or_default();
        assert!(e.contains("proxies[0].listen"), "{e}");
        let e = parse("{proxies: [{name: a, upstream: 'x:1', colour: red}]}")
            .err()
            .unwrap_or_default();
        assert!(e.contains("colour"), "{e}");
    }
}
