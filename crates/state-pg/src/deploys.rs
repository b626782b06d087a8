use homeostat_state::{
    AuditEntry, Deploy, DeployFilter, DeployOutcome, DeployStore, GateOverride, OverrideStore,
    Result, RollbackRecord, StateError,
};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::audit::append_on;
use crate::codec::{be, col, from_json, limit, to_json};

fn deploy_from(row: &Row) -> Result<Deploy> {
    let doc: String = col(row, 1, "deploys")?;
    let rollback: Option<String> = col(row, 2, "deploys")?;
    let mut d: Deploy = from_json(&doc, "deploys.doc")?;
    d.id = col(row, 0, "deploys")?;
    d.rollback = rollback
        .map(|r| from_json::<RollbackRecord>(&r, "deploys.rollback"))
        .transpose()?;
    Ok(d)
}

/// The document column: everything but the id and the rollback.
fn doc_of(d: &Deploy) -> Result<String> {
    let mut doc = d.clone();
    doc.id = 0;
    doc.rollback = None;
    to_json(&doc, "deploy")
}

/// The deploy, locked until the end of the transaction when `lock`.
fn read_deploy(c: &mut impl GenericClient, id: i64, lock: bool) -> Result<Option<Deploy>> {
    let sql = if lock {
        "SELECT id, doc, rollback FROM deploys WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT id, doc, rollback FROM deploys WHERE id = $1"
    };
    c.query_opt(sql, &[&id])
        .map_err(be("read deploy"))?
        .map(|r| deploy_from(&r))
        .transpose()
}

fn write_doc(c: &mut impl GenericClient, d: &Deploy) -> Result<()> {
    c.execute(
        "UPDATE deploys SET doc = $2 WHERE id = $1",
        &[&d.id, &doc_of(d)?],
    )
    .map_err(be("update deploy"))?;
    Ok(())
}

/// Inserts the deploy with `id` (a new one when `None`); returns its id.
pub(crate) fn insert_deploy(
    c: &mut impl GenericClient,
    d: &Deploy,
    id: Option<i64>,
) -> Result<i64> {
    let rollback = d
        .rollback
        .as_ref()
        .map(|r| to_json(r, "rollback"))
        .transpose()?;
    c.query_one(
        "INSERT INTO deploys (id, service, started_at, doc, rollback)
         VALUES (coalesce($1, nextval(pg_get_serial_sequence('deploys', 'id'))), $2, $3, $4, $5)
         RETURNING id",
        &[&id, &d.service, &d.started_at, &doc_of(d)?, &rollback],
    )
    .and_then(|r| r.try_get(0))
    .map_err(be("insert deploy"))
}

pub(crate) fn insert_override(c: &mut impl GenericClient, o: &GateOverride) -> Result<bool> {
    c.execute(
        "INSERT INTO gate_overrides (id, service, created_at, doc) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING",
        &[&o.id, &o.service, &o.created_at, &to_json(o, "override")?],
    )
    .map(|n| n == 1)
    .map_err(be("insert override"))
}

pub(crate) fn list_all(c: &mut impl GenericClient) -> Result<Vec<Deploy>> {
    c.query("SELECT id, doc, rollback FROM deploys ORDER BY id", &[])
        .map_err(be("list deploys"))?
        .iter()
        .map(deploy_from)
        .collect()
}

pub(crate) fn list_overrides_on(
    c: &mut impl GenericClient,
    service: Option<&str>,
) -> Result<Vec<GateOverride>> {
    c.query(
        "SELECT doc FROM gate_overrides WHERE ($1::TEXT IS NULL OR service = $1)
         ORDER BY created_at DESC, id",
        &[&service],
    )
    .map_err(be("list overrides"))?
    .iter()
    .map(|r| {
        from_json(
            &col::<String>(r, 0, "gate_overrides")?,
            "gate_overrides.doc",
        )
    })
    .collect()
}

impl DeployStore for PgState {
    fn record_deploy(&self, deploy: &Deploy) -> Result<i64> {
        deploy.validate()?;
        let deploy = deploy.clone();
        self.pool.run("record deploy", move |c| {
            let mut tx = c.transaction().map_err(be("record deploy"))?;
            if let Some(old) = deploy.rolls_back {
                // Dropping `tx` on an error leaves both deploys as they were.
                let mut replaced =
                    read_deploy(&mut tx, old, true)?.ok_or(StateError::not_found("deploy", old))?;
                if replaced.finish(DeployOutcome::RolledBack, deploy.started_at)? {
                    write_doc(&mut tx, &replaced)?;
                }
            }
            let id = insert_deploy(&mut tx, &deploy, None)?;
            tx.commit().map_err(be("record deploy"))?;
            Ok(id)
        })
    }

    fn finish_deploy(&self, id: i64, outcome: DeployOutcome, at: i64) -> Result<Deploy> {
        self.pool.run("finish deploy", move |c| {
            let mut tx = c.transaction().map_err(be("finish deploy"))?;
            let mut d =
                read_deploy(&mut tx, id, true)?.ok_or(StateError::not_found("deploy", id))?;
            if d.finish(outcome, at)? {
                write_doc(&mut tx, &d)?;
            }
            tx.commit().map_err(be("finish deploy"))?;
            Ok(d)
        })
    }

