//! Release guardrails at run time: the ticker that judges canary analysis
//! runs when they are due, and the automatic rollback when a run fails —
//! a webhook (templated body) or a command, called at most once per deploy
//! (`state.deploys.claim_rollback`), recorded on the deploy, in the audit
//! log and on the timeline of the service's open incidents.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use homeostat_canary::AnalysisRegistry;
use homeostat_incident::{ExternalKind, IncidentService};
use homeostat_model::template::{self, Escape, Template};
use homeostat_model::{Clock, FieldError};
use homeostat_notify::{Outbound, OutboundKind, redact_url};
use homeostat_promql::Engine;
use homeostat_rules::RulesView;
use homeostat_state::{AuditEntry, DeployOutcome, RollbackRecord, State};
use homeostat_storage::Querier;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

/// How long one attempt to call a rollback webhook may take.
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(30);

mod analysis_runs;
pub use analysis_runs::restore_analysis;

/// `rollback: {actions: [...], page_window: 1h}` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackSection {
    #[serde(default)]
    pub actions: Vec<ActionSpec>,
    /// A page-tier burn alert of a service's SLO firing within this long
    /// after a deploy of the service rolls the deploy back (default 1h;
    /// `0s` turns it off).
    pub page_window: Option<String>,
}

/// Default of `rollback.page_window`.
pub const DEFAULT_PAGE_WINDOW: Duration = Duration::from_secs(3600);

/// The page window of a validated section.
pub fn page_window(section: &RollbackSection) -> Result<Duration, FieldError> {
    match &section.page_window {
        None => Ok(DEFAULT_PAGE_WINDOW),
        Some(s) => homeostat_model::parse_duration(s)
            .map_err(|e| FieldError::new("rollback.page_window", e.to_string())),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub service: String,
    pub webhook: Option<WebhookSpec>,
    /// argv; `{{.service}}`, `{{.version}}`, `{{.deploy_id}}`, `{{.reason}}`
    /// are filled in each argument.
    pub command: Option<Vec<String>>,
    /// Lets `command` be a shell with an inline script (`sh -c '…'`),
    /// which is refused otherwise: a substituted value inside a script is
    /// code, not an argument.
    #[serde(default)]
    pub allow_shell: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    pub url: String,
    /// Request body with the same placeholders (JSON-escaped); default a
    /// JSON object with service, version, deploy_id and reason.
    pub body: Option<String>,
}

/// A validated rollback action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Webhook { url: String, body: Option<String> },
    Command(Vec<String>),
}

/// Validates `rollback.actions`: one action per service, exactly one of
/// webhook or command, an http(s) URL, a non-empty command.
pub fn validate(section: &RollbackSection) -> Result<BTreeMap<String, Action>, FieldError> {
    let mut out = BTreeMap::new();
    for (i, a) in section.actions.iter().enumerate() {
        let at = |f: &str| format!("rollback.actions[{i}].{f}");
        if a.service.trim().is_empty() {
            return Err(FieldError::new(at("service"), "missing service name"));
        }
        let action = match (&a.webhook, &a.command) {
            (Some(w), None) => {
                if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                    return Err(FieldError::new(
                        at("webhook.url"),
                        format!("{:?} is not an http(s) URL", w.url),
                    ));
                }
                if let Some(b) = &w.body {
                    check_template(b, at("webhook.body"))?;
                }
                Action::Webhook {
                    url: w.url.clone(),
                    body: w.body.clone(),
                }
            }
            (None, Some(c)) if !c.is_empty() && !c[0].trim().is_empty() => {
                for (j, arg) in c.iter().enumerate() {
                    check_template(arg, at(&format!("command[{j}]")))?;
                }
                if !a.allow_shell && runs_inline_script(c) {
                    return Err(FieldError::new(
                        at("command"),
                        format!("{:?} runs a shell script; values substituted into it would be code", c.join(" ")),
                    )
                    .with_fix("run the deploy tool directly with each value as its own argument after `--`, or set `allow_shell: true` on the action"));
                }
                Action::Command(c.clone())
            }
            (None, Some(_)) => {
                return Err(FieldError::new(at("command"), "empty command")
                    .with_fix("give the program and its arguments"));
            }
            _ => {
                return Err(FieldError::new(
                    at("webhook"),
                    "give exactly one of `webhook` or `command`",
                ));
            }
        };
        if out.insert(a.service.clone(), action).is_some() {
            return Err(FieldError::new(
                at("service"),
                format!("service {:?} has two rollback actions", a.service),
            ));
        }
    }
    Ok(out)
}

