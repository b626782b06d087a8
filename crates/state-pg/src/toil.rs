//! [`ToilStore`] on PostgreSQL: toil logged by hand (schema v8, as SQLite).

use homeostat_state::{Result, StateError, ToilEntry, ToilFilter, ToilSource, ToilStore};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, is_unique_violation};

const COLUMNS: &str = "id, at_ms, actor, service, team, kind, subject, minutes, source, detail";

fn toil_row(r: &Row) -> Result<ToilEntry> {
    let t = "toil_entries";
    let source: String = col(r, 8, t)?;
    Ok(ToilEntry {
        id: col(r, 0, t)?,
        at_ms: col(r, 1, t)?,
        actor: col(r, 2, t)?,
        service: col(r, 3, t)?,
        team: col(r, 4, t)?,
        kind: col(r, 5, t)?,
        subject: col(r, 6, t)?,
        minutes: col(r, 7, t)?,
        source: ToilSource::decode(&source)?,
        detail: col(r, 9, t)?,
    })
}

pub(crate) fn insert_on(c: &mut impl GenericClient, e: &ToilEntry) -> Result<()> {
    e.validate()?;
    c.execute(
        &format!(
            "INSERT INTO toil_entries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[
            &e.id,
            &e.at_ms,
            &e.actor,
            &e.service,
            &e.team,
            &e.kind,
            &e.subject,
            &e.minutes,
            &e.source.as_str(),
            &e.detail,
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

pub(crate) fn list_on(c: &mut impl GenericClient, f: &ToilFilter) -> Result<Vec<ToilEntry>> {
    c.query(
        &format!(
            "SELECT {COLUMNS} FROM toil_entries
             WHERE at_ms >= $1 AND ($2::BIGINT IS NULL OR at_ms < $2)
               AND ($3::TEXT IS NULL OR team = $3) AND ($4::TEXT IS NULL OR service = $4)
             ORDER BY at_ms, id"
        ),
        &[&f.since, &f.until, &f.team, &f.service],
    )
    .map_err(be("list toil entries"))?
    .iter()
    .map(toil_row)
    .collect()
}

impl ToilStore for PgState {
    fn record_toil(&self, entry: &ToilEntry) -> Result<()> {
        let e = entry.clone();
        self.pool
            .run("record toil entry", move |c| insert_on(c, &e))
    }

    fn list_toil(&self, f: &ToilFilter) -> Result<Vec<ToilEntry>> {
        let f = f.clone();
        self.pool.run("list toil entries", move |c| list_on(c, &f))
    }
}
