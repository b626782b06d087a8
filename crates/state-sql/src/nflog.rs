use homeostat_state::{
    Fence, NflogEntry, NotificationLog, OutboxEntry, OutboxState, Result, StateError,
};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use crate::SqliteState;
use crate::cluster::check_fence;
use crate::codec::{Corrupt, be, col, from_json, to_json};

pub(crate) const OUTBOX_COLUMNS: &str =
    "key, kind, doc, created_at, expires_at, state, attempts, finished_at";

pub(crate) fn outbox_row(r: &Row<'_>) -> Result<OutboxEntry> {
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

impl NotificationLog for SqliteState {
    fn record(&self, entry: &NflogEntry, fence: Option<&Fence>) -> Result<()> {
        let mut conn = self.conn.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(be("record notification"))?;
        check_fence(&tx, fence)?;
        tx.execute(
            "INSERT OR REPLACE INTO nflog
                     (receiver, group_key, firing, resolved, sent_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entry.receiver,
                entry.group_key,
                to_json(&entry.firing_fingerprints, "firing_fingerprints")?,
                to_json(&entry.resolved_fingerprints, "resolved_fingerprints")?,
                entry.sent_at,
                entry.expires_at
            ],
        )
        .map_err(be("record notification"))?;
        tx.commit().map_err(be("record notification"))
    }

    fn forget(&self, receiver: &str, group_key: &str, fence: Option<&Fence>) -> Result<()> {
        let mut conn = self.conn.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(be("forget notification"))?;
        check_fence(&tx, fence)?;
        tx.execute(
            "DELETE FROM nflog WHERE receiver = ?1 AND group_key = ?2",
            [receiver, group_key],
        )
        .map_err(be("forget notification"))?;
        tx.commit().map_err(be("forget notification"))
    }

    fn last(&self, receiver: &str, group_key: &str) -> Result<Option<NflogEntry>> {
        let row: Option<(String, String, i64, i64)> = self
            .conn
            .lock()
            .query_row(
                "SELECT firing, resolved, sent_at, expires_at FROM nflog
                 WHERE receiver = ?1 AND group_key = ?2",
                [receiver, group_key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(be("read notification log"))?;
        row.map(|(firing, resolved, sent_at, expires_at)| {
            Ok(NflogEntry {
                receiver: receiver.to_string(),
                group_key: group_key.to_string(),
                firing_fingerprints: from_json(&firing, "nflog.firing")?,
                resolved_fingerprints: from_json(&resolved, "nflog.resolved")?,
                sent_at,
                expires_at,
            })
        })
        .transpose()
    }

    fn gc(&self, now: i64) -> Result<usize> {
        let conn = self.conn.lock();
        let nflog = conn
            .execute("DELETE FROM nflog WHERE expires_at <= ?1", [now])
            .map_err(be("delete expired notification log entries"))?;
        let outbox = conn
            .execute("DELETE FROM outbox WHERE expires_at <= ?1", [now])
            .map_err(be("delete expired outbox entries"))?;
        Ok(nflog + outbox)
    }

    fn enqueue(&self, e: &OutboxEntry, fence: Option<&Fence>) -> Result<bool> {
        let mut conn = self.conn.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(be("enqueue outbox entry"))?;
        check_fence(&tx, fence)?;
        let added = tx
            .execute(
                "INSERT INTO outbox (key, kind, doc, created_at, expires_at, state, attempts, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, NULL)
                 ON CONFLICT (key) DO NOTHING",
                params![
                    e.key,
                    e.kind,
                    to_json(&e.doc, "outbox.doc")?,
                    e.created_at,
                    e.expires_at,
                    e.attempts
                ],
            )
            .map_err(be("enqueue outbox entry"))?;
        tx.commit().map_err(be("enqueue outbox entry"))?;
        Ok(added == 1)
    }

    fn pending(&self, kind: &str) -> Result<Vec<OutboxEntry>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox
                 WHERE kind = ?1 AND state = 'pending' ORDER BY created_at, key"
            ))
            .map_err(be("list pending outbox entries"))?;
        let mut rows = stmt
            .query([kind])
            .map_err(be("list pending outbox entries"))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(be("list pending outbox entries"))? {
            out.push(outbox_row(r)?);
        }
        Ok(out)
    }

    fn finish(&self, key: &str, delivered: bool, attempts: u32, at: i64) -> Result<()> {
        let state = if delivered {
            OutboxState::Delivered
        } else {
            OutboxState::Failed
        };
        self.conn
            .lock()
            .execute(
                "UPDATE outbox SET state = ?2, attempts = ?3, finished_at = ?4 WHERE key = ?1",
                params![key, state.as_str(), attempts, at],
            )
            .map_err(be("finish outbox entry"))?;
        Ok(())
    }

    fn outbox_entry(&self, key: &str) -> Result<Option<OutboxEntry>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE key = ?1"
            ))
            .map_err(be("read outbox entry"))?;
        let mut rows = stmt.query([key]).map_err(be("read outbox entry"))?;
        match rows.next().map_err(be("read outbox entry"))? {
            Some(r) => Ok(Some(outbox_row(r)?)),
            None => Ok(None),
        }
    }
}