/// The placeholders a rollback body or command may use.
const ROLLBACK_KEYS: &[&str] = &["service", "version", "deploy_id", "reason"];

/// Checks a body or command template at load, so a typo such as
/// `{{.sevice}}` is refused by name instead of reaching a deploy system.
fn check_template(src: &str, field: String) -> Result<(), FieldError> {
    Template::parse(src, ROLLBACK_KEYS)
        .map(|_| ())
        .map_err(|e| FieldError::new(field, e.to_string()))
}

/// Whether argv is a shell given an inline script (`sh -c`, `bash -lc`,
/// `env FOO=1 sh -c`, `busybox sh -c`).
fn runs_inline_script(argv: &[String]) -> bool {
    const SHELLS: &[&str] = &[
        "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "busybox",
    ];
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let mut rest = argv.iter().map(String::as_str).peekable();
    // `env [-i] [NAME=value…] program …` runs `program`.
    if rest.peek().is_some_and(|p| base(p) == "env") {
        rest.next();
        while rest
            .peek()
            .is_some_and(|a| a.starts_with('-') || a.contains('='))
        {
            rest.next();
        }
    }
    let Some(program) = rest.next() else {
        return false;
    };
    if !SHELLS.contains(&base(program).as_str()) {
        return false;
    }
    rest.any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
}

/// Longest value substituted into a rollback command.
const MAX_ARG_LEN: usize = 128;

/// Checks a value before it becomes a rollback command's argument: a
/// letter or digit first (never an option), then letters, digits and
/// `. _ : / + @ -` — no whitespace, quotes or shell metacharacters.
pub(crate) fn safe_argument(name: &str, value: &str) -> Result<(), String> {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "._:/+@-".contains(c));
    if first_ok && rest_ok && value.len() <= MAX_ARG_LEN {
        Ok(())
    } else {
        Err(format!(
            "refused: {name} {value:?} is not a safe command argument (a letter or digit, then up to {} of letters, digits and . _ : / + @ -)",
            MAX_ARG_LEN - 1
        ))
    }
}

/// What the ticker needs.
pub struct Guardrails {
    pub analysis: Arc<AnalysisRegistry>,
    pub engine: Engine,
    pub querier: Arc<dyn Querier>,
    pub state: State,
    pub clock: Arc<dyn Clock>,
    pub actions: Arc<homeostat_app::Live<BTreeMap<String, Action>>>,
    /// The process's outbound delivery path; rollback webhooks go through it.
    pub outbound: Outbound,
    /// See [`RollbackSection::page_window`].
    pub page_window: Duration,
    /// The rule engine: when each of its page alerts fired.
    pub rules: Arc<dyn RulesView>,
    /// Only the leader judges runs and calls rollbacks.
    pub leadership: homeostat_app::Leadership,
}

