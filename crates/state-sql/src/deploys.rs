use homeostat_state::{
    AuditEntry, Deploy, DeployFilter, DeployOutcome, DeployStore, GateOverride, OverrideStore,
    Result, RollbackRecord, StateError,
};
use rusqlite::{OptionalExtension, params};

use crate::SqliteState;
use crate::audit::append_on;
use crate::codec::{be, from_json, to_json};

pub(crate) fn deploy_from(id: i64, doc: &str, rollback: Option<String>) -> Result<Deploy> {
    let mut d: Deploy = from_json(doc, "deploys.doc")?;
    d.id = id;
    d.rollback = rollback
        .map(|r| from_json::<RollbackRecord>(&r, "deploys.rollback"))
        .transpose()?;
    Ok(d)
}

/// The document column: everything but the id and the rollback.
pub(crate) fn doc_of(d: &Deploy) -> Result<String> {
    let mut doc = d.clone();
    doc.id = 0;
    doc.rollback = None;
    to_json(&doc, "deploy")
}

fn read_deploy(conn: &rusqlite::Connection, id: i64) -> Result<Option<Deploy>> {
    let row: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT doc, rollback FROM deploys WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(be("read deploy"))?;
    row.map(|(doc, rb)| deploy_from(id, &doc, rb)).transpose()
}

/// Rewrites the deploy's document (not its rollback record).
fn write_doc(conn: &rusqlite::Connection, d: &Deploy) -> Result<()> {
    conn.execute(
        "UPDATE deploys SET doc = ?2 WHERE id = ?1",
        params![d.id, doc_of(d)?],
    )
    .map_err(be("update deploy"))?;
    Ok(())
}

impl DeployStore for SqliteState {
    fn record_deploy(&self, deploy: &Deploy) -> Result<i64> {
        deploy.validate()?;
        let rollback = deploy
            .rollback
            .as_ref()
            .map(|r| to_json(r, "rollback"))
            .transpose()?;
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(be("record deploy"))?;
        if let Some(old) = deploy.rolls_back {
            // Dropping `tx` on an error leaves both deploys as they were.
            let mut replaced =
                read_deploy(&tx, old)?.ok_or(StateError::not_found("deploy", old))?;
            if replaced.finish(DeployOutcome::RolledBack, deploy.started_at)? {
                write_doc(&tx, &replaced)?;
            }
        }
        tx.execute(
            "INSERT INTO deploys (service, started_at, doc, rollback) VALUES (?1, ?2, ?3, ?4)",
            params![deploy.service, deploy.started_at, doc_of(deploy)?, rollback],
        )
        .map_err(be("insert deploy"))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(be("record deploy"))?;
        Ok(id)
    }

