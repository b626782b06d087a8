//! Targets: the labels a target is discovered with, relabelled into the
//! labels its samples carry, the URL it is scraped from and its own interval
//! and timeout (relabelling may change `__scrape_interval__`).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use homeostat_model::{Label, Labels, format_duration, is_valid_label_name, parse_duration};

use crate::config::Job;
use crate::relabel;

const ADDRESS: &str = "__address__";
const SCHEME: &str = "__scheme__";
const METRICS_PATH: &str = "__metrics_path__";
const SCRAPE_INTERVAL: &str = "__scrape_interval__";
const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
const PARAM_PREFIX: &str = "__param_";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub job: String,
    pub url: String,
    /// Labels attached to every sample (no `__` labels, `instance` set).
    pub labels: Labels,
    /// The labels before relabelling, as Prometheus shows them.
    pub discovered: Labels,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Target {
    /// Stable across restarts: spreads scrapes and identifies the target.
    pub(crate) fn hash(&self) -> u64 {
        let mut b = self.labels.builder();
        b.set("__url__", &self.url);
        b.build().map_or(0, |l| l.stable_hash())
    }
}

/// Builds the targets of a job. Targets dropped by relabelling are omitted;
/// targets that relabelling made invalid are logged and omitted, as
/// Prometheus does, so one bad rule does not stop the others.
pub fn targets_of(job: &Job) -> Vec<Target> {
    let (targets, invalid) = build_all(job);
    for (addr, e) in invalid {
        tracing::warn!(job = %job.name, address = %addr, error = %e, "dropping invalid target");
    }
    targets
}

/// Valid targets (deduplicated) and `(address, reason)` for invalid ones.
pub(crate) fn build_all(job: &Job) -> (Vec<Target>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut invalid = Vec::new();
    let mut seen = HashSet::new();
    for sc in &job.static_configs {
        for addr in &sc.targets {
            match build(job, addr, &sc.labels) {
                Ok(Some(t)) => {
                    if seen.insert((t.url.clone(), t.labels.clone())) {
                        out.push(t);
                    }
                }
                Ok(None) => {}
                Err(e) => invalid.push((addr.clone(), e)),
            }
        }
    }
    (out, invalid)
}

/// The labels a static target starts with; static labels override defaults.
fn discovered_labels(
    job: &Job,
    addr: &str,
    static_labels: &BTreeMap<String, String>,
) -> Result<Labels, String> {
    let mut b = Labels::empty().builder();
    b.set(ADDRESS, addr)
        .set(SCHEME, &job.scheme)
        .set(METRICS_PATH, &job.metrics_path)
        .set(SCRAPE_INTERVAL, &format_duration(job.interval))
        .set(SCRAPE_TIMEOUT, &format_duration(job.timeout))
        .set("job", &job.name);
    for (k, vs) in &job.params {
        if let Some(v) = vs.first() {
            b.set(&format!("{PARAM_PREFIX}{k}"), v);
        }
    }
    for (k, v) in static_labels {
        b.set(k, v);
    }
    b.build().map_err(|e| e.to_string())
}

fn build(
    job: &Job,
    addr: &str,
    static_labels: &BTreeMap<String, String>,
) -> Result<Option<Target>, String> {
    let discovered = discovered_labels(job, addr, static_labels)?;
    let Some(relabelled) = relabel::process(&discovered, &job.relabel) else {
        return Ok(None);
    };
    let address = relabelled.get(ADDRESS).unwrap_or("");
    if address.is_empty() {
        return Err("no __address__ label after relabelling".into());
    }
    if address.contains(['/', '?', '#', '@']) || address.chars().any(char::is_whitespace) {
        return Err(format!("{address:?} is not a valid host:port address"));
    }
    let duration = |name: &str| -> Result<Duration, String> {
        let v = relabelled.get(name).unwrap_or("");
        match parse_duration(v) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(format!("{name} must be greater than zero")),
            Err(e) => Err(format!("{name} {v:?}: {e}")),
        }
    };
    let interval = duration(SCRAPE_INTERVAL)?;
    let timeout = duration(SCRAPE_TIMEOUT)?;
    if timeout > interval {
        return Err(format!(
            "scrape timeout {} is greater than scrape interval {}",
            format_duration(timeout),
            format_duration(interval)
        ));
    }
    let url = url(job, &relabelled)?;

    let mut labels: Vec<Label> = relabelled
        .iter()
        .filter(|l| !l.name.starts_with("__"))
        .cloned()
        .collect();
    if relabelled.get("instance").is_none() {
        labels.push(Label::new("instance", address));
    }
    if let Some(bad) = labels.iter().find(|l| !is_valid_label_name(&l.name)) {
        return Err(format!("invalid label name {:?}", bad.name));
    }
    let labels = Labels::new(labels).map_err(|e| e.to_string())?;
    Ok(Some(Target {
        job: job.name.clone(),
        url,
        labels,
        discovered,
        interval,
        timeout,
    }))
}

