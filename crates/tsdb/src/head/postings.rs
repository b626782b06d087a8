//! In-memory postings: label name → value → sorted series ids, and matcher
//! evaluation with Prometheus semantics (an absent label is the empty string).

use std::collections::{BTreeMap, BTreeSet};

use homeostat_model::Labels;
use homeostat_storage::{MatchOp, Matcher};

#[derive(Debug, Default)]
pub struct Postings {
    map: BTreeMap<String, BTreeMap<String, Vec<u64>>>,
    all: BTreeSet<u64>,
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

fn union(lists: Vec<&Vec<u64>>) -> Vec<u64> {
    let mut out: Vec<u64> = lists.into_iter().flatten().copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    let b: BTreeSet<u64> = b.iter().copied().collect();
    a.iter().copied().filter(|x| !b.contains(x)).collect()
}

impl Postings {
    /// Ids must be added in increasing order (the head allocates them so).
    pub fn add(&mut self, id: u64, labels: &Labels) {
        self.add_pairs(
            id,
            labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
        );
    }

    pub fn add_pairs<'a>(&mut self, id: u64, labels: impl Iterator<Item = (&'a str, &'a str)>) {
        for (name, value) in labels {
            let values = match self.map.get_mut(name) {
                Some(v) => v,
                None => self.map.entry(name.to_string()).or_default(),
            };
            let list = match values.get_mut(value) {
                Some(l) => l,
                None => values.entry(value.to_string()).or_default(),
            };
            if list.last().is_none_or(|&last| last < id) {
                list.push(id);
            } else if let Err(pos) = list.binary_search(&id) {
                list.insert(pos, id);
            }
        }
        self.all.insert(id);
    }

    pub fn remove<'a>(&mut self, id: u64, labels: impl Iterator<Item = (&'a str, &'a str)>) {
        for (name, value) in labels {
            if let Some(values) = self.map.get_mut(name) {
                if let Some(list) = values.get_mut(value) {
                    list.retain(|&x| x != id);
                    if list.is_empty() {
                        values.remove(value);
                    }
                }
                if values.is_empty() {
                    self.map.remove(name);
                }
            }
        }
        self.all.remove(&id);
    }

    /// Ids of series whose label `m.name` has a value that `m` accepts
    /// (absence not considered).
    fn with_matching_values(&self, m: &Matcher) -> Vec<u64> {
        let Some(values) = self.map.get(&m.name) else {
            return Vec::new();
        };
        if m.op == MatchOp::Equal {
            return values.get(&m.value).cloned().unwrap_or_default();
        }
        if let Some(set) = m.set_matches() {
            return union(set.iter().filter_map(|v| values.get(*v)).collect());
        }
        union(
            values
                .iter()
                .filter(|(v, _)| m.matches(v))
                .map(|(_, ids)| ids)
                .collect(),
        )
    }

    /// Ids of series having label `m.name` with a value `m` rejects.
    fn with_rejected_values(&self, m: &Matcher) -> Vec<u64> {
        let Some(values) = self.map.get(&m.name) else {
            return Vec::new();
        };
        union(
            values
                .iter()
                .filter(|(v, _)| !m.matches(v))
                .map(|(_, ids)| ids)
                .collect(),
        )
    }

    /// Sorted ids of series satisfying every matcher.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<u64> {
        let mut result: Option<Vec<u64>> = None;
        let mut excluded: Vec<Vec<u64>> = Vec::new();
        for m in matchers {
            if m.matches_empty() {
                // Series without the label match; exclude those with a rejected value.
                excluded.push(self.with_rejected_values(m));
            } else {
                let ids = self.with_matching_values(m);
                result = Some(match result {
                    None => ids,
                    Some(r) => intersect(&r, &ids),
                });
            }
        }
        let mut ids = result.unwrap_or_else(|| self.all.iter().copied().collect());
        for ex in excluded {
            if !ex.is_empty() {
                ids = subtract(&ids, &ex);
            }
        }
        ids
    }

    #[cfg(test)]
    pub fn label_names(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
        Matcher::new(op, n, v).unwrap()
    }

    #[test]
    fn prometheus_matcher_semantics() {
        let mut p = Postings::default();
        p.add(
            1,
            &Labels::from_pairs(&[("__name__", "up"), ("job", "a"), ("env", "prod")]),
        );
        p.add(2, &Labels::from_pairs(&[("__name__", "up"), ("job", "b")]));
        p.add(3, &Labels::from_pairs(&[("__name__", "x"), ("job", "a")]));
        use MatchOp::*;
        assert_eq!(p.select(&[m(Equal, "__name__", "up")]), vec![1, 2]);
        assert_eq!(
            p.select(&[m(Equal, "__name__", "up"), m(Equal, "job", "a")]),
            vec![1]
        );
        assert_eq!(
            p.select(&[m(NotEqual, "env", "prod")]),
            vec![2, 3],
            "absent label matches !="
        );
        assert_eq!(
            p.select(&[m(Equal, "env", "")]),
            vec![2, 3],
            "={{}} selects series without the label"
        );
        assert_eq!(p.select(&[m(RegexMatch, "job", "a|b")]), vec![1, 2, 3]);
        assert_eq!(p.select(&[m(RegexMatch, "env", ".*")]), vec![1, 2, 3]);
        assert_eq!(p.select(&[m(RegexMatch, "env", ".+")]), vec![1]);
        assert_eq!(p.select(&[m(RegexNoMatch, "job", "a")]), vec![2]);
        assert_eq!(p.select(&[m(Equal, "nope", "x")]), Vec::<u64>::new());
        p.remove(
            1,
            [("__name__", "up"), ("job", "a"), ("env", "prod")].into_iter(),
        );
        assert_eq!(p.select(&[m(RegexMatch, "env", ".+")]), Vec::<u64>::new());
        assert_eq!(
            p.label_names().cloned().collect::<Vec<_>>(),
            vec!["__name__", "job"]
        );
    }
}
