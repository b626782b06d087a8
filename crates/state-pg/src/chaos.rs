//! [`ChaosStore`] on PostgreSQL: experiment runs with their journal as
//! JSON text, and the Chaos Monkey's termination log.

use homeostat_state::{
    ChaosRun, ChaosStore, NewTermination, RUN_RUNNING, Result, StateError, Termination,
};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, is_unique_violation, limit, to_json};

const RUN_COLUMNS: &str = "id, title, service, status, started_at, finished_at, principal, journal";
const TERMINATION_COLUMNS: &str = "id, grp, service, target, at_ms, action, outcome";

fn run_row(r: &Row) -> Result<ChaosRun> {
    let t = "chaos_runs";
    let journal: String = col(r, 7, t)?;
    Ok(ChaosRun {
        id: col(r, 0, t)?,
        title: col(r, 1, t)?,
        service: col(r, 2, t)?,
        status: col(r, 3, t)?,
        started_at: col(r, 4, t)?,
        finished_at: col(r, 5, t)?,
        principal: col(r, 6, t)?,
        journal: from_json(&journal, "chaos_runs.journal")?,
    })
}

fn termination_row(r: &Row) -> Result<Termination> {
    let t = "chaos_terminations";
    Ok(Termination {
        id: col(r, 0, t)?,
        group: col(r, 1, t)?,
        service: col(r, 2, t)?,
        target: col(r, 3, t)?,
        at_ms: col(r, 4, t)?,
        action: col(r, 5, t)?,
        outcome: col(r, 6, t)?,
    })
}

pub(crate) fn insert_run_on(c: &mut impl GenericClient, run: &ChaosRun) -> Result<()> {
    run.validate()?;
    c.execute(
        &format!("INSERT INTO chaos_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
        &[
            &run.id,
            &run.title,
            &run.service,
            &run.status,
            &run.started_at,
            &run.finished_at,
            &run.principal,
            &to_json(&run.journal, "journal")?,
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

pub(crate) fn insert_termination_on(c: &mut impl GenericClient, t: &Termination) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO chaos_terminations ({TERMINATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ),
        &[&t.id, &t.group, &t.service, &t.target, &t.at_ms, &t.action, &t.outcome],
    )
    .map(|_| ())
    .map_err(be("import termination"))
}

pub(crate) fn list_all_runs(c: &mut impl GenericClient) -> Result<Vec<ChaosRun>> {
    c.query(
        &format!("SELECT {RUN_COLUMNS} FROM chaos_runs ORDER BY started_at, id"),
        &[],
    )
    .map_err(be("export experiment runs"))?
    .iter()
    .map(run_row)
    .collect()
}

pub(crate) fn list_all_terminations(c: &mut impl GenericClient) -> Result<Vec<Termination>> {
    c.query(
        &format!("SELECT {TERMINATION_COLUMNS} FROM chaos_terminations ORDER BY id"),
        &[],
    )
    .map_err(be("export terminations"))?
    .iter()
    .map(termination_row)
    .collect()
}

impl ChaosStore for PgState {
    fn insert_run(&self, run: &ChaosRun) -> Result<()> {
        let run = run.clone();
        self.pool
            .run("insert experiment run", move |c| insert_run_on(c, &run))
    }

    fn update_run(&self, run: &ChaosRun) -> Result<()> {
        run.validate()?;
        let run = run.clone();
        self.pool.run("update experiment run", move |c| {
            let n = c
                .execute(
                    "UPDATE chaos_runs SET title = $2, service = $3, status = $4, started_at = $5,
                         finished_at = $6, principal = $7, journal = $8
                     WHERE id = $1",
                    &[
                        &run.id,
                        &run.title,
                        &run.service,
                        &run.status,
                        &run.started_at,
                        &run.finished_at,
                        &run.principal,
                        &to_json(&run.journal, "journal")?,
                    ],
                )
                .map_err(be("update experiment run"))?;
            if n == 0 {
                return Err(StateError::not_found("experiment run", &run.id));
            }
            Ok(())
        })
    }

    fn get_run(&self, id: &str) -> Result<Option<ChaosRun>> {
        let id = id.to_string();
        self.pool.run("read experiment run", move |c| {
            c.query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM chaos_runs WHERE id = $1"),
                &[&id],
            )
            .map_err(be("read experiment run"))?
            .as_ref()
            .map(run_row)
            .transpose()
        })
    }

    fn list_runs(&self, service: Option<&str>, since: i64, n: usize) -> Result<Vec<ChaosRun>> {
        let service = service.map(str::to_string);
        self.pool.run("list experiment runs", move |c| {
            c.query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM chaos_runs
                     WHERE started_at >= $1 AND ($2::TEXT IS NULL OR service = $2)
                     ORDER BY started_at DESC, id DESC LIMIT $3"
                ),
                &[&since, &service, &limit(Some(n))],
            )
            .map_err(be("list experiment runs"))?
            .iter()
            .map(run_row)
            .collect()
        })
    }

    fn running_runs(&self) -> Result<Vec<ChaosRun>> {
        self.pool.run("list running experiment runs", move |c| {
            c.query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM chaos_runs WHERE status = $1 ORDER BY started_at, id"
                ),
                &[&RUN_RUNNING],
            )
            .map_err(be("list running experiment runs"))?
            .iter()
            .map(run_row)
            .collect()
        })
    }

    fn record_termination(&self, t: &NewTermination) -> Result<Termination> {
        t.validate()?;
        let t = t.clone();
        self.pool.run("record termination", move |c| {
            let row = c
                .query_one(
                    "INSERT INTO chaos_terminations (grp, service, target, at_ms, action, outcome)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &t.group, &t.service, &t.target, &t.at_ms, &t.action, &t.outcome,
                    ],
                )
                .map_err(be("record termination"))?;
            Ok(Termination {
                id: col(&row, 0, "chaos_terminations")?,
                group: t.group,
                service: t.service,
                target: t.target,
                at_ms: t.at_ms,
                action: t.action,
                outcome: t.outcome,
            })
        })
    }

    fn last_termination(&self, group: &str) -> Result<Option<Termination>> {
        let group = group.to_string();
        self.pool.run("read last termination", move |c| {
            c.query_opt(
                &format!(
                    "SELECT {TERMINATION_COLUMNS} FROM chaos_terminations WHERE grp = $1
                     ORDER BY at_ms DESC, id DESC LIMIT 1"
                ),
                &[&group],
            )
            .map_err(be("read last termination"))?
            .as_ref()
            .map(termination_row)
            .transpose()
        })
    }

    fn list_terminations(
        &self,
        group: Option<&str>,
        since_ms: i64,
        n: usize,
    ) -> Result<Vec<Termination>> {
        let group = group.map(str::to_string);
        self.pool.run("list terminations", move |c| {
            c.query(
                &format!(
                    "SELECT {TERMINATION_COLUMNS} FROM chaos_terminations
                     WHERE at_ms >= $1 AND ($2::TEXT IS NULL OR grp = $2)
                     ORDER BY at_ms DESC, id DESC LIMIT $3"
                ),
                &[&since_ms, &group, &limit(Some(n))],
            )
            .map_err(be("list terminations"))?
            .iter()
            .map(termination_row)
            .collect()
        })
    }
}
