use homeostat_state::{
    Fence, NflogEntry, NotificationLog, OutboxEntry, OutboxState, Result, StateError,
};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::cluster::check_fence;
use crate::codec::{Corrupt, be, col, from_json, to_json};

const NFLOG_COLUMNS: &str = "receiver, group_key, firing, resolved, sent_at, expires_at";
const OUTBOX_COLUMNS: &str = "key, kind, doc, created_at, expires_at, state, attempts, finished_at";

fn nflog_row(r: &Row) -> Result<NflogEntry> {
    let firing: String = col(r, 2, "nflog")?;
    let resolved: String = col(r, 3, "nflog")?;
    Ok(NflogEntry {
        receiver: col(r, 0, "nflog")?,
        group_key: col(r, 1, "nflog")?,
        firing_fingerprints: from_json(&firing, "nflog.firing")?,
        resolved_fingerprints: from_json(&resolved, "nflog.resolved")?,
        sent_at: col(r, 4, "nflog")?,
        expires_at: col(r, 5, "nflog")?,
    })
}

fn outbox_row(r: &Row) -> Result<OutboxEntry> {
    let doc: String = col(r, 2, "outbox")?;
    let state: String = col(r, 5, "outbox")?;
    let attempts: i64 = col(r, 6, "outbox")?;
    Ok(OutboxEntry {
        key: col(r, 0, "outbox")?,
        kind: col(r, 1, "outbox")?,
        doc: from_json(&doc, "outbox.doc")?,
        created_at: col(r, 3, "outbox")?,
        expires_at: col(r, 4, "outbox")?,
        state: OutboxState::parse(&state).ok_or_else(|| {
            StateError::backend("read outbox", Corrupt(format!("unknown state {state:?}")))
        })?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        finished_at: col(r, 7, "outbox")?,
    })
}

pub(crate) fn record_on(c: &mut impl GenericClient, e: &NflogEntry) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO nflog ({NFLOG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (receiver, group_key) DO UPDATE SET firing = excluded.firing,
                 resolved = excluded.resolved, sent_at = excluded.sent_at,
                 expires_at = excluded.expires_at"
        ),
        &[
            &e.receiver,
            &e.group_key,
            &to_json(&e.firing_fingerprints, "firing_fingerprints")?,
            &to_json(&e.resolved_fingerprints, "resolved_fingerprints")?,
            &e.sent_at,
            &e.expires_at,
        ],
    )
    .map_err(be("record notification"))?;
    Ok(())
}

/// Inserts `e` as it is (state included) unless its key exists; whether it
/// was added.
pub(crate) fn insert_outbox(c: &mut impl GenericClient, e: &OutboxEntry) -> Result<bool> {
    let n = c
        .execute(
            &format!(
                "INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (key) DO NOTHING"
            ),
            &[
                &e.key,
                &e.kind,
                &to_json(&e.doc, "outbox.doc")?,
                &e.created_at,
                &e.expires_at,
                &e.state.as_str(),
                &i64::from(e.attempts),
                &e.finished_at,
            ],
        )
        .map_err(be("enqueue outbox entry"))?;
    Ok(n == 1)
}

pub(crate) fn list_nflog(c: &mut impl GenericClient) -> Result<Vec<NflogEntry>> {
    c.query(
        &format!("SELECT {NFLOG_COLUMNS} FROM nflog ORDER BY receiver, group_key"),
        &[],
    )
    .map_err(be("list notification log"))?
    .iter()
    .map(nflog_row)
    .collect()
}

pub(crate) fn list_outbox(c: &mut impl GenericClient) -> Result<Vec<OutboxEntry>> {
    c.query(
        &format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY key"),
        &[],
    )
    .map_err(be("list outbox"))?
    .iter()
    .map(outbox_row)
    .collect()
}

