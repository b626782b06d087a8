//! The demo's world: its config files, the in-process receiver (pages,
//! Alertmanager notifications and the rollback webhook), and the fleet's
//! samples pushed through the real remote-write path.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use homeostat_demo::Fleet;
use tokio::sync::Mutex;

/// The service whose bad deploy the scenario plays.
pub const SERVICE: &str = "checkout";
pub const ALERT: &str = "CheckoutAvailability";
pub const SLO_ID: &str = "checkout-availability";
/// Samples are written this often, live and in the backfill.
pub const STEP_MS: i64 = 10_000;
/// History written at start every [`STEP_MS`], so charts and the 6h
/// burn-rate window are full from the first minute (the store takes older
/// samples into a fresh head, series by series in order).
pub const BACKFILL_MS: i64 = 7 * 3_600_000;
/// Older, coarser history before that: with only 7 hours of traffic the
/// bad deploy's few minutes would spend twice a 30-day budget, and the
/// budget would stay exhausted (the gate frozen) long after the rollback.
/// Three days make the same burn cost what it would cost a real service:
/// a share of the budget, frozen while the page fires, allowed after.
pub const HISTORY_MS: i64 = 3 * 86_400_000;
/// Step of the coarse history.
pub const HISTORY_STEP_MS: i64 = 60_000;

/// What the receiver saw.
#[derive(Default)]
pub struct Received {
    pub rollbacks: AtomicU32,
    pub pages: AtomicU32,
    pub notifications: AtomicU32,
}

/// The in-process receiver: `POST /rollback` rolls the fleet's service
/// back (what a deploy system would do), `POST /page/{user}` and
/// `POST /alerts` count pages and notifications, `GET /rollbacks` tells
/// how many rollback calls came.
pub fn receiver(fleet: Arc<Mutex<Fleet>>, seen: Arc<Received>) -> axum::Router {
    use axum::routing::{get, post};
    let rollback = {
        let seen = seen.clone();
        move |body: String| {
            let (fleet, seen) = (fleet.clone(), seen.clone());
            async move {
                let service = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["service"].as_str().map(str::to_string))
                    .unwrap_or_else(|| SERVICE.to_string());
                fleet.lock().await.rollback(&service);
                seen.rollbacks.fetch_add(1, Ordering::SeqCst);
                "rolled back\n"
            }
        }
    };
    let count = {
        let seen = seen.clone();
        move || {
            let n = seen.rollbacks.load(Ordering::SeqCst);
            async move { axum::Json(serde_json::json!({"rollbacks": n})) }
        }
    };
    let pages = {
        let seen = seen.clone();
        move || {
            seen.pages.fetch_add(1, Ordering::SeqCst);
            async { "ok\n" }
        }
    };
    let alerts = move || {
        seen.notifications.fetch_add(1, Ordering::SeqCst);
        async { "ok\n" }
    };
    axum::Router::new()
        .route("/rollback", post(rollback))
        .route("/rollbacks", get(count))
        .route("/page/{user}", post(pages))
        .route("/alerts", post(alerts))
}

/// Writes the demo's config files into `dir` and returns the main one.
pub fn write_configs(dir: &Path, receiver: &str) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    write("homeostat.yaml", main_config(receiver))?;
    write("slos.yaml", slo_specs())?;
    write("windows.yaml", WINDOWS.to_string())?;
    write(
        "alertmanager.yml",
        format!(
            "route:\n  receiver: pager\n  group_by: [alertname, service]\n  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 1h\nreceivers:\n  - name: pager\n    webhook_configs: [{{url: '{receiver}/alerts'}}]\n"
        ),
    )?;
    Ok(dir.join("homeostat.yaml"))
}

fn main_config(receiver: &str) -> String {
    // The fleet model's dependencies become the config's, so an incident
    // lists the deploys of what its service calls as suspects.
    let services: String = homeostat_demo::default_services()
        .iter()
        .map(|s| {
            format!(
                "  - {{name: {0}, selector: 'job=\"{0}\"', depends_on: [{1}]}}\n",
                s.name,
                s.depends_on.join(", ")
            )
        })
        .collect();
    format!(
        r#"# Written by `homeostat demo`.
self_scrape: true
global:
  evaluation_interval: 10s
slo_files: [slos.yaml]
# Short burn-rate windows so the page fires and clears within minutes.
slo_windows: [windows.yaml]
services:
{services}alertmanager: {{config_file: alertmanager.yml}}
oncall:
  users:
    - {{id: alice, name: Alice, webhook_url: "{receiver}/page/alice"}}
    - {{id: bob, name: Bob, webhook_url: "{receiver}/page/bob"}}
  schedules:
    - id: primary
      layers:
        - {{name: weekly, rotation_start: 2024-01-01T09:00:00Z, turn_length: 1w, members: [alice, bob]}}
  escalation_policies:
    - id: checkout-oncall
      levels:
        - {{delay: 30s, targets: [{{user: alice}}]}}
        - {{delay: 30s, targets: [{{user: bob}}]}}
incidents:
  default_escalation_policy: checkout-oncall
rollback:
  page_window: 15m
  actions:
    - {{service: {SERVICE}, webhook: {{url: "{receiver}/rollback"}}}}
"#
    )
}

