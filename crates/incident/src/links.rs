//! Signed action links: the acknowledge and resolve URLs put into pages and
//! notifications. A link must work for whoever received it, without a
//! login, and must not be guessable from the incident number alone (a page
//! that anyone can acknowledge from a forged link stops escalating). So
//! each link carries an HMAC-SHA256 of the incident, the action and the
//! paged user, keyed with a server secret the caller keeps safe.

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
    /// not addressed to one person), as lowercase hex.
    pub fn token(&self, id: IncidentId, action: LinkAction, user: &str) -> String {
        let message = format!("{id}\n{}\n{user}", action.as_str());
        hex(&self.hmac(message.as_bytes()))
    }

    /// Whether `token` is the one [`LinkSigner::token`] gives. Compares in
    /// constant time so the answer time does not leak how much matched.
    pub fn verify(&self, id: IncidentId, action: LinkAction, user: &str, token: &str) -> bool {
        let want = self.token(id, action, user);
        want.len() == token.len()
            && want
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
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
    fn tokens_bind_incident_action_and_user() {
        let s = LinkSigner::new(b"secret");
        let t = s.token(IncidentId(4), LinkAction::Acknowledge, "alice");
        assert!(s.verify(IncidentId(4), LinkAction::Acknowledge, "alice", &t));
        assert!(!s.verify(IncidentId(5), LinkAction::Acknowledge, "alice", &t));
        assert!(!s.verify(IncidentId(4), LinkAction::Resolve, "alice", &t));
        assert!(!s.verify(IncidentId(4), LinkAction::Acknowledge, "bob", &t));
        assert!(!s.verify(IncidentId(4), LinkAction::Acknowledge, "alice", ""));
        let other = LinkSigner::new(b"other");
        assert!(!other.verify(IncidentId(4), LinkAction::Acknowledge, "alice", &t));
    }
}
