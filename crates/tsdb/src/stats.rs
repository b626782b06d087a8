use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use homeostat_storage::{AppendReport, RejectReason};

/// A snapshot of the store's counters and sizes, exported on `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TsdbStats {
    pub head_series: u64,
    pub samples_appended_total: u64,
    pub samples_rejected_total: BTreeMap<RejectReason, u64>,
    pub wal_bytes: u64,
    pub blocks: u64,
    pub blocks_bytes: u64,
    pub compactions_total: u64,
    /// `i64::MAX` / `i64::MIN` while the head is empty.
    pub head_min_time: i64,
    pub head_max_time: i64,
}

const REASONS: [RejectReason; 4] = [
    RejectReason::OutOfOrder,
    RejectReason::TooOld,
    RejectReason::DuplicateTimestamp,
    RejectReason::SeriesLimit,
];

/// Monotonic counters updated lock-free by appenders.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub appended: AtomicU64,
    rejected: [AtomicU64; 4],
    pub compactions: AtomicU64,
}

impl Counters {
    pub fn record(&self, report: &AppendReport) {
        self.appended.fetch_add(report.accepted, Ordering::Relaxed);
        for (reason, n) in &report.rejected {
            if let Some(i) = REASONS.iter().position(|r| r == reason) {
                self.rejected[i].fetch_add(*n, Ordering::Relaxed);
            }
        }
    }

    pub fn rejected(&self) -> BTreeMap<RejectReason, u64> {
        REASONS
            .iter()
            .zip(&self.rejected)
            .map(|(r, n)| (*r, n.load(Ordering::Relaxed)))
            .collect()
    }
}
