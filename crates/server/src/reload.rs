//! Config reloads: SIGHUP or `POST /-/reload` re-read the config file, and
//! only a config that validates completely — including every rule file and
//! SLO spec it names — replaces the running one. Anything wrong leaves the
//! server exactly as it was and is reported (HTTP answer, log, metrics).

use std::sync::Arc;

use homeostat_app::Live;
use homeostat_http::{ReloadReply, ReloadStatus};
use homeostat_ingest::ScrapeReloader;
use homeostat_model::Clock;
use tokio::sync::{Mutex, mpsc, watch};

use crate::config::Config;
use crate::rules::{RuleTasks, load_groups};

/// Everything a reload may replace while the server runs. Settings outside
/// it (listen address, storage, query backend and limits, alerting targets)
/// take effect at the next restart.
pub struct Reloadable {
    pub scraper: ScrapeReloader,
    pub rules: Arc<Mutex<RuleTasks>>,
    pub slos: Arc<Live<Vec<homeostat_slo::SloSpec>>>,
    pub slo_windows: Arc<Live<Vec<homeostat_slo::AlertWindows>>>,
    pub gate: Arc<Live<Vec<homeostat_gate::Policy>>>,
    pub rollback: Arc<Live<std::collections::BTreeMap<String, crate::release::Action>>>,
    /// `services[].depends_on`, read by change correlation and postmortems.
    pub dependencies: Arc<Live<std::collections::BTreeMap<String, Vec<String>>>>,
    /// `services:`, for the golden-signal charts' raw history.
    pub signals: Arc<Live<Vec<homeostat_slo::ServiceSignals>>>,
    /// `deploys:` with the `services:` names: which deploys are recorded.
    pub deploy_admission: Arc<Live<homeostat_app::DeployAdmission>>,
    /// `services[].team` and the schedules, for the toil ledger.
    pub toil: Arc<Live<homeostat_app::ToilConfig>>,
    /// `remediation:` policies.
    pub remediation: Arc<Live<homeostat_remediation::Remediation>>,
    /// On-call and incident settings (validated with the rest of the file).
    pub incidents: Arc<crate::incidents::IncidentHub>,
    pub status: Arc<ReloadStatus>,
    pub clock: Arc<dyn Clock>,
    /// Where the self-scrape job scrapes and the instance it names.
    pub self_target: crate::SelfTarget,
    /// The built-in Alertmanager (a file's routes or the default route).
    pub alertmanager: crate::alert_delivery::Delivery,
    /// `--web.config.file`, re-read on every reload.
    pub web: Arc<crate::web_config::WebConfigHandle>,
}

/// Serves reload requests from HTTP and SIGHUP until `stop`.
pub async fn reload_loop(
    mut cfg: Config,
    target: Reloadable,
    mut requests: mpsc::Receiver<ReloadReply>,
    mut stop: watch::Receiver<bool>,
) {
    let mut hup = hangup();
    loop {
        let reply = tokio::select! {
            r = requests.recv() => match r { Some(r) => Some(r), None => return },
            _ = recv_hup(&mut hup) => None,
            _ = stop.changed() => return,
        };
        let outcome = reload_once(&mut cfg, &target).await;
        match &outcome {
            Ok(summary) => {
                target.status.succeeded(target.clock.now_millis());
                tracing::info!(%summary, "config reloaded");
            }
            Err(e) => {
                target.status.failed(e.clone());
                tracing::error!(error = %e, "config reload failed; the running config stays");
            }
        }
        if let Some(r) = reply {
            let _ = r.send(outcome);
        }
    }
}

