//! Each toxic's effect measured through a live proxy.

use std::time::{Duration, Instant};

use homeostat_faultproxy::{ProxyPatch, ToxicPatch};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use crate::harness::*;

#[tokio::test]
async fn latency_adds_its_delay_to_each_round_trip() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    let mut s = connect(&addr).await;
    let base = median_round_trip(&mut s, 5).await;
    // A live connection gets a toxic added after it opened.
    fp.add_toxic(
        "p",
        toxic("latency", "downstream", 1.0, json!({"latency": 100})),
    )
    .await
    .unwrap();
    let with = median_round_trip(&mut s, 7).await;
    let added = ms(with) - ms(base);
    assert!(
        (95.0..=105.0).contains(&added),
        "latency added {added:.1} ms"
    );
    // Removing it affects the same connection's next data.
    fp.remove_toxic("p", "latency_downstream").await.unwrap();
    let after = median_round_trip(&mut s, 5).await;
    assert!(ms(after) < 20.0, "after removal {:.1} ms", ms(after));
}

#[tokio::test]
async fn jitter_stays_within_its_bounds() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    fp.add_toxic(
        "p",
        toxic(
            "latency",
            "upstream",
            1.0,
            json!({"latency": 60, "jitter": 30}),
        ),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    let mut seen = Vec::new();
    for _ in 0..12 {
        seen.push(ms(round_trip(&mut s).await));
    }
    for v in &seen {
        assert!((29.0..=100.0).contains(v), "round trips {seen:?}");
    }
    let spread = seen.iter().cloned().fold(f64::MIN, f64::max)
        - seen.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 5.0, "jitter should vary the delay: {seen:?}");
}

