use std::time::{Duration, Instant};

use homeostat_model::Timestamp;
use homeostat_storage::Querier;

use crate::{QueryError, QueryOutput};

/// Engine-wide settings; each query may tighten them with [`QueryParams`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta: Duration,
    /// Most samples a single query may load from storage.
    pub max_samples: usize,
    /// Wall-clock budget of one query.
    pub timeout: Duration,
    /// Most points per series a range query may return (Prometheus: 11,000).
    pub max_points_per_series: usize,
    /// Step of subqueries written without one (`foo[1h:]`).
    pub default_subquery_step: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            max_points_per_series: 11_000,
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// Per-query overrides (e.g. the HTTP API's `timeout` and `lookback_delta`).
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pub lookback_delta: Option<Duration>,
    pub timeout: Option<Duration>,
}

/// A PromQL engine. Cheap to clone; holds no per-query state.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Self { opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Parses an expression; the error reads like Prometheus's,
    /// `<line>:<column>: parse error: <message>`.
    pub fn parse(expr: &str) -> Result<promql_parser::parser::Expr, QueryError> {
        crate::syntax::parse(expr).map_err(|e| QueryError::BadData(e.to_string()))
    }

    /// Evaluates `expr` at one instant (milliseconds since the epoch).
    pub fn instant_query(
        &self,
        querier: &dyn Querier,
        expr: &str,
        t: Timestamp,
        params: &QueryParams,
    ) -> Result<QueryOutput, QueryError> {
        self.run(querier, expr, t, t, 0, params)
    }

    /// The first value of an instant query with default parameters, `None`
    /// on an error, without data or when it is not finite: what budget and
    /// impact arithmetic needs from a ratio query.
    pub fn instant_scalar(&self, querier: &dyn Querier, expr: &str, t: Timestamp) -> Option<f64> {
        let out = self
            .instant_query(querier, expr, t, &QueryParams::default())
            .ok()?;
        let v = match out.value {
            crate::Value::Scalar { v, .. } => v,
            crate::Value::Vector(v) => v.first()?.v,
            _ => return None,
        };
        v.is_finite().then_some(v)
    }

    /// Evaluates `expr` at every `step` from `start` to `end` inclusive; the
    /// result is always a matrix (or a parse/type error).
    pub fn range_query(
        &self,
        querier: &dyn Querier,
        expr: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
        params: &QueryParams,
    ) -> Result<QueryOutput, QueryError> {
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        if step_ms <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return Err(QueryError::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        let points = (end - start) / step_ms + 1;
        if points > self.opts.max_points_per_series as i64 {
            return Err(QueryError::BadData(format!(
                "exceeded maximum resolution of {} points per timeseries (limit max_points_per_series). Try decreasing the query resolution (?step=XX)",
                self.opts.max_points_per_series
            )));
        }
        self.run(querier, expr, start, end, step_ms, params)
    }

    fn run(
        &self,
        querier: &dyn Querier,
        expr: &str,
        start: Timestamp,
        end: Timestamp,
        step: i64,
        params: &QueryParams,
    ) -> Result<QueryOutput, QueryError> {
        let parsed = Self::parse(expr)?;
        let timeout = params
            .timeout
            .unwrap_or(self.opts.timeout)
            .min(self.opts.timeout);
        let lookback = params.lookback_delta.unwrap_or(self.opts.lookback_delta);
        let deadline = Instant::now() + timeout;
        crate::eval::evaluate(
            querier,
            &parsed,
            crate::eval::Ctx {
                start,
                end,
                step,
                lookback_ms: i64::try_from(lookback.as_millis()).unwrap_or(i64::MAX),
                max_samples: self.opts.max_samples,
                deadline,
                timeout,
                subquery_step_ms: i64::try_from(self.opts.default_subquery_step.as_millis())
                    .unwrap_or(60_000),
            },
        )
    }
}
