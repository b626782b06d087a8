//! `homeostat.yaml`: the file format (serde types, unknown fields refused)
//! and its validation into the settings the server runs with.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use homeostat_model::{format_duration, parse_duration};
use homeostat_tsdb::FsyncPolicy;
use serde::Deserialize;

mod dependencies;
mod incidents;
pub use incidents::{EscalationRoute, IncidentsConfig, IncidentsRuntime, IncidentsSection};

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
    #[error("config file {path}: field `{field}`: {detail}")]
    Invalid {
        path: String,
        field: String,
        detail: String,
    },
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
    /// The built-in Alertmanager: `{config_file: alertmanager.yml}`.
    pub alertmanager: Option<crate::am_config::AlertmanagerSection>,
    /// Error-budget deploy gates (docs/gate.md).
    #[serde(default)]
    pub gate: GateSection,
    /// Automatic rollback actions per service (docs/gate.md).
    #[serde(default)]
    pub rollback: crate::release::RollbackSection,
}

/// `gate: {policies: [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSection {
    #[serde(default)]
    pub policies: Vec<homeostat_gate::PolicySpec>,
}

/// `services: [{name, convention, selector, saturation, depends_on}]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    pub name: String,
    /// `prometheus` (`http_requests_total`, `http_request_duration_seconds`,
    /// label `code`; the default) or `opentelemetry`
    /// (`http_server_request_duration_seconds`, `http_response_status_code`).
    pub convention: Option<String>,
    /// Label matchers without braces selecting the service's series, e.g. `job="checkout"`.
    #[serde(default)]
    pub selector: String,
    /// PromQL for the saturation ratio (0..1), e.g. CPU used over the limit.
    pub saturation: Option<String>,
    /// Services this one calls (names from `services:` or the SLO files):
    /// their deploys are suspects in its incidents, transitively.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// `alerting: {alertmanagers: [{url: http://host:9093}]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSection {
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerSection>,
    /// How often a still-firing alert is re-sent. Defaults to 1m.
    pub resend_delay: Option<String>,
    /// Most alerts waiting to be sent; the oldest are dropped beyond it. Defaults to 10000.
    pub queue_capacity: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSection {
    /// Base URL; alerts are posted to `<url>/api/v2/alerts`.
    pub url: String,
    /// Per-request deadline. Defaults to 10s.
    pub timeout: Option<String>,
}

/// The validated `alerting` section.
#[derive(Debug, Clone)]
pub struct AlertingConfig {
    pub alertmanagers: Vec<AlertmanagerConfig>,
    pub resend_delay: Duration,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone)]
pub struct AlertmanagerConfig {
    /// Without a trailing slash.
    pub url: String,
    pub timeout: Duration,
}

/// `query_backend:` — `{kind: embedded}` (default) or `{kind: remote,
/// read_url: ..., api_url: ..., timeout: 30s, headers: {...}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBackendSection {
    /// `embedded` or `remote`.
    pub kind: Option<String>,
    /// Remote-read endpoint, e.g. `http://prom:9090/api/v1/read`.
    pub read_url: Option<String>,
    /// HTTP API base, e.g. `http://prom:9090`; derived from `read_url` when
    /// that ends in `/api/v1/read`.
    pub api_url: Option<String>,
    /// Per-request deadline. Defaults to 30s.
    pub timeout: Option<String>,
    /// Sent with every request, e.g. `Authorization` or `X-Scope-OrgID`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Largest accepted response, decompressed. Defaults to 512 MiB.
    pub max_response_bytes: Option<usize>,
}