impl NotificationLog for PgState {
    fn record(&self, entry: &NflogEntry, fence: Option<&Fence>) -> Result<()> {
        let (entry, fence) = (entry.clone(), fence.cloned());
        self.pool.run("record notification", move |c| {
            let mut tx = c.transaction().map_err(be("record notification"))?;
            check_fence(&mut tx, fence.as_ref())?;
            record_on(&mut tx, &entry)?;
            tx.commit().map_err(be("record notification"))
        })
    }

    fn forget(&self, receiver: &str, group_key: &str, fence: Option<&Fence>) -> Result<()> {
        let (receiver, group_key) = (receiver.to_string(), group_key.to_string());
        let fence = fence.cloned();
        self.pool.run("forget notification", move |c| {
            let mut tx = c.transaction().map_err(be("forget notification"))?;
            check_fence(&mut tx, fence.as_ref())?;
            tx.execute(
                "DELETE FROM nflog WHERE receiver = $1 AND group_key = $2",
                &[&receiver, &group_key],
            )
            .map_err(be("forget notification"))?;
            tx.commit().map_err(be("forget notification"))
        })
    }

    fn last(&self, receiver: &str, group_key: &str) -> Result<Option<NflogEntry>> {
        let (receiver, group_key) = (receiver.to_string(), group_key.to_string());
        self.pool.run("read notification log", move |c| {
            c.query_opt(
                &format!(
                    "SELECT {NFLOG_COLUMNS} FROM nflog WHERE receiver = $1 AND group_key = $2"
                ),
                &[&receiver, &group_key],
            )
            .map_err(be("read notification log"))?
            .map(|r| nflog_row(&r))
            .transpose()
        })
    }

    fn gc(&self, now: i64) -> Result<usize> {
        self.pool
            .run("delete expired notification log entries", move |c| {
                let nflog = c
                    .execute("DELETE FROM nflog WHERE expires_at <= $1", &[&now])
                    .map_err(be("delete expired notification log entries"))?;
                let outbox = c
                    .execute("DELETE FROM outbox WHERE expires_at <= $1", &[&now])
                    .map_err(be("delete expired outbox entries"))?;
                Ok((nflog + outbox) as usize)
            })
    }

    fn enqueue(&self, e: &OutboxEntry, fence: Option<&Fence>) -> Result<bool> {
        let e = OutboxEntry {
            state: OutboxState::Pending,
            finished_at: None,
            ..e.clone()
        };
        let fence = fence.cloned();
        self.pool.run("enqueue outbox entry", move |c| {
            let mut tx = c.transaction().map_err(be("enqueue outbox entry"))?;
            check_fence(&mut tx, fence.as_ref())?;
            let added = insert_outbox(&mut tx, &e)?;
            tx.commit().map_err(be("enqueue outbox entry"))?;
            Ok(added)
        })
    }

    fn pending(&self, kind: &str) -> Result<Vec<OutboxEntry>> {
        let kind = kind.to_string();
        self.pool.run("list pending outbox entries", move |c| {
            c.query(
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox
                     WHERE kind = $1 AND state = 'pending' ORDER BY created_at, key"
                ),
                &[&kind],
            )
            .map_err(be("list pending outbox entries"))?
            .iter()
            .map(outbox_row)
            .collect()
        })
    }

    fn finish(&self, key: &str, delivered: bool, attempts: u32, at: i64) -> Result<()> {
        let state = if delivered {
            OutboxState::Delivered
        } else {
            OutboxState::Failed
        };
        let key = key.to_string();
        self.pool.run("finish outbox entry", move |c| {
            c.execute(
                "UPDATE outbox SET state = $2, attempts = $3, finished_at = $4 WHERE key = $1",
                &[&key, &state.as_str(), &i64::from(attempts), &at],
            )
            .map_err(be("finish outbox entry"))?;
            Ok(())
        })
    }

    fn outbox_entry(&self, key: &str) -> Result<Option<OutboxEntry>> {
        let key = key.to_string();
        self.pool.run("read outbox entry", move |c| {
            c.query_opt(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE key = $1"),
                &[&key],
            )
            .map_err(be("read outbox entry"))?
            .map(|r| outbox_row(&r))
            .transpose()
        })
    }
}
