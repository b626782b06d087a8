//! Gate decisions on fixed budgets and times.
#![allow(clippy::unwrap_used)]

use homeostat_gate::{Known, Override, SloBudget, decide, from_yaml, validate_override};

const HOUR: i64 = 3_600_000;
const NOW: i64 = 1_800_000_000_000;

fn known() -> Known {
    Known {
        slos: vec![
            ("checkout".into(), "checkout-availability".into()),
            ("checkout".into(), "checkout-latency".into()),
            ("search".into(), "search-availability".into()),
        ],
    }
}

fn policy() -> homeostat_gate::Policy {
    from_yaml(
        "- service: checkout\n  freeze_below_remaining_percent: 10\n",
        &known(),
        "gate.policies",
    )
    .unwrap()
    .remove(0)
}

fn budgets(avail: f64, page: bool) -> Vec<SloBudget> {
    vec![
        SloBudget {
            slo: "checkout-availability".into(),
            remaining: Some(avail),
            page_firing: page,
        },
        SloBudget {
            slo: "checkout-latency".into(),
            remaining: Some(0.8),
            page_firing: false,
        },
    ]
}

#[test]
fn below_threshold_denies_normal_changes_and_allows_a_rollback() {
    let p = policy();
    let d = decide(&p, &budgets(0.042, false), &[], None, NOW);
    assert!(!d.allow);
    assert!(d.frozen);
    assert_eq!(
        d.reason,
        "denied: checkout-availability has 4.2% of its error budget left (freeze below 10.0%)"
    );
    let d = decide(&p, &budgets(0.042, false), &[], Some("rollback"), NOW);
    assert!(d.allow && d.exempt, "{d:?}");
    assert!(
        d.reason
            .starts_with("allowed: change type \"rollback\" may ship"),
        "{}",
        d.reason
    );
    let d = decide(&p, &budgets(0.042, false), &[], Some("feature"), NOW);
    assert!(!d.allow);
}

#[test]
fn healthy_budget_allows_with_the_numbers() {
    let d = decide(&policy(), &budgets(0.5, false), &[], None, NOW);
    assert!(d.allow && !d.frozen);
    assert_eq!(
        d.reason,
        "allowed: error budget ok (lowest: checkout-availability with 50.0% left, freeze below 10.0%)"
    );
    assert_eq!(d.slos.len(), 2);
}

#[test]
fn a_firing_page_alert_freezes() {
    let d = decide(&policy(), &budgets(0.9, true), &[], None, NOW);
    assert!(!d.allow);
    assert!(
        d.reason
            .contains("page-tier burn-rate alert of checkout-availability is firing")
    );
}

#[test]
fn overrides_apply_until_they_expire() {
    let p = policy();
    let o = Override {
        id: "ovr-1".into(),
        service: "checkout".into(),
        reason: "launch approved by VP".into(),
        author: "alice".into(),
        created_at: NOW - HOUR,
        expires_at: NOW + HOUR,
        revoked_at: None,
    };
    let d = decide(
        &p,
        &budgets(0.01, false),
        std::slice::from_ref(&o),
        None,
        NOW,
    );
    assert!(d.allow);
    assert_eq!(
        d.override_used.as_ref().map(|o| o.id.as_str()),
        Some("ovr-1")
    );
    assert!(
        d.reason
            .contains("override ovr-1 from alice until 2027-01-15T09:00:00Z"),
        "{}",
        d.reason
    );
    // An expired override stops applying.
    let d = decide(
        &p,
        &budgets(0.01, false),
        std::slice::from_ref(&o),
        None,
        NOW + 2 * HOUR,
    );
    assert!(!d.allow);
    assert!(d.override_used.is_none());
    // So does a revoked one.
    let revoked = Override {
        revoked_at: Some(NOW - 1),
        ..o
    };
    assert!(!decide(&p, &budgets(0.01, false), &[revoked], None, NOW).allow);
}

#[test]
fn no_data_fails_closed_unless_the_policy_says_allow() {
    let p = policy();
    let b = vec![SloBudget {
        slo: "checkout-availability".into(),
        remaining: None,
        page_firing: false,
    }];
    let d = decide(&p, &b, &[], None, NOW);
    assert!(!d.allow);
    assert!(
        d.reason
            .contains("no budget data for checkout-availability")
    );
    let p = from_yaml(
        "- {service: checkout, on_no_data: allow}\n",
        &known(),
        "gate.policies",
    )
    .unwrap()
    .remove(0);
    assert!(decide(&p, &b, &[], None, NOW).allow);
}

#[test]
fn bad_policies_are_refused_naming_the_field() {
    let e = from_yaml("- service: payments\n", &known(), "gate.policies")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "gate.policies[0].service: unknown service \"payments\"; use one of the services with SLOs: checkout, search"
    );
    let e = from_yaml(
        "- {service: checkout, freeze_below_remaining_percent: 120}\n",
        &known(),
        "gate.policies",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("gate.policies[0].freeze_below_remaining_percent: 120 is outside 0..100"),
        "{e}"
    );
    let e = from_yaml(
        "- {service: checkout, slos: [nope]}\n",
        &known(),
        "gate.policies",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("gate.policies[0].slos[0]: service \"checkout\" has no SLO \"nope\""),
        "{e}"
    );
    let e = from_yaml(
        "- {service: checkout, freeze_below: 10}\n",
        &known(),
        "gate.policies",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown field `freeze_below`"), "{e}");
    let e = from_yaml(
        "- {service: checkout}\n- {service: checkout}\n",
        &known(),
        "gate.policies",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("has two policies"), "{e}");
}

