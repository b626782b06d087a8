//! Checking `Authorization: Basic` credentials against the web config's
//! `basic_auth_users` (bcrypt hashes). bcrypt is slow on purpose, so a
//! successful check is remembered under a SHA-256 of user, password and hash
//! (never the password itself): a remote-write sender presenting the same
//! credentials every few seconds costs one bcrypt per process, not one per
//! request. A changed hash (a reloaded web config) misses the cache.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Most remembered successful checks; the cache starts over when full, which
/// costs one bcrypt per active user.
const MAX_CACHED: usize = 1024;

/// Checked against when the user is unknown, so an unknown user costs as
/// much as a wrong password and user names cannot be probed by timing.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash("homeostat", bcrypt::DEFAULT_COST).unwrap_or_default())
}

/// The bcrypt check with its cache of successes.
#[derive(Debug, Default)]
pub struct BasicAuthCache {
    ok: Mutex<HashSet<[u8; 32]>>,
}

impl BasicAuthCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `password` is `user`'s password in `users`. Blocks for a
    /// bcrypt computation on a cache miss (tens of milliseconds).
    pub fn check(&self, users: &BTreeMap<String, String>, user: &str, password: &str) -> bool {
        let Some(hash) = users.get(user) else {
            let _ = bcrypt::verify(password, dummy_hash());
            return false;
        };
        let key = cache_key(user, password, hash);
        if self.ok.lock().contains(&key) {
            return true;
        }
        let good = bcrypt::verify(password, hash).unwrap_or(false);
        if good {
            let mut ok = self.ok.lock();
            if ok.len() >= MAX_CACHED {
                ok.clear();
            }
            ok.insert(key);
        }
        good
    }

    /// How many successful checks are remembered (for tests).
    pub fn cached(&self) -> usize {
        self.ok.lock().len()
    }
}

fn cache_key(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    // Lengths first, so ("ab","c") and ("a","bc") cannot collide.
    for part in [user, password, hash] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// Splits the value of an `Authorization: Basic` header into user and
/// password; `None` when it is not valid base64 of `user:password`.
pub fn parse_basic(header_value: &str) -> Option<(String, String)> {
    let (scheme, rest) = header_value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64_decode(rest.trim())?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> BTreeMap<String, String> {
        let hash = bcrypt::hash("s3cret", 4).expect("hash");
        BTreeMap::from([("alice".to_string(), hash)])
    }

    #[test]
    fn right_password_passes_and_is_cached() {
        let c = BasicAuthCache::new();
        let u = users();
        assert!(c.check(&u, "alice", "s3cret"));
        assert_eq!(c.cached(), 1);
        assert!(c.check(&u, "alice", "s3cret"));
        assert_eq!(c.cached(), 1);
    }

    #[test]
    fn wrong_password_or_unknown_user_fails_and_is_not_cached() {
        let c = BasicAuthCache::new();
        let u = users();
        assert!(!c.check(&u, "alice", "nope"));
        assert!(!c.check(&u, "bob", "s3cret"));
        assert_eq!(c.cached(), 0);
    }

    #[test]
    fn a_changed_hash_misses_the_cache() {
        let c = BasicAuthCache::new();
        assert!(c.check(&users(), "alice", "s3cret"));
        let other =
            BTreeMap::from([("alice".to_string(), bcrypt::hash("other", 4).expect("hash"))]);
        assert!(!c.check(&other, "alice", "s3cret"));
    }

    #[test]
    fn basic_headers_parse() {
        // "alice:pa:ss" — the password may contain colons.
        assert_eq!(
            parse_basic("Basic YWxpY2U6cGE6c3M="),
            Some(("alice".into(), "pa:ss".into()))
        );
        assert_eq!(parse_basic("basic YTpi"), Some(("a".into(), "b".into())));
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic YWxpY2U="), None);
    }
}
