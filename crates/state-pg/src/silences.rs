use homeostat_state::{Result, Silence, SilenceStore, StateError, expired_at, new_silence_id};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, to_json};

const COLUMNS: &str = "id, matchers, starts_at, ends_at, created_by, comment, updated_at";

fn silence_from_row(row: &Row) -> Result<Silence> {
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

pub(crate) fn write(c: &mut impl GenericClient, s: &Silence) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO silences ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers,
                 starts_at = excluded.starts_at, ends_at = excluded.ends_at,
                 created_by = excluded.created_by, comment = excluded.comment,
                 updated_at = excluded.updated_at"
        ),
        &[
            &s.id,
            &to_json(&s.matchers, "matchers")?,
            &s.starts_at,
            &s.ends_at,
            &s.created_by,
            &s.comment,
            &s.updated_at,
        ],
    )
    .map_err(be("write silence"))?;
    Ok(())
}

pub(crate) fn list_all(c: &mut impl GenericClient) -> Result<Vec<Silence>> {
    c.query(
        &format!("SELECT {COLUMNS} FROM silences ORDER BY starts_at, id"),
        &[],
    )
    .map_err(be("list silences"))?
    .iter()
    .map(silence_from_row)
    .collect()
}

impl SilenceStore for PgState {
    fn upsert(&self, silence: &Silence) -> Result<Silence> {
        silence.validate()?;
        let mut s = silence.clone();
        if s.id.is_empty() {
            s.id = new_silence_id();
        }
        let stored = s.clone();
        self.pool.run("write silence", move |c| write(c, &stored))?;
        Ok(s)
    }

    fn get(&self, id: &str) -> Result<Silence> {
        let id = id.to_string();
        self.pool.run("read silence", move |c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM silences WHERE id = $1"),
                &[&id],
            )
            .map_err(be("read silence"))?
            .map(|r| silence_from_row(&r))
            .transpose()?
            .ok_or_else(|| StateError::not_found("silence", &id))
        })
    }

    fn list(&self) -> Result<Vec<Silence>> {
        self.pool.run("list silences", list_all)
    }

    fn expire(&self, id: &str, at: i64) -> Result<Silence> {
        let id = id.to_string();
        self.pool.run("expire silence", move |c| {
            let mut tx = c.transaction().map_err(be("expire silence"))?;
            let s = tx
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM silences WHERE id = $1 FOR UPDATE"),
                    &[&id],
                )
                .map_err(be("read silence"))?
                .map(|r| silence_from_row(&r))
                .transpose()?
                .ok_or_else(|| StateError::not_found("silence", &id))?;
            let s = expired_at(s, at)?;
            write(&mut tx, &s)?;
            tx.commit().map_err(be("expire silence"))?;
            Ok(s)
        })
    }

    fn gc(&self, older_than: i64) -> Result<usize> {
        self.pool.run("delete old silences", move |c| {
            c.execute("DELETE FROM silences WHERE ends_at < $1", &[&older_than])
                .map(|n| n as usize)
                .map_err(be("delete old silences"))
        })
    }
}
