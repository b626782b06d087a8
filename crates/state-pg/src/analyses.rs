use homeostat_state::{AnalysisMeasurement, AnalysisRecord, AnalysisStore, Result};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, to_json};

const COLUMNS: &str = "seq, id, service, deploy_id, phase, started_at, finished_at, \
                       rollback_pending, run, request, last";

/// Decodes a run's row and reads its measurements.
fn complete(c: &mut impl GenericClient, r: &Row) -> Result<AnalysisRecord> {
    let t = "analysis_runs";
    let seq: i64 = col(r, 0, t)?;
    let run: String = col(r, 8, t)?;
    let request: String = col(r, 9, t)?;
    let last: Option<String> = col(r, 10, t)?;
    Ok(AnalysisRecord {
        id: col(r, 1, t)?,
        service: col(r, 2, t)?,
        deploy_id: col(r, 3, t)?,
        phase: col(r, 4, t)?,
        started_at: col(r, 5, t)?,
        finished_at: col(r, 6, t)?,
        rollback_pending: col(r, 7, t)?,
        run: from_json(&run, "analysis_runs.run")?,
        request: from_json(&request, "analysis_runs.request")?,
        last: last
            .map(|l| from_json(&l, "analysis_runs.last"))
            .transpose()?,
        measurements: measurements(c, seq)?,
    })
}

fn measurements(c: &mut impl GenericClient, seq: i64) -> Result<Vec<AnalysisMeasurement>> {
    let t = "analysis_measurements";
    c.query(
        "SELECT at, verdict, score, reason FROM analysis_measurements
         WHERE run_seq = $1 ORDER BY n",
        &[&seq],
    )
    .map_err(be("read analysis measurements"))?
    .iter()
    .map(|r| {
        Ok(AnalysisMeasurement {
            at: col(r, 0, t)?,
            verdict: col(r, 1, t)?,
            score: col(r, 2, t)?,
            reason: col(r, 3, t)?,
        })
    })
    .collect()
}

/// Creates or replaces the run and appends its new measurements, on `c`
/// (a transaction: the upsert locks the run's row, so two saves of one run
/// append in turn).
pub(crate) fn save_on(c: &mut impl GenericClient, run: &AnalysisRecord) -> Result<()> {
    let doc = to_json(&run.run, "run")?;
    let request = to_json(&run.request, "request")?;
    let last = run.last.as_ref().map(|l| to_json(l, "last")).transpose()?;
    let seq: i64 = c
        .query_one(
            "INSERT INTO analysis_runs
                 (id, service, deploy_id, phase, started_at, finished_at, rollback_pending, run, request, last)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET
                 service = excluded.service, deploy_id = excluded.deploy_id,
                 phase = excluded.phase, started_at = excluded.started_at,
                 finished_at = excluded.finished_at,
                 rollback_pending = excluded.rollback_pending,
                 run = excluded.run, request = excluded.request, last = excluded.last
             RETURNING seq",
            &[
                &run.id,
                &run.service,
                &run.deploy_id,
                &run.phase,
                &run.started_at,
                &run.finished_at,
                &run.rollback_pending,
                &doc,
                &request,
                &last,
            ],
        )
        .and_then(|r| r.try_get(0))
        .map_err(be("save analysis run"))?;
    let stored: i64 = c
        .query_one(
            "SELECT count(*) FROM analysis_measurements WHERE run_seq = $1",
            &[&seq],
        )
        .and_then(|r| r.try_get(0))
        .map_err(be("save analysis run"))?;
    for (n, m) in run.measurements.iter().enumerate().skip(stored as usize) {
        c.execute(
            "INSERT INTO analysis_measurements (run_seq, n, at, verdict, score, reason)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&seq, &(n as i64), &m.at, &m.verdict, &m.score, &m.reason],
        )
        .map_err(be("save analysis measurement"))?;
    }
    Ok(())
}

pub(crate) fn list_all(c: &mut impl GenericClient) -> Result<Vec<AnalysisRecord>> {
    let rows = c
        .query(
            &format!("SELECT {COLUMNS} FROM analysis_runs ORDER BY started_at, seq"),
            &[],
        )
        .map_err(be("list analysis runs"))?;
    rows.iter().map(|r| complete(c, r)).collect()
}

impl AnalysisStore for PgState {
    fn save_analysis(&self, run: &AnalysisRecord) -> Result<()> {
        run.validate()?;
        let run = run.clone();
        self.pool.run("save analysis run", move |c| {
            let mut tx = c.transaction().map_err(be("save analysis run"))?;
            save_on(&mut tx, &run)?;
            tx.commit().map_err(be("save analysis run"))
        })
    }

    fn get_analysis(&self, id: &str) -> Result<Option<AnalysisRecord>> {
        let id = id.to_string();
        self.pool.run("read analysis run", move |c| {
            let row = c
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM analysis_runs WHERE id = $1"),
                    &[&id],
                )
                .map_err(be("read analysis run"))?;
            row.map(|r| complete(c, &r)).transpose()
        })
    }

    fn list_analyses(&self) -> Result<Vec<AnalysisRecord>> {
        self.pool.run("list analysis runs", list_all)
    }

    fn delete_analysis(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        // Measurements go with their run (ON DELETE CASCADE).
        self.pool.run("delete analysis run", move |c| {
            c.execute("DELETE FROM analysis_runs WHERE id = $1", &[&id])
                .map(|n| n > 0)
                .map_err(be("delete analysis run"))
        })
    }
}
