//! OTLP metrics → Prometheus series, following the OpenTelemetry "Prometheus
//! and OpenMetrics compatibility" specification. The rules and the choices the
//! specification leaves open are listed in the `otlp` module documentation.

use std::collections::{BTreeMap, HashMap};

use homeostat_model::gofmt::format_f;
use homeostat_model::{Label, Labels, METRIC_NAME, Sample, TimeSeries, is_stale_nan, stale_nan};

use super::attributes;
use super::error::OtlpError;
use super::names::{self, Kind};
use super::proto::{
    ExportMetricsServiceRequest, FLAG_NO_RECORDED_VALUE, HistogramDataPoint, KeyValue, Metric,
    MetricData, NumberDataPoint, NumberValue, SummaryDataPoint, TEMPORALITY_CUMULATIVE,
    TEMPORALITY_DELTA,
};

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

pub fn translate(req: &ExportMetricsServiceRequest) -> Result<Vec<TimeSeries>, OtlpError> {
    let mut out = SeriesSet::default();
    for (ri, rm) in req.resource_metrics.iter().enumerate() {
        let resource_attrs: &[KeyValue] = rm
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let mut target = BTreeMap::new();
        if let Some(name) = attributes::find(resource_attrs, SERVICE_NAME) {
            let job = match attributes::find(resource_attrs, SERVICE_NAMESPACE) {
                Some(ns) => format!("{ns}/{name}"),
                None => name,
            };
            target.insert("job".to_string(), job);
        }
        if let Some(instance) = attributes::find(resource_attrs, SERVICE_INSTANCE_ID) {
            target.insert("instance".to_string(), instance);
        }
        let mut latest: Option<i64> = None;
        for (si, sm) in rm.scope_metrics.iter().enumerate() {
            let mut base = target.clone();
            if let Some(scope) = &sm.scope {
                base.insert("otel_scope_name".to_string(), scope.name.clone());
                base.insert("otel_scope_version".to_string(), scope.version.clone());
            }
            for (mi, metric) in sm.metrics.iter().enumerate() {
                if metric.name.is_empty() {
                    return Err(OtlpError::MissingName {
                        resource: ri,
                        scope: si,
                        metric: mi,
                    });
                }
                let mut ctx = MetricCtx {
                    metric,
                    base: &base,
                    out: &mut out,
                    latest: &mut latest,
                };
                ctx.translate()?;
            }
        }
        // Resource attributes other than the ones that became job/instance go
        // to one target_info series per resource instead of onto every series,
        // stamped with the resource's newest sample so it lives as long as they do.
        let info = attributes::to_label_map(resource_attrs, |k| {
            matches!(k, SERVICE_NAME | SERVICE_NAMESPACE | SERVICE_INSTANCE_ID)
        });
        if let (Some(t), false) = (latest, info.is_empty()) {
            let mut labels = info;
            labels.extend(target);
            labels.insert(METRIC_NAME.to_string(), "target_info".to_string());
            let labels = to_labels(labels).map_err(|detail| OtlpError::Metric {
                metric: "target_info".to_string(),
                detail,
            })?;
            out.push(labels, Sample::new(t, 1.0));
        }
    }
    Ok(out.finish())
}

/// Series accumulated in first-seen order; a series repeated across data
/// points (or requests batched together) gets all its samples in one entry.
#[derive(Default)]
struct SeriesSet {
    index: HashMap<Labels, usize>,
    series: Vec<TimeSeries>,
}

impl SeriesSet {
    fn push(&mut self, labels: Labels, sample: Sample) {
        match self.index.get(&labels) {
            Some(&i) => self.series[i].samples.push(sample),
            None => {
                self.index.insert(labels.clone(), self.series.len());
                self.series.push(TimeSeries {
                    labels,
                    samples: vec![sample],
                });
            }
        }
    }

    fn finish(mut self) -> Vec<TimeSeries> {
        for s in &mut self.series {
            s.samples.sort_by_key(|s| s.t);
        }
        self.series
    }
}

fn to_labels(map: BTreeMap<String, String>) -> Result<Labels, String> {
    Labels::new_series(map.into_iter().map(|(n, v)| Label::new(n, v)).collect())
        .map_err(|e| format!("invalid labels: {e}"))
}