/// The validated query backend.
#[derive(Debug, Clone, Default)]
pub enum QueryBackend {
    /// Queries read the embedded store that ingestion writes to.
    #[default]
    Embedded,
    /// Queries read a remote Prometheus-compatible server; ingestion still
    /// writes to the embedded store.
    Remote(homeostat_remote::RemoteConfig),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    pub retention: Option<String>,
    pub block_duration: Option<String>,
    /// `always`, `never`, or a duration such as `1s`.
    pub wal_fsync: Option<String>,
    pub max_active_series: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub max_request_body_bytes: Option<usize>,
    pub max_decompressed_bytes: Option<usize>,
    pub max_series_per_request: Option<usize>,
    /// Threads decoding and appending writes (default: one per core).
    pub write_threads: Option<usize>,
    /// How much lower than request threads the write threads run (nice
    /// increment, 0..=19, default 5): under full-speed ingest, reads such as
    /// the deploy gate keep answering in milliseconds.
    pub write_nice: Option<i32>,
}

/// PromQL limits; each maps onto one `homeostat_promql::EngineOptions` field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySection {
    /// Longest a query may run (a request's `timeout` can only shorten it).
    pub timeout: Option<String>,
    /// Most samples one query may load.
    pub max_samples: Option<usize>,
    /// How far back an instant selector looks for a sample.
    pub lookback_delta: Option<String>,
    /// Most points per series a range query may return.
    pub max_points_per_series: Option<usize>,
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
    pub limits: homeostat_http::Limits,
    /// `limits.write_threads` / `limits.write_nice`.
    pub write_pool: homeostat_http::write_pool::WritePoolOptions,
    pub query: homeostat_promql::EngineOptions,
    pub global: homeostat_ingest::GlobalConfig,
    pub scrape_configs: Vec<homeostat_ingest::ScrapeConfig>,
    pub self_scrape: bool,
    pub self_scrape_interval: Duration,
    pub query_backend: QueryBackend,
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
    /// Validated `oncall:` and `incidents:` sections.
    pub incidents: IncidentsRuntime,
    /// The built-in Alertmanager, when `alertmanager:` is set.
    pub alertmanager: Option<crate::am_config::BuiltinAlertmanager>,
    /// Validated `gate.policies`.
    pub gate: Vec<homeostat_gate::Policy>,
    /// Validated `rollback.actions`, by service.
    pub rollback: std::collections::BTreeMap<String, crate::release::Action>,
    /// `rollback.page_window`.
    pub rollback_page_window: Duration,
    /// The file this config was read from; `None` for the embedded default.
    /// A reload (SIGHUP, `POST /-/reload`) reads it again.
    pub source: Option<PathBuf>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9797";

impl Config {
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

    /// The embedded default: listen on loopback, data in ./data, scrape itself.
    pub fn default_config() -> Config {
        // The default file config always validates; a failure here is a bug.
        Self::validate(FileConfig::default(), "<defaults>")
            .unwrap_or_else(|e| panic!("default config invalid: {e}"))
    }

