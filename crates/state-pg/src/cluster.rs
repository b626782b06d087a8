//! Leases, members and the shared alert log on PostgreSQL, where several
//! replicas really do share them. A lease is taken in one transaction that
//! locks its row; a fenced write checks the lease under `FOR SHARE` in its
//! own transaction, so a new holder's acquire waits for it to commit (and
//! the fenced write, run after the acquire, sees the new token).

use homeostat_model::Fingerprint;
use homeostat_state::{
    AlertLog, ClusterStore, Fence, Lease, LoggedAlert, Member, Result, StateError,
};
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{be, col, from_json, limit, to_json};

/// Serialises appends to the alert log so that sequence numbers become
/// visible in order: a reader that has seen seq n never later finds a
/// smaller one committed behind it.
const ALERT_LOG_LOCK: i64 = 0x686f_6d65_6f00_0002;

/// Fails with [`StateError::Fenced`] unless the fence's lease still names
/// its holder and token; call inside the transaction of the fenced write.
pub(crate) fn check_fence(c: &mut impl GenericClient, fence: Option<&Fence>) -> Result<()> {
    let Some(f) = fence else {
        return Ok(());
    };
    let row = c
        .query_opt(
            "SELECT holder, token FROM leases WHERE name = $1 FOR SHARE",
            &[&f.lease],
        )
        .map_err(be("check the lease"))?;
    let current: Option<(String, i64)> = row
        .map(|r| Ok::<_, StateError>((col(&r, 0, "leases")?, col(&r, 1, "leases")?)))
        .transpose()?;
    match current {
        Some((holder, token)) if holder == f.holder && token == f.token => Ok(()),
        _ => Err(StateError::fenced(f)),
    }
}

fn lease_row(r: &Row) -> Result<Lease> {
    Ok(Lease {
        name: col(r, 0, "leases")?,
        holder: col(r, 1, "leases")?,
        token: col(r, 2, "leases")?,
        acquired_at: col(r, 3, "leases")?,
        expires_at: col(r, 4, "leases")?,
    })
}

const LEASE_COLUMNS: &str = "name, holder, token, acquired_at, expires_at";

fn member_row(r: &Row) -> Result<Member> {
    Ok(Member {
        id: col(r, 0, "members")?,
        address: col(r, 1, "members")?,
        version: col(r, 2, "members")?,
        started_at: col(r, 3, "members")?,
        last_seen: col(r, 4, "members")?,
    })
}

impl ClusterStore for PgState {
    fn heartbeat(&self, m: &Member) -> Result<()> {
        let m = m.clone();
        self.pool.run("record heartbeat", move |c| {
            c.execute(
                "INSERT INTO members (id, address, version, started_at, last_seen)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                     version = excluded.version, started_at = excluded.started_at,
                     last_seen = excluded.last_seen",
                &[&m.id, &m.address, &m.version, &m.started_at, &m.last_seen],
            )
            .map_err(be("record heartbeat"))?;
            Ok(())
        })
    }

    fn members(&self) -> Result<Vec<Member>> {
        self.pool.run("list members", |c| {
            c.query(
                "SELECT id, address, version, started_at, last_seen FROM members ORDER BY id",
                &[],
            )
            .map_err(be("list members"))?
            .iter()
            .map(member_row)
            .collect()
        })
    }

    fn forget_members(&self, seen_before: i64) -> Result<usize> {
        self.pool.run("forget members", move |c| {
            c.execute("DELETE FROM members WHERE last_seen < $1", &[&seen_before])
                .map(|n| n as usize)
                .map_err(be("forget members"))
        })
    }

    fn acquire_lease(&self, name: &str, holder: &str, now: i64, ttl_ms: i64) -> Result<Lease> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.pool.run("acquire lease", move |c| {
            let mut tx = c.transaction().map_err(be("acquire lease"))?;
            // A lapsed placeholder, so that there is a row to lock even for
            // the first acquire; it is replaced in this same transaction.
            tx.execute(
                "INSERT INTO leases (name, holder, token, acquired_at, expires_at)
                 VALUES ($1, '', 0, 0, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &i64::MIN],
            )
            .map_err(be("acquire lease"))?;
            let prev = tx
                .query_one(
                    &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE name = $1 FOR UPDATE"),
                    &[&name],
                )
                .map_err(be("acquire lease"))?;
            let prev = lease_row(&prev)?;
            let prev = (!prev.holder.is_empty() || prev.token > 0).then_some(prev);
            let lease = match Lease::acquired(prev, &name, &holder, now, ttl_ms) {
                Ok(lease) => lease,
                Err(held) => return Ok(held),
            };
            tx.execute(
                "UPDATE leases SET holder = $2, token = $3, acquired_at = $4, expires_at = $5
                 WHERE name = $1",
                &[
                    &lease.name,
                    &lease.holder,
                    &lease.token,
                    &lease.acquired_at,
                    &lease.expires_at,
                ],
            )
            .map_err(be("acquire lease"))?;
            tx.commit().map_err(be("acquire lease"))?;
            Ok(lease)
        })
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>> {
        let name = name.to_string();
        self.pool.run("read lease", move |c| {
            c.query_opt(
                &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE name = $1"),
                &[&name],
            )
            .map_err(be("read lease"))?
            .map(|r| lease_row(&r))
            .transpose()
        })
    }

