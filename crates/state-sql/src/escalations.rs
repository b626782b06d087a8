use homeostat_state::{EscalationRecord, EscalationStore, Result};
use rusqlite::{OptionalExtension, params};

use crate::SqliteState;
use crate::codec::{be, from_json, to_json};

impl EscalationStore for SqliteState {
    fn put(&self, record: &EscalationRecord) -> Result<()> {
        self.conn
            .lock()
            .execute(
                "INSERT OR REPLACE INTO escalations (key, state, updated_at) VALUES (?1, ?2, ?3)",
                params![
                    record.key,
                    to_json(&record.state_json, "state_json")?,
                    record.updated_at
                ],
            )
            .map_err(be("write escalation"))?;
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<EscalationRecord>> {
        let row: Option<(String, i64)> = self
            .conn
            .lock()
            .query_row(
                "SELECT state, updated_at FROM escalations WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(be("read escalation"))?;
        row.map(|(state, updated_at)| {
            Ok(EscalationRecord {
                key: key.to_string(),
                state_json: from_json(&state, "escalations.state")?,
                updated_at,
            })
        })
        .transpose()
    }

    fn list_active(&self) -> Result<Vec<EscalationRecord>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached("SELECT key, state, updated_at FROM escalations ORDER BY key")
            .map_err(be("list escalations"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(be("list escalations"))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, state, updated_at) = row.map_err(be("list escalations"))?;
            out.push(EscalationRecord {
                key,
                state_json: from_json(&state, "escalations.state")?,
                updated_at,
            });
        }
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let n = self
            .conn
            .lock()
            .execute("DELETE FROM escalations WHERE key = ?1", [key])
            .map_err(be("delete escalation"))?;
        Ok(n > 0)
    }
}
