use std::path::Path;
use std::sync::Arc;

use homeostat_rules::{AlertState, ManagerOptions, RulesView, parse_rule_file};
use homeostat_slo::{CompileOptions, compile, load_specs_file};
use homeostat_storage::MemStorage;

use crate::{T0, push};

/// The compiled SLO rules of tests/slo/checkout.yaml, evaluated over a 100%
/// outage: the page alert goes pending, then fires after its `for` (2m).
#[test]
fn slo_page_alert_fires_on_a_full_outage() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml");
    let specs = load_specs_file(&spec).unwrap_or_else(|e| panic!("{e}"));
    let file = compile(&specs, &CompileOptions::default());
    let groups =
        parse_rule_file("checkout.slo.yaml", &file.to_yaml()).unwrap_or_else(|e| panic!("{e}"));
    assert!(groups.len() >= 3);
    let store = Arc::new(MemStorage::new());
    let m = homeostat_rules::RuleManager::new(
        groups,
        homeostat_promql::Engine::default(),
        store.clone(),
        store.clone(),
        Arc::new(homeostat_model::FakeClock::new(T0)),
        ManagerOptions::default(),
    );
    let err = [
        ("__name__", "http_requests_total"),
        ("job", "checkout"),
        ("code", "500"),
    ];
    let ok = [
        ("__name__", "http_requests_total"),
        ("job", "checkout"),
        ("code", "200"),
    ];
    let step = 30_000;
    let page_state = |m: &homeostat_rules::RuleManager| {
        m.alerts()
            .into_iter()
            .find(|a| a.labels.get("sloth_severity").map(String::as_str) == Some("page"))
            .map(|a| a.state)
    };
    let mut states = Vec::new();
    // 20 minutes of traffic, every request failing (10/s).
    for i in 0..=40 {
        let t = T0 + i * step;
        push(&store, &err, t, 300.0 * i as f64);
        push(&store, &ok, t, 0.0);
        let sent = m.eval_all(t);
        let s = page_state(&m);
        if states.last() != Some(&s) {
            if s == Some(AlertState::Firing) {
                // Sent as soon as it fires, naming the spec's service so
                // routes and incidents can key on it.
                let page = sent
                    .iter()
                    .find(|n| n.labels.get("sloth_severity").map(String::as_str) == Some("page"));
                assert_eq!(
                    page.and_then(|n| n.labels.get("service"))
                        .map(String::as_str),
                    Some("checkout"),
                    "{sent:?}"
                );
            }
            states.push(s);
        }
    }
    assert_eq!(
        states,
        vec![None, Some(AlertState::Pending), Some(AlertState::Firing)],
        "page alert states over time"
    );
    for g in m.groups() {
        for r in g.rules {
            assert!(
                r.last_error.is_none(),
                "{} {}: {:?}",
                g.name,
                r.name,
                r.last_error
            );
        }
    }
}
