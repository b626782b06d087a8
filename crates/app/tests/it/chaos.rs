//! The experiment runner with fake providers: hypotheses, deviation, the
//! SLO guard's abort and its rollbacks, pauses on paused time, the process
//! allow-list, secrets masked, runs left running by a previous process.

use std::sync::Arc;
use std::time::Duration;

use homeostat_app::{
    BoxFuture, ChaosConfig, ChaosError, ChaosEventKind, ChaosService, ChaosSignals, FaultControl,
};
use homeostat_chaos::{Format, GuardReading, Journal, RunStatus};
use homeostat_model::FakeClock;
use homeostat_state::{AuditLog, ChaosStore, MemState, State};
use parking_lot::Mutex;
use serde_json::{Value, json};

#[derive(Default)]
struct Faults {
    calls: Mutex<Vec<String>>,
}

impl Faults {
    fn record(&self, call: String, echo: Value) -> BoxFuture<'_, Result<Value, String>> {
        self.calls.lock().push(call);
        Box::pin(async move { Ok(echo) })
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().clone()
    }
}

impl FaultControl for Faults {
    fn add_toxic(&self, proxy: &str, toxic: Value) -> BoxFuture<'_, Result<Value, String>> {
        let name = toxic["name"].as_str().unwrap_or("").to_string();
        self.record(format!("add_toxic {proxy} {name}"), toxic)
    }
    fn remove_toxic(&self, proxy: &str, name: &str) -> BoxFuture<'_, Result<Value, String>> {
        self.record(format!("remove_toxic {proxy} {name}"), Value::Null)
    }
    fn set_proxy_enabled(&self, proxy: &str, on: bool) -> BoxFuture<'_, Result<Value, String>> {
        self.record(format!("enabled {proxy} {on}"), json!({"enabled": on}))
    }
    fn add_http_fault(&self, route: &str, fault: Value) -> BoxFuture<'_, Result<Value, String>> {
        self.record(format!("add_http_fault {route}"), fault)
    }
    fn remove_http_fault(&self, route: &str, name: &str) -> BoxFuture<'_, Result<Value, String>> {
        self.record(format!("remove_http_fault {route} {name}"), Value::Null)
    }
}

/// Burn rates handed out one per reading, the last repeated.
struct Signals {
    burns: Mutex<Vec<f64>>,
    promql: f64,
}

impl ChaosSignals for Signals {
    fn promql(&self, _: &str) -> BoxFuture<'_, Result<Value, String>> {
        let v = self.promql;
        Box::pin(async move {
            Ok(
                json!({"resultType": "vector", "result": [{"metric": {}, "value": [1.0, v.to_string()]}]}),
            )
        })
    }
    fn slo(&self, _: &str, _: Option<Duration>) -> BoxFuture<'_, Result<GuardReading, String>> {
        let mut b = self.burns.lock();
        let burn = if b.len() > 1 { b.remove(0) } else { b[0] };
        Box::pin(async move {
            Ok(GuardReading {
                burn_rate: Some(burn),
                budget_remaining: Some(0.9),
            })
        })
    }
}

struct Fixture {
    service: ChaosService,
    faults: Arc<Faults>,
    mem: Arc<MemState>,
}

fn fixture(burns: Vec<f64>, promql: f64, allow: &[&str]) -> Fixture {
    let mem = Arc::new(MemState::default());
    let state = State::from_backend(mem.clone());
    let faults = Arc::new(Faults::default());
    let signals = Arc::new(Signals {
        burns: Mutex::new(burns),
        promql,
    });
    let config = ChaosConfig {
        process_allowlist: allow.iter().map(Into::into).collect(),
        max_concurrent_experiments: 2,
        ..ChaosConfig::default()
    };
    let service = ChaosService::new(
        config,
        faults.clone(),
        signals,
        Arc::new(FakeClock::new(1_000_000)),
        &state,
    )
    .with_env(|k| (k == "CHAOS_TOKEN").then(|| "tok-very-secret".to_string()));
    Fixture {
        service,
        faults,
        mem,
    }
}

async fn run(f: &Fixture, doc: Value) -> Journal {
    let exp = f
        .service
        .validate(&doc.to_string(), Format::Json)
        .expect("valid");
    let started = f.service.start(exp, "token:ci").await.expect("start");
    started.finished.await.expect("finished")
}

