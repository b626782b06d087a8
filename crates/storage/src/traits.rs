use std::collections::{BTreeMap, BTreeSet};

use homeostat_model::{Labels, Sample, TimeSeries, Timestamp};

use crate::{Matcher, StorageError};

/// Why a sample was not stored. Each reason is counted and explained to the
/// sender; nothing is dropped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// Older than the newest sample already stored for the series.
    OutOfOrder,
    /// Older than the head's lower bound (already cut into a block or past retention).
    TooOld,
    /// Same timestamp as the newest stored sample but a different value.
    DuplicateTimestamp,
    /// Would create a new series beyond the configured active-series limit.
    SeriesLimit,
    /// The forwarding queue to a remote backend is at its disk limit
    /// (`storage.remote.queue.max_queue_bytes`); retry once it drains.
    QueueFull,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::TooOld => "too_old",
            RejectReason::DuplicateTimestamp => "duplicate_timestamp",
            RejectReason::SeriesLimit => "series_limit",
            RejectReason::QueueFull => "queue_full",
        }
    }
}

/// The outcome of one append call: accepted samples are durable (written to
/// the WAL) when the call returns; rejected ones are counted by reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppendReport {
    pub accepted: u64,
    pub rejected: BTreeMap<RejectReason, u64>,
    /// A human-readable example of the first rejection, naming the series.
    pub first_rejection: Option<String>,
}

impl AppendReport {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
    pub fn reject(&mut self, reason: RejectReason, detail: impl FnOnce() -> String) {
        *self.rejected.entry(reason).or_default() += 1;
        if self.first_rejection.is_none() {
            self.first_rejection = Some(detail());
        }
    }
    pub fn merge(&mut self, other: AppendReport) {
        self.accepted += other.accepted;
        for (r, n) in other.rejected {
            *self.rejected.entry(r).or_default() += n;
        }
        if self.first_rejection.is_none() {
            self.first_rejection = other.first_rejection;
        }
    }
}

/// What to read: series matching all matchers, samples with `mint <= t <= maxt`.
#[derive(Debug, Clone)]
pub struct SelectRequest {
    pub matchers: Vec<Matcher>,
    pub mint: Timestamp,
    pub maxt: Timestamp,
    /// Fail with [`StorageError::LimitExceeded`] instead of loading more samples than this.
    pub max_samples: Option<usize>,
}

impl SelectRequest {
    pub fn new(matchers: Vec<Matcher>, mint: Timestamp, maxt: Timestamp) -> Self {
        Self {
            matchers,
            mint,
            maxt,
            max_samples: None,
        }
    }
}

/// One series with its samples in ascending time order.
pub type Series = TimeSeries;

pub trait Appender: Send + Sync {
    /// Appends samples; returns only after accepted samples are durable
    /// against a process crash. Samples within a series must be in time order.
    fn append(&self, batch: &[TimeSeries]) -> Result<AppendReport, StorageError>;

    /// Whether appends are accepted now; the error says why not (a full
    /// disk, a failed fsync). Readiness reports it.
    fn writable(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

pub trait Querier: Send + Sync {
    /// Series matching every matcher that have at least one sample in range,
    /// sorted by labels, each with its samples in range.
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError>;

    /// Label sets of the series matching every matcher with data in range, sorted.
    fn series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError>;

    /// Sorted label names of matching series (all series if `matchers` is
    /// empty). Backends with a cheaper way (an index of names) override it.
    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let names: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        Ok(names.into_iter().collect())
    }

    /// Sorted distinct values of `name` among matching series.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let values: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        Ok(values.into_iter().collect())
    }
}

/// A full backend: what the server hands to ingestion and query engines.
pub trait Storage: Appender + Querier {}
impl<T: Appender + Querier> Storage for T {}

/// Helper for implementations: keep samples within `[mint, maxt]`.
pub fn samples_in_range(samples: &[Sample], mint: Timestamp, maxt: Timestamp) -> &[Sample] {
    let lo = samples.partition_point(|s| s.t < mint);
    let hi = samples.partition_point(|s| s.t <= maxt);
    &samples[lo..hi.max(lo)]
}
