//! Leases, members and the shared alert log on SQLite. A single file can
//! be shared only by processes on one machine, but the rules are the same
//! as on PostgreSQL, so the conformance suite holds both to them.

use homeostat_model::Fingerprint;
use homeostat_state::{
    AlertLog, ClusterStore, Fence, Lease, LoggedAlert, Member, Result, StateError,
};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::SqliteState;
use crate::codec::{be, col, from_json, to_json};

/// Fails with [`StateError::Fenced`] unless the fence's lease still names
/// its holder and token; call inside the transaction of the fenced write.
pub(crate) fn check_fence(conn: &Connection, fence: Option<&Fence>) -> Result<()> {
    let Some(f) = fence else {
        return Ok(());
    };
    let current: Option<(String, i64)> = conn
        .query_row(
            "SELECT holder, token FROM leases WHERE name = ?1",
            [&f.lease],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(be("check the lease"))?;
    match current {
        Some((holder, token)) if holder == f.holder && token == f.token => Ok(()),
        _ => Err(StateError::fenced(f)),
    }
}

fn lease_row(r: &Row<'_>) -> Result<Lease> {
    Ok(Lease {
        name: col(r, 0, "leases")?,
        holder: col(r, 1, "leases")?,
        token: col(r, 2, "leases")?,
        acquired_at: col(r, 3, "leases")?,
        expires_at: col(r, 4, "leases")?,
    })
}

fn read_lease(conn: &Connection, name: &str) -> Result<Option<Lease>> {
    let mut stmt = conn
        .prepare("SELECT name, holder, token, acquired_at, expires_at FROM leases WHERE name = ?1")
        .map_err(be("read lease"))?;
    let mut rows = stmt.query([name]).map_err(be("read lease"))?;
    match rows.next().map_err(be("read lease"))? {
        Some(r) => Ok(Some(lease_row(r)?)),
        None => Ok(None),
    }
}

impl ClusterStore for SqliteState {
    fn heartbeat(&self, m: &Member) -> Result<()> {
        self.conn
            .lock()
            .execute(
                "INSERT INTO members (id, address, version, started_at, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                     version = excluded.version, started_at = excluded.started_at,
                     last_seen = excluded.last_seen",
                params![m.id, m.address, m.version, m.started_at, m.last_seen],
            )
            .map_err(be("record heartbeat"))?;
        Ok(())
    }

    fn members(&self) -> Result<Vec<Member>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare("SELECT id, address, version, started_at, last_seen FROM members ORDER BY id")
            .map_err(be("list members"))?;
        let mut rows = stmt.query([]).map_err(be("list members"))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(be("list members"))? {
            out.push(Member {
                id: col(r, 0, "members")?,
                address: col(r, 1, "members")?,
                version: col(r, 2, "members")?,
                started_at: col(r, 3, "members")?,
                last_seen: col(r, 4, "members")?,
            });
        }
        Ok(out)
    }

    fn forget_members(&self, seen_before: i64) -> Result<usize> {
        self.conn
            .lock()
            .execute("DELETE FROM members WHERE last_seen < ?1", [seen_before])
            .map_err(be("forget members"))
    }

    fn acquire_lease(&self, name: &str, holder: &str, now: i64, ttl_ms: i64) -> Result<Lease> {
        let mut conn = self.conn.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(be("acquire lease"))?;
        let lease = match Lease::acquired(read_lease(&tx, name)?, name, holder, now, ttl_ms) {
            Ok(lease) => lease,
            Err(held) => return Ok(held),
        };
        tx.execute(
            "INSERT OR REPLACE INTO leases (name, holder, token, acquired_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                lease.name,
                lease.holder,
                lease.token,
                lease.acquired_at,
                lease.expires_at
            ],
        )
        .map_err(be("acquire lease"))?;
        tx.commit().map_err(be("acquire lease"))?;
        Ok(lease)
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>> {
        read_lease(&self.conn.lock(), name)
    }

    fn release_lease(&self, f: &Fence) -> Result<()> {
        self.conn
            .lock()
            .execute(
                "UPDATE leases SET expires_at = ?4 WHERE name = ?1 AND holder = ?2 AND token = ?3",
                params![f.lease, f.holder, f.token, i64::MIN],
            )
            .map_err(be("release lease"))?;
        Ok(())
    }
}

impl AlertLog for SqliteState {
    fn append_alerts(&self, alerts: &[LoggedAlert]) -> Result<i64> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(be("append alerts"))?;
        for a in alerts {
            tx.execute(
                "INSERT INTO alert_log (fingerprint, labels, annotations, starts_at, ends_at,
                     generator_url, pending_since, timeout, updated_at, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    // Stored as the same 64 bits, signed.
                    a.fingerprint.0 as i64,
                    to_json(&a.labels, "labels")?,
                    to_json(&a.annotations, "annotations")?,
                    a.starts_at,
                    a.ends_at,
                    a.generator_url,
                    a.pending_since,
                    a.timeout,
                    a.updated_at,
                    a.origin
                ],
            )
            .map_err(be("append alerts"))?;
        }
        // The highest sequence number ever handed out, even when its rows were deleted.
        let last: Option<i64> = tx
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'alert_log'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(be("append alerts"))?;
        tx.commit().map_err(be("append alerts"))?;
        Ok(last.unwrap_or(0))
    }

    fn alerts_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, LoggedAlert)>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare(
                "SELECT seq, fingerprint, labels, annotations, starts_at, ends_at,
                        generator_url, pending_since, timeout, updated_at, origin
                 FROM alert_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(be("read alert log"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query([after, limit]).map_err(be("read alert log"))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(be("read alert log"))? {
            let labels: String = col(r, 2, "alert_log")?;
            let annotations: String = col(r, 3, "alert_log")?;
            let fp: i64 = col(r, 1, "alert_log")?;
            out.push((
                col(r, 0, "alert_log")?,
                LoggedAlert {
                    fingerprint: Fingerprint(fp as u64),
                    labels: from_json(&labels, "alert_log.labels")?,
                    annotations: from_json(&annotations, "alert_log.annotations")?,
                    starts_at: col(r, 4, "alert_log")?,
                    ends_at: col(r, 5, "alert_log")?,
                    generator_url: col(r, 6, "alert_log")?,
                    pending_since: col(r, 7, "alert_log")?,
                    timeout: col(r, 8, "alert_log")?,
                    updated_at: col(r, 9, "alert_log")?,
                    origin: col(r, 10, "alert_log")?,
                },
            ));
        }
        Ok(out)
    }

    fn gc_alerts(&self, ended_before: i64, superseded_before: i64) -> Result<usize> {
        let conn = self.conn.lock();
        let ended = conn
            .execute("DELETE FROM alert_log WHERE ends_at < ?1", [ended_before])
            .map_err(be("delete ended alerts"))?;
        let superseded = conn
            .execute(
                "DELETE FROM alert_log WHERE updated_at < ?1 AND EXISTS (
                     SELECT 1 FROM alert_log newer
                     WHERE newer.fingerprint = alert_log.fingerprint AND newer.seq > alert_log.seq)",
                [superseded_before],
            )
            .map_err(be("delete superseded alerts"))?;
        Ok(ended + superseded)
    }
}
