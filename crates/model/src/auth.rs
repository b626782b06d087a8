//! Who is asking and what they may do: the authenticated [`Principal`] and
//! the [`Scope`]s a route needs. Every layer that records an actor (audit,
//! timelines, silences, overrides) takes a `Principal`, never a name the
//! request declared about itself.

use std::fmt;
use std::str::FromStr;

/// What a route lets a caller do; each route needs exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Queries, lists, console pages.
    Read,
    /// Telemetry in: remote-write, OTLP, alerts posted by Prometheus.
    Write,
    /// Acting on incidents and alerts: ack, resolve, notes, silences, declaring.
    Respond,
    /// Deploys, analysis runs, gate overrides.
    Release,
    /// Reload, tokens, the config view.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Write,
        Scope::Respond,
        Scope::Release,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Respond => "respond",
            Scope::Release => "release",
            Scope::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not one of `read`, `write`, `respond`, `release`, `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected one of read, write, respond, release, admin")]
pub struct ScopeError(pub String);

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|sc| sc.as_str() == s)
            .ok_or_else(|| ScopeError(s.to_string()))
    }
}

/// A set of scopes. Scopes do not imply each other: `admin` does not grant
/// `respond`; a principal that should do everything holds all five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    pub const NONE: Scopes = Scopes(0);

    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    pub fn contains(self, s: Scope) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn insert(&mut self, s: Scope) {
        self.0 |= s.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Parses a comma-separated list (`read,respond`); `all` means all five.
    pub fn parse_list(s: &str) -> Result<Self, ScopeError> {
        let mut out = Scopes::NONE;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                return Ok(Scopes::all());
            }
            out.insert(part.parse()?);
        }
        Ok(out)
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut s = Scopes::NONE;
        for sc in iter {
            s.insert(sc);
        }
        s
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in self.iter() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// Authentication is off (`auth: none`, or loopback-only with no web config).
    Unauthenticated,
    /// A `basic_auth_users` entry of the web configuration file.
    Basic,
    /// An API token (`Authorization: Bearer`).
    Token,
    /// The console's session cookie.
    Session,
    /// A trusted identity header set by an authenticating proxy.
    Proxy,
    /// A signed, single-use ack/resolve link from a page.
    Link,
    /// A client certificate verified by the TLS listener (mTLS).
    ClientCert,
    /// The server itself (rule engine, escalations, guardrails).
    System,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Unauthenticated => "none",
            AuthMethod::Basic => "basic",
            AuthMethod::Token => "token",
            AuthMethod::Session => "session",
            AuthMethod::Proxy => "proxy",
            AuthMethod::Link => "link",
            AuthMethod::ClientCert => "client_cert",
            AuthMethod::System => "system",
        }
    }
}

/// The authenticated caller of a request. Its `name` is what audit entries,
/// timelines, silences' `createdBy` and acks record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub name: String,
    pub method: AuthMethod,
    pub scopes: Scopes,
}

impl Principal {
    /// The caller when authentication is off: every scope, named `anonymous`.
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".into(),
            method: AuthMethod::Unauthenticated,
            scopes: Scopes::all(),
        }
    }

    /// The server acting on its own (a rule, an escalation, a guardrail).
    pub fn system() -> Self {
        Self {
            name: "homeostat".into(),
            method: AuthMethod::System,
            scopes: Scopes::all(),
        }
    }

    pub fn can(&self, s: Scope) -> bool {
        self.scopes.contains(s)
    }

    /// The actor recorded for a change: the principal, with the name the
    /// request gave (a `by` field) added as "on behalf of" but never in its
    /// place. Unauthenticated servers keep the declared name alone, as before.
    pub fn actor(&self, on_behalf_of: Option<&str>) -> String {
        match on_behalf_of.map(str::trim).filter(|b| !b.is_empty()) {
            Some(b) if self.method == AuthMethod::Unauthenticated => b.to_string(),
            Some(b) if b != self.name => format!("{} (on behalf of {b})", self.name),
            _ => self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists_parse_and_print() {
        let s = Scopes::parse_list("respond, read").unwrap();
        assert_eq!(s.to_string(), "read,respond");
        assert!(s.contains(Scope::Read) && !s.contains(Scope::Admin));
        assert_eq!(Scopes::parse_list("all").unwrap(), Scopes::all());
        let e = Scopes::parse_list("read,root").unwrap_err();
        assert!(e.to_string().contains("\"root\""), "{e}");
    }

    #[test]
    fn actor_keeps_the_principal_and_adds_on_behalf_of() {
        let p = Principal {
            name: "ci".into(),
            method: AuthMethod::Token,
            scopes: Scopes::all(),
        };
        assert_eq!(p.actor(None), "ci");
        assert_eq!(p.actor(Some("alice")), "ci (on behalf of alice)");
        assert_eq!(p.actor(Some("ci")), "ci");
        assert_eq!(Principal::anonymous().actor(Some("alice")), "alice");
        assert_eq!(Principal::anonymous().actor(None), "anonymous");
    }
}
