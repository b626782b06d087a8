use homeostat_state::{EscalationRecord, EscalationStore, Result};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, to_json};

pub(crate) fn put_on(c: &mut impl GenericClient, record: &EscalationRecord) -> Result<()> {
    c.execute(
        "INSERT INTO escalations (key, state, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        &[
            &record.key,
            &to_json(&record.state_json, "state_json")?,
            &record.updated_at,
        ],
    )
    .map_err(be("write escalation"))?;
    Ok(())
}

fn from_row(r: &Row) -> Result<EscalationRecord> {
    let state: String = col(r, 1, "escalations")?;
    Ok(EscalationRecord {
        key: col(r, 0, "escalations")?,
        state_json: from_json(&state, "escalations.state")?,
        updated_at: col(r, 2, "escalations")?,
    })
}

pub(crate) fn list_all(c: &mut impl GenericClient) -> Result<Vec<EscalationRecord>> {
    c.query(
        "SELECT key, state, updated_at FROM escalations ORDER BY key",
        &[],
    )
    .map_err(be("list escalations"))?
    .iter()
    .map(from_row)
    .collect()
}

impl EscalationStore for PgState {
    fn put(&self, record: &EscalationRecord) -> Result<()> {
        let record = record.clone();
        self.pool
            .run("write escalation", move |c| put_on(c, &record))
    }

    fn get(&self, key: &str) -> Result<Option<EscalationRecord>> {
        let key = key.to_string();
        self.pool.run("read escalation", move |c| {
            c.query_opt(
                "SELECT key, state, updated_at FROM escalations WHERE key = $1",
                &[&key],
            )
            .map_err(be("read escalation"))?
            .map(|r| from_row(&r))
            .transpose()
        })
    }

    fn list_active(&self) -> Result<Vec<EscalationRecord>> {
        self.pool.run("list escalations", list_all)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let key = key.to_string();
        self.pool.run("delete escalation", move |c| {
            c.execute("DELETE FROM escalations WHERE key = $1", &[&key])
                .map(|n| n > 0)
                .map_err(be("delete escalation"))
        })
    }
}