struct MetricCtx<'a> {
    metric: &'a Metric,
    base: &'a BTreeMap<String, String>,
    out: &'a mut SeriesSet,
    latest: &'a mut Option<i64>,
}

impl MetricCtx<'_> {
    fn metric_err(&self, detail: impl Into<String>) -> OtlpError {
        OtlpError::Metric {
            metric: self.metric.name.clone(),
            detail: detail.into(),
        }
    }

    fn point_err(&self, point: usize, detail: impl Into<String>) -> OtlpError {
        OtlpError::Point {
            metric: self.metric.name.clone(),
            point,
            detail: detail.into(),
        }
    }

    fn check_temporality(&self, temporality: i32) -> Result<(), OtlpError> {
        match temporality {
            TEMPORALITY_CUMULATIVE => Ok(()),
            TEMPORALITY_DELTA => Err(self.metric_err(
                "delta aggregation temporality is not supported (Prometheus stores cumulative values); \
                 configure the exporter for cumulative temporality",
            )),
            other => Err(self.metric_err(format!(
                "aggregation temporality {other} is not supported (want 2, cumulative)"
            ))),
        }
    }

    fn translate(&mut self) -> Result<(), OtlpError> {
        let metric = self.metric;
        match &metric.data {
            None => {
                Err(self.metric_err("metric has no data (want gauge, sum, histogram or summary)"))
            }
            Some(MetricData::Gauge(g)) => {
                let name = names::metric_name(&metric.name, &metric.unit, Kind::Gauge);
                self.numbers(&name, &g.data_points)
            }
            Some(MetricData::Sum(s)) => {
                self.check_temporality(s.aggregation_temporality)?;
                let kind = if s.is_monotonic {
                    Kind::Counter
                } else {
                    Kind::Gauge
                };
                let name = names::metric_name(&metric.name, &metric.unit, kind);
                self.numbers(&name, &s.data_points)
            }
            Some(MetricData::Histogram(h)) => {
                self.check_temporality(h.aggregation_temporality)?;
                let name = names::metric_name(&metric.name, &metric.unit, Kind::Histogram);
                for (i, p) in h.data_points.iter().enumerate() {
                    self.histogram_point(&name, i, p)?;
                }
                Ok(())
            }
            Some(MetricData::ExponentialHistogram(_)) => Err(self.metric_err(
                "exponential histograms are not supported (they need native histograms); \
                 configure the exporter to use explicit bucket histograms",
            )),
            Some(MetricData::Summary(s)) => {
                let name = names::metric_name(&metric.name, &metric.unit, Kind::Summary);
                for (i, p) in s.data_points.iter().enumerate() {
                    self.summary_point(&name, i, p)?;
                }
                Ok(())
            }
        }
    }

    fn timestamp(&mut self, point: usize, time_unix_nano: u64) -> Result<i64, OtlpError> {
        if time_unix_nano == 0 {
            return Err(self.point_err(point, "time_unix_nano is missing or 0"));
        }
        // u64 nanoseconds / 1e6 always fits in i64.
        let t = (time_unix_nano / 1_000_000) as i64;
        *self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        Ok(t)
    }

    /// A data point's labels without name, `le` or `quantile`: attributes
    /// first, then the labels the translation owns (job, instance, scope),
    /// which win over an attribute of the same name. Computed once per point
    /// and shared by all the series (buckets, sum, count) the point yields.
    fn point_labels(&self, attrs: &[KeyValue]) -> BTreeMap<String, String> {
        let mut map = attributes::to_label_map(attrs, |_| false);
        map.extend(self.base.iter().map(|(k, v)| (k.clone(), v.clone())));
        map
    }

    fn emit(
        &mut self,
        point: usize,
        labels: &BTreeMap<String, String>,
        name: &str,
        extra: Option<(&str, &str)>,
        sample: Sample,
    ) -> Result<(), OtlpError> {
        let mut map = labels.clone();
        if let Some((k, v)) = extra {
            map.insert(k.to_string(), v.to_string());
        }
        map.insert(METRIC_NAME.to_string(), name.to_string());
        let labels = to_labels(map).map_err(|detail| self.point_err(point, detail))?;
        self.out.push(labels, sample);
        Ok(())
    }

    fn numbers(&mut self, name: &str, points: &[NumberDataPoint]) -> Result<(), OtlpError> {
        for (i, p) in points.iter().enumerate() {
            let t = self.timestamp(i, p.time_unix_nano)?;
            let labels = self.point_labels(&p.attributes);
            let v = if p.flags & FLAG_NO_RECORDED_VALUE != 0 {
                stale_nan()
            } else {
                match p.value {
                    Some(NumberValue::AsDouble(v)) => not_stale(v),
                    Some(NumberValue::AsInt(v)) => v as f64,
                    None => return Err(self.point_err(i, "no value (want asDouble or asInt)")),
                }
            };
            self.emit(i, &labels, name, None, Sample::new(t, v))?;
        }
        Ok(())
    }

    fn histogram_point(
        &mut self,
        name: &str,
        i: usize,
        p: &HistogramDataPoint,
    ) -> Result<(), OtlpError> {
        let t = self.timestamp(i, p.time_unix_nano)?;
        let labels = self.point_labels(&p.attributes);
        let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
        let value = |v: f64| if stale { stale_nan() } else { not_stale(v) };
        if !p.bucket_counts.is_empty() && p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
            return Err(self.point_err(
                i,
                format!(
                    "{} bucket counts for {} explicit bounds (want bounds + 1)",
                    p.bucket_counts.len(),
                    p.explicit_bounds.len()
                ),
            ));
        }
        let mut previous = f64::NEG_INFINITY;
        for (bi, &bound) in p.explicit_bounds.iter().enumerate() {
            if !bound.is_finite() || (bi > 0 && bound <= previous) {
                return Err(self.point_err(
                    i,
                    format!(
                        "explicit bound {bound} at index {bi} is not finite and strictly increasing"
                    ),
                ));
            }
            previous = bound;
        }
        let bucket = format!("{name}_bucket");
        let mut cumulative: u64 = 0;
        if !p.bucket_counts.is_empty() {
            for (bound, count) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
                cumulative = cumulative.saturating_add(*count);
                // `le` and `quantile` as Prometheus writes them: `FormatFloat(v, 'f', -1)`.
                let le = format_f(*bound, None);
                let sample = Sample::new(t, value(cumulative as f64));
                self.emit(i, &labels, &bucket, Some(("le", &le)), sample)?;
            }
        }
        let count = value(p.count as f64);
        self.emit(
            i,
            &labels,
            &bucket,
            Some(("le", "+Inf")),
            Sample::new(t, count),
        )?;
        self.emit(
            i,
            &labels,
            &format!("{name}_count"),
            None,
            Sample::new(t, count),
        )?;
        if let Some(sum) = p.sum {
            let sample = Sample::new(t, value(sum));
            self.emit(i, &labels, &format!("{name}_sum"), None, sample)?;
        } else if stale {
            let sample = Sample::new(t, stale_nan());
            self.emit(i, &labels, &format!("{name}_sum"), None, sample)?;
        }
        Ok(())
    }

    fn summary_point(
        &mut self,
        name: &str,
        i: usize,
        p: &SummaryDataPoint,
    ) -> Result<(), OtlpError> {
        let t = self.timestamp(i, p.time_unix_nano)?;
        let labels = self.point_labels(&p.attributes);
        let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
        let value = |v: f64| if stale { stale_nan() } else { not_stale(v) };
        for q in &p.quantile_values {
            if !(0.0..=1.0).contains(&q.quantile) {
                return Err(self.point_err(i, format!("quantile {} is outside [0, 1]", q.quantile)));
            }
            let label = format_f(q.quantile, None);
            let sample = Sample::new(t, value(q.value));
            self.emit(i, &labels, name, Some(("quantile", &label)), sample)?;
        }
        let sum = Sample::new(t, value(p.sum));
        self.emit(i, &labels, &format!("{name}_sum"), None, sum)?;
        let count = Sample::new(t, value(p.count as f64));
        self.emit(i, &labels, &format!("{name}_count"), None, count)?;
        Ok(())
    }
}

