//! API tokens: the secret is shown once and stored hashed, lookups refuse
//! unknown, revoked and expired tokens, every change is audited.

use std::sync::Arc;

use homeostat_app::{NewToken, TokenService};
use homeostat_auth::{TokenLookup, token_hash};
use homeostat_model::{AuthMethod, ErrorKind, FakeClock, Principal, Scope, Scopes};
use homeostat_state::{AuditLog, MemState, TokenStore};

const NOW: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;

fn service() -> (TokenService, Arc<MemState>, FakeClock) {
    let state = Arc::new(MemState::default());
    let clock = FakeClock::new(NOW);
    let svc = TokenService::new(state.clone(), state.clone(), Arc::new(clock.clone()));
    (svc, state, clock)
}

fn new(name: &str, scopes: &str, expires_in_ms: Option<i64>) -> NewToken {
    NewToken {
        name: name.into(),
        scopes: Scopes::parse_list(scopes).unwrap(),
        expires_in_ms,
    }
}

#[test]
fn a_token_works_until_it_expires_and_only_its_hash_is_stored() {
    let (svc, state, clock) = service();
    let created = svc
        .create(
            &new("ci", "read,write", Some(30 * DAY)),
            &Principal::anonymous(),
        )
        .unwrap();
    assert!(created.token.starts_with("hst_"));
    assert_eq!(created.info.expires_at, Some(NOW + 30 * DAY));

    let stored = state.list_tokens().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].hash, token_hash(&created.token));
    assert!(!format!("{stored:?}").contains(&created.token));

    let p = svc
        .principal(&created.token, clock_now(&clock))
        .unwrap()
        .unwrap();
    assert_eq!(p.name, "ci");
    assert_eq!(p.method, AuthMethod::Token);
    assert!(p.can(Scope::Write) && p.can(Scope::Read) && !p.can(Scope::Admin));

    assert_eq!(svc.principal("hst_nope", NOW).unwrap(), None);
    clock.advance(30 * DAY);
    assert_eq!(
        svc.principal(&created.token, clock_now(&clock)).unwrap(),
        None,
        "expired at expires_at"
    );
}

fn clock_now(c: &FakeClock) -> i64 {
    homeostat_model::Clock::now_millis(c)
}

#[test]
fn revoked_tokens_stop_working_and_changes_are_audited() {
    let (svc, state, _clock) = service();
    let admin = Principal {
        name: "root".into(),
        method: AuthMethod::Token,
        scopes: Scopes::all(),
    };
    let t = svc.create(&new("bot", "respond", None), &admin).unwrap();
    assert_eq!(t.info.created_by, "root");
    assert!(svc.principal(&t.token, NOW).unwrap().is_some());
    let revoked = svc.revoke("bot", &admin).unwrap();
    assert_eq!(revoked.revoked_at, Some(NOW));
    assert_eq!(svc.principal(&t.token, NOW).unwrap(), None);
    assert_eq!(
        svc.revoke("ghost", &admin).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let audit = state.list_by_object("token/bot", 10).unwrap();
    let actions: Vec<_> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.create", "token.revoke"]);
    assert!(audit.iter().all(|e| e.actor == "root"));
    assert!(
        !format!("{audit:?}").contains(&t.token),
        "no secret in the audit log"
    );

    let list = svc.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].revoked_at, Some(NOW));
}

#[test]
fn bad_requests_name_the_field() {
    let (svc, _state, _clock) = service();
    let who = Principal::anonymous();
    for (t, field) in [
        (new("", "read", None), "name"),
        (new("a b", "read", None), "name"),
        (new("ci", "", None), "scopes"),
        (new("ci", "read", Some(0)), "expires"),
    ] {
        let e = svc.create(&t, &who).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().starts_with(field), "{e}");
    }
    svc.create(&new("ci", "read", None), &who).unwrap();
    let e = svc.create(&new("ci", "read", None), &who).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
}
