//! The console's session cookie: who signed in, with which scopes, until
//! when — signed with HMAC-SHA256 under a key only the server holds, so the
//! value needs no server-side storage and cannot be forged or extended. A
//! session also yields a CSRF token (an HMAC of the cookie value) that the
//! console's scripts send back on every state-changing request.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use homeostat_model::{AuthMethod, Principal, Scopes};
use sha2::Sha256;

use crate::AuthError;

type HmacSha256 = Hmac<Sha256>;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "homeostat_session";
/// The name of the cookie the console's scripts read the CSRF token from.
pub const CSRF_COOKIE: &str = "homeostat_csrf";
/// The header state-changing console requests carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The secret session cookies are signed with.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<secret>)")
    }
}

/// A signed-in console user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub name: String,
    pub scopes: Scopes,
    /// When the session ends, ms since the epoch.
    pub expires_ms: i64,
    /// Makes every sign-in's cookie (and CSRF token) different.
    pub nonce: u64,
}

impl Session {
    pub fn principal(&self) -> Principal {
        Principal {
            name: self.name.clone(),
            method: AuthMethod::Session,
            scopes: self.scopes,
        }
    }
}

/// Why a cookie value was not accepted. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the session cookie is malformed")]
    Malformed,
    #[error("the session cookie's signature does not match")]
    BadSignature,
    #[error("the session has expired; sign in again")]
    Expired,
}

impl SessionKey {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// Reads the key at `path`, creating it (mode 0600) when absent. A key
    /// file readable by others is refused: whoever reads it can sign in as
    /// anyone.
    pub fn load_or_create(path: &Path) -> Result<Self, AuthError> {
        let io = |source| AuthError::Read {
            path: path.display().to_string(),
            source,
        };
        let invalid = |message: String| AuthError::Invalid {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                check_private(path).map_err(invalid)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| invalid("the session key is not hex text".into()))?;
                let raw = hex_decode(text.trim())
                    .filter(|r| r.len() == 32)
                    .ok_or_else(|| invalid("the session key is not 64 hex digits".into()))?;
                let mut k = [0u8; 32];
                k.copy_from_slice(&raw);
                Ok(Self(k))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(path).map_err(io)?;
                f.write_all(hex_encode(&key.0).as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // new_from_slice only fails for key lengths HMAC cannot take; 32 bytes is fine.
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m
    }

    /// The cookie value of `s`: `v1.<hex name>.<scopes>.<expiry>.<nonce>.<hex mac>`.
    pub fn sign(&self, s: &Session) -> String {
        let body = format!(
            "v1.{}.{}.{}.{:x}",
            hex_encode(s.name.as_bytes()),
            if s.scopes.is_empty() {
                "-".to_string()
            } else {
                s.scopes.to_string()
            },
            s.expires_ms,
            s.nonce
        );
        let tag = self
            .mac(&[b"session", body.as_bytes()])
            .finalize()
            .into_bytes();
        format!("{body}.{}", hex_encode(&tag))
    }

    /// The session in a cookie value, if it is ours, intact and not expired at `now_ms`.
    pub fn verify(&self, value: &str, now_ms: i64) -> Result<Session, SessionError> {
        let (body, tag) = value.rsplit_once('.').ok_or(SessionError::Malformed)?;
        let tag = hex_decode(tag).ok_or(SessionError::Malformed)?;
        self.mac(&[b"session", body.as_bytes()])
            .verify_slice(&tag)
            .map_err(|_| SessionError::BadSignature)?;
        let mut it = body.split('.');
        let (Some("v1"), Some(name), Some(scopes), Some(exp), Some(nonce), None) = (
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
        ) else {
            return Err(SessionError::Malformed);
        };
        let name = hex_decode(name)
            .and_then(|n| String::from_utf8(n).ok())
            .ok_or(SessionError::Malformed)?;
        let scopes = if scopes == "-" {
            Scopes::NONE
        } else {
            Scopes::parse_list(scopes).map_err(|_| SessionError::Malformed)?
        };
        let expires_ms: i64 = exp.parse().map_err(|_| SessionError::Malformed)?;
        let nonce = u64::from_str_radix(nonce, 16).map_err(|_| SessionError::Malformed)?;
        if now_ms >= expires_ms {
            return Err(SessionError::Expired);
        }
        Ok(Session {
            name,
            scopes,
            expires_ms,
            nonce,
        })
    }

    /// The CSRF token of a session cookie value.
    pub fn csrf_token(&self, cookie_value: &str) -> String {
        let tag = self
            .mac(&[b"csrf", cookie_value.as_bytes()])
            .finalize()
            .into_bytes();
        hex_encode(&tag)
    }

    /// Whether `token` is the CSRF token of `cookie_value` (constant time).
    pub fn check_csrf(&self, cookie_value: &str, token: &str) -> bool {
        match hex_decode(token.trim()) {
            Some(raw) => self
                .mac(&[b"csrf", cookie_value.as_bytes()])
                .verify_slice(&raw)
                .is_ok(),
            None => false,
        }
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the session key is readable by others (mode {:o}); run `chmod 600 {}`",
            mode & 0o777,
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeostat_model::Scope;

    fn session() -> Session {
        Session {
            name: "alice.o'hara".into(),
            scopes: [Scope::Read, Scope::Respond].into_iter().collect(),
            expires_ms: 10_000,
            nonce: 42,
        }
    }

    #[test]
    fn a_signed_session_verifies_until_it_expires() {
        let k = SessionKey::generate();
        let v = k.sign(&session());
        assert_eq!(k.verify(&v, 9_999), Ok(session()));
        assert_eq!(k.verify(&v, 10_000), Err(SessionError::Expired));
    }

    #[test]
    fn tampering_or_another_key_is_refused() {
        let k = SessionKey::generate();
        let v = k.sign(&session());
        let extended = v.replace(".10000.", ".99999999.");
        assert_eq!(k.verify(&extended, 0), Err(SessionError::BadSignature));
        let more = v.replace("read,respond", "read,respond,admin");
        assert_eq!(k.verify(&more, 0), Err(SessionError::BadSignature));
        assert_eq!(
            SessionKey::generate().verify(&v, 0),
            Err(SessionError::BadSignature)
        );
        assert_eq!(k.verify("garbage", 0), Err(SessionError::Malformed));
        assert_eq!(k.verify("a.zz", 0), Err(SessionError::Malformed));
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let k = SessionKey::generate();
        let a = k.sign(&session());
        let b = k.sign(&Session {
            nonce: 43,
            ..session()
        });
        let ta = k.csrf_token(&a);
        assert!(k.check_csrf(&a, &ta));
        assert!(!k.check_csrf(&b, &ta));
        assert!(!k.check_csrf(&a, "not hex"));
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("session.key");
        let k1 = SessionKey::load_or_create(&p).expect("create");
        let k2 = SessionKey::load_or_create(&p).expect("load");
        let v = k1.sign(&session());
        assert!(k2.verify(&v, 0).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let e = SessionKey::load_or_create(&p).expect_err("world readable");
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
        assert!(!format!("{k1:?}").contains(&hex_encode(&k1.0)));
    }
}
