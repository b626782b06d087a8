//! Adapters feeding store and scraper statistics into `/metrics`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use homeostat_http::{ExternalMetric, StatsSource};
use homeostat_ingest::ScrapeStatusHandle;
use homeostat_tsdb::Tsdb;

pub struct TsdbSource(pub Arc<Tsdb>);

fn m(name: &'static str, help: &'static str, kind: &'static str, value: f64) -> ExternalMetric {
    ExternalMetric {
        name,
        help,
        kind,
        labels: vec![],
        value,
    }
}

impl StatsSource for TsdbSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        let s = self.0.stats();
        let mut out = vec![
            m(
                "homeostat_tsdb_head_series",
                "Active series in the in-memory head.",
                "gauge",
                s.head_series as f64,
            ),
            m(
                "homeostat_tsdb_head_chunks",
                "Chunks held in the head.",
                "gauge",
                s.head_chunks as f64,
            ),
            m(
                "homeostat_tsdb_head_min_time_seconds",
                "Oldest sample time in the head.",
                "gauge",
                s.head_min_time as f64 / 1000.0,
            ),
            m(
                "homeostat_tsdb_head_max_time_seconds",
                "Newest sample time in the head.",
                "gauge",
                s.head_max_time as f64 / 1000.0,
            ),
            m(
                "homeostat_tsdb_samples_appended_total",
                "Samples appended to the store.",
                "counter",
                s.samples_appended_total as f64,
            ),
            m(
                "homeostat_tsdb_wal_bytes",
                "Bytes of WAL segments and checkpoints on disk.",
                "gauge",
                s.wal_bytes as f64,
            ),
            m(
                "homeostat_tsdb_wal_segments",
                "WAL segment files on disk.",
                "gauge",
                s.wal_segments as f64,
            ),
            m(
                "homeostat_tsdb_wal_fsyncs_total",
                "WAL fsync calls.",
                "counter",
                s.wal_fsyncs_total as f64,
            ),
            m(
                "homeostat_tsdb_blocks",
                "Persisted blocks.",
                "gauge",
                s.blocks as f64,
            ),
            m(
                "homeostat_tsdb_blocks_bytes",
                "Bytes of persisted blocks.",
                "gauge",
                s.blocks_bytes as f64,
            ),
            m(
                "homeostat_tsdb_compactions_total",
                "Block compactions run.",
                "counter",
                s.compactions_total as f64,
            ),
            m(
                "homeostat_tsdb_writable",
                "1 while the store accepts writes; 0 when read-only (disk full) or failed (fsync error, until restart).",
                "gauge",
                if s.write_state == homeostat_tsdb::WriteState::Writable {
                    1.0
                } else {
                    0.0
                },
            ),
        ];
        for (reason, n) in s.samples_rejected_total {
            out.push(ExternalMetric {
                name: "homeostat_tsdb_samples_rejected_total",
                help: "Samples the store refused, by reason.",
                kind: "counter",
                labels: vec![("reason", reason.as_str().to_string())],
                value: n as f64,
            });
        }
        out
    }
}

pub struct ScrapeSource(pub ScrapeStatusHandle);

impl StatsSource for ScrapeSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        let s = &self.0.stats;
        let targets = self.0.targets();
        let up = targets
            .iter()
            .filter(|t| t.health == homeostat_ingest::TargetHealth::Up)
            .count();
        vec![
            m(
                "homeostat_scrapes_total",
                "Scrapes performed.",
                "counter",
                s.scrapes_total.load(Ordering::Relaxed) as f64,
            ),
            m(
                "homeostat_scrape_failures_total",
                "Scrapes that failed.",
                "counter",
                s.scrape_failures_total.load(Ordering::Relaxed) as f64,
            ),
            m(
                "homeostat_scrape_samples_scraped_total",
                "Samples read from targets.",
                "counter",
                s.samples_scraped_total.load(Ordering::Relaxed) as f64,
            ),
            m(
                "homeostat_scrape_targets",
                "Configured scrape targets.",
                "gauge",
                targets.len() as f64,
            ),
            m(
                "homeostat_scrape_targets_up",
                "Targets whose last scrape succeeded.",
                "gauge",
                up as f64,
            ),
        ]
    }
}

/// The outcome of the last config reload, named as Prometheus names it.
pub struct ReloadSource(pub Arc<homeostat_http::ReloadStatus>);

impl StatsSource for ReloadSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        vec![
            m(
                "homeostat_config_last_reload_successful",
                "Whether the last configuration reload attempt was successful.",
                "gauge",
                if self.0.last_successful() { 1.0 } else { 0.0 },
            ),
            m(
                "homeostat_config_last_reload_success_timestamp_seconds",
                "Timestamp of the last successful configuration reload.",
                "gauge",
                self.0.last_success_at() as f64 / 1000.0,
            ),
        ]
    }
}

/// The traffic proxy's per-route and per-endpoint counters (docs/traffic.md).
pub struct TrafficSource(pub homeostat_traffic::Traffic);

impl StatsSource for TrafficSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        self.0
            .metrics()
            .into_iter()
            .map(|m| ExternalMetric {
                name: m.name,
                help: m.help,
                kind: m.kind,
                labels: m.labels,
                value: m.value,
            })
            .collect()
    }
}
