//! Rough throughput and memory numbers; run with
//! `cargo test -p homeostat-tsdb --release --test it measure -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::Instant;

use homeostat_model::{FakeClock, Label, Labels, Sample, TimeSeries};
use homeostat_storage::Appender;

use crate::support::open;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn labels(worker: usize, i: usize) -> Labels {
    let mut l = vec![
        Label::new("__name__", format!("metric_{}", i % 50)),
        Label::new("instance", format!("host-{}:9100", i / 50)),
        Label::new("worker", worker.to_string()),
    ];
    for k in 0..7 {
        l.push(Label::new(
            format!("label_{k}"),
            format!("value_{}", (i + k) % 10),
        ));
    }
    Labels::new(l).unwrap()
}

#[test]
#[ignore]
fn measure_appends_per_second_and_head_bytes_per_series() {
    const SERIES: usize = 10_000;
    // 2h at 10s by default; MEASURE_SAMPLES=1 isolates the per-series overhead.
    let samples: i64 = std::env::var("MEASURE_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(720);
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(open(dir.path(), &FakeClock::new(0)));
    // Build the request data first so that only the store's growth is measured.
    let threads: usize = std::env::var("MEASURE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let inputs: Vec<Vec<TimeSeries>> = (0..threads)
        .map(|w| {
            (0..SERIES / threads)
                .map(|i| TimeSeries {
                    labels: labels(w, i),
                    samples: Vec::with_capacity(1),
                })
                .collect()
        })
        .collect();
    let base = rss_bytes();
    let started = Instant::now();
    let workers: Vec<_> = inputs
        .into_iter()
        .enumerate()
        .map(|(w, mut series)| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut seed = 0x9e37_79b9_u64 + w as u64;
                for round in 0..samples {
                    for (i, s) in series.iter_mut().enumerate() {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        // Half counters with a jittery rate, half gauges that
                        // move by small steps (both typical of node metrics).
                        let v = if i % 2 == 0 {
                            (round * 10 + (seed >> 61) as i64) as f64
                        } else {
                            50.0 + ((round + (seed >> 62) as i64) % 20) as f64 * 0.5
                        };
                        s.samples.clear();
                        s.samples.push(Sample::new(round * 10_000, v));
                    }
                    for chunk in series.chunks(500) {
                        db.append(chunk).unwrap();
                    }
                }
                series
            })
        })
        .collect();
    let inputs: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let secs = started.elapsed().as_secs_f64();
    let total = SERIES as f64 * samples as f64;
    let grown = rss_bytes().saturating_sub(base);
    let stats = db.stats();
    println!(
        "appended {total} samples in {secs:.2}s: {:.0} samples/s ({threads} threads, batches of 500 series); \
         head {} series, rss growth {} bytes = {} bytes/series; wal {} bytes",
        total / secs,
        stats.head_series,
        grown,
        grown / SERIES as u64,
        stats.wal_bytes
    );
    assert_eq!(stats.samples_appended_total, total as u64);
    drop(inputs);
}
