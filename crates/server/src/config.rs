//! `homeostat.yaml`: the file format (serde types, unknown fields refused)
//! and its validation into the settings the server runs with. Each section
//! is validated beside its type (`config/<section>.rs`, `am_config.rs`,
//! `release.rs`) and reports a [`FieldError`]; [`Config::validate`] only
//! puts the sections together and names the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use homeostat_model::{FieldError, parse_duration};
use homeostat_tsdb::FsyncPolicy;
use serde::Deserialize;

mod alerting;
mod auth;
mod chaos;
mod chaos_monkey;
mod cluster;
mod dependencies;
mod deploys;
mod fault_proxy;
mod gate;
mod incidents;
mod query;
mod remediation;
mod remote_storage;
mod services;
mod slo;
mod state;
mod storage;
mod traffic;
mod web;
mod zone_balance;
pub use alerting::{AlertingConfig, AlertingSection, AlertmanagerConfig, AlertmanagerSection};
pub use auth::{AuthConfig, AuthSection, check_exposure};
pub use chaos::ChaosSection;
pub use cluster::{ClusterConfig, ClusterSection};
pub use deploys::DeploysSection;
pub use fault_proxy::{FaultProxyConfig, FaultProxySection};
pub use gate::GateSection;
pub use incidents::{EscalationRoute, IncidentsConfig, IncidentsRuntime, IncidentsSection};
pub use query::{QueryBackend, QueryBackendSection, QuerySection};
pub use remote_storage::{RemoteStorage, RemoteStorageSection, StorageMode};
pub use services::ServiceSection;
pub use state::{StateConfig, StateSection};
pub use storage::{LimitsSection, StorageSection};
pub use traffic::TrafficSection;
pub use web::{ListenerLimits, WebSection};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {detail}")]
    Parse { path: String, detail: String },
    #[error("config file {path}: field `{}`: {}", .error.field, .error.detail())]
    Invalid { path: String, error: FieldError },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub storage: StorageSection,
    #[serde(default)]
    pub limits: LimitsSection,
    /// Where silences, incidents, the notification log and the audit log
    /// live: SQLite in `data_dir` (default) or PostgreSQL (docs/state.md).
    #[serde(default)]
    pub state: StateSection,
    #[serde(default)]
    pub query: QuerySection,
    #[serde(default)]
    pub global: homeostat_ingest::GlobalConfig,
    #[serde(default)]
    pub scrape_configs: Vec<homeostat_ingest::ScrapeConfig>,
    /// Scrape homeostat's own /metrics (job "homeostat"). Defaults to true.
    pub self_scrape: Option<bool>,
    /// Interval of the self scrape. Defaults to 10s.
    pub self_scrape_interval: Option<String>,
    /// Where PromQL and the read APIs get their data. Defaults to the embedded store.
    #[serde(default)]
    pub query_backend: QueryBackendSection,
    /// Prometheus rule files (glob patterns), evaluated by the rule engine.
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// SLO spec files (glob patterns, relative to this file): their budgets
    /// are served at /api/v1/slos, and they are compiled in the default mode
    /// and evaluated as extra rule groups.
    #[serde(default)]
    pub slo_files: Vec<String>,
    /// Sloth `AlertWindows` files (relative to this file): burn-rate alert
    /// windows for SLOs of the period each names; other periods keep the
    /// Workbook's.
    #[serde(default)]
    pub slo_windows: Vec<String>,
    /// Where firing and resolved alerts are sent.
    #[serde(default)]
    pub alerting: AlertingSection,
    /// The URL homeostat is reached at, for alert `generatorURL`s and
    /// `$externalURL`. Defaults to `http://<listen>`.
    pub external_url: Option<String>,
    /// Services whose golden signals (latency, traffic, errors, saturation)
    /// are recorded and shown in the console.
    #[serde(default)]
    pub services: Vec<ServiceSection>,
    /// Users, schedules and escalation policies (docs/oncall.md); kept as
    /// YAML here so the on-call crate reports errors with its field paths.
    pub oncall: Option<serde_norway::Value>,
    /// Which alert groups open incidents and which policy pages for them
    /// (docs/incidents.md).
    #[serde(default)]
    pub incidents: IncidentsSection,
    /// The built-in Alertmanager's configuration: `{config_file:
    /// alertmanager.yml}`. Without it the built-in default route runs.
    pub alertmanager: Option<crate::am_config::AlertmanagerSection>,
    /// Error-budget deploy gates (docs/gate.md).
    #[serde(default)]
    pub gate: GateSection,
    /// Automatic rollback actions per service (docs/gate.md).
    #[serde(default)]
    pub rollback: crate::release::RollbackSection,
    /// Which deploys are recorded (docs/gate.md).
    #[serde(default)]
    pub deploys: DeploysSection,
    /// The listener's limits and the host names browsers may use
    /// (docs/security.md).
    #[serde(default)]
    pub web: WebSection,
    /// Who must authenticate, per-user scopes, a trusted proxy
    /// (docs/security.md).
    #[serde(default, deserialize_with = "auth::section")]
    pub auth: AuthSection,
    /// Replicas sharing the state database, one leading (docs/ha.md).
    #[serde(default)]
    pub cluster: ClusterSection,
    /// The Toxiproxy-compatible TCP fault proxy (docs/fault-proxy.md).
    #[serde(default)]
    pub fault_proxy: FaultProxySection,
    /// The HTTP traffic proxy's routes (docs/traffic.md).
    #[serde(default)]
    pub traffic: TrafficSection,
    /// Chaos Toolkit experiments (docs/chaos.md).
    #[serde(default)]
    pub chaos: ChaosSection,
    /// Remediation policies (docs/remediation.md).
    #[serde(default)]
    pub remediation: homeostat_remediation::RemediationSpec,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub retention: Duration,
    pub block_duration: Duration,
    pub wal_fsync: FsyncPolicy,
    pub max_active_series: Option<usize>,
    /// Validated `state:`: the state backend.
    pub state: StateConfig,
    pub limits: homeostat_http::Limits,
    /// `limits.write_threads` / `limits.write_nice`.
    pub write_pool: homeostat_http::write_pool::WritePoolOptions,
    pub query: homeostat_promql::EngineOptions,
    /// `query.max_concurrency`, `query.max_queued`, `query.queue_timeout`.
    pub query_slots: homeostat_http::query_slots::QuerySlotOptions,
    pub global: homeostat_ingest::GlobalConfig,
    pub scrape_configs: Vec<homeostat_ingest::ScrapeConfig>,
    pub self_scrape: bool,
    pub self_scrape_interval: Duration,
    /// Where reads go. With `storage.mode: remote`, the remote backend.
    pub query_backend: QueryBackend,
    /// `storage.mode`: the embedded tsdb, or a remote engine for reads and writes.
    pub storage_mode: StorageMode,
    pub rule_files: Vec<String>,
    pub slo_files: Vec<String>,
    pub evaluation_interval: Duration,
    pub alerting: AlertingConfig,
    pub external_url: Option<String>,
    /// Loaded and validated SLO specs (`slo_files`).
    pub slos: Vec<homeostat_slo::SloSpec>,
    /// Alert windows by period (`slo_windows`).
    pub slo_windows: Vec<homeostat_slo::AlertWindows>,
    /// Services whose golden signals are recorded.
    pub services: Vec<homeostat_slo::ServiceSignals>,
    /// `services[].depends_on`: each service's direct dependencies.
    pub dependencies: BTreeMap<String, Vec<String>>,
    /// `services[].team`: service → owning team, for the toil ledger.
    pub teams: BTreeMap<String, String>,
    /// Validated `oncall:` and `incidents:` sections.
    pub incidents: IncidentsRuntime,
    /// The built-in Alertmanager: the file `alertmanager.config_file`
    /// names, else the built-in default route.
    pub alertmanager: crate::am_config::BuiltinAlertmanager,
    /// Validated `gate.policies`.
    pub gate: Vec<homeostat_gate::Policy>,
    /// Validated `rollback.actions`, by service.
    pub rollback: std::collections::BTreeMap<String, crate::release::Action>,
    /// `rollback.page_window`.
    pub rollback_page_window: Duration,
    /// `deploys:` with the names under `services:`.
    pub deploys: homeostat_app::DeployAdmission,
    /// `web.allowed_hosts`: DNS names besides `external_url` that requests
    /// may name in `Host`.
    pub allowed_hosts: Vec<String>,
    /// `--web.config.file` (a command-line flag, like Prometheus's; not a
    /// key of the config file): TLS, basic-auth users, response headers.
    pub web_config_file: Option<PathBuf>,
    /// `web:`: the listener's timeouts and connection cap.
    pub web: ListenerLimits,
    /// Validated `auth:`.
    pub auth: AuthConfig,
    /// Validated `cluster:`.
    pub cluster: ClusterConfig,
    /// Validated `fault_proxy:`.
    pub fault_proxy: FaultProxyConfig,
    /// Validated `traffic.routes`: the proxies started at serve (restart-only).
    pub traffic: Vec<homeostat_traffic::RouteSpec>,
    /// Validated `traffic.routes[].zone_balance`.
    pub zone_balance: Vec<homeostat_app::ZoneBalance>,
    /// Validated `chaos:`.
    pub chaos: homeostat_app::ChaosConfig,
    /// Validated `chaos.target_groups` with a `chaos.monkey` schedule.
    pub monkey: Vec<homeostat_app::MonkeyGroup>,
    /// Validated `remediation:` (reloadable).
    pub remediation: homeostat_remediation::Remediation,
    /// The file this config was read from; `None` for the embedded default.
    /// A reload (SIGHUP, `POST /-/reload`) reads it again.
    pub source: Option<PathBuf>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9797";

