use homeostat_state::{Result, StateError, TokenRecord, TokenStore, UsedLinkStore};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, is_unique_violation, to_json};

const COLUMNS: &str = "name, hash, scopes, created_at, created_by, expires_at, revoked_at";

fn token_row(r: &Row) -> Result<TokenRecord> {
    let t = "api_tokens";
    let scopes: String = col(r, 2, t)?;
    Ok(TokenRecord {
        name: col(r, 0, t)?,
        hash: col(r, 1, t)?,
        scopes: from_json(&scopes, "api_tokens.scopes")?,
        created_at: col(r, 3, t)?,
        created_by: col(r, 4, t)?,
        expires_at: col(r, 5, t)?,
        revoked_at: col(r, 6, t)?,
    })
}

/// Stores `token` unless a live token holds its name (then `Ok(false)`);
/// a revoked one is replaced.
pub(crate) fn create_on(c: &mut impl GenericClient, token: &TokenRecord) -> Result<bool> {
    let changed = c
        .execute(
            &format!(
                "INSERT INTO api_tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (name) DO UPDATE SET hash = excluded.hash,
                     scopes = excluded.scopes, created_at = excluded.created_at,
                     created_by = excluded.created_by, expires_at = excluded.expires_at,
                     revoked_at = excluded.revoked_at
                 WHERE api_tokens.revoked_at IS NOT NULL"
            ),
            &[
                &token.name,
                &token.hash,
                &to_json(&token.scopes, "scopes")?,
                &token.created_at,
                &token.created_by,
                &token.expires_at,
                &token.revoked_at,
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StateError::conflict("token", &token.name, "hash in use")
            } else {
                StateError::backend("create token", e)
            }
        })?;
    Ok(changed == 1)
}

pub(crate) fn list_all(c: &mut impl GenericClient) -> Result<Vec<TokenRecord>> {
    c.query(
        &format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name"),
        &[],
    )
    .map_err(be("list tokens"))?
    .iter()
    .map(token_row)
    .collect()
}

pub(crate) fn list_links(c: &mut impl GenericClient) -> Result<Vec<(String, i64)>> {
    c.query("SELECT key, expires_at FROM used_links ORDER BY key", &[])
        .map_err(be("list used links"))?
        .iter()
        .map(|r| Ok((col(r, 0, "used_links")?, col(r, 1, "used_links")?)))
        .collect()
}

impl TokenStore for PgState {
    fn create_token(&self, token: &TokenRecord) -> Result<()> {
        let token = token.clone();
        self.pool.run("create token", move |c| {
            if create_on(c, &token)? {
                Ok(())
            } else {
                Err(StateError::conflict("token", &token.name, "name in use"))
            }
        })
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let hash = hash.to_string();
        self.pool.run("look up token", move |c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE hash = $1"),
                &[&hash],
            )
            .map_err(be("look up token"))?
            .map(|r| token_row(&r))
            .transpose()
        })
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.pool.run("list tokens", list_all)
    }

    fn revoke_token(&self, name: &str, at: i64) -> Result<TokenRecord> {
        let name = name.to_string();
        self.pool.run("revoke token", move |c| {
            c.query_opt(
                &format!(
                    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2)
                     WHERE name = $1 RETURNING {COLUMNS}"
                ),
                &[&name, &at],
            )
            .map_err(be("revoke token"))?
            .map(|r| token_row(&r))
            .transpose()?
            .ok_or_else(|| StateError::not_found("token", &name))
        })
    }
}

impl UsedLinkStore for PgState {
    fn claim_link(&self, key: &str, expires_at: i64, now: i64) -> Result<bool> {
        let key = key.to_string();
        self.pool.run("claim link", move |c| {
            let mut tx = c.transaction().map_err(be("claim link"))?;
            tx.execute("DELETE FROM used_links WHERE expires_at < $1", &[&now])
                .map_err(be("prune used links"))?;
            let added = tx
                .execute(
                    "INSERT INTO used_links (key, expires_at) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&key, &expires_at],
                )
                .map_err(be("claim link"))?;
            tx.commit().map_err(be("claim link"))?;
            Ok(added == 1)
        })
    }

    fn link_used(&self, key: &str) -> Result<bool> {
        let key = key.to_string();
        self.pool.run("read used links", move |c| {
            c.query_one(
                "SELECT EXISTS (SELECT 1 FROM used_links WHERE key = $1)",
                &[&key],
            )
            .and_then(|r| r.try_get(0))
            .map_err(be("read used links"))
        })
    }
}
