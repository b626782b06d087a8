//! End-to-end tests of the `homeostat` binary as a process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use homeostat_model::{Labels, Sample, TimeSeries};

mod alertmanager;
mod cli;
mod docs;
mod release;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, port: u16, extra: &[&str]) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_homeostat"))
        .args([
            "serve",
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client
            .get(format!("{base}/-/ready"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Server { child, base };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("homeostat did not become ready");
}

fn samples(base: &str, selector: &str) -> Vec<(String, Vec<(f64, String)>)> {
    let v: serde_json::Value =
        reqwest::blocking::get(format!("{base}/api/v1/debug/samples?match[]={selector}"))
            .unwrap()
            .json()
            .unwrap();
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let vals = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().to_string()))
                .collect();
            (s["metric"].to_string(), vals)
        })
        .collect()
}

#[test]
fn every_acknowledged_sample_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start(dir.path(), port, &[]);
    let client = reqwest::blocking::Client::new();
    let base_t = 1_700_000_000_000i64;
    let mut acked = 0usize;
    for batch in 0..40i64 {
        let series: Vec<TimeSeries> = (0..25)
            .map(|s| TimeSeries {
                labels: Labels::from_pairs(&[
                    ("__name__", "kill_test"),
                    ("series", &s.to_string()),
                ]),
                samples: vec![Sample::new(base_t + batch * 1000, (batch * 100 + s) as f64)],
            })
            .collect();
        let resp = client
            .post(format!("{}/api/v1/write", server.base))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .body(homeostat_wire::remote_write::encode(&series))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 204, "{:?}", resp.text());
        acked += series.len();
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL: no flush, no shutdown hooks
    server.child.wait().unwrap();
    drop(server);

    let server = start(dir.path(), port, &[]);
    let got = samples(&server.base, "kill_test");
    assert_eq!(got.len(), 25);
    let total: usize = got.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(total, acked);
    for (metric, vals) in &got {
        let s: i64 = serde_json::from_str::<serde_json::Value>(metric).unwrap()["series"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        for (batch, (t, v)) in vals.iter().enumerate() {
            assert_eq!(*t, (base_t + batch as i64 * 1000) as f64 / 1000.0);
            assert_eq!(v, &format!("{}", batch as i64 * 100 + s));
        }
    }
}

#[test]
fn default_serve_scrapes_itself_within_one_interval() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), free_port(), &[]);
    let deadline = Instant::now() + Duration::from_secs(12);
    loop {
        let up = samples(&server.base, "up{job=\"homeostat\"}");
        let own = samples(&server.base, "homeostat_tsdb_head_series");
        if !up.is_empty() && !own.is_empty() {
            assert_eq!(up[0].1[0].1, "1");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no self-scraped series within 12 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn bad_config_exits_non_zero_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(&cfg, "storage:\n  retention: 15 days\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_homeostat"))
        .args([
            "serve",
            "--config",
            cfg.to_str().unwrap(),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("storage.retention"), "{err}");
    std::fs::write(
        &cfg,
        "scrape_configs:\n- job_name: x\n  scrape_intreval: 5s\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_homeostat"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("scrape_intreval"));
}

fn rule_group_names(base: &str) -> Vec<String> {
    let v: serde_json::Value = reqwest::blocking::get(format!("{base}/api/v1/rules"))
        .unwrap()
        .json()
        .unwrap();
    v["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

fn metric(base: &str, name: &str) -> Option<f64> {
    let text = reqwest::blocking::get(format!("{base}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn bad_rule_file_at_reload_keeps_the_old_rules_and_reports_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: first\n  rules:\n  - record: one\n    expr: vector(1)\n",
    )
    .unwrap();
    let cfg = dir.path().join("homeostat.yaml");
    std::fs::write(&cfg, "self_scrape: false\nrule_files: [rules.yml]\n").unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let s = start(&data, port, &["--config", cfg.to_str().unwrap()]);
    assert_eq!(rule_group_names(&s.base), ["first"]);
    let client = reqwest::blocking::Client::new();

    // A broken rule file: refused with the file and field named; the old
    // group keeps running.
    std::fs::write(
        &rules,
        "groups:\n- name: second\n  rules:\n  - record: two\n    expr: sum(\n",
    )
    .unwrap();
    let r = client.post(format!("{}/-/reload", s.base)).send().unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let body = r.text().unwrap();
    assert!(
        body.contains("rules.yml") && body.contains("expr"),
        "{body}"
    );
    assert_eq!(rule_group_names(&s.base), ["first"]);
    assert_eq!(
        metric(&s.base, "homeostat_config_last_reload_successful"),
        Some(0.0)
    );
    let info: serde_json::Value =
        reqwest::blocking::get(format!("{}/api/v1/status/runtimeinfo", s.base))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(info["data"]["reloadConfigSuccess"], false);

    // Fixed: SIGHUP applies it, like Prometheus.
    std::fs::write(
        &rules,
        "groups:\n- name: second\n  rules:\n  - record: two\n    expr: vector(2)\n",
    )
    .unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while rule_group_names(&s.base) != ["second"] {
        assert!(Instant::now() < deadline, "SIGHUP did not reload the rules");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        metric(&s.base, "homeostat_config_last_reload_successful"),
        Some(1.0)
    );

    // A broken config file itself is refused the same way.
    std::fs::write(&cfg, "self_scrape: false\nrule_filez: [rules.yml]\n").unwrap();
    let r = client.post(format!("{}/-/reload", s.base)).send().unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert!(r.text().unwrap().contains("rule_filez"));
    assert_eq!(rule_group_names(&s.base), ["second"]);
}
