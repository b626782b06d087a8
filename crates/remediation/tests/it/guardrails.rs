use homeostat_remediation::{Decision, PastRun, Share, admit_action, admit_run};

use crate::example;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn ended(start: i64, end: i64) -> PastRun {
    PastRun {
        started_ms: start,
        ended_ms: Some(end),
    }
}

fn denied_because(d: Decision, what: &str) {
    match d {
        Decision::Deny { reason } => assert!(reason.starts_with(what), "{reason}"),
        other => panic!("expected a denial ({what}), got {other:?}"),
    }
}

#[test]
fn rate_limit_counts_runs_started_in_the_window() {
    let g = &example().policies[0].guardrails;
    let now = 10 * HOUR;
    let history = [
        ended(now - 50 * MIN, now - 48 * MIN),
        ended(now - 40 * MIN, now - 38 * MIN),
        ended(now - 30 * MIN, now - 28 * MIN),
    ];
    denied_because(admit_run(g, &history, now, Share::default()), "rate limit");
    // Ten minutes later the first run has left the hour.
    assert_eq!(
        admit_run(g, &history, now + 10 * MIN + 1, Share::default()),
        Decision::Allow
    );
}

#[test]
fn cooldown_runs_from_the_end_of_the_last_run() {
    let g = &example().policies[0].guardrails;
    let history = [ended(0, 5 * MIN)];
    denied_because(
        admit_run(g, &history, 14 * MIN, Share::default()),
        "cooldown",
    );
    assert_eq!(
        admit_run(g, &history, 15 * MIN, Share::default()),
        Decision::Allow
    );
    let running = [PastRun {
        started_ms: 0,
        ended_ms: None,
    }];
    denied_because(
        admit_run(g, &running, HOUR, Share::default()),
        "a run on this target is in progress",
    );
}

#[test]
fn blast_radius_limits_the_share_of_targets_under_action() {
    let g = &example().policies[0].guardrails; // 34%
    let share = |acting, known| Share { acting, known };
    assert_eq!(admit_run(g, &[], 0, share(0, 3)), Decision::Allow);
    denied_because(admit_run(g, &[], 0, share(1, 3)), "blast radius");
    assert_eq!(admit_run(g, &[], 0, share(1, 6)), Decision::Allow);
    denied_because(admit_run(g, &[], 0, share(2, 6)), "blast radius");
    // One target may always be acted on, even in a one-instance service.
    assert_eq!(admit_run(g, &[], 0, share(0, 1)), Decision::Allow);
    // Unknown size: the targets under action are all that is known.
    denied_because(admit_run(g, &[], 0, share(1, 0)), "blast radius");
}

#[test]
fn freeze_holds_actions_back_unless_exempt_and_approval_is_asked_for() {
    let p = &example().policies[0];
    let (restart, drain, clean) = (&p.actions[0], &p.actions[1], &p.actions[2]);
    assert_eq!(admit_action(restart, None), Decision::Allow);
    denied_because(
        admit_action(restart, Some("release train")),
        "deploy freeze",
    );
    assert_eq!(admit_action(drain, None), Decision::NeedsApproval);
    denied_because(admit_action(drain, Some("release train")), "deploy freeze");
    assert_eq!(admit_action(clean, Some("release train")), Decision::Allow);
}