/// A sender's NaN must not be mistaken for our staleness marker, which only the
/// no-recorded-value flag may produce.
fn not_stale(v: f64) -> f64 {
    if is_stale_nan(v) { f64::NAN } else { v }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::proto::*;
    use super::*;

    /// One line per sample: `name{labels} t value`, stale markers as `stale`.
    fn render(series: &[TimeSeries]) -> Vec<String> {
        let mut lines = Vec::new();
        for s in series {
            for sample in &s.samples {
                let v = if is_stale_nan(sample.v) {
                    "stale".to_string()
                } else {
                    sample.v.to_string()
                };
                lines.push(format!("{} {} {}", s.labels, sample.t, v));
            }
        }
        lines
    }

    fn check(req: &ExportMetricsServiceRequest, want: &[&str]) {
        let got = render(&translate(req).expect("translates"));
        assert_eq!(got, want, "\ngot:\n{}", got.join("\n"));
    }

    fn check_err(req: &ExportMetricsServiceRequest, want: &str) {
        let err = translate(req).expect_err("must be refused").to_string();
        assert_eq!(err, want);
    }

    #[test]
    fn maps_counter_updown_histogram_and_gauge_with_resource_and_scope() {
        check(&instruments_request(), INSTRUMENTS_GOLDEN);
    }

    #[test]
    fn service_namespace_prefixes_job_and_no_target_info_without_other_attributes() {
        let req = request(
            vec![kv("service.name", "api"), kv("service.namespace", "shop")],
            vec![metric(
                "up",
                "",
                MetricData::Gauge(Gauge {
                    data_points: vec![number(vec![], T, NumberValue::AsDouble(1.0))],
                }),
            )],
        );
        check(
            &req,
            &[
                r#"up{job="shop/api", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 1"#,
            ],
        );
    }

    #[test]
    fn summary_becomes_quantiles_sum_and_count() {
        let req = request(
            vec![],
            vec![metric(
                "rpc.latency",
                "ms",
                MetricData::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        attributes: vec![],
                        time_unix_nano: T,
                        count: 10,
                        sum: 42.0,
                        quantile_values: vec![
                            ValueAtQuantile {
                                quantile: 0.5,
                                value: 3.0,
                            },
                            ValueAtQuantile {
                                quantile: 0.99,
                                value: 9.5,
                            },
                        ],
                        flags: 0,
                    }],
                }),
            )],
        );
        check(
            &req,
            &[
                r#"rpc_latency_milliseconds{otel_scope_name="shop", otel_scope_version="1.2", quantile="0.5"} 1700000000123 3"#,
                r#"rpc_latency_milliseconds{otel_scope_name="shop", otel_scope_version="1.2", quantile="0.99"} 1700000000123 9.5"#,
                r#"rpc_latency_milliseconds_sum{otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 42"#,
                r#"rpc_latency_milliseconds_count{otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 10"#,
            ],
        );
    }

    #[test]
    fn no_recorded_value_flag_gives_stale_markers() {
        let mut gauge_point = number(vec![], T, NumberValue::AsDouble(5.0));
        gauge_point.flags = FLAG_NO_RECORDED_VALUE;
        let req = request(
            vec![],
            vec![
                metric(
                    "g",
                    "",
                    MetricData::Gauge(Gauge {
                        data_points: vec![gauge_point],
                    }),
                ),
                metric(
                    "h",
                    "",
                    MetricData::Histogram(Histogram {
                        data_points: vec![HistogramDataPoint {
                            attributes: vec![],
                            time_unix_nano: T,
                            count: 0,
                            sum: None,
                            bucket_counts: vec![],
                            explicit_bounds: vec![],
                            flags: FLAG_NO_RECORDED_VALUE,
                        }],
                        aggregation_temporality: TEMPORALITY_CUMULATIVE,
                    }),
                ),
            ],
        );
        check(
            &req,
            &[
                r#"g{otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 stale"#,
                r#"h_bucket{le="+Inf", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 stale"#,
                r#"h_count{otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 stale"#,
                r#"h_sum{otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 stale"#,
            ],
        );
    }

    #[test]
    fn samples_of_one_series_are_grouped_and_sorted_and_nan_is_not_stale() {
        let req = request(
            vec![],
            vec![metric(
                "g",
                "",
                MetricData::Gauge(Gauge {
                    data_points: vec![
                        number(vec![], T + 2_000_000, NumberValue::AsDouble(2.0)),
                        number(vec![], T, NumberValue::AsDouble(stale_nan())),
                    ],
                }),
            )],
        );
        check(
            &req,
            &[
                r#"g{otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 NaN"#,
                r#"g{otel_scope_name="shop", otel_scope_version="1.2"} 1700000000125 2"#,
            ],
        );
    }

    #[test]
    fn translation_labels_win_over_attributes_and_attributes_are_sanitized() {
        let req = request(
            vec![kv("service.name", "svc")],
            vec![metric(
                "g",
                "",
                MetricData::Gauge(Gauge {
                    data_points: vec![number(
                        vec![
                            kv("job", "mine"),
                            kv("a.b", "1"),
                            kv("a_b", "2"),
                            kv("__name__", "x"),
                        ],
                        T,
                        NumberValue::AsInt(1),
                    )],
                }),
            )],
        );
        check(
            &req,
            &[
                r#"g{_name_="x", a_b="1;2", job="svc", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 1"#,
            ],
        );
    }

    #[test]
    fn refusals_name_the_metric_and_point() {
        let delta = request(
            vec![],
            vec![metric(
                "orders",
                "",
                sum(
                    vec![number(vec![], T, NumberValue::AsInt(1))],
                    TEMPORALITY_DELTA,
                    true,
                ),
            )],
        );
        check_err(
            &delta,
            "metric \"orders\": delta aggregation temporality is not supported (Prometheus stores \
             cumulative values); configure the exporter for cumulative temporality",
        );

        let unspecified = request(
            vec![],
            vec![metric(
                "orders",
                "",
                sum(vec![], TEMPORALITY_UNSPECIFIED, true),
            )],
        );
        check_err(
            &unspecified,
            "metric \"orders\": aggregation temporality 0 is not supported (want 2, cumulative)",
        );

        let exp = request(
            vec![],
            vec![metric(
                "latency",
                "s",
                MetricData::ExponentialHistogram(ExponentialHistogram {}),
            )],
        );
        check_err(
            &exp,
            "metric \"latency\": exponential histograms are not supported (they need native \
             histograms); configure the exporter to use explicit bucket histograms",
        );

        let no_time = request(
            vec![],
            vec![metric(
                "g",
                "",
                MetricData::Gauge(Gauge {
                    data_points: vec![
                        number(vec![], T, NumberValue::AsInt(1)),
                        number(vec![], 0, NumberValue::AsInt(1)),
                    ],
                }),
            )],
        );
        check_err(
            &no_time,
            "metric \"g\" data point 1: time_unix_nano is missing or 0",
        );

        let mut no_value = number(vec![], T, NumberValue::AsInt(1));
        no_value.value = None;
        let no_value = request(
            vec![],
            vec![metric(
                "g",
                "",
                MetricData::Gauge(Gauge {
                    data_points: vec![no_value],
                }),
            )],
        );
        check_err(
            &no_value,
            "metric \"g\" data point 0: no value (want asDouble or asInt)",
        );

        let mut unnamed = metric("", "", MetricData::Gauge(Gauge::default()));
        unnamed.name.clear();
        check_err(
            &request(vec![], vec![unnamed]),
            "resource_metrics[0].scope_metrics[0].metrics[0]: metric has no name",
        );

        let no_data = Metric {
            name: "empty".to_string(),
            unit: String::new(),
            data: None,
        };
        check_err(
            &request(vec![], vec![no_data]),
            "metric \"empty\": metric has no data (want gauge, sum, histogram or summary)",
        );

        let bad_buckets = request(
            vec![],
            vec![metric(
                "h",
                "",
                MetricData::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![],
                        time_unix_nano: T,
                        count: 1,
                        sum: None,
                        bucket_counts: vec![1, 0],
                        explicit_bounds: vec![1.0, 2.0],
                        flags: 0,
                    }],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                }),
            )],
        );
        check_err(
            &bad_buckets,
            "metric \"h\" data point 0: 2 bucket counts for 2 explicit bounds (want bounds + 1)",
        );

        let unordered = request(
            vec![],
            vec![metric(
                "h",
                "",
                MetricData::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![],
                        time_unix_nano: T,
                        count: 1,
                        sum: None,
                        bucket_counts: vec![1, 0, 0],
                        explicit_bounds: vec![2.0, 1.0],
                        flags: 0,
                    }],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                }),
            )],
        );
        check_err(
            &unordered,
            "metric \"h\" data point 0: explicit bound 1 at index 1 is not finite and strictly increasing",
        );
    }
}
