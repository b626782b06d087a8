use std::collections::BTreeMap;

use homeostat_model::{Labels, TimeSeries, Timestamp};
use parking_lot::RwLock;

use crate::traits::samples_in_range;
use crate::{
    AppendReport, Appender, Matcher, Querier, RejectReason, SelectRequest, Series, StorageError,
};

/// An in-memory store with the same append and select semantics as the real
/// backends, for engine tests. No persistence, no compression.
#[derive(Debug, Default)]
pub struct MemStorage {
    series: RwLock<BTreeMap<Labels, Vec<homeostat_model::Sample>>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn matching<'a>(
        map: &'a BTreeMap<Labels, Vec<homeostat_model::Sample>>,
        matchers: &'a [Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> impl Iterator<Item = (&'a Labels, &'a [homeostat_model::Sample])> + 'a {
        map.iter().filter_map(move |(l, s)| {
            if !matchers.iter().all(|m| m.matches_labels(l)) {
                return None;
            }
            let s = samples_in_range(s, mint, maxt);
            (!s.is_empty()).then_some((l, s))
        })
    }
}

impl Appender for MemStorage {
    fn append(&self, batch: &[TimeSeries]) -> Result<AppendReport, StorageError> {
        let mut report = AppendReport::default();
        let mut map = self.series.write();
        for ts in batch {
            let stored = map.entry(ts.labels.clone()).or_default();
            for s in &ts.samples {
                match stored.last() {
                    Some(last) if s.t < last.t => report.reject(RejectReason::OutOfOrder, || {
                        format!("{} at {}", ts.labels, s.t)
                    }),
                    Some(last) if s.t == last.t => {
                        if last.v.to_bits() != s.v.to_bits() {
                            report.reject(RejectReason::DuplicateTimestamp, || {
                                format!("{} at {}", ts.labels, s.t)
                            })
                        }
                    }
                    _ => {
                        stored.push(*s);
                        report.accepted += 1;
                    }
                }
            }
        }
        map.retain(|_, s| !s.is_empty());
        Ok(report)
    }
}

impl Querier for MemStorage {
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
        let map = self.series.read();
        let mut out = Vec::new();
        let mut loaded = 0usize;
        for (labels, samples) in Self::matching(&map, &req.matchers, req.mint, req.maxt) {
            loaded += samples.len();
            if let Some(max) = req.max_samples
                && loaded > max
            {
                return Err(StorageError::LimitExceeded {
                    limit: "max_samples",
                    detail: format!("query would load more than {max} samples"),
                });
            }
            out.push(TimeSeries {
                labels: labels.clone(),
                samples: samples.to_vec(),
            });
        }
        Ok(out)
    }

    fn series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError> {
        let map = self.series.read();
        Ok(Self::matching(&map, matchers, mint, maxt)
            .map(|(l, _)| l.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use homeostat_model::Sample;

    use super::*;
    use crate::MatchOp;

    fn ts(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: Labels::from_pairs(pairs),
            samples: samples.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
        }
    }

    #[test]
    fn append_select_and_reject() {
        let s = MemStorage::new();
        let r = s
            .append(&[
                ts(&[("__name__", "up"), ("job", "a")], &[(1, 1.0), (2, 1.0)]),
                ts(&[("__name__", "up"), ("job", "b")], &[(1, 0.0)]),
            ])
            .unwrap();
        assert_eq!(r.accepted, 3);
        let r = s
            .append(&[ts(
                &[("__name__", "up"), ("job", "a")],
                &[(1, 5.0), (2, 2.0)],
            )])
            .unwrap();
        assert_eq!(r.rejected[&RejectReason::OutOfOrder], 1);
        assert_eq!(r.rejected[&RejectReason::DuplicateTimestamp], 1);

        let m = Matcher::new(MatchOp::RegexMatch, "job", "a|b").unwrap();
        let got = s.select(&SelectRequest::new(vec![m], 2, 10)).unwrap();
        assert_eq!(got.len(), 1, "job=b has no sample at t>=2");
        assert_eq!(s.label_values("job", &[], 0, 10).unwrap(), vec!["a", "b"]);
        assert_eq!(s.label_names(&[], 0, 10).unwrap(), vec!["__name__", "job"]);
    }
}