/// Judges due runs every second, and looks for page-tier burn alerts after
/// recent deploys every 5 seconds, until `stop`. First tries the rollbacks
/// that failed runs still owe from before a restart.
pub async fn run(g: Arc<Guardrails>, mut stop: watch::Receiver<bool>) {
    let clustered = !matches!(g.leadership.role(), homeostat_app::Role::Single);
    let mut leading = false;
    let mut tick: u64 = 0;
    loop {
        if !leading && g.leadership.is_leader() {
            leading = true;
            if clustered {
                // A new leader takes over the runs the old one judged.
                analysis_runs::reload(&g).await;
            }
            analysis_runs::resume_rollbacks(&g).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        tick += 1;
        if !g.leadership.is_leader() {
            leading = false;
            // A follower answers for the runs the leader judges.
            if clustered && tick.is_multiple_of(5) {
                analysis_runs::mirror(&g).await;
            }
            continue;
        }
        if clustered && tick.is_multiple_of(5) {
            analysis_runs::adopt(&g).await;
        }
        let now = g.clock.now_millis();
        if tick.is_multiple_of(5) && !g.page_window.is_zero() {
            for (deploy_id, reason) in pages_after_deploys(&g, now).await {
                let g = g.clone();
                tokio::spawn(async move { rollback(&g, deploy_id, reason).await });
            }
        }
        analysis_runs::judge_due(&g, now).await;
    }
}

/// Deploys to roll back because a page-tier burn alert of their service
/// fires within the page window after them: the newest such deploy per
/// service that has not been rolled back.
async fn pages_after_deploys(g: &Guardrails, now: i64) -> Vec<(i64, String)> {
    let state = g.state.clone();
    let window = g.page_window.as_millis() as i64;
    let actions = g.actions.get();
    // Only the rule engine's own alerts: `ALERTS` series in the store can
    // be written by anyone with remote-write or OTLP access, and a forged
    // page must not undo a healthy deploy.
    let firing = firing_pages(&g.rules.alerts());
    tokio::task::spawn_blocking(move || {
        let mut due = Vec::new();
        for (svc, page) in firing {
            if !actions.contains_key(&svc) {
                continue;
            }
            let Ok(recent) = state.deploys.list_deploys(&homeostat_state::DeployFilter {
                service: Some(svc.clone()),
                since: Some(now - window),
                until: Some(now),
                limit: 1,
            }) else {
                continue;
            };
            // Not a deploy that a page already running preceded, and never
            // a rollback itself (undoing the fix would make it worse).
            if let Some(d) = recent.first().filter(|d| {
                d.rollback.is_none()
                    && d.started_at <= page.active_at
                    && d.change_type.as_deref() != Some("rollback")
            }) {
                due.push((d.id, rollback_reason(&svc, &page, d.id, d.started_at)));
            }
        }
        due
    })
    .await
    .unwrap_or_default()
}

/// The rule engine's firing page-tier alerts, per service the latest
/// activation.
fn firing_pages(alerts: &[homeostat_rules::AlertSnapshot]) -> BTreeMap<String, PageFiring> {
    let mut firing: BTreeMap<String, PageFiring> = BTreeMap::new();
    for a in alerts {
        let (homeostat_rules::AlertState::Firing, Some("page"), Some(svc)) = (
            a.state,
            a.labels.get("sloth_severity").map(String::as_str),
            a.labels.get("sloth_service"),
        ) else {
            continue;
        };
        let page = PageFiring {
            active_at: a.active_at,
            fired_at: a.fired_at.unwrap_or(a.active_at),
            alert: a
                .labels
                .get("alertname")
                .map_or("page", String::as_str)
                .to_string(),
        };
        let e = firing.entry(svc.clone()).or_insert(page.clone());
        if page.active_at > e.active_at {
            *e = page;
        }
    }
    firing
}

/// A page-tier alert firing now, as the rollback reason tells it.
#[derive(Debug, Clone, PartialEq)]
struct PageFiring {
    /// When its condition began to hold (pending), ms.
    active_at: i64,
    /// When it fired, ms.
    fired_at: i64,
    alert: String,
}

fn rollback_reason(service: &str, page: &PageFiring, deploy_id: i64, deployed_at: i64) -> String {
    format!(
        "page-tier burn alert {} of {service} fired {} after deploy {deploy_id}",
        page.alert,
        elapsed(page.fired_at - deployed_at)
    )
}

/// An interval as people say it, to the second: `45 s`, `3 min 20 s`,
/// `1 h 5 min` (the two largest units; never rounded down to nothing).
fn elapsed(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    if secs == 0 {
        return "less than 1 s".into();
    }
    let parts: Vec<String> = [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)]
        .iter()
        .scan(secs, |left, (unit, size)| {
            let n = *left / size;
            *left %= size;
            Some((n, *unit))
        })
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    parts.join(" ")
}

