//! `web:`: what browsers may reach the server as. IP literals, `localhost`,
//! `external_url` and `incidents.link_base_url` are always accepted; other
//! DNS names must be listed, or a rebinding page could use them
//! (docs/security.md, "Browser safety").

use homeostat_model::FieldError;
use serde::Deserialize;

/// `web: {allowed_hosts: [homeostat.internal]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Host names (no scheme, no port) requests may name in `Host`; `*`
    /// accepts any (a proxy in front checks it).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

impl WebSection {
    /// The host names, trimmed; an entry with a scheme, port or path is an
    /// error naming it.
    pub(super) fn validate(&self) -> Result<Vec<String>, FieldError> {
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

    fn check(hosts: &[&str]) -> Result<Vec<String>, FieldError> {
        WebSection {
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
        }
        .validate()
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
