use std::path::PathBuf;
use std::time::Duration;

/// How hard `append` pushes WAL data towards the disk before returning.
/// Every policy survives a process crash (data is in the page cache after
/// `write(2)`); only `Always` survives power loss for acknowledged samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fsync` the WAL before every append returns.
    Always,
    /// The server calls [`crate::Tsdb::sync_wal`] at this interval.
    Interval(Duration),
    /// Leave flushing to the OS.
    Never,
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        FsyncPolicy::Interval(Duration::from_secs(1))
    }
}

#[derive(Debug, Clone)]
pub struct TsdbOptions {
    /// Blocks live in `<dir>/<block id>/`, the WAL in `<dir>/wal/`.
    pub dir: PathBuf,
    /// Time span of a block cut from the head (default 2h).
    pub block_duration_ms: i64,
    /// Blocks whose data is entirely older than `now - retention_ms` are deleted (default 15d).
    pub retention_ms: i64,
    pub wal_fsync: FsyncPolicy,
    /// Maximum number of series in the head; `None` means unlimited.
    pub max_series: Option<usize>,
    /// WAL segment size at which a new segment file is started (default 128 MiB).
    pub wal_segment_bytes: u64,
}

impl Default for TsdbOptions {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data"),
            block_duration_ms: 2 * 3600 * 1000,
            retention_ms: 15 * 24 * 3600 * 1000,
            wal_fsync: FsyncPolicy::default(),
            max_series: None,
            wal_segment_bytes: 128 << 20,
        }
    }
}
