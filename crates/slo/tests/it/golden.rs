//! Homeostat-mode golden files in `tests/golden/`; regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p homeostat-slo --test it golden`.

use std::path::PathBuf;

use homeostat_slo::{CompileOptions, Mode, compile, load_specs};

fn check(name: &str, input_path: PathBuf, opts: CompileOptions) {
    let input = std::fs::read_to_string(&input_path).unwrap();
    let specs = load_specs(&input, &input_path.file_name().unwrap().to_string_lossy()).unwrap();
    let opts = CompileOptions {
        mode: Mode::Homeostat,
        version: "test".into(),
        ..opts
    };
    let got = compile(&specs, &opts).to_yaml();
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", golden.display()));
    assert_eq!(
        got, want,
        "{name} differs; regenerate with UPDATE_GOLDEN=1 if intended"
    );
}

fn conformance(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/sloth")
        .join(name)
}

#[test]
fn homeostat_base() {
    check(
        "homeostat-base.yaml",
        conformance("in-base.yaml"),
        CompileOptions::default(),
    );
}

#[test]
fn homeostat_openslo() {
    check(
        "homeostat-openslo.yaml",
        conformance("in-openslo.yaml"),
        CompileOptions::default(),
    );
}

#[test]
fn homeostat_multifile_is_one_document() {
    let input = std::fs::read_to_string(conformance("in-multifile.yaml")).unwrap();
    let specs = load_specs(&input, "in-multifile.yaml").unwrap();
    let yaml = compile(&specs, &CompileOptions::default()).to_yaml();
    assert_eq!(yaml.matches("\n---").count(), 0);
    assert_eq!(yaml.matches("\ngroups:").count(), 1);
    assert_eq!(
        yaml.matches("- name: homeostat-slo-meta-recordings-")
            .count(),
        4
    );
}

/// A spec under `tests/slo/examples/` at the project root.
pub(crate) fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/slo/examples")
        .join(name)
}

#[test]
fn homeostat_format() {
    check(
        "homeostat-v1.yaml",
        example("homeostat-checkout.yaml"),
        CompileOptions::default(),
    );
}

#[test]
fn openslo_v1_format() {
    check(
        "homeostat-openslo-v1.yaml",
        example("openslo-v1-checkout.yaml"),
        CompileOptions::default(),
    );
}

#[test]
fn every_generated_expression_is_valid_promql() {
    let input = std::fs::read_to_string(conformance("in-multifile.yaml")).unwrap();
    let mut specs = load_specs(&input, "in-multifile.yaml").unwrap();
    let openslo = std::fs::read_to_string(conformance("in-openslo.yaml")).unwrap();
    specs.extend(load_specs(&openslo, "in-openslo.yaml").unwrap());
    assert_valid_promql(&specs);
}

/// Compiles `specs` in both modes and parses every rule expression.
pub(crate) fn assert_valid_promql(specs: &[homeostat_slo::SloSpec]) {
    for mode in [Mode::Homeostat, Mode::Sloth] {
        let opts = CompileOptions {
            mode,
            ..CompileOptions::default()
        };
        for group in compile(specs, &opts).groups() {
            for rule in &group.rules {
                if let Err(e) = promql_parser::parser::parse(&rule.expr) {
                    panic!("{mode:?} {}: {e}\n{}", group.name, rule.expr);
                }
            }
        }
    }
}
