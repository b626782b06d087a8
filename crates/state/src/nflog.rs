//! The notification log: what was last sent for an alert group to a
//! receiver, so the dispatcher neither repeats nor forgets a notification
//! across restarts; and the outbox of single messages (pages to on-call
//! people), so a restart neither repeats nor forgets one of those either.

use homeostat_model::Fingerprint;
use serde::{Deserialize, Serialize};

use crate::cluster::Fence;
use crate::error::Result;

/// The last notification for one (receiver, group) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NflogEntry {
    pub receiver: String,
    pub group_key: String,
    /// Alert fingerprints that were firing in that notification, sorted
    /// (stored as numbers, as before the type existed).
    pub firing_fingerprints: Vec<Fingerprint>,
    pub resolved_fingerprints: Vec<Fingerprint>,
    pub sent_at: i64,
    /// After this the entry is garbage (the dispatcher's retention).
    pub expires_at: i64,
}

/// Where the notification log lives.
pub trait NotificationLog: Send + Sync {
    /// Stores `entry` as the last notification of its (receiver, group key),
    /// replacing the previous one. With a `fence`, only while the fence's
    /// lease still names its holder and token, checked in the same
    /// transaction ([`crate::StateError::Fenced`] otherwise): a leader
    /// claims a notification this way *before* sending it.
    fn record(&self, entry: &NflogEntry, fence: Option<&Fence>) -> Result<()>;
    /// Deletes the entry of (receiver, group key), fenced like `record`:
    /// gives back a claim whose sending failed when there was no entry before.
    fn forget(&self, receiver: &str, group_key: &str, fence: Option<&Fence>) -> Result<()>;
    /// The last notification, expired or not: callers compare `expires_at`
    /// with their own clock, and [`NotificationLog::gc`] removes old ones.
    fn last(&self, receiver: &str, group_key: &str) -> Result<Option<NflogEntry>>;
    /// Deletes entries and outbox entries with `expires_at <= now`;
    /// returns how many.
    fn gc(&self, now: i64) -> Result<usize>;

    /// Records `entry` (state pending) unless an entry with its key exists;
    /// returns whether it was added, i.e. whether the caller should send it.
    /// Fenced like [`NotificationLog::record`].
    fn enqueue(&self, entry: &OutboxEntry, fence: Option<&Fence>) -> Result<bool>;
    /// Pending entries of `kind`, oldest first.
    fn pending(&self, kind: &str) -> Result<Vec<OutboxEntry>>;
    /// Marks a pending entry delivered or failed. Unknown keys are ignored
    /// (garbage-collected meanwhile).
    fn finish(&self, key: &str, delivered: bool, attempts: u32, at: i64) -> Result<()>;
    /// The outbox entry with `key`, if kept.
    fn outbox_entry(&self, key: &str) -> Result<Option<OutboxEntry>>;
}

/// Where an [`OutboxEntry`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Owed: a restart resumes it.
    Pending,
    Delivered,
    /// Given up on after its retries; kept so that it is not sent again.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(OutboxState::Pending),
            "delivered" => Some(OutboxState::Delivered),
            "failed" => Some(OutboxState::Failed),
            _ => None,
        }
    }
}

/// One message owed to someone outside an alert group's notifications (a
/// page to an on-call person), recorded before the first attempt and
/// finished after the last, so that a restart resumes a pending one and
/// never sends a finished one again: `key` names the message, and a key is
/// only ever enqueued once while its entry is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxEntry {
    /// Unique per message, e.g. `page/<incident>/<step ms>/<level>/<user>`.
    pub key: String,
    /// What kind of message (`page`); [`NotificationLog::pending`] filters by it.
    pub kind: String,
    /// What the sender needs to send it again after a restart.
    pub doc: serde_json::Value,
    pub created_at: i64,
    /// After this the entry is garbage, finished or not.
    pub expires_at: i64,
    pub state: OutboxState,
    /// Attempts made by the last sender that finished it.
    pub attempts: u32,
    pub finished_at: Option<i64>,
}
