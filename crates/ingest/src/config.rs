//! Scrape configuration in Prometheus's YAML shape (`global`,
//! `scrape_configs`), and its validation.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use homeostat_model::parse_duration;
use serde::Deserialize;

use crate::IngestError;
use crate::relabel::{RelabelConfig, RelabelRule};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    pub scrape_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
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
}

fn dur(
    job: &str,
    field: &str,
    v: Option<&str>,
    default: Duration,
) -> Result<Duration, IngestError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(s).map_err(|e| IngestError::Config {
            job: job.into(),
            field: field.into(),
            detail: e.to_string(),
        }),
    }
}

/// Validates the global section and every job, naming the job and field on error.
pub fn validate(global: &GlobalConfig, configs: &[ScrapeConfig]) -> Result<Vec<Job>, IngestError> {
    let g_interval = dur(
        "global",
        "scrape_interval",
        global.scrape_interval.as_deref(),
        Duration::from_secs(60),
    )?;
    let g_timeout = dur(
        "global",
        "scrape_timeout",
        global.scrape_timeout.as_deref(),
        Duration::from_secs(10),
    )?;
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for c in configs {
        let err = |field: &str, detail: String| IngestError::Config {
            job: c.job_name.clone(),
            field: field.into(),
            detail,
        };
        if c.job_name.is_empty() {
            return Err(err("job_name", "must not be empty".into()));
        }
        if !seen.insert(c.job_name.clone()) {
            return Err(err("job_name", "duplicate job name".into()));
        }
        let interval = dur(
            &c.job_name,
            "scrape_interval",
            c.scrape_interval.as_deref(),
            g_interval,
        )?;
        if interval.is_zero() {
            return Err(err("scrape_interval", "must be greater than zero".into()));
        }
        let timeout = dur(
            &c.job_name,
            "scrape_timeout",
            c.scrape_timeout.as_deref(),
            g_timeout.min(interval),
        )?;
        if timeout > interval {
            return Err(err(
                "scrape_timeout",
                format!("{timeout:?} is greater than scrape_interval {interval:?}"),
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
        for sc in &c.static_configs {
            for t in &sc.targets {
                let ok = t
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                if !ok || t.contains('/') {
                    return Err(err(
                        "static_configs.targets",
                        format!("{t:?} is not a host:port address"),
                    ));
                }
            }
            for name in sc.labels.keys() {
                if !homeostat_model::is_valid_label_name(name) {
                    return Err(err(
                        "static_configs.labels",
                        format!("invalid label name {name:?}"),
                    ));
                }
            }
        }
        let compile = |field: &str,
                       rules: &[RelabelConfig]|
         -> Result<Vec<RelabelRule>, IngestError> {
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| RelabelRule::compile(r).map_err(|d| err(&format!("{field}[{i}]"), d)))
                .collect()
        };
        jobs.push(Job {
            name: c.job_name.clone(),
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
        });
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Result<Vec<Job>, IngestError> {
        let c: Vec<ScrapeConfig> = serde_norway::from_str(yaml).unwrap();
        validate(&GlobalConfig::default(), &c)
    }

    #[test]
    fn defaults_and_named_errors() {
        let j = check("- job_name: a\n  static_configs: [{targets: ['h:1']}]\n").unwrap();
        assert_eq!(j[0].interval, Duration::from_secs(60));
        assert_eq!(j[0].timeout, Duration::from_secs(10));
        assert_eq!(j[0].metrics_path, "/metrics");
        for (yaml, want) in [
            ("- job_name: a\n- job_name: a\n", "duplicate"),
            (
                "- job_name: a\n  scrape_interval: 5s\n  scrape_timeout: 10s\n",
                "scrape_timeout",
            ),
            (
                "- job_name: a\n  static_configs: [{targets: ['nohost']}]\n",
                "host:port",
            ),
            (
                "- job_name: a\n  relabel_configs: [{action: explode}]\n",
                "relabel_configs[0]",
            ),
            (
                "- job_name: a\n  relabel_configs: [{source_labels: [x], regex: '('}]\n",
                "regex",
            ),
        ] {
            let e = check(yaml).unwrap_err().to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
        let r: Result<Vec<ScrapeConfig>, _> = serde_norway::from_str("- job_name: a\n  bogus: 1\n");
        assert!(r.unwrap_err().to_string().contains("bogus"));
    }
}
