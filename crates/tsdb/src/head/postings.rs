//! The head's inverted index: label name → value → sorted series ids.

use std::collections::HashMap;
use std::sync::Arc;

use homeostat_storage::Matcher;

#[derive(Debug, Default)]
pub(crate) struct Postings {
    index: HashMap<Arc<str>, HashMap<Arc<str>, Vec<u64>>>,
    all: Vec<u64>,
}

fn insert_sorted(ids: &mut Vec<u64>, id: u64) {
    // Ids are allocated in increasing order, so this is almost always a push.
    match ids.last() {
        Some(&last) if last < id => ids.push(id),
        None => ids.push(id),
        _ => {
            if let Err(pos) = ids.binary_search(&id) {
                ids.insert(pos, id);
            }
        }
    }
}

fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut j = 0;
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

fn union(lists: Vec<&Vec<u64>>) -> Vec<u64> {
    let mut out: Vec<u64> = lists.into_iter().flatten().copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Postings {
    pub fn add(&mut self, id: u64, labels: &[(Arc<str>, Arc<str>)]) {
        for (n, v) in labels {
            let values = self.index.entry(n.clone()).or_default();
            insert_sorted(values.entry(v.clone()).or_default(), id);
        }
        insert_sorted(&mut self.all, id);
    }

    pub fn remove(&mut self, id: u64, labels: &[(Arc<str>, Arc<str>)]) {
        for (n, v) in labels {
            if let Some(values) = self.index.get_mut(n) {
                if let Some(ids) = values.get_mut(v) {
                    ids.retain(|&x| x != id);
                    if ids.is_empty() {
                        values.remove(v);
                    }
                }
                if values.is_empty() {
                    self.index.remove(n);
                }
            }
        }
        self.all.retain(|&x| x != id);
    }

    /// Ids of the series `m` selects, or of those it rejects when `invert`.
    fn matching(&self, m: &Matcher, invert: bool) -> Vec<u64> {
        let Some(values) = self.index.get(m.name.as_str()) else {
            return Vec::new();
        };
        union(
            values
                .iter()
                .filter(|(v, _)| m.matches(v) != invert)
                .map(|(_, ids)| ids)
                .collect(),
        )
    }

    /// Sorted ids of the series matching every matcher, with Prometheus
    /// semantics: a missing label counts as the empty value.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<u64> {
        let mut result: Option<Vec<u64>> = None;
        // Matchers that select something positive narrow the set first; those
        // that match the empty string can only subtract.
        for m in matchers.iter().filter(|m| !m.matches_empty()) {
            let ids = self.matching(m, false);
            result = Some(match result {
                None => ids,
                Some(r) => intersect(&r, &ids),
            });
        }
        let mut result = result.unwrap_or_else(|| self.all.clone());
        for m in matchers.iter().filter(|m| m.matches_empty()) {
            if result.is_empty() {
                break;
            }
            result = subtract(&result, &self.matching(m, true));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use homeostat_storage::MatchOp;

    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(Arc<str>, Arc<str>)> {
        pairs
            .iter()
            .map(|(n, v)| (Arc::from(*n), Arc::from(*v)))
            .collect()
    }

    #[test]
    fn matcher_semantics_treat_missing_labels_as_empty() {
        let mut p = Postings::default();
        p.add(1, &l(&[("__name__", "up"), ("job", "a")]));
        p.add(2, &l(&[("__name__", "up"), ("job", "b")]));
        p.add(3, &l(&[("__name__", "up")]));
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        assert_eq!(p.select(&[m(MatchOp::Equal, "job", "a")]), vec![1]);
        assert_eq!(p.select(&[m(MatchOp::NotEqual, "job", "a")]), vec![2, 3]);
        assert_eq!(p.select(&[m(MatchOp::Equal, "job", "")]), vec![3]);
        assert_eq!(
            p.select(&[m(MatchOp::RegexMatch, "job", "a|b")]),
            vec![1, 2]
        );
        assert_eq!(p.select(&[m(MatchOp::RegexMatch, "job", "a|")]), vec![1, 3]);
        assert_eq!(
            p.select(&[m(MatchOp::RegexNoMatch, "job", "a")]),
            vec![2, 3]
        );
        assert_eq!(p.select(&[m(MatchOp::NotEqual, "job", "")]), vec![1, 2]);
        assert_eq!(p.select(&[]), vec![1, 2, 3]);
        p.remove(2, &l(&[("__name__", "up"), ("job", "b")]));
        assert_eq!(p.select(&[m(MatchOp::NotEqual, "job", "")]), vec![1]);
    }
}
