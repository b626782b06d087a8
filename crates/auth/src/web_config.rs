//! Prometheus's web configuration file (`--web.config.file`), in the
//! exporter-toolkit format: `tls_server_config`, `http_server_config` and
//! `basic_auth_users`. Unknown fields are refused, as the toolkit does, so a
//! misspelt `client_auth_type` cannot silently leave mTLS off. Relative file
//! paths are resolved against the file's own directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::AuthError;

/// The parsed web configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub http_server_config: Option<HttpServerConfig>,
    /// User name → bcrypt hash of the password.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

/// `tls_server_config`: the server's certificate and, for mTLS, the CA that
/// client certificates must chain to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The certificate itself (PEM), instead of `cert_file`.
    #[serde(default)]
    pub cert: Option<String>,
    /// The key itself (PEM), instead of `key_file`.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub client_auth_type: ClientAuthType,
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub client_ca: Option<String>,
    /// When set, a client certificate must carry one of these SANs.
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
    /// `TLS10` … `TLS13`; homeostat's TLS stack supports TLS12 and TLS13.
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    /// Accepted for compatibility; rustls chooses its own safe suites.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    pub curve_preferences: Vec<String>,
}

/// `client_auth_type`, with Go's `crypto/tls` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ClientAuthType {
    #[default]
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

/// `http_server_config`: HTTP/2 and extra response headers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    #[serde(default)]
    pub http2: Option<bool>,
    /// Headers added to every response (e.g. `Strict-Transport-Security`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl WebConfig {
    /// Reads and validates the file; relative paths inside become relative
    /// to the file's directory.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut cfg = Self::parse(&text).map_err(|message| AuthError::Invalid {
            path: path.display().to_string(),
            message,
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        if let Some(tls) = cfg.tls_server_config.as_mut() {
            for p in [
                &mut tls.cert_file,
                &mut tls.key_file,
                &mut tls.client_ca_file,
            ]
            .into_iter()
            .flatten()
            {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(cfg)
    }

    /// Parses and validates the YAML text; the error names the field.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let cfg: WebConfig = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        for (user, hash) in &self.basic_auth_users {
            if user.is_empty() {
                return Err("basic_auth_users: an empty user name".into());
            }
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
                // The hash is not a secret, but keep it out of the message anyway.
                return Err(format!(
                    "basic_auth_users: the password of {user:?} is not a bcrypt hash (expected $2a$, $2b$ or $2y$; make one with `htpasswd -nBC 10 {user}`)"
                ));
            }
        }
        if let Some(tls) = &self.tls_server_config {
            let has_cert = tls.cert_file.is_some() || tls.cert.is_some();
            let has_key = tls.key_file.is_some() || tls.key.is_some();
            if !has_cert {
                return Err("tls_server_config: missing cert_file (or cert)".into());
            }
            if !has_key {
                return Err("tls_server_config: missing key_file (or key)".into());
            }
            if tls.cert_file.is_some() && tls.cert.is_some() {
                return Err("tls_server_config: set cert_file or cert, not both".into());
            }
            if tls.key_file.is_some() && tls.key.is_some() {
                return Err("tls_server_config: set key_file or key, not both".into());
            }
            let verifies = matches!(
                tls.client_auth_type,
                ClientAuthType::VerifyClientCertIfGiven
                    | ClientAuthType::RequireAndVerifyClientCert
            );
            let has_ca = tls.client_ca_file.is_some() || tls.client_ca.is_some();
            if verifies && !has_ca {
                return Err(format!(
                    "tls_server_config: client_auth_type {:?} needs client_ca_file",
                    tls.client_auth_type
                ));
            }
            if has_ca && !verifies && tls.client_auth_type != ClientAuthType::NoClientCert {
                return Err(format!(
                    "tls_server_config: client_ca_file is set but client_auth_type {:?} does not verify client certificates",
                    tls.client_auth_type
                ));
            }
            for v in [&tls.min_version, &tls.max_version].into_iter().flatten() {
                if !matches!(v.as_str(), "TLS10" | "TLS11" | "TLS12" | "TLS13") {
                    return Err(format!(
                        "tls_server_config: unknown TLS version {v:?} (expected TLS10, TLS11, TLS12 or TLS13)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// True when the file asks for any authentication of callers.
    pub fn authenticates(&self) -> bool {
        !self.basic_auth_users.is_empty()
            || self
                .tls_server_config
                .as_ref()
                .is_some_and(|t| t.client_auth_type == ClientAuthType::RequireAndVerifyClientCert)
    }
}
