//! API tokens: created with a random secret shown once, stored as its hash,
//! listed without it, revoked by name; every change in the audit log. The
//! service is also the [`TokenLookup`] the HTTP edge asks about
//! `Authorization: Bearer`.

use std::sync::Arc;

use homeostat_auth::{AuthError, TokenLookup, generate_token, token_hash};
use homeostat_model::{AuthMethod, Clock, ErrorKind, Principal, Scope, Scopes};
use homeostat_state::{AuditEntry, AuditLog, StateError, TokenRecord, TokenStore};
use serde_json::json;

/// Longest token name.
const MAX_NAME: usize = 64;

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Unique among live tokens: letters, digits, `.`, `_`, `-`.
    pub name: String,
    pub scopes: Scopes,
    /// How long the token works, from now; `None` until revoked.
    pub expires_in_ms: Option<i64>,
}

/// A token as listed: everything but its secret and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub scopes: Scopes,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl TokenInfo {
    /// The one JSON shape of a token: what `/api/v1/tokens` answers and
    /// what `homeostat token list --output json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        use homeostat_model::rfc3339::rfc3339;
        json!({
            "name": self.name,
            "scopes": self.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "createdAt": rfc3339(self.created_at),
            "createdBy": self.created_by,
            "expiresAt": self.expires_at.map(rfc3339),
            "revokedAt": self.revoked_at.map(rfc3339),
        })
    }
}

/// A token just created: the secret, which exists nowhere else.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: String,
    pub info: TokenInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error(transparent)]
    State(#[from] StateError),
}

impl TokenError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TokenError::Invalid { .. } => ErrorKind::InvalidInput,
            TokenError::State(e) => e.kind(),
        }
    }
}

fn invalid(field: &'static str, problem: impl Into<String>) -> TokenError {
    TokenError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// API tokens over the state store. Every method may block on the store.
pub struct TokenService {
    store: Arc<dyn TokenStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService").finish_non_exhaustive()
    }
}

impl TokenService {
    pub fn new(
        store: Arc<dyn TokenStore>,
        audit: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            audit,
            clock,
        }
    }

    /// Creates a token for `by`; the answer holds the only copy of its
    /// secret.
    pub fn create(&self, t: &NewToken, by: &Principal) -> Result<CreatedToken, TokenError> {
        validate_name(&t.name)?;
        if t.scopes.is_empty() {
            return Err(invalid(
                "scopes",
                "give at least one of read, write, respond, release, admin",
            ));
        }
        let now = self.clock.now_millis();
        let expires_at = match t.expires_in_ms {
            Some(ms) if ms <= 0 => {
                return Err(invalid("expires", "must be a positive duration"));
            }
            Some(ms) => Some(now.saturating_add(ms)),
            None => None,
        };
        let token = generate_token();
        let record = TokenRecord {
            name: t.name.clone(),
            hash: token_hash(&token),
            scopes: t.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            created_at: now,
            created_by: by.actor(None),
            expires_at,
            revoked_at: None,
        };
        self.store.create_token(&record)?;
        self.record(
            &record.created_by,
            "token.create",
            &record.name,
            json!({"scopes": t.scopes.to_string(), "expires_at": expires_at}),
        );
        Ok(CreatedToken {
            token,
            info: info(&record),
        })
    }

    /// Every token, by name, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self.store.list_tokens()?.iter().map(info).collect())
    }

    /// Revokes the token `name`; it stops working at once.
    pub fn revoke(&self, name: &str, by: &Principal) -> Result<TokenInfo, TokenError> {
        let now = self.clock.now_millis();
        let record = self.store.revoke_token(name, now)?;
        self.record(&by.actor(None), "token.revoke", name, json!({}));
        Ok(info(&record))
    }

    /// Audit writes are best effort, as for incidents: the change is made;
    /// a failed record is logged.
    fn record(&self, actor: &str, action: &str, name: &str, detail: serde_json::Value) {
        let entry = AuditEntry {
            seq: 0,
            at: self.clock.now_millis(),
            actor: actor.to_string(),
            action: action.to_string(),
            object: format!("token/{name}"),
            detail,
        };
        if let Err(e) = self.audit.append(&entry) {
            tracing::warn!(error = %e, token = name, "writing the audit log failed");
        }
    }
}

impl TokenLookup for TokenService {
    fn principal(&self, token: &str, now_ms: i64) -> Result<Option<Principal>, AuthError> {
        let record = self
            .store
            .token_by_hash(&token_hash(token))
            .map_err(|e| AuthError::Lookup(e.to_string()))?;
        let Some(t) = record else {
            return Ok(None);
        };
        if t.revoked_at.is_some() || t.expires_at.is_some_and(|e| e <= now_ms) {
            return Ok(None);
        }
        Ok(Some(Principal {
            name: t.name.clone(),
            method: AuthMethod::Token,
            scopes: scopes_of(&t),
        }))
    }
}

/// A stored scope this build does not know grants nothing.
fn scopes_of(t: &TokenRecord) -> Scopes {
    t.scopes
        .iter()
        .filter_map(|s| s.parse::<Scope>().ok())
        .collect()
}

fn info(t: &TokenRecord) -> TokenInfo {
    TokenInfo {
        name: t.name.clone(),
        scopes: scopes_of(t),
        created_at: t.created_at,
        created_by: t.created_by.clone(),
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
    }
}

fn validate_name(name: &str) -> Result<(), TokenError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(invalid(
            "name",
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(invalid(
            "name",
            format!("{name:?} has {c:?}; use letters, digits, '.', '_' and '-'"),
        ));
    }
    Ok(())
}