impl Config {
    /// What the toil ledger reads: the services' teams and the on-call
    /// schedules (a team's is the one with its name).
    pub fn toil(&self) -> homeostat_app::ToilConfig {
        homeostat_app::ToilConfig {
            teams: self.teams.clone(),
            oncall: std::sync::Arc::new(self.incidents.oncall.clone()),
            ..Default::default()
        }
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        let file: FileConfig = serde_norway::from_str(&text).map_err(|e| ConfigError::Parse {
            path: p.clone(),
            detail: e.to_string(),
        })?;
        let mut cfg = Self::validate(file, &p)?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// The embedded default: listen on loopback, data in ./data, scrape
    /// itself, the built-in Alertmanager with its default route.
    pub fn default_config() -> Config {
        // The default file config always validates; a failure here is a bug.
        Self::validate(FileConfig::default(), "<defaults>")
            .unwrap_or_else(|e| panic!("default config invalid: {e}"))
    }

    /// Validates every section of `f`, read from the file `path` (relative
    /// file names in it are resolved against its directory).
    pub fn validate(f: FileConfig, path: &str) -> Result<Config, ConfigError> {
        Self::sections(f, path).map_err(|error| ConfigError::Invalid {
            path: path.to_string(),
            error,
        })
    }

    fn sections(f: FileConfig, path: &str) -> Result<Config, FieldError> {
        let listen_s = f.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_s.parse().map_err(|_| {
            FieldError::new(
                "listen",
                format!("{listen_s:?} is not an address like 127.0.0.1:9797"),
            )
        })?;
        let storage = f.storage.validate()?;
        let state = f.state.validate(path)?;
        let shared_state = matches!(state, StateConfig::Postgres { .. });
        let (limits, write_pool) = f.limits.validate()?;
        let query = f.query.validate()?;
        let query_slots = f.query.slots()?;
        homeostat_ingest::validate(&f.global, &f.scrape_configs)
            .map_err(|e| FieldError::new("scrape_configs", e.to_string()))?;
        let data_dir = f.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let base = Path::new(path).parent().unwrap_or(Path::new(""));
        let storage_mode = f.storage.mode(base, &data_dir)?;
        let mut query_backend = f.query_backend.validate()?;
        if let StorageMode::Remote(r) = &storage_mode {
            if !matches!(query_backend, QueryBackend::Embedded) {
                return Err(FieldError::new(
                    "query_backend",
                    "storage.mode: remote reads from storage.remote; remove query_backend",
                ));
            }
            query_backend = QueryBackend::Remote(r.read.clone());
        }
        let evaluation_interval = duration_or(
            "global.evaluation_interval",
            &f.global.evaluation_interval,
            "1m",
        )?;
        let alerting = f.alerting.validate()?;
        let oncall =
            incidents::oncall(f.oncall.clone()).map_err(|e| FieldError::new("oncall", e))?;
        let incidents = incidents::incidents(&f.incidents, &oncall)?;
        let slos = slo::load_slos(&relative_to(&f.slo_files, path))?;
        let gate = f.gate.validate(&slos)?;
        let dependencies = dependencies::validate(&f.services, &slos)?;
        Ok(Config {
            listen,
            data_dir,
            retention: storage.retention,
            block_duration: storage.block_duration,
            wal_fsync: storage.wal_fsync,
            max_active_series: storage.max_active_series,
            state,
            limits,
            write_pool,
            query,
            query_slots,
            global: f.global,
            scrape_configs: f.scrape_configs,
            self_scrape: f.self_scrape.unwrap_or(true),
            self_scrape_interval: duration_or(
                "self_scrape_interval",
                &f.self_scrape_interval,
                "10s",
            )?,
            query_backend,
            storage_mode,
            rule_files: relative_to(&f.rule_files, path),
            slo_files: relative_to(&f.slo_files, path),
            evaluation_interval,
            alerting,
            external_url: f.external_url.map(|u| u.trim_end_matches('/').to_string()),
            slos,
            slo_windows: slo::load_windows(&relative_to(&f.slo_windows, path))?,
            services: services::validate(&f.services)?,
            teams: services::teams(&f.services),
            dependencies,
            incidents: IncidentsRuntime { oncall, incidents },
            alertmanager: crate::am_config::validate(f.alertmanager.as_ref(), path)?,
            gate,
            rollback: crate::release::validate(&f.rollback)?,
            rollback_page_window: crate::release::page_window(&f.rollback)?,
            deploys: f.deploys.admission(&f.services, &f.rollback),
            allowed_hosts: f.web.allowed_hosts()?,
            web_config_file: None,
            web: f.web.validate()?,
            auth: f.auth.validate()?,
            cluster: f.cluster.validate(shared_state)?,
            fault_proxy: f.fault_proxy.validate()?,
            traffic: f.traffic.validate(listen)?,
            zone_balance: f.traffic.zone_balances()?,
            chaos: f.chaos.validate()?,
            monkey: f.chaos.monkey_groups(base)?,
            remediation: remediation::validate(&f.remediation, &f.chaos)?,
            source: None,
        })
    }
}

/// A duration field that must be greater than zero, `default` when unset.
pub(crate) fn duration_or(
    field: &str,
    value: &Option<String>,
    default: &str,
) -> Result<Duration, FieldError> {
    match positive_duration(field, value)? {
        Some(d) => Ok(d),
        None => parse_duration(default).map_err(|e| FieldError::new(field, e.to_string())),
    }
}

/// An optional duration field that, when set, must be greater than zero.
pub(crate) fn positive_duration(
    field: &str,
    value: &Option<String>,
) -> Result<Option<Duration>, FieldError> {
    match value {
        None => Ok(None),
        Some(s) => match parse_duration(s) {
            Ok(d) if !d.is_zero() => Ok(Some(d)),
            Ok(_) => Err(FieldError::new(field, "must be greater than zero")),
            Err(e) => Err(FieldError::new(field, e.to_string())),
        },
    }
}

/// A count or size that must be greater than zero.
pub(crate) fn positive(field: &str, n: usize) -> Result<usize, FieldError> {
    if n == 0 {
        return Err(FieldError::new(field, "must be greater than zero"));
    }
    Ok(n)
}

/// Whether `url` (without a trailing slash) looks like an http(s) base URL.
pub(crate) fn http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && url.len() >= 9
}

