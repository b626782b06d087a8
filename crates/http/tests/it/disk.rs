//! A store that refuses writes (full disk, failed fsync): remote-write and
//! OTLP answer 503 so senders retry, `/-/ready` answers 503 with the reason,
//! and reads keep working.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_http::{Limits, router};
use homeostat_model::{Labels, Timestamp};
use homeostat_promql::EngineOptions;
use homeostat_storage::{
    AppendReport, Appender, Matcher, MemStorage, Querier, SelectRequest, Series, StorageError,
};

use crate::{call, state, ts, write};

const WHY: &str = "storage is read-only: no space left on device in /data/wal";

/// The in-memory store, refusing every write the way the TSDB does when full.
struct Full(Arc<MemStorage>);

impl Appender for Full {
    fn append(&self, _: &[homeostat_model::TimeSeries]) -> Result<AppendReport, StorageError> {
        Err(StorageError::Unavailable(WHY.into()))
    }
    fn writable(&self) -> Result<(), StorageError> {
        Err(StorageError::Unavailable(WHY.into()))
    }
}

impl Querier for Full {
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
        self.0.select(req)
    }
    fn series(
        &self,
        m: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError> {
        self.0.series(m, mint, maxt)
    }
}

#[tokio::test]
async fn a_store_refusing_writes_answers_503_and_is_not_ready() {
    let mem = Arc::new(MemStorage::new());
    mem.append(&[ts("up", 1_000, 1.0)]).unwrap();
    let mut st = state(mem.clone(), Limits::default(), EngineOptions::default());
    st.query.storage = Arc::new(Full(mem));
    let app = router(st);

    let body = homeostat_wire::remote_write::encode(&[ts("up", 2_000, 1.0)]);
    let (status, text) = call(&app, write(body)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("read-only"), "{text}");

    let (status, text) = call(&app, Request::get("/-/ready").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("no space left on device"), "{text}");

    let (status, _) = call(
        &app,
        Request::get("/-/healthy").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "alive, only not taking writes");
    let (status, text) = call(
        &app,
        Request::get("/api/v1/query?query=up&time=1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("\"up\""), "reads work: {text}");
}
