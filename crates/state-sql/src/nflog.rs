use homeostat_state::{NflogEntry, NotificationLog, Result};
use rusqlite::{OptionalExtension, params};

use crate::SqliteState;
use crate::codec::{be, from_json, to_json};

impl NotificationLog for SqliteState {
    fn record(&self, entry: &NflogEntry) -> Result<()> {
        self.conn
            .lock()
            .execute(
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
        Ok(())
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
        self.conn
            .lock()
            .execute("DELETE FROM nflog WHERE expires_at <= ?1", [now])
            .map_err(be("delete expired notification log entries"))
    }
}
