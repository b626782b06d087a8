use homeostat_state::{AuditEntry, AuditLog, Result};
use rusqlite::{ToSql, params};

use crate::SqliteState;
use crate::codec::{be, from_json, to_json};

const COLUMNS: &str = "seq, at, actor, action, object, detail";

impl SqliteState {
    /// The newest `limit` rows of `filter`, returned oldest first.
    fn audit_query(&self, filter: &str, args: &[&dyn ToSql]) -> Result<Vec<AuditEntry>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit {filter} ORDER BY at DESC, seq DESC LIMIT ?"
            ))
            .map_err(be("list audit entries"))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(be("list audit entries"))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, actor, action, object, detail) = row.map_err(be("list audit entries"))?;
            out.push(AuditEntry {
                seq,
                at,
                actor,
                action,
                object,
                detail: from_json(&detail, "audit.detail")?,
            });
        }
        out.reverse();
        Ok(out)
    }
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Appends `entry` on `conn`, which may be inside a caller's transaction
/// (an override and its audit entry commit together).
pub(crate) fn append_on(conn: &rusqlite::Connection, entry: &AuditEntry) -> Result<i64> {
    conn.execute(
        "INSERT INTO audit (at, actor, action, object, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            entry.at,
            entry.actor,
            entry.action,
            entry.object,
            to_json(&entry.detail, "detail")?
        ],
    )
    .map_err(be("append audit entry"))?;
    Ok(conn.last_insert_rowid())
}

impl AuditLog for SqliteState {
    fn append(&self, entry: &AuditEntry) -> Result<i64> {
        append_on(&self.conn.lock(), entry)
    }

    fn list_by_object(&self, object: &str, n: usize) -> Result<Vec<AuditEntry>> {
        self.audit_query("WHERE object = ?", &[&object, &limit(n)])
    }

    fn list_recent(&self, n: usize) -> Result<Vec<AuditEntry>> {
        self.audit_query("", &[&limit(n)])
    }
}