/// `scheme://address/path?params`; `__param_<name>` labels replace the
/// first value of a configured parameter or add one.
fn url(job: &Job, labels: &Labels) -> Result<String, String> {
    let scheme = labels.get(SCHEME).unwrap_or("http");
    if scheme != "http" && scheme != "https" {
        return Err(format!("scheme {scheme:?} must be http or https"));
    }
    let address = labels.get(ADDRESS).unwrap_or("");
    let mut url = reqwest::Url::parse(&format!("{scheme}://{address}"))
        .map_err(|e| format!("{address:?} is not a valid address: {e}"))?;
    let path = labels.get(METRICS_PATH).unwrap_or("/metrics");
    url.set_path(path);
    let mut params = job.params.clone();
    for l in labels.iter() {
        if let Some(k) = l.name.strip_prefix(PARAM_PREFIX) {
            let vs = params.entry(k.to_string()).or_default();
            match vs.first_mut() {
                Some(first) => *first = l.value.clone(),
                None => vs.push(l.value.clone()),
            }
        }
    }
    if !params.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, vs) in &params {
            for v in vs {
                q.append_pair(k, v);
            }
        }
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GlobalConfig, ScrapeConfig, validate};

    fn job(yaml: &str) -> Job {
        let c: Vec<ScrapeConfig> = serde_norway::from_str(yaml).unwrap();
        validate(&GlobalConfig::default(), &c).unwrap().remove(0)
    }

    #[test]
    fn static_target_gets_job_instance_and_static_labels() {
        let j = job(
            "- job_name: node\n  static_configs: [{targets: ['h:9100'], labels: {env: prod}}]\n",
        );
        let t = targets_of(&j);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].url, "http://h:9100/metrics");
        assert_eq!(
            t[0].labels,
            Labels::from_pairs(&[("env", "prod"), ("instance", "h:9100"), ("job", "node")])
        );
        assert_eq!(t[0].discovered.get("__scrape_interval__"), Some("1m"));
        assert_eq!(t[0].discovered.get("__scheme__"), Some("http"));
        assert_eq!(t[0].interval, Duration::from_secs(60));
    }

    #[test]
    fn relabelling_shapes_the_target() {
        let j = job(r#"
- job_name: blackbox
  metrics_path: /probe
  params: {module: [http_2xx], extra: [a b, c]}
  static_configs: [{targets: ['example.com:80', 'drop.me:80', 'example.com:80']}]
  relabel_configs:
    - {source_labels: [__address__], regex: 'drop\..*', action: drop}
    - {source_labels: [__address__], target_label: __param_target}
    - {source_labels: [__param_target], target_label: instance}
    - {target_label: __address__, replacement: 'prober:9115'}
    - {target_label: __scrape_interval__, replacement: 15s}
    - {target_label: __scrape_timeout__, replacement: 5s}
    - {target_label: __scheme__, replacement: https}
"#);
        let t = targets_of(&j);
        assert_eq!(t.len(), 1, "dropped and duplicate targets are omitted");
        assert_eq!(
            t[0].url,
            "https://prober:9115/probe?extra=a+b&extra=c&module=http_2xx&target=example.com%3A80"
        );
        assert_eq!(t[0].labels.get("instance"), Some("example.com:80"));
        assert_eq!(t[0].labels.get("job"), Some("blackbox"));
        assert!(t[0].labels.iter().all(|l| !l.name.starts_with("__")));
        assert_eq!(t[0].interval, Duration::from_secs(15));
        assert_eq!(t[0].timeout, Duration::from_secs(5));
    }

    #[test]
    fn invalid_targets_are_omitted() {
        for rule in [
            "{target_label: __address__, replacement: ''}",
            "{target_label: __address__, replacement: 'a/b:1'}",
            "{target_label: __scheme__, replacement: ftp}",
            "{target_label: __scrape_timeout__, replacement: 2m}",
            "{target_label: __scrape_interval__, replacement: soon}",
        ] {
            let j = job(&format!(
                "- job_name: a\n  static_configs: [{{targets: ['h:1']}}]\n  relabel_configs: [{rule}]\n"
            ));
            assert!(targets_of(&j).is_empty(), "{rule}");
        }
    }

    #[test]
    fn hash_is_stable_and_distinguishes_targets() {
        let j = job("- job_name: a\n  static_configs: [{targets: ['h:1', 'h:2']}]\n");
        let t = targets_of(&j);
        assert_eq!(t[0].hash(), targets_of(&j)[0].hash());
        assert_ne!(t[0].hash(), t[1].hash());
    }
}