    fn release_lease(&self, f: &Fence) -> Result<()> {
        let f = f.clone();
        self.pool.run("release lease", move |c| {
            c.execute(
                "UPDATE leases SET expires_at = $4 WHERE name = $1 AND holder = $2 AND token = $3",
                &[&f.lease, &f.holder, &f.token, &i64::MIN],
            )
            .map_err(be("release lease"))?;
            Ok(())
        })
    }
}

fn alert_row(r: &Row) -> Result<(i64, LoggedAlert)> {
    let t = "alert_log";
    let labels: String = col(r, 2, t)?;
    let annotations: String = col(r, 3, t)?;
    let fp: i64 = col(r, 1, t)?;
    Ok((
        col(r, 0, t)?,
        LoggedAlert {
            // Stored as the same 64 bits, signed.
            fingerprint: Fingerprint(fp as u64),
            labels: from_json(&labels, "alert_log.labels")?,
            annotations: from_json(&annotations, "alert_log.annotations")?,
            starts_at: col(r, 4, t)?,
            ends_at: col(r, 5, t)?,
            generator_url: col(r, 6, t)?,
            pending_since: col(r, 7, t)?,
            timeout: col(r, 8, t)?,
            updated_at: col(r, 9, t)?,
            origin: col(r, 10, t)?,
        },
    ))
}

impl AlertLog for PgState {
    fn append_alerts(&self, alerts: &[LoggedAlert]) -> Result<i64> {
        let alerts = alerts.to_vec();
        self.pool.run("append alerts", move |c| {
            let mut tx = c.transaction().map_err(be("append alerts"))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ALERT_LOG_LOCK])
                .map_err(be("append alerts"))?;
            for a in &alerts {
                tx.execute(
                    "INSERT INTO alert_log (fingerprint, labels, annotations, starts_at, ends_at,
                         generator_url, pending_since, timeout, updated_at, origin)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &(a.fingerprint.0 as i64),
                        &to_json(&a.labels, "labels")?,
                        &to_json(&a.annotations, "annotations")?,
                        &a.starts_at,
                        &a.ends_at,
                        &a.generator_url,
                        &a.pending_since,
                        &a.timeout,
                        &a.updated_at,
                        &a.origin,
                    ],
                )
                .map_err(be("append alerts"))?;
            }
            // The highest sequence number ever handed out, even when its
            // rows were deleted.
            let last: Option<i64> = tx
                .query_one(
                    "SELECT pg_sequence_last_value(pg_get_serial_sequence('alert_log', 'seq')::regclass)",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(be("append alerts"))?;
            tx.commit().map_err(be("append alerts"))?;
            Ok(last.unwrap_or(0))
        })
    }

    fn alerts_after(&self, after: i64, n: usize) -> Result<Vec<(i64, LoggedAlert)>> {
        let n = limit(Some(n));
        self.pool.run("read alert log", move |c| {
            c.query(
                "SELECT seq, fingerprint, labels, annotations, starts_at, ends_at,
                        generator_url, pending_since, timeout, updated_at, origin
                 FROM alert_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &n],
            )
            .map_err(be("read alert log"))?
            .iter()
            .map(alert_row)
            .collect()
        })
    }

    fn gc_alerts(&self, ended_before: i64, superseded_before: i64) -> Result<usize> {
        self.pool.run("delete old alerts", move |c| {
            let ended = c
                .execute("DELETE FROM alert_log WHERE ends_at < $1", &[&ended_before])
                .map_err(be("delete ended alerts"))?;
            let superseded = c
                .execute(
                    "DELETE FROM alert_log WHERE updated_at < $1 AND EXISTS (
                         SELECT 1 FROM alert_log newer
                         WHERE newer.fingerprint = alert_log.fingerprint
                           AND newer.seq > alert_log.seq)",
                    &[&superseded_before],
                )
                .map_err(be("delete superseded alerts"))?;
            Ok((ended + superseded) as usize)
        })
    }
}
