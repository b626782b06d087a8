//! homeostat.example.yaml shows every setting of docs/reference/config.md,
//! set or commented out, in the section the reference puts it: a newcomer
//! copying the example finds every knob, and a new field documented in the
//! reference but missing from the example fails here.

use std::collections::{BTreeMap, BTreeSet};

const DOC: &str = include_str!("../../../../docs/reference/config.md");
const EXAMPLE: &str = include_str!("../../../../homeostat.example.yaml");

/// Sections whose format is documented elsewhere (docs/oncall.md).
const OWN_REFERENCE: [&str; 1] = ["oncall"];

/// Section ("" for the top level) → the fields its table names.
fn reference() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in DOC.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = match h.trim() {
                "Top level" => Some(String::new()),
                h if h.starts_with('`') => Some(h.trim_matches('`').to_string()),
                _ => None,
            };
            continue;
        }
        let (Some(s), Some(cell)) = (&section, line.strip_prefix("| `")) else {
            continue;
        };
        if OWN_REFERENCE.contains(&s.as_str()) {
            continue;
        }
        let first = cell.split(" |").next().unwrap_or("");
        for name in format!("`{first}").split('`').skip(1).step_by(2) {
            out.entry(s.clone()).or_default().insert(name.to_string());
        }
    }
    out
}

/// Keys at the start of a YAML line or inside a flow map: `key:`.
fn keys_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let t = text
        .trim_start()
        .trim_start_matches("- ")
        .trim_start_matches('{');
    let mut rest = t;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with(':') {
            out.push(name.clone());
        }
        // Further keys of a flow map: `{a: 1, b: 2}`.
        match rest.find(", ") {
            Some(i) if t.contains(": ") => rest = rest[i + 2..].trim_start_matches('{'),
            _ => break,
        }
    }
    out
}

/// Section → keys in it, commented-out lines (`# key: value`) included;
/// the section is the last key at column 0.
fn example() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section = String::new();
    for raw in EXAMPLE.lines() {
        // A commented line reads as the YAML it would be uncommented, at
        // the indentation of its `#`.
        let body = raw.trim_start();
        let pad = &raw[..raw.len() - body.len()];
        let uncommented;
        let line = match body.strip_prefix("# ") {
            Some(l) => {
                uncommented = format!("{pad}{l}");
                uncommented.as_str()
            }
            None if body.starts_with('#') => continue,
            None => raw,
        };
        // Trailing comments are prose.
        let line = line.split(" #").next().unwrap_or("");
        let indent = line.len() - line.trim_start().len();
        let keys = keys_in(line);
        if indent == 0 && !line.starts_with("- ") {
            if let Some(k) = keys.first() {
                section = k.clone();
                out.entry(String::new()).or_default().insert(k.clone());
            }
            continue;
        }
        out.entry(section.clone()).or_default().extend(keys);
    }
    out
}

#[test]
fn the_example_config_shows_every_documented_setting() {
    let doc = reference();
    let ex = example();
    assert!(
        doc.len() > 10,
        "the reference scan found {} sections",
        doc.len()
    );
    let mut missing = Vec::new();
    for (section, fields) in &doc {
        for f in fields {
            if !ex.get(section).is_some_and(|k| k.contains(f)) {
                missing.push(if section.is_empty() {
                    format!("top level: {f}")
                } else {
                    format!("{section}: {f}")
                });
            }
        }
    }
    assert!(
        missing.is_empty(),
        "homeostat.example.yaml does not show these settings of docs/reference/config.md \
         (add them, commented out if they need a value, with their default):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_example_config_scrapes_nothing_that_may_not_be_there() {
    // A newcomer's first run must not log scrape errors for an exporter
    // they never installed: example targets stay commented out.
    for line in EXAMPLE.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(
            !line.contains("targets:"),
            "uncommented scrape target: {line}"
        );
    }
}
