//! `auth:`: whether callers must authenticate, the scopes of named users,
//! and a trusted authenticating proxy. Credentials themselves live
//! elsewhere: basic-auth users and client certificates in the web config
//! file (`--web.config.file`), API tokens in the state database.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use homeostat_auth::{TrustedProxies, WebConfig};
use homeostat_http::AuthMode;
use homeostat_model::{FieldError, Scopes};
use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `auto` (default): on when the web config has users or requires client
    /// certificates, or `proxy` is set. `required`: always on. `none`: off,
    /// on purpose (needed to listen beyond loopback without authentication).
    pub mode: Option<String>,
    /// Scopes per user name (basic-auth user, certificate name, proxy user):
    /// `{viewer: [read]}`. Users not listed hold every scope.
    #[serde(default)]
    pub users: BTreeMap<String, Vec<String>>,
    /// How long a console sign-in lasts. Default 12h.
    pub session_ttl: Option<String>,
    pub proxy: Option<ProxySection>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySection {
    /// Peers (addresses or CIDR networks) whose identity header is believed.
    #[serde(default)]
    pub trusted_networks: Vec<String>,
    /// The header naming the user. Default `X-Forwarded-Email` (oauth2-proxy).
    pub user_header: Option<String>,
    /// Scopes of proxy users not listed under `users`. Default `[read]`.
    pub scopes: Option<Vec<String>>,
}

/// `auth:` as written: a map, or just its mode (`auth: none`, as the error
/// for an exposed listener tells the operator to write).
pub fn section<'de, D: serde::Deserializer<'de>>(d: D) -> Result<AuthSection, D::Error> {
    use serde::de::{self, MapAccess, Visitor};
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = AuthSection;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("`none`, `required`, `auto`, or a map of mode, users, session_ttl, proxy")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<AuthSection, E> {
            Ok(AuthSection {
                mode: Some(v.to_string()),
                ..AuthSection::default()
            })
        }
        fn visit_unit<E: de::Error>(self) -> Result<AuthSection, E> {
            Ok(AuthSection::default())
        }
        fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<AuthSection, A::Error> {
            AuthSection::deserialize(de::value::MapAccessDeserializer::new(m))
        }
    }
    d.deserialize_any(V)
}

/// The validated section.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub mode: AuthMode,
    pub users: BTreeMap<String, Scopes>,
    pub session_ttl: Duration,
    pub proxy: Option<homeostat_http::ProxySettings>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Auto,
            users: BTreeMap::new(),
            session_ttl: Duration::from_secs(12 * 3600),
            proxy: None,
        }
    }
}

fn scopes(field: &str, list: &[String]) -> Result<Scopes, FieldError> {
    Scopes::parse_list(&list.join(",")).map_err(|e| {
        FieldError::new(field, e.to_string())
            .with_fix("use read, write, respond, release, admin or all")
    })
}

impl AuthSection {
    pub fn validate(&self) -> Result<AuthConfig, FieldError> {
        let mode = match self.mode.as_deref() {
            None | Some("auto") => AuthMode::Auto,
            Some("required") => AuthMode::Required,
            Some("none") => AuthMode::Off,
            Some(other) => {
                return Err(FieldError::new(
                    "auth.mode",
                    format!("{other:?} is not one of auto, required, none"),
                ));
            }
        };
        let mut users = BTreeMap::new();
        for (name, list) in &self.users {
            users.insert(name.clone(), scopes(&format!("auth.users.{name}"), list)?);
        }
        let session_ttl = super::duration_or("auth.session_ttl", &self.session_ttl, "12h")?;
        let proxy = match &self.proxy {
            None => None,
            Some(p) => {
                if p.trusted_networks.is_empty() {
                    return Err(FieldError::new(
                        "auth.proxy.trusted_networks",
                        "is empty: identity headers would be believed from nobody",
                    )
                    .with_fix("list the proxy's address, e.g. [127.0.0.1/32]"));
                }
                let trusted = TrustedProxies::parse(&p.trusted_networks)
                    .map_err(|e| FieldError::new("auth.proxy.trusted_networks", e))?;
                let user_header = p
                    .user_header
                    .clone()
                    .unwrap_or_else(|| "X-Forwarded-Email".to_string());
                if axum::http::HeaderName::from_bytes(user_header.as_bytes()).is_err() {
                    return Err(FieldError::new(
                        "auth.proxy.user_header",
                        format!("{user_header:?} is not a header name"),
                    ));
                }
                let scopes = match &p.scopes {
                    Some(l) => scopes("auth.proxy.scopes", l)?,
                    None => Scopes::parse_list("read").unwrap_or(Scopes::NONE),
                };
                Some(homeostat_http::ProxySettings {
                    trusted,
                    user_header,
                    scopes,
                })
            }
        };
        Ok(AuthConfig {
            mode,
            users,
            session_ttl,
            proxy,
        })
    }
}

