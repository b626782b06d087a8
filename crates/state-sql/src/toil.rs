//! [`ToilStore`] on SQLite: toil logged by hand (schema v8).

use homeostat_state::{Result, StateError, ToilEntry, ToilFilter, ToilSource, ToilStore};
use rusqlite::{Connection, Row, params};

use crate::SqliteState;
use crate::codec::{be, col, is_unique_violation};

pub(crate) const COLUMNS: &str =
    "id, at_ms, actor, service, team, kind, subject, minutes, source, detail";

pub(crate) fn toil_row(r: &Row<'_>) -> Result<ToilEntry> {
    let source: String = col(r, 8, "toil_entries")?;
    Ok(ToilEntry {
        id: col(r, 0, "toil_entries")?,
        at_ms: col(r, 1, "toil_entries")?,
        actor: col(r, 2, "toil_entries")?,
        service: col(r, 3, "toil_entries")?,
        team: col(r, 4, "toil_entries")?,
        kind: col(r, 5, "toil_entries")?,
        subject: col(r, 6, "toil_entries")?,
        minutes: col(r, 7, "toil_entries")?,
        source: ToilSource::decode(&source)?,
        detail: col(r, 9, "toil_entries")?,
    })
}

pub(crate) fn insert_on(c: &Connection, e: &ToilEntry) -> Result<()> {
    e.validate()?;
    c.execute(
        &format!(
            "INSERT INTO toil_entries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            e.id,
            e.at_ms,
            e.actor,
            e.service,
            e.team,
            e.kind,
            e.subject,
            e.minutes,
            e.source.as_str(),
            e.detail
        ],
    )
    .map(|_| ())
    .map_err(|err| {
        if is_unique_violation(&err) {
            StateError::conflict("toil entry", &e.id, "already exists")
        } else {
            StateError::backend("record toil entry", err)
        }
    })
}

impl ToilStore for SqliteState {
    fn record_toil(&self, entry: &ToilEntry) -> Result<()> {
        insert_on(&self.conn.lock(), entry)
    }

    fn list_toil(&self, f: &ToilFilter) -> Result<Vec<ToilEntry>> {
        let c = self.conn.lock();
        let op = "list toil entries";
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM toil_entries
                 WHERE at_ms >= ?1 AND (?2 IS NULL OR at_ms < ?2)
                   AND (?3 IS NULL OR team = ?3) AND (?4 IS NULL OR service = ?4)
                 ORDER BY at_ms, id"
            ))
            .map_err(be(op))?;
        let mut rows = stmt
            .query(params![f.since, f.until, f.team, f.service])
            .map_err(be(op))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(be(op))? {
            out.push(toil_row(r)?);
        }
        Ok(out)
    }
}
