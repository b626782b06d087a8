use homeostat_state::{AnalysisMeasurement, AnalysisRecord, AnalysisStore, Result};
use rusqlite::{OptionalExtension, Row, params};

use crate::SqliteState;
use crate::codec::{be, from_json, to_json};

pub(crate) const COLUMNS: &str = "seq, id, service, deploy_id, phase, started_at, finished_at, \
                       rollback_pending, run, request, last";

/// A run's row, its JSON columns not yet decoded.
pub(crate) struct Raw {
    seq: i64,
    record: AnalysisRecord,
    run: String,
    request: String,
    last: Option<String>,
}

pub(crate) fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        seq: r.get(0)?,
        record: AnalysisRecord {
            id: r.get(1)?,
            service: r.get(2)?,
            deploy_id: r.get(3)?,
            phase: r.get(4)?,
            started_at: r.get(5)?,
            finished_at: r.get(6)?,
            rollback_pending: r.get(7)?,
            run: serde_json::Value::Null,
            request: serde_json::Value::Null,
            last: None,
            measurements: Vec::new(),
        },
        run: r.get(8)?,
        request: r.get(9)?,
        last: r.get(10)?,
    })
}

/// Decodes the JSON columns and reads the measurements.
pub(crate) fn complete(conn: &rusqlite::Connection, raw: Raw) -> Result<AnalysisRecord> {
    let mut record = raw.record;
    record.run = from_json(&raw.run, "analysis_runs.run")?;
    record.request = from_json(&raw.request, "analysis_runs.request")?;
    record.last = raw
        .last
        .map(|l| from_json(&l, "analysis_runs.last"))
        .transpose()?;
    record.measurements = measurements(conn, raw.seq)?;
    Ok(record)
}

fn measurements(conn: &rusqlite::Connection, seq: i64) -> Result<Vec<AnalysisMeasurement>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT at, verdict, score, reason FROM analysis_measurements
             WHERE run_seq = ?1 ORDER BY n",
        )
        .map_err(be("read analysis measurements"))?;
    let rows = stmt
        .query_map([seq], |r| {
            Ok(AnalysisMeasurement {
                at: r.get(0)?,
                verdict: r.get(1)?,
                score: r.get(2)?,
                reason: r.get(3)?,
            })
        })
        .map_err(be("read analysis measurements"))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(be("read analysis measurements"))
}

/// Creates or replaces the run and appends its new measurements, on `tx`.
pub(crate) fn save_on(tx: &rusqlite::Connection, run: &AnalysisRecord) -> Result<()> {
    let doc = to_json(&run.run, "run")?;
    let request = to_json(&run.request, "request")?;
    let last = run.last.as_ref().map(|l| to_json(l, "last")).transpose()?;
    tx.execute(
        "INSERT INTO analysis_runs
             (id, service, deploy_id, phase, started_at, finished_at, rollback_pending, run, request, last)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET
             service = excluded.service, deploy_id = excluded.deploy_id,
             phase = excluded.phase, started_at = excluded.started_at,
             finished_at = excluded.finished_at,
             rollback_pending = excluded.rollback_pending,
             run = excluded.run, request = excluded.request, last = excluded.last",
        params![
            run.id,
            run.service,
            run.deploy_id,
            run.phase,
            run.started_at,
            run.finished_at,
            run.rollback_pending,
            doc,
            request,
            last
        ],
    )
    .map_err(be("save analysis run"))?;
    let (seq, stored): (i64, i64) = tx
        .query_row(
            "SELECT seq, (SELECT count(*) FROM analysis_measurements WHERE run_seq = seq)
             FROM analysis_runs WHERE id = ?1",
            [&run.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(be("save analysis run"))?;
    for (n, m) in run.measurements.iter().enumerate().skip(stored as usize) {
        tx.execute(
            "INSERT INTO analysis_measurements (run_seq, n, at, verdict, score, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![seq, n as i64, m.at, m.verdict, m.score, m.reason],
        )
        .map_err(be("save analysis measurement"))?;
    }
    Ok(())
}

impl AnalysisStore for SqliteState {
    fn save_analysis(&self, run: &AnalysisRecord) -> Result<()> {
        run.validate()?;
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(be("save analysis run"))?;
        save_on(&tx, run)?;
        tx.commit().map_err(be("save analysis run"))
    }

    fn get_analysis(&self, id: &str) -> Result<Option<AnalysisRecord>> {
        let conn = self.conn.lock();
        let row = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM analysis_runs WHERE id = ?1"),
                [id],
                raw,
            )
            .optional()
            .map_err(be("read analysis run"))?;
        row.map(|r| complete(&conn, r)).transpose()
    }

    fn list_analyses(&self) -> Result<Vec<AnalysisRecord>> {
        let conn = self.conn.lock();
        let rows: Vec<Raw> = {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM analysis_runs ORDER BY started_at, seq"
                ))
                .map_err(be("list analysis runs"))?;
            stmt.query_map([], raw)
                .map_err(be("list analysis runs"))?
                .collect::<rusqlite::Result<_>>()
                .map_err(be("list analysis runs"))?
        };
        rows.into_iter().map(|r| complete(&conn, r)).collect()
    }

    fn delete_analysis(&self, id: &str) -> Result<bool> {
        // Measurements go with their run (ON DELETE CASCADE).
        let n = self
            .conn
            .lock()
            .execute("DELETE FROM analysis_runs WHERE id = ?1", [id])
            .map_err(be("delete analysis run"))?;
        Ok(n > 0)
    }
}
