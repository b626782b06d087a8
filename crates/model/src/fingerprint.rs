//! [`Fingerprint`]: the one identity of an alert (of its label set) across
//! crates — the Alertmanager store, notifications, the notification log and
//! incidents all use it. Not Alertmanager's value (that one is FNV over its
//! own encoding), but stable across processes and versions of homeostat.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::Labels;

/// A label set's 64-bit identity. Its one text rendering is Alertmanager's:
/// 16 lowercase hex digits (`Display`, parsed back by `FromStr`).
/// Serialised as the plain number, so records stored before the type
/// existed (notification log, incident timelines) read back unchanged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// Hashes the labels in name order; 0xff cannot occur in UTF-8, so it
    /// separates names and values without ambiguity.
    pub fn of(labels: &Labels) -> Fingerprint {
        let mut h = Xxh3::new();
        for l in labels {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        Fingerprint(h.digest())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Text that is not a fingerprint's hex rendering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fingerprint {0:?} is not 1 to 16 hex digits")]
pub struct FingerprintError(pub String);

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(FingerprintError(s.to_string()));
        }
        u64::from_str_radix(s, 16)
            .map(Fingerprint)
            .map_err(|_| FingerprintError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_order_independent() {
        let a = Labels::from_pairs(&[("alertname", "Down"), ("job", "api")]);
        let b = Labels::from_pairs(&[("job", "api"), ("alertname", "Down")]);
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
        assert_eq!(Fingerprint::of(&a).to_string().len(), 16);
        // Pinned: a change here changes every stored alert's identity.
        assert_eq!(Fingerprint::of(&a).to_string(), "61dfc6f8c875a775");
    }

    #[test]
    fn separators_prevent_collisions() {
        let a = Labels::from_pairs(&[("ab", "c")]);
        let b = Labels::from_pairs(&[("a", "bc")]);
        assert_ne!(Fingerprint::of(&a), Fingerprint::of(&b));
    }

    #[test]
    fn hex_round_trips() {
        let f = Fingerprint(0xaa);
        assert_eq!(f.to_string(), "00000000000000aa");
        assert_eq!("00000000000000aa".parse(), Ok(f));
        assert!("xyz".parse::<Fingerprint>().is_err());
        assert!("".parse::<Fingerprint>().is_err());
        assert!("00000000000000aa0".parse::<Fingerprint>().is_err());
        let max = Fingerprint(u64::MAX);
        assert_eq!(max.to_string().parse(), Ok(max));
    }
}
