//! Remote-write load generator for `bench/ingest.sh`: a fleet of hosts, each
//! exposing ~100 series (request counters by handler/method/code, CPU seconds
//! by mode, memory and temperature gauges, disk byte counters) sampled every
//! `--interval` over `--hours`, sent in time order. Series are sharded across
//! sender threads so that every series' samples arrive in order. Deterministic
//! for a given `--seed`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use homeostat_model::{Label, Labels, Sample, TimeSeries};

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Remote-write endpoint, e.g. http://127.0.0.1:9797/api/v1/write
    #[arg(long)]
    url: String,
    /// Number of series (rounded down to whole hosts of 100 series).
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// Simulated time span.
    #[arg(long, default_value_t = 2.0)]
    hours: f64,
    /// Sample interval in seconds.
    #[arg(long, default_value_t = 10)]
    interval: i64,
    /// Start time in ms since the epoch; default: now minus the span.
    #[arg(long)]
    start: Option<i64>,
    /// Series per request.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Sender threads.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// xorshift64*: tiny, deterministic, good enough for synthetic telemetry.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

enum Kind {
    /// Integer counter: increments around `rate` per interval.
    Counter { rate: f64 },
    /// Float counter (seconds, bytes): fractional increments.
    FloatCounter { rate: f64 },
    /// Slow random walk around a level.
    Gauge { level: f64, step: f64 },
}

struct SeriesGen {
    labels: Labels,
    kind: Kind,
    value: f64,
    rng: Rng,
}

impl SeriesGen {
    fn next(&mut self) -> f64 {
        match self.kind {
            Kind::Counter { rate } => {
                self.value += (rate * (0.8 + 0.4 * self.rng.unit())).round();
            }
            Kind::FloatCounter { rate } => {
                self.value += rate * (0.9 + 0.2 * self.rng.unit());
            }
            Kind::Gauge { level, step } => {
                self.value += step * (self.rng.unit() - 0.5) + (level - self.value) * 0.01;
                self.value = (self.value * 100.0).round() / 100.0;
            }
        }
        self.value
    }
}

fn labels(pairs: &[(&str, String)]) -> Labels {
    Labels::from_sorted_unchecked({
        let mut v: Vec<Label> = pairs
            .iter()
            .map(|(n, v)| Label::new(*n, v.clone()))
            .collect();
        v.sort();
        v
    })
}

