//! Secrets in Alertmanager's file: the `*_file` twins of secret fields
//! (read at load, relative to the config file), the opt-in `${VAR}`
//! expansion, and the masked copy of the file `/api/v2/status` serves.

use std::path::Path;

use homeostat_model::{SECRET_MASK, Secret};
use serde_norway::Value;

use crate::error::ConfigError;

/// How a config file is read beyond its own text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Replace `${NAME}` with the environment variable NAME before parsing.
    /// Off by default: a `$` in a password or a regex must not silently
    /// change meaning with the environment the server was started from.
    pub expand_env: bool,
}

/// Keys whose value is a credential wherever they appear. Over-masking is
/// harmless; a key missing here shows a secret to every reader of
/// `/api/v2/status`.
const SECRET_KEYS: &[&str] = &[
    "api_url",
    "slack_api_url",
    "routing_key",
    "service_key",
    "auth_password",
    "auth_secret",
    "smtp_auth_password",
    "smtp_auth_secret",
    "opsgenie_api_key",
    "victorops_api_key",
    "wechat_api_secret",
    "api_key",
    "api_secret",
    "password",
    "credentials",
    "bearer_token",
    "client_secret",
    "token",
    "bot_token",
    "user_key",
    "webhook_url",
];

/// Keys that are secret only under a given parent: a webhook's URL (its
/// path or query is the key) and a TLS client key.
const SECRET_UNDER: &[(&str, &str)] = &[("webhook_configs", "url"), ("tls_config", "key")];

/// A webhook URL with everything but its scheme and host masked:
/// `https://hooks.example.com/<secret>`. Alertmanager 0.27 shows the whole
/// URL as `<secret>`, but amtool 0.25 (Debian's) parses the status's config
/// and refuses a webhook URL without a scheme; the scheme and host are not
/// secret, the path, query and user info are.
fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return SECRET_MASK.to_string();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || "+-.".contains(c) || c == ':' || c == '[' || c == ']'
            })
    };
    if !plain(scheme) || !plain(host) {
        return SECRET_MASK.to_string();
    }
    format!("{scheme}://{host}/{SECRET_MASK}")
}

/// The config text with every secret value replaced by `<secret>`, as
/// Alertmanager's status shows it. Comments and layout are lost: the text
/// is re-rendered from the parsed document.
pub fn masked_yaml(text: &str) -> Result<String, ConfigError> {
    let mut doc: Value = serde_norway::from_str(text).map_err(|e| ConfigError::Syntax {
        path: None,
        message: e.to_string(),
    })?;
    mask_value(&mut doc, None);
    serde_norway::to_string(&doc).map_err(|e| ConfigError::Syntax {
        path: None,
        message: e.to_string(),
    })
}

/// Masks the secrets of a parsed document in place; `parent` is the key
/// the value hangs under (for a list, the key of the list).
pub(crate) fn mask_value(v: &mut Value, parent: Option<&str>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m.iter_mut() {
                let key = k.as_str().unwrap_or_default();
                let secret = SECRET_KEYS.contains(&key)
                    || SECRET_UNDER
                        .iter()
                        .any(|(p, s)| Some(*p) == parent && *s == key);
                if secret && !val.is_null() {
                    let url = (parent == Some("webhook_configs") && key == "url")
                        .then(|| val.as_str().map(mask_url))
                        .flatten();
                    *val = Value::String(url.unwrap_or_else(|| SECRET_MASK.to_string()));
                } else {
                    mask_value(val, Some(key));
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                mask_value(item, parent);
            }
        }
        Value::Tagged(t) => mask_value(&mut t.value, parent),
        _ => {}
    }
}

