//! The embedded time-series store: recent samples live in an in-memory head
//! (sharded series map, postings index, compressed chunks) made durable by a
//! write-ahead log; older data is cut into immutable on-disk blocks that are
//! compacted and deleted after the retention period. [`Tsdb`] implements the
//! `homeostat_storage` [`Appender`](homeostat_storage::Appender) and
//! [`Querier`](homeostat_storage::Querier) traits.

mod db;
mod error;
mod head;
mod options;
mod stats;
mod wal;

pub use db::Tsdb;
pub use error::TsdbError;
pub use options::{FsyncPolicy, TsdbOptions};
pub use stats::TsdbStats;