    pub fn validate(f: FileConfig, path: &str) -> Result<Config, ConfigError> {
        let invalid = |field: &str, detail: String| ConfigError::Invalid {
            path: path.to_string(),
            field: field.to_string(),
            detail,
        };
        let dur =
            |field: &str, v: &Option<String>, default: &str| -> Result<Duration, ConfigError> {
                let s = v.as_deref().unwrap_or(default);
                let d = parse_duration(s).map_err(|e| invalid(field, e.to_string()))?;
                if d.is_zero() {
                    return Err(invalid(field, "must be greater than zero".into()));
                }
                Ok(d)
            };
        let listen_s = f
            .listen
            .clone()
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_s.parse().map_err(|_| {
            invalid(
                "listen",
                format!("{listen_s:?} is not an address like 127.0.0.1:9797"),
            )
        })?;
        let retention = dur("storage.retention", &f.storage.retention, "15d")?;
        let block_duration = dur("storage.block_duration", &f.storage.block_duration, "2h")?;
        if block_duration < Duration::from_secs(60) {
            return Err(invalid(
                "storage.block_duration",
                "must be at least 1m".into(),
            ));
        }
        let wal_fsync = match f.storage.wal_fsync.as_deref().unwrap_or("1s") {
            "always" => FsyncPolicy::Always,
            "never" => FsyncPolicy::Never,
            other => FsyncPolicy::Interval(parse_duration(other).map_err(|e| {
                invalid(
                    "storage.wal_fsync",
                    format!("expected always, never or a duration: {e}"),
                )
            })?),
        };
        let d = homeostat_http::Limits::default();
        let limits = homeostat_http::Limits {
            max_request_body_bytes: f
                .limits
                .max_request_body_bytes
                .unwrap_or(d.max_request_body_bytes),
            max_decompressed_bytes: f
                .limits
                .max_decompressed_bytes
                .unwrap_or(d.max_decompressed_bytes),
            max_series_per_request: f
                .limits
                .max_series_per_request
                .unwrap_or(d.max_series_per_request),
        };
        for (field, v) in [
            (
                "limits.max_request_body_bytes",
                limits.max_request_body_bytes,
            ),
            (
                "limits.max_decompressed_bytes",
                limits.max_decompressed_bytes,
            ),
            (
                "limits.max_series_per_request",
                limits.max_series_per_request,
            ),
        ] {
            if v == 0 {
                return Err(invalid(field, "must be greater than zero".into()));
            }
        }
        let dw = homeostat_http::write_pool::WritePoolOptions::default();
        let write_pool = homeostat_http::write_pool::WritePoolOptions {
            threads: match f.limits.write_threads {
                Some(0) => {
                    return Err(invalid(
                        "limits.write_threads",
                        "must be greater than zero".into(),
                    ));
                }
                Some(n) => n,
                None => dw.threads,
            },
            nice: match f.limits.write_nice {
                Some(n) if !(0..=19).contains(&n) => {
                    return Err(invalid(
                        "limits.write_nice",
                        format!("{n} is outside 0..=19 (0 = same priority as requests)"),
                    ));
                }
                Some(n) => n,
                None => dw.nice,
            },
        };
        let dq = homeostat_promql::EngineOptions::default();
        let query = homeostat_promql::EngineOptions {
            timeout: dur(
                "query.timeout",
                &f.query.timeout,
                &format_duration(dq.timeout),
            )?,
            lookback_delta: dur(
                "query.lookback_delta",
                &f.query.lookback_delta,
                &format_duration(dq.lookback_delta),
            )?,
            max_samples: f.query.max_samples.unwrap_or(dq.max_samples),
            max_points_per_series: f
                .query
                .max_points_per_series
                .unwrap_or(dq.max_points_per_series),
            ..dq
        };
        for (field, v) in [
            ("query.max_samples", query.max_samples),
            ("query.max_points_per_series", query.max_points_per_series),
        ] {
            if v == 0 {
                return Err(invalid(field, "must be greater than zero".into()));
            }
        }
        homeostat_ingest::validate(&f.global, &f.scrape_configs)
            .map_err(|e| invalid("scrape_configs", e.to_string()))?;
        let query_backend = query_backend(&f.query_backend, path)?;
        let evaluation_interval = dur(
            "global.evaluation_interval",
            &f.global.evaluation_interval,
            "1m",
        )?;
        let mut alertmanagers = Vec::new();
        for (i, am) in f.alerting.alertmanagers.iter().enumerate() {
            let field = format!("alerting.alertmanagers[{i}]");
            let url = am.url.trim_end_matches('/').to_string();
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 9 {
                return Err(invalid(
                    &format!("{field}.url"),
                    format!("{:?} is not an http(s) URL like http://host:9093", am.url),
                ));
            }
            alertmanagers.push(AlertmanagerConfig {
                url,
                timeout: dur(&format!("{field}.timeout"), &am.timeout, "10s")?,
            });
        }
        let alerting = AlertingConfig {
            alertmanagers,
            resend_delay: dur("alerting.resend_delay", &f.alerting.resend_delay, "1m")?,
            queue_capacity: match f.alerting.queue_capacity {
                Some(0) => {
                    return Err(invalid(
                        "alerting.queue_capacity",
                        "must be greater than zero".into(),
                    ));
                }
                Some(n) => n,
                None => 10_000,
            },
        };
        let oncall =
            incidents::oncall(f.oncall.clone()).map_err(|detail| ConfigError::Invalid {
                path: path.to_string(),
                field: "oncall".into(),
                detail,
            })?;
        let incidents = incidents::incidents(&f.incidents, &oncall)
            .map_err(|(field, detail)| invalid(&field, detail))?;
        let slos = load_slos(&relative_to(&f.slo_files, path), path)?;
        let known = homeostat_gate::Known {
            slos: slos
                .iter()
                .map(|s| (s.service.clone(), s.id.clone()))
                .collect(),
        };
        let gate =
            homeostat_gate::validate(&f.gate.policies, &known, "gate.policies").map_err(|e| {
                ConfigError::Invalid {
                    path: path.to_string(),
                    field: e.field,
                    detail: format!("{}; {}", e.problem, e.fix),
                }
            })?;
        let dependencies = dependencies::validate(&f.services, &slos)
            .map_err(|(field, detail)| invalid(&field, detail))?;
        Ok(Config {
            listen,
            data_dir: f.data_dir.unwrap_or_else(|| PathBuf::from("data")),
            retention,
            block_duration,
            wal_fsync,
            max_active_series: f.storage.max_active_series.filter(|&n| n > 0),
            limits,
            write_pool,
            query,
            global: f.global,
            scrape_configs: f.scrape_configs,
            self_scrape: f.self_scrape.unwrap_or(true),
            self_scrape_interval: dur("self_scrape_interval", &f.self_scrape_interval, "10s")?,
            query_backend,
            rule_files: relative_to(&f.rule_files, path),
            slo_files: relative_to(&f.slo_files, path),
            evaluation_interval,
            alerting,
            external_url: f.external_url.map(|u| u.trim_end_matches('/').to_string()),
            slos,
            slo_windows: load_windows(&relative_to(&f.slo_windows, path), path)?,
            services: services(&f.services, path)?,
            dependencies,
            incidents: IncidentsRuntime { oncall, incidents },
            alertmanager: match &f.alertmanager {
                None => None,
                Some(section) => Some(
                    crate::am_config::load(section, path)
                        .map_err(|(field, detail)| invalid(&field, detail))?,
                ),
            },
            gate,
            rollback: crate::release::validate(&f.rollback).map_err(|(field, detail)| {
                ConfigError::Invalid {
                    path: path.to_string(),
                    field,
                    detail,
                }
            })?,
            rollback_page_window: crate::release::page_window(&f.rollback).map_err(
                |(field, detail)| ConfigError::Invalid {
                    path: path.to_string(),
                    field,
                    detail,
                },
            )?,
            source: None,
        })
    }
}