async fn reload_once(running: &mut Config, t: &Reloadable) -> Result<String, String> {
    // The web config (TLS, users) is its own file: it is re-read even when
    // the server runs the embedded default config.
    let web = t.web.clone();
    let web_reloaded = tokio::task::spawn_blocking(move || web.reload())
        .await
        .map_err(|e| format!("reload task failed: {e}"))?
        .map_err(|e| e.to_string())?;
    let Some(path) = running.source.clone() else {
        if web_reloaded {
            return Ok("web config reloaded".into());
        }
        return Err("started with the embedded default config; there is no file to re-read".into());
    };
    // Validation reads files and compiles SLOs: off the async threads.
    let loaded = tokio::task::spawn_blocking(move || {
        let cfg = Config::load(&path).map_err(|e| e.to_string())?;
        let groups = load_groups(&cfg.rule_files, &cfg.slos, &cfg.slo_windows, &cfg.services)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((cfg, groups))
    })
    .await
    .map_err(|e| format!("reload task failed: {e}"))?;
    let (new, groups) = loaded?;

    let mut scrape = new.scrape_configs.clone();
    if new.self_scrape {
        scrape.push(crate::self_scrape_config(
            &t.self_target,
            new.self_scrape_interval,
        ));
    }
    // The scrape config is validated before anything is applied, so a bad
    // job cannot leave the rules reloaded and the scrapes not.
    homeostat_ingest::validate(&new.global, &scrape).map_err(|e| e.to_string())?;
    t.scraper
        .apply(&new.global, &scrape)
        .map_err(|e| e.to_string())?;
    let summary = t.rules.lock().await.replace(groups).await;
    t.slos.set(new.slos.clone());
    t.slo_windows.set(new.slo_windows.clone());
    t.incidents.set_runtime(new.incidents.clone());
    t.gate.set(new.gate.clone());
    t.rollback.set(new.rollback.clone());
    t.dependencies.set(new.dependencies.clone());
    t.signals.set(new.services.clone());
    t.deploy_admission.set(new.deploys.clone());
    t.toil.set(new.toil());
    t.remediation.set(new.remediation.clone());
    // The Alertmanager file was validated with the rest; routes, receivers
    // and inhibit rules are swapped together.
    let (d, b) = (&t.alertmanager, &new.alertmanager);
    let am = d.am.clone();
    let routes = b.running();
    let _ = tokio::task::spawn_blocking(move || am.reload(routes)).await;
    *d.targets.lock() = b.targets.clone();
    d.incidents_without_targets
        .store(b.is_default(), std::sync::atomic::Ordering::Relaxed);
    let am_summary = if b.is_default() {
        String::new()
    } else {
        format!("; alertmanager: {} receivers", b.targets.len())
    };

    let restart_only = restart_only_changes(running, &new);
    if !restart_only.is_empty() {
        tracing::warn!(fields = %restart_only.join(", "), "changed settings take effect at the next restart");
    }
    // Keep the settings that only a restart applies as they run now, so the
    // next reload compares against what is really in effect.
    let mut kept = new;
    kept.listen = running.listen;
    kept.data_dir = running.data_dir.clone();
    *running = kept;
    Ok(format!(
        "rule groups: {} unchanged, {} changed, {} added, {} removed; {} scrape jobs; {} SLOs{}{}",
        summary.unchanged,
        summary.changed,
        summary.added,
        summary.removed,
        scrape.len(),
        running.slos.len(),
        am_summary,
        if restart_only.is_empty() {
            String::new()
        } else {
            format!("; needs a restart to apply: {}", restart_only.join(", "))
        }
    ))
}

/// The settings that changed but are not applied by a reload.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    let same =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
    if old.retention != new.retention
        || old.block_duration != new.block_duration
        || !same(&old.wal_fsync, &new.wal_fsync)
        || old.max_active_series != new.max_active_series
        || !same(&old.storage_mode, &new.storage_mode)
    {
        out.push("storage");
    }
    if !same(&old.query_backend, &new.query_backend) {
        out.push("query_backend");
    }
    if !same(&old.query, &new.query) {
        out.push("query");
    }
    if !same(&old.limits, &new.limits) {
        out.push("limits");
    }
    if !same(&old.alerting, &new.alerting) {
        out.push("alerting");
    }
    if old.evaluation_interval != new.evaluation_interval {
        out.push("global.evaluation_interval");
    }
    if old.web != new.web {
        out.push("web");
    }
    if old.external_url != new.external_url {
        out.push("external_url");
    }
    // The routes are swapped either way; whether the rule engine's alerts
    // go through them is decided at startup.
    if old.alertmanager.is_default() != new.alertmanager.is_default() {
        out.push("alertmanager (setting or removing config_file)");
    }
    out
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP; reload via POST /-/reload only"))
        .ok()
}
#[cfg(not(unix))]
fn hangup() -> Hangup {
    None
}

#[cfg(unix)]
async fn recv_hup(h: &mut Hangup) {
    match h {
        Some(s) => {
            if s.recv().await.is_none() {
                *h = None;
            }
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn recv_hup(_: &mut Hangup) {
    std::future::pending().await
}
