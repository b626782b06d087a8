//! API tokens: unique names among live tokens, found by hash, revoked
//! in place; used links: claimed once, forgotten after they expire.

use crate::{StateError, TokenRecord, TokenStore, UsedLinkStore};

pub fn sample_token(name: &str, hash: &str) -> TokenRecord {
    TokenRecord {
        name: name.into(),
        hash: hash.into(),
        scopes: vec!["read".into(), "write".into()],
        created_at: 1_000,
        created_by: "anonymous".into(),
        expires_at: Some(90_000),
        revoked_at: None,
    }
}

pub fn tokens(s: &dyn TokenStore) {
    assert_eq!(s.token_by_hash("aa").expect("lookup"), None);
    assert!(s.list_tokens().expect("list").is_empty());
    let ci = sample_token("ci", "aa");
    s.create_token(&ci).expect("create");
    let mut bot = sample_token("bot", "bb");
    bot.expires_at = None;
    bot.scopes = vec![];
    s.create_token(&bot).expect("create");
    assert_eq!(s.token_by_hash("aa").expect("lookup"), Some(ci.clone()));
    assert_eq!(s.token_by_hash("bb").expect("lookup"), Some(bot.clone()));
    assert_eq!(
        s.list_tokens().expect("list"),
        vec![bot.clone(), ci.clone()],
        "listed by name"
    );

    let err = s.create_token(&sample_token("ci", "cc")).unwrap_err();
    assert!(matches!(err, StateError::Conflict { .. }), "{err}");
    assert_eq!(s.token_by_hash("cc").expect("lookup"), None);

    let revoked = s.revoke_token("ci", 5_000).expect("revoke");
    assert_eq!(revoked.revoked_at, Some(5_000));
    assert_eq!(
        s.revoke_token("ci", 6_000)
            .expect("revoke again")
            .revoked_at,
        Some(5_000),
        "the first revocation time stays"
    );
    assert_eq!(
        s.token_by_hash("aa")
            .expect("lookup")
            .and_then(|t| t.revoked_at),
        Some(5_000)
    );
    let err = s.revoke_token("nobody", 5_000).unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }), "{err}");

    // A revoked name is free again; the old token is gone with it.
    let ci2 = sample_token("ci", "dd");
    s.create_token(&ci2).expect("reuse a revoked name");
    assert_eq!(s.token_by_hash("aa").expect("lookup"), None);
    assert_eq!(s.token_by_hash("dd").expect("lookup"), Some(ci2));
    assert_eq!(s.list_tokens().expect("list").len(), 2);
}

pub fn used_links(s: &dyn UsedLinkStore) {
    assert!(!s.link_used("k1").expect("used?"));
    assert!(s.claim_link("k1", 10_000, 1_000).expect("claim"));
    assert!(s.link_used("k1").expect("used?"));
    assert!(!s.claim_link("k1", 10_000, 2_000).expect("claim again"));
    assert!(s.claim_link("k2", 20_000, 2_000).expect("claim another"));
    // Past k1's expiry it is pruned; k2 is still remembered.
    assert!(s.claim_link("k3", 30_000, 15_000).expect("claim"));
    assert!(!s.link_used("k1").expect("pruned"));
    assert!(s.link_used("k2").expect("kept"));
    assert!(!s.claim_link("k2", 20_000, 15_000).expect("still used"));
}
