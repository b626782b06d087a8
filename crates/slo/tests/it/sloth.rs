//! Sloth's own golden cases from `../shared/conformance/sloth/` (see its
//! CASES.md), read in place: every output must match byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;

use homeostat_slo::{AlertWindows, CompileOptions, Mode, compile, load_specs};

const VERSION: &str = "v0.11.0-homeostat";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sloth")
}

fn read(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Renders the `.tpl` files: `{{ .version }}` and Go string literals
/// `{{"…"}}` (how the templates escape `{{$labels…}}`).
fn render_tpl(tpl: &str) -> String {
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let inner = rest[i + 2..].trim_start();
        if let Some(lit) = inner.strip_prefix('"') {
            let end = lit.find('"').expect("closing quote");
            out.push_str(&lit[..end]);
            let after = lit[end + 1..].trim_start();
            rest = after.strip_prefix("}}").expect("closing braces");
        } else {
            let end = inner.find("}}").expect("closing braces");
            assert_eq!(inner[..end].trim(), ".version", "unknown template action");
            out.push_str(VERSION);
            rest = &inner[end + 2..];
        }
    }
    out.push_str(rest);
    out
}

fn check(input: &str, expected: &str, opts: CompileOptions) {
    let specs = load_specs(&read(input), input).unwrap();
    let opts = CompileOptions {
        mode: Mode::Sloth,
        version: VERSION.into(),
        ..opts
    };
    let got = compile(&specs, &opts).to_yaml();
    let want = render_tpl(&read(expected));
    if got != want {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(expected.replace(".tpl", ""));
        std::fs::write(&out, &got).unwrap();
        for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(
                g,
                w,
                "{expected}: first difference at line {} (got written to {})",
                n + 1,
                out.display()
            );
        }
        panic!(
            "{expected}: lengths differ ({} vs {} bytes), got written to {}",
            got.len(),
            want.len(),
            out.display()
        );
    }
}

#[test]
fn base() {
    check(
        "in-base.yaml",
        "out-base.yaml.tpl",
        CompileOptions::default(),
    );
}

#[test]
fn base_no_alerts() {
    let opts = CompileOptions {
        disable_alerts: true,
        ..CompileOptions::default()
    };
    check("in-base.yaml", "out-base-no-alerts.yaml.tpl", opts);
}

#[test]
fn base_no_recordings() {
    let opts = CompileOptions {
        disable_recordings: true,
        ..CompileOptions::default()
    };
    check("in-base.yaml", "out-base-no-recordings.yaml.tpl", opts);
}

#[test]
fn base_extra_labels() {
    let opts = CompileOptions {
        extra_labels: BTreeMap::from([
            ("exk1".to_string(), "exv1".to_string()),
            ("exk2".to_string(), "exv2".to_string()),
        ]),
        ..CompileOptions::default()
    };
    check("in-base.yaml", "out-base-extra-labels.yaml.tpl", opts);
}

#[test]
fn base_28d() {
    let opts = CompileOptions {
        default_period: std::time::Duration::from_secs(28 * 86_400),
        ..CompileOptions::default()
    };
    check("in-base.yaml", "out-base-28d.yaml.tpl", opts);
}

#[test]
fn base_custom_windows_7d() {
    let windows = AlertWindows::from_yaml(&read("windows/7d.yaml"), "windows/7d.yaml").unwrap();
    let opts = CompileOptions {
        default_period: std::time::Duration::from_secs(7 * 86_400),
        windows: vec![windows],
        ..CompileOptions::default()
    };
    check("in-base.yaml", "out-base-custom-windows-7d.yaml.tpl", opts);
}

#[test]
fn multifile() {
    check(
        "in-multifile.yaml",
        "out-multifile.yaml.tpl",
        CompileOptions::default(),
    );
}

#[test]
fn openslo() {
    check(
        "in-openslo.yaml",
        "out-openslo.yaml.tpl",
        CompileOptions::default(),
    );
}

#[test]
fn invalid_version_is_rejected() {
    let err = load_specs(&read("in-invalid-version.yaml"), "in-invalid-version.yaml").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("in-invalid-version.yaml"), "{msg}");
    assert!(msg.contains("prometheus/v999"), "{msg}");
    assert!(msg.contains("prometheus/v1"), "{msg}");
}
