//! A stable 64-bit identity for a label set, used to deduplicate alerts.
//! Not Alertmanager's value (that one is FNV over its own encoding), but
//! stable across processes and versions of homeostat.

use std::fmt;

use homeostat_model::Labels;
use xxhash_rust::xxh3::Xxh3;

/// Shown as 16 lowercase hex digits, like Alertmanager's fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub u64);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Hashes the labels in name order; 0xff cannot occur in UTF-8, so it
/// separates names and values without ambiguity.
pub fn fingerprint(labels: &Labels) -> Fingerprint {
    let mut h = Xxh3::new();
    for l in labels {
        h.update(l.name.as_bytes());
        h.update(&[0xff]);
        h.update(l.value.as_bytes());
        h.update(&[0xff]);
    }
    Fingerprint(h.digest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_order_independent() {
        let a = Labels::from_pairs(&[("alertname", "Down"), ("job", "api")]);
        let b = Labels::from_pairs(&[("job", "api"), ("alertname", "Down")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).to_string().len(), 16);
        // Pinned: a change here changes every stored alert's identity.
        assert_eq!(fingerprint(&a).to_string(), "61dfc6f8c875a775");
    }

    #[test]
    fn separators_prevent_collisions() {
        let a = Labels::from_pairs(&[("ab", "c")]);
        let b = Labels::from_pairs(&[("a", "bc")]);
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
