//! Secret fields: read from `*_file` twins, expanded from the environment
//! only when asked, and never printed.

use std::path::{Path, PathBuf};

use homeostat_alerting::{Config, LoadOptions, masked_yaml};
use homeostat_model::Secret;

/// A fresh directory for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "homeostat-alerting-secrets-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn expose(s: &Option<Secret>) -> Option<&str> {
    s.as_ref().map(Secret::expose)
}

#[test]
fn file_twins_are_read_relative_to_the_config_file() {
    let d = dir("files");
    for (name, value) in [
        ("hook", "http://127.0.0.1:9/hook/FILEHOOK\n"),
        ("slack", "https://slack.test/FILESLACK"),
        ("pd", "FILEPD\r\n"),
        ("smtp", "FILESMTP\n"),
        ("basic", "FILEBASIC\n"),
    ] {
        std::fs::write(d.join(name), value).expect("write secret");
    }
    let text = "
global:
  slack_api_url_file: slack
  smtp_smarthost: 'mail:25'
  smtp_from: am@x
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url_file: hook
        http_config: {basic_auth: {username: u, password_file: basic}}
    slack_configs: [{channel: '#c'}]
    pagerduty_configs: [{routing_key_file: pd}]
    email_configs: [{to: a@x, auth_password_file: smtp}]
";
    let cfg = Config::from_yaml_str(text, &d.join("am.yml")).expect("loads");
    let r = cfg.receiver("r").expect("receiver r");
    assert_eq!(
        expose(&r.webhook_configs[0].url),
        Some("http://127.0.0.1:9/hook/FILEHOOK")
    );
    assert_eq!(
        expose(&r.slack_configs[0].api_url),
        Some("https://slack.test/FILESLACK")
    );
    assert_eq!(expose(&r.pagerduty_configs[0].routing_key), Some("FILEPD"));
    assert_eq!(expose(&r.email_configs[0].auth_password), Some("FILESMTP"));
    let shown = format!("{cfg:?}");
    for secret in ["FILEHOOK", "FILESLACK", "FILEPD", "FILESMTP"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn unreadable_or_doubled_files_name_the_field_and_file() {
    let d = dir("errors");
    let missing = "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{routing_key_file: nope}]}]\n";
    let err = Config::from_yaml_str(missing, &d.join("am.yml"))
        .expect_err("missing file")
        .to_string();
    assert!(
        err.contains("receivers[0].pagerduty_configs[0].routing_key_file"),
        "{err}"
    );
    assert!(err.contains(&d.join("nope").display().to_string()), "{err}");

    let http = "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://h/', http_config: {authorization: {credentials_file: gone}}}]}]\n";
    let err = Config::from_yaml_str(http, &d.join("am.yml"))
        .expect_err("missing credentials file")
        .to_string();
    assert!(
        err.contains("receivers[0].webhook_configs[0].http_config.authorization.credentials_file"),
        "{err}"
    );

    std::fs::write(d.join("k"), "x").expect("write");
    let both = "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{routing_key: a, routing_key_file: k}]}]\n";
    let err = Config::from_yaml_str(both, &d.join("am.yml"))
        .expect_err("both set")
        .to_string();
    assert!(
        err.contains("both routing_key and routing_key_file"),
        "{err}"
    );
}

#[test]
fn environment_is_expanded_only_when_asked() {
    let d = dir("env");
    let file = d.join("am.yml");
    let var = format!("HOMEOSTAT_TEST_PD_KEY_{}", std::process::id());
    let text = format!(
        "route: {{receiver: r}}\nreceivers: [{{name: r, pagerduty_configs: [{{routing_key: '${{{var}}}'}}]}}]\n"
    );
    let err = Config::from_yaml_str(&text, &file)
        .expect_err("unexpanded reference refused")
        .to_string();
    assert!(err.contains("routing_key_file"), "{err}");

    let on = LoadOptions { expand_env: true };
    let err = Config::from_yaml_str_with(&text, &file, on)
        .expect_err("unset variable")
        .to_string();
    assert!(err.contains(&format!("{var} is not set")), "{err}");

    let lookup = |n: &str| (n == var).then(|| "ENVPD".to_string());
    let expanded = homeostat_alerting::expand_env(&text, lookup).expect("expands");
    let cfg = Config::from_yaml_str(&expanded, Path::new("/x/am.yml")).expect("loads");
    let r = cfg.receiver("r").expect("receiver r");
    assert_eq!(expose(&r.pagerduty_configs[0].routing_key), Some("ENVPD"));
}

#[test]
fn status_copy_masks_secrets() {
    let out = masked_yaml(
        "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://h/TOPSECRET'}]}]\n",
    )
    .expect("masks");
    assert!(!out.contains("TOPSECRET"), "{out}");
    assert!(out.contains("url: http://h/<secret>"), "{out}");
}
