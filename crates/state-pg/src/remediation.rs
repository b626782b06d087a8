//! [`RemediationStore`] on PostgreSQL: runs with the engine's run as JSON
//! text.

use homeostat_state::{RemediationFilter, RemediationRun, RemediationStore, Result, StateError};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, is_unique_violation, limit, to_json};

const COLUMNS: &str = "id, policy, target, service, incident, state, started_at, ended_at, run";

fn row(r: &Row) -> Result<RemediationRun> {
    let t = "remediation_runs";
    let run: String = col(r, 8, t)?;
    Ok(RemediationRun {
        id: col(r, 0, t)?,
        policy: col(r, 1, t)?,
        target: col(r, 2, t)?,
        service: col(r, 3, t)?,
        incident: col(r, 4, t)?,
        state: col(r, 5, t)?,
        started_at: col(r, 6, t)?,
        ended_at: col(r, 7, t)?,
        run: from_json(&run, "remediation_runs.run")?,
    })
}

/// Runs `sql` with the run's columns as `$1`…`$9`, in [`COLUMNS`] order.
fn write(
    c: &mut impl GenericClient,
    sql: &str,
    run: &RemediationRun,
) -> Result<std::result::Result<u64, postgres::Error>> {
    Ok(c.execute(
        sql,
        &[
            &run.id,
            &run.policy,
            &run.target,
            &run.service,
            &run.incident,
            &run.state,
            &run.started_at,
            &run.ended_at,
            &to_json(&run.run, "run")?,
        ],
    ))
}

pub(crate) fn insert_on(c: &mut impl GenericClient, run: &RemediationRun) -> Result<()> {
    run.validate()?;
    write(
        c,
        &format!(
            "INSERT INTO remediation_runs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
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

pub(crate) fn list_all(c: &mut impl GenericClient) -> Result<Vec<RemediationRun>> {
    c.query(
        &format!("SELECT {COLUMNS} FROM remediation_runs ORDER BY started_at, id"),
        &[],
    )
    .map_err(be("export remediation runs"))?
    .iter()
    .map(row)
    .collect()
}

impl RemediationStore for PgState {
    fn insert_remediation(&self, run: &RemediationRun) -> Result<()> {
        run.validate()?;
        let run = run.clone();
        self.pool
            .run("insert remediation run", move |c| insert_on(c, &run))
    }

    fn update_remediation(&self, run: &RemediationRun) -> Result<()> {
        run.validate()?;
        let run = run.clone();
        self.pool.run("update remediation run", move |c| {
            let n = write(
                c,
                "UPDATE remediation_runs SET policy = $2, target = $3, service = $4,
                     incident = $5, state = $6, started_at = $7, ended_at = $8, run = $9
                 WHERE id = $1",
                &run,
            )?
            .map_err(be("update remediation run"))?;
            if n == 0 {
                return Err(StateError::not_found("remediation run", &run.id));
            }
            Ok(())
        })
    }

    fn get_remediation(&self, id: &str) -> Result<Option<RemediationRun>> {
        let id = id.to_string();
        self.pool.run("read remediation run", move |c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM remediation_runs WHERE id = $1"),
                &[&id],
            )
            .map_err(be("read remediation run"))?
            .as_ref()
            .map(row)
            .transpose()
        })
    }

    fn list_remediations(&self, f: &RemediationFilter) -> Result<Vec<RemediationRun>> {
        let f = f.clone();
        self.pool.run("list remediation runs", move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM remediation_runs
                     WHERE started_at >= $1 AND ($2::TEXT IS NULL OR policy = $2)
                         AND ($3::TEXT IS NULL OR target = $3)
                     ORDER BY started_at DESC, id DESC LIMIT $4"
                ),
                &[&f.since, &f.policy, &f.target, &limit(Some(f.limit))],
            )
            .map_err(be("list remediation runs"))?
            .iter()
            .map(row)
            .collect()
        })
    }

    fn active_remediations(&self) -> Result<Vec<RemediationRun>> {
        self.pool.run("list active remediation runs", move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM remediation_runs WHERE ended_at IS NULL
                     ORDER BY started_at, id"
                ),
                &[],
            )
            .map_err(be("list active remediation runs"))?
            .iter()
            .map(row)
            .collect()
        })
    }
}
