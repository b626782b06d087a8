//! What replicas sharing one state database agree on: who is a member, and
//! who leads. The leader holds a lease with a fencing token; every side
//! effect it claims (a notification, a page) is written together with a
//! check of that token, so a leader that was deposed without noticing (a
//! pause, a partition) cannot claim anything any more.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The lease whose holder evaluates rules, sends notifications, escalates
/// and judges analysis runs.
pub const LEADER_LEASE: &str = "leader";

/// One replica, as it last announced itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Unique per process (host, listen address and start time).
    pub id: String,
    /// Where other replicas and people reach it (`external_url`).
    pub address: String,
    pub version: String,
    pub started_at: i64,
    /// The last heartbeat; a member silent for a few lease durations is gone.
    pub last_seen: i64,
}

/// A named lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    /// Grows by one each time the lease changes hands, never otherwise.
    pub token: i64,
    /// When the current holder took it (renewals keep it).
    pub acquired_at: i64,
    pub expires_at: i64,
}

impl Lease {
    /// The one rule every backend applies inside its atomic step: given the
    /// stored lease `prev`, what `holder` asking at `now` leaves stored —
    /// `Ok` with the lease to write (taken or renewed), or `Err` with the
    /// lease someone else still holds.
    pub fn acquired(
        prev: Option<Lease>,
        name: &str,
        holder: &str,
        now: i64,
        ttl_ms: i64,
    ) -> Result<Lease, Lease> {
        let expires_at = now.saturating_add(ttl_ms);
        match prev {
            Some(l) if l.holder == holder && l.expires_at > now => Ok(Lease { expires_at, ..l }),
            Some(l) if l.expires_at > now => Err(l),
            prev => Ok(Lease {
                name: name.to_string(),
                holder: holder.to_string(),
                token: prev.map_or(1, |l| l.token + 1),
                acquired_at: now,
                expires_at,
            }),
        }
    }

    pub fn fence(&self) -> Fence {
        Fence {
            lease: self.name.clone(),
            holder: self.holder.clone(),
            token: self.token,
        }
    }
}

/// Proof of leadership handed to fenced writes: the write happens only if
/// the lease still names this holder with this token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub token: i64,
}

/// Where leases and members live.
pub trait ClusterStore: Send + Sync {
    /// Creates or refreshes `member` (keyed by id).
    fn heartbeat(&self, member: &Member) -> Result<()>;
    /// Every member stored, by id; callers judge liveness by `last_seen`.
    fn members(&self) -> Result<Vec<Member>>;
    /// Deletes members last seen before `seen_before`; returns how many.
    fn forget_members(&self, seen_before: i64) -> Result<usize>;
    /// Takes or renews lease `name` for `holder` until `now + ttl_ms`, in one
    /// atomic step: it succeeds when the lease does not exist, expired at
    /// `now`, or is already `holder`'s (a renewal keeps the token; a new
    /// holder gets the next token). Returns the lease as it stands after the
    /// call, so the caller leads iff `holder` is its own id.
    fn acquire_lease(&self, name: &str, holder: &str, now: i64, ttl_ms: i64) -> Result<Lease>;
    fn lease(&self, name: &str) -> Result<Option<Lease>>;
    /// Ends `fence`'s hold early (a clean shutdown) so that another replica
    /// need not wait for the expiry; a no-op when the lease moved on.
    fn release_lease(&self, fence: &Fence) -> Result<()>;
}
