//! [`StateDump`] on SQLite: export reads one snapshot (a read transaction,
//! so a running server may keep writing through WAL), import replaces every
//! table in one transaction. Explicit ids in AUTOINCREMENT columns move
//! SQLite's counters past them, so later ids follow the imported ones.

use homeostat_state::{
    AuditEntry, Dump, EscalationRecord, GateOverride, NflogEntry, Result, StateDump, UsedLink,
};
use rusqlite::{Connection, Row, params};

use crate::SqliteState;
use crate::codec::{be, col, from_json, to_json};
use crate::{analyses, chaos, deploys, incidents, nflog, remediation, silences, toil, tokens};

/// Children before parents.
const TABLES: &[&str] = &[
    "silences",
    "nflog",
    "outbox",
    "timeline",
    "action_items",
    "incidents",
    "escalations",
    "audit",
    "deploys",
    "gate_overrides",
    "analysis_measurements",
    "analysis_runs",
    "api_tokens",
    "used_links",
    "chaos_runs",
    "chaos_terminations",
    "toil_entries",
    "remediation_runs",
];

fn all<T>(
    c: &Connection,
    sql: &str,
    op: &'static str,
    decode: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare(sql).map_err(be(op))?;
    let mut rows = stmt.query([]).map_err(be(op))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(be(op))? {
        out.push(decode(r)?);
    }
    Ok(out)
}

fn export_on(c: &Connection) -> Result<Dump> {
    let mut dump = Dump {
        silences: all(
            c,
            &format!("SELECT {} FROM silences", silences::COLUMNS),
            "export silences",
            silences::silence_from_row,
        )?,
        nflog: all(
            c,
            "SELECT receiver, group_key, firing, resolved, sent_at, expires_at FROM nflog",
            "export notification log",
            |r| {
                Ok(NflogEntry {
                    receiver: col(r, 0, "nflog")?,
                    group_key: col(r, 1, "nflog")?,
                    firing_fingerprints: from_json(&col::<String>(r, 2, "nflog")?, "nflog.firing")?,
                    resolved_fingerprints: from_json(
                        &col::<String>(r, 3, "nflog")?,
                        "nflog.resolved",
                    )?,
                    sent_at: col(r, 4, "nflog")?,
                    expires_at: col(r, 5, "nflog")?,
                })
            },
        )?,
        outbox: all(
            c,
            &format!("SELECT {} FROM outbox", nflog::OUTBOX_COLUMNS),
            "export outbox",
            nflog::outbox_row,
        )?,
        incidents: all(
            c,
            &format!("SELECT {} FROM incidents", incidents::INCIDENT_COLUMNS),
            "export incidents",
            incidents::incident_from_row,
        )?,
        timeline: all(
            c,
            &format!("SELECT {} FROM timeline", incidents::EVENT_COLUMNS),
            "export timeline",
            incidents::event_from_row,
        )?,
        action_items: all(
            c,
            &format!("SELECT {} FROM action_items", incidents::ITEM_COLUMNS),
            "export action items",
            incidents::item_from_row,
        )?,
        escalations: all(
            c,
            "SELECT key, state, updated_at FROM escalations",
            "export escalations",
            |r| {
                Ok(EscalationRecord {
                    key: col(r, 0, "escalations")?,
                    state_json: from_json(
                        &col::<String>(r, 1, "escalations")?,
                        "escalations.state",
                    )?,
                    updated_at: col(r, 2, "escalations")?,
                })
            },
        )?,
        audit: all(
            c,
            "SELECT seq, at, actor, action, object, detail FROM audit",
            "export audit",
            |r| {
                Ok(AuditEntry {
                    seq: col(r, 0, "audit")?,
                    at: col(r, 1, "audit")?,
                    actor: col(r, 2, "audit")?,
                    action: col(r, 3, "audit")?,
                    object: col(r, 4, "audit")?,
                    detail: from_json(&col::<String>(r, 5, "audit")?, "audit.detail")?,
                })
            },
        )?,
        deploys: all(
            c,
            "SELECT id, doc, rollback FROM deploys",
            "export deploys",
            |r| {
                deploys::deploy_from(
                    col(r, 0, "deploys")?,
                    &col::<String>(r, 1, "deploys")?,
                    col(r, 2, "deploys")?,
                )
            },
        )?,
        overrides: all(
            c,
            "SELECT doc FROM gate_overrides",
            "export overrides",
            |r| {
                from_json::<GateOverride>(
                    &col::<String>(r, 0, "gate_overrides")?,
                    "gate_overrides.doc",
                )
            },
        )?,
        analyses: {
            let raws = all(
                c,
                &format!(
                    "SELECT {} FROM analysis_runs ORDER BY started_at, seq",
                    analyses::COLUMNS
                ),
                "export analysis runs",
                |r| analyses::raw(r).map_err(be("export analysis runs")),
            )?;
            raws.into_iter()
                .map(|raw| analyses::complete(c, raw))
                .collect::<Result<_>>()?
        },
        tokens: all(
            c,
            &format!("SELECT {} FROM api_tokens", tokens::COLUMNS),
            "export tokens",
            |r| tokens::decode(tokens::token_row(r).map_err(be("export tokens"))?),
        )?,
        used_links: all(
            c,
            "SELECT key, expires_at FROM used_links",
            "export used links",
            |r| {
                Ok(UsedLink {
                    key: col(r, 0, "used_links")?,
                    expires_at: col(r, 1, "used_links")?,
                })
            },
        )?,
        chaos_runs: all(
            c,
            &format!("SELECT {} FROM chaos_runs", chaos::RUN_COLUMNS),
            "export experiment runs",
            chaos::run_row,
        )?,
        terminations: all(
            c,
            &format!(
                "SELECT {} FROM chaos_terminations",
                chaos::TERMINATION_COLUMNS
            ),
            "export terminations",
            chaos::termination_row,
        )?,
        toil: all(
            c,
            &format!("SELECT {} FROM toil_entries", toil::COLUMNS),
            "export toil entries",
            toil::toil_row,
        )?,
        remediation_runs: all(
            c,
            &format!("SELECT {} FROM remediation_runs", remediation::COLUMNS),
            "export remediation runs",
            remediation::row,
        )?,
    };
    dump.sort();
    Ok(dump)
}