/// Glob patterns relative to the config file's directory, as Prometheus
/// resolves `rule_files`.
fn relative_to(patterns: &[String], path: &str) -> Vec<String> {
    let base = Path::new(path).parent().unwrap_or(Path::new(""));
    patterns
        .iter()
        .map(|p| {
            if Path::new(p).is_absolute() || base.as_os_str().is_empty() {
                p.clone()
            } else {
                base.join(p).display().to_string()
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Validates a config given as YAML, read from a file named `t`.
    pub(crate) fn parse(yaml: &str) -> Result<Config, ConfigError> {
        let f: FileConfig = serde_norway::from_str(yaml).map_err(|e| ConfigError::Parse {
            path: "t".into(),
            detail: e.to_string(),
        })?;
        Config::validate(f, "t")
    }

    #[test]
    fn defaults_and_errors_name_the_file_and_field() {
        let c = parse("{}").unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert!(c.self_scrape);
        let e = parse("listen: nowhere").unwrap_err().to_string();
        assert!(e.contains("listen"), "{e}");
        let e = parse("self_scrape_interval: 0s").unwrap_err().to_string();
        assert_eq!(
            e,
            "config file t: field `self_scrape_interval`: must be greater than zero"
        );
    }

    #[test]
    fn alertmanager_section_loads_the_file_and_names_errors() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let main = dir.path().join("homeostat.yml");
        std::fs::write(
            dir.path().join("am.yml"),
            "route: {receiver: x}\nreceivers: [{name: x}]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            &main,
            "alertmanager: {config_file: am.yml, retention: 1h}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = Config::load(&main).unwrap_or_else(|e| panic!("{e}"));
        let am = c.alertmanager;
        assert!(am.config_file.is_some());
        assert_eq!(am.retention, Duration::from_secs(3600));
        assert_eq!(am.resolve_timeout, Duration::from_secs(300));
        std::fs::write(&main, "alertmanager: {config_file: missing.yml}\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let e = Config::load(&main)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("alertmanager.config_file") && e.contains("missing.yml"),
            "{e}"
        );
        std::fs::write(
            &main,
            "alertmanager: {config_file: am.yml, resolve_timeout: 0s}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = Config::load(&main)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("alertmanager.resolve_timeout"), "{e}");
        let e = parse("alertmanager: {file: am.yml}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("unknown field `file`"), "{e}");
    }

    #[test]
    fn without_alertmanager_section_the_default_route_runs() {
        let am = parse("{}").unwrap().alertmanager;
        assert!(am.config_file.is_none());
        assert_eq!(am.original, crate::am_config::DEFAULT_CONFIG);
        assert_eq!(am.config.route.opts.receiver, "default");
        assert_eq!(am.targets.keys().collect::<Vec<_>>(), ["default"]);
        assert!(am.targets["default"].is_empty());
    }

    #[test]
    fn example_file_is_valid_and_shows_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../homeostat.example.yaml");
        let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let d = homeostat_promql::EngineOptions::default();
        assert_eq!(c.query.timeout, d.timeout);
        assert_eq!(c.query.max_samples, d.max_samples);
        assert_eq!(c.query.lookback_delta, d.lookback_delta);
        assert_eq!(c.query.max_points_per_series, d.max_points_per_series);
    }
}
