//! Assembly of the homeostat server: the only crate that picks concrete
//! backends and spawns tasks. It opens the embedded store, starts the scrape
//! manager, the maintenance and WAL-sync timers, and the HTTP listener, and
//! shuts them down in order.

pub mod alert_delivery;
pub mod alert_events;
pub mod am_config;
mod chaos_events;
mod chaos_faults;
mod chaos_monkey;
mod cluster;
pub mod config;
pub mod fault_proxy;
pub mod incidents;
pub mod listener;
pub mod notifier;
pub mod outbound;
mod release;
mod reload;
mod remediation;
pub mod remote_store;
mod rules;
mod sources;
mod store;
pub mod web_config;
mod zone_balance;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use homeostat_http::{AppState, RuntimeInfo, Telemetry};
use homeostat_ingest::{ScrapeConfig, ScrapeManager, StaticConfig};
use homeostat_model::{Clock, SystemClock};
use homeostat_promql::Engine;
use homeostat_storage::Querier;
use homeostat_tsdb::{FsyncPolicy, Tsdb};
use tokio::sync::{mpsc, watch};

pub use config::{Config, ConfigError, IncidentsConfig, QueryBackend};
/// The route table, for `homeostat routes` and the docs.
pub use homeostat_http::{Access, AccessRule, access_rules, access_table_markdown};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("opening storage in {dir}: {source}")]
    Storage {
        dir: String,
        #[source]
        source: homeostat_tsdb::TsdbError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Ingest(#[from] homeostat_ingest::IngestError),
    #[error("server task failed: {0}")]
    Task(String),
    #[error("query_backend.{0}")]
    QueryBackend(#[from] homeostat_remote::RemoteConfigError),
    #[error("storage.remote: {0}")]
    Forward(#[from] homeostat_remote::ForwardError),
    #[error(transparent)]
    Rules(#[from] homeostat_rules::RuleError),
    #[error("opening the state database: {0}")]
    State(#[from] homeostat_state::StateError),
    #[error(transparent)]
    WebConfig(#[from] homeostat_auth::AuthError),
    /// A non-loopback listener without authentication (the message names the fixes).
    #[error("{0}")]
    Exposed(String),
    /// The console's session key file (data_dir/session.key).
    #[error("console session key: {0}")]
    SessionKey(#[source] homeostat_auth::AuthError),
    #[error("slo_files: {0}")]
    Slo(#[from] homeostat_slo::SpecError),
    /// A `fault_proxy.proxies` entry could not start (its listen address).
    #[error("fault_proxy.proxies: {0}")]
    FaultProxy(String),
    #[error(transparent)]
    Traffic(#[from] homeostat_traffic::TrafficError),
}

/// Opens the state backend `state:` names: `<data_dir>/state.db`, or the
/// PostgreSQL database (migrated on the way). A server that cannot be
/// reached fails start-up naming host and database, never the password.
async fn open_state(cfg: &Config) -> Result<homeostat_state::State, ServerError> {
    let state = cfg.state.clone();
    let dir = cfg.data_dir.clone();
    tokio::task::spawn_blocking(move || match state {
        config::StateConfig::Sqlite => homeostat_state_sql::SqliteState::open(&dir)
            .map(|s| homeostat_state::State::from_backend(Arc::new(s))),
        config::StateConfig::Postgres { dsn, options } => {
            homeostat_state_pg::PgState::open(dsn.expose(), &options)
                .map(|s| homeostat_state::State::from_backend(Arc::new(s)))
        }
    })
    .await
    .map_err(|e| ServerError::Task(e.to_string()))?
    .map_err(ServerError::from)
}
/// The querier PromQL and the read APIs run over: the embedded store, or a
/// remote Prometheus-compatible server per `query_backend`. Makes no network
/// call, so it is safe on an async thread; the querier itself blocks and must
/// be called on `spawn_blocking`.
pub fn build_querier(
    backend: &QueryBackend,
    embedded: Arc<dyn Querier>,
) -> Result<Arc<dyn Querier>, ServerError> {
    Ok(match backend {
        QueryBackend::Embedded => embedded,
        QueryBackend::Remote(rc) => {
            let q = homeostat_remote::RemoteQuerier::new(rc.clone())?;
            tracing::info!(read_url = %q.read_url(), api_url = %q.api_url(), "queries read from a remote backend");
            Arc::new(q)
        }
    })
}

/// Which hosts and origins browsers may reach the server as: the URLs users
/// are given (`external_url`, the links in pages) and `web.allowed_hosts`.
fn browser_policy(cfg: &Config) -> homeostat_http::BrowserPolicy {
    let urls: Vec<&str> = [
        cfg.external_url.as_deref(),
        cfg.incidents.incidents.link_base_url.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    homeostat_http::BrowserPolicy::new(&urls, &cfg.allowed_hosts)
}

/// Authentication as `auth:` and the web config say. The console's session
/// key lives in the data directory (mode 0600) so sign-ins survive restarts.
fn auth_settings(
    cfg: &Config,
    web: &web_config::WebConfigHandle,
    clock: Arc<dyn Clock>,
) -> Result<homeostat_http::AuthSettings, ServerError> {
    let mut s = homeostat_http::AuthSettings::new(web.subscribe(), clock);
    s.mode = cfg.auth.mode;
    s.users = cfg.auth.users.clone();
    s.proxy = cfg.auth.proxy.clone();
    s.session_ttl_ms = cfg.auth.session_ttl.as_millis() as i64;
    s.session_key = homeostat_auth::SessionKey::load_or_create(&cfg.data_dir.join("session.key"))
        .map_err(ServerError::SessionKey)?;
    if cfg.auth.mode == homeostat_http::AuthMode::Off {
        tracing::warn!("auth.mode is none: every caller may do everything");
    }
    Ok(s)
}

/// Runs the server until `shutdown` resolves (SIGINT/SIGTERM in the binary).
pub async fn run(
    cfg: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let web = Arc::new(web_config::WebConfigHandle::load(
        cfg.web_config_file.as_deref(),
    )?);
    config::check_exposure(cfg.listen, &cfg.auth, &web.current()).map_err(ServerError::Exposed)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServerError::Listen {
            addr: cfg.listen.to_string(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Listen {
            addr: cfg.listen.to_string(),
            source,
        })?;

    let store = store::open(&cfg, clock.clone()).await?;
    let tsdb = store.tsdb.clone();
    let appender = store.appender.clone();

    // Always bound, so a reload may turn the self-scrape on.
    let self_scrape = listener::SelfScrapeListener::bind()
        .await
        .map_err(|source| ServerError::Listen {
            addr: "127.0.0.1:0 (self-scrape)".into(),
            source,
        })?;
    let self_target = SelfTarget {
        scrape_addr: self_scrape.addr().to_string(),
        instance: addr.to_string(),
    };
    let mut scrape_configs = cfg.scrape_configs.clone();
    if cfg.self_scrape {
        scrape_configs.push(self_scrape_config(&self_target, cfg.self_scrape_interval));
    }
    let scraper = ScrapeManager::new(
        cfg.global.clone(),
        scrape_configs,
        appender.clone(),
        clock.clone(),
    )?;

    let telemetry = Arc::new(Telemetry::default());
    let listener_stats = Arc::new(listener::ListenerStats::default());
    telemetry.add_source(Box::new(listener::StatsHandle(listener_stats.clone())));
    if let Some(t) = &tsdb {
        telemetry.add_source(Box::new(sources::TsdbSource(t.clone())));
    }
    if let Some(f) = &store.forwarder {
        telemetry.add_source(Box::new(remote_store::ForwardSource(f.clone())));
    }
    telemetry.add_source(Box::new(sources::ScrapeSource(scraper.status())));
    let scrape_stats = scraper.status().stats.clone();
    telemetry.add_ingested_source(
        "scrape",
        Box::new(move || {
            scrape_stats
                .samples_appended_total
                .load(std::sync::atomic::Ordering::Relaxed)
        }),
    );
    let ready = Arc::new(AtomicBool::new(true));
    let runtime = RuntimeInfo {
        start_time: clock.now_millis(),
        storage_retention: homeostat_model::format_duration(cfg.retention),
        state_backend: cfg.state.describe(&cfg.data_dir),
        storage_mode: cfg.storage_mode.name().to_string(),
        remote_write_url: store.forwarder.as_ref().map(|f| f.write_url().to_string()),
    };
    let querier = store.querier.clone();
    let state = open_state(&cfg).await?;
    let member_id = cluster::member_id(&cfg.cluster, addr);
    let mut cluster = cluster::Cluster::new(
        &cfg.cluster,
        state.cluster.clone(),
        member_id.clone(),
        cfg.external_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
        clock.now_millis(),
    );
    telemetry.add_source(Box::new(cluster.source()));
    let groups = rules::load_groups(&cfg.rule_files, &cfg.slos, &cfg.slo_windows, &cfg.services)?;
    // Always present, even with no groups: a reload may add some.
    let rule_manager = Arc::new(homeostat_rules::RuleManager::new(
        groups,
        Engine::new(cfg.query.clone()),
        querier.clone(),
        appender.clone(),
        clock.clone(),
        homeostat_rules::ManagerOptions {
            default_interval: cfg.evaluation_interval,
            external_labels: cfg.global.external_labels.clone(),
            external_url: cfg
                .external_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
            resend_delay: cfg.alerting.resend_delay,
            ..Default::default()
        },
    ));
    let slos = Arc::new(homeostat_app::Live::new(cfg.slos.clone()));
    let slo_windows = Arc::new(homeostat_app::Live::new(cfg.slo_windows.clone()));
    let gate = Arc::new(homeostat_app::Live::new(cfg.gate.clone()));
    let rollback_actions = Arc::new(homeostat_app::Live::new(cfg.rollback.clone()));
    let dependencies = Arc::new(homeostat_app::Live::new(cfg.dependencies.clone()));
    let signal_services = Arc::new(homeostat_app::Live::new(cfg.services.clone()));
    let deploy_admission = Arc::new(homeostat_app::Live::new(cfg.deploys.clone()));
    let analysis = Arc::new(release::restore_analysis(&state, clock.now_millis()).await?);
    let reload_status = Arc::new(homeostat_http::ReloadStatus::new(clock.now_millis()));
    telemetry.add_source(Box::new(sources::ReloadSource(reload_status.clone())));
    let (reload_tx, reload_rx) = mpsc::channel(4);
    let link_dir = cfg.data_dir.clone();
    let link_secret = tokio::task::spawn_blocking(move || incidents::load_link_secret(&link_dir))
        .await
        .map_err(|e| ServerError::Task(e.to_string()))?
        .map_err(|e| ServerError::Task(format!("incident link secret: {e}")))?;
    // Every outbound HTTP call of the process goes through this one path.
    let (outbound, outbound_source) = outbound::outbound(clock.clone())?;
    telemetry.add_source(Box::new(outbound_source));
    // The alert dispatcher reaches it as its `alert_events::IncidentHook`.
    let incident_hub = Arc::new(incidents::IncidentHub::new(
        &state,
        cfg.incidents.clone(),
        &link_secret,
        cfg.external_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
        clock.clone(),
        Some(incidents::ImpactSource {
            engine: Engine::new(cfg.query.clone()),
            querier: querier.clone(),
            slos: slos.clone(),
            deploys: state.deploys.clone(),
            dependencies: dependencies.clone(),
        }),
        outbound.clone(),
    ));
    let external_url = cfg
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    // Always running: the file `alertmanager.config_file` names, or the
    // built-in default route, so the Alertmanager API answers from the
    // first start.
    let builtin = {
        let b = &cfg.alertmanager;
        let mut am = homeostat_alerting::Alertmanager::new(
            b.running(),
            state.silences.clone(),
            clock.clone(),
        )?;
        if cfg.cluster.enabled {
            am = am.with_shared_intake(state.alert_log.clone(), member_id.clone());
        }
        let am = Arc::new(am);
        let notifier = homeostat_notify::Notifier::with_outbound(outbound.clone());
        let mut delivery = alert_delivery::Delivery::new(
            am.clone(),
            b.targets.clone(),
            notifier,
            state.nflog.clone(),
            incident_hub.clone(),
            external_url.clone(),
            b.retention,
        );
        delivery
            .incidents_without_targets
            .store(b.is_default(), std::sync::atomic::Ordering::Relaxed);
        delivery.leadership = cluster.leadership.clone();
        telemetry.add_source(Box::new(alert_delivery::AlertmanagerSource {
            am: am.clone(),
            stats: delivery.stats.clone(),
        }));
        match &b.config_file {
            Some(f) => {
                tracing::info!(config_file = %f.display(), receivers = b.targets.len(), "built-in alertmanager enabled");
            }
            None => {
                tracing::info!(
                    "built-in alertmanager runs its default route (alertmanager.config_file is not set)"
                );
            }
        }
        delivery
    };
    let write_pool = homeostat_http::write_pool::configure(cfg.write_pool);
    if write_pool != cfg.write_pool {
        tracing::warn!(
            ?write_pool,
            "the write pool was already started in this process; limits.write_threads/write_nice not applied"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    // The fault proxy's handle, for whatever drives chaos (experiments,
    // timelines); None unless `fault_proxy.enabled`.
    let fault_proxy = fault_proxy::start(&cfg.fault_proxy, stop_rx.clone()).await?;
    if let Some(fp) = &fault_proxy {
        telemetry.add_source(Box::new(fault_proxy::FaultProxySource(fp.handle.clone())));
    }
    // The proxies listen from here on; `traffic:` is read at start only.
    let traffic = homeostat_traffic::Traffic::start(cfg.traffic.clone(), clock.clone()).await?;
    telemetry.add_source(Box::new(sources::TrafficSource(traffic.clone())));
    let traffic_desk =
        homeostat_traffic::TrafficDesk::new(traffic.clone(), state.audit.clone(), clock.clone());
    let toil = Arc::new(homeostat_app::Live::new(cfg.toil()));
    let services = homeostat_app::Wiring {
        engine: Engine::new(cfg.query.clone()),
        querier: querier.clone(),
        state: state.clone(),
        clock: clock.clone(),
        slos: slos.clone(),
        slo_windows: slo_windows.clone(),
        policies: gate.clone(),
        dependencies: dependencies.clone(),
        signals: signal_services.clone(),
        deploy_admission: deploy_admission.clone(),
        chaos: cfg.chaos.clone(),
        faults: Arc::new(chaos_faults::ServerFaults {
            proxy: fault_proxy.as_ref().map(|f| f.handle.clone()),
            traffic: traffic_desk.clone(),
        }),
        toil: toil.clone(),
    }
    .build();
    let query_slots = Arc::new(homeostat_http::query_slots::QuerySlots::new(
        cfg.query_slots.clone(),
    ));
    telemetry.add_source(Box::new(query_slots.clone()));
    // Always built: with no opted-in group it only answers that none is.
    let monkey = Arc::new(homeostat_app::MonkeyService::new(
        Arc::new(homeostat_app::Live::new(cfg.monkey.clone())),
        state.clone(),
        Some(services.gate.clone()),
        Arc::new(chaos_monkey::ServerEffects {
            engine: Engine::new(cfg.query.clone()),
            querier: querier.clone(),
            clock: clock.clone(),
            outbound: outbound.clone(),
        }),
        clock.clone(),
        // Which targets a termination picks is meant to be unpredictable;
        // when is the schedule's (deterministic per group and day).
        clock.now_millis() as u64,
    ));
    let remediation_policies = Arc::new(homeostat_app::Live::new(cfg.remediation.clone()));
    let remediation = Arc::new(homeostat_app::RemediationService::new(
        remediation_policies.clone(),
        state.clone(),
        Some(services.gate.clone()),
        Arc::new(remediation::ServerRemediation {
            outbound: outbound.clone(),
            traffic: traffic_desk.clone(),
            rules: rule_manager.clone(),
            hub: incident_hub.clone(),
        }),
        clock.clone(),
    ));
    incident_hub.set_remediation(remediation.clone());
    let app_state = AppState {
        query: homeostat_http::QueryHandles {
            storage: store.storage.clone(),
            // Every read route and PromQL query reads through this one
            // querier: the embedded store, or a remote server (`query_backend`).
            querier,
            engine: Engine::new(cfg.query.clone()),
            limits: cfg.limits.clone(),
            slots: query_slots,
        },
        ops: homeostat_http::OpsHandles {
            runtime: Arc::new(runtime),
            telemetry,
            ready,
            reload: homeostat_http::ReloadHandle::new(reload_tx, reload_status.clone()),
        },
        clock: clock.clone(),
        slos: services.slos.clone(),
        rules: rule_manager.clone(),
        incidents: homeostat_app::IncidentDesk::new(incident_hub.clone(), state.audit.clone())
            .with_used_links(state.used_links.clone()),
        alertmanager: Some(builtin.am.clone()),
        gate: services.gate.clone(),
        release: services.release.clone(),
        signals: services.signals.clone(),
        analysis: analysis.clone(),
        browser: Arc::new(browser_policy(&cfg)),
        tokens: services.tokens.clone(),
        cluster: cluster.view.clone(),
        fault_proxy: fault_proxy.as_ref().map(|f| f.handle.clone()),
        traffic: traffic_desk,
        chaos: services.chaos.clone(),
        toil: services.toil.clone(),
        monkey: monkey.clone(),
        remediation: Some(remediation.clone()),
    };

    // Experiments a previous process left running cannot go on: their
    // journal says so. Replicas sharing a database may be running theirs,
    // so only a lone server does it.
    if !cfg.cluster.enabled {
        match services.chaos.recover().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                runs = n,
                "experiment runs left running by the previous process marked interrupted"
            ),
            Err(e) => tracing::warn!(error = %e, "marking interrupted experiment runs failed"),
        }
    }

    // Before the acting tasks start: a replica that finds the lease free
    // leads from the start instead of idling for a retry interval.
    let election_task = cluster.spawn(clock.clone(), stop_rx.clone()).await;
    let scrape_reloader = scraper.reloader();
    let scrape_task = tokio::spawn(scraper.run(stop_rx.clone()));
    let maint = tsdb
        .clone()
        .map(|t| tokio::spawn(maintenance_loop(t, stop_rx.clone())));
    let sync = match (cfg.wal_fsync, &tsdb) {
        (FsyncPolicy::Interval(every), Some(t)) => {
            Some(tokio::spawn(sync_loop(t.clone(), every, stop_rx.clone())))
        }
        _ => None,
    };

    let escalation_task = tokio::spawn(incidents::run_escalations(
        incident_hub.clone(),
        cluster.leadership.clone(),
        stop_rx.clone(),
    ));
    let monkey_task = tokio::spawn(chaos_monkey::run(
        monkey,
        cluster.leadership.clone(),
        stop_rx.clone(),
    ));
    let zone_task = zone_balance::spawn(
        &cfg.zone_balance,
        app_state.traffic.clone(),
        Engine::new(cfg.query.clone()),
        app_state.query.querier.clone(),
        clock.clone(),
        cluster.leadership.clone(),
        stop_rx.clone(),
    );
    let remediation_task = tokio::spawn(remediation::run(
        remediation,
        incident_hub.clone(),
        cluster.leadership.clone(),
        stop_rx.clone(),
    ));
    let chaos_events_task = tokio::spawn(chaos_events::run(
        services.chaos.clone(),
        state.clone(),
        stop_rx.clone(),
    ));
    let guardrails = Arc::new(release::Guardrails {
        analysis,
        engine: Engine::new(cfg.query.clone()),
        querier: app_state.query.querier.clone(),
        state: state.clone(),
        clock: clock.clone(),
        actions: rollback_actions.clone(),
        outbound: outbound.clone(),
        page_window: cfg.rollback_page_window,
        rules: rule_manager.clone(),
        leadership: cluster.leadership.clone(),
    });
    let guardrails_task = tokio::spawn(release::run(guardrails, stop_rx.clone()));
    let gate_task = tokio::spawn(release::refresh_gate(
        services.gate.clone(),
        stop_rx.clone(),
    ));
    let notifier = notifier::Notifier::new(cfg.alerting.queue_capacity);
    // Without external Alertmanagers, the rule engine's alerts go to the
    // built-in one in-process, when its routes come from a file: the
    // default route would open incidents for rules nobody routed.
    let local_am = (!cfg.alertmanager.is_default() && cfg.alerting.alertmanagers.is_empty())
        .then(|| builtin.am.clone());
    let notify_task = tokio::spawn(notifier.clone().run(
        cfg.alerting.alertmanagers.clone(),
        local_am,
        outbound.clone(),
        stop_rx.clone(),
    ));
    let delivery_task = tokio::spawn(builtin.clone().run(stop_rx.clone()));
    let rule_tasks = Arc::new(tokio::sync::Mutex::new(rules::RuleTasks::start(
        rule_manager.clone(),
        notifier.clone(),
        cluster.leadership.clone(),
    )));
    let reload_task = tokio::spawn(reload::reload_loop(
        cfg.clone(),
        reload::Reloadable {
            scraper: scrape_reloader,
            rules: rule_tasks.clone(),
            slos,
            slo_windows,
            gate,
            rollback: rollback_actions.clone(),
            dependencies,
            signals: signal_services,
            deploy_admission,
            toil,
            remediation: remediation_policies,
            incidents: incident_hub.clone(),
            status: reload_status,
            clock: clock.clone(),
            self_target,
            alertmanager: builtin.clone(),
            web: web.clone(),
        },
        reload_rx,
        stop_rx.clone(),
    ));

    let scheme = if web.current().tls_server_config.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(url = %format!("{scheme}://{addr}"), data_dir = %cfg.data_dir.display(), "homeostat is serving");
    let mut auth = auth_settings(&cfg, &web, clock.clone())?;
    auth.tokens = Some(services.tokens.clone());
    let app = homeostat_http::router_with_auth(app_state, auth);
    let self_scrape_task = tokio::spawn(self_scrape.serve(app.clone(), stop_rx.clone()));
    let http = tokio::spawn(listener::serve(
        listener,
        app,
        web.subscribe_transport(),
        cfg.web.clone(),
        listener_stats,
        stop_rx.clone(),
    ));
    shutdown.await;
    traffic.shutdown();
    tracing::info!("shutting down: stale-marking scraped series, flushing storage");
    let _ = stop_tx.send(true);
    let _ = scrape_task.await;
    let _ = reload_task.await;
    let _ = escalation_task.await;
    let _ = guardrails_task.await;
    let _ = gate_task.await;
    let _ = monkey_task.await;
    let _ = zone_task.await;
    let _ = chaos_events_task.await;
    let _ = remediation_task.await;
    rule_tasks.lock().await.stop().await;
    let _ = notify_task.await;
    let _ = delivery_task.await;
    if let Some(m) = maint {
        let _ = m.await;
    }
    // Last of the acting tasks: the lease is given up only once nothing
    // acts any more.
    if let Some(t) = election_task {
        let _ = t.await;
    }
    if let Some(s) = sync {
        let _ = s.await;
    }
    if let Err(e) = http.await {
        tracing::warn!(error = %e, "http listener task failed");
    }
    if let Some(fp) = fault_proxy {
        let _ = fp.task.await;
    }
    if let Err(e) = self_scrape_task.await {
        tracing::warn!(error = %e, "self-scrape listener task failed");
    }
    store.close().await;
    Ok(())
}

/// Where the self-scrape job scrapes (the loopback self-scrape listener)
/// and the `instance` its series carry (the public listen address, as
/// before that listener existed).
#[derive(Debug, Clone)]
pub(crate) struct SelfTarget {
    pub scrape_addr: String,
    pub instance: String,
}

pub(crate) fn self_scrape_config(target: &SelfTarget, interval: Duration) -> ScrapeConfig {
    let interval = homeostat_model::format_duration(interval);
    ScrapeConfig {
        job_name: "homeostat".into(),
        scrape_interval: Some(interval.clone()),
        scrape_timeout: Some(interval),
        metrics_path: None,
        scheme: None,
        params: Default::default(),
        honor_labels: false,
        honor_timestamps: None,
        sample_limit: 0,
        label_limit: 0,
        static_configs: vec![StaticConfig {
            targets: vec![target.scrape_addr.clone()],
            labels: [("instance".to_string(), target.instance.clone())]
                .into_iter()
                .collect(),
        }],
        relabel_configs: vec![],
        metric_relabel_configs: vec![],
    }
}

async fn maintenance_loop(tsdb: Arc<Tsdb>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let db = tsdb.clone();
        match tokio::task::spawn_blocking(move || db.run_maintenance()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "storage maintenance failed"),
            Err(e) => tracing::error!(error = %e, "maintenance task failed"),
        }
    }
}

async fn sync_loop(tsdb: Arc<Tsdb>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let db = tsdb.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || db.sync_wal()).await {
            tracing::error!(error = %e, "wal fsync failed");
        }
    }
}