/// Sloth windows for 30-day SLOs: the page's quick pair is 1m/12m (14.4x,
/// 0.4% of the budget) so a bad deploy pages a minute after it starts and
/// the page clears a minute after the fix; the slow pair and the tickets
/// are the Workbook's.
const WINDOWS: &str = "apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 30d
  page:
    quick: {errorBudgetPercent: 0.4, shortWindow: 1m, longWindow: 12m}
    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}
";

fn slo_specs() -> String {
    let mut out = String::new();
    for s in homeostat_demo::default_services() {
        let alert = format!("{}{}Availability", s.name[..1].to_uppercase(), &s.name[1..]);
        out.push_str(&format!(
            r#"---
apiVersion: homeostat/v1
service: {n}
slos:
  - name: availability
    description: 99.9% of {n} requests succeed.
    objective: 99.9
    sli:
      raw:
        error_ratio_query: sum(rate(http_requests_total{{job="{n}",code=~"5.."}}[{{{{.window}}}}])) / sum(rate(http_requests_total{{job="{n}"}}[{{{{.window}}}}]))
    alerting:
      name: {alert}
      runbook_url: https://runbooks.example.com/{n}/availability
      page: {{labels: {{severity: page}}}}
      ticket: {{labels: {{severity: ticket}}}}
"#,
            n = s.name
        ));
    }
    out.push_str(
        r#"---
apiVersion: homeostat/v1
service: frontend
slos:
  - name: latency
    description: 99% of frontend requests answer within a second.
    objective: 99
    sli:
      latency:
        metric: http_request_duration_seconds
        selector: '{job="frontend"}'
        threshold: 1
    alerting:
      name: FrontendLatency
      page: {disable: true}
      ticket: {labels: {severity: ticket}}
"#,
    );
    out
}

/// Pushes series as one remote-write request to the server's own endpoint.
pub async fn push(
    http: &reqwest::Client,
    base: &str,
    series: &[homeostat_model::TimeSeries],
) -> anyhow::Result<()> {
    let body = homeostat_wire::remote_write::encode(series);
    let r = http
        .post(format!("{base}/api/v1/write"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await
        .context("remote-write to the demo server")?;
    if !r.status().is_success() {
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        anyhow::bail!("remote-write answered {status}: {text}");
    }
    Ok(())
}

/// Writes the fleet's last [`HISTORY_MS`] up to `now`: every
/// [`HISTORY_STEP_MS`] until the last [`BACKFILL_MS`], every [`STEP_MS`]
/// after; a few hours per request.
pub async fn backfill(
    http: &reqwest::Client,
    base: &str,
    fleet: &Mutex<Fleet>,
    now: i64,
) -> anyhow::Result<()> {
    let fine = (now - BACKFILL_MS) / STEP_MS * STEP_MS;
    let coarse = (now - HISTORY_MS) / HISTORY_STEP_MS * HISTORY_STEP_MS;
    write_steps(http, base, fleet, coarse, fine, HISTORY_STEP_MS, 6).await?;
    write_steps(http, base, fleet, fine, now, STEP_MS, 1).await
}

/// Steps the fleet from `from` to `until` (exclusive) every `step` ms and
/// pushes `hours` hours of samples per request.
async fn write_steps(
    http: &reqwest::Client,
    base: &str,
    fleet: &Mutex<Fleet>,
    from: i64,
    until: i64,
    step: i64,
    hours: i64,
) -> anyhow::Result<()> {
    let mut t = from;
    while t < until {
        let end = (t + hours * 3_600_000).min(until);
        let mut merged: Vec<homeostat_model::TimeSeries> = Vec::new();
        {
            let mut f = fleet.lock().await;
            while t < end {
                for (i, s) in f.step(t).into_iter().enumerate() {
                    match merged.get_mut(i) {
                        Some(m) => m.samples.extend(s.samples),
                        None => merged.push(s),
                    }
                }
                t += step;
            }
        }
        push(http, base, &merged).await?;
    }
    Ok(())
}

/// Healthy deploys in the history, so the deploy list and the postmortem's
/// contributing changes have a past.
pub async fn record_history(http: &reqwest::Client, base: &str, now: i64) -> anyhow::Result<()> {
    let hour = 3_600_000;
    for (service, version, ago, author) in [
        ("catalog", "v1.0.0", 6 * hour, "erin"),
        ("payments", "v1.0.0", 5 * hour, "frank"),
        (SERVICE, "v1.0.0", 3 * hour, "dana"),
        ("frontend", "v1.0.0", 2 * hour, "erin"),
    ] {
        let at = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        post_json(
            http,
            &format!("{base}/api/v1/deploys"),
            serde_json::json!({
                "service": service, "version": version, "author": author,
                "commit": format!("{:07x}", (ago / 1000) as u64 * 2_654_435_761 % 0xfff_ffff),
                "changeType": "feature",
                "startedAt": at(now - ago), "finishedAt": at(now - ago + 240_000),
                "outcome": "succeeded",
            }),
        )
        .await?;
    }
    Ok(())
}

/// POSTs JSON and returns the answer's `data`; a non-2xx is an error with
/// the server's message.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let r = http
        .post(url)
        .header("x-homeostat-user", "demo")
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("POST {url}: {status}: {}", v["error"]);
    }
    Ok(v["data"].clone())
}

/// GETs JSON and returns its `data`.
pub async fn get_json(http: &reqwest::Client, url: &str) -> anyhow::Result<serde_json::Value> {
    let r = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status}: {}", v["error"]);
    }
    Ok(v["data"].clone())
}
