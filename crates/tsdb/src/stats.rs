use std::collections::BTreeMap;

use homeostat_storage::RejectReason;

/// A point-in-time snapshot of the store's counters and gauges, for /metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TsdbStats {
    pub head_series: u64,
    pub head_chunks: u64,
    pub samples_appended_total: u64,
    pub samples_rejected_total: BTreeMap<RejectReason, u64>,
    pub wal_bytes: u64,
    pub wal_segments: u64,
    pub wal_fsyncs_total: u64,
    pub blocks: u64,
    pub blocks_bytes: u64,
    pub compactions_total: u64,
    pub head_min_time: i64,
    pub head_max_time: i64,
    pub write_state: crate::WriteState,
}
