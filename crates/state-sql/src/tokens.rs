use homeostat_state::{Result, StateError, TokenRecord, TokenStore, UsedLinkStore};
use rusqlite::{OptionalExtension, Row, params};

use crate::SqliteState;
use crate::codec::{be, from_json, is_unique_violation, to_json};

pub(crate) const COLUMNS: &str =
    "name, hash, scopes, created_at, created_by, expires_at, revoked_at";

pub(crate) fn token_row(r: &Row<'_>) -> rusqlite::Result<(TokenRecord, String)> {
    Ok((
        TokenRecord {
            name: r.get(0)?,
            hash: r.get(1)?,
            scopes: vec![],
            created_at: r.get(3)?,
            created_by: r.get(4)?,
            expires_at: r.get(5)?,
            revoked_at: r.get(6)?,
        },
        r.get(2)?,
    ))
}

pub(crate) fn decode((mut t, scopes): (TokenRecord, String)) -> Result<TokenRecord> {
    t.scopes = from_json(&scopes, "api_tokens.scopes")?;
    Ok(t)
}

impl TokenStore for SqliteState {
    fn create_token(&self, token: &TokenRecord) -> Result<()> {
        // Replaces only a revoked row of the same name; a live one makes
        // the upsert change nothing.
        let changed = self
            .conn
            .lock()
            .execute(
                &format!(
                    "INSERT INTO api_tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (name) DO UPDATE SET hash = excluded.hash,
                         scopes = excluded.scopes, created_at = excluded.created_at,
                         created_by = excluded.created_by, expires_at = excluded.expires_at,
                         revoked_at = excluded.revoked_at
                     WHERE api_tokens.revoked_at IS NOT NULL"
                ),
                params![
                    token.name,
                    token.hash,
                    to_json(&token.scopes, "scopes")?,
                    token.created_at,
                    token.created_by,
                    token.expires_at,
                    token.revoked_at
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StateError::conflict("token", &token.name, "hash in use")
                } else {
                    StateError::backend("create token", e)
                }
            })?;
        if changed == 0 {
            return Err(StateError::conflict("token", &token.name, "name in use"));
        }
        Ok(())
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let row = self
            .conn
            .lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE hash = ?1"),
                [hash],
                token_row,
            )
            .optional()
            .map_err(be("look up token"))?;
        row.map(decode).transpose()
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name"))
            .map_err(be("list tokens"))?;
        let rows = stmt.query_map([], token_row).map_err(be("list tokens"))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(decode(row.map_err(be("list tokens"))?)?);
        }
        Ok(out)
    }

    fn revoke_token(&self, name: &str, at: i64) -> Result<TokenRecord> {
        let row = self
            .conn
            .lock()
            .query_row(
                &format!(
                    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2)
                     WHERE name = ?1 RETURNING {COLUMNS}"
                ),
                params![name, at],
                token_row,
            )
            .optional()
            .map_err(be("revoke token"))?;
        match row {
            Some(r) => decode(r),
            None => Err(StateError::not_found("token", name)),
        }
    }
}

impl UsedLinkStore for SqliteState {
    fn claim_link(&self, key: &str, expires_at: i64, now: i64) -> Result<bool> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(be("claim link"))?;
        tx.execute("DELETE FROM used_links WHERE expires_at < ?1", [now])
            .map_err(be("prune used links"))?;
        let added = tx
            .execute(
                "INSERT INTO used_links (key, expires_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![key, expires_at],
            )
            .map_err(be("claim link"))?;
        tx.commit().map_err(be("claim link"))?;
        Ok(added == 1)
    }

    fn link_used(&self, key: &str) -> Result<bool> {
        self.conn
            .lock()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM used_links WHERE key = ?1)",
                [key],
                |r| r.get(0),
            )
            .map_err(be("read used links"))
    }
}
