//! The read side: head and blocks merged into one sorted, deduplicated view.

use std::collections::{BTreeMap, BTreeSet};

use homeostat_model::{Labels, Sample, Timestamp};
use homeostat_storage::{Matcher, Querier, SelectRequest, Series, StorageError};

use super::Tsdb;

/// Merges per-source results: series sorted by labels, samples by time, a
/// timestamp present in several sources kept once.
fn merge(sources: Vec<Vec<Series>>) -> Vec<Series> {
    let mut by_labels: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    let mut multi = BTreeSet::new();
    for source in sources {
        for s in source {
            let entry = by_labels.entry(s.labels);
            if let std::collections::btree_map::Entry::Occupied(ref e) = entry {
                multi.insert(e.key().clone());
            }
            entry.or_default().extend(s.samples);
        }
    }
    by_labels
        .into_iter()
        .map(|(labels, mut samples)| {
            if multi.contains(&labels) {
                samples.sort_by_key(|s| s.t);
                samples.dedup_by_key(|s| s.t);
            }
            Series { labels, samples }
        })
        .collect()
}

impl Tsdb {
    fn select_merged(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Series>, StorageError> {
        let sources = vec![self.head.select(matchers, mint, maxt)];
        Ok(merge(sources))
    }
}

impl Querier for Tsdb {
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
        let out = self.select_merged(&req.matchers, req.mint, req.maxt)?;
        if let Some(max) = req.max_samples {
            let total: usize = out.iter().map(|s| s.samples.len()).sum();
            if total > max {
                return Err(StorageError::LimitExceeded {
                    limit: "max_samples",
                    detail: format!("query would load more than {max} samples"),
                });
            }
        }
        Ok(out)
    }

    fn series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError> {
        Ok(self
            .select_merged(matchers, mint, maxt)?
            .into_iter()
            .map(|s| s.labels)
            .collect())
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let names: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.clone()))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let values: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        Ok(values.into_iter().collect())
    }
}
