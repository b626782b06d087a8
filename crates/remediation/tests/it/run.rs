use homeostat_model::Labels;
use homeostat_remediation::{
    Answer, Effect, Observation, PastRun, Policy, RenderedAction, Run, RunState, Share, StartInput,
    StepOutcome, advance, start,
};

use crate::example;

const MIN: i64 = 60_000;

fn policy() -> Policy {
    example().policies[0].clone()
}

fn begin(
    p: &Policy,
    now: i64,
    dry_run: bool,
    history: &[PastRun],
    frozen: Option<&str>,
) -> (Run, Vec<Effect>) {
    let labels = Labels::from_pairs(&[
        ("alertname", "CheckoutErrors"),
        ("severity", "page"),
        ("service", "checkout"),
        ("instance", "a"),
        ("zone", "eu-1"),
    ]);
    let target = p.target_of(&labels).unwrap_or_else(|| panic!("matches"));
    let vars = p.vars(&labels, &target.key, "INC-1");
    start(
        p,
        StartInput {
            target: &target,
            vars,
            incident: Some("INC-1".into()),
            now,
            dry_run,
            history,
            share: Share {
                acting: 0,
                known: 3,
            },
            frozen: frozen.map(str::to_string),
        },
    )
}

fn acts(fx: &[Effect]) -> Vec<&RenderedAction> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Act { action, .. } => Some(action),
            _ => None,
        })
        .collect()
}

fn pages(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::PageOncall { .. }))
        .count()
}

fn obs_acted() -> Observation {
    Observation {
        acted: Some(Ok("HTTP 200".into())),
        ..Observation::default()
    }
}

fn obs_failing(failing: bool) -> Observation {
    Observation {
        failing: Some(failing),
        ..Observation::default()
    }
}

#[test]
fn recovered_after_the_first_action_mitigates_the_incident() {
    let p = policy();
    let (run, fx) = begin(&p, 0, false, &[], None);
    let a = acts(&fx);
    assert_eq!(
        a,
        vec![&RenderedAction::Webhook {
            url: "https://orchestrator.example/restart?token=s3cret".into(),
            body: Some(r#"{"service":"checkout","instance":"a"}"#.into()),
        }]
    );
    let (run, _) = advance(&run, &p, 1_000, &obs_acted());
    assert_eq!(
        run.state,
        RunState::Verifying {
            step: 0,
            until_ms: 1_000 + 2 * MIN
        }
    );
    // Before the window ends nothing is asked or done.
    let (same, fx) = advance(&run, &p, MIN, &obs_failing(false));
    assert_eq!((same, fx), (run.clone(), vec![]));
    let (run, fx) = advance(&run, &p, 3 * MIN, &obs_failing(false));
    assert_eq!(run.state, RunState::Recovered { step: 0 });
    assert_eq!(run.ended_ms, Some(3 * MIN));
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Mitigate { note } if note == "auto-remediated by homeostat (policy restart-checkout) (restart)")));
    assert_eq!(pages(&fx), 0);
}

#[test]
fn not_recovered_moves_to_the_next_action_and_exhaustion_pages_once() {
    let p = policy();
    let (run, _) = begin(&p, 0, false, &[], None);
    let (run, _) = advance(&run, &p, 0, &obs_acted());
    let (run, fx) = advance(&run, &p, 2 * MIN, &obs_failing(true));
    // The drain needs approval: it is asked for, not run.
    assert!(acts(&fx).is_empty());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::RequestApproval { step: 1, .. }))
    );
    let approve = Observation {
        answer: Some(Answer::Approved { by: "alice".into() }),
        ..Observation::default()
    };
    let (run, fx) = advance(&run, &p, 3 * MIN, &approve);
    assert_eq!(
        acts(&fx),
        vec![&RenderedAction::TrafficZones {
            route: "checkout".into(),
            zones: [("eu-1".to_string(), 0)].into(),
        }]
    );
    let (run, _) = advance(&run, &p, 3 * MIN, &obs_acted());
    let (run, fx) = advance(&run, &p, 5 * MIN, &obs_failing(true));
    assert_eq!(
        acts(&fx),
        vec![&RenderedAction::Command {
            argv: vec![
                "/usr/local/bin/clean-disk".into(),
                "--host".into(),
                "a".into()
            ],
        }]
    );
    let failed = Observation {
        acted: Some(Err("exit status 1".into())),
        ..Observation::default()
    };
    let (run, fx) = advance(&run, &p, 5 * MIN, &failed);
    assert_eq!(run.state, RunState::Exhausted);
    assert_eq!(pages(&fx), 1);
    let summary = fx.iter().find_map(|e| match e {
        Effect::PageOncall { summary } => Some(summary.clone()),
        _ => None,
    });
    assert_eq!(
        summary.as_deref(),
        Some(
            "homeostat (policy restart-checkout) could not fix service=checkout,instance=a (tried: restart, drain-zone, clean-disk); paging on-call"
        )
    );
    // Later ticks change nothing and never page again.
    for obs in [obs_failing(true), obs_acted(), Observation::default()] {
        let (again, fx) = advance(&run, &p, 60 * MIN, &obs);
        assert_eq!((again, fx), (run.clone(), vec![]));
    }
    let outcomes: Vec<StepOutcome> = run.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            StepOutcome::Started,
            StepOutcome::Acted,
            StepOutcome::NotRecovered,
            StepOutcome::ApprovalRequested,
            StepOutcome::Approved,
            StepOutcome::Acted,
            StepOutcome::NotRecovered,
            StepOutcome::Failed,
            StepOutcome::Exhausted,
        ]
    );
}