/// Validates `services:`: names are label values, selectors and saturation
/// queries must parse, and no service is declared twice.
fn services(
    list: &[ServiceSection],
    path: &str,
) -> Result<Vec<homeostat_slo::ServiceSignals>, ConfigError> {
    let mut out: Vec<homeostat_slo::ServiceSignals> = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let invalid = |field: &str, detail: String| ConfigError::Invalid {
            path: path.to_string(),
            field: format!("services[{i}].{field}"),
            detail,
        };
        if s.name.trim().is_empty() {
            return Err(invalid("name", "missing service name".into()));
        }
        if out.iter().any(|o| o.service == s.name) {
            return Err(invalid(
                "name",
                format!("service {:?} is declared twice", s.name),
            ));
        }
        let convention = match s.convention.as_deref() {
            None | Some("prometheus") => homeostat_slo::Convention::Prometheus,
            Some("opentelemetry") => homeostat_slo::Convention::OpenTelemetry,
            Some(other) => {
                return Err(invalid(
                    "convention",
                    format!("unknown convention {other:?}; use prometheus or opentelemetry"),
                ));
            }
        };
        if !s.selector.trim().is_empty() {
            let q = format!("up{{{}}}", s.selector);
            promql_parser::parser::parse(&q).map_err(|e| {
                invalid(
                    "selector",
                    format!("{:?} is not a label selector: {e}", s.selector),
                )
            })?;
        }
        if let Some(q) = &s.saturation {
            promql_parser::parser::parse(q).map_err(|e| invalid("saturation", e.to_string()))?;
        }
        out.push(homeostat_slo::ServiceSignals {
            service: s.name.clone(),
            convention,
            selector: s.selector.clone(),
            saturation: s.saturation.clone(),
        });
    }
    Ok(out)
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