#[test]
fn overrides_are_validated() {
    let p = vec![policy()];
    let mut o = Override {
        id: "x".into(),
        service: "checkout".into(),
        reason: "r".into(),
        author: "a".into(),
        created_at: NOW,
        expires_at: NOW + HOUR,
        revoked_at: None,
    };
    assert!(validate_override(&o, &p, NOW).is_ok());
    o.expires_at = NOW - 1;
    assert!(
        validate_override(&o, &p, NOW)
            .unwrap_err()
            .to_string()
            .starts_with("expires_at")
    );
    o.expires_at = NOW + 8 * 24 * HOUR;
    assert!(
        validate_override(&o, &p, NOW)
            .unwrap_err()
            .to_string()
            .contains("at most 7 days")
    );
    o.expires_at = NOW + HOUR;
    o.reason = " ".into();
    assert!(
        validate_override(&o, &p, NOW)
            .unwrap_err()
            .to_string()
            .starts_with("reason")
    );
    o.reason = "r".into();
    o.service = "search".into();
    assert!(
        validate_override(&o, &p, NOW)
            .unwrap_err()
            .to_string()
            .contains("no error-budget policy")
    );
}

#[test]
fn an_exhausted_budget_is_called_exhausted_with_how_much_was_spent() {
    let d = decide(&policy(), &budgets(-1.39, false), &[], None, NOW);
    assert!(!d.allow);
    assert_eq!(
        d.reason,
        "denied: checkout-availability has exhausted its error budget (spent 2.4× the budget)"
    );
}

#[test]
fn services_without_a_policy_get_the_workbook_default_and_a_written_one_replaces_it() {
    use homeostat_gate::{DefaultPolicy, Origin, with_default};
    let explicit = from_yaml("- service: search\n", &known(), "gate.policies").unwrap();
    let all = with_default(explicit.clone(), &known(), DefaultPolicy::Workbook);
    assert_eq!(all.len(), 2, "{all:?}");
    let search = all.iter().find(|p| p.service == "search").unwrap();
    assert_eq!(
        search.origin,
        Origin::Explicit,
        "the written policy stays whole"
    );
    let checkout = all.iter().find(|p| p.service == "checkout").unwrap();
    assert_eq!(checkout.origin, Origin::Default);
    assert!(checkout.slos.is_empty() && checkout.freeze_on_page);
    assert_eq!(checkout.freeze_below_remaining, 0.0);
    for e in ["rollback", "security", "p0-fix"] {
        assert!(checkout.exceptions.contains(e), "{e} is exempt");
    }
    assert_eq!(
        with_default(explicit, &known(), DefaultPolicy::None).len(),
        1,
        "`none` gates only the services with a written policy"
    );
}

#[test]
fn the_default_policy_freezes_on_an_exhausted_budget_or_a_page_and_says_it_decided() {
    use homeostat_gate::{Origin, Policy};
    let p = Policy::workbook("checkout");
    // 4 % left is not exhausted: the default only freezes at 0.
    let d = decide(&p, &budgets(0.04, false), &[], None, NOW);
    assert!(d.allow && !d.frozen, "{d:?}");
    assert_eq!(d.policy, Origin::Default);
    assert!(
        d.reason
            .starts_with("allowed by the default policy: error budget ok"),
        "{}",
        d.reason
    );
    let d = decide(&p, &budgets(0.0, false), &[], Some("feature"), NOW);
    assert!(!d.allow && d.frozen);
    assert_eq!(
        d.reason,
        "denied by the default policy: checkout-availability has exhausted its error budget (spent 1.0× the budget)"
    );
    let d = decide(&p, &budgets(0.9, true), &[], None, NOW);
    assert!(!d.allow, "a firing page freezes: {d:?}");
    assert!(
        d.reason.contains("page-tier burn-rate alert"),
        "{}",
        d.reason
    );
    for exempt in ["rollback", "security", "p0-fix"] {
        let d = decide(&p, &budgets(-0.5, true), &[], Some(exempt), NOW);
        assert!(d.allow && d.exempt, "{exempt}: {d:?}");
    }
    // Nobody asked for this gate: a budget without data does not freeze.
    let mut b = budgets(0.5, false);
    b[0].remaining = None;
    assert!(decide(&p, &b, &[], None, NOW).allow);
}

#[test]
fn default_policy_values_are_parsed_and_a_wrong_one_lists_the_accepted_values() {
    use homeostat_gate::DefaultPolicy;
    let f = "gate.default_policy";
    assert_eq!(
        DefaultPolicy::parse("workbook", f).unwrap(),
        DefaultPolicy::Workbook
    );
    assert_eq!(
        DefaultPolicy::parse("none", f).unwrap(),
        DefaultPolicy::None
    );
    let e = DefaultPolicy::parse("off", f).unwrap_err().to_string();
    assert_eq!(
        e,
        "gate.default_policy: unknown default policy \"off\"; use one of: workbook, none"
    );
}
