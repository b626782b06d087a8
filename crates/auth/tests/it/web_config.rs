use homeostat_auth::{ClientAuthType, WebConfig};

#[test]
fn parses_the_exporter_toolkit_format() {
    let cfg = WebConfig::parse(
        r#"
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
http_server_config:
  http2: true
  headers:
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze
"#,
    )
    .unwrap();
    let tls = cfg.tls_server_config.as_ref().unwrap();
    assert_eq!(
        tls.client_auth_type,
        ClientAuthType::RequireAndVerifyClientCert
    );
    assert!(cfg.basic_auth_users.contains_key("alice"));
    assert!(cfg.authenticates());
}

#[test]
fn refuses_unknown_fields_and_plain_passwords() {
    let e = WebConfig::parse("basic_auth_user:\n  a: b\n").unwrap_err();
    assert!(e.contains("basic_auth_user"), "{e}");
    let e = WebConfig::parse("basic_auth_users:\n  alice: hunter2\n").unwrap_err();
    assert!(
        e.contains("not a bcrypt hash") && !e.contains("hunter2"),
        "{e}"
    );
    let e = WebConfig::parse(
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
    )
    .unwrap_err();
    assert!(e.contains("client_ca_file"), "{e}");
}

#[test]
fn relative_paths_follow_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("web.yml");
    std::fs::write(
        &p,
        "tls_server_config:\n  cert_file: s.crt\n  key_file: /abs/s.key\n",
    )
    .unwrap();
    let cfg = WebConfig::load(&p).unwrap();
    let tls = cfg.tls_server_config.unwrap();
    assert_eq!(tls.cert_file.unwrap(), dir.path().join("s.crt"));
    assert_eq!(
        tls.key_file.unwrap(),
        std::path::PathBuf::from("/abs/s.key")
    );
}