fn latency_experiment(guard: bool, tolerance: Value) -> Value {
    let mut doc = json!({
        "title": "checkout survives 500 ms of database latency",
        "secrets": {"proxy": {"token": {"type": "env", "key": "CHAOS_TOKEN"}}},
        "steady-state-hypothesis": {"title": "errors are low", "probes": [
            {"type": "probe", "name": "error-ratio", "tolerance": tolerance,
             "provider": {"type": "homeostat", "func": "promql", "arguments": {"query": "errors"}}}
        ]},
        "method": [
            {"type": "action", "name": "add-latency",
             "provider": {"type": "homeostat", "func": "add_toxic", "arguments": {
                 "proxy": "checkout-db",
                 "toxic": {"name": "lat", "type": "latency", "attributes": {"latency": 500},
                           "note": "auth ${token}"}}},
             "pauses": {"after": 60}},
            {"type": "action", "name": "never-reached-when-aborted",
             "provider": {"type": "homeostat", "func": "set_proxy_enabled",
                          "arguments": {"proxy": "checkout-db", "enabled": false}}}
        ],
        "rollbacks": [
            {"type": "action", "name": "remove-latency",
             "provider": {"type": "python", "module": "chaostoxi.toxic.actions", "func": "delete_toxic",
                          "arguments": {"for_proxy": "checkout-db", "toxic_name": "lat"}}}
        ]
    });
    if guard {
        doc["extensions"] = json!([{"name": "homeostat", "service": "checkout",
            "guard": {"slo": "checkout-availability", "max_burn_rate": 14.4, "check_every": "5s"}}]);
    }
    doc
}

#[tokio::test(start_paused = true)]
async fn guard_abort_stops_the_method_and_runs_the_rollbacks() {
    // Baseline 1x, then 2x, then 20x: the third check aborts.
    let f = fixture(vec![1.0, 2.0, 2.0, 20.0], 0.001, &[]);
    let mut events = f.service.subscribe();
    let t0 = tokio::time::Instant::now();
    let j = run(
        &f,
        latency_experiment(true, json!({"type": "range", "range": [0, 0.01]})),
    )
    .await;
    assert_eq!(j.status, RunStatus::Aborted);
    assert!(j.deviated);
    assert_eq!(
        f.faults.calls(),
        ["add_toxic checkout-db lat", "remove_toxic checkout-db lat"],
        "the method stopped during its pause and the rollback removed the toxic"
    );
    assert_eq!(j.homeostat.guard_checks, 3);
    let reason = j.homeostat.deviation.clone().expect("deviation");
    assert!(
        reason.contains("20.00x") && reason.contains("14.4x"),
        "{reason}"
    );
    assert!(
        j.steady_states.after.is_none(),
        "no hypothesis after an abort"
    );
    assert_eq!(j.rollbacks.len(), 1);
    // 3 checks 5 s apart, well within the 60 s pause.
    assert_eq!(t0.elapsed(), Duration::from_secs(15));
    assert_eq!(j.run.len(), 1, "the action that ran is journaled");
    // Secrets never reach the journal.
    let text = serde_json::to_string(&j).expect("journal");
    assert!(!text.contains("tok-very-secret"), "{text}");
    assert!(text.contains("auth ********"), "{text}");

    let started = events.recv().await.expect("event");
    assert_eq!(started.kind, ChaosEventKind::Started);
    assert_eq!(started.service.as_deref(), Some("checkout"));
    let finished = events.recv().await.expect("event");
    assert_eq!(finished.kind, ChaosEventKind::Finished);
    assert_eq!(finished.status, RunStatus::Aborted);

    // Stored with its journal, audited with the principal.
    let runs = f.mem.list_runs(None, 0, 10).expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "aborted");
    assert_eq!(runs[0].principal, "token:ci");
    assert_eq!(runs[0].journal["status"], "aborted");
    assert_eq!(
        runs[0].journal["rollbacks"].as_array().map(Vec::len),
        Some(1)
    );
    let audit = f.mem.list_recent(10).expect("audit");
    assert_eq!(audit[0].action, "chaos.experiment.start");
    assert_eq!(audit[0].actor, "token:ci");
}

