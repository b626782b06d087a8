//! `homeostat demo`: the server with a simulated fleet pushing through the
//! real remote-write path, SLOs, routing, on-call, and a scripted bad deploy
//! that the server detects, pages, escalates and rolls back by itself. The
//! demo plays only the fleet and the people (deploy, acknowledge, mitigate,
//! resolve, postmortem).

mod setup;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use homeostat_demo::{Action, Fleet, Milestone, Observation, Scenario};
use serde_json::{Value, json};
use tokio::sync::{Mutex, watch};

use setup::{ALERT, SERVICE, SLO_ID, STEP_MS};

/// Healthy traffic before the bad deploy.
const WARMUP: Duration = Duration::from_secs(30);
/// How often the demo looks at the server.
const POLL: Duration = Duration::from_secs(2);
const BAD_VERSION: &str = "v1.1.0";

pub struct Args {
    pub listen: SocketAddr,
    pub data_dir: Option<PathBuf>,
    pub exit_when_done: bool,
    /// Where the rollback receiver listens; port 0 picks a free one.
    pub rollback_listen: SocketAddr,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Say(Instant);
impl Say {
    fn line(&self, msg: &str) {
        let s = self.0.elapsed().as_secs();
        println!("demo [{:02}:{:02}] {msg}", s / 60, s % 60);
    }

    /// A stage's line starts with its name, as docs/demo.md lists it.
    fn stage(&self, m: Milestone, detail: &str) {
        if detail.is_empty() {
            self.line(m.name());
        } else {
            self.line(&format!("{}: {detail}", m.name()));
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "homeostat-demo-{}-{}",
            std::process::id(),
            now_ms()
        ))
    });
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(run_async(args, dir))
}

async fn run_async(args: Args, dir: PathBuf) -> anyhow::Result<ExitCode> {
    let say = Say(Instant::now());
    let start = now_ms();
    // The fleet's busiest hour is now: the story plays at peak traffic.
    let fleet = Arc::new(Mutex::new(Fleet::new(
        homeostat_demo::default_services(),
        start + 20 * 60_000,
        start as u64,
    )));
    let seen = Arc::new(setup::Received::default());
    let rx = tokio::net::TcpListener::bind(args.rollback_listen)
        .await
        .with_context(|| {
            format!(
                "binding the demo's rollback receiver to {} (--rollback-listen)",
                args.rollback_listen
            )
        })?;
    let receiver = format!("http://{}", rx.local_addr()?);
    let app = setup::receiver(fleet.clone(), seen.clone());
    tokio::spawn(async move { axum::serve(rx, app).await });

    let config = setup::write_configs(&dir.join("config"), &receiver)?;
    let mut cfg = homeostat_server::Config::load(&config)?;
    cfg.data_dir = dir.join("data");
    cfg.listen = args.listen;
    let base = format!("http://{}", args.listen);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let server = tokio::spawn(homeostat_server::run(cfg, async move {
        let _ = stop_rx.changed().await;
    }));
    println!("demo: config and data in {}", dir.display());
    println!("console: {base}/");
    println!("demo: rollback receiver {receiver}/rollbacks");

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/-/ready")).send().await.is_err() {
        if server.is_finished() || Instant::now() > deadline {
            let _ = stop_tx.send(true);
            return match server.await {
                Ok(Err(e)) => Err(e.into()),
                _ => Err(anyhow::anyhow!("the server did not become ready at {base}")),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    setup::backfill(&http, &base, &fleet, start).await?;
    setup::record_history(&http, &base, start).await?;
    say.line("fleet of 4 services running (3 days of history written), all healthy");
    let pusher = tokio::spawn(push_live(http.clone(), base.clone(), fleet.clone()));

    let mut sc = Scenario::new(start, WARMUP.as_millis() as i64);
    let mut outcome = ExitCode::SUCCESS;
    let ctrl_c = crate::shutdown_signal();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep(POLL) => {}
        }
        if sc.is_complete() {
            continue;
        }
        let now = now_ms();
        let o = observe(&http, &base, &sc, &seen).await;
        for m in sc.observe(now, &o) {
            say.stage(m, &describe(m, &sc, &http, &base, &seen).await);
        }
        for a in sc.next_actions(now) {
            match act(&a, &http, &base, &sc, &fleet).await {
                Ok((m, msg)) => {
                    sc.done(m, now_ms());
                    say.stage(m, &msg);
                }
                Err(e) => say.line(&format!("{a:?} failed, will retry: {e:#}")),
            }
        }
        if sc.is_complete() {
            let id = sc.incident().unwrap_or("?");
            println!(
                "demo: scenario complete — {id}: {base}/console/incident?id={id} postmortem: {base}/api/v1/incidents/{id}/postmortem (rollback webhook called {} time(s))",
                seen.rollbacks.load(Ordering::SeqCst)
            );
            if args.exit_when_done {
                break;
            }
            println!("demo: still serving with live traffic; Ctrl-C stops");
        } else if let Some(m) = sc.overdue(now_ms()) {
            println!(
                "demo: stage '{}' did not happen within its deadline",
                m.name()
            );
            if args.exit_when_done {
                outcome = ExitCode::FAILURE;
                break;
            }
        }
    }
    pusher.abort();
    let _ = stop_tx.send(true);
    match server.await {
        Ok(Err(e)) => return Err(e.into()),
        Err(e) => return Err(anyhow::anyhow!("server task: {e}")),
        Ok(Ok(())) => {}
    }
    Ok(outcome)
}

