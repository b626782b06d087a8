//! Posts alerts to `POST /api/v2/alerts` at a fixed rate, in batches over
//! several connections, cycling through a fixed universe of distinct alerts
//! so that later posts are re-posts (deduplicated by the server). Prints a
//! JSON summary: posts, alerts, distinct alerts and groups expected, errors,
//! achieved rate and per-request latency percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URL of the Alertmanager API.
    #[arg(long)]
    url: String,
    /// Alerts per second, all workers together.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Alerts per POST.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Distinct alerts; the rest of the posts are re-posts.
    #[arg(long, default_value_t = 100_000)]
    unique: usize,
    /// Distinct alert names and jobs (groups: names × jobs at most).
    #[arg(long, default_value_t = 20)]
    names: usize,
    #[arg(long, default_value_t = 50)]
    jobs: usize,
}

fn alert(args: &Args, i: usize) -> serde_json::Value {
    let name = format!("BenchAlert{}", i % args.names);
    let job = format!("job-{}", (i / args.names) % args.jobs);
    let severity = if i.is_multiple_of(10) {
        "page"
    } else {
        "ticket"
    };
    serde_json::json!({
        "labels": {
            "alertname": name, "job": job, "instance": format!("host-{i}:9100"),
            "severity": severity, "env": "bench",
        },
        "annotations": {"summary": format!("alert {i} is firing"), "runbook_url": "https://runbooks/bench"},
        "generatorURL": "http://prometheus/graph?g0.expr=up",
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let url = format!("{}/api/v2/alerts", args.url.trim_end_matches('/'));
    let total_batches = (args.rate * args.seconds) as usize / args.batch;
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    // Each worker sends one batch per `every`, so all together reach `rate`.
    let every =
        Duration::from_secs_f64(args.batch as f64 * args.concurrency as f64 / args.rate as f64);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, next, errors, args) = (
            client.clone(),
            url.clone(),
            next.clone(),
            errors.clone(),
            args.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= total_batches {
                    return lat;
                }
                tick.tick().await;
                let body: Vec<serde_json::Value> = (0..args.batch)
                    .map(|k| alert(&args, (b * args.batch + k) % args.unique))
                    .collect();
                let body = serde_json::to_vec(&body).unwrap_or_default();
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await;
                lat.push(t.elapsed().as_secs_f64());
                match res {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("post failed: {}", r.status());
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("post failed: {e}");
                    }
                }
            }
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let posted = total_batches * args.batch;
    let unique = args.unique.min(posted);
    let mut groups = std::collections::HashSet::new();
    for i in 0..unique {
        groups.insert((i % args.names, (i / args.names) % args.jobs));
    }
    println!(
        "{}",
        serde_json::json!({
            "posts": total_batches, "alerts_posted": posted, "unique_alerts": unique,
            "expected_groups": groups.len(), "errors": errors.load(Ordering::Relaxed),
            "seconds": elapsed, "alerts_per_second": posted as f64 / elapsed,
            "p50_ms": pct(0.50) * 1000.0, "p99_ms": pct(0.99) * 1000.0, "max_ms": pct(1.0) * 1000.0,
        })
    );
    Ok(())
}
