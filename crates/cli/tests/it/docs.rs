//! Documentation that must not drift from the code: the demo's stages as
//! docs/demo.md lists them, and no internal tracker references in the
//! docs a user reads.

use homeostat_demo::Milestone;

const DEMO_MD: &str = include_str!("../../../../docs/demo.md");

/// The `stage` column of the scenario table, in order.
fn documented_stages() -> Vec<String> {
    let mut out = Vec::new();
    let mut col = None;
    for line in DEMO_MD.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 {
            col = None;
            continue;
        }
        match col {
            None => col = cells.iter().position(|c| *c == "stage"),
            Some(i) => {
                let c = cells.get(i).copied().unwrap_or("");
                if !c.starts_with("---") {
                    out.push(c.trim_matches('`').to_string());
                }
            }
        }
    }
    out
}

#[test]
fn demo_md_lists_exactly_the_stages_the_demo_prints() {
    let printed: Vec<&str> = Milestone::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(
        documented_stages(),
        printed,
        "docs/demo.md's scenario table (column `stage`) must list the demo's stages in story order"
    );
}

#[test]
fn demo_md_documents_every_demo_flag() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_homeostat"))
        .args(["demo", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && *w != "--help")
    {
        let flag = flag.trim_end_matches(',');
        assert!(
            DEMO_MD.contains(&format!("`{flag}`")),
            "docs/demo.md's flag table lacks {flag}"
        );
    }
}

/// Internal tracker references ("issue 4 part 5") mean nothing to a user.
#[test]
fn docs_carry_no_internal_issue_references() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md"), root.join("homeostat.example.yaml")];
    let mut dirs = vec![root.join("docs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            }
        }
    }
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            for w in words.windows(2) {
                let word = w[0].trim_start_matches(['(', '[']).to_ascii_lowercase();
                let num = w[1].trim_start_matches('#');
                if matches!(word.as_str(), "issue" | "part")
                    && num.chars().next().is_some_and(|c| c.is_ascii_digit())
                {
                    found.push(format!("{}:{}: {line}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "internal references:\n{}",
        found.join("\n")
    );
}
