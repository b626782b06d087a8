//! The append path: validate under per-series locks → one WAL `write(2)` →
//! apply to the head.
//!
//! **Invariant:** the locks of every series in a batch are held (taken in
//! id order, so batches cannot deadlock) from validation until the samples
//! are in the head. The WAL order of one series' samples therefore equals
//! their head order, while batches touching different series only meet on
//! the short WAL write.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use homeostat_model::{Labels, Sample, TimeSeries};
use homeostat_storage::{AppendReport, Appender, RejectReason, StorageError};
use parking_lot::MutexGuard;

use crate::head::series::{MemSeries, SeriesData};
use crate::wal::record;
use crate::{Tsdb, TsdbError, WriteState};

fn too_old(labels: &Labels, t: i64, min_valid: i64) -> String {
    format!(
        "{labels} sample at {t} is older than the head's lower bound {min_valid} (already persisted in a block)"
    )
}

/// One series of the batch while it is locked.
struct Locked<'a> {
    series: &'a MemSeries,
    data: MutexGuard<'a, SeriesData>,
    /// Newest sample accepted so far, including earlier entries of this batch.
    last: Option<Sample>,
    accepted: Vec<Sample>,
}

impl Tsdb {
    /// Rejects every sample of a series that was not resolved: all samples
    /// too old, or a new series beyond the series limit.
    fn reject_unresolved(&self, ts: &TimeSeries, min_valid: i64, report: &mut AppendReport) {
        for s in &ts.samples {
            if s.t < min_valid {
                report.reject(RejectReason::TooOld, || too_old(&ts.labels, s.t, min_valid));
            } else {
                let max = self.opts.max_series.unwrap_or_default();
                report.reject(RejectReason::SeriesLimit, || {
                    format!(
                        "new series {} refused: active series limit max_active_series={max} reached",
                        ts.labels
                    )
                });
            }
        }
    }

    /// One attempt; `Ok(None)` means a concurrent head cut or garbage
    /// collection invalidated the validation and the batch must be retried.
    fn try_append(&self, batch: &[TimeSeries]) -> Result<Option<AppendReport>, TsdbError> {
        let mut report = AppendReport::default();
        let min_valid = self.min_valid_time.load(Ordering::SeqCst);
        // Resolve (and create) series before taking any series lock; `None`
        // marks a new series refused by the series limit.
        let mut handles: Vec<Option<Arc<MemSeries>>> = Vec::with_capacity(batch.len());
        for ts in batch {
            handles.push(if ts.samples.iter().all(|s| s.t < min_valid) {
                None
            } else {
                self.head.get_or_create(&ts.labels, self.opts.max_series)
            });
        }
        let mut order: Vec<&Arc<MemSeries>> = handles.iter().flatten().collect();
        order.sort_by_key(|s| s.id);
        order.dedup_by_key(|s| s.id);
        let mut locked: Vec<Locked<'_>> = order
            .iter()
            .map(|s| {
                let data = s.data.lock();
                Locked {
                    series: s,
                    last: data.last,
                    data,
                    accepted: Vec::new(),
                }
            })
            .collect();
        if locked.iter().any(|l| l.data.deleted) {
            return Ok(None);
        }

        for (ts, handle) in batch.iter().zip(&handles) {
            let Some(i) = handle
                .as_ref()
                .and_then(|h| locked.binary_search_by_key(&h.id, |l| l.series.id).ok())
            else {
                self.reject_unresolved(ts, min_valid, &mut report);
                continue;
            };
            let l = &mut locked[i];
            for s in &ts.samples {
                if s.t < min_valid {
                    report.reject(RejectReason::TooOld, || too_old(&ts.labels, s.t, min_valid));
                    continue;
                }
                match l.last {
                    Some(last) if s.t < last.t => report.reject(RejectReason::OutOfOrder, || {
                        format!(
                            "{} sample at {} is older than the newest stored sample at {}",
                            ts.labels, s.t, last.t
                        )
                    }),
                    Some(last) if s.t == last.t => {
                        if last.v.to_bits() != s.v.to_bits() {
                            report.reject(RejectReason::DuplicateTimestamp, || {
                                format!("{} already has a different value at {}", ts.labels, s.t)
                            });
                        }
                    }
                    _ => {
                        l.accepted.push(*s);
                        l.last = Some(*s);
                    }
                }
            }
        }

        let mut new_series: Vec<(u64, Labels)> = Vec::new();
        let mut samples: Vec<(u64, i64, f64)> = Vec::new();
        let mut max_t = i64::MIN;
        for l in locked.iter().filter(|l| !l.accepted.is_empty()) {
            if !l.data.logged {
                new_series.push((l.series.id, l.series.labels()));
            }
            for s in &l.accepted {
                samples.push((l.series.id, s.t, s.v));
                max_t = max_t.max(s.t);
            }
        }
        if samples.is_empty() {
            return Ok(Some(report));
        }
        let mut buf = Vec::new();
        if !new_series.is_empty() {
            let refs: Vec<(u64, &Labels)> = new_series.iter().map(|(id, l)| (*id, l)).collect();
            record::encode_series(&mut buf, &refs);
        }
        record::encode_samples(&mut buf, &samples);
        {
            let mut wal = self.wal.lock();
            // A head cut raises the lower bound under the WAL lock; samples
            // validated against the old bound must be checked again.
            if self.min_valid_time.load(Ordering::SeqCst) != min_valid {
                return Ok(None);
            }
            // On error nothing was applied to the head and the store stops
            // taking writes (logged once, by the write state); the sender
            // gets a 5xx and retries.
            wal.write(&buf)?;
        }
        for l in &mut locked {
            if l.accepted.is_empty() {
                continue;
            }
            l.data.logged = true;
            for s in l.accepted.drain(..) {
                l.data.push(s);
                report.accepted += 1;
            }
        }
        drop(locked);
        self.head_max_time.fetch_max(max_t, Ordering::Relaxed);
        Ok(Some(report))
    }
}

/// How often appends to a read-only store try to resume writing.
const RESUME_EVERY_MS: i64 = 1000;

impl Tsdb {
    /// `Ok` when writes are accepted. A read-only store first tries (at most
    /// once a second) to resume, so writing starts again soon after space is
    /// freed, without waiting for the maintenance timer.
    fn check_writable(&self) -> Result<(), TsdbError> {
        if let WriteState::ReadOnly(_) = self.health.get() {
            let now = self.clock.now_millis();
            let last = self.resume_tried.load(Ordering::Relaxed);
            if now.saturating_sub(last) >= RESUME_EVERY_MS
                && self
                    .resume_tried
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                && let Err(e) = self.wal.lock().try_resume()
            {
                tracing::debug!(error = %e, "storage still read-only");
            }
        }
        self.health.check()
    }
}

impl Appender for Tsdb {
    fn writable(&self) -> Result<(), StorageError> {
        self.health.check().map_err(StorageError::from)
    }

    fn append(&self, batch: &[TimeSeries]) -> Result<AppendReport, StorageError> {
        self.check_writable()?;
        let report = loop {
            if let Some(report) = self.try_append(batch)? {
                break report;
            }
        };
        self.appended.fetch_add(report.accepted, Ordering::Relaxed);
        if !report.rejected.is_empty() {
            let mut r = self.rejected.lock();
            for (reason, n) in &report.rejected {
                *r.entry(*reason).or_default() += n;
            }
        }
        Ok(report)
    }
}
