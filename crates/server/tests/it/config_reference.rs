//! docs/reference/config.md names every field of the config file format:
//! the fields of each `Deserialize` struct of the file's sections are read
//! from their source, so a new field without documentation fails here.

/// The sources of the file format's sections (the `oncall:` section has
/// its own reference, docs/oncall.md).
const SOURCES: [(&str, &str); 22] = [
    ("server/src/config.rs", include_str!("../../src/config.rs")),
    (
        "server/src/config/state.rs",
        include_str!("../../src/config/state.rs"),
    ),
    (
        "server/src/config/storage.rs",
        include_str!("../../src/config/storage.rs"),
    ),
    (
        "server/src/config/remote_storage.rs",
        include_str!("../../src/config/remote_storage.rs"),
    ),
    (
        "server/src/config/query.rs",
        include_str!("../../src/config/query.rs"),
    ),
    (
        "server/src/config/alerting.rs",
        include_str!("../../src/config/alerting.rs"),
    ),
    (
        "server/src/config/services.rs",
        include_str!("../../src/config/services.rs"),
    ),
    (
        "server/src/config/gate.rs",
        include_str!("../../src/config/gate.rs"),
    ),
    (
        "server/src/config/deploys.rs",
        include_str!("../../src/config/deploys.rs"),
    ),
    (
        "server/src/config/incidents.rs",
        include_str!("../../src/config/incidents.rs"),
    ),
    (
        "server/src/config/cluster.rs",
        include_str!("../../src/config/cluster.rs"),
    ),
    (
        "server/src/config/fault_proxy.rs",
        include_str!("../../src/config/fault_proxy.rs"),
    ),
    (
        "server/src/config/traffic.rs",
        include_str!("../../src/config/traffic.rs"),
    ),
    (
        "server/src/config/zone_balance.rs",
        include_str!("../../src/config/zone_balance.rs"),
    ),
    (
        "server/src/config/chaos.rs",
        include_str!("../../src/config/chaos.rs"),
    ),
    (
        "server/src/config/chaos_monkey.rs",
        include_str!("../../src/config/chaos_monkey.rs"),
    ),
    (
        "server/src/am_config.rs",
        include_str!("../../src/am_config.rs"),
    ),
    (
        "server/src/release.rs",
        include_str!("../../src/release.rs"),
    ),
    (
        "ingest/src/config.rs",
        include_str!("../../../ingest/src/config.rs"),
    ),
    (
        "ingest/src/relabel.rs",
        include_str!("../../../ingest/src/relabel.rs"),
    ),
    (
        "gate/src/policy.rs",
        include_str!("../../../gate/src/policy.rs"),
    ),
    (
        "remediation/src/spec.rs",
        include_str!("../../../remediation/src/spec.rs"),
    ),
];

const DOC: &str = include_str!("../../../../docs/reference/config.md");

/// `(struct, field)` for every `pub` field of every struct deriving
/// `Deserialize` in `src`.
fn fields(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut deserialize = false;
    let mut current: Option<String> = None;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("#[derive(") {
            deserialize = t.contains("Deserialize");
        } else if let Some(rest) = t.strip_prefix("pub struct ") {
            current = deserialize.then(|| {
                rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("")
                    .to_string()
            });
            deserialize = false;
        } else if t == "}" {
            current = None;
        } else if let (Some(s), Some((name, _))) = (
            &current,
            t.strip_prefix("pub ").and_then(|r| r.split_once(':')),
        ) {
            out.push((s.clone(), name.trim().to_string()));
        }
    }
    out
}

#[test]
fn config_reference() {
    let mut missing = Vec::new();
    let mut n = 0;
    for (file, src) in SOURCES {
        for (st, field) in fields(src) {
            n += 1;
            if !DOC.contains(&format!("`{field}`")) {
                missing.push(format!("{file}: {st}.{field}"));
            }
        }
    }
    assert!(n > 60, "the scan found only {n} fields");
    assert!(
        missing.is_empty(),
        "docs/reference/config.md does not name these config fields (write them as `name`):\n{}",
        missing.join("\n")
    );
}