    fn finish_deploy(&self, id: i64, outcome: DeployOutcome, at: i64) -> Result<Deploy> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(be("finish deploy"))?;
        let mut d = read_deploy(&tx, id)?.ok_or(StateError::not_found("deploy", id))?;
        if d.finish(outcome, at)? {
            write_doc(&tx, &d)?;
        }
        tx.commit().map_err(be("finish deploy"))?;
        Ok(d)
    }

    fn get_deploy(&self, id: i64) -> Result<Option<Deploy>> {
        read_deploy(&self.conn.lock(), id)
    }

    fn list_deploys(&self, filter: &DeployFilter) -> Result<Vec<Deploy>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, doc, rollback FROM deploys
                 WHERE (?1 IS NULL OR service = ?1)
                   AND (?2 IS NULL OR started_at >= ?2)
                   AND (?3 IS NULL OR started_at <= ?3)
                 ORDER BY started_at DESC, id DESC
                 LIMIT ?4",
            )
            .map_err(be("list deploys"))?;
        let limit = if filter.limit == 0 {
            -1
        } else {
            filter.limit as i64
        };
        let rows = stmt
            .query_map(
                params![filter.service, filter.since, filter.until, limit],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .map_err(be("list deploys"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc, rb) = row.map_err(be("list deploys"))?;
            out.push(deploy_from(id, &doc, rb)?);
        }
        Ok(out)
    }

    fn update_deploy(&self, deploy: &Deploy) -> Result<()> {
        deploy.validate()?;
        let n = self
            .conn
            .lock()
            .execute(
                "UPDATE deploys SET service = ?2, started_at = ?3, doc = ?4 WHERE id = ?1",
                params![
                    deploy.id,
                    deploy.service,
                    deploy.started_at,
                    doc_of(deploy)?
                ],
            )
            .map_err(be("update deploy"))?;
        if n == 0 {
            return Err(StateError::not_found("deploy", deploy.id));
        }
        Ok(())
    }

    fn claim_rollback(&self, id: i64, record: &RollbackRecord) -> Result<bool> {
        let conn = self.conn.lock();
        let n = conn
            .execute(
                "UPDATE deploys SET rollback = ?2 WHERE id = ?1 AND rollback IS NULL",
                params![id, to_json(record, "rollback")?],
            )
            .map_err(be("claim rollback"))?;
        if n == 1 {
            return Ok(true);
        }
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM deploys WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(be("claim rollback"))?;
        if exists {
            Ok(false)
        } else {
            Err(StateError::not_found("deploy", id))
        }
    }

    fn finish_rollback(&self, id: i64, ok: bool, detail: &serde_json::Value) -> Result<()> {
        let Some(mut r) = self.get_deploy(id)?.and_then(|d| d.rollback) else {
            return Err(StateError::not_found("deploy rollback", id));
        };
        r.ok = Some(ok);
        r.detail = detail.clone();
        self.conn
            .lock()
            .execute(
                "UPDATE deploys SET rollback = ?2 WHERE id = ?1",
                params![id, to_json(&r, "rollback")?],
            )
            .map_err(be("finish rollback"))?;
        Ok(())
    }
}

impl OverrideStore for SqliteState {
    fn create_override(&self, o: &GateOverride, audit: &AuditEntry) -> Result<()> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(be("create override"))?;
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO gate_overrides (id, service, created_at, doc) VALUES (?1, ?2, ?3, ?4)",
                params![o.id, o.service, o.created_at, to_json(o, "override")?],
            )
            .map_err(be("insert override"))?;
        if n == 0 {
            return Err(StateError::conflict("override", &o.id, "the id exists"));
        }
        // Dropping `tx` on an error rolls the insert back.
        append_on(&tx, audit)?;
        tx.commit().map_err(be("create override"))
    }

    fn list_overrides(&self, service: Option<&str>) -> Result<Vec<GateOverride>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT doc FROM gate_overrides WHERE (?1 IS NULL OR service = ?1)
                 ORDER BY created_at DESC, id",
            )
            .map_err(be("list overrides"))?;
        let rows = stmt
            .query_map(params![service], |r| r.get::<_, String>(0))
            .map_err(be("list overrides"))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(from_json(
                &row.map_err(be("list overrides"))?,
                "gate_overrides.doc",
            )?);
        }
        Ok(out)
    }

    fn revoke_override(&self, id: &str, at: i64, audit: &AuditEntry) -> Result<bool> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(be("revoke override"))?;
        let doc: Option<String> = tx
            .query_row("SELECT doc FROM gate_overrides WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(be("read override"))?;
        let Some(doc) = doc else {
            return Err(StateError::not_found("override", id));
        };
        let mut o: GateOverride = from_json(&doc, "gate_overrides.doc")?;
        if o.revoked_at.is_some() {
            return Ok(false);
        }
        o.revoked_at = Some(at);
        tx.execute(
            "UPDATE gate_overrides SET doc = ?2 WHERE id = ?1",
            params![id, to_json(&o, "override")?],
        )
        .map_err(be("revoke override"))?;
        append_on(&tx, audit)?;
        tx.commit().map_err(be("revoke override"))?;
        Ok(true)
    }
}
