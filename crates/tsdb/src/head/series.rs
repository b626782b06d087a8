//! One in-memory series: its interned labels and its chunks.

use std::collections::HashSet;
use std::sync::Arc;

use homeostat_model::{Label, Labels, Sample};
use parking_lot::Mutex;

use super::chunks::SeriesChunks;

/// Label names and values shared by all series: with ~10 labels per series,
/// most strings (`job`, `instance`, metric names) repeat across thousands of
/// series, so each series holds only pointers.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    strings: Mutex<HashSet<Arc<str>>>,
}

impl Interner {
    pub fn intern(&self, s: &str) -> Arc<str> {
        let mut set = self.strings.lock();
        if let Some(found) = set.get(s) {
            return found.clone();
        }
        let new: Arc<str> = Arc::from(s);
        set.insert(new.clone());
        new
    }

    /// Forgets strings no series refers to any more.
    pub fn gc(&self) {
        self.strings.lock().retain(|s| Arc::strong_count(s) > 1);
    }
}

pub(crate) type InternedLabels = Box<[(Arc<str>, Arc<str>)]>;

#[derive(Debug)]
pub(crate) struct MemSeries {
    pub id: u64,
    pub labels: InternedLabels,
    pub data: Mutex<SeriesData>,
}

#[derive(Debug, Default)]
pub(crate) struct SeriesData {
    pub chunks: SeriesChunks,
    /// The newest sample ever accepted: the reference for ordering checks,
    /// kept even after older chunks were dropped.
    pub last: Option<Sample>,
    /// Whether a series record for this series is in the WAL.
    pub logged: bool,
    /// Set when garbage collection removed the series from the head; an
    /// appender holding a stale handle must look the labels up again.
    pub deleted: bool,
}

impl MemSeries {
    pub fn new(id: u64, labels: &Labels, interner: &Interner) -> Self {
        let interned = labels
            .iter()
            .map(|l| (interner.intern(&l.name), interner.intern(&l.value)))
            .collect();
        Self {
            id,
            labels: interned,
            data: Mutex::new(SeriesData::default()),
        }
    }

    pub fn labels(&self) -> Labels {
        Labels::from_sorted_unchecked(
            self.labels
                .iter()
                .map(|(n, v)| Label::new(n.as_ref(), v.as_ref()))
                .collect(),
        )
    }

    pub fn has_labels(&self, labels: &Labels) -> bool {
        self.labels.len() == labels.len()
            && self
                .labels
                .iter()
                .zip(labels.iter())
                .all(|((n, v), l)| n.as_ref() == l.name && v.as_ref() == l.value)
    }
}
