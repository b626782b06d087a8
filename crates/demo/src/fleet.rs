//! The simulated fleet: a few services with declared dependencies, each
//! serving a diurnal request rate, counting requests by status code
//! (`http_requests_total{job, instance, code}`) and observing their latency
//! in a classic histogram (`http_request_duration_seconds_bucket{le}`,
//! `_sum`, `_count`, also by `code`) — the label convention the `services:`
//! golden signals call `prometheus`.
//!
//! Counts are expected values accumulated as floats and written rounded
//! down, so counters only grow and buckets stay cumulative; a seeded
//! generator adds a little noise to the rate so charts do not look drawn
//! with a ruler.

use homeostat_model::{Labels, Sample, TimeSeries};

const DAY_MS: f64 = 86_400_000.0;
/// Bucket boundaries (seconds) of every latency histogram.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Status codes each service answers with.
const CODES: [&str; 3] = ["200", "404", "500"];

/// What a service is, independent of time.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceModel {
    pub name: &'static str,
    /// Services it calls on every request; their latency adds to its own.
    pub depends_on: Vec<&'static str>,
    /// Requests per second at the daily mean.
    pub base_rps: f64,
    /// Median latency of its own work, seconds (dependencies come on top).
    pub own_latency_s: f64,
    /// Share of requests answered 404 (client errors, not failures).
    pub not_found_ratio: f64,
    /// Share of requests answered 500 by a good version.
    pub error_ratio: f64,
}

/// The demo's fleet: `frontend` → `checkout` → `payments`, and `catalog`.
pub fn default_services() -> Vec<ServiceModel> {
    let svc = |name, depends_on: Vec<&'static str>, base_rps, own_latency_s| ServiceModel {
        name,
        depends_on,
        base_rps,
        own_latency_s,
        not_found_ratio: 0.004,
        error_ratio: 0.0002,
    };
    vec![
        svc("frontend", vec!["checkout", "catalog"], 120.0, 0.030),
        svc("checkout", vec!["payments"], 25.0, 0.060),
        svc("payments", vec![], 20.0, 0.045),
        svc("catalog", vec![], 90.0, 0.012),
    ]
}

/// How a bad version behaves.
const BAD_ERROR_RATIO: f64 = 0.30;
const BAD_LATENCY_FACTOR: f64 = 3.0;
/// Daily swing of the request rate around its mean (±35 %).
const DIURNAL_AMPLITUDE: f64 = 0.35;
/// Spread of the log-normal latency distribution.
const LATENCY_SIGMA: f64 = 0.55;

#[derive(Debug, Clone)]
struct Running {
    model: ServiceModel,
    version: String,
    /// The version a rollback returns to.
    previous: String,
    bad: bool,
    /// Per code: requests, latency sum, and cumulative bucket counts.
    requests: [f64; 3],
    latency_sum: [f64; 3],
    buckets: [[f64; BUCKETS.len()]; 3],
}

/// The fleet's state: counters so far, the versions running.
#[derive(Debug, Clone)]
pub struct Fleet {
    services: Vec<Running>,
    /// The instant of the daily peak (any day; the curve repeats daily).
    peak_at_ms: i64,
    last_ms: Option<i64>,
    rng: u64,
}

impl Fleet {
    /// A fleet whose traffic peaks every day at `peak_at_ms`'s time of day,
    /// all services running `v1.0.0`.
    pub fn new(services: Vec<ServiceModel>, peak_at_ms: i64, seed: u64) -> Self {
        Fleet {
            services: services
                .into_iter()
                .map(|model| Running {
                    model,
                    version: "v1.0.0".into(),
                    previous: "v1.0.0".into(),
                    bad: false,
                    requests: [0.0; 3],
                    latency_sum: [0.0; 3],
                    buckets: [[0.0; BUCKETS.len()]; 3],
                })
                .collect(),
            peak_at_ms,
            last_ms: None,
            rng: seed | 1,
        }
    }

