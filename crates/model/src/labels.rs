//! Label sets. A series is identified by its labels sorted by name; the
//! metric name is the `__name__` label. Empty values mean "absent" and are
//! dropped on construction, as in Prometheus.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
    pub value: String,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("empty label name")]
    EmptyName,
    #[error("invalid label name {0:?}: must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidName(String),
    #[error("invalid metric name {0:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    #[error("duplicate label name {0:?}")]
    Duplicate(String),
    #[error("series has no metric name (__name__ label)")]
    MissingMetricName,
}

/// A validated, sorted, duplicate-free set of labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Sorts and validates. Label names must be legacy Prometheus names
    /// (`__name__` values must be valid metric names); empty values are dropped.
    pub fn new(labels: Vec<Label>) -> Result<Self, LabelError> {
        let mut labels: Vec<Label> = labels.into_iter().filter(|l| !l.value.is_empty()).collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        for pair in labels.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(LabelError::Duplicate(pair[0].name.clone()));
            }
        }
        for l in &labels {
            if l.name.is_empty() {
                return Err(LabelError::EmptyName);
            }
            if !is_valid_label_name(&l.name) {
                return Err(LabelError::InvalidName(l.name.clone()));
            }
            if l.name == METRIC_NAME && !is_valid_metric_name(&l.value) {
                return Err(LabelError::InvalidMetricName(l.value.clone()));
            }
        }
        Ok(Self(labels))
    }

    /// Like [`Labels::new`] but also requires a metric name, as ingestion does.
    pub fn new_series(labels: Vec<Label>) -> Result<Self, LabelError> {
        let labels = Self::new(labels)?;
        if labels.metric_name().is_none() {
            return Err(LabelError::MissingMetricName);
        }
        Ok(labels)
    }

    /// Builds from pairs, for tests and literals. Panics on invalid input,
    /// so never use it on data from outside the process.
    #[allow(clippy::expect_used)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect())
            .expect("valid literal labels")
    }

    /// Wraps labels already known to be sorted, unique and valid (e.g. read
    /// back from our own storage). Checked in debug builds.
    pub fn from_sorted_unchecked(labels: Vec<Label>) -> Self {
        debug_assert!(
            labels.windows(2).all(|w| w[0].name < w[1].name),
            "labels not sorted/unique"
        );
        Self(labels)
    }

    pub fn empty() -> Self {
        Self(Vec::new())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// A stable 64-bit hash of the label set (xxh3 over name/value bytes with
    /// separators), identical across processes and versions.
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in &self.0 {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.clone(),
        }
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Prometheus's text form: `name{a="1", b="2"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

/// Edits a label set (set, delete) and re-sorts on build.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.labels.retain(|l| l.name != name);
        if !value.is_empty() {
            self.labels.push(Label::new(name, value));
        }
        self
    }
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| l.name != name);
        self
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
    }
    pub fn build(&self) -> Result<Labels, LabelError> {
        Labels::new(self.labels.clone())
    }
}

pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_drops_empty_values() {
        let l = Labels::new(vec![
            Label::new("b", "2"),
            Label::new("a", "1"),
            Label::new("c", ""),
        ])
        .unwrap();
        assert_eq!(l.as_slice(), &[Label::new("a", "1"), Label::new("b", "2")]);
        assert_eq!(l.get("b"), Some("2"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn rejects_bad_names_and_duplicates() {
        assert_eq!(
            Labels::new(vec![Label::new("a", "1"), Label::new("a", "2")]),
            Err(LabelError::Duplicate("a".into()))
        );
        assert!(matches!(
            Labels::new(vec![Label::new("1a", "x")]),
            Err(LabelError::InvalidName(_))
        ));
        assert!(matches!(
            Labels::new(vec![Label::new("", "x")]),
            Err(LabelError::EmptyName)
        ));
        assert!(matches!(
            Labels::new(vec![Label::new("__name__", "a-b")]),
            Err(LabelError::InvalidMetricName(_))
        ));
        assert_eq!(
            Labels::new_series(vec![Label::new("a", "1")]),
            Err(LabelError::MissingMetricName)
        );
    }

    #[test]
    fn display_matches_prometheus() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "x"), ("instance", "h:1")]);
        assert_eq!(l.to_string(), r#"up{instance="h:1", job="x"}"#);
    }

    #[test]
    fn hash_is_stable() {
        let a = Labels::from_pairs(&[("a", "1"), ("b", "2")]);
        let b = Labels::from_pairs(&[("b", "2"), ("a", "1")]);
        assert_eq!(a.stable_hash(), b.stable_hash());
        assert_ne!(
            a.stable_hash(),
            Labels::from_pairs(&[("a", "12")]).stable_hash()
        );
    }
}
