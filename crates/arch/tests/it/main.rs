//! The workspace as it is keeps the layering rule.

use std::process::Command;

#[test]
fn the_workspace_keeps_its_layers() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).expect("cargo metadata prints UTF-8");
    let (layers, packages) = homeostat_arch::from_metadata(&json).expect("layer table");
    assert!(packages.len() > 10, "read the whole workspace");
    let violations = homeostat_arch::check(&layers, &packages);
    let lines: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
    assert!(
        violations.is_empty(),
        "the crate layering rule is broken:\n{}",
        lines.join("\n")
    );
}
