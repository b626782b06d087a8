//! Scrape configuration in Prometheus's YAML shape (`global`,
//! `scrape_configs`), and its validation.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use homeostat_model::{format_duration, is_valid_label_name, parse_duration};
use serde::Deserialize;

use crate::IngestError;
use crate::relabel::{RelabelConfig, RelabelRule};

/// The `global` section: the fields scraping uses, and the rule engine's
/// `evaluation_interval` (validated by the server).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    pub scrape_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    /// Interval of rule groups that set none. Defaults to 1m.
    pub evaluation_interval: Option<String>,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One entry of `scrape_configs`. Durations stay strings until [`validate`]
/// so that a bad one is reported with its job and field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub scrape_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    pub metrics_path: Option<String>,
    pub scheme: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub honor_labels: bool,
    pub honor_timestamps: Option<bool>,
    #[serde(default)]
    pub sample_limit: usize,
    #[serde(default)]
    pub label_limit: usize,
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

/// A validated scrape job.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub metrics_path: String,
    pub scheme: String,
    pub params: BTreeMap<String, Vec<String>>,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub sample_limit: usize,
    pub label_limit: usize,
    pub static_configs: Vec<StaticConfig>,
    pub relabel: Vec<RelabelRule>,
    pub metric_relabel: Vec<RelabelRule>,
    /// The config this job came from, so a reload can tell whether it changed.
    pub(crate) source: ScrapeConfig,
}

impl Job {
    /// Whether reloading from `self` to `other` leaves the job's scraping as is.
    pub(crate) fn same_as(&self, other: &Job) -> bool {
        self.source == other.source
            && self.interval == other.interval
            && self.timeout == other.timeout
    }
}

fn dur(
    job: &str,
    field: &str,
    v: Option<&str>,
    default: Duration,
) -> Result<Duration, IngestError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(s).map_err(|e| config_error(job, field, e.to_string())),
    }
}

