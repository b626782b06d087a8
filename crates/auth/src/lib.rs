//! Authentication without I/O beyond reading its own files: Prometheus's
//! web configuration file (the exporter-toolkit format, so existing files
//! and tooling work unchanged), checking presented credentials against it,
//! API token hashing, the console's session cookies and trusted proxy
//! headers. It answers "who is this and what may they do" as a
//! [`homeostat_model::Principal`]; the HTTP edge asks, and the route table
//! there decides which [`homeostat_model::Scope`] a request needs.

pub mod basic;
mod error;
pub mod proxy;
pub mod session;
mod token;
pub mod web_config;

pub use basic::{BasicAuthCache, parse_basic};
pub use error::AuthError;
pub use homeostat_model::{AuthMethod, Principal, Scope, Scopes};
pub use proxy::TrustedProxies;
pub use session::{Session, SessionError, SessionKey};
pub use token::{TOKEN_PREFIX, generate_token, token_hash};
pub use web_config::{ClientAuthType, HttpServerConfig, TlsServerConfig, WebConfig};

/// What the listener knows about the other end of a connection. The server's
/// accept loop puts one into every request's extensions; authentication
/// reads it (trusted proxy addresses, the verified client certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    /// The TCP peer; `None` for in-process requests (tests).
    pub addr: Option<std::net::SocketAddr>,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The verified client certificate's name (its subject CN, else its first
    /// DNS SAN); `None` without a verified client certificate.
    pub client_cert_name: Option<String>,
}

/// Where API tokens are checked. The application layer implements it over
/// the state store (tokens are stored hashed); the HTTP edge calls it for
/// `Authorization: Bearer`. It may block (a database read): call it off the
/// async threads.
pub trait TokenLookup: Send + Sync {
    /// The principal of a presented token at `now_ms`; `None` when the token
    /// is unknown, revoked or expired. Never logs or returns the token.
    fn principal(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<homeostat_model::Principal>, AuthError>;
}
