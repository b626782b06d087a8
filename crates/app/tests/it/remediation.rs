//! The remediation service on a fake clock with fake effects: a run acts,
//! waits out the verification window and mitigates the incident when the
//! trigger recovered; otherwise it moves on (an approval asked for and
//! given through the service) and pages the person once when the actions
//! run out. Every step is on the timeline and in the audit log as
//! `homeostat (policy NAME)`.

use std::sync::Arc;

use homeostat_app::{ApprovalRequest, EffectFuture, Live, RemediationEffects, RemediationService};
use homeostat_incident::IncidentService;
use homeostat_model::{FakeClock, Labels};
use homeostat_remediation::{Policy, RemediationSpec, RenderedAction, Run, validate};
use homeostat_state::{
    AuditLog, EventKind, IncidentId, IncidentState, IncidentStore, MemState, RemediationFilter,
    Severity, State,
};
use parking_lot::Mutex;

const T0: i64 = 1_803_859_200_000;
const MIN: i64 = 60_000;

const POLICIES: &str = r#"
policies:
  - name: restart-checkout
    trigger:
      alert: ['alertname="CheckoutErrors"']
    target_labels: [instance]
    actions:
      - name: restart
        webhook: {url: "https://orchestrator.example/restart", body: '{"instance":"{{.instance}}"}'}
        verify: 2m
      - name: drain
        traffic: {route: checkout, drain_endpoint: "{{.instance}}"}
        needs_approval: true
        verify: 1m
    guardrails:
      cooldown: 10m
      blast_radius: {max_percent: 50}
      approval_timeout: 5m
"#;

#[derive(Default)]
struct Fake {
    acted: Mutex<Vec<RenderedAction>>,
    failing: Mutex<bool>,
    pages: Mutex<Vec<String>>,
    approvals: Mutex<Vec<ApprovalRequest>>,
}

impl RemediationEffects for Fake {
    fn act<'a>(&'a self, _p: &'a Policy, a: &'a RenderedAction) -> EffectFuture<'a, String> {
        self.acted.lock().push(a.clone());
        Box::pin(async { Ok("HTTP 200".to_string()) })
    }
    fn still_failing<'a>(&'a self, _p: &'a Policy, _r: &'a Run) -> EffectFuture<'a, bool> {
        let f = *self.failing.lock();
        Box::pin(async move { Ok(f) })
    }
    fn known_targets<'a>(&'a self, _p: &'a Policy, _s: &'a str) -> EffectFuture<'a, Option<usize>> {
        Box::pin(async { Ok(Some(4)) })
    }
    fn page_oncall<'a>(
        &'a self,
        _i: Option<IncidentId>,
        _s: &'a str,
        summary: &'a str,
    ) -> EffectFuture<'a, ()> {
        self.pages.lock().push(summary.to_string());
        Box::pin(async { Ok(()) })
    }
    fn request_approval<'a>(&'a self, req: &'a ApprovalRequest) -> EffectFuture<'a, ()> {
        self.approvals.lock().push(req.clone());
        Box::pin(async { Ok(()) })
    }
}

struct Setup {
    mem: Arc<MemState>,
    clock: FakeClock,
    fx: Arc<Fake>,
    svc: RemediationService,
    incident: IncidentId,
}

fn setup(dry_run: bool) -> Setup {
    let mut spec: RemediationSpec = serde_norway::from_str(POLICIES).unwrap();
    spec.dry_run = dry_run;
    let config = validate(&spec, &[]).unwrap();
    let mem = Arc::new(MemState::default());
    let state = State::from_backend(mem.clone());
    let clock = FakeClock::new(T0);
    let incident = IncidentService::new(state.incidents.clone())
        .declare(
            "checkout errors",
            Severity::Sev2,
            Some("checkout"),
            "alertmanager",
            T0,
        )
        .unwrap()
        .id;
    let fx = Arc::new(Fake::default());
    let svc = RemediationService::new(
        Arc::new(Live::new(config)),
        state,
        None,
        fx.clone(),
        Arc::new(clock.clone()),
    );
    Setup {
        mem,
        clock,
        fx,
        svc,
        incident,
    }
}

fn alert(instance: &str) -> Labels {
    Labels::from_pairs(&[
        ("alertname", "CheckoutErrors"),
        ("service", "checkout"),
        ("instance", instance),
    ])
}

fn remediation_lines(s: &Setup) -> Vec<String> {
    s.mem
        .timeline(s.incident)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::Remediation)
        .map(|e| e.summary)
        .collect()
}

