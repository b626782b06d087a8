//! The persisted block format: a block checked in under `tests/fixtures/block-v2`
//! must keep opening with the same content, and writing the same input must
//! keep producing the same `index` and `chunks` bytes. A deliberate format
//! change regenerates the fixture with `UPDATE_FIXTURES=1` (and bumps the
//! format version when old blocks can no longer be read).

use std::fs;
use std::path::{Path, PathBuf};

use homeostat_model::{Labels, Sample, TimeSeries, stale_nan};
use homeostat_storage::{MatchOp, Matcher, SelectRequest};
use homeostat_tsdb::TsdbError;
use homeostat_tsdb::block::{Block, write_block};

const FILES: [&str; 3] = ["meta.json", "index", "chunks"];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/block-v2")
}

/// Deterministic input covering counters, gauges and special float values.
fn fixture_series() -> Vec<TimeSeries> {
    let mut out = Vec::new();
    for (i, job) in ["api", "db", "web"].iter().enumerate() {
        let mut counter = 0.0;
        let samples = (0..300i64)
            .map(|k| {
                counter += ((k * 7 + i as i64) % 13) as f64;
                Sample::new(1_700_000_000_000 + k * 10_000 + (k * 31 % 7), counter)
            })
            .collect();
        out.push(TimeSeries {
            labels: Labels::from_pairs(&[
                ("__name__", "http_requests_total"),
                ("job", job),
                ("instance", &format!("10.0.0.{i}:9100")),
            ]),
            samples,
        });
    }
    let specials = [
        0.5,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        stale_nan(),
        1e-300,
    ];
    out.push(TimeSeries {
        labels: Labels::from_pairs(&[("__name__", "temperature_celsius"), ("room", "lab")]),
        samples: (0..200i64)
            .map(|k| {
                let v = if k % 40 == 39 {
                    specials[(k / 40) as usize % specials.len()]
                } else {
                    20.0 + (k as f64 / 10.0).sin()
                };
                Sample::new(1_700_000_000_000 + k * 15_000, v)
            })
            .collect(),
    });
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}

fn write_fixture_block(parent: &Path) -> PathBuf {
    let meta = write_block(
        parent,
        1_700_000_000_000,
        1_700_007_200_000,
        1,
        vec![],
        fixture_series().into_iter(),
    )
    .unwrap();
    parent.join(meta.id)
}

#[test]
fn checked_in_block_still_opens_with_same_content() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = write_fixture_block(tmp.path());
    let fixture = fixture_dir();
    if std::env::var_os("UPDATE_FIXTURES").is_some_and(|v| v == "1") {
        fs::create_dir_all(&fixture).unwrap();
        for f in FILES {
            fs::copy(fresh.join(f), fixture.join(f)).unwrap();
        }
    }
    let b = Block::open(&fixture).expect("fixture block opens; regenerate with UPDATE_FIXTURES=1 only for a deliberate format change");
    assert_eq!(b.meta().version, 2);
    let want = fixture_series();
    let got = b
        .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
        .unwrap();
    assert_eq!(got, want);
    let m = Matcher::new(MatchOp::RegexMatch, "job", "api|web").unwrap();
    assert_eq!(b.series(&[m], i64::MIN, i64::MAX).unwrap().len(), 2);
    for f in ["index", "chunks"] {
        assert!(
            fs::read(fresh.join(f)).unwrap() == fs::read(fixture.join(f)).unwrap(),
            "the block writer's {f} bytes changed: if deliberate, bump the format version when needed and regenerate with UPDATE_FIXTURES=1"
        );
    }
}

/// Version 1 blocks (14-bit first delta-of-delta bucket, fixed-width index)
/// are refused by name rather than misread.
#[test]
fn version_1_block_is_refused_cleanly() {
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/block-v1");
    match Block::open(&v1) {
        Err(TsdbError::Corrupt { path, detail, .. }) => {
            assert!(path.ends_with("meta.json"), "{path}");
            assert!(detail.contains("version 1"), "{detail}");
        }
        other => panic!("expected a corrupt-block error, got {other:?}"),
    }
}

/// Bytes per sample of a whole block (chunks + index + meta) on realistic
/// scrape data. Run with
/// `cargo test -p homeostat-tsdb --test it block_bytes_per_sample -- --ignored --nocapture`;
/// `BLOCK_MEASURE_SERIES` sets the series count (default 10000, 720 samples each),
/// `BLOCK_MEASURE_JITTER_MS` the random timestamp jitter (default 0) and
/// `BLOCK_MEASURE_KIND` the data: `counter` (random increments of 0-19 per
/// scrape), `gauge` (a quarter-step move on one scrape in four) or `mixed`
/// (half each, the default).
#[test]
#[ignore]
fn block_bytes_per_sample() {
    let n: usize = std::env::var("BLOCK_MEASURE_SERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let jitter: u64 = std::env::var("BLOCK_MEASURE_JITTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kind = std::env::var("BLOCK_MEASURE_KIND").unwrap_or_else(|_| "mixed".to_string());
    let points = 720i64;
    let t0 = 1_700_000_000_000i64;
    let mut series: Vec<TimeSeries> = (0..n)
        .map(|i| {
            let mut rng = (i as u64)
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut next = move || {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                rng >> 33
            };
            let counter = match kind.as_str() {
                "counter" => true,
                "gauge" => false,
                _ => i % 2 == 0,
            };
            let mut v = if counter { 0.0 } else { 50.0 };
            let samples = (0..points)
                .map(|k| {
                    // Optional scrape jitter of a few milliseconds around a 10 s interval.
                    let t = t0 + k * 10_000 + (next() % (jitter + 1)) as i64;
                    if counter {
                        v += (next() % 20) as f64;
                    } else if next() % 4 == 0 {
                        v += ((next() % 11) as f64 - 5.0) * 0.25;
                    }
                    Sample::new(t, v)
                })
                .collect();
            TimeSeries {
                labels: Labels::from_pairs(&[
                    (
                        "__name__",
                        if counter {
                            "node_requests_total"
                        } else {
                            "node_load"
                        },
                    ),
                    ("instance", &format!("host-{}:9100", i / 20)),
                    ("job", "node"),
                    ("cpu", &(i % 20).to_string()),
                ]),
                samples,
            }
        })
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    let tmp = tempfile::tempdir().unwrap();
    let meta = write_block(
        tmp.path(),
        t0,
        t0 + points * 10_000,
        1,
        vec![],
        series.into_iter(),
    )
    .unwrap();
    let dir = tmp.path().join(&meta.id);
    let size = |f: &str| fs::metadata(dir.join(f)).unwrap().len();
    let samples = meta.num_samples as f64;
    println!(
        "kind={kind} series={n} jitter={jitter}ms samples={} chunks={} bytes: chunks={} ({:.3}/sample) index={} ({:.3}/sample, {:.1}/series) total={:.3}/sample",
        meta.num_samples,
        meta.num_chunks,
        size("chunks"),
        size("chunks") as f64 / samples,
        size("index"),
        size("index") as f64 / samples,
        size("index") as f64 / n as f64,
        Block::open(&dir).unwrap().size_bytes() as f64 / samples,
    );
}
