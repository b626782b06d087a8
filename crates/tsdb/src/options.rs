use std::path::PathBuf;
use std::time::Duration;

/// When the WAL is fsynced. Appends always reach the OS (write(2)) before they
/// are acknowledged, so they survive a process crash under every policy; the
/// policy decides what survives a power loss (see docs/adr/0001-wal-durability.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync before acknowledging each append: nothing acknowledged is lost on power loss.
    Always,
    /// fsync on a timer driven by the server (`Tsdb::sync_wal`): at most this much is lost on power loss.
    Interval(Duration),
    /// Leave it to the OS.
    Never,
}

#[derive(Debug, Clone)]
pub struct TsdbOptions {
    pub dir: PathBuf,
    pub block_duration_ms: i64,
    pub retention_ms: i64,
    pub wal_fsync: FsyncPolicy,
    /// Refuse new series beyond this many active head series.
    pub max_series: Option<usize>,
    /// WAL segment size before rolling to a new file.
    pub wal_segment_bytes: u64,
    /// Injected i/o failures (tests only; none by default).
    pub faults: crate::Faults,
}

impl Default for TsdbOptions {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data"),
            block_duration_ms: 2 * 3_600_000,
            retention_ms: 15 * 86_400_000,
            wal_fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
            max_series: None,
            wal_segment_bytes: 128 << 20,
            faults: crate::Faults::default(),
        }
    }
}
