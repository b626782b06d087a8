//! The audit log: who changed what, append-only.

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Assigned by the store on append, increasing; ignored on input.
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    /// A verb such as `silence.create` or `incident.acknowledge`.
    pub action: String,
    /// The object acted on, such as `silence/<uuid>` or `incident/INC-42`.
    pub object: String,
    pub detail: serde_json::Value,
}

/// Where audit entries live. Entries are never changed or deleted.
pub trait AuditLog: Send + Sync {
    /// Appends the entry; returns its `seq`.
    fn append(&self, entry: &AuditEntry) -> Result<i64>;
    /// The newest `limit` entries about `object`, oldest first.
    fn list_by_object(&self, object: &str, limit: usize) -> Result<Vec<AuditEntry>>;
    /// The newest `limit` entries, oldest first.
    fn list_recent(&self, limit: usize) -> Result<Vec<AuditEntry>>;
}
