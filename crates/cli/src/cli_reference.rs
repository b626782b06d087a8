//! docs/reference/cli.md, rendered from clap's command tree so that the
//! reference and the binary cannot disagree. A golden test: run
//! `UPDATE_GOLDEN=1 cargo test -p homeostat-cli cli_reference` after
//! changing a command or its help.

use clap::{Command, CommandFactory};

use crate::Cli;

/// Help as clap prints it, without the environment's values (`USER`,
/// `HOMEOSTAT_URL`) so that the file is the same on every machine.
fn normalize(cmd: Command) -> Command {
    let mut cmd = cmd.mut_args(|a| a.hide_env_values(true));
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for n in names {
        cmd = cmd.mut_subcommand(n, normalize);
    }
    cmd
}

fn render_into(out: &mut String, cmd: &mut Command, path: &str) {
    // `help` repeats the pages below it.
    if cmd.is_hide_set() || cmd.get_name() == "help" {
        return;
    }
    let help = cmd.render_long_help().to_string();
    out.push_str(&format!(
        "## `{path}`\n\n```text\n{}\n```\n\n",
        help.trim_end()
    ));
    for sub in cmd.get_subcommands_mut() {
        let name = sub.get_name().to_string();
        render_into(out, sub, &format!("{path} {name}"));
    }
}

pub fn render() -> String {
    let mut cmd = normalize(Cli::command());
    cmd.build();
    let mut out = String::from(
        "# CLI reference\n\n\
         <!-- Generated from the binary's clap definitions by the `cli_reference` test;\n\
         do not edit. Regenerate: UPDATE_GOLDEN=1 cargo test -p homeostat-cli cli_reference -->\n\n\
         Every subcommand's `--help`. Commands that talk to a running server take\n\
         `--url` (or `HOMEOSTAT_URL`), default `http://127.0.0.1:9797`.\n\n",
    );
    render_into(&mut out, &mut cmd, "homeostat");
    out
}

#[test]
#[allow(clippy::unwrap_used)]
fn cli_reference() {
    let got = render();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reference/cli.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        got == want,
        "docs/reference/cli.md is out of date with the CLI; regenerate it: \
         UPDATE_GOLDEN=1 cargo test -p homeostat-cli cli_reference"
    );
}

/// Every subcommand says what it does and every flag or argument what it
/// takes: a command without help is one a newcomer cannot use from
/// `--help` alone.
#[test]
fn every_command_and_argument_has_help() {
    fn walk(cmd: &Command, path: &str, missing: &mut Vec<String>) {
        if cmd.get_name() == "help" {
            return;
        }
        if cmd.get_about().is_none() && cmd.get_long_about().is_none() {
            missing.push(format!("{path}: no about"));
        }
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{path} {id}: no help"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut missing = Vec::new();
    walk(&cmd, "homeostat", &mut missing);
    assert!(
        missing.is_empty(),
        "missing help text:\n{}",
        missing.join("\n")
    );
}
