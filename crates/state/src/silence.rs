//! Silences: label matchers that mute notifications for a time range.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StateError};

/// One label matcher of a silence: `name=value`, `name!=value`,
/// `name=~regex`, `name!~regex`. Regexes are fully anchored when applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    pub is_equal: bool,
}

/// A silence as stored. Times are milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    /// A UUID v4 string; [`SilenceStore::upsert`] assigns one when empty.
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_by: String,
    pub comment: String,
    pub updated_at: i64,
}

impl Silence {
    /// Checks what every backend refuses to store. The silence engine may
    /// check more (e.g. that the silence is not already over).
    pub fn validate(&self) -> Result<()> {
        if !self.id.is_empty() && uuid::Uuid::parse_str(&self.id).is_err() {
            return Err(StateError::invalid(
                "id",
                format!(
                    "{:?} is not a UUID; leave it empty to get a new one",
                    self.id
                ),
            ));
        }
        if self.matchers.is_empty() {
            return Err(StateError::invalid(
                "matchers",
                "a silence needs at least one matcher",
            ));
        }
        for (i, m) in self.matchers.iter().enumerate() {
            if !homeostat_model::is_valid_label_name(&m.name) {
                return Err(StateError::invalid(
                    format!("matchers[{i}].name"),
                    format!("{:?} is not a valid label name", m.name),
                ));
            }
            if m.is_regex
                && let Err(e) = regex::Regex::new(&format!("^(?:{})$", m.value))
            {
                return Err(StateError::invalid(
                    format!("matchers[{i}].value"),
                    format!("invalid regex {:?}: {e}", m.value),
                ));
            }
        }
        if self.matchers.iter().all(matches_empty) {
            return Err(StateError::invalid(
                "matchers",
                "every matcher matches the empty string, so the silence would mute all alerts; add a matcher that needs a label value",
            ));
        }
        if self.ends_at < self.starts_at {
            return Err(StateError::invalid(
                "ends_at",
                "the silence ends before it starts",
            ));
        }
        if self.created_by.trim().is_empty() {
            return Err(StateError::invalid("created_by", "must not be empty"));
        }
        Ok(())
    }

    /// Whether the silence mutes alerts at `at` (`starts_at <= at < ends_at`).
    pub fn is_active(&self, at: i64) -> bool {
        self.starts_at <= at && at < self.ends_at
    }
}

fn matches_empty(m: &SilenceMatcher) -> bool {
    let hit = if m.is_regex {
        regex::Regex::new(&format!("^(?:{})$", m.value))
            .map(|r| r.is_match(""))
            .unwrap_or(false)
    } else {
        m.value.is_empty()
    };
    hit == m.is_equal
}

/// New UUID v4 string for a silence.
pub fn new_silence_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Where silences live.
pub trait SilenceStore: Send + Sync {
    /// Inserts or replaces the silence with `silence.id`; an empty id gets a
    /// new UUID. Returns the silence as stored.
    fn upsert(&self, silence: &Silence) -> Result<Silence>;
    fn get(&self, id: &str) -> Result<Silence>;
    /// Every stored silence, by `starts_at` then id.
    fn list(&self) -> Result<Vec<Silence>>;
    /// Ends the silence at `at` (a pending one also starts at `at`).
    /// Conflict if it had already ended by then.
    fn expire(&self, id: &str, at: i64) -> Result<Silence>;
    /// Deletes silences that ended before `older_than`; returns how many.
    fn gc(&self, older_than: i64) -> Result<usize>;
}

/// Shared by backends: the silence `expire` turns `s` into at `at`.
pub fn expired_at(mut s: Silence, at: i64) -> Result<Silence> {
    if s.ends_at <= at {
        return Err(StateError::conflict("silence", &s.id, "already expired"));
    }
    s.starts_at = s.starts_at.min(at);
    s.ends_at = at;
    s.updated_at = at;
    Ok(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m(name: &str, value: &str, is_regex: bool, is_equal: bool) -> SilenceMatcher {
        SilenceMatcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        }
    }

    fn silence(matchers: Vec<SilenceMatcher>) -> Silence {
        Silence {
            id: String::new(),
            matchers,
            starts_at: 0,
            ends_at: 10,
            created_by: "ana".into(),
            comment: String::new(),
            updated_at: 0,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (silence(vec![]), "matchers"),
            (
                silence(vec![m("0bad", "x", false, true)]),
                "matchers[0].name",
            ),
            (
                silence(vec![m("job", "(", true, true)]),
                "matchers[0].value",
            ),
            (silence(vec![m("job", ".*", true, true)]), "matchers"),
            (silence(vec![m("job", "x", false, false)]), "matchers"),
        ];
        for (s, field) in cases {
            match s.validate() {
                Err(StateError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut backwards = silence(vec![m("job", "api", false, true)]);
        backwards.ends_at = -1;
        assert!(backwards.validate().is_err());
        assert!(
            silence(vec![m("job", "api", false, true)])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn expire_ends_now_and_refuses_twice() {
        let s = Silence {
            starts_at: 100,
            ..silence(vec![m("job", "api", false, true)])
        };
        let s = Silence { ends_at: 200, ..s };
        let pending = expired_at(s.clone(), 50).unwrap();
        assert_eq!((pending.starts_at, pending.ends_at), (50, 50));
        let done = expired_at(s, 150).unwrap();
        assert_eq!((done.starts_at, done.ends_at), (100, 150));
        assert!(matches!(
            expired_at(done, 160),
            Err(StateError::Conflict { .. })
        ));
    }
}
