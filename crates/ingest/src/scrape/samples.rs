//! What one scrape's parsed samples become: target labels attached (with
//! `exported_` renaming), metric relabelling, limits, timestamps, stale
//! markers for series that vanished, and the synthetic `up`/`scrape_*`
//! series. Pure: no I/O, no clock.

use std::collections::HashMap;

use homeostat_model::{Labels, LabelsBuilder, Sample, TimeSeries, stale_nan};
use homeostat_wire::exposition::ExpositionSample;

use crate::config::Job;
use crate::relabel;
use crate::target::Target;

/// The synthetic series written after every scrape, in Prometheus's order.
pub(crate) const SYNTHETIC: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Series seen in the last successful scrape. `true` marks series that are
/// stale-tracked: those without an explicit timestamp, as in Prometheus
/// (a series exposed with its own timestamps is never stale-marked).
#[derive(Debug, Default)]
pub(crate) struct SeriesState {
    prev: HashMap<Labels, bool>,
}

/// A scrape turned into series, ready to append.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub series: Vec<TimeSeries>,
    pub scraped: usize,
    pub post_relabel: usize,
    pub added: usize,
    pub duplicates: usize,
    pub error: Option<String>,
}

/// Attaches the target's labels. Without `honor_labels` the target wins and
/// a clashing scraped label is kept as `exported_<name>` (shortest names
/// first, adding `exported_` until free); with it the scraped label wins.
pub(crate) fn attach_target_labels(
    scraped: &Labels,
    target: &Labels,
    honor_labels: bool,
) -> Option<Labels> {
    let mut b: LabelsBuilder = scraped.builder();
    if honor_labels {
        for tl in target.iter() {
            if scraped.get(&tl.name).is_none() {
                b.set(&tl.name, &tl.value);
            }
        }
        return b.build().ok();
    }
    let mut clashes: Vec<(&str, &str)> = Vec::new();
    for tl in target.iter() {
        if let Some(v) = scraped.get(&tl.name) {
            clashes.push((&tl.name, v));
        }
        b.set(&tl.name, &tl.value);
    }
    clashes.sort_by_key(|(name, _)| name.len());
    for (name, value) in clashes {
        let mut exported = format!("exported_{name}");
        while b.get(&exported).is_some() {
            exported.insert_str(0, "exported_");
        }
        b.set(&exported, value);
    }
    b.build().ok()
}

impl SeriesState {
    /// Turns a successful fetch into series at scrape time `t`. A limit
    /// breach fails the whole scrape, as in Prometheus.
    pub(crate) fn scraped(
        &mut self,
        job: &Job,
        target: &Target,
        samples: Vec<ExpositionSample>,
        t: i64,
    ) -> Outcome {
        let scraped = samples.len();
        let mut series = Vec::with_capacity(scraped);
        let mut current: HashMap<Labels, bool> = HashMap::with_capacity(scraped);
        let mut duplicates = 0;
        let mut failure = None;
        for s in samples {
            let Some(labels) = attach_target_labels(&s.labels, &target.labels, job.honor_labels)
            else {
                continue;
            };
            let Some(labels) = relabel::process(&labels, &job.metric_relabel) else {
                continue;
            };
            if labels.metric_name().is_none() {
                continue;
            }
            if job.label_limit > 0 && labels.len() > job.label_limit {
                failure = Some(format!(
                    "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
                    labels.metric_name().unwrap_or(""),
                    labels.len(),
                    job.label_limit
                ));
                break;
            }
            let explicit = s.timestamp_ms.filter(|_| job.honor_timestamps);
            if current.contains_key(&labels) {
                duplicates += 1;
                continue;
            }
            current.insert(labels.clone(), explicit.is_none());
            series.push(TimeSeries {
                labels,
                samples: vec![Sample::new(explicit.unwrap_or(t), s.value)],
            });
        }
        let post_relabel = series.len();
        if failure.is_none() && job.sample_limit > 0 && post_relabel > job.sample_limit {
            failure = Some(format!(
                "sample_limit exceeded ({post_relabel} samples after metric relabelling, limit {})",
                job.sample_limit
            ));
        }
        if let Some(error) = failure {
            let mut out = self.failed(error, t);
            out.scraped = scraped;
            out.post_relabel = post_relabel;
            return out;
        }
        let added = current
            .keys()
            .filter(|l| !self.prev.contains_key(*l))
            .count();
        for (labels, tracked) in &self.prev {
            if *tracked && !current.get(labels).copied().unwrap_or(false) {
                series.push(stale(labels.clone(), t));
            }
        }
        self.prev = current;
        Outcome {
            series,
            scraped,
            post_relabel,
            added,
            duplicates,
            error: None,
        }
    }

