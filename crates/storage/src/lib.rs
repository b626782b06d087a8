//! The storage contract every backend implements and every engine is written
//! against: [`Appender`] for ingestion, [`Querier`] for reads, [`Matcher`] for
//! series selection, and [`MemStorage`], a simple in-memory implementation
//! for engine tests.
//!
//! The traits are synchronous. Backends do bounded work per call; async
//! callers run them on `tokio::task::spawn_blocking`.

mod error;
mod matcher;
mod mem;
mod traits;

pub use error::StorageError;
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use mem::MemStorage;
pub use traits::{AppendReport, Appender, Querier, RejectReason, SelectRequest, Series, Storage};