#[tokio::test]
async fn bandwidth_holds_the_rate() {
    let n = 60_000;
    let (fp, addr) = proxy_to(&source_server(n).await).await;
    fp.add_toxic(
        "p",
        toxic("bandwidth", "downstream", 1.0, json!({"rate": 200})),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    let t = Instant::now();
    let (got, _) = read_to_end(&mut s).await;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(got.len(), n);
    let rate = n as f64 / 1000.0 / secs;
    assert!((170.0..=230.0).contains(&rate), "rate {rate:.1} KB/s");
}

#[tokio::test]
async fn slicer_splits_data_into_small_chunks() {
    let (fp, addr) = proxy_to(&source_server(2000).await).await;
    fp.add_toxic(
        "p",
        toxic(
            "slicer",
            "downstream",
            1.0,
            json!({"average_size": 100, "size_variation": 20, "delay": 2000}),
        ),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        reads.push(n);
    }
    assert_eq!(reads.iter().sum::<usize>(), 2000);
    assert!(reads.len() >= 10, "reads {reads:?}");
    assert!(reads.iter().all(|&n| n <= 120), "reads {reads:?}");
}

#[tokio::test]
async fn limit_data_closes_after_exactly_n_bytes() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    // As an experiment's action gives it: Toxiproxy's JSON.
    fp.add_toxic_json(
        "p",
        json!({"type": "limit_data", "attributes": {"bytes": 100}}),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    for _ in 0..10 {
        if s.write_all(&[1u8; 30]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (got, _) = timeout(Duration::from_secs(2), read_to_end(&mut s))
        .await
        .unwrap();
    assert_eq!(got.len(), 100);
}

#[tokio::test]
async fn timeout_drops_data_then_closes() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    fp.add_toxic(
        "p",
        toxic("timeout", "downstream", 1.0, json!({"timeout": 200})),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    let t = Instant::now();
    s.write_all(b"hello").await.unwrap();
    let (got, _) = timeout(Duration::from_secs(2), read_to_end(&mut s))
        .await
        .unwrap();
    let took = ms(t.elapsed());
    assert!(got.is_empty());
    assert!((190.0..=400.0).contains(&took), "closed after {took:.1} ms");
}

#[tokio::test]
async fn timeout_zero_holds_until_removed() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    fp.add_toxic(
        "p",
        toxic("timeout", "downstream", 1.0, json!({"timeout": 0})),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    s.write_all(b"dropped").await.unwrap();
    let mut buf = [0u8; 16];
    assert!(
        timeout(Duration::from_millis(300), s.read(&mut buf))
            .await
            .is_err(),
        "held: no data, no close"
    );
    fp.remove_toxic("p", "timeout_downstream").await.unwrap();
    let rt = timeout(Duration::from_secs(1), round_trip(&mut s))
        .await
        .unwrap();
    assert!(ms(rt) < 50.0);
}

#[tokio::test]
async fn reset_peer_gives_connection_reset() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    fp.add_toxic(
        "p",
        toxic("reset_peer", "downstream", 1.0, json!({"timeout": 100})),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    let t = Instant::now();
    let _ = s.write_all(b"x").await;
    let (_, end) = timeout(Duration::from_secs(2), read_to_end(&mut s))
        .await
        .unwrap();
    let err = end.expect_err("a reset, not a clean close");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    assert!(ms(t.elapsed()) >= 90.0);
}

#[tokio::test]
async fn slow_close_delays_the_close() {
    let (fp, addr) = proxy_to(&source_server(5).await).await;
    let mut plain = connect(&addr).await;
    let t = Instant::now();
    let _ = read_to_end(&mut plain).await;
    let base = ms(t.elapsed());
    fp.add_toxic(
        "p",
        toxic("slow_close", "downstream", 1.0, json!({"delay": 250})),
    )
    .await
    .unwrap();
    let mut s = connect(&addr).await;
    let t = Instant::now();
    let (got, _) = read_to_end(&mut s).await;
    let took = ms(t.elapsed());
    assert_eq!(got.len(), 5);
    assert!(
        base < 50.0 && (245.0..=400.0).contains(&took),
        "plain {base:.1} ms, slow_close {took:.1} ms"
    );
}

#[tokio::test]
async fn toxicity_zero_never_applies() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    fp.add_toxic(
        "p",
        toxic("latency", "downstream", 0.0, json!({"latency": 300})),
    )
    .await
    .unwrap();
    for _ in 0..5 {
        let mut s = connect(&addr).await;
        assert!(ms(round_trip(&mut s).await) < 50.0);
    }
    // Raising toxicity on update is drawn again, also for a live connection.
    let mut s = connect(&addr).await;
    fp.update_toxic(
        "p",
        "latency_downstream",
        ToxicPatch {
            toxicity: Some(1.0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(ms(round_trip(&mut s).await) >= 295.0);
}

#[tokio::test]
async fn disabling_closes_live_connections_and_enabling_reopens_the_port() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    let mut s = connect(&addr).await;
    round_trip(&mut s).await;
    let v = fp.set_enabled("p", false).await.unwrap();
    assert!(!v.enabled);
    let (_, _) = timeout(Duration::from_secs(1), read_to_end(&mut s))
        .await
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "listener closed"
    );
    let v = fp
        .update(
            "p",
            ProxyPatch {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.listen, addr, "the same real port again");
    let mut s = connect(&addr).await;
    round_trip(&mut s).await;
    let stats = fp.stats();
    assert_eq!(stats[0].connections_total, 2);
    assert!(stats[0].bytes_upstream >= 32 && stats[0].bytes_downstream >= 32);
}

/// Writes the latency accuracy table for the closing note:
/// `cargo test --profile ci -p homeostat-faultproxy --test it -- --ignored accuracy`
#[tokio::test]
#[ignore]
async fn accuracy_table() {
    let (fp, addr) = proxy_to(&echo_server().await).await;
    let mut s = connect(&addr).await;
    let rounds = 50;
    let base = median_round_trip(&mut s, rounds).await;
    let mut rows = vec![format!("| no toxic | - | {:.2} | - | - | - |", ms(base))];
    for latency in [10u64, 50, 100, 250] {
        fp.add_toxic(
            "p",
            toxic("latency", "downstream", 1.0, json!({"latency": latency})),
        )
        .await
        .unwrap();
        let mut v = Vec::new();
        for _ in 0..rounds {
            v.push(ms(round_trip(&mut s).await) - ms(base));
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let (med, p5, p95) = (v[rounds / 2], v[rounds * 5 / 100], v[rounds * 95 / 100]);
        rows.push(format!(
            "| latency | {latency} | {:.2} | {med:.2} | {p5:.2} / {p95:.2} | {:+.2} |",
            ms(base) + med,
            med - latency as f64
        ));
        fp.remove_toxic("p", "latency_downstream").await.unwrap();
    }
    let n = 400_000;
    let (fp2, addr2) = proxy_to(&source_server(n).await).await;
    let mut bw = Vec::new();
    for rate in [100u64, 500, 2000] {
        fp2.add_toxic(
            "p",
            toxic("bandwidth", "downstream", 1.0, json!({"rate": rate})),
        )
        .await
        .unwrap();
        let bytes = (rate as usize * 1000 / 2).min(n);
        let mut c = connect(&addr2).await;
        let t = Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < bytes {
            let k = c.read(&mut buf).await.unwrap();
            if k == 0 {
                break;
            }
            got += k;
        }
        let measured = got as f64 / 1000.0 / t.elapsed().as_secs_f64();
        bw.push(format!(
            "| bandwidth | {rate} KB/s | {measured:.1} KB/s | {:+.1}% |",
            (measured / rate as f64 - 1.0) * 100.0
        ));
        fp2.remove_toxic("p", "bandwidth_downstream").await.unwrap();
    }
    let text = format!(
        "# Fault proxy toxic accuracy (2026-12-07)\n\n\
         Measured on loopback by `cargo test --profile ci -p homeostat-faultproxy --test it -- --ignored accuracy_table`\n\
         (ci profile, 2-core machine shared with other builds): a 16-byte echo round trip through the proxy,\n\
         {rounds} round trips per row, one connection; the toxic is added to the live connection.\n\n\
         | toxic | latency (ms) | median round trip (ms) | median added (ms) | p5 / p95 added (ms) | error of median (ms) |\n\
         | --- | --- | --- | --- | --- | --- |\n{}\n\n\
         | toxic | rate asked | measured | error |\n| --- | --- | --- | --- |\n{}\n",
        rows.join("\n"),
        bw.join("\n")
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/results/toxics-accuracy-2026-12-07.md"
    );
    std::fs::write(path, &text).unwrap();
    println!("{text}");
}
