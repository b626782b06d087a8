//! `storage:` and `limits:`: how long data is kept and how it reaches disk,
//! and the size limits on writes with the threads that decode them.

use std::time::Duration;

use homeostat_model::{FieldError, parse_duration};
use homeostat_tsdb::FsyncPolicy;
use serde::Deserialize;

use super::{duration_or, positive};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    pub retention: Option<String>,
    pub block_duration: Option<String>,
    /// `always`, `never`, or a duration such as `1s`.
    pub wal_fsync: Option<String>,
    pub max_active_series: Option<usize>,
    /// `embedded` (default) or `remote`: samples go to the remote engine
    /// named by `remote:` and every read comes from it.
    pub mode: Option<String>,
    pub remote: Option<super::remote_storage::RemoteStorageSection>,
}

/// The validated `storage:` section.
#[derive(Debug, Clone)]
pub(super) struct Storage {
    pub retention: Duration,
    pub block_duration: Duration,
    pub wal_fsync: FsyncPolicy,
    pub max_active_series: Option<usize>,
}

impl StorageSection {
    /// `storage.mode` with its `storage.remote` backend; `base` resolves
    /// relative `*_file` secrets.
    pub(super) fn mode(
        &self,
        base: &std::path::Path,
        data_dir: &std::path::Path,
    ) -> Result<super::remote_storage::StorageMode, FieldError> {
        use super::remote_storage::StorageMode;
        match self.mode.as_deref().unwrap_or("embedded") {
            "embedded" => match &self.remote {
                Some(_) => Err(FieldError::new(
                    "storage.remote",
                    "only used with `storage.mode: remote`",
                )),
                None => Ok(StorageMode::Embedded),
            },
            "remote" => {
                let r = self.remote.as_ref().ok_or_else(|| {
                    FieldError::new("storage.remote.url", "required with `storage.mode: remote`")
                })?;
                let r = r
                    .validate(base, data_dir)
                    .map_err(|e| e.under("storage.remote"))?;
                Ok(StorageMode::Remote(Box::new(r)))
            }
            other => Err(FieldError::new(
                "storage.mode",
                format!("{other:?}: expected embedded or remote"),
            )),
        }
    }

    pub(super) fn validate(&self) -> Result<Storage, FieldError> {
        let retention = duration_or("storage.retention", &self.retention, "15d")?;
        let block_duration = duration_or("storage.block_duration", &self.block_duration, "2h")?;
        if block_duration < Duration::from_secs(60) {
            return Err(FieldError::new(
                "storage.block_duration",
                "must be at least 1m",
            ));
        }
        let wal_fsync = match self.wal_fsync.as_deref().unwrap_or("1s") {
            "always" => FsyncPolicy::Always,
            "never" => FsyncPolicy::Never,
            other => FsyncPolicy::Interval(parse_duration(other).map_err(|e| {
                FieldError::new(
                    "storage.wal_fsync",
                    format!("expected always, never or a duration: {e}"),
                )
            })?),
        };
        Ok(Storage {
            retention,
            block_duration,
            wal_fsync,
            max_active_series: self.max_active_series.filter(|&n| n > 0),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub max_request_body_bytes: Option<usize>,
    pub max_decompressed_bytes: Option<usize>,
    pub max_series_per_request: Option<usize>,
    /// Threads decoding and appending writes (default: one per core).
    pub write_threads: Option<usize>,
    /// How much lower than request threads the write threads run (nice
    /// increment, 0..=19, default 5): under full-speed ingest, reads such as
    /// the deploy gate keep answering in milliseconds.
    pub write_nice: Option<i32>,
}

impl LimitsSection {
    pub(super) fn validate(
        &self,
    ) -> Result<
        (
            homeostat_http::Limits,
            homeostat_http::write_pool::WritePoolOptions,
        ),
        FieldError,
    > {
        let d = homeostat_http::Limits::default();
        let limits = homeostat_http::Limits {
            max_request_body_bytes: positive(
                "limits.max_request_body_bytes",
                self.max_request_body_bytes
                    .unwrap_or(d.max_request_body_bytes),
            )?,
            max_decompressed_bytes: positive(
                "limits.max_decompressed_bytes",
                self.max_decompressed_bytes
                    .unwrap_or(d.max_decompressed_bytes),
            )?,
            max_series_per_request: positive(
                "limits.max_series_per_request",
                self.max_series_per_request
                    .unwrap_or(d.max_series_per_request),
            )?,
        };
        let dw = homeostat_http::write_pool::WritePoolOptions::default();
        let write_pool = homeostat_http::write_pool::WritePoolOptions {
            threads: positive(
                "limits.write_threads",
                self.write_threads.unwrap_or(dw.threads),
            )?,
            nice: match self.write_nice {
                Some(n) if !(0..=19).contains(&n) => {
                    return Err(FieldError::new(
                        "limits.write_nice",
                        format!("{n} is outside 0..=19 (0 = same priority as requests)"),
                    ));
                }
                Some(n) => n,
                None => dw.nice,
            },
        };
        Ok((limits, write_pool))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn storage_and_limits_name_the_field() {
        let c = parse("{}").unwrap();
        assert_eq!(c.retention, Duration::from_secs(15 * 86400));
        let e = parse("storage: {retention: 5x}").unwrap_err().to_string();
        assert!(e.contains("storage.retention"), "{e}");
        let e = parse("storage: {retnetion: 1d}").unwrap_err().to_string();
        assert!(e.contains("retnetion"), "{e}");
        let e = parse("storage: {block_duration: 30s}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("storage.block_duration"), "{e}");
        let e = parse("limits: {max_series_per_request: 0}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_series_per_request"), "{e}");
        let e = parse("limits: {write_nice: 25}").unwrap_err().to_string();
        assert!(
            e.contains("limits.write_nice") && e.contains("0..=19"),
            "{e}"
        );
        let e = parse("limits: {write_threads: 0}").unwrap_err().to_string();
        assert!(e.contains("limits.write_threads"), "{e}");
        let w = parse("limits: {write_threads: 3, write_nice: 0}")
            .unwrap()
            .write_pool;
        assert_eq!((w.threads, w.nice), (3, 0));
        assert_eq!(
            parse("storage: {wal_fsync: always}").unwrap().wal_fsync,
            FsyncPolicy::Always
        );
    }
}