    fn get_deploy(&self, id: i64) -> Result<Option<Deploy>> {
        self.pool
            .run("read deploy", move |c| read_deploy(c, id, false))
    }

    fn list_deploys(&self, filter: &DeployFilter) -> Result<Vec<Deploy>> {
        let f = filter.clone();
        let n = limit((f.limit > 0).then_some(f.limit));
        self.pool.run("list deploys", move |c| {
            c.query(
                "SELECT id, doc, rollback FROM deploys
                 WHERE ($1::TEXT IS NULL OR service = $1)
                   AND ($2::BIGINT IS NULL OR started_at >= $2)
                   AND ($3::BIGINT IS NULL OR started_at <= $3)
                 ORDER BY started_at DESC, id DESC
                 LIMIT $4",
                &[&f.service, &f.since, &f.until, &n],
            )
            .map_err(be("list deploys"))?
            .iter()
            .map(deploy_from)
            .collect()
        })
    }

    fn update_deploy(&self, deploy: &Deploy) -> Result<()> {
        deploy.validate()?;
        let d = deploy.clone();
        self.pool.run("update deploy", move |c| {
            let n = c
                .execute(
                    "UPDATE deploys SET service = $2, started_at = $3, doc = $4 WHERE id = $1",
                    &[&d.id, &d.service, &d.started_at, &doc_of(&d)?],
                )
                .map_err(be("update deploy"))?;
            if n == 0 {
                return Err(StateError::not_found("deploy", d.id));
            }
            Ok(())
        })
    }

    fn claim_rollback(&self, id: i64, record: &RollbackRecord) -> Result<bool> {
        let doc = to_json(record, "rollback")?;
        self.pool.run("claim rollback", move |c| {
            let n = c
                .execute(
                    "UPDATE deploys SET rollback = $2 WHERE id = $1 AND rollback IS NULL",
                    &[&id, &doc],
                )
                .map_err(be("claim rollback"))?;
            if n == 1 {
                return Ok(true);
            }
            let exists: bool = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM deploys WHERE id = $1)",
                    &[&id],
                )
                .and_then(|r| r.try_get(0))
                .map_err(be("claim rollback"))?;
            if exists {
                Ok(false)
            } else {
                Err(StateError::not_found("deploy", id))
            }
        })
    }

    fn finish_rollback(&self, id: i64, ok: bool, detail: &serde_json::Value) -> Result<()> {
        let detail = detail.clone();
        self.pool.run("finish rollback", move |c| {
            let mut tx = c.transaction().map_err(be("finish rollback"))?;
            let Some(mut r) = read_deploy(&mut tx, id, true)?.and_then(|d| d.rollback) else {
                return Err(StateError::not_found("deploy rollback", id));
            };
            r.ok = Some(ok);
            r.detail = detail;
            tx.execute(
                "UPDATE deploys SET rollback = $2 WHERE id = $1",
                &[&id, &to_json(&r, "rollback")?],
            )
            .map_err(be("finish rollback"))?;
            tx.commit().map_err(be("finish rollback"))
        })
    }
}

impl OverrideStore for PgState {
    fn create_override(&self, o: &GateOverride, audit: &AuditEntry) -> Result<()> {
        let (o, audit) = (o.clone(), audit.clone());
        self.pool.run("create override", move |c| {
            let mut tx = c.transaction().map_err(be("create override"))?;
            if !insert_override(&mut tx, &o)? {
                return Err(StateError::conflict("override", &o.id, "the id exists"));
            }
            // Dropping `tx` on an error rolls the insert back.
            append_on(&mut tx, &audit)?;
            tx.commit().map_err(be("create override"))
        })
    }

    fn list_overrides(&self, service: Option<&str>) -> Result<Vec<GateOverride>> {
        let service = service.map(str::to_string);
        self.pool.run("list overrides", move |c| {
            list_overrides_on(c, service.as_deref())
        })
    }

    fn revoke_override(&self, id: &str, at: i64, audit: &AuditEntry) -> Result<bool> {
        let (id, audit) = (id.to_string(), audit.clone());
        self.pool.run("revoke override", move |c| {
            let mut tx = c.transaction().map_err(be("revoke override"))?;
            let doc: Option<String> = tx
                .query_opt(
                    "SELECT doc FROM gate_overrides WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .map_err(be("read override"))?
                .map(|r| col(&r, 0, "gate_overrides"))
                .transpose()?;
            let Some(doc) = doc else {
                return Err(StateError::not_found("override", &id));
            };
            let mut o: GateOverride = from_json(&doc, "gate_overrides.doc")?;
            if o.revoked_at.is_some() {
                return Ok(false);
            }
            o.revoked_at = Some(at);
            tx.execute(
                "UPDATE gate_overrides SET doc = $2 WHERE id = $1",
                &[&id, &to_json(&o, "override")?],
            )
            .map_err(be("revoke override"))?;
            append_on(&mut tx, &audit)?;
            tx.commit().map_err(be("revoke override"))?;
            Ok(true)
        })
    }
}
