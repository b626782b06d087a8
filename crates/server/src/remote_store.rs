//! `storage.mode: remote`: the one forwarding queue every writer of the
//! process shares (remote-write and OTLP ingest, scrape loops, recording
//! rules, ALERTS/ALERTS_FOR_STATE), paired with the remote querier every
//! reader uses, and its counters for `/metrics`.

use std::sync::Arc;

use homeostat_http::{ExternalMetric, StatsSource};
use homeostat_model::{Labels, TimeSeries, Timestamp};
use homeostat_remote::Forwarder;
use homeostat_storage::{
    AppendReport, Appender, Matcher, Querier, SelectRequest, Series, StorageError,
};

/// Writes through the forwarding queue, reads from the remote engine.
pub struct ForwardingStore {
    pub forwarder: Arc<Forwarder>,
    pub querier: Arc<dyn Querier>,
}

impl Appender for ForwardingStore {
    fn append(&self, batch: &[TimeSeries]) -> Result<AppendReport, StorageError> {
        self.forwarder.append(batch)
    }

    fn writable(&self) -> Result<(), StorageError> {
        self.forwarder.writable()
    }
}

impl Querier for ForwardingStore {
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
        self.querier.select(req)
    }

    fn series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError> {
        self.querier.series(matchers, mint, maxt)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        self.querier.label_names(matchers, mint, maxt)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        self.querier.label_values(name, matchers, mint, maxt)
    }
}

/// The queue's counters, labelled with the remote-write URL.
pub struct ForwardSource(pub Arc<Forwarder>);

impl StatsSource for ForwardSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        let s = self.0.stats();
        let url = self.0.write_url().to_string();
        let m = |name, help, kind, value: f64| ExternalMetric {
            name,
            help,
            kind,
            labels: vec![("url", url.clone())],
            value,
        };
        let secs = |t: Option<i64>| t.map_or(0.0, |t| t as f64 / 1000.0);
        let mut out = vec![
            m(
                "homeostat_remote_storage_pending_samples",
                "Samples accepted into the forwarding queue and not yet sent or dropped.",
                "gauge",
                s.pending_samples as f64,
            ),
            m(
                "homeostat_remote_storage_appended_samples_total",
                "Samples accepted into the forwarding queue.",
                "counter",
                s.appended_samples as f64,
            ),
            m(
                "homeostat_remote_storage_sent_samples_total",
                "Samples the remote acknowledged.",
                "counter",
                s.sent_samples as f64,
            ),
            m(
                "homeostat_remote_storage_sent_requests_total",
                "Remote-write requests the remote acknowledged.",
                "counter",
                s.sent_requests as f64,
            ),
            m(
                "homeostat_remote_storage_retries_total",
                "Remote-write requests sent again after a 5xx, 429 or connection error.",
                "counter",
                s.retries as f64,
            ),
            m(
                "homeostat_remote_storage_failed_requests_total",
                "Remote-write attempts that failed (retried or refused).",
                "counter",
                s.failed_requests as f64,
            ),
            m(
                "homeostat_remote_storage_queue_bytes",
                "Bytes of forwarding-queue segments on disk.",
                "gauge",
                s.queue_bytes as f64,
            ),
            m(
                "homeostat_remote_storage_highest_appended_timestamp_seconds",
                "Newest sample timestamp accepted into the queue.",
                "gauge",
                secs(s.highest_appended_ms),
            ),
            m(
                "homeostat_remote_storage_highest_sent_timestamp_seconds",
                "Newest sample timestamp the remote acknowledged; the lag is the difference to the appended one.",
                "gauge",
                secs(s.highest_sent_ms),
            ),
        ];
        for reason in ["corrupt_record", "http_400"]
            .into_iter()
            .map(str::to_string)
            .chain(s.dropped.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
        {
            out.push(ExternalMetric {
                name: "homeostat_remote_storage_dropped_samples_total",
                help: "Samples given up on, by reason (http_<status> for a refused request, corrupt_record).",
                kind: "counter",
                labels: vec![("url", url.clone()), ("reason", reason.clone())],
                value: s.dropped.get(&reason).copied().unwrap_or(0) as f64,
            });
        }
        out
    }
}
