//! The PromQL evaluator. It parses with `promql-parser` and evaluates the
//! syntax tree over any [`homeostat_storage::Querier`] — the embedded store or
//! a remote Prometheus-compatible server — with Prometheus 3.x semantics.
//!
//! Evaluation is dense over the query's steps: every node produces, for each
//! series, one optional value per step, so selectors are read once per query
//! and range functions slide a window over each series' samples.

mod engine;
mod error;
mod eval;
mod mathx;
mod position;
mod syntax;
mod value;

pub use engine::{Engine, EngineOptions, QueryParams};
pub use error::QueryError;
pub use mathx::format_value;
pub use syntax::{MAX_NESTING, ParseError, parse};
pub use value::{Annotations, InstantSample, QueryOutput, RangeSeries, Value};
