//! The Chaos Monkey's side effects and its ticker: members of query-defined
//! groups from the query engine, terminations through an allow-listed
//! command (never a shell) or a webhook on the one outbound path.

use std::sync::Arc;
use std::time::Duration;

use homeostat_app::{
    EffectFuture, Leadership, MonkeyEffects, MonkeyGroup, MonkeyService, TerminationAction,
};
use homeostat_model::Clock;
use homeostat_model::template::{self, Escape};
use homeostat_notify::{Outbound, OutboundKind};
use homeostat_promql::Engine;
use homeostat_storage::Querier;
use serde_json::json;
use tokio::sync::watch;

use crate::release::safe_argument;

const ACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// How often due terminations are looked for; a planned moment is kept to
/// within this.
const TICK: Duration = Duration::from_secs(15);

pub struct ServerEffects {
    pub engine: Engine,
    pub querier: Arc<dyn Querier>,
    pub clock: Arc<dyn Clock>,
    pub outbound: Outbound,
}

impl MonkeyEffects for ServerEffects {
    fn members<'a>(&'a self, query: &'a str, label: &'a str) -> EffectFuture<'a, Vec<String>> {
        Box::pin(async move {
            let now = self.clock.now_millis();
            let mut members: Vec<String> = homeostat_app::instant_vector(
                self.engine.clone(),
                self.querier.clone(),
                query.to_string(),
                now,
            )
            .await?
            .iter()
            .filter_map(|s| s.labels.get(label).map(str::to_string))
            .collect();
            members.sort();
            members.dedup();
            Ok(members)
        })
    }

    fn terminate<'a>(&'a self, g: &'a MonkeyGroup, target: &'a str) -> EffectFuture<'a, String> {
        Box::pin(async move {
            let vars = [
                ("group", g.group.name.as_str()),
                ("service", g.group.service.as_str()),
                ("target", target),
            ];
            match &g.action {
                TerminationAction::Command(argv) => {
                    // A target name comes from a query answer: it becomes an
                    // argument only if it cannot be read as an option or code.
                    safe_argument("target", target)?;
                    let argv = argv
                        .iter()
                        .map(|a| template::render(a, &vars, Escape::None))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| format!("command template: {e}"))?;
                    run_argv(&argv, ACTION_TIMEOUT).await
                }
                TerminationAction::Webhook { url, body } => {
                    let body = match body {
                        Some(t) => template::render(t, &vars, Escape::JsonString)
                            .map_err(|e| format!("body template: {e}"))?,
                        None => json!({"group": g.group.name, "service": g.group.service, "target": target, "action": "terminate"})
                            .to_string(),
                    };
                    let out = self
                        .outbound
                        .post_json(OutboundKind::Chaos, url, body.into_bytes(), ACTION_TIMEOUT)
                        .await;
                    delivery_result(out)
                }
            }
        })
    }
}

/// A webhook's outcome as a line for a log or timeline.
pub(crate) fn delivery_result(out: homeostat_notify::DeliveryOutcome) -> Result<String, String> {
    match (out.delivered, out.status, out.last_error) {
        (true, Some(s), _) => Ok(format!("HTTP {s}")),
        (true, None, _) => Ok("delivered".into()),
        (false, Some(s), _) => Err(format!("HTTP {s}")),
        (false, None, Some(e)) => Err(e.to_string()),
        (false, None, None) => Err("not delivered".into()),
    }
}

/// Runs a program with its arguments, never through a shell, within
/// `timeout`; `Ok("exit 0")`, or the exit status and the start of stderr.
pub(crate) async fn run_argv(argv: &[String], timeout: Duration) -> Result<String, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let run = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output();
    let o = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("command did not finish within {timeout:?}"))?
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let stderr: String = String::from_utf8_lossy(&o.stderr)
        .chars()
        .take(300)
        .collect();
    if o.status.success() {
        Ok("exit 0".to_string())
    } else {
        Err(format!("exit {:?}: {}", o.status.code(), stderr.trim()))
    }
}

/// Runs due terminations every few seconds until `stop`; only the replica
/// that may act (`acting`) does, so a cluster terminates once.
pub async fn run(
    monkey: Arc<MonkeyService>,
    leadership: Leadership,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if leadership.acting().is_some() && !monkey.groups().is_empty() {
            monkey.tick().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use homeostat_app::{Members, TargetGroup};
    use homeostat_chaos::SelectorMode;
    use homeostat_chaos::monkey::{BusinessHours, MonkeySchedule};
    use homeostat_model::SystemClock;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn effects() -> ServerEffects {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        ServerEffects {
            engine: Engine::new(Default::default()),
            querier: Arc::new(homeostat_storage::MemStorage::new()),
            clock: clock.clone(),
            outbound: crate::outbound::outbound(clock)
                .unwrap_or_else(|e| panic!("{e}"))
                .0,
        }
    }

    fn group(action: TerminationAction) -> MonkeyGroup {
        let hours = BusinessHours::parse(&["mon-fri"], "09:00", "17:00", "UTC")
            .unwrap_or_else(|e| panic!("{e}"));
        MonkeyGroup {
            schedule: MonkeySchedule::new("pods", hours, 3.0, 1, 1)
                .unwrap_or_else(|e| panic!("{e}")),
            group: TargetGroup {
                name: "pods".into(),
                service: "checkout".into(),
                members: Members::Static(vec!["pod-1".into()]),
                mode: SelectorMode::One,
            },
            action,
            dry_run: false,
        }
    }

    #[tokio::test]
    async fn a_command_gets_its_placeholders_as_separate_arguments() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("args");
        let g = group(TerminationAction::Command(vec![
            "/bin/sh".into(),
            "-c".into(),
            "printf '%s|' \"$@\" > \"$0\"".into(),
            out.display().to_string(),
            "{{.group}}".into(),
            "{{.service}}".into(),
            "--target={{.target}}".into(),
        ]));
        let fx = effects();
        assert_eq!(fx.terminate(&g, "pod-1.zone-a").await, Ok("exit 0".into()));
        let args = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args, "pods|checkout|--target=pod-1.zone-a|");
        // A target that could be read as an option never reaches the command.
        let e = fx.terminate(&g, "-rf").await.unwrap_err();
        assert!(e.contains("target"), "{e}");
    }

    #[tokio::test]
    async fn a_failing_command_is_a_failed_termination() {
        let g = group(TerminationAction::Command(vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo no such pod >&2; exit 3".into(),
        ]));
        let e = effects().terminate(&g, "pod-1").await.unwrap_err();
        assert!(
            e.contains("exit Some(3)") && e.contains("no such pod"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_webhook_posts_the_rendered_body() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let sink = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers and a small body arrive together or in a few reads.
            while !String::from_utf8_lossy(&buf).contains("\"group\"") {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let _ = s
                .write_all(
                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            String::from_utf8_lossy(&buf).to_string()
        });
        let g = group(TerminationAction::Webhook {
            url: format!("http://{addr}/terminate/secret-token"),
            body: Some(r#"{"pod":"{{.target}}","group":"{{.group}}"}"#.into()),
        });
        assert_eq!(
            effects().terminate(&g, "pod-\"1\"").await,
            Ok("HTTP 202".into())
        );
        let request = sink.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            request.contains(r#"{"pod":"pod-\"1\"","group":"pods"}"#),
            "{request}"
        );
    }
}
