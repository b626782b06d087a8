//! The Chaos Monkey service on a fake clock: a due termination runs the
//! action on the selected targets and is logged and audited; an open
//! incident holds it back; dry runs log without acting; the log carries
//! the minimum interval over a restart (a new service on the same state).

use std::sync::Arc;

use homeostat_app::{
    EffectFuture, Live, Members, MonkeyEffects, MonkeyGroup, MonkeyService, TargetGroup,
    TerminationAction, TickOutcome,
};
use homeostat_chaos::SelectorMode;
use homeostat_chaos::monkey::{BusinessHours, MonkeySchedule};
use homeostat_incident::IncidentService;
use homeostat_model::{Clock, FakeClock};
use homeostat_state::{AuditLog, ChaosStore, MemState, Severity, State};
use parking_lot::Mutex;

/// Monday 2027-03-01 00:00 UTC.
const MONDAY: i64 = 1_803_859_200_000;
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl MonkeyEffects for Recorder {
    fn members<'a>(&'a self, _q: &'a str, _l: &'a str) -> EffectFuture<'a, Vec<String>> {
        Box::pin(async { Ok(vec!["q-1".to_string(), "q-2".to_string()]) })
    }
    fn terminate<'a>(&'a self, _g: &'a MonkeyGroup, target: &'a str) -> EffectFuture<'a, String> {
        self.0.lock().push(target.to_string());
        Box::pin(async { Ok("exit 0".to_string()) })
    }
}

fn group(mean: f64, min: u32, members: Members, dry_run: bool) -> MonkeyGroup {
    // Every hour of every day, so the test does not depend on the draw's hour.
    let hours = BusinessHours::parse(&["mon-sun"], "00:00", "23:59", "UTC").unwrap();
    MonkeyGroup {
        schedule: MonkeySchedule::new("pods", hours, mean, min, 1).unwrap(),
        group: TargetGroup {
            name: "pods".into(),
            service: "checkout".into(),
            members,
            mode: SelectorMode::Fixed(2),
        },
        action: TerminationAction::Command(vec!["/bin/true".into(), "{{.target}}".into()]),
        dry_run,
    }
}

fn service(
    state: &Arc<MemState>,
    clock: &FakeClock,
    g: MonkeyGroup,
    fx: Arc<Recorder>,
) -> MonkeyService {
    MonkeyService::new(
        Arc::new(Live::new(vec![g])),
        State::from_backend(state.clone()),
        None,
        fx,
        Arc::new(clock.clone()),
        7,
    )
}

/// Ticks every 10 minutes until `until`, collecting what happened.
async fn run_until(m: &MonkeyService, clock: &FakeClock, until: i64) -> Vec<TickOutcome> {
    let mut out = Vec::new();
    while clock.now_millis() < until {
        out.extend(m.tick().await);
        clock.advance(10 * MIN);
    }
    out
}

#[tokio::test]
async fn a_due_termination_acts_on_the_selected_targets_and_is_logged_and_audited() {
    let state = Arc::new(MemState::default());
    let clock = FakeClock::new(MONDAY);
    let fx = Arc::new(Recorder::default());
    let members = Members::Static(vec!["a".into(), "b".into(), "c".into()]);
    let m = service(&state, &clock, group(1.0, 1, members, false), fx.clone());
    let out = run_until(&m, &clock, MONDAY + DAY).await;
    let TickOutcome::Terminated(done) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(done.len(), 2, "fixed 2 picks two targets");
    assert_eq!(fx.0.lock().len(), 2);
    let log = state.list_terminations(Some("pods"), 0, 10).unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|t| t.service == "checkout" && t.outcome.starts_with("terminated"))
    );
    let audit = state.list_recent(100).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "chaos.terminate" && a.actor.contains("chaos monkey"))
    );
    // Once a day at most.
    assert_eq!(out.len(), 1, "{out:?}");
}

#[tokio::test]
async fn an_open_incident_holds_it_back_and_the_log_survives_a_restart() {
    let state = Arc::new(MemState::default());
    let clock = FakeClock::new(MONDAY);
    let fx = Arc::new(Recorder::default());
    let members = Members::Query {
        query: "up".into(),
        label: "instance".into(),
    };
    let incidents = IncidentService::new(state.clone());
    let inc = incidents
        .declare(
            "checkout is down",
            Severity::Sev1,
            Some("checkout"),
            "ann",
            MONDAY,
        )
        .unwrap();
    let m = service(
        &state,
        &clock,
        group(2.0, 2, members.clone(), false),
        fx.clone(),
    );
    let out = run_until(&m, &clock, MONDAY + DAY).await;
    assert!(fx.0.lock().is_empty());
    assert!(
        matches!(&out[0], TickOutcome::Blocked { reason, .. } if reason.contains("checkout is down")),
        "{out:?}"
    );
    let status = m.status().await.unwrap();
    assert!(status[0].blocked.is_some());

    incidents.resolve(inc.id, "ann", MONDAY + DAY).unwrap();
    let out = run_until(&m, &clock, MONDAY + 2 * DAY).await;
    assert!(
        matches!(&out[..], [TickOutcome::Terminated(t)] if t.len() == 2),
        "{out:?}"
    );

    // A restart: a new service over the same state. The minimum of two
    // workdays holds: nothing the next day, the day after it may.
    let fx2 = Arc::new(Recorder::default());
    let restarted = service(&state, &clock, group(2.0, 2, members, false), fx2.clone());
    run_until(&restarted, &clock, MONDAY + 3 * DAY).await;
    assert!(fx2.0.lock().is_empty(), "{:?}", fx2.0.lock());
    run_until(&restarted, &clock, MONDAY + 4 * DAY).await;
    assert_eq!(fx2.0.lock().len(), 2);
}

#[tokio::test]
async fn a_dry_run_logs_without_acting() {
    let state = Arc::new(MemState::default());
    let clock = FakeClock::new(MONDAY);
    let fx = Arc::new(Recorder::default());
    let m = service(
        &state,
        &clock,
        group(1.0, 1, Members::Static(vec!["a".into()]), true),
        fx.clone(),
    );
    run_until(&m, &clock, MONDAY + DAY).await;
    assert!(fx.0.lock().is_empty());
    let log = state.list_terminations(None, 0, 10).unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].outcome.starts_with("dry-run"), "{:?}", log[0]);
}
