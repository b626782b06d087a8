//! Signed action links: the acknowledge and resolve URLs put into pages and
//! notifications. A link must work for whoever received it, without a
//! login, and must not be guessable from the incident number alone (a page
//! that anyone can acknowledge from a forged link stops escalating). So
//! each link carries an HMAC-SHA256 of the incident, the action and the
//! paged user, keyed with a server secret the caller keeps safe.
//!
//! A link also carries its expiry (signed with the rest: `EXPIRES.HMAC`),
//! so a link forwarded or found in an old mail stops working; the HTTP
//! edge additionally lets each link work once (the state store's used
//! links).

use sha2::{Digest, Sha256};

use homeostat_state::IncidentId;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Acknowledge,
    Resolve,
}

impl LinkAction {
    /// The path segment of the link (`…/INC-4/ack`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "ack",
            LinkAction::Resolve => "resolve",
        }
    }
}

const BLOCK: usize = 64;

/// How long a link works by default: a day, enough for a page read late at
/// night to still be acted on in the morning.
pub const DEFAULT_LINK_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not signed by this server for this incident, action and user.
    Invalid,
    /// Signed, but past its expiry.
    Expired,
}

impl LinkRefusal {
    pub fn message(self) -> &'static str {
        match self {
            LinkRefusal::Invalid => "this link's token is not valid for this incident and action",
            LinkRefusal::Expired => "this link has expired; act from the console or the CLI",
        }
    }
}

/// Signs and checks link tokens with one secret.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; BLOCK],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    /// Any secret works; 32 random bytes are plenty. Longer secrets are
    /// hashed first, as HMAC prescribes.
    pub fn new(secret: &[u8]) -> Self {
        let mut key = [0u8; BLOCK];
        if secret.len() > BLOCK {
            key[..32].copy_from_slice(&Sha256::digest(secret));
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        LinkSigner { key }
    }

    /// The token for `action` on `id` by `user` (empty for a link that is
    /// not addressed to one person) that works until `expires_at` (ms since
    /// the epoch): `EXPIRES.HMAC`, the HMAC as lowercase hex.
    pub fn token(&self, id: IncidentId, action: LinkAction, user: &str, expires_at: i64) -> String {
        format!("{expires_at}.{}", self.mac(id, action, user, expires_at))
    }

    fn mac(&self, id: IncidentId, action: LinkAction, user: &str, expires_at: i64) -> String {
        let message = format!("{id}\n{}\n{user}\n{expires_at}", action.as_str());
        hex(&self.hmac(message.as_bytes()))
    }

    /// Checks `token` at `now` (ms): its expiry when it is one
    /// [`LinkSigner::token`] gives and has not expired. Compares in constant
    /// time so the answer time does not leak how much matched; the expiry
    /// is checked after the signature, so a forged one is only ever invalid.
    pub fn verify(
        &self,
        id: IncidentId,
        action: LinkAction,
        user: &str,
        token: &str,
        now: i64,
    ) -> Result<i64, LinkRefusal> {
        let (expires, mac) = token.split_once('.').ok_or(LinkRefusal::Invalid)?;
        let expires_at: i64 = expires.parse().map_err(|_| LinkRefusal::Invalid)?;
        let want = self.mac(id, action, user, expires_at);
        let same = want.len() == mac.len()
            && want
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(LinkRefusal::Invalid);
        }
        if expires_at <= now {
            return Err(LinkRefusal::Expired);
        }
        Ok(expires_at)
    }

    fn hmac(&self, message: &[u8]) -> [u8; 32] {
        let pad = |byte: u8| -> [u8; BLOCK] {
            let mut p = self.key;
            for b in &mut p {
                *b ^= byte;
            }
            p
        };
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize()
            .into()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // Key "Jefe", data "what do ya want for nothing?".
        let s = LinkSigner::new(b"Jefe");
        assert_eq!(
            hex(&s.hmac(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_bind_incident_action_user_and_expiry() {
        let s = LinkSigner::new(b"secret");
        let ack = LinkAction::Acknowledge;
        let t = s.token(IncidentId(4), ack, "alice", 2_000);
        assert_eq!(s.verify(IncidentId(4), ack, "alice", &t, 1_000), Ok(2_000));
        let bad = Err(LinkRefusal::Invalid);
        assert_eq!(s.verify(IncidentId(5), ack, "alice", &t, 1_000), bad);
        assert_eq!(
            s.verify(IncidentId(4), LinkAction::Resolve, "alice", &t, 1_000),
            bad
        );
        assert_eq!(s.verify(IncidentId(4), ack, "bob", &t, 1_000), bad);
        assert_eq!(s.verify(IncidentId(4), ack, "alice", "", 1_000), bad);
        let other = LinkSigner::new(b"other");
        assert_eq!(other.verify(IncidentId(4), ack, "alice", &t, 1_000), bad);
        // Moving the expiry breaks the signature.
        let mac = t.split_once('.').unwrap().1;
        let later = format!("9999999.{mac}");
        assert_eq!(s.verify(IncidentId(4), ack, "alice", &later, 1_000), bad);
        assert_eq!(
            s.verify(IncidentId(4), ack, "alice", &t, 2_000),
            Err(LinkRefusal::Expired)
        );
    }
}
