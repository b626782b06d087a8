//! On-call runtime state: where each running escalation stands, so a
//! restart resumes it instead of paging from the first step again.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One running escalation. The state is opaque JSON because the on-call
/// engine owns its shape; the store only keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRecord {
    /// What is escalating: an incident id (`INC-42`) or a page id.
    pub key: String,
    pub state_json: serde_json::Value,
    pub updated_at: i64,
}

/// Where escalation state lives. A record exists only while its escalation
/// runs: the engine deletes it when the page is acknowledged or exhausted.
pub trait EscalationStore: Send + Sync {
    /// Inserts or replaces the record with `record.key`.
    fn put(&self, record: &EscalationRecord) -> Result<()>;
    fn get(&self, key: &str) -> Result<Option<EscalationRecord>>;
    /// Every stored record (they are all running), by key.
    fn list_active(&self) -> Result<Vec<EscalationRecord>>;
    /// Deletes the record; returns whether there was one.
    fn delete(&self, key: &str) -> Result<bool>;
}