    pub fn service_names(&self) -> Vec<&'static str> {
        self.services.iter().map(|s| s.model.name).collect()
    }

    pub fn depends_on(&self, service: &str) -> Vec<&'static str> {
        self.get(service)
            .map(|s| s.model.depends_on.clone())
            .unwrap_or_default()
    }

    pub fn version(&self, service: &str) -> Option<&str> {
        self.get(service).map(|s| s.version.as_str())
    }

    fn get(&self, service: &str) -> Option<&Running> {
        self.services.iter().find(|s| s.model.name == service)
    }

    /// Runs `version` on `service`; `bad` makes it fail and slow down.
    /// Returns false for an unknown service.
    pub fn deploy(&mut self, service: &str, version: &str, bad: bool) -> bool {
        let Some(s) = self.services.iter_mut().find(|s| s.model.name == service) else {
            return false;
        };
        s.previous = std::mem::replace(&mut s.version, version.to_string());
        s.bad = bad;
        true
    }

    /// Returns `service` to the version before its last deploy, which is
    /// good. Returns the version now running.
    pub fn rollback(&mut self, service: &str) -> Option<String> {
        let s = self.services.iter_mut().find(|s| s.model.name == service)?;
        s.version = s.previous.clone();
        s.bad = false;
        Some(s.version.clone())
    }

    /// Requests per second of `model` at `t_ms`, before noise.
    pub fn rate(&self, model: &ServiceModel, t_ms: i64) -> f64 {
        let phase = ((t_ms - self.peak_at_ms) as f64 / DAY_MS) * std::f64::consts::TAU;
        model.base_rps * (1.0 + DIURNAL_AMPLITUDE * phase.cos())
    }

    /// Median latency of a service's successful requests: its own work
    /// (slower when bad) plus that of everything it calls.
    fn median_latency(&self, name: &str, depth: usize) -> f64 {
        let Some(s) = self.get(name) else {
            return 0.0;
        };
        let own = s.model.own_latency_s * if s.bad { BAD_LATENCY_FACTOR } else { 1.0 };
        if depth > 8 {
            return own;
        }
        own + s
            .model
            .depends_on
            .iter()
            .map(|d| self.median_latency(d, depth + 1))
            .sum::<f64>()
    }

    fn noise(&mut self) -> f64 {
        // xorshift64*: a few percent of jitter, reproducible from the seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (x as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// Advances the fleet to `t_ms` and returns every series' value then.
    /// The first call only sets the starting point (counters at zero).
    /// An instant not after the last one adds nothing.
    pub fn step(&mut self, t_ms: i64) -> Vec<TimeSeries> {
        let dt = match self.last_ms {
            Some(last) if t_ms > last => (t_ms - last) as f64 / 1000.0,
            Some(_) => 0.0,
            None => 0.0,
        };
        self.last_ms = Some(self.last_ms.map_or(t_ms, |l| l.max(t_ms)));
        for i in 0..self.services.len() {
            let model = self.services[i].model.clone();
            let requests = self.rate(&model, t_ms) * dt * (1.0 + 0.04 * self.noise());
            let median = self.median_latency(model.name, 0);
            let s = &mut self.services[i];
            let errors = if s.bad {
                BAD_ERROR_RATIO
            } else {
                model.error_ratio
            };
            let shares = [
                1.0 - errors - model.not_found_ratio,
                model.not_found_ratio,
                errors,
            ];
            // 404s and failures answer early: a fraction of the full work.
            let medians = [median, median * 0.3, median * 0.5];
            for c in 0..CODES.len() {
                let n = requests * shares[c];
                s.requests[c] += n;
                s.latency_sum[c] += n * medians[c] * (LATENCY_SIGMA * LATENCY_SIGMA / 2.0).exp();
                for (b, le) in BUCKETS.iter().enumerate() {
                    s.buckets[c][b] += n * lognormal_cdf(*le, medians[c], LATENCY_SIGMA);
                }
            }
        }
        self.series(t_ms)
    }

    fn series(&self, t_ms: i64) -> Vec<TimeSeries> {
        let mut out = Vec::new();
        for s in &self.services {
            let instance = format!("{}-0", s.model.name);
            let one = |name: &str, extra: &[(&str, &str)], v: f64| {
                let mut pairs = vec![
                    ("__name__", name),
                    ("job", s.model.name),
                    ("instance", instance.as_str()),
                ];
                pairs.extend_from_slice(extra);
                TimeSeries {
                    labels: Labels::from_pairs(&pairs),
                    samples: vec![Sample::new(t_ms, v)],
                }
            };
            for (c, code) in CODES.iter().enumerate() {
                let count = s.requests[c].floor();
                out.push(one("http_requests_total", &[("code", code)], count));
                out.push(one(
                    "http_request_duration_seconds_count",
                    &[("code", code)],
                    count,
                ));
                out.push(one(
                    "http_request_duration_seconds_sum",
                    &[("code", code)],
                    s.latency_sum[c],
                ));
                for (b, le) in BUCKETS.iter().enumerate() {
                    let le = format_le(*le);
                    // Never above the count, so buckets stay cumulative.
                    let v = s.buckets[c][b].floor().min(count);
                    out.push(one(
                        "http_request_duration_seconds_bucket",
                        &[("code", code), ("le", &le)],
                        v,
                    ));
                }
                out.push(one(
                    "http_request_duration_seconds_bucket",
                    &[("code", code), ("le", "+Inf")],
                    count,
                ));
            }
        }
        out
    }
}

/// `le` as client libraries write it: `0.005`, `1.0`, `10.0`.
fn format_le(le: f64) -> String {
    if le.fract() == 0.0 {
        format!("{le:.1}")
    } else {
        le.to_string()
    }
}

/// P(X ≤ x) for a log-normal with the given median and sigma.
fn lognormal_cdf(x: f64, median: f64, sigma: f64) -> f64 {
    if x <= 0.0 || median <= 0.0 {
        return 0.0;
    }
    let z = (x / median).ln() / (sigma * std::f64::consts::SQRT_2);
    0.5 * (1.0 + erf(z))
}

