//! An instant query on the server's engine, run off the async threads, for
//! the loops that read a vector's labels (zone balancing, Chaos Monkey
//! group members).

use std::sync::Arc;

use homeostat_promql::{Engine, InstantSample, QueryParams, Value};
use homeostat_storage::Querier;

/// The samples of `query` at `at`; an answer that is not an instant vector
/// is an error naming the query.
pub async fn instant_vector(
    engine: Engine,
    querier: Arc<dyn Querier>,
    query: String,
    at: i64,
) -> Result<Vec<InstantSample>, String> {
    tokio::task::spawn_blocking(move || {
        let out = engine
            .instant_query(querier.as_ref(), &query, at, &QueryParams::default())
            .map_err(|e| format!("query {query:?}: {e}"))?;
        match out.value {
            Value::Vector(samples) => Ok(samples),
            _ => Err(format!("{query} is not an instant vector")),
        }
    })
    .await
    .map_err(|e| e.to_string())?
}