#[tokio::test(start_paused = true)]
async fn a_quiet_run_completes_after_its_pauses() {
    let f = fixture(vec![1.0], 0.001, &[]);
    let t0 = tokio::time::Instant::now();
    let j = run(
        &f,
        latency_experiment(true, json!({"type": "range", "range": [0, 0.01]})),
    )
    .await;
    assert_eq!(j.status, RunStatus::Completed);
    assert!(!j.deviated);
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(60),
        "the 60 s pause after the first action"
    );
    assert_eq!(j.run.len(), 2);
    assert!(
        j.steady_states
            .before
            .as_ref()
            .expect("before")
            .steady_state_met
    );
    assert!(
        j.steady_states
            .after
            .as_ref()
            .expect("after")
            .steady_state_met
    );
    assert_eq!(
        j.steady_states.before.as_ref().expect("before").probes[0].tolerance_met,
        Some(true)
    );
    // chaoslib runs the rollbacks after a completed run too.
    assert_eq!(f.faults.calls().len(), 3);
    // Every 5 s over 60 s; the last falls on the method's end and may lose the race.
    assert!(
        (11..=12).contains(&j.homeostat.guard_checks),
        "{}",
        j.homeostat.guard_checks
    );
}

#[tokio::test(start_paused = true)]
async fn hypothesis_not_met_before_runs_nothing() {
    let f = fixture(vec![1.0], 0.5, &[]);
    let j = run(
        &f,
        latency_experiment(false, json!({"type": "range", "range": [0, 0.01]})),
    )
    .await;
    assert_eq!(j.status, RunStatus::Failed);
    assert!(!j.deviated);
    assert!(j.run.is_empty() && j.rollbacks.is_empty());
    assert!(f.faults.calls().is_empty());
    let before = j.steady_states.before.expect("before");
    assert!(!before.steady_state_met);
    assert_eq!(before.probes[0].tolerance_met, Some(false));
}