/// Abramowitz–Stegun 7.1.26 (error below 1.5e-7): plenty for bucket shares.
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn value(series: &[TimeSeries], name: &str, job: &str, extra: &[(&str, &str)]) -> f64 {
        series
            .iter()
            .find(|s| {
                s.labels.metric_name() == Some(name)
                    && s.labels.get("job") == Some(job)
                    && extra.iter().all(|(k, v)| s.labels.get(k) == Some(v))
            })
            .map(|s| s.samples[0].v)
            .unwrap_or(f64::NAN)
    }

    fn run(fleet: &mut Fleet, from: i64, to: i64) -> Vec<Vec<TimeSeries>> {
        (0..=(to - from) / 10_000)
            .map(|i| fleet.step(from + i * 10_000))
            .collect()
    }

    #[test]
    fn counters_only_grow() {
        let mut f = Fleet::new(default_services(), 0, 7);
        let steps = run(&mut f, 0, 30 * MIN);
        for pair in steps.windows(2) {
            for (a, b) in pair[0].iter().zip(&pair[1]) {
                assert_eq!(a.labels, b.labels);
                assert!(b.samples[0].v >= a.samples[0].v, "{} fell", a.labels);
            }
        }
        assert!(
            value(
                &steps[180],
                "http_requests_total",
                "checkout",
                &[("code", "200")]
            ) > 1000.0
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_at_the_count() {
        let mut f = Fleet::new(default_services(), 0, 7);
        let last = run(&mut f, 0, 10 * MIN).pop().unwrap_or_default();
        for job in ["frontend", "checkout", "payments", "catalog"] {
            let mut prev = 0.0;
            for le in BUCKETS
                .iter()
                .map(|b| format_le(*b))
                .chain(["+Inf".to_string()])
            {
                let v = value(
                    &last,
                    "http_request_duration_seconds_bucket",
                    job,
                    &[("code", "200"), ("le", &le)],
                );
                assert!(v >= prev, "{job} le={le}: {v} < {prev}");
                prev = v;
            }
            let count = value(
                &last,
                "http_request_duration_seconds_count",
                job,
                &[("code", "200")],
            );
            assert_eq!(prev, count);
        }
        // frontend waits for checkout and catalog: slower than either.
        let fast = |job: &str| {
            value(
                &last,
                "http_request_duration_seconds_bucket",
                job,
                &[("code", "200"), ("le", "0.1")],
            ) / value(
                &last,
                "http_request_duration_seconds_count",
                job,
                &[("code", "200")],
            )
        };
        assert!(fast("frontend") < fast("checkout") && fast("checkout") < fast("catalog"));
    }

    #[test]
    fn traffic_follows_the_day() {
        let f = Fleet::new(default_services(), 0, 7);
        let m = &default_services()[0];
        let peak = f.rate(m, 0);
        let trough = f.rate(m, 12 * 60 * MIN);
        assert!(
            (peak / m.base_rps - 1.35).abs() < 1e-9 && (trough / m.base_rps - 0.65).abs() < 1e-9
        );
        assert!((f.rate(m, 24 * 60 * MIN) - peak).abs() < 1e-9);
        assert!(f.rate(m, 6 * 60 * MIN) < peak && f.rate(m, 6 * 60 * MIN) > trough);
    }

    #[test]
    fn a_bad_version_fails_and_slows_until_rolled_back() {
        let mut f = Fleet::new(default_services(), 0, 7);
        let ratio = |a: &[TimeSeries], b: &[TimeSeries]| {
            let d = |code| {
                value(b, "http_requests_total", "checkout", &[("code", code)])
                    - value(a, "http_requests_total", "checkout", &[("code", code)])
            };
            d("500") / (d("200") + d("404") + d("500"))
        };
        let healthy = run(&mut f, 0, 10 * MIN);
        let h = ratio(&healthy[0], &healthy[60]);
        assert!(h < 0.001, "healthy error ratio {h}");
        assert!(f.deploy("checkout", "v1.1.0", true));
        assert_eq!(f.version("checkout"), Some("v1.1.0"));
        let bad = run(&mut f, 10 * MIN, 20 * MIN);
        let b = ratio(&bad[0], &bad[60]);
        assert!((0.25..0.35).contains(&b), "bad error ratio {b}");
        assert_eq!(f.rollback("checkout").as_deref(), Some("v1.0.0"));
        let after = run(&mut f, 20 * MIN, 30 * MIN);
        assert!(ratio(&after[0], &after[60]) < 0.001);
        assert!(!f.deploy("nope", "v2", false));
        assert_eq!(f.depends_on("checkout"), vec!["payments"]);
    }

    #[test]
    fn erf_matches_known_values() {
        assert!((erf(0.5) - 0.520_499_877_8).abs() < 1e-6);
        assert!((lognormal_cdf(0.1, 0.1, 0.5) - 0.5).abs() < 1e-6);
    }
}
