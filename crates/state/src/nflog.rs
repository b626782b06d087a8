//! The notification log: what was last sent for an alert group to a
//! receiver, so the dispatcher neither repeats nor forgets a notification
//! across restarts.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The last notification for one (receiver, group) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NflogEntry {
    pub receiver: String,
    pub group_key: String,
    /// Alert fingerprints that were firing in that notification, sorted.
    pub firing_fingerprints: Vec<u64>,
    pub resolved_fingerprints: Vec<u64>,
    pub sent_at: i64,
    /// After this the entry is garbage (the dispatcher's retention).
    pub expires_at: i64,
}

/// Where the notification log lives.
pub trait NotificationLog: Send + Sync {
    /// Stores `entry` as the last notification of its (receiver, group key),
    /// replacing the previous one.
    fn record(&self, entry: &NflogEntry) -> Result<()>;
    /// The last notification, expired or not: callers compare `expires_at`
    /// with their own clock, and [`NotificationLog::gc`] removes old ones.
    fn last(&self, receiver: &str, group_key: &str) -> Result<Option<NflogEntry>>;
    /// Deletes entries with `expires_at <= now`; returns how many.
    fn gc(&self, now: i64) -> Result<usize>;
}