/// Loads every SLO spec file matching the patterns, all at once: OpenSLO
/// documents may refer across files, and SLO ids must be unique across all
/// of them (the loader checks both).
fn load_slos(patterns: &[String], path: &str) -> Result<Vec<homeostat_slo::SloSpec>, ConfigError> {
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let invalid = |detail: String| ConfigError::Invalid {
        path: path.to_string(),
        field: "slo_files".into(),
        detail,
    };
    let files = homeostat_rules::expand_globs(patterns).map_err(|e| invalid(e.to_string()))?;
    homeostat_slo::load_specs_files(&files).map_err(|e| invalid(e.to_string()))
}

/// Reads the `slo_windows` files; two files for one period are refused.
fn load_windows(
    files: &[String],
    path: &str,
) -> Result<Vec<homeostat_slo::AlertWindows>, ConfigError> {
    let mut out: Vec<homeostat_slo::AlertWindows> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let invalid = |detail: String| ConfigError::Invalid {
            path: path.to_string(),
            field: format!("slo_windows[{i}]"),
            detail,
        };
        let text = std::fs::read_to_string(f).map_err(|e| invalid(format!("{f}: {e}")))?;
        let w =
            homeostat_slo::AlertWindows::from_yaml(&text, f).map_err(|e| invalid(e.to_string()))?;
        if out.iter().any(|o| o.period == w.period) {
            return Err(invalid(format!(
                "{f}: a second windows file for the period {}; give one file per period",
                homeostat_model::format_duration(w.period)
            )));
        }
        out.push(w);
    }
    Ok(out)
}

