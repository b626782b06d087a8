//! Targets: the labels a target is discovered with, relabelled into the
//! labels its samples carry and the URL it is scraped from.

use homeostat_model::{Label, Labels};

use crate::config::Job;
use crate::relabel;

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub job: String,
    pub url: String,
    /// Labels attached to every sample (no `__` labels).
    pub labels: Labels,
}

/// Builds the targets of a job; targets dropped by relabelling are omitted.
pub fn targets_of(job: &Job) -> Vec<Target> {
    let mut out = Vec::new();
    for sc in &job.static_configs {
        for addr in &sc.targets {
            let mut ls = vec![
                Label::new("__address__", addr.as_str()),
                Label::new("__scheme__", job.scheme.as_str()),
                Label::new("__metrics_path__", job.metrics_path.as_str()),
                Label::new(
                    "__scrape_interval__",
                    homeostat_model::format_duration(job.interval),
                ),
                Label::new(
                    "__scrape_timeout__",
                    homeostat_model::format_duration(job.timeout),
                ),
                Label::new("job", job.name.as_str()),
            ];
            for (k, vs) in &job.params {
                if let Some(v) = vs.first() {
                    ls.push(Label::new(format!("__param_{k}"), v.as_str()));
                }
            }
            for (k, v) in &sc.labels {
                ls.retain(|l| &l.name != k);
                ls.push(Label::new(k.as_str(), v.as_str()));
            }
            let Ok(discovered) = Labels::new(ls) else {
                continue;
            };
            let Some(mut relabelled) = relabel::process(&discovered, &job.relabel) else {
                continue;
            };
            let Some(address) = relabelled.get("__address__").map(str::to_string) else {
                continue;
            };
            if relabelled.get("instance").is_none() {
                let mut b = relabelled.builder();
                b.set("instance", &address);
                if let Ok(l) = b.build() {
                    relabelled = l;
                }
            }
            let scheme = relabelled.get("__scheme__").unwrap_or("http").to_string();
            let path = relabelled
                .get("__metrics_path__")
                .unwrap_or("/metrics")
                .to_string();
            let query: Vec<String> = relabelled
                .iter()
                .filter_map(|l| {
                    l.name
                        .strip_prefix("__param_")
                        .map(|k| format!("{k}={}", l.value))
                })
                .collect();
            let mut url = format!("{scheme}://{address}{path}");
            if !query.is_empty() {
                url.push('?');
                url.push_str(&query.join("&"));
            }
            let labels = Labels::from_sorted_unchecked(
                relabelled
                    .into_vec()
                    .into_iter()
                    .filter(|l| !l.name.starts_with("__"))
                    .collect(),
            );
            out.push(Target {
                job: job.name.clone(),
                url,
                labels,
            });
        }
    }
    out
}