impl AuthConfig {
    /// Whether the server authenticates its callers, or was told on purpose
    /// not to: either makes a non-loopback listener acceptable.
    pub fn decided(&self, web: &WebConfig) -> bool {
        match self.mode {
            AuthMode::Off | AuthMode::Required => true,
            AuthMode::Auto => self.proxy.is_some() || web.authenticates(),
        }
    }
}

/// Item 4 of the trust boundary: a server reachable from other hosts must
/// authenticate, or be told explicitly not to.
pub fn check_exposure(
    listen: SocketAddr,
    auth: &AuthConfig,
    web: &WebConfig,
) -> Result<(), String> {
    if listen.ip().is_loopback() || auth.decided(web) {
        return Ok(());
    }
    Err(format!(
        "listen address {listen} accepts other hosts but no authentication is configured; \
         pass --web.config.file with basic_auth_users (or client certificates), configure \
         auth.proxy, or write `auth: none` in the config file to serve without \
         authentication on purpose (or listen on 127.0.0.1)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        #[serde(deserialize_with = "super::section")]
        auth: AuthSection,
    }

    fn section(yaml: &str) -> Result<AuthConfig, FieldError> {
        let f: File = serde_norway::from_str(&format!("auth: {yaml}")).unwrap();
        f.auth.validate()
    }

    #[test]
    fn the_mode_alone_is_a_shorthand() {
        assert_eq!(section("none").unwrap().mode, AuthMode::Off);
        assert_eq!(section("required").unwrap().mode, AuthMode::Required);
        assert!(serde_norway::from_str::<File>("auth: {mood: none}").is_err());
    }

    #[test]
    fn defaults_are_auto_without_users() {
        let a = section("{}").unwrap();
        assert_eq!(a.mode, AuthMode::Auto);
        assert!(a.proxy.is_none());
        assert_eq!(a.session_ttl, Duration::from_secs(43200));
    }

    #[test]
    fn users_and_proxy_are_validated() {
        let a = section(
            "{mode: required, users: {viewer: [read], ops: [read, respond]}, \
             proxy: {trusted_networks: [10.0.0.0/8, 127.0.0.1]}}",
        )
        .unwrap();
        assert_eq!(a.mode, AuthMode::Required);
        assert_eq!(a.users["ops"].to_string(), "read,respond");
        let p = a.proxy.unwrap();
        assert_eq!(p.user_header, "X-Forwarded-Email");
        assert_eq!(p.scopes.to_string(), "read");
        let e = section("{users: {x: [root]}}").unwrap_err();
        assert_eq!(e.field, "auth.users.x");
        let e = section("{proxy: {trusted_networks: []}}").unwrap_err();
        assert_eq!(e.field, "auth.proxy.trusted_networks");
        let e = section("{proxy: {trusted_networks: [nowhere]}}").unwrap_err();
        assert!(e.detail().contains("nowhere"), "{}", e.detail());
        assert!(section("{mode: maybe}").is_err());
    }

    #[test]
    fn other_hosts_need_authentication_or_an_explicit_none() {
        let open: SocketAddr = "0.0.0.0:9797".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:9797".parse().unwrap();
        let web = WebConfig::default();
        let auto = section("{}").unwrap();
        assert!(check_exposure(lo, &auto, &web).is_ok());
        let e = check_exposure(open, &auto, &web).unwrap_err();
        assert!(
            e.contains("--web.config.file") && e.contains("auth: none"),
            "{e}"
        );
        assert!(check_exposure(open, &section("none").unwrap(), &web).is_ok());
        let with_users = WebConfig {
            basic_auth_users: BTreeMap::from([("a".into(), "$2y$04$x".into())]),
            ..WebConfig::default()
        };
        assert!(check_exposure(open, &auto, &with_users).is_ok());
    }
}