#[tokio::test(start_paused = true)]
async fn hypothesis_not_met_after_is_a_deviation_with_rollbacks() {
    let f = fixture(vec![1.0], 0.001, &[]);
    // Met before (the probe reads 0.001), but the second check, after the
    // method, compares with a tolerance the fake can only meet once: a
    // probe tolerance that the set_proxy_enabled action flipped.
    let mut doc = latency_experiment(false, json!({"type": "range", "range": [0, 0.01]}));
    doc["steady-state-hypothesis"]["probes"]
        .as_array_mut()
        .expect("probes")
        .push(json!({"type": "probe", "name": "proxy-enabled", "tolerance": {"type": "jsonpath", "path": "$.enabled", "expect": true},
            "provider": {"type": "homeostat", "func": "set_proxy_enabled", "arguments": {"proxy": "x", "enabled": "${flag}"}}}));
    doc["configuration"] = json!({"flag": true});
    let j = run(&f, doc.clone()).await;
    assert_eq!(j.status, RunStatus::Completed);
    doc["configuration"] = json!({"flag": false});
    // The same probe answering false before: nothing runs.
    let j = run(&f, doc).await;
    assert_eq!(j.status, RunStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_fails_after_the_method_deviates() {
    let f = fixture(vec![1.0], 0.001, &[]);
    let doc = json!({
        "title": "the toxic breaks the check",
        "steady-state-hypothesis": {"title": "h", "probes": [
            {"type": "probe", "name": "toxic-absent", "tolerance": {"type": "jsonpath", "path": "$.enabled", "expect": true},
             "provider": {"type": "homeostat", "func": "set_proxy_enabled", "arguments": {"proxy": "p", "enabled": true}}}
        ]},
        "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://127.0.0.1:9/unreachable", "timeout": 1}}],
        "rollbacks": [{"type": "action", "name": "undo", "provider": {"type": "homeostat", "func": "remove_http_fault", "arguments": {"route": "checkout", "name": "abort"}}}]
    });
    let j = run(&f, doc).await;
    // The method's action failed (nothing listens there), but chaoslib
    // goes on; the hypothesis still holds after.
    assert_eq!(j.run[0].status, homeostat_chaos::ActivityStatus::Failed);
    assert!(j.run[0].exception.as_ref().expect("exception")[0].contains("ActivityFailed"));
    assert_eq!(j.status, RunStatus::Completed);
    assert_eq!(j.rollbacks.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_person_aborts_a_run() {
    let f = fixture(vec![1.0], 0.001, &[]);
    let exp = f
        .service
        .validate(
            &latency_experiment(false, json!(true)).to_string(),
            Format::Json,
        )
        .expect("valid");
    // tolerance `true` on a number: not met → use a hypothesis-free copy.
    let mut exp = exp;
    exp.hypothesis = None;
    let started = f.service.start(exp, "ana").await.expect("start");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(f.service.is_running(&started.id));
    f.service.abort(&started.id, "ana").await.expect("abort");
    let j = started.finished.await.expect("finished");
    assert_eq!(j.status, RunStatus::Aborted);
    assert_eq!(j.homeostat.deviation.as_deref(), Some("aborted by ana"));
    assert_eq!(j.rollbacks.len(), 1);
    assert!(matches!(
        f.service.abort(&started.id, "ana").await,
        Err(ChaosError::NotRunning(_))
    ));
    assert!(matches!(
        f.service.abort("exp-nope", "ana").await,
        Err(ChaosError::NotFound(_))
    ));
    let audit = f.mem.list_recent(10).expect("audit");
    assert_eq!(
        audit.last().expect("audit").action,
        "chaos.experiment.abort"
    );
}

#[tokio::test]
async fn process_allowlist() {
    let f = fixture(vec![1.0], 0.0, &["/bin/echo"]);
    let doc = |path: &str| {
        json!({"title": "t", "method": [{"type": "probe", "name": "p",
            "provider": {"type": "process", "path": path, "arguments": ["hello", "${who}"]}}],
            "configuration": {"who": "world"}})
        .to_string()
    };
    let err = f
        .service
        .validate(&doc("/bin/rm"), Format::Json)
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "method[0].provider.path: /bin/rm is not in chaos.process_allowlist; add it to the server config to allow it"
    );
    assert_eq!(err.kind(), homeostat_model::ErrorKind::InvalidInput);
    let exp = f
        .service
        .validate(&doc("/bin/echo"), Format::Json)
        .expect("allowed");
    let j = f
        .service
        .start(exp, "ci")
        .await
        .expect("start")
        .finished
        .await
        .expect("done");
    assert_eq!(j.run[0].output["stdout"], "hello world\n");
    assert_eq!(j.run[0].output["status"], 0);
}

#[tokio::test]
async fn runs_left_running_become_interrupted() {
    let f = fixture(vec![1.0], 0.0, &[]);
    let mut run = homeostat_state::ChaosRun {
        id: "exp-old".into(),
        title: "old".into(),
        service: None,
        status: "running".into(),
        started_at: 1,
        finished_at: None,
        principal: "ci".into(),
        journal: json!({"status": "running"}),
    };
    f.mem.insert_run(&run).expect("insert");
    run.id = "exp-done".into();
    run.status = "completed".into();
    f.mem.insert_run(&run).expect("insert");
    assert_eq!(f.service.recover().await.expect("recover"), 1);
    let old = f.service.get("exp-old").await.expect("get");
    assert_eq!(old.status, "interrupted");
    assert_eq!(old.journal["status"], "interrupted");
    assert_eq!(
        f.service.get("exp-done").await.expect("get").status,
        "completed"
    );
}

#[tokio::test(start_paused = true)]
async fn at_most_max_concurrent_runs() {
    let f = fixture(vec![1.0], 0.001, &[]);
    let mut doc = latency_experiment(false, json!(true));
    doc.as_object_mut()
        .expect("doc")
        .remove("steady-state-hypothesis");
    let exp = || {
        f.service
            .validate(&doc.to_string(), Format::Json)
            .expect("valid")
    };
    let a = f.service.start(exp(), "ci").await.expect("first");
    let _b = f.service.start(exp(), "ci").await.expect("second");
    assert!(matches!(
        f.service.start(exp(), "ci").await,
        Err(ChaosError::Busy { .. })
    ));
    a.finished.await.expect("done");
    f.service
        .start(exp(), "ci")
        .await
        .expect("a slot is free again");
}