#[tokio::test]
async fn a_recovered_run_mitigates_the_incident_as_auto_remediated() {
    let s = setup(false);
    let runs = s
        .svc
        .on_alerts(&[alert("a")], Some(s.incident))
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, "verifying");
    assert_eq!(
        *s.fx.acted.lock(),
        vec![RenderedAction::Webhook {
            url: "https://orchestrator.example/restart".into(),
            body: Some(r#"{"instance":"a"}"#.into()),
        }]
    );
    assert!(s.svc.in_progress(s.incident).await.unwrap());
    // The same alert again while the run goes on starts nothing.
    assert!(
        s.svc
            .on_alerts(&[alert("a")], Some(s.incident))
            .await
            .unwrap()
            .is_empty()
    );
    // Inside the verification window nothing is re-evaluated.
    s.clock.advance(MIN);
    assert!(s.svc.tick().await.unwrap().is_empty());
    s.clock.advance(MIN);
    let done = s.svc.tick().await.unwrap();
    assert_eq!(done[0].state, "recovered");
    assert_eq!(done[0].ended_at, Some(T0 + 2 * MIN));
    assert!(!s.svc.in_progress(s.incident).await.unwrap());
    let inc = s.mem.get(s.incident).unwrap();
    assert_eq!(inc.state, IncidentState::Mitigated);
    assert_eq!(
        remediation_lines(&s),
        [
            "homeostat (policy restart-checkout): run started on instance=a (alert {alertname=\"CheckoutErrors\"})",
            "homeostat (policy restart-checkout): restart: webhook to https://orchestrator.example: HTTP 200; verifying for 2m",
            "homeostat (policy restart-checkout): restart: recovered after restart",
        ]
    );
    let timeline = s.mem.timeline(s.incident).unwrap();
    assert!(timeline.iter().any(|e| e.summary
        == "auto-remediated by homeostat (policy restart-checkout) (restart)"
        && e.actor.as_deref() == Some("homeostat (policy restart-checkout)")));
    let audit = s
        .mem
        .list_by_object(&format!("remediation-run/{}", done[0].id), 10)
        .unwrap();
    assert_eq!(audit.len(), 3);
    assert!(
        audit
            .iter()
            .all(|e| e.actor == "homeostat (policy restart-checkout)")
    );
    assert!(s.fx.pages.lock().is_empty());

    // Within the cooldown a new firing is denied, and written down once.
    s.clock.advance(MIN);
    let denied = s
        .svc
        .on_alerts(&[alert("a")], Some(s.incident))
        .await
        .unwrap();
    assert_eq!(denied[0].state, "denied");
    assert!(
        s.svc
            .on_alerts(&[alert("a")], Some(s.incident))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.fx.acted.lock().len() == 1);
}

#[tokio::test]
async fn not_recovered_asks_for_approval_then_pages_the_person_once() {
    let s = setup(false);
    *s.fx.failing.lock() = true;
    let id = s
        .svc
        .on_alerts(&[alert("a")], Some(s.incident))
        .await
        .unwrap()[0]
        .id
        .clone();
    s.clock.advance(2 * MIN);
    let waiting = s.svc.tick().await.unwrap();
    assert_eq!(waiting[0].state, "pending-approval");
    let req = s.fx.approvals.lock()[0].clone();
    assert_eq!(
        (req.run.as_str(), req.action.as_str()),
        (id.as_str(), "drain")
    );
    assert_eq!(req.until_ms, T0 + 7 * MIN);
    // Waiting for the answer does nothing.
    s.clock.advance(MIN);
    assert!(s.svc.tick().await.unwrap().is_empty());
    let acting = s.svc.approve(&id, "alice").await.unwrap();
    assert_eq!(acting.state, "verifying");
    assert_eq!(
        s.fx.acted.lock().last(),
        Some(&RenderedAction::TrafficDrain {
            route: "checkout".into(),
            endpoint: "a".into()
        })
    );
    assert!(
        s.svc.approve(&id, "alice").await.is_err(),
        "not waiting any more"
    );
    s.clock.advance(MIN);
    let done = s.svc.tick().await.unwrap();
    assert_eq!(done[0].state, "exhausted");
    for _ in 0..3 {
        s.clock.advance(10 * MIN);
        assert!(s.svc.tick().await.unwrap().is_empty());
    }
    assert_eq!(
        *s.fx.pages.lock(),
        [
            "homeostat (policy restart-checkout) could not fix instance=a (tried: restart, drain); paging on-call"
        ]
    );
    let lines = remediation_lines(&s);
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("drain: approved by alice")),
        "{lines:?}"
    );
    assert_eq!(
        s.mem.get(s.incident).unwrap().state,
        IncidentState::Triggered
    );
}

#[tokio::test]
async fn an_unanswered_approval_lapses_and_the_loop_goes_on() {
    let s = setup(false);
    *s.fx.failing.lock() = true;
    s.svc
        .on_alerts(&[alert("a")], Some(s.incident))
        .await
        .unwrap();
    s.clock.advance(2 * MIN);
    s.svc.tick().await.unwrap();
    s.clock.advance(5 * MIN - 1);
    assert!(s.svc.tick().await.unwrap().is_empty());
    s.clock.advance(1);
    let done = s.svc.tick().await.unwrap();
    assert_eq!(done[0].state, "exhausted");
    assert_eq!(s.fx.acted.lock().len(), 1, "the drain never ran");
    assert!(
        remediation_lines(&s)
            .iter()
            .any(|l| l.ends_with("drain: not approved within 5m"))
    );
    assert_eq!(s.fx.pages.lock().len(), 1);
}

#[tokio::test]
async fn a_dry_run_records_without_acting_and_rejecting_it_fails() {
    let s = setup(true);
    let runs = s
        .svc
        .on_alerts(&[alert("a")], Some(s.incident))
        .await
        .unwrap();
    assert_eq!(runs[0].state, "dry-run");
    assert!(s.fx.acted.lock().is_empty());
    assert!(s.fx.approvals.lock().is_empty());
    let lines = remediation_lines(&s);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[1].ends_with("restart: would run webhook to https://orchestrator.example"));
    assert!(s.svc.reject(&runs[0].id, "bob").await.is_err());
}

#[tokio::test]
async fn the_blast_radius_holds_back_targets_beyond_the_share() {
    let s = setup(false);
    // 4 known targets at 50%: two at once.
    let alerts = [alert("a"), alert("b"), alert("c")];
    let runs = s.svc.on_alerts(&alerts, Some(s.incident)).await.unwrap();
    let states: Vec<&str> = runs.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["verifying", "verifying", "denied"]);
    let all = s.svc.runs(RemediationFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
}
