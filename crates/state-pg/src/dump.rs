//! [`StateDump`] on PostgreSQL: export reads one snapshot, import replaces
//! every table in one transaction and moves the id sequences past the
//! imported ids.

use homeostat_state::{Dump, Result, StateDump, UsedLink};
use postgres::{GenericClient, IsolationLevel};

use crate::PgState;
use crate::codec::{be, to_json};
use crate::{
    analyses, audit, chaos, deploys, escalations, incidents, nflog, remediation, silences, toil,
    tokens,
};

/// Every table, emptied at once (TRUNCATE of them all keeps the foreign keys happy).
const TABLES: &str = "silences, nflog, outbox, timeline, action_items, incidents, escalations, \
     audit, deploys, gate_overrides, analysis_measurements, analysis_runs, api_tokens, used_links, \
     chaos_runs, chaos_terminations, toil_entries, remediation_runs";

/// The columns whose values come from a sequence.
const SEQUENCED: &[(&str, &str)] = &[
    ("incidents", "id"),
    ("timeline", "seq"),
    ("action_items", "id"),
    ("audit", "seq"),
    ("deploys", "id"),
    ("chaos_terminations", "id"),
];

fn export_on(c: &mut impl GenericClient) -> Result<Dump> {
    let (incidents, timeline, action_items) = incidents::list_all(c)?;
    let mut dump = Dump {
        silences: silences::list_all(c)?,
        nflog: nflog::list_nflog(c)?,
        outbox: nflog::list_outbox(c)?,
        incidents,
        timeline,
        action_items,
        escalations: escalations::list_all(c)?,
        audit: audit::list_all(c)?,
        deploys: deploys::list_all(c)?,
        overrides: deploys::list_overrides_on(c, None)?,
        analyses: analyses::list_all(c)?,
        tokens: tokens::list_all(c)?,
        used_links: tokens::list_links(c)?
            .into_iter()
            .map(|(key, expires_at)| UsedLink { key, expires_at })
            .collect(),
        chaos_runs: chaos::list_all_runs(c)?,
        terminations: chaos::list_all_terminations(c)?,
        toil: toil::list_on(c, &Default::default())?,
        remediation_runs: remediation::list_all(c)?,
    };
    dump.sort();
    Ok(dump)
}

fn import_on(
    c: &mut impl GenericClient,
    d: &Dump,
    done: &mut dyn FnMut(&'static str, usize),
) -> Result<()> {
    c.batch_execute(&format!("TRUNCATE {TABLES}"))
        .map_err(be("empty the target tables"))?;
    for s in &d.silences {
        silences::write(c, s)?;
    }
    done("silences", d.silences.len());
    for e in &d.nflog {
        nflog::record_on(c, e)?;
    }
    done("nflog", d.nflog.len());
    for e in &d.outbox {
        nflog::insert_outbox(c, e)?;
    }
    done("outbox", d.outbox.len());
    for i in &d.incidents {
        incidents::insert_incident(c, i, Some(i.id.0))?;
    }
    done("incidents", d.incidents.len());
    for e in &d.timeline {
        incidents::insert_event(c, e, Some(e.seq))?;
    }
    done("timeline", d.timeline.len());
    for a in &d.action_items {
        incidents::insert_item(c, a, Some(a.id))?;
    }
    done("action_items", d.action_items.len());
    for e in &d.escalations {
        escalations::put_on(c, e)?;
    }
    done("escalations", d.escalations.len());
    for e in &d.audit {
        c.execute(
            "INSERT INTO audit (seq, at, actor, action, object, detail)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &e.seq,
                &e.at,
                &e.actor,
                &e.action,
                &e.object,
                &to_json(&e.detail, "detail")?,
            ],
        )
        .map_err(be("import audit entry"))?;
    }
    done("audit", d.audit.len());
    for x in &d.deploys {
        deploys::insert_deploy(c, x, Some(x.id))?;
    }
    done("deploys", d.deploys.len());
    for o in &d.overrides {
        deploys::insert_override(c, o)?;
    }
    done("overrides", d.overrides.len());
    for r in &d.analyses {
        analyses::save_on(c, r)?;
    }
    done("analyses", d.analyses.len());
    for t in &d.tokens {
        tokens::create_on(c, t)?;
    }
    done("tokens", d.tokens.len());
    for l in &d.used_links {
        c.execute(
            "INSERT INTO used_links (key, expires_at) VALUES ($1, $2)",
            &[&l.key, &l.expires_at],
        )
        .map_err(be("import used link"))?;
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
    for (table, column) in SEQUENCED {
        c.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                     coalesce(max({column}), 0) + 1, false) FROM {table}"
            ),
            &[],
        )
        .map_err(be("move id sequences past the imported ids"))?;
    }
    Ok(())
}

impl StateDump for PgState {
    fn export(&self) -> Result<Dump> {
        self.pool.run("export state", |c| {
            let mut tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(be("export state"))?;
            let dump = export_on(&mut tx)?;
            tx.commit().map_err(be("export state"))?;
            Ok(dump)
        })
    }

    fn import(&self, dump: &Dump, progress: &mut dyn FnMut(&str, usize)) -> Result<()> {
        let d = dump.clone();
        // Each statement is still bounded by the statement timeout.
        let timeout = std::time::Duration::from_secs(3600);
        let done = self.pool.run_for("import state", timeout, move |c| {
            let mut tx = c.transaction().map_err(be("import state"))?;
            let mut done = Vec::new();
            import_on(&mut tx, &d, &mut |store, n| done.push((store, n)))?;
            tx.commit().map_err(be("import state"))?;
            Ok(done)
        })?;
        // Told after the commit: the pool thread cannot call back into the
        // caller's closure.
        for (store, n) in done {
            progress(store, n);
        }
        Ok(())
    }
}
