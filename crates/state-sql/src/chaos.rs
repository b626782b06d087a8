//! [`ChaosStore`] on SQLite: experiment runs with their journal as JSON,
//! and the Chaos Monkey's termination log.

use homeostat_state::{
    ChaosRun, ChaosStore, NewTermination, RUN_RUNNING, Result, StateError, Termination,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::SqliteState;
use crate::codec::{be, col, from_json, is_unique_violation, query, to_i64, to_json};

pub(crate) const RUN_COLUMNS: &str =
    "id, title, service, status, started_at, finished_at, principal, journal";
pub(crate) const TERMINATION_COLUMNS: &str = "id, grp, service, target, at_ms, action, outcome";

pub(crate) fn run_row(r: &Row<'_>) -> Result<ChaosRun> {
    Ok(ChaosRun {
        id: col(r, 0, "chaos_runs")?,
        title: col(r, 1, "chaos_runs")?,
        service: col(r, 2, "chaos_runs")?,
        status: col(r, 3, "chaos_runs")?,
        started_at: col(r, 4, "chaos_runs")?,
        finished_at: col(r, 5, "chaos_runs")?,
        principal: col(r, 6, "chaos_runs")?,
        journal: from_json(&col::<String>(r, 7, "chaos_runs")?, "chaos_runs.journal")?,
    })
}

pub(crate) fn termination_row(r: &Row<'_>) -> Result<Termination> {
    Ok(Termination {
        id: col(r, 0, "chaos_terminations")?,
        group: col(r, 1, "chaos_terminations")?,
        service: col(r, 2, "chaos_terminations")?,
        target: col(r, 3, "chaos_terminations")?,
        at_ms: col(r, 4, "chaos_terminations")?,
        action: col(r, 5, "chaos_terminations")?,
        outcome: col(r, 6, "chaos_terminations")?,
    })
}

pub(crate) fn insert_run_on(c: &Connection, run: &ChaosRun) -> Result<()> {
    run.validate()?;
    c.execute(
        &format!("INSERT INTO chaos_runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            run.id,
            run.title,
            run.service,
            run.status,
            run.started_at,
            run.finished_at,
            run.principal,
            to_json(&run.journal, "journal")?
        ],
    )
    .map(|_| ())
    .map_err(|e| {
        if is_unique_violation(&e) {
            StateError::conflict("experiment run", &run.id, "already exists")
        } else {
            StateError::backend("insert experiment run", e)
        }
    })
}

pub(crate) fn insert_termination_on(c: &Connection, t: &Termination) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO chaos_terminations ({TERMINATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ),
        params![t.id, t.group, t.service, t.target, t.at_ms, t.action, t.outcome],
    )
    .map(|_| ())
    .map_err(be("import termination"))
}

impl ChaosStore for SqliteState {
    fn insert_run(&self, run: &ChaosRun) -> Result<()> {
        insert_run_on(&self.conn.lock(), run)
    }

    fn update_run(&self, run: &ChaosRun) -> Result<()> {
        run.validate()?;
        let n = self
            .conn
            .lock()
            .execute(
                "UPDATE chaos_runs SET title = ?2, service = ?3, status = ?4, started_at = ?5,
                     finished_at = ?6, principal = ?7, journal = ?8
                 WHERE id = ?1",
                params![
                    run.id,
                    run.title,
                    run.service,
                    run.status,
                    run.started_at,
                    run.finished_at,
                    run.principal,
                    to_json(&run.journal, "journal")?
                ],
            )
            .map_err(be("update experiment run"))?;
        if n == 0 {
            return Err(StateError::not_found("experiment run", &run.id));
        }
        Ok(())
    }

    fn get_run(&self, id: &str) -> Result<Option<ChaosRun>> {
        let c = self.conn.lock();
        let mut out = query(
            &c,
            &format!("SELECT {RUN_COLUMNS} FROM chaos_runs WHERE id = ?1"),
            &[&id],
            "read experiment run",
            run_row,
        )?;
        Ok(out.pop())
    }

    fn list_runs(&self, service: Option<&str>, since: i64, limit: usize) -> Result<Vec<ChaosRun>> {
        query(
            &self.conn.lock(),
            &format!(
                "SELECT {RUN_COLUMNS} FROM chaos_runs
                 WHERE started_at >= ?1 AND (?2 IS NULL OR service = ?2)
                 ORDER BY started_at DESC, id DESC LIMIT ?3"
            ),
            &[&since, &service, &to_i64(limit as u64)],
            "list experiment runs",
            run_row,
        )
    }

    fn running_runs(&self) -> Result<Vec<ChaosRun>> {
        query(
            &self.conn.lock(),
            &format!(
                "SELECT {RUN_COLUMNS} FROM chaos_runs WHERE status = ?1 ORDER BY started_at, id"
            ),
            &[&RUN_RUNNING],
            "list running experiment runs",
            run_row,
        )
    }

    fn record_termination(&self, t: &NewTermination) -> Result<Termination> {
        t.validate()?;
        let c = self.conn.lock();
        c.execute(
            "INSERT INTO chaos_terminations (grp, service, target, at_ms, action, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![t.group, t.service, t.target, t.at_ms, t.action, t.outcome],
        )
        .map_err(be("record termination"))?;
        Ok(Termination {
            id: c.last_insert_rowid(),
            group: t.group.clone(),
            service: t.service.clone(),
            target: t.target.clone(),
            at_ms: t.at_ms,
            action: t.action.clone(),
            outcome: t.outcome.clone(),
        })
    }

    fn last_termination(&self, group: &str) -> Result<Option<Termination>> {
        let c = self.conn.lock();
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT {TERMINATION_COLUMNS} FROM chaos_terminations WHERE grp = ?1
                 ORDER BY at_ms DESC, id DESC LIMIT 1"
            ))
            .map_err(be("read last termination"))?;
        let row = stmt
            .query_row([group], |r| Ok(termination_row(r)))
            .optional()
            .map_err(be("read last termination"))?;
        row.transpose()
    }

    fn list_terminations(
        &self,
        group: Option<&str>,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<Termination>> {
        query(
            &self.conn.lock(),
            &format!(
                "SELECT {TERMINATION_COLUMNS} FROM chaos_terminations
                 WHERE at_ms >= ?1 AND (?2 IS NULL OR grp = ?2)
                 ORDER BY at_ms DESC, id DESC LIMIT ?3"
            ),
            &[&since_ms, &group, &to_i64(limit as u64)],
            "list terminations",
            termination_row,
        )
    }
}