fn config_error(job: &str, field: &str, detail: impl Into<String>) -> IngestError {
    IngestError::Config {
        job: job.into(),
        field: field.into(),
        detail: detail.into(),
    }
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The global defaults after Prometheus's rules: a timeout left out is 10s,
/// or the interval when that is shorter.
fn global_defaults(global: &GlobalConfig) -> Result<(Duration, Duration), IngestError> {
    let interval = dur(
        "global",
        "scrape_interval",
        global.scrape_interval.as_deref(),
        DEFAULT_INTERVAL,
    )?;
    if interval.is_zero() {
        return Err(config_error(
            "global",
            "scrape_interval",
            "must be greater than zero",
        ));
    }
    let timeout = dur(
        "global",
        "scrape_timeout",
        global.scrape_timeout.as_deref(),
        DEFAULT_TIMEOUT.min(interval),
    )?;
    if timeout > interval {
        return Err(config_error(
            "global",
            "scrape_timeout",
            format!(
                "{} is greater than scrape_interval {}",
                format_duration(timeout),
                format_duration(interval)
            ),
        ));
    }
    for name in global.external_labels.keys() {
        if !is_valid_label_name(name) || name == homeostat_model::METRIC_NAME {
            return Err(config_error(
                "global",
                "external_labels",
                format!("invalid label name {name:?}"),
            ));
        }
    }
    Ok((interval, timeout))
}

/// `host:port`, with a bracketed IPv6 host allowed; no scheme or path.
fn is_host_port(t: &str) -> bool {
    let Some((host, port)) = t.rsplit_once(':') else {
        return false;
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    host_ok && !port.is_empty() && port.parse::<u16>().is_ok()
}

/// Validates the global section and every job, naming the job and field on
/// error, and returns the jobs with every default filled in.
pub fn validate(global: &GlobalConfig, configs: &[ScrapeConfig]) -> Result<Vec<Job>, IngestError> {
    let (g_interval, g_timeout) = global_defaults(global)?;
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for c in configs {
        let job = c.job_name.as_str();
        let err = |field: &str, detail: String| config_error(job, field, detail);
        if job.is_empty() {
            return Err(err("job_name", "must not be empty".into()));
        }
        if !seen.insert(job) {
            return Err(err("job_name", "duplicate job name".into()));
        }
        let interval = dur(
            job,
            "scrape_interval",
            c.scrape_interval.as_deref(),
            g_interval,
        )?;
        if interval.is_zero() {
            return Err(err("scrape_interval", "must be greater than zero".into()));
        }
        let timeout = dur(
            job,
            "scrape_timeout",
            c.scrape_timeout.as_deref(),
            g_timeout.min(interval),
        )?;
        if timeout.is_zero() {
            return Err(err("scrape_timeout", "must be greater than zero".into()));
        }
        if timeout > interval {
            return Err(err(
                "scrape_timeout",
                format!(
                    "{} is greater than scrape_interval {}",
                    format_duration(timeout),
                    format_duration(interval)
                ),
            ));
        }
        let scheme = c.scheme.clone().unwrap_or_else(|| "http".into());
        if scheme != "http" && scheme != "https" {
            return Err(err("scheme", format!("{scheme:?} must be http or https")));
        }
        let metrics_path = c.metrics_path.clone().unwrap_or_else(|| "/metrics".into());
        if !metrics_path.starts_with('/') {
            return Err(err(
                "metrics_path",
                format!("{metrics_path:?} must start with /"),
            ));
        }
        for name in c.params.keys() {
            if name.is_empty() {
                return Err(err("params", "parameter names must not be empty".into()));
            }
        }
        for (i, sc) in c.static_configs.iter().enumerate() {
            for t in &sc.targets {
                if !is_host_port(t) {
                    return Err(err(
                        &format!("static_configs[{i}].targets"),
                        format!("{t:?} is not a host:port address"),
                    ));
                }
            }
            for name in sc.labels.keys() {
                if !is_valid_label_name(name) {
                    return Err(err(
                        &format!("static_configs[{i}].labels"),
                        format!("invalid label name {name:?}"),
                    ));
                }
            }
        }
        let compile =
            |field: &str, rules: &[RelabelConfig]| -> Result<Vec<RelabelRule>, IngestError> {
                rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        RelabelRule::compile(r)
                            .map_err(|e| err(&format!("{field}[{i}]"), e.to_string()))
                    })
                    .collect()
            };
        jobs.push(Job {
            name: job.to_string(),
            interval,
            timeout,
            metrics_path,
            scheme,
            params: c.params.clone(),
            honor_labels: c.honor_labels,
            honor_timestamps: c.honor_timestamps.unwrap_or(true),
            sample_limit: c.sample_limit,
            label_limit: c.label_limit,
            static_configs: c.static_configs.clone(),
            relabel: compile("relabel_configs", &c.relabel_configs)?,
            metric_relabel: compile("metric_relabel_configs", &c.metric_relabel_configs)?,
            source: c.clone(),
        });
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Vec<ScrapeConfig> {
        serde_norway::from_str(yaml).unwrap()
    }

    fn check(yaml: &str) -> Result<Vec<Job>, IngestError> {
        validate(&GlobalConfig::default(), &parse(yaml))
    }

    #[test]
    fn defaults() {
        let j = check("- job_name: a\n  static_configs: [{targets: ['h:1']}]\n").unwrap();
        assert_eq!(j[0].interval, Duration::from_secs(60));
        assert_eq!(j[0].timeout, Duration::from_secs(10));
        assert_eq!(j[0].metrics_path, "/metrics");
        assert_eq!(j[0].scheme, "http");
        assert!(!j[0].honor_labels);
        assert!(j[0].honor_timestamps);
        assert_eq!((j[0].sample_limit, j[0].label_limit), (0, 0));
        // A short interval caps the default timeout.
        let j = check("- job_name: a\n  scrape_interval: 5s\n").unwrap();
        assert_eq!(j[0].timeout, Duration::from_secs(5));
    }

    #[test]
    fn global_defaults_apply_to_jobs() {
        let g: GlobalConfig = serde_norway::from_str(
            "scrape_interval: 15s\nscrape_timeout: 3s\nexternal_labels: {region: eu}\n",
        )
        .unwrap();
        let j = validate(
            &g,
            &parse("- job_name: a\n- job_name: b\n  scrape_interval: 2s\n"),
        )
        .unwrap();
        assert_eq!(j[0].interval, Duration::from_secs(15));
        assert_eq!(j[0].timeout, Duration::from_secs(3));
        assert_eq!(j[1].interval, Duration::from_secs(2));
        assert_eq!(j[1].timeout, Duration::from_secs(2));
        let g: GlobalConfig = serde_norway::from_str("scrape_interval: 5s\n").unwrap();
        assert_eq!(global_defaults(&g).unwrap().1, Duration::from_secs(5));
    }

    #[test]
    fn full_prometheus_job_parses() {
        let yaml = r#"
- job_name: node
  scrape_interval: 30s
  scrape_timeout: 5s
  metrics_path: /probe
  scheme: https
  params: {module: [http_2xx, other]}
  honor_labels: true
  honor_timestamps: false
  sample_limit: 1000
  label_limit: 30
  static_configs:
    - targets: ['a:9100', '[::1]:9100', 'node-1.example.com:443']
      labels: {env: prod}
  relabel_configs:
    - source_labels: [__address__]
      regex: '(.*):\d+'
      target_label: host
    - {source_labels: [__address__], modulus: 4, target_label: __tmp_hash, action: hashmod}
  metric_relabel_configs:
    - {source_labels: [__name__], regex: 'go_.*', action: drop}
"#;
        let j = check(yaml).unwrap();
        assert_eq!(j[0].interval, Duration::from_secs(30));
        assert_eq!(j[0].timeout, Duration::from_secs(5));
        assert_eq!(j[0].scheme, "https");
        assert_eq!(j[0].params["module"], ["http_2xx", "other"]);
        assert!(j[0].honor_labels && !j[0].honor_timestamps);
        assert_eq!((j[0].sample_limit, j[0].label_limit), (1000, 30));
        assert_eq!(j[0].relabel.len(), 2);
        assert_eq!(j[0].metric_relabel.len(), 1);
    }

    #[test]
    fn errors_name_job_and_field() {
        for (yaml, want) in [
            (
                "- job_name: a\n- job_name: a\n",
                "job \"a\": field `job_name`: duplicate",
            ),
            ("- job_name: ''\n", "job_name"),
            (
                "- job_name: a\n  scrape_interval: 5s\n  scrape_timeout: 10s\n",
                "job \"a\": field `scrape_timeout`: 10s is greater than scrape_interval 5s",
            ),
            (
                "- job_name: a\n  scrape_interval: 5 minutes\n",
                "field `scrape_interval`",
            ),
            (
                "- job_name: a\n  scrape_interval: 0s\n",
                "greater than zero",
            ),
            ("- job_name: a\n  scheme: ftp\n", "field `scheme`"),
            (
                "- job_name: a\n  metrics_path: metrics\n",
                "field `metrics_path`",
            ),
            (
                "- job_name: a\n  static_configs: [{targets: ['nohost']}]\n",
                "field `static_configs[0].targets`: \"nohost\" is not a host:port",
            ),
            (
                "- job_name: a\n  static_configs: [{targets: ['h:99999']}]\n",
                "host:port",
            ),
            (
                "- job_name: a\n  static_configs: [{targets: ['http://h:1']}]\n",
                "host:port",
            ),
            (
                "- job_name: a\n  static_configs: [{targets: ['h:1/x']}]\n",
                "host:port",
            ),
            (
                "- job_name: a\n  static_configs: [{targets: ['[zz]:1']}]\n",
                "host:port",
            ),
            (
                "- job_name: a\n  static_configs: [{targets: ['h:1'], labels: {'a-b': x}}]\n",
                "static_configs[0].labels",
            ),
            (
                "- job_name: a\n  relabel_configs: [{action: explode}]\n",
                "job \"a\": field `relabel_configs[0]`: unknown relabel action",
            ),
            (
                "- job_name: a\n  metric_relabel_configs: [{action: keep}, {source_labels: [x], regex: '(', target_label: y}]\n",
                "field `metric_relabel_configs[1]`: invalid regex",
            ),
        ] {
            let e = check(yaml).unwrap_err();
            assert_eq!(e.kind(), homeostat_model::ErrorKind::InvalidInput);
            let e = e.to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
        for (yaml, want) in [
            (
                "scrape_interval: 5s\nscrape_timeout: 6s\n",
                "job \"global\": field `scrape_timeout`",
            ),
            ("external_labels: {__name__: x}\n", "external_labels"),
        ] {
            let g: GlobalConfig = serde_norway::from_str(yaml).unwrap();
            let e = validate(&g, &[]).unwrap_err().to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        for yaml in [
            "- job_name: a\n  bogus: 1\n",
            "- job_name: a\n  static_configs: [{targets: [], bogus: 1}]\n",
            "- job_name: a\n  relabel_configs: [{bogus: 1}]\n",
        ] {
            let r: Result<Vec<ScrapeConfig>, _> = serde_norway::from_str(yaml);
            assert!(r.unwrap_err().to_string().contains("bogus"), "{yaml}");
        }
        let r: Result<GlobalConfig, _> = serde_norway::from_str("evaluation_intervl: 1m\n");
        assert!(r.is_err());
    }
}
