//! The gate service: its budget cache against concurrent override changes
//! (a refresh that started before an override must not hide it), and
//! overrides that are stored only with their audit record.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use homeostat_app::{BudgetSource, Expiry, GateAnswer, GateService, Live, NewOverride};
use homeostat_gate::SloBudget;
use homeostat_model::FakeClock;
use homeostat_slo::SloSpec;
use homeostat_state::{AuditLog, MemState, OverrideStore};

const NOW: i64 = 1_700_000_000_000;

const SPEC: &str = r#"
version: prometheus/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
"#;

/// Budgets overspent four times over (the policy freezes below 10%). Armed,
/// its next measurement says it has started and waits to be released, so
/// a test can change overrides while a measurement is in flight.
#[derive(Default)]
struct Overspent {
    armed: Mutex<Option<(Sender<()>, Receiver<()>)>>,
    calls: Mutex<usize>,
}

impl Overspent {
    /// Returns (started, release).
    fn arm(&self) -> (Receiver<()>, Sender<()>) {
        let (started_tx, started_rx) = channel();
        let (release_tx, release_rx) = channel();
        *self.armed.lock().unwrap() = Some((started_tx, release_rx));
        (started_rx, release_tx)
    }
    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

impl BudgetSource for Overspent {
    fn measure(&self, slos: &[SloSpec], _now: i64) -> Vec<SloBudget> {
        *self.calls.lock().unwrap() += 1;
        let armed = self.armed.lock().unwrap().take();
        if let Some((started, release)) = armed {
            started.send(()).unwrap();
            release.recv().unwrap();
        }
        slos.iter()
            .map(|s| SloBudget {
                slo: s.id.clone(),
                remaining: Some(-4.0),
                page_firing: false,
            })
            .collect()
    }
}

struct Fixture {
    gate: Arc<GateService>,
    budgets: Arc<Overspent>,
    state: Arc<MemState>,
    clock: FakeClock,
}

fn fixture() -> Fixture {
    let slos = homeostat_slo::load_specs(SPEC, "checkout.yaml").unwrap();
    let known = homeostat_gate::Known {
        slos: slos
            .iter()
            .map(|s| (s.service.clone(), s.id.clone()))
            .collect(),
    };
    let policies = homeostat_gate::from_yaml(
        "- {service: checkout, freeze_below_remaining_percent: 10}\n",
        &known,
        "gate.policies",
    )
    .unwrap();
    let state = Arc::new(MemState::default());
    let budgets = Arc::new(Overspent::default());
    let clock = FakeClock::new(NOW);
    let gate = Arc::new(GateService::new(
        Arc::new(Live::new(slos)),
        Arc::new(Live::new(policies)),
        state.clone(),
        Arc::new(clock.clone()),
        budgets.clone(),
    ));
    Fixture {
        gate,
        budgets,
        state,
        clock,
    }
}

fn lift(author: &str) -> NewOverride {
    NewOverride {
        service: "checkout".into(),
        reason: "launch".into(),
        author: author.into(),
        expiry: Expiry::In(std::time::Duration::from_secs(3600)),
    }
}

/// (allowed, an override was used, measured inline).
async fn answer(gate: &Arc<GateService>) -> (bool, bool, bool) {
    match gate.check("checkout", None).await.unwrap() {
        GateAnswer::Decided {
            decision,
            measured_inline,
            ..
        } => (
            decision.allow,
            decision.override_used.is_some(),
            measured_inline,
        ),
        GateAnswer::Ungated { .. } => panic!("checkout has a policy"),
    }
}

/// Runs a refresh on its own thread and stops it inside its measurement,
/// after it read the overrides; `during` runs there; then it finishes.
async fn during_refresh<F: std::future::Future<Output = ()>>(f: &Fixture, during: F) {
    let (started, release) = f.budgets.arm();
    let gate = f.gate.clone();
    let refresh = std::thread::spawn(move || gate.refresh());
    started.recv().unwrap();
    during.await;
    release.send(()).unwrap();
    refresh.join().unwrap();
}

#[tokio::test]
async fn the_background_measurement_answers_without_measuring() {
    let f = fixture();
    f.gate.refresh();
    assert_eq!(answer(&f.gate).await, (false, false, false));
    assert_eq!(f.budgets.calls(), 1);
    // Stale: measured again inline.
    f.clock.advance(homeostat_app::GATE_CACHE_MAX_AGE_MS + 1);
    assert_eq!(answer(&f.gate).await, (false, false, true));
}

#[tokio::test]
async fn an_override_created_during_a_refresh_is_in_the_next_answer() {
    let f = fixture();
    during_refresh(&f, async {
        f.gate.create_override(lift("ana")).await.unwrap();
    })
    .await;
    // The refresh read no overrides; it must not have replaced the
    // invalidated entry with that.
    assert_eq!(answer(&f.gate).await, (true, true, true));
    // The inline measurement is cached and still holds the override.
    assert_eq!(answer(&f.gate).await, (true, true, false));
}

#[tokio::test]
async fn an_override_revoked_during_a_refresh_is_gone_from_the_next_answer() {
    let f = fixture();
    let o = f.gate.create_override(lift("ana")).await.unwrap();
    assert_eq!(answer(&f.gate).await, (true, true, true));
    during_refresh(&f, async {
        assert!(f.gate.revoke_override(&o.id, "bob").await.unwrap());
    })
    .await;
    assert_eq!(answer(&f.gate).await, (false, false, true));
}

#[tokio::test]
async fn a_refresh_after_the_change_is_stored() {
    let f = fixture();
    f.gate.create_override(lift("ana")).await.unwrap();
    f.gate.refresh();
    assert_eq!(answer(&f.gate).await, (true, true, false));
}

#[tokio::test]
async fn an_override_whose_audit_write_fails_is_not_stored() {
    let f = fixture();
    f.state.close_audit();
    let err = f.gate.create_override(lift("ana")).await.unwrap_err();
    assert_eq!(err.kind(), homeostat_model::ErrorKind::Internal, "{err}");
    assert!(f.state.list_overrides(None).unwrap().is_empty());
    assert!(f.state.list_recent(10).unwrap().is_empty());
    assert_eq!(answer(&f.gate).await, (false, false, true));
}

#[tokio::test]
async fn overrides_are_audited_with_their_author() {
    let f = fixture();
    let o = f.gate.create_override(lift("ana")).await.unwrap();
    assert_eq!(o.expires_at, NOW + 3_600_000);
    f.gate.revoke_override(&o.id, "bob").await.unwrap();
    let log: Vec<(String, String)> = f
        .state
        .list_by_object(&format!("gate-override/{}", o.id), 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor))
        .collect();
    assert_eq!(
        log,
        [
            ("gate.override.create".to_string(), "ana".to_string()),
            ("gate.override.revoke".to_string(), "bob".to_string())
        ]
    );
}