/// Writes the fleet's samples every step until aborted.
async fn push_live(http: reqwest::Client, base: String, fleet: Arc<Mutex<Fleet>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(STEP_MS as u64));
    loop {
        tick.tick().await;
        let series = fleet.lock().await.step(now_ms());
        if let Err(e) = setup::push(&http, &base, &series).await {
            eprintln!("demo: push failed: {e:#}");
        }
    }
}

async fn observe(
    http: &reqwest::Client,
    base: &str,
    sc: &Scenario,
    seen: &setup::Received,
) -> Observation {
    let page_firing = setup::get_json(http, &format!("{base}/api/v1/alerts"))
        .await
        .ok()
        .and_then(|d| d["alerts"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .any(|a| {
            a["labels"]["alertname"] == ALERT
                && a["labels"]["sloth_severity"] == "page"
                && a["state"] == "firing"
        });
    let incident = match sc.incident() {
        Some(id) => Some(id.to_string()),
        None => setup::get_json(http, &format!("{base}/api/v1/incidents?service={SERVICE}"))
            .await
            .ok()
            .and_then(|d| d.as_array().and_then(|l| l.first().cloned()))
            .and_then(|i| i["id"].as_str().map(str::to_string)),
    };
    let escalated_level2 = match &incident {
        None => false,
        Some(id) => setup::get_json(http, &format!("{base}/api/v1/incidents/{id}"))
            .await
            .ok()
            .and_then(|d| d["timeline"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .any(|e| {
                e["kind"] == "escalated"
                    && e["summary"].as_str().is_some_and(|s| s.contains("level 2"))
            }),
    };
    let q = format!(
        r#"sum(rate(http_requests_total{{job="{SERVICE}",code=~"5.."}}[1m])) / sum(rate(http_requests_total{{job="{SERVICE}"}}[1m]))"#
    );
    Observation {
        page_firing,
        incident,
        escalated_level2,
        rollbacks: seen.rollbacks.load(Ordering::SeqCst),
        error_ratio: instant(http, base, &q).await,
    }
}

/// The first value of an instant query.
async fn instant(http: &reqwest::Client, base: &str, q: &str) -> Option<f64> {
    let r = http
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

async fn describe(
    m: Milestone,
    sc: &Scenario,
    http: &reqwest::Client,
    base: &str,
    seen: &setup::Received,
) -> String {
    let id = sc.incident().unwrap_or("?");
    match m {
        Milestone::PageFired => {
            let burn = instant(
                http,
                base,
                &format!(r#"slo:current_burn_rate:ratio{{sloth_id="{SLO_ID}"}}"#),
            )
            .await
            .map_or(String::new(), |b| {
                format!(" (burning the error budget {b:.0}x, page at 14.4x)")
            });
            format!("{ALERT}{burn}")
        }
        Milestone::IncidentOpened => {
            format!("{id}, paging alice (level 1): {base}/console/incident?id={id}")
        }
        Milestone::Escalated => format!("nobody acknowledged {id}, bob is paged"),
        Milestone::RolledBack => format!(
            "the server called the rollback webhook ({} call), {SERVICE} is back on v1.0.0",
            seen.rollbacks.load(Ordering::SeqCst)
        ),
        Milestone::Recovered => format!("{SERVICE} error ratio back under 1%"),
        Milestone::AlertResolved => format!("{ALERT} no longer firing"),
        _ => String::new(),
    }
}

/// Performs one of the people's steps; returns its milestone and a line.
async fn act(
    a: &Action,
    http: &reqwest::Client,
    base: &str,
    sc: &Scenario,
    fleet: &Mutex<Fleet>,
) -> anyhow::Result<(Milestone, String)> {
    let id = sc.incident().unwrap_or("");
    let inc = format!("{base}/api/v1/incidents/{id}");
    let bob = |extra: Value| {
        let mut v = json!({"by": "bob"});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v
    };
    Ok(match a {
        Action::Deploy => {
            let d = setup::post_json(
                http,
                &format!("{base}/api/v1/deploys"),
                json!({"service": SERVICE, "version": BAD_VERSION, "author": "dana",
                       "commit": "b4dc0de", "changeType": "feature"}),
            )
            .await?;
            fleet.lock().await.deploy(SERVICE, BAD_VERSION, true);
            (
                Milestone::Deployed,
                format!(
                    "{SERVICE} {BAD_VERSION} recorded as deploy {} (30% of its requests fail, 3x slower)",
                    d["id"]
                ),
            )
        }
        Action::Acknowledge => {
            setup::post_json(http, &format!("{inc}/ack"), bob(json!({}))).await?;
            (Milestone::Acknowledged, format!("{id} by bob"))
        }
        Action::Mitigate => {
            setup::post_json(http, &format!("{inc}/updates"), bob(json!({"text":
                format!("{SERVICE} {BAD_VERSION} was rolled back automatically; error ratio is back to normal, watching the burn rate.")})))
            .await?;
            setup::post_json(http, &format!("{inc}/mitigate"), bob(json!({}))).await?;
            (Milestone::Mitigated, format!("{id} by bob"))
        }
        Action::Resolve => {
            setup::post_json(http, &format!("{inc}/resolve"), bob(json!({}))).await?;
            (Milestone::Resolved, format!("{id} by bob"))
        }
        Action::WritePostmortem => {
            setup::post_json(http, &format!("{inc}/notes"), bob(json!({"text": format!(
                "Summary: {SERVICE} {BAD_VERSION} failed 30% of requests (a payments client change). The page-tier burn-rate alert fired within minutes, the deploy was rolled back automatically and errors stopped; no manual fix was needed.")})))
            .await?;
            for (title, owner) in [
                (
                    "Canary checkout deploys with automatic analysis before full rollout",
                    "dana",
                ),
                ("Add a contract test for the payments client", "bob"),
            ] {
                setup::post_json(
                    http,
                    &format!("{inc}/action_items"),
                    json!({"title": title, "owner": owner}),
                )
                .await?;
            }
            let r = http.get(format!("{inc}/postmortem")).send().await?;
            anyhow::ensure!(r.status().is_success(), "postmortem: {}", r.status());
            (Milestone::PostmortemWritten, format!("{inc}/postmortem"))
        }
    })
}
