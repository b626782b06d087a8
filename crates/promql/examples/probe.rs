//! Times a few dashboard queries over a synthetic in-process store, to spot
//! evaluator hot spots (`cargo run --release -p homeostat-promql --example probe`).
//! The side-by-side comparison with Prometheus is `bench/query.sh`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use homeostat_model::{FakeClock, Labels, Sample, TimeSeries};
use homeostat_promql::{Engine, QueryParams};
use homeostat_storage::Appender;
use homeostat_tsdb::{Tsdb, TsdbOptions};

fn main() {
    let series: usize = std::env::var("SERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let hours: i64 = 2;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(0));
    let db = Tsdb::open(
        TsdbOptions {
            dir: dir.path().to_path_buf(),
            ..Default::default()
        },
        clock,
    )
    .unwrap();
    let step = 10_000;
    let points = hours * 3_600_000 / step;
    let t0 = Instant::now();
    for chunk in 0..points / 30 {
        let batch: Vec<TimeSeries> = (0..series)
            .map(|i| {
                let labels = Labels::from_pairs(&[
                    (
                        "__name__",
                        if i % 10 == 0 {
                            "req_bucket"
                        } else {
                            "req_total"
                        },
                    ),
                    ("instance", &format!("host-{}", i / 50)),
                    ("handler", &format!("/h{}", i % 5)),
                    ("le", ["0.1", "0.5", "1", "5", "+Inf"][i % 5]),
                    ("i", &i.to_string()),
                ]);
                let samples = (chunk * 30..chunk * 30 + 30)
                    .map(|p| Sample::new(p * step, (p * (1 + i as i64 % 7)) as f64))
                    .collect();
                TimeSeries { labels, samples }
            })
            .collect();
        db.append(&batch).unwrap();
    }
    println!(
        "loaded {} samples in {:?}",
        series as i64 * points,
        t0.elapsed()
    );
    {
        use homeostat_storage::{Matcher, Querier, SelectRequest};
        let t = Instant::now();
        let r = db
            .select(&SelectRequest::new(
                vec![Matcher::equal("__name__", "req_total")],
                hours * 3_600_000 - 3_900_000,
                hours * 3_600_000,
            ))
            .unwrap();
        println!("select alone: {:?} ({} series)", t.elapsed(), r.len());
    }
    let engine = Engine::default();
    let end = hours * 3_600_000 - 1;
    let start = end - 3_600_000;
    for q in [
        "sum by (handler) (rate(req_total[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(req_bucket[5m])))",
        "topk(10, sum by (instance) (rate(req_total[5m])))",
        "avg_over_time(req_total[1h])",
    ] {
        if let Ok(f) = std::env::var("QUERY")
            && !q.contains(&f)
        {
            continue;
        }
        let reps: usize = std::env::var("REPS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        for _ in 1..reps {
            engine
                .range_query(
                    &db,
                    q,
                    start,
                    end,
                    Duration::from_secs(15),
                    &QueryParams::default(),
                )
                .unwrap();
        }
        let t = Instant::now();
        let out = engine
            .range_query(
                &db,
                q,
                start,
                end,
                Duration::from_secs(15),
                &QueryParams::default(),
            )
            .unwrap();
        println!(
            "{:>8.1} ms  {} samples  {q}",
            t.elapsed().as_secs_f64() * 1e3,
            out.samples_loaded
        );
    }
}