fn import_on(c: &Connection, d: &Dump, done: &mut dyn FnMut(&str, usize)) -> Result<()> {
    for t in TABLES {
        c.execute(&format!("DELETE FROM {t}"), [])
            .map_err(be("empty the target tables"))?;
    }
    let insert = |sql: &str, args: &[&dyn rusqlite::ToSql], op: &'static str| {
        c.execute(sql, args).map(|_| ()).map_err(be(op))
    };
    for s in &d.silences {
        insert(
            &format!(
                "INSERT INTO silences ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                silences::COLUMNS
            ),
            params![
                s.id,
                to_json(&s.matchers, "matchers")?,
                s.starts_at,
                s.ends_at,
                s.created_by,
                s.comment,
                s.updated_at
            ],
            "import silence",
        )?;
    }
    done("silences", d.silences.len());
    for e in &d.nflog {
        insert(
            "INSERT INTO nflog (receiver, group_key, firing, resolved, sent_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                e.receiver,
                e.group_key,
                to_json(&e.firing_fingerprints, "firing_fingerprints")?,
                to_json(&e.resolved_fingerprints, "resolved_fingerprints")?,
                e.sent_at,
                e.expires_at
            ],
            "import notification log",
        )?;
    }
    done("nflog", d.nflog.len());
    for e in &d.outbox {
        insert(
            &format!(
                "INSERT INTO outbox ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                nflog::OUTBOX_COLUMNS
            ),
            params![
                e.key,
                e.kind,
                to_json(&e.doc, "outbox.doc")?,
                e.created_at,
                e.expires_at,
                e.state.as_str(),
                e.attempts,
                e.finished_at
            ],
            "import outbox",
        )?;
    }
    done("outbox", d.outbox.len());
    for i in &d.incidents {
        let mut values = vec![
            rusqlite::types::Value::Integer(i.id.0),
            rusqlite::types::Value::Integer(crate::codec::to_i64(i.revision)),
        ];
        values.extend(incidents::incident_values(i)?);
        c.execute(
            &format!(
                "INSERT INTO incidents ({}) VALUES
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                incidents::INCIDENT_COLUMNS
            ),
            rusqlite::params_from_iter(values),
        )
        .map_err(be("import incident"))?;
    }
    done("incidents", d.incidents.len());
    for e in &d.timeline {
        insert(
            &format!(
                "INSERT INTO timeline ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                incidents::EVENT_COLUMNS
            ),
            params![
                e.seq,
                e.incident_id.0,
                e.at,
                e.kind.as_str(),
                e.actor,
                e.summary,
                to_json(&e.data, "data")?
            ],
            "import timeline event",
        )?;
    }
    done("timeline", d.timeline.len());
    for a in &d.action_items {
        insert(
            &format!(
                "INSERT INTO action_items ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                incidents::ITEM_COLUMNS
            ),
            params![
                a.id,
                a.incident_id.0,
                a.title,
                a.owner,
                a.due.map(|d| d.format("%Y-%m-%d").to_string()),
                a.state.as_str(),
                a.created_at,
                a.updated_at
            ],
            "import action item",
        )?;
    }
    done("action_items", d.action_items.len());
    for e in &d.escalations {
        insert(
            "INSERT INTO escalations (key, state, updated_at) VALUES (?1, ?2, ?3)",
            params![e.key, to_json(&e.state_json, "state_json")?, e.updated_at],
            "import escalation",
        )?;
    }
    done("escalations", d.escalations.len());
    for e in &d.audit {
        insert(
            "INSERT INTO audit (seq, at, actor, action, object, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                e.seq,
                e.at,
                e.actor,
                e.action,
                e.object,
                to_json(&e.detail, "detail")?
            ],
            "import audit entry",
        )?;
    }
    done("audit", d.audit.len());
    for x in &d.deploys {
        insert(
            "INSERT INTO deploys (id, service, started_at, doc, rollback) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                x.id,
                x.service,
                x.started_at,
                deploys::doc_of(x)?,
                x.rollback
                    .as_ref()
                    .map(|r| to_json(r, "rollback"))
                    .transpose()?
            ],
            "import deploy",
        )?;
    }
    done("deploys", d.deploys.len());
    for o in &d.overrides {
        insert(
            "INSERT INTO gate_overrides (id, service, created_at, doc) VALUES (?1, ?2, ?3, ?4)",
            params![o.id, o.service, o.created_at, to_json(o, "override")?],
            "import override",
        )?;
    }
    done("overrides", d.overrides.len());
    for r in &d.analyses {
        analyses::save_on(c, r)?;
    }
    done("analyses", d.analyses.len());
    for t in &d.tokens {
        insert(
            &format!(
                "INSERT INTO api_tokens ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                tokens::COLUMNS
            ),
            params![
                t.name,
                t.hash,
                to_json(&t.scopes, "scopes")?,
                t.created_at,
                t.created_by,
                t.expires_at,
                t.revoked_at
            ],
            "import token",
        )?;
    }
    done("tokens", d.tokens.len());
    for l in &d.used_links {
        insert(
            "INSERT INTO used_links (key, expires_at) VALUES (?1, ?2)",
            params![l.key, l.expires_at],
            "import used link",
        )?;
    }
    done("used_links", d.used_links.len());
    for r in &d.chaos_runs {
        chaos::insert_run_on(c, r)?;
    }
    done("chaos_runs", d.chaos_runs.len());
    for t in &d.terminations {
        chaos::insert_termination_on(c, t)?;
    }
    done("terminations", d.terminations.len());
    for e in &d.toil {
        toil::insert_on(c, e)?;
    }
    done("toil", d.toil.len());
    for r in &d.remediation_runs {
        remediation::insert_on(c, r)?;
    }
    done("remediation_runs", d.remediation_runs.len());
    Ok(())
}

impl StateDump for SqliteState {
    fn export(&self) -> Result<Dump> {
        let mut conn = self.conn.lock();
        // A read transaction: one snapshot of every table.
        let tx = conn.transaction().map_err(be("export state"))?;
        let dump = export_on(&tx)?;
        tx.commit().map_err(be("export state"))?;
        Ok(dump)
    }

    fn import(&self, dump: &Dump, progress: &mut dyn FnMut(&str, usize)) -> Result<()> {
        let mut conn = self.conn.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(be("import state"))?;
        import_on(&tx, dump, progress)?;
        tx.commit().map_err(be("import state"))
    }
}
