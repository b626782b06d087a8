//! Silences applied to alerts: the stored records (`homeostat_state`)
//! compiled into matchers, their pending/active/expired state, and the
//! checks a silence must pass before it is stored.

use homeostat_model::Labels;
use homeostat_state::{Silence, SilenceMatcher};

use crate::matcher::{MatchType, Matcher, Matchers};

/// Where a silence is in its life at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    pub fn at(s: &Silence, now: i64) -> Self {
        if s.ends_at <= now {
            SilenceState::Expired
        } else if s.starts_at > now {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// A silence that cannot be stored: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SilenceError {
    pub field: String,
    pub message: String,
}

fn op(m: &SilenceMatcher) -> MatchType {
    match (m.is_regex, m.is_equal) {
        (false, true) => MatchType::Equal,
        (false, false) => MatchType::NotEqual,
        (true, true) => MatchType::Regex,
        (true, false) => MatchType::NotRegex,
    }
}

/// The matchers of a stored silence; fails on a regex that does not compile.
pub fn compile(s: &Silence) -> Result<Matchers, SilenceError> {
    s.matchers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            Matcher::new(op(m), m.name.clone(), m.value.clone()).map_err(|e| SilenceError {
                field: format!("matchers[{i}].value"),
                message: format!("invalid regex {:?}: {e}", m.value),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Matchers::new)
}

/// Longest a silence may last (`endsAt - startsAt`): a silence meant to
/// be forever is a route or an inhibition, and one that never ends is never
/// collected.
pub const MAX_SILENCE_DURATION_MS: i64 = 366 * 86_400_000;

/// Largest silence: matchers, comment and author together, in bytes.
pub const MAX_SILENCE_BYTES: usize = 64 << 10;

/// Most silences not yet expired at once; a new one beyond is refused
/// (updating one that exists is not).
pub const MAX_SILENCES: usize = 10_000;

fn size(s: &Silence) -> usize {
    s.matchers
        .iter()
        .map(|m| m.name.len() + m.value.len())
        .sum::<usize>()
        + s.comment.len()
        + s.created_by.len()
}

/// Checks a silence posted by a client at `now`, beyond what every state
/// backend checks (`Silence::validate`): it must not already be over, and
/// it must stay within [`MAX_SILENCE_DURATION_MS`] and [`MAX_SILENCE_BYTES`].
pub fn check_postable(s: &Silence, now: i64) -> Result<(), SilenceError> {
    if size(s) > MAX_SILENCE_BYTES {
        return Err(SilenceError {
            field: "silence".into(),
            message: format!(
                "{} bytes of matchers, comment and createdBy; the limit is {MAX_SILENCE_BYTES}",
                size(s)
            ),
        });
    }
    if s.ends_at.saturating_sub(s.starts_at.max(now)) > MAX_SILENCE_DURATION_MS {
        return Err(SilenceError {
            field: "endsAt".into(),
            message: format!(
                "the silence would last more than {} days (the limit); silence for less and extend it when needed",
                MAX_SILENCE_DURATION_MS / 86_400_000
            ),
        });
    }
    compile(s)?;
    s.validate().map_err(|e| match e {
        homeostat_state::StateError::Invalid { field, problem } => SilenceError {
            field: match field.as_str() {
                "ends_at" => "endsAt".into(),
                "created_by" => "createdBy".into(),
                _ => field,
            },
            message: problem,
        },
        other => SilenceError {
            field: "silence".into(),
            message: other.to_string(),
        },
    })?;
    if s.ends_at <= now {
        return Err(SilenceError {
            field: "endsAt".into(),
            message: "the silence would already be over; give an end in the future".into(),
        });
    }
    Ok(())
}

/// The silences that may mute alerts, compiled once.
#[derive(Debug, Clone, Default)]
pub struct Silencer {
    silences: Vec<(Silence, Matchers)>,
}

impl Silencer {
    /// Keeps the silences that are not expired at `now`; one whose regex
    /// no longer compiles (stored by an older version) is skipped.
    pub fn new(silences: Vec<Silence>, now: i64) -> Self {
        let silences = silences
            .into_iter()
            .filter(|s| s.ends_at > now)
            // Posting refuses bad regexes, so only a hand-edited database
            // gets here; such a silence mutes nothing rather than everything.
            .filter_map(|s| compile(&s).ok().map(|m| (s, m)))
            .collect();
        Self { silences }
    }

    /// Ids of the silences muting `labels` at `now`, sorted.
    pub fn silenced_by(&self, labels: &Labels, now: i64) -> Vec<String> {
        let mut out: Vec<String> = self
            .silences
            .iter()
            .filter(|(s, m)| s.is_active(now) && m.matches(labels))
            .map(|(s, _)| s.id.clone())
            .collect();
        out.sort();
        out
    }

    pub fn is_empty(&self) -> bool {
        self.silences.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn silence(matchers: Vec<SilenceMatcher>, starts_at: i64, ends_at: i64) -> Silence {
        Silence {
            id: "11111111-1111-4111-8111-111111111111".into(),
            matchers,
            starts_at,
            ends_at,
            created_by: "ana".into(),
            comment: String::new(),
            updated_at: 0,
        }
    }

    fn m(name: &str, value: &str, is_regex: bool, is_equal: bool) -> SilenceMatcher {
        SilenceMatcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        }
    }

    #[test]
    fn states_and_matching() {
        let s = silence(vec![m("job", "api|web", true, true)], 100, 200);
        assert_eq!(SilenceState::at(&s, 50), SilenceState::Pending);
        assert_eq!(SilenceState::at(&s, 100), SilenceState::Active);
        assert_eq!(SilenceState::at(&s, 200), SilenceState::Expired);
        let set = Silencer::new(vec![s], 0);
        let api = Labels::from_pairs(&[("job", "api")]);
        assert_eq!(
            set.silenced_by(&api, 150),
            vec!["11111111-1111-4111-8111-111111111111".to_string()]
        );
        assert!(set.silenced_by(&api, 50).is_empty());
        assert!(
            set.silenced_by(&Labels::from_pairs(&[("job", "apix")]), 150)
                .is_empty()
        );
        let not = Silencer::new(vec![silence(vec![m("job", "api", false, false)], 0, 10)], 0);
        assert!(not.silenced_by(&api, 5).is_empty());
        assert_eq!(
            not.silenced_by(&Labels::from_pairs(&[("job", "db")]), 5),
            vec!["11111111-1111-4111-8111-111111111111".to_string()]
        );
    }

    #[test]
    fn postable_checks_name_the_field() {
        let bad_re = silence(vec![m("job", "(", true, true)], 0, 100);
        assert_eq!(
            check_postable(&bad_re, 0).unwrap_err().field,
            "matchers[0].value"
        );
        let backwards = silence(vec![m("job", "a", false, true)], 100, 50);
        assert_eq!(check_postable(&backwards, 0).unwrap_err().field, "endsAt");
        let over = silence(vec![m("job", "a", false, true)], 0, 50);
        assert_eq!(check_postable(&over, 60).unwrap_err().field, "endsAt");
        let bad_name = silence(vec![m("0job", "a", false, true)], 0, 50);
        assert_eq!(
            check_postable(&bad_name, 0).unwrap_err().field,
            "matchers[0].name"
        );
        assert!(check_postable(&silence(vec![m("job", "a", false, true)], 0, 50), 10).is_ok());
    }

    #[test]
    fn silences_longer_or_larger_than_the_limits_are_refused() {
        let m = vec![SilenceMatcher {
            name: "a".into(),
            value: "b".into(),
            is_regex: false,
            is_equal: true,
        }];
        let mut s = silence(m, 0, MAX_SILENCE_DURATION_MS);
        assert!(check_postable(&s, 0).is_ok());
        s.ends_at += 1;
        let e = check_postable(&s, 0).expect_err("too long");
        assert_eq!(e.field, "endsAt");
        assert!(e.message.contains("366 days"), "{e}");
        s.ends_at = 1_000;
        s.comment = "x".repeat(MAX_SILENCE_BYTES);
        let e = check_postable(&s, 0).expect_err("too large");
        assert!(e.message.contains("the limit is 65536"), "{e}");
    }
}
