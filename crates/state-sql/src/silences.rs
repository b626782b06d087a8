use homeostat_state::{Result, Silence, SilenceStore, StateError, expired_at, new_silence_id};
use rusqlite::{Row, params};

use crate::SqliteState;
use crate::codec::{be, col, from_json, to_json};

pub(crate) const COLUMNS: &str =
    "id, matchers, starts_at, ends_at, created_by, comment, updated_at";

pub(crate) fn silence_from_row(row: &Row<'_>) -> Result<Silence> {
    let matchers: String = col(row, 1, "silences")?;
    Ok(Silence {
        id: col(row, 0, "silences")?,
        matchers: from_json(&matchers, "silences.matchers")?,
        starts_at: col(row, 2, "silences")?,
        ends_at: col(row, 3, "silences")?,
        created_by: col(row, 4, "silences")?,
        comment: col(row, 5, "silences")?,
        updated_at: col(row, 6, "silences")?,
    })
}

fn write(conn: &rusqlite::Connection, s: &Silence) -> Result<()> {
    conn.execute(
        &format!("INSERT OR REPLACE INTO silences ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![
            s.id,
            to_json(&s.matchers, "matchers")?,
            s.starts_at,
            s.ends_at,
            s.created_by,
            s.comment,
            s.updated_at
        ],
    )
    .map_err(be("write silence"))?;
    Ok(())
}

fn read(conn: &rusqlite::Connection, id: &str) -> Result<Option<Silence>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM silences WHERE id = ?1"))
        .map_err(be("read silence"))?;
    let mut rows = stmt.query([id]).map_err(be("read silence"))?;
    rows.next()
        .map_err(be("read silence"))?
        .map(silence_from_row)
        .transpose()
}

impl SilenceStore for SqliteState {
    fn upsert(&self, silence: &Silence) -> Result<Silence> {
        silence.validate()?;
        let mut s = silence.clone();
        if s.id.is_empty() {
            s.id = new_silence_id();
        }
        write(&self.conn.lock(), &s)?;
        Ok(s)
    }

    fn get(&self, id: &str) -> Result<Silence> {
        read(&self.conn.lock(), id)?.ok_or_else(|| StateError::not_found("silence", id))
    }

    fn list(&self) -> Result<Vec<Silence>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM silences ORDER BY starts_at, id"
            ))
            .map_err(be("list silences"))?;
        let mut rows = stmt.query([]).map_err(be("list silences"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(be("list silences"))? {
            out.push(silence_from_row(row)?);
        }
        Ok(out)
    }

    fn expire(&self, id: &str, at: i64) -> Result<Silence> {
        let conn = self.conn.lock();
        let s = read(&conn, id)?.ok_or_else(|| StateError::not_found("silence", id))?;
        let s = expired_at(s, at)?;
        write(&conn, &s)?;
        Ok(s)
    }

    fn gc(&self, older_than: i64) -> Result<usize> {
        self.conn
            .lock()
            .execute("DELETE FROM silences WHERE ends_at < ?1", [older_than])
            .map_err(be("delete old silences"))
    }
}