/// Rolls back a deploy, once. Returns whether the matter is settled: the
/// action was called, had been called before, or there is none for the
/// service; `false` when the state could not be read or written, so a
/// failed run's rollback stays pending.
async fn rollback(g: &Guardrails, deploy_id: i64, reason: String) -> bool {
    let state = g.state.clone();
    let deploy = match tokio::task::spawn_blocking(move || state.deploys.get_deploy(deploy_id))
        .await
    {
        Ok(Ok(Some(d))) => d,
        other => {
            tracing::error!(deploy_id, result = ?other.map(|r| r.map(|d| d.is_some())), "rollback: cannot read the deploy");
            return false;
        }
    };
    let action = g.actions.get().get(&deploy.service).cloned();
    let Some(action) = action else {
        tracing::warn!(service = %deploy.service, "analysis failed but no rollback action is configured for the service");
        return true;
    };
    let now = g.clock.now_millis();
    // What the rollback record, the audit log, the API and the console
    // show: a webhook's origin only, since its path or query may be a secret.
    let shown = match &action {
        Action::Webhook { url, .. } => format!("webhook {}", redact_url(url)),
        Action::Command(argv) => format!("command {}", argv.join(" ")),
    };
    let record = RollbackRecord {
        at: now,
        reason: reason.clone(),
        action: shown.clone(),
        ok: None,
        detail: json!({}),
    };
    let state = g.state.clone();
    let claimed =
        tokio::task::spawn_blocking(move || state.deploys.claim_rollback(deploy_id, &record))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
    match claimed {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(
                deploy_id,
                "deploy already rolled back; not calling the action again"
            );
            return true;
        }
        Err(e) => {
            tracing::error!(deploy_id, error = %e, "rollback: cannot claim the deploy's rollback");
            return false;
        }
    }
    let deploy_id_text = deploy_id.to_string();
    let vars = [
        ("service", deploy.service.as_str()),
        ("version", deploy.version.as_str()),
        ("deploy_id", deploy_id_text.as_str()),
        ("reason", reason.as_str()),
    ];
    let (ok, detail) = match &action {
        Action::Webhook { url, body } => {
            let body = match body {
                Some(t) => template::render(t, &vars, Escape::JsonString),
                None => Ok(json!({"service": deploy.service, "version": deploy.version, "deploy_id": deploy_id, "reason": reason}).to_string()),
            };
            // Checked at load, so this fails only if the check and the
            // render disagree; the rollback is then recorded as failed.
            match body {
                Err(e) => (false, json!({"error": format!("body template: {e}")})),
                Ok(body) => {
                    // Through the process's outbound path: retried with backoff
                    // like every other outbound call; the claim above makes sure
                    // no other caller runs it too.
                    let out = g
                        .outbound
                        .post_json(
                            OutboundKind::Rollback,
                            url,
                            body.into_bytes(),
                            ROLLBACK_TIMEOUT,
                        )
                        .await;
                    match (out.status, &out.last_error) {
                        (Some(status), _) => (out.delivered, json!({"status": status})),
                        (None, Some(e)) => (false, json!({"error": e.to_string()})),
                        (None, None) => (out.delivered, json!({})),
                    }
                }
            }
        }
        Action::Command(argv) => {
            let argv: Result<Vec<String>, _> = argv
                .iter()
                .map(|a| template::render(a, &vars, Escape::None))
                .collect();
            let unsafe_value = [
                ("service", deploy.service.as_str()),
                ("version", deploy.version.as_str()),
            ]
            .into_iter()
            .find_map(|(name, value)| safe_argument(name, value).err());
            match (unsafe_value, argv) {
                (Some(error), _) => {
                    tracing::error!(deploy_id, service = %deploy.service, %error, "rollback command refused");
                    (false, json!({"error": error}))
                }
                (None, Err(e)) => (false, json!({"error": format!("command template: {e}")})),
                (None, Ok(argv)) => match tokio::process::Command::new(&argv[0])
                    .args(&argv[1..])
                    .output()
                    .await
                {
                    Ok(o) => (
                        o.status.success(),
                        json!({"exit": o.status.code(), "stderr": String::from_utf8_lossy(&o.stderr).chars().take(500).collect::<String>()}),
                    ),
                    Err(e) => (false, json!({"error": e.to_string()})),
                },
            }
        }
    };
    tracing::warn!(deploy_id, service = %deploy.service, ok, action = %shown, "automatic rollback called");
    let state = g.state.clone();
    let service = deploy.service.clone();
    let summary = format!(
        "automatic rollback of {} {} ({}): {}",
        deploy.service,
        deploy.version,
        if ok { "called" } else { "FAILED" },
        reason
    );
    let res = tokio::task::spawn_blocking(move || -> Result<(), String> {
        state
            .deploys
            .finish_rollback(deploy_id, ok, &detail)
            .map_err(|e| e.to_string())?;
        if let Some(mut d) = state
            .deploys
            .get_deploy(deploy_id)
            .map_err(|e| e.to_string())?
        {
            d.outcome = DeployOutcome::RolledBack;
            d.finished_at.get_or_insert(now);
            state.deploys.update_deploy(&d).map_err(|e| e.to_string())?;
        }
        state
            .audit
            .append(&AuditEntry {
                seq: 0,
                at: now,
                actor: "homeostat".into(),
                action: "deploy.rollback".into(),
                object: format!("deploy/{deploy_id}"),
                detail: json!({"ok": ok, "action": shown}),
            })
            .map_err(|e| e.to_string())?;
        IncidentService::new(state.incidents.clone())
            .record_on_open_incidents(
                &service,
                ExternalKind::Rollback,
                &summary,
                json!({"deploy_id": deploy_id, "ok": ok}),
                now,
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    })
    .await;
    if let Ok(Err(e)) | Err(e) = res.map_err(|e| e.to_string()) {
        tracing::error!(deploy_id, error = %e, "recording the rollback failed");
    }
    // Claimed and called: never again, whatever the bookkeeping did.
    true
}