fn query_backend(q: &QueryBackendSection, path: &str) -> Result<QueryBackend, ConfigError> {
    let invalid = |field: &str, detail: String| ConfigError::Invalid {
        path: path.to_string(),
        field: format!("query_backend.{field}"),
        detail,
    };
    match q.kind.as_deref().unwrap_or("embedded") {
        "embedded" => {
            // Remote settings under `kind: embedded` are a mistake that would
            // otherwise go unnoticed until someone wonders why data is local.
            let stray = [
                ("read_url", q.read_url.is_some()),
                ("api_url", q.api_url.is_some()),
                ("timeout", q.timeout.is_some()),
                ("headers", !q.headers.is_empty()),
                ("max_response_bytes", q.max_response_bytes.is_some()),
            ];
            if let Some((field, _)) = stray.iter().find(|(_, set)| *set) {
                return Err(invalid(field, "only used with `kind: remote`".to_string()));
            }
            Ok(QueryBackend::Embedded)
        }
        "remote" => {
            let read_url = q
                .read_url
                .clone()
                .ok_or_else(|| invalid("read_url", "required with `kind: remote`".into()))?;
            let api_url = match &q.api_url {
                Some(u) => u.clone(),
                None => read_url
                    .trim_end_matches('/')
                    .strip_suffix("/api/v1/read")
                    .map(str::to_string)
                    .ok_or_else(|| {
                        invalid(
                            "api_url",
                            "required when read_url does not end in /api/v1/read".into(),
                        )
                    })?,
            };
            let mut rc = homeostat_remote::RemoteConfig::new(read_url, api_url);
            if let Some(t) = &q.timeout {
                rc.timeout = parse_duration(t).map_err(|e| invalid("timeout", e.to_string()))?;
            }
            if let Some(n) = q.max_response_bytes {
                rc.max_response_bytes = n;
            }
            rc.headers = q
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            rc.validate().map_err(|e| invalid(&e.field, e.detail))?;
            Ok(QueryBackend::Remote(rc))
        }
        other => Err(invalid(
            "kind",
            format!("{other:?}: expected embedded or remote"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Config, ConfigError> {
        let f: FileConfig = serde_norway::from_str(yaml).map_err(|e| ConfigError::Parse {
            path: "t".into(),
            detail: e.to_string(),
        })?;
        Config::validate(f, "t")
    }

    #[test]
    fn defaults_and_errors_name_the_field() {
        let c = parse("{}").unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.retention, Duration::from_secs(15 * 86400));
        assert!(c.self_scrape);
        let e = parse("storage: {retention: 5x}").unwrap_err().to_string();
        assert!(e.contains("storage.retention"), "{e}");
        let e = parse("listen: nowhere").unwrap_err().to_string();
        assert!(e.contains("listen"), "{e}");
        let e = parse("storage: {retnetion: 1d}").unwrap_err().to_string();
        assert!(e.contains("retnetion"), "{e}");
        let e = parse("limits: {max_series_per_request: 0}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_series_per_request"), "{e}");
        let e = parse("limits: {write_nice: 25}").unwrap_err().to_string();
        assert!(
            e.contains("limits.write_nice") && e.contains("0..=19"),
            "{e}"
        );
        let e = parse("limits: {write_threads: 0}").unwrap_err().to_string();
        assert!(e.contains("limits.write_threads"), "{e}");
        let w = parse("limits: {write_threads: 3, write_nice: 0}")
            .unwrap()
            .write_pool;
        assert_eq!((w.threads, w.nice), (3, 0));
        assert_eq!(
            parse("storage: {wal_fsync: always}").unwrap().wal_fsync,
            FsyncPolicy::Always
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
        let am = c.alertmanager.unwrap_or_else(|| panic!("no alertmanager"));
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
    fn rules_and_alerting() {
        let c = parse("{}").unwrap();
        assert!(c.rule_files.is_empty() && c.alerting.alertmanagers.is_empty());
        assert_eq!(c.evaluation_interval, Duration::from_secs(60));
        assert_eq!(c.alerting.resend_delay, Duration::from_secs(60));
        let c = parse(
            "global: {evaluation_interval: 15s}\nrule_files: ['rules/*.yml']\nslo_files: [slo.yaml]\nalerting: {alertmanagers: [{url: 'http://am:9093/'}]}",
        )
        .unwrap();
        assert_eq!(c.evaluation_interval, Duration::from_secs(15));
        assert_eq!(c.rule_files, vec!["rules/*.yml".to_string()]);
        assert_eq!(c.alerting.alertmanagers[0].url, "http://am:9093");
        assert_eq!(c.alerting.alertmanagers[0].timeout, Duration::from_secs(10));
        let e = parse("alerting: {alertmanagers: [{url: 'am:9093'}]}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alerting.alertmanagers[0].url"), "{e}");
        let e = parse("alerting: {alertmanager: []}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alertmanager"), "{e}");
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

    #[test]
    fn query_section_maps_to_engine_options() {
        let d = parse("{}").unwrap().query;
        assert_eq!(d.timeout, Duration::from_secs(120));
        assert_eq!(d.lookback_delta, Duration::from_secs(300));
        assert_eq!(d.max_points_per_series, 11_000);
        let q = parse(
            "query: {timeout: 30s, max_samples: 1000, lookback_delta: 1m, max_points_per_series: 500}",
        )
        .unwrap()
        .query;
        assert_eq!(q.timeout, Duration::from_secs(30));
        assert_eq!(q.max_samples, 1000);
        assert_eq!(q.lookback_delta, Duration::from_secs(60));
        assert_eq!(q.max_points_per_series, 500);
        for (yaml, field) in [
            ("query: {timeout: 0s}", "query.timeout"),
            ("query: {max_samples: 0}", "query.max_samples"),
            ("query: {lookback_delta: soon}", "query.lookback_delta"),
            ("query: {max_points: 5}", "max_points"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{yaml}: {e}");
        }
    }

    #[test]
    fn query_backend() {
        assert!(matches!(
            parse("{}").unwrap().query_backend,
            QueryBackend::Embedded
        ));
        let c = parse(
            "query_backend: {kind: remote, read_url: 'http://prom:9090/api/v1/read', timeout: 5s, headers: {X-Scope-OrgID: t1}}",
        )
        .unwrap();
        let QueryBackend::Remote(r) = c.query_backend else {
            panic!("expected remote")
        };
        assert_eq!(r.api_url, "http://prom:9090");
        assert_eq!(r.timeout, Duration::from_secs(5));
        assert_eq!(
            r.headers,
            vec![("X-Scope-OrgID".to_string(), "t1".to_string())]
        );
        for (yaml, field) in [
            ("query_backend: {kind: remote}", "query_backend.read_url"),
            ("query_backend: {kind: mimir}", "query_backend.kind"),
            (
                "query_backend: {read_url: 'http://p/api/v1/read'}",
                "query_backend.read_url",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/read'}",
                "query_backend.api_url",
            ),
            (
                "query_backend: {kind: remote, read_url: 'p:9090/api/v1/read'}",
                "query_backend.read_url",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/api/v1/read', timeout: 0s}",
                "query_backend.timeout",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/api/v1/read', timeout: soon}",
                "query_backend.timeout",
            ),
            (
                "query_backend: {kind: remote, read_url: 'http://p/api/v1/read', headers: {'a b': x}}",
                "query_backend.headers.a b",
            ),
            ("query_backend: {kind: remote, raed_url: x}", "raed_url"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{yaml}: {e}");
        }
    }

    #[test]
    fn slo_files_load_relative_to_the_config_and_errors_name_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let spec = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml"),
        )
        .unwrap();
        std::fs::write(dir.path().join("a.yaml"), &spec).unwrap();
        std::fs::write(dir.path().join("bad.yaml"), "version: prometheus/v1\nservice: x\nslos: [{name: s, objective: 120, sli: {raw: {error_ratio_query: 'x'}}}]\n").unwrap();
        let cfg = dir.path().join("homeostat.yaml");
        std::fs::write(&cfg, "slo_files: [a.yaml]\n").unwrap();
        let c = Config::load(&cfg).unwrap();
        assert_eq!(c.slos.len(), 1);
        assert_eq!(c.slos[0].id, "checkout-availability");
        std::fs::write(&cfg, "slo_files: [a.yaml, a.yaml]\n").unwrap();
        let e = Config::load(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("slo_files") && e.contains("duplicate SLO id"),
            "{e}"
        );
        std::fs::write(&cfg, "slo_files: [bad.yaml]\n").unwrap();
        let e = Config::load(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("slo_files") && e.contains("bad.yaml") && e.contains("objective"),
            "{e}"
        );
    }

    #[test]
    fn services_declare_golden_signals_and_errors_name_the_entry() {
        let c = parse(
            "services: [{name: checkout, selector: 'job=\"checkout\"', saturation: 'avg(x)'}, {name: api, convention: opentelemetry}]",
        )
        .unwrap();
        assert_eq!(c.services.len(), 2);
        assert_eq!(
            c.services[1].convention,
            homeostat_slo::Convention::OpenTelemetry
        );
        for (yaml, field) in [
            ("services: [{name: ''}]", "services[0].name"),
            ("services: [{name: a}, {name: a}]", "services[1].name"),
            (
                "services: [{name: a, convention: zipkin}]",
                "services[0].convention",
            ),
            (
                "services: [{name: a, selector: 'job='}]",
                "services[0].selector",
            ),
            (
                "services: [{name: a, saturation: 'sum('}]",
                "services[0].saturation",
            ),
            ("services: [{name: a, lables: {}}]", "lables"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{yaml}: {e}");
        }
    }
}
