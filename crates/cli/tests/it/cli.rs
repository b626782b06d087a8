//! The client commands as a newcomer meets them: `HOMEOSTAT_URL` honoured
//! everywhere, enum mistakes answered with the accepted values, human
//! times in aligned tables, amtool's flag spelling, and logs fit for a
//! terminal or a log shipper.

use std::process::{Command, Output, Stdio};

use crate::{free_port, start};

const SPEC: &str = r#"apiVersion: homeostat/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      page:
        labels: {severity: page}
      ticket:
        labels: {severity: ticket}
"#;

fn homeostat(args: &[&str], url: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeostat"));
    cmd.args(args)
        .env_remove("HOMEOSTAT_URL")
        .env("USER", "tester");
    if let Some(u) = url {
        cmd.env("HOMEOSTAT_URL", u);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn enum_mistakes_list_the_accepted_values_without_type_names() {
    let o = homeostat(&["incident", "list", "--state", "opne"], None);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("'opne'") && err.contains("open"), "{err}");
    assert!(
        err.contains("triggered") && err.contains("postmortem"),
        "{err}"
    );
    assert!(
        !err.contains("IncidentState") && !err.contains("StateFilter"),
        "{err}"
    );

    // `critical` is Prometheus's word, not a declared severity: refused,
    // never stored as some default.
    let o = homeostat(
        &[
            "incident",
            "declare",
            "--title",
            "t",
            "--severity",
            "critical",
        ],
        None,
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("'critical'"), "{err}");
    assert!(err.contains("sev1") && err.contains("sev4"), "{err}");
    assert!(!err.contains("Severity"), "{err}");

    let o = homeostat(
        &[
            "deploy",
            "record",
            "--service",
            "s",
            "--version",
            "1",
            "--outcome",
            "done",
        ],
        None,
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("rolled_back") && err.contains("in_progress"),
        "{err}"
    );
}

/// Every column starts at the same character offset on every line.
fn assert_aligned(table: &str, columns: &[&str]) {
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    let starts: Vec<usize> = columns
        .iter()
        .map(|c| header.find(c).unwrap_or_else(|| panic!("{c} in {header}")))
        .collect();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for &s in &starts[1..] {
            assert!(
                s < chars.len() && chars[s - 1] == ' ' && chars[s] != ' ',
                "column at {s} not aligned in:\n{table}"
            );
        }
    }
}

#[test]
fn client_commands_honour_homeostat_url_and_print_human_times() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("checkout.yaml"), SPEC).unwrap();
    let cfg = dir.path().join("homeostat.yaml");
    std::fs::write(&cfg, "self_scrape: false\nslo_files: [checkout.yaml]\n").unwrap();
    let s = start(
        &dir.path().join("data"),
        free_port(),
        &["--config", cfg.to_str().unwrap()],
    );
    let url = Some(s.base.as_str());

    let o = homeostat(&["slo", "status"], url);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("checkout-availability") && out.contains("99.90%"),
        "{out}"
    );
    assert_aligned(&out, &["SLO", "OBJECTIVE", "SLI", "BUDGET LEFT"]);
    // Nothing listens on the default port in this test: the URL came from
    // the environment. The flag still wins over it.
    let o = homeostat(&["slo", "status", "--url", "http://127.0.0.1:9"], url);
    assert!(!o.status.success());

    for version in ["1.4.1", "1.4.2"] {
        let o = homeostat(
            &[
                "deploy",
                "record",
                "--service",
                "checkout",
                "--version",
                version,
                "--outcome",
                "succeeded",
            ],
            url,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = homeostat(&["deploy", "list"], url);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1.4.2") && out.contains("succeeded"), "{out}");
    assert!(out.contains(" ago)") || out.contains("(now)"), "{out}");
    assert!(out.contains(" UTC"), "{out}");
    assert_aligned(
        &out,
        &["ID", "SERVICE", "VERSION", "OUTCOME", "STARTED", "AUTHOR"],
    );
    // No epoch numbers: a 10- or 13-digit run would be seconds or ms.
    assert!(
        !out.split(|c: char| !c.is_ascii_digit())
            .any(|d| d.len() >= 10),
        "{out}"
    );

    let o = homeostat(
        &[
            "incident",
            "declare",
            "--title",
            "checkout 5xx",
            "--severity",
            "sev3",
        ],
        url,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let id = stdout(&o).trim().to_string();
    let o = homeostat(&["incident", "list", "--state", "open"], url);
    let out = stdout(&o);
    assert!(out.contains(&id) && out.contains("sev3"), "{out}");
    assert_aligned(&out, &["ID", "STATE", "SEV", "SERVICE", "OPENED", "TITLE"]);
    let o = homeostat(&["incident", "show", &id], url);
    let out = stdout(&o);
    assert!(out.contains("opened:") && out.contains(" UTC ("), "{out}");

    let o = homeostat(&["oncall", "now"], url);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn route_test_takes_config_and_amtools_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let am = dir.path().join("am.yml");
    std::fs::write(
        &am,
        "route:\n  receiver: default\n  routes:\n  - matchers: ['severity=\"page\"']\n    receiver: pager\nreceivers:\n- name: default\n- name: pager\n",
    )
    .unwrap();
    for flag in ["--config", "--config.file"] {
        let o = homeostat(
            &[
                "alerts",
                "route-test",
                flag,
                am.to_str().unwrap(),
                "severity=page",
            ],
            None,
        );
        assert!(o.status.success(), "{flag}: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "pager", "{flag}");
    }
}

#[test]
fn logs_have_no_colour_off_a_terminal_and_can_be_json() {
    for (format, json) in [("text", false), ("json", true)] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_homeostat"))
            .args([
                "serve",
                "--data-dir",
                dir.path().to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--log-format",
                format,
            ])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while reqwest::blocking::get(format!("{base}/-/ready")).is_err() {
            assert!(std::time::Instant::now() < deadline, "not ready");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains('\u{1b}'), "ANSI escape in logs:\n{err}");
        let logs: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("homeostat "))
            .collect();
        assert!(!logs.is_empty(), "no log lines at info:\n{err}");
        if json {
            for l in &logs {
                let v: serde_json::Value =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
                assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
            }
        }
    }
}