/// How often the budgets behind the gate are measured again.
const GATE_REFRESH: Duration = Duration::from_secs(5);

/// Has the gate measure the budgets of every gated service every few
/// seconds, so a gate request reads them instead of running PromQL over
/// the period. The gate service is the cache's only writer
/// (`homeostat_app::GateService::refresh`).
pub async fn refresh_gate(gate: Arc<homeostat_app::GateService>, mut stop: watch::Receiver<bool>) {
    loop {
        let g = gate.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || g.refresh()).await {
            tracing::error!(error = %e, "measuring gate budgets failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(GATE_REFRESH) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(webhook_body: Option<&str>, command: Option<&[&str]>) -> RollbackSection {
        RollbackSection {
            actions: vec![ActionSpec {
                service: "checkout".into(),
                webhook: webhook_body.map(|b| WebhookSpec {
                    url: "https://deployer.example/hooks/SECRET".into(),
                    body: Some(b.into()),
                }),
                command: command.map(|c| c.iter().map(|s| s.to_string()).collect()),
                allow_shell: false,
            }],
            page_window: None,
        }
    }

    #[test]
    fn placeholders_are_checked_at_load_and_named() {
        let ok = section(
            Some(r#"{"svc":"{{.service}}","why":"{{ .reason }}"}"#),
            None,
        );
        assert!(validate(&ok).is_ok());
        let typo = section(Some(r#"{"svc":"{{.sevice}}"}"#), None);
        let e = validate(&typo).expect_err("unknown key refused");
        assert_eq!(e.field, "rollback.actions[0].webhook.body");
        assert!(e.problem.contains("sevice"), "{e:?}");
        let cmd = section(None, Some(&["deployctl", "undo", "{{.deploy_id}", "x"]));
        let e = validate(&cmd).expect_err("unterminated refused");
        assert_eq!(e.field, "rollback.actions[0].command[2]");
    }

    #[test]
    fn shell_scripts_are_refused_unless_allowed() {
        let e = validate(&section(
            None,
            Some(&["sh", "-c", "deployctl undo {{.version}}"]),
        ))
        .expect_err("sh -c refused");
        assert_eq!(e.field, "rollback.actions[0].command");
        assert!(e.problem.contains("shell script"), "{e:?}");
        for argv in [
            &["/bin/bash", "-lc", "x"][..],
            &["env", "A=1", "dash", "-ec", "x"],
            &["busybox", "sh", "-c", "x"],
        ] {
            assert!(
                runs_inline_script(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                "{argv:?}"
            );
        }
        let direct = section(
            None,
            Some(&["deployctl", "undo", "--", "{{.service}}", "{{.version}}"]),
        );
        assert!(validate(&direct).is_ok());
        assert!(!runs_inline_script(&[
            "bash".to_string(),
            "rollback.sh".to_string()
        ]));
        let mut allowed = section(None, Some(&["sh", "-c", "deployctl undo"]));
        allowed.actions[0].allow_shell = true;
        assert!(validate(&allowed).is_ok());
    }

    #[test]
    fn substituted_values_must_be_plain_words() {
        for ok in [
            "checkout",
            "1.4.2",
            "v2.0.0-rc.1+build5",
            "registry.example/app:1@sha256:ab",
            "7",
        ] {
            assert!(safe_argument("version", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-rf",
            "--force",
            "1.0; rm -rf /",
            "a b",
            "$(id)",
            "`id`",
            "x|y",
            "é",
            "a\nb",
            &"a".repeat(129),
        ] {
            let e = safe_argument("version", bad).expect_err(bad);
            assert!(e.starts_with("refused: version"), "{e}");
        }
    }

    #[test]
    fn intervals_are_exact_to_the_second_and_never_zero() {
        assert_eq!(elapsed(45_000), "45 s");
        assert_eq!(elapsed(45_999), "45 s");
        assert_eq!(elapsed(200_000), "3 min 20 s");
        assert_eq!(elapsed(180_000), "3 min");
        assert_eq!(elapsed(3_900_000), "1 h 5 min");
        assert_eq!(elapsed(3_600_000 + 59_000), "1 h");
        assert_eq!(elapsed(400), "less than 1 s");
        assert_eq!(elapsed(-5), "less than 1 s");
    }

    fn page_alert(
        labels: &[(&str, &str)],
        state: homeostat_rules::AlertState,
        active_at: i64,
        fired_at: Option<i64>,
    ) -> homeostat_rules::AlertSnapshot {
        homeostat_rules::AlertSnapshot {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            state,
            active_at,
            fired_at,
            keep_firing_since: None,
            value: 1.0,
        }
    }

    const PAGE: &[(&str, &str)] = &[
        ("alertname", "CheckoutBurn"),
        ("sloth_service", "checkout"),
        ("sloth_severity", "page"),
    ];

    #[test]
    fn the_reason_counts_from_the_deploy_to_the_firing_not_the_pending() {
        let deployed = 1_000_000;
        // Pending 20 s after the deploy, fired 2 min later (`for: 2m`).
        let alerts = [page_alert(
            PAGE,
            homeostat_rules::AlertState::Firing,
            deployed + 20_000,
            Some(deployed + 140_000),
        )];
        let pages = firing_pages(&alerts);
        assert_eq!(
            rollback_reason("checkout", &pages["checkout"], 7, deployed),
            "page-tier burn alert CheckoutBurn of checkout fired 2 min 20 s after deploy 7"
        );
    }

    #[test]
    fn only_firing_page_tier_alerts_of_the_rule_engine_count() {
        use homeostat_rules::AlertState::{Firing, Pending};
        let ticket = [
            ("alertname", "Slow"),
            ("sloth_service", "search"),
            ("sloth_severity", "ticket"),
        ];
        let unowned = [("alertname", "Burn"), ("sloth_severity", "page")];
        let alerts = [
            page_alert(PAGE, Pending, 5, None),
            page_alert(&ticket, Firing, 5, Some(6)),
            page_alert(&unowned, Firing, 5, Some(6)),
        ];
        assert!(firing_pages(&alerts).is_empty());
        let alerts = [
            page_alert(PAGE, Firing, 5, Some(6)),
            page_alert(PAGE, Firing, 9, Some(10)),
        ];
        assert_eq!(firing_pages(&alerts)["checkout"].active_at, 9);
    }

    #[test]
    fn values_are_json_escaped_in_a_body_and_verbatim_in_argv() {
        let vars = [("reason", "burn \"fast\"\n")];
        assert_eq!(
            template::render(r#"{"r":"{{.reason}}"}"#, &vars, Escape::JsonString).expect("renders"),
            r#"{"r":"burn \"fast\"\n"}"#
        );
        assert_eq!(
            template::render("--why={{.reason}}", &vars, Escape::None).expect("renders"),
            "--why=burn \"fast\"\n"
        );
    }
}