/// Replaces each `${NAME}` with the environment variable's value; an unset
/// variable is an error naming it, never an empty string.
pub fn expand_env(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            out.push_str("${");
            rest = after;
            continue;
        }
        let value = lookup(name).ok_or_else(|| {
            ConfigError::invalid(
                format!("${{{name}}}"),
                format!("environment variable {name} is not set (alertmanager.expand_env is on)"),
            )
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Fills secret fields from their `*_file` twins and refuses unexpanded
/// `${...}` references.
pub(crate) struct SecretFiles<'a> {
    /// Relative `*_file` paths start here: the config file's directory.
    pub base: &'a Path,
    pub options: LoadOptions,
}

impl SecretFiles<'_> {
    /// `value` from `file` when that is set (both set is an error naming
    /// both); then checks it for an unexpanded `${`. `at` is the path of
    /// the struct, `field` the name of the secret field in it.
    pub fn resolve(
        &self,
        at: &str,
        field: &str,
        value: &mut Option<Secret>,
        file: &Option<String>,
    ) -> Result<(), ConfigError> {
        let name = |f: &str| {
            if at.is_empty() {
                f.to_string()
            } else {
                format!("{at}.{f}")
            }
        };
        if let Some(file) = file {
            if value.is_some() {
                return Err(ConfigError::invalid(
                    name(field),
                    format!("both {field} and {field}_file are set: keep one"),
                ));
            }
            *value = Some(Secret::new(
                self.read(&name(&format!("{field}_file")), file)?,
            ));
        }
        self.check_unexpanded(&name(field), field, value.as_ref())
    }

    /// The secret in `file`, without the trailing newline editors add.
    pub fn read(&self, field: &str, file: &str) -> Result<String, ConfigError> {
        let path = self.base.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::invalid(field, format!("cannot read {}: {e}", path.display()))
        })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        Ok(text.strip_suffix('\r').unwrap_or(text).to_string())
    }

    fn check_unexpanded(
        &self,
        at: &str,
        field: &str,
        value: Option<&Secret>,
    ) -> Result<(), ConfigError> {
        match value {
            Some(v) if !self.options.expand_env && v.expose().contains("${") => {
                Err(ConfigError::invalid(
                    at,
                    format!(
                        "contains \"${{\" but environment variables are not expanded: put the secret in a file and set {field}_file, or set alertmanager.expand_env: true in homeostat's config"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// An integration's `http_config`, kept as written (homeostat does not
/// apply it); its `Debug` masks the credentials in it.
#[derive(Clone, PartialEq, serde::Deserialize)]
#[serde(transparent)]
pub struct HttpConfig(pub Value);

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = self.0.clone();
        mask_value(&mut v, None);
        write!(f, "HttpConfig({v:?})")
    }
}

impl HttpConfig {
    /// Checks the credential/file pairs Prometheus' HTTP client config has
    /// (`basic_auth.password`, `authorization.credentials`,
    /// `oauth2.client_secret`, the older top-level `bearer_token`) and that
    /// the files named can be read.
    pub(crate) fn check(&self, at: &str, files: &SecretFiles<'_>) -> Result<(), ConfigError> {
        let str_in = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let mut bearer = str_in(&self.0, "bearer_token").map(Secret::new);
        files.resolve(
            at,
            "bearer_token",
            &mut bearer,
            &str_in(&self.0, "bearer_token_file"),
        )?;
        for (section, field) in [
            ("basic_auth", "password"),
            ("authorization", "credentials"),
            ("oauth2", "client_secret"),
        ] {
            let Some(s) = self.0.get(section) else {
                continue;
            };
            let mut value = str_in(s, field).map(Secret::new);
            let file = str_in(s, &format!("{field}_file"));
            files.resolve(&format!("{at}.{section}"), field, &mut value, &file)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_kind_of_secret_and_keeps_the_rest() {
        let text = "
global:
  slack_api_url: https://hooks.slack.test/SECRET1
  smtp_auth_password: SECRET2
  smtp_from: a@b
receivers:
  - name: r
    webhook_configs:
      - url: http://h/SECRET3
        http_config:
          basic_auth: {username: u, password: SECRET4}
          authorization: {credentials: SECRET5}
          tls_config: {key: SECRET6, key_file: /k}
    pagerduty_configs: [{routing_key: SECRET7, url: 'https://pd.test/v2'}]
    email_configs: [{to: x@y, auth_password: SECRET8, auth_secret: SECRET9}]
    slack_configs: [{api_url_file: /run/slack}]
";
        let out = masked_yaml(text).unwrap();
        assert!(!out.contains("SECRET"), "{out}");
        for kept in [
            "smtp_from: a@b",
            "username: u",
            "key_file: /k",
            "https://pd.test/v2",
            "api_url_file: /run/slack",
        ] {
            assert!(out.contains(kept), "{kept} in {out}");
        }
        assert_eq!(out.matches(SECRET_MASK).count(), 9, "{out}");
        assert!(out.contains("url: http://h/<secret>"), "{out}");
    }

    #[test]
    fn a_webhook_url_keeps_only_scheme_and_host() {
        assert_eq!(
            mask_url("https://u:p@hooks.test:8443/T0/B1?k=v"),
            "https://hooks.test:8443/<secret>"
        );
        assert_eq!(mask_url("http://[::1]:5001"), "http://[::1]:5001/<secret>");
        assert_eq!(mask_url("not a url"), SECRET_MASK);
        assert_eq!(mask_url("http://h ost/x"), SECRET_MASK);
    }

    #[test]
    fn env_expansion_replaces_named_variables_only() {
        let lookup = |n: &str| (n == "KEY").then(|| "v".to_string());
        assert_eq!(
            expand_env("a ${KEY} $KEY ${1x} ${", lookup).unwrap(),
            "a v $KEY ${1x} ${"
        );
        let e = expand_env("${NOPE}", lookup).unwrap_err().to_string();
        assert!(e.contains("NOPE is not set"), "{e}");
    }
}
