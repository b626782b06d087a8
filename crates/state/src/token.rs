//! API tokens and used action links: the two records of who may act
//! without a password. Tokens are stored as the SHA-256 of the secret, never
//! the secret itself; a used link is remembered by the hash of its
//! signature until it would have expired anyway.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One API token. `name` is unique among tokens that are not revoked; a
/// revoked token's name can be given to a new token, which replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    pub name: String,
    /// Lowercase hex SHA-256 of the token.
    pub hash: String,
    /// Scope names (`read`, `write`, ...), as `homeostat_model::Scopes` prints them.
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Where API tokens live.
pub trait TokenStore: Send + Sync {
    /// Stores a new token. A name held by a token that is not revoked is a
    /// conflict; a revoked one is replaced.
    fn create_token(&self, token: &TokenRecord) -> Result<()>;
    /// The token with this hash, revoked or not.
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;
    /// Every token, by name.
    fn list_tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Marks the token revoked at `at` and returns it; not found when no
    /// token has the name. Revoking a revoked token keeps its first time.
    fn revoke_token(&self, name: &str, at: i64) -> Result<TokenRecord>;
}

/// The signed action links already used, so each works once.
pub trait UsedLinkStore: Send + Sync {
    /// Records the link `key` (a hash of its signature) as used; `false`
    /// when it was used before. Forgets links whose `expires_at` is before
    /// `now` on the way: an expired link is refused by its signature.
    fn claim_link(&self, key: &str, expires_at: i64, now: i64) -> Result<bool>;
    /// Whether the link `key` was used.
    fn link_used(&self, key: &str) -> Result<bool>;
}
