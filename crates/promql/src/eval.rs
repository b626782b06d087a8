use std::time::{Duration, Instant};

use homeostat_model::Timestamp;
use homeostat_storage::Querier;
use promql_parser::parser::Expr;

use crate::{QueryError, QueryOutput};

pub(crate) struct Ctx {
    pub start: Timestamp,
    pub end: Timestamp,
    pub step: i64,
    pub lookback_ms: i64,
    pub max_samples: usize,
    pub deadline: Instant,
    pub timeout: Duration,
    pub subquery_step_ms: i64,
}

pub(crate) fn evaluate(_q: &dyn Querier, _e: &Expr, _ctx: Ctx) -> Result<QueryOutput, QueryError> {
    Err(QueryError::Execution("evaluator not built yet".into()))
}
