//! [`RemediationStore`] on SQLite: runs with the engine's run as JSON.

use homeostat_state::{RemediationFilter, RemediationRun, RemediationStore, Result, StateError};
use rusqlite::{Connection, Row, params};

use crate::SqliteState;
use crate::codec::{be, col, from_json, is_unique_violation, query, to_i64, to_json};

pub(crate) const COLUMNS: &str =
    "id, policy, target, service, incident, state, started_at, ended_at, run";

pub(crate) fn row(r: &Row<'_>) -> Result<RemediationRun> {
    let t = "remediation_runs";
    Ok(RemediationRun {
        id: col(r, 0, t)?,
        policy: col(r, 1, t)?,
        target: col(r, 2, t)?,
        service: col(r, 3, t)?,
        incident: col(r, 4, t)?,
        state: col(r, 5, t)?,
        started_at: col(r, 6, t)?,
        ended_at: col(r, 7, t)?,
        run: from_json(&col::<String>(r, 8, t)?, "remediation_runs.run")?,
    })
}

/// Runs `sql` with the run's columns as `?1`…`?9`, in [`COLUMNS`] order.
fn write(c: &Connection, sql: &str, run: &RemediationRun) -> Result<rusqlite::Result<usize>> {
    Ok(c.execute(
        sql,
        params![
            run.id,
            run.policy,
            run.target,
            run.service,
            run.incident,
            run.state,
            run.started_at,
            run.ended_at,
            to_json(&run.run, "run")?
        ],
    ))
}

pub(crate) fn insert_on(c: &Connection, run: &RemediationRun) -> Result<()> {
    run.validate()?;
    write(
        c,
        &format!(
            "INSERT INTO remediation_runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        run,
    )?
    .map(|_| ())
    .map_err(|e| {
        if is_unique_violation(&e) {
            StateError::conflict("remediation run", &run.id, "already exists")
        } else {
            StateError::backend("insert remediation run", e)
        }
    })
}

impl RemediationStore for SqliteState {
    fn insert_remediation(&self, run: &RemediationRun) -> Result<()> {
        insert_on(&self.conn.lock(), run)
    }

    fn update_remediation(&self, run: &RemediationRun) -> Result<()> {
        run.validate()?;
        let n = write(
            &self.conn.lock(),
            "UPDATE remediation_runs SET policy = ?2, target = ?3, service = ?4, incident = ?5,
                 state = ?6, started_at = ?7, ended_at = ?8, run = ?9
             WHERE id = ?1",
            run,
        )?
        .map_err(be("update remediation run"))?;
        if n == 0 {
            return Err(StateError::not_found("remediation run", &run.id));
        }
        Ok(())
    }

    fn get_remediation(&self, id: &str) -> Result<Option<RemediationRun>> {
        let mut out = query(
            &self.conn.lock(),
            &format!("SELECT {COLUMNS} FROM remediation_runs WHERE id = ?1"),
            &[&id],
            "read remediation run",
            row,
        )?;
        Ok(out.pop())
    }

    fn list_remediations(&self, f: &RemediationFilter) -> Result<Vec<RemediationRun>> {
        query(
            &self.conn.lock(),
            &format!(
                "SELECT {COLUMNS} FROM remediation_runs
                 WHERE started_at >= ?1 AND (?2 IS NULL OR policy = ?2) AND (?3 IS NULL OR target = ?3)
                 ORDER BY started_at DESC, id DESC LIMIT ?4"
            ),
            &[&f.since, &f.policy, &f.target, &to_i64(f.limit as u64)],
            "list remediation runs",
            row,
        )
    }

    fn active_remediations(&self) -> Result<Vec<RemediationRun>> {
        query(
            &self.conn.lock(),
            &format!(
                "SELECT {COLUMNS} FROM remediation_runs WHERE ended_at IS NULL ORDER BY started_at, id"
            ),
            &[],
            "list active remediation runs",
            row,
        )
    }
}