/// The ~100 series of one host.
fn host_series(host: usize, seed: u64) -> Vec<SeriesGen> {
    let region = ["us-east-1", "eu-west-1", "ap-south-1"][host % 3].to_string();
    let base = |name: &str| {
        vec![
            ("__name__", name.to_string()),
            ("job", "node".to_string()),
            ("instance", format!("host-{host:05}:9100")),
            ("region", region.clone()),
            ("az", format!("{region}{}", ["a", "b", "c"][host % 3])),
            (
                "env",
                if host.is_multiple_of(10) {
                    "staging"
                } else {
                    "prod"
                }
                .to_string(),
            ),
            ("team", format!("team-{}", host % 17)),
        ]
    };
    let mut out = Vec::with_capacity(100);
    let mut rng = Rng(seed ^ (host as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut push = |l: Labels, kind: Kind, start: f64, rng: &mut Rng| {
        let r = Rng(rng.next() | 1);
        out.push(SeriesGen {
            labels: l,
            kind,
            value: start,
            rng: r,
        });
    };
    for handler in [
        "/api/orders",
        "/api/users",
        "/api/cart",
        "/api/search",
        "/healthz",
    ] {
        for method in ["GET", "POST"] {
            for code in ["200", "404", "500", "503"] {
                let mut l = base("http_requests_total");
                l.extend([
                    ("handler", handler.into()),
                    ("method", method.into()),
                    ("code", code.into()),
                ]);
                let rate = match code {
                    "200" => 50.0 + 200.0 * rng.unit(),
                    "404" => 2.0 * rng.unit(),
                    _ => 0.3 * rng.unit(),
                };
                let start = (rate * 1000.0 * rng.unit()).round();
                push(labels(&l), Kind::Counter { rate }, start, &mut rng);
            }
        }
    }
    for cpu in 0..4 {
        for mode in [
            "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
        ] {
            let mut l = base("node_cpu_seconds_total");
            l.extend([("cpu", cpu.to_string()), ("mode", mode.into())]);
            let rate = if mode == "idle" {
                7.0
            } else {
                2.0 * rng.unit()
            };
            push(
                labels(&l),
                Kind::FloatCounter { rate },
                1e5 * rng.unit(),
                &mut rng,
            );
        }
    }
    for (name, level) in [
        ("node_memory_MemAvailable_bytes", 8e9),
        ("node_memory_Cached_bytes", 2e9),
        ("node_memory_Buffers_bytes", 3e8),
        ("node_load1", 1.5),
        ("node_load5", 1.2),
        ("node_load15", 1.0),
        ("node_filefd_allocated", 3000.0),
        ("node_sockstat_TCP_inuse", 200.0),
    ] {
        push(
            labels(&base(name)),
            Kind::Gauge {
                level,
                step: level * 0.01,
            },
            level,
            &mut rng,
        );
    }
    for sensor in 0..4 {
        let mut l = base("node_hwmon_temp_celsius");
        l.push(("sensor", format!("temp{sensor}")));
        push(
            labels(&l),
            Kind::Gauge {
                level: 45.0,
                step: 0.5,
            },
            45.0,
            &mut rng,
        );
    }
    for dev in ["sda", "sdb", "nvme0n1", "nvme1n1"] {
        for dir in ["read", "written"] {
            let mut l = base(&format!("node_disk_{dir}_bytes_total"));
            l.push(("device", dev.into()));
            push(
                labels(&l),
                Kind::Counter {
                    rate: 4096.0 * 50.0 * rng.unit(),
                },
                1e9 * rng.unit(),
                &mut rng,
            );
        }
    }
    out
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let hosts = args.series / 100;
    if hosts == 0 {
        bail!("--series must be at least 100");
    }
    let steps = ((args.hours * 3600.0) as i64 / args.interval).max(1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let start = args.start.unwrap_or(now - steps * args.interval * 1000);
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let total_series = hosts * host_series(0, args.seed).len();
    let total = total_series as u64 * steps as u64;
    eprintln!(
        "loadgen: {total_series} series × {steps} steps = {total} samples to {}",
        args.url
    );
    let began = Instant::now();
    let mut threads = Vec::new();
    for shard in 0..args.concurrency.max(1) {
        let args = args.clone();
        let sent = sent.clone();
        let errors = errors.clone();
        threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?;
            let mut gens: Vec<SeriesGen> = (0..hosts)
                .filter(|h| h % args.concurrency.max(1) == shard)
                .flat_map(|h| host_series(h, args.seed))
                .collect();
            for step in 0..steps {
                let t = start + step * args.interval * 1000;
                for chunk in gens.chunks_mut(args.batch.max(1)) {
                    let series: Vec<TimeSeries> = chunk
                        .iter_mut()
                        .map(|g| TimeSeries {
                            labels: g.labels.clone(),
                            samples: vec![Sample::new(t, g.next())],
                        })
                        .collect();
                    let body = homeostat_wire::remote_write::encode(&series);
                    let mut attempt = 0;
                    loop {
                        let resp = client
                            .post(&args.url)
                            .header("Content-Encoding", "snappy")
                            .header("Content-Type", "application/x-protobuf")
                            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                            .body(body.clone())
                            .send();
                        match resp {
                            Ok(r) if r.status().is_success() => break,
                            Ok(r) if r.status().is_server_error() && attempt < 5 => {}
                            Ok(r) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                let status = r.status();
                                if errors.load(Ordering::Relaxed) < 5 {
                                    eprintln!(
                                        "loadgen: HTTP {status}: {}",
                                        r.text().unwrap_or_default().trim()
                                    );
                                }
                                break;
                            }
                            Err(e) if attempt < 5 => eprintln!("loadgen: retrying after {e}"),
                            Err(e) => return Err(e).context("sending"),
                        }
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(200 * attempt));
                    }
                    sent.fetch_add(series.len() as u64, Ordering::Relaxed);
                }
            }
            Ok(())
        }));
    }
    let progress = {
        let sent = sent.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            while last < total {
                std::thread::sleep(Duration::from_secs(2));
                last = sent.load(Ordering::Relaxed);
                eprint!(
                    "\rloadgen: {last}/{total} samples ({:.0}%)   ",
                    100.0 * last as f64 / total as f64
                );
                let _ = std::io::stderr().flush();
            }
            eprintln!();
        })
    };
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("sender thread panicked"))??;
    }
    let secs = began.elapsed().as_secs_f64();
    sent.store(total, Ordering::Relaxed);
    let _ = progress.join();
    println!(
        "{}",
        serde_json::json!({
            "series": total_series, "samples": total, "seconds": secs,
            "samples_per_second": total as f64 / secs, "errors": errors.load(Ordering::Relaxed),
            "start_ms": start, "end_ms": start + (steps - 1) * args.interval * 1000,
        })
    );
    Ok(())
}
