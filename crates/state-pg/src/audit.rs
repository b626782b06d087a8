use homeostat_state::{AuditEntry, AuditLog, Result};
use postgres::types::ToSql;
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, limit, to_json};

const COLUMNS: &str = "seq, at, actor, action, object, detail";

fn from_row(r: &Row) -> Result<AuditEntry> {
    let t = "audit";
    let detail: String = col(r, 5, t)?;
    Ok(AuditEntry {
        seq: col(r, 0, t)?,
        at: col(r, 1, t)?,
        actor: col(r, 2, t)?,
        action: col(r, 3, t)?,
        object: col(r, 4, t)?,
        detail: from_json(&detail, "audit.detail")?,
    })
}

/// Appends `entry` on `c`, which may be a caller's transaction (an override
/// and its audit entry commit together).
pub(crate) fn append_on(c: &mut impl GenericClient, entry: &AuditEntry) -> Result<i64> {
    c.query_one(
        "INSERT INTO audit (at, actor, action, object, detail) VALUES ($1, $2, $3, $4, $5)
         RETURNING seq",
        &[
            &entry.at,
            &entry.actor,
            &entry.action,
            &entry.object,
            &to_json(&entry.detail, "detail")?,
        ],
    )
    .and_then(|r| r.try_get(0))
    .map_err(be("append audit entry"))
}

/// The newest `n` rows of `filter` (`$1` is the limit), oldest first.
fn newest(
    c: &mut impl GenericClient,
    filter: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<AuditEntry>> {
    let mut out = c
        .query(
            &format!("SELECT {COLUMNS} FROM audit {filter} ORDER BY at DESC, seq DESC LIMIT $1"),
            args,
        )
        .map_err(be("list audit entries"))?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    out.reverse();
    Ok(out)
}

pub(crate) fn list_all(c: &mut impl GenericClient) -> Result<Vec<AuditEntry>> {
    c.query(&format!("SELECT {COLUMNS} FROM audit ORDER BY seq"), &[])
        .map_err(be("list audit entries"))?
        .iter()
        .map(from_row)
        .collect()
}

impl AuditLog for PgState {
    fn append(&self, entry: &AuditEntry) -> Result<i64> {
        let entry = entry.clone();
        self.pool
            .run("append audit entry", move |c| append_on(c, &entry))
    }

    fn list_by_object(&self, object: &str, n: usize) -> Result<Vec<AuditEntry>> {
        let object = object.to_string();
        self.pool.run("list audit entries", move |c| {
            newest(c, "WHERE object = $2", &[&limit(Some(n)), &object])
        })
    }

    fn list_recent(&self, n: usize) -> Result<Vec<AuditEntry>> {
        self.pool.run("list audit entries", move |c| {
            newest(c, "", &[&limit(Some(n))])
        })
    }
}
