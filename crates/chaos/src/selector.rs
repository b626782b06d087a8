//! Blast radius: which members of a target group an action touches, with
//! Chaos Mesh's selector modes. Randomness is injected so tests (and the
//! schedule's per-day plan) can be deterministic.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand::seq::index;

/// How many members of a group to pick (Chaos Mesh `mode` + `value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorMode {
    /// One member at random.
    One,
    /// Every member.
    All,
    /// Exactly `n` members at random (all of them when the group is smaller).
    Fixed(usize),
    /// `p` percent of the members, rounded down, at random.
    FixedPercent(u8),
    /// A random share between 0 and `p` percent, rounded down.
    RandomMaxPercent(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error(
        "unknown selector mode {0:?} (expected one, all, fixed, fixed-percent or random-max-percent)"
    )]
    UnknownMode(String),
    #[error("selector mode {mode} needs a value ({what})")]
    MissingValue {
        mode: &'static str,
        what: &'static str,
    },
    #[error("selector mode {mode} takes no value, got {value:?}")]
    UnexpectedValue { mode: &'static str, value: String },
    #[error("selector value {value:?} for mode {mode} is not {what}")]
    BadValue {
        mode: &'static str,
        value: String,
        what: &'static str,
    },
}

impl SelectorMode {
    /// Builds a mode from Chaos Mesh's `mode` and `value` strings.
    pub fn parse(mode: &str, value: Option<&str>) -> Result<Self, SelectorError> {
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        let no_value = |m: &'static str, v: Option<&str>| match v {
            Some(v) => Err(SelectorError::UnexpectedValue {
                mode: m,
                value: v.to_string(),
            }),
            None => Ok(()),
        };
        let count = |m: &'static str, v: Option<&str>| -> Result<usize, SelectorError> {
            let v = v.ok_or(SelectorError::MissingValue {
                mode: m,
                what: "a number of members, at least 1",
            })?;
            match v.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(SelectorError::BadValue {
                    mode: m,
                    value: v.to_string(),
                    what: "a whole number of members, at least 1",
                }),
            }
        };
        let percent = |m: &'static str, v: Option<&str>| -> Result<u8, SelectorError> {
            let v = v.ok_or(SelectorError::MissingValue {
                mode: m,
                what: "a percentage from 1 to 100",
            })?;
            match v.trim_end_matches('%').parse::<u8>() {
                Ok(p) if (1..=100).contains(&p) => Ok(p),
                _ => Err(SelectorError::BadValue {
                    mode: m,
                    value: v.to_string(),
                    what: "a whole percentage from 1 to 100",
                }),
            }
        };
        match mode {
            "one" => no_value("one", value).map(|()| Self::One),
            "all" => no_value("all", value).map(|()| Self::All),
            "fixed" => count("fixed", value).map(Self::Fixed),
            "fixed-percent" => percent("fixed-percent", value).map(Self::FixedPercent),
            "random-max-percent" => {
                percent("random-max-percent", value).map(Self::RandomMaxPercent)
            }
            other => Err(SelectorError::UnknownMode(other.to_string())),
        }
    }

    /// How many of `len` members this mode picks; random only for
    /// `random-max-percent`.
    pub fn count(&self, len: usize, rng: &mut impl Rng) -> usize {
        let share = |p: u8| len * usize::from(p) / 100;
        let n = match *self {
            Self::One => 1,
            Self::All => len,
            Self::Fixed(n) => n,
            Self::FixedPercent(p) => share(p),
            Self::RandomMaxPercent(p) => share(rng.random_range(0..=p)),
        };
        n.min(len)
    }

    /// The members picked from `members`, in their original order.
    pub fn select<'a, T>(&self, members: &'a [T], rng: &mut impl Rng) -> Vec<&'a T> {
        let n = self.count(members.len(), rng);
        let mut picked = index::sample(rng, members.len(), n).into_vec();
        picked.sort_unstable();
        picked.into_iter().map(|i| &members[i]).collect()
    }
}

impl fmt::Display for SelectorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::One => f.write_str("one"),
            Self::All => f.write_str("all"),
            Self::Fixed(n) => write!(f, "fixed {n}"),
            Self::FixedPercent(p) => write!(f, "fixed-percent {p}%"),
            Self::RandomMaxPercent(p) => write!(f, "random-max-percent {p}%"),
        }
    }
}

impl FromStr for SelectorMode {
    type Err = SelectorError;
    /// `mode` or `mode:value`, e.g. `fixed-percent:30`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((m, v)) => Self::parse(m.trim(), Some(v)),
            None => Self::parse(s.trim(), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn members(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("pod-{i}")).collect()
    }

    #[test]
    fn counts_follow_chaos_mesh() {
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(SelectorMode::One.count(10, &mut rng), 1);
        assert_eq!(SelectorMode::One.count(0, &mut rng), 0);
        assert_eq!(SelectorMode::All.count(10, &mut rng), 10);
        assert_eq!(SelectorMode::Fixed(3).count(10, &mut rng), 3);
        assert_eq!(SelectorMode::Fixed(30).count(10, &mut rng), 10);
        // Rounded down, as Chaos Mesh does: 33% of 10 is 3, 5% of 10 is none.
        assert_eq!(SelectorMode::FixedPercent(33).count(10, &mut rng), 3);
        assert_eq!(SelectorMode::FixedPercent(5).count(10, &mut rng), 0);
        assert_eq!(SelectorMode::FixedPercent(100).count(7, &mut rng), 7);
    }

    #[test]
    fn random_max_percent_stays_within_its_cap_and_varies() {
        let mut rng = StdRng::seed_from_u64(1);
        let mode = SelectorMode::RandomMaxPercent(50);
        let counts: Vec<usize> = (0..500).map(|_| mode.count(20, &mut rng)).collect();
        assert!(counts.iter().all(|&c| c <= 10), "{counts:?}");
        assert!(counts.contains(&0) && counts.contains(&10));
    }

    #[test]
    fn picks_distinct_members_in_order() {
        let m = members(10);
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let picked = SelectorMode::Fixed(4).select(&m, &mut rng);
            assert_eq!(picked.len(), 4);
            let idx: Vec<usize> = picked
                .iter()
                .map(|p| m.iter().position(|x| x == *p).unwrap())
                .collect();
            assert!(idx.windows(2).all(|w| w[0] < w[1]), "{idx:?}");
        }
        // Every member gets picked sometimes by `one`.
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(SelectorMode::One.select(&m, &mut rng)[0].clone());
        }
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn parses_modes_and_explains_bad_values() {
        assert_eq!("one".parse::<SelectorMode>(), Ok(SelectorMode::One));
        assert_eq!(
            SelectorMode::parse("fixed-percent", Some("30")),
            Ok(SelectorMode::FixedPercent(30))
        );
        assert_eq!(
            "random-max-percent:40%".parse::<SelectorMode>(),
            Ok(SelectorMode::RandomMaxPercent(40))
        );
        assert!(matches!(
            SelectorMode::parse("fixed", None),
            Err(SelectorError::MissingValue { .. })
        ));
        assert!(matches!(
            SelectorMode::parse("fixed-percent", Some("120")),
            Err(SelectorError::BadValue { .. })
        ));
        assert!(matches!(
            SelectorMode::parse("all", Some("3")),
            Err(SelectorError::UnexpectedValue { .. })
        ));
        let e = SelectorMode::parse("some", None).unwrap_err().to_string();
        assert!(e.contains("fixed-percent"), "{e}");
    }
}