#[test]
fn approval_timeout_and_rejection_skip_the_action() {
    let p = policy();
    let (run, _) = begin(&p, 0, false, &[], None);
    let (run, _) = advance(&run, &p, 0, &obs_acted());
    let (waiting, _) = advance(&run, &p, 2 * MIN, &obs_failing(true));
    assert_eq!(
        waiting.state,
        RunState::PendingApproval {
            step: 1,
            until_ms: 17 * MIN
        }
    );
    let (same, fx) = advance(&waiting, &p, 17 * MIN - 1, &Observation::default());
    assert_eq!((same, fx), (waiting.clone(), vec![]));
    let (run, fx) = advance(&waiting, &p, 17 * MIN, &Observation::default());
    assert!(
        run.steps
            .iter()
            .any(|s| s.outcome == StepOutcome::Skipped && s.detail == "not approved within 15m")
    );
    assert!(matches!(acts(&fx)[..], [RenderedAction::Command { .. }]));

    let reject = Observation {
        answer: Some(Answer::Rejected { by: "bob".into() }),
        ..Observation::default()
    };
    let (run, fx) = advance(&waiting, &p, 3 * MIN, &reject);
    assert!(
        run.steps
            .iter()
            .any(|s| s.outcome == StepOutcome::Rejected && s.detail == "rejected by bob")
    );
    assert!(matches!(acts(&fx)[..], [RenderedAction::Command { .. }]));
}

#[test]
fn dry_run_records_every_action_without_acting() {
    let p = policy();
    let (run, fx) = begin(&p, 0, true, &[], None);
    assert!(acts(&fx).is_empty());
    assert_eq!(pages(&fx), 0);
    assert_eq!(run.state, RunState::DryRun);
    let lines: Vec<&str> = run.steps.iter().map(|s| s.detail.as_str()).collect();
    assert_eq!(
        lines[1..],
        [
            "would run webhook to https://orchestrator.example",
            "would ask for approval, then run traffic shift on route checkout: eu-1=0",
            "would run command /usr/local/bin/clean-disk --host a",
        ]
    );
    // A dry run counts for the guardrails, as a real run would.
    let past = run.as_past().unwrap_or_else(|| panic!("counts"));
    let (next, _) = begin(&p, MIN, false, &[past], None);
    assert!(
        matches!(next.state, RunState::Denied { ref reason } if reason.starts_with("cooldown"))
    );
    assert!(next.as_past().is_none());
}

#[test]
fn a_freeze_skips_all_but_exempt_actions() {
    let p = policy();
    let (run, fx) = begin(&p, 0, false, &[], Some("release train"));
    assert!(matches!(acts(&fx)[..], [RenderedAction::Command { .. }]));
    let skipped: Vec<&str> = run
        .steps
        .iter()
        .filter(|s| s.outcome == StepOutcome::Skipped)
        .map(|s| s.action.as_str())
        .collect();
    assert_eq!(skipped, ["restart", "drain-zone"]);
}

#[test]
fn denied_runs_record_why_and_never_act() {
    let p = policy();
    let history = [
        PastRun {
            started_ms: 0,
            ended_ms: Some(1),
        },
        PastRun {
            started_ms: 11 * MIN,
            ended_ms: Some(12 * MIN),
        },
        PastRun {
            started_ms: 23 * MIN,
            ended_ms: Some(24 * MIN),
        },
    ];
    let (run, fx) = begin(&p, 50 * MIN, false, &history, None);
    assert!(
        matches!(run.state, RunState::Denied { ref reason } if reason.starts_with("rate limit"))
    );
    assert!(acts(&fx).is_empty());
    assert_eq!(run.ended_ms, Some(50 * MIN));
}

#[test]
fn a_label_that_would_become_an_option_fails_the_command_step() {
    let p = policy();
    let labels = Labels::from_pairs(&[("instance", "--all"), ("service", "checkout")]);
    let vars = p.vars(&labels, "t", "INC-1");
    let v: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let e = p.actions[2].render(&v).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("label instance = \"--all\" is not a safe command argument")
    );
}
