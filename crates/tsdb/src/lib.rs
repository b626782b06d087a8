//! The embedded time-series store: a write-ahead log and an in-memory head
//! of Gorilla-compressed chunks, cut periodically into immutable on-disk
//! blocks with a postings index, compacted into larger blocks and deleted
//! past retention. It implements the `homeostat-storage` traits.
//!
//! Durability: an append returns after its samples reached the WAL with
//! `write(2)`; see `docs/adr/0001-wal-durability.md` for the fsync policy.

mod append;
pub mod block;
mod blockset;
pub mod chunk;
mod compact;
mod db;
mod error;
pub mod faults;
mod head;
mod health;
mod maintenance;
mod options;
mod stats;
pub mod varint;
pub mod wal;

pub use compact::compact;
pub use db::Tsdb;
pub use error::TsdbError;
pub use faults::{FaultPoint, Faults};
pub use health::{WriteHealth, WriteState};
pub use maintenance::plan;
pub use options::{FsyncPolicy, TsdbOptions};
pub use stats::TsdbStats;