    /// A failed scrape: nothing from the target is kept, and every series of
    /// the last successful scrape gets a stale marker.
    pub(crate) fn failed(&mut self, error: String, t: i64) -> Outcome {
        let series = self.drain_stale(t);
        Outcome {
            series,
            error: Some(error),
            ..Outcome::default()
        }
    }

    /// Stale markers for every tracked series, forgetting them.
    pub(crate) fn drain_stale(&mut self, t: i64) -> Vec<TimeSeries> {
        self.prev
            .drain()
            .filter(|(_, tracked)| *tracked)
            .map(|(labels, _)| stale(labels, t))
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.prev.len()
    }
}

fn stale(labels: Labels, t: i64) -> TimeSeries {
    TimeSeries {
        labels,
        samples: vec![Sample::new(t, stale_nan())],
    }
}

/// `name` with the target's labels; never relabelled (as in Prometheus).
pub(crate) fn synthetic_labels(target: &Labels, name: &str) -> Option<Labels> {
    let mut b = target.builder();
    b.set(homeostat_model::METRIC_NAME, name);
    b.build().ok()
}

/// Appends the synthetic series for this scrape, all at `t`.
pub(crate) fn push_synthetic(out: &mut Outcome, target: &Labels, duration_seconds: f64, t: i64) {
    let up = if out.error.is_none() { 1.0 } else { 0.0 };
    let values = [
        up,
        duration_seconds,
        out.scraped as f64,
        out.post_relabel as f64,
        out.added as f64,
    ];
    for (name, v) in SYNTHETIC.iter().zip(values) {
        if let Some(labels) = synthetic_labels(target, name) {
            out.series.push(TimeSeries {
                labels,
                samples: vec![Sample::new(t, v)],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GlobalConfig, ScrapeConfig, validate};
    use crate::target::targets_of;
    use homeostat_model::is_stale_nan;

    fn l(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p)
    }

    fn setup(extra: &str) -> (Job, Target) {
        let yaml = format!(
            "- job_name: j\n  static_configs: [{{targets: ['h:1'], labels: {{env: prod}}}}]\n{extra}"
        );
        let c: Vec<ScrapeConfig> = serde_norway::from_str(&yaml).unwrap();
        let job = validate(&GlobalConfig::default(), &c).unwrap().remove(0);
        let t = targets_of(&job).remove(0);
        (job, t)
    }

    fn samples(text: &str) -> Vec<ExpositionSample> {
        homeostat_wire::exposition::parse(text.as_bytes(), None).unwrap()
    }

    fn find<'a>(o: &'a Outcome, name: &str) -> Vec<&'a TimeSeries> {
        o.series
            .iter()
            .filter(|s| s.labels.metric_name() == Some(name))
            .collect()
    }

    #[test]
    fn exported_renaming() {
        let target = l(&[("instance", "h:1"), ("job", "j")]);
        let cases = [
            (
                l(&[("__name__", "m"), ("job", "inner")]),
                false,
                l(&[
                    ("__name__", "m"),
                    ("exported_job", "inner"),
                    ("instance", "h:1"),
                    ("job", "j"),
                ]),
            ),
            (
                l(&[("__name__", "m"), ("job", "inner"), ("exported_job", "x")]),
                false,
                l(&[
                    ("__name__", "m"),
                    ("exported_exported_job", "inner"),
                    ("exported_job", "x"),
                    ("instance", "h:1"),
                    ("job", "j"),
                ]),
            ),
            (
                l(&[("__name__", "m"), ("job", "inner")]),
                true,
                l(&[("__name__", "m"), ("instance", "h:1"), ("job", "inner")]),
            ),
            // Same value still moves aside, as Prometheus does.
            (
                l(&[("__name__", "m"), ("job", "j")]),
                false,
                l(&[
                    ("__name__", "m"),
                    ("exported_job", "j"),
                    ("instance", "h:1"),
                    ("job", "j"),
                ]),
            ),
        ];
        for (scraped, honor, want) in cases {
            assert_eq!(
                attach_target_labels(&scraped, &target, honor),
                Some(want),
                "{scraped} honor={honor}"
            );
        }
        // Shorter clashing names are renamed first, so the longer one shifts.
        let target = l(&[("a", "t1"), ("exported_a", "t2")]);
        let got = attach_target_labels(
            &l(&[("__name__", "m"), ("a", "s1"), ("exported_a", "s2")]),
            &target,
            false,
        )
        .unwrap();
        assert_eq!(got.get("exported_exported_a"), Some("s1"));
        assert_eq!(got.get("exported_exported_exported_a"), Some("s2"));
    }

    #[test]
    fn staleness_across_scrapes() {
        let (job, target) = setup("");
        let mut st = SeriesState::default();
        let o = st.scraped(&job, &target, samples("a 1\nb 2\nc 3 500\n"), 1000);
        assert_eq!((o.scraped, o.post_relabel, o.added), (3, 3, 3));
        assert_eq!(find(&o, "a")[0].samples, vec![Sample::new(1000, 1.0)]);
        assert_eq!(find(&o, "c")[0].samples, vec![Sample::new(500, 3.0)]);
        assert_eq!(find(&o, "a")[0].labels.get("env"), Some("prod"));

        // b vanishes: stale at the new scrape time; c (explicit timestamp) is
        // never stale-marked.
        let o = st.scraped(&job, &target, samples("a 2\nd 4\n"), 2000);
        assert_eq!(o.added, 1);
        let b = find(&o, "b");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].samples[0].t, 2000);
        assert!(is_stale_nan(b[0].samples[0].v));
        assert!(find(&o, "c").is_empty());

        // A failure stale-marks everything from the last good scrape.
        let o = st.failed("boom".into(), 3000);
        let mut names: Vec<_> = o
            .series
            .iter()
            .filter_map(|s| s.labels.metric_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "d"]);
        assert!(o.series.iter().all(|s| is_stale_nan(s.samples[0].v)));
        assert_eq!(st.len(), 0);
        // And nothing is marked twice.
        assert!(st.failed("again".into(), 4000).series.is_empty());
    }

    #[test]
    fn honor_timestamps_false_uses_scrape_time() {
        let (job, target) = setup("  honor_timestamps: false\n");
        let mut st = SeriesState::default();
        let o = st.scraped(&job, &target, samples("c 3 500\n"), 1000);
        assert_eq!(find(&o, "c")[0].samples[0].t, 1000);
        let o = st.scraped(&job, &target, samples(""), 2000);
        assert!(is_stale_nan(find(&o, "c")[0].samples[0].v));
    }

    #[test]
    fn metric_relabelling_and_limits() {
        let (job, target) = setup(
            "  metric_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]\n  sample_limit: 2\n",
        );
        let mut st = SeriesState::default();
        let o = st.scraped(&job, &target, samples("go_x 1\ngo_y 1\na 1\nb 1\n"), 1000);
        assert_eq!(o.error, None, "the limit counts samples after relabelling");
        assert_eq!((o.scraped, o.post_relabel), (4, 2));
        assert!(find(&o, "go_x").is_empty());

        let o = st.scraped(&job, &target, samples("a 1\nb 1\nc 1\n"), 2000);
        assert!(o.error.as_deref().unwrap().contains("sample_limit"));
        assert_eq!((o.scraped, o.post_relabel), (3, 3));
        assert_eq!(o.series.len(), 2, "only stale markers for a and b");
        assert!(o.series.iter().all(|s| is_stale_nan(s.samples[0].v)));

        let (job, target) = setup("  label_limit: 3\n");
        let o = SeriesState::default().scraped(&job, &target, samples("a{x=\"1\"} 1\n"), 1000);
        assert!(o.error.as_deref().unwrap().contains("label_limit"), "{o:?}");
        assert!(o.series.is_empty());
    }

    #[test]
    fn duplicates_keep_the_first_sample() {
        let (job, target) = setup("  honor_labels: false\n");
        let o = SeriesState::default().scraped(
            &job,
            &target,
            samples("a{job=\"x\"} 1\na{job=\"x\"} 2\n"),
            1000,
        );
        assert_eq!(o.duplicates, 1);
        assert_eq!(find(&o, "a")[0].samples[0].v, 1.0);
    }

    #[test]
    fn synthetic_series_carry_target_labels() {
        let (_, target) = setup("");
        let mut o = Outcome {
            scraped: 3,
            post_relabel: 2,
            added: 1,
            ..Outcome::default()
        };
        push_synthetic(&mut o, &target.labels, 0.25, 1000);
        let got: Vec<(String, f64)> = o
            .series
            .iter()
            .map(|s| (s.labels.metric_name().unwrap().to_string(), s.samples[0].v))
            .collect();
        assert_eq!(
            got,
            [
                ("up".to_string(), 1.0),
                ("scrape_duration_seconds".into(), 0.25),
                ("scrape_samples_scraped".into(), 3.0),
                ("scrape_samples_post_metric_relabeling".into(), 2.0),
                ("scrape_series_added".into(), 1.0),
            ]
        );
        assert!(
            o.series
                .iter()
                .all(|s| s.labels.get("instance") == Some("h:1")
                    && s.labels.get("job") == Some("j")
                    && s.samples[0].t == 1000)
        );
    }
}
