//! Draft remediation policies for automation candidates.
//!
//! A draft is a starting point a person edits, never something homeostat
//! runs as is: it is in dry-run mode, its one action is a webhook to a
//! placeholder URL, and its guardrails are conservative. Its shape is the
//! `remediation.policies` config section (docs/remediation.md).

use std::fmt::Write as _;

/// A `remediation:` YAML document for automating `kind` on `subject`.
///
/// The trigger comes from the subject: `ALERT on INSTANCE` (as derived from
/// acks and silences) matches `alertname` and `instance`; anything else
/// matches the service, with a note to narrow it.
pub fn draft_policy(service: Option<&str>, kind: &str, subject: &str, sentence: &str) -> String {
    let (matchers, narrow) = match subject.split_once(" on ") {
        Some((alert, instance)) if is_alert_name(alert) && !instance.trim().is_empty() => (
            vec![
                matcher("alertname", alert),
                matcher("instance", instance.trim()),
            ],
            false,
        ),
        _ => (vec![matcher("service", service.unwrap_or("TODO"))], true),
    };
    let name = slug(&format!("automate-{kind}-{subject}"));
    let mut y = String::new();
    let _ = writeln!(y, "# DRAFT from the toil ledger: {}.", one_line(sentence));
    y.push_str(
        "# Review it before use: point the webhook at your automation, check the\n\
         # trigger, run it in dry-run mode, then set dry_run: false.\n",
    );
    y.push_str("remediation:\n  policies:\n");
    let _ = writeln!(y, "    - name: {name}");
    y.push_str("      dry_run: true\n      trigger:\n");
    if narrow {
        y.push_str("        # TODO: narrow the trigger to the alert this work answers\n");
    }
    let _ = writeln!(y, "        alert: [{}]", matchers.join(", "));
    y.push_str(
        "      target_labels: [service, instance]\n\
         \x20     actions:\n\
         \x20       - name: fix\n\
         \x20         webhook:\n\
         \x20           url: https://automation.example.invalid/TODO\n\
         \x20           body: '{\"service\":\"{{.service}}\",\"instance\":\"{{.instance}}\"}'\n\
         \x20         verify: 5m\n\
         \x20     guardrails:\n\
         \x20       max_runs: {count: 3, window: 1h}\n\
         \x20       cooldown: 30m\n\
         \x20       blast_radius: {max_percent: 34}\n",
    );
    y
}

fn is_alert_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// An Alertmanager matcher `name="value"` as a single-quoted YAML scalar
/// (where a quote is doubled).
fn matcher(name: &str, value: &str) -> String {
    let value = one_line(value).replace('\\', "\\\\").replace('"', "\\\"");
    format!("'{name}=\"{value}\"'", value = value.replace('\'', "''"))
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-')
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_subjects_give_alert_matchers() {
        let y = draft_policy(
            Some("db"),
            "silence",
            "DiskFull on db-3",
            "silenced DiskFull on db-3 9 times in 30 days",
        );
        assert!(
            y.starts_with(
                "# DRAFT from the toil ledger: silenced DiskFull on db-3 9 times in 30 days.\n"
            ),
            "{y}"
        );
        assert!(
            y.contains("    - name: automate-silence-diskfull-on-db-3\n"),
            "{y}"
        );
        assert!(
            y.contains("        alert: ['alertname=\"DiskFull\"', 'instance=\"db-3\"']\n"),
            "{y}"
        );
        assert!(y.contains("      dry_run: true\n"), "{y}");
        assert!(!y.contains("TODO: narrow"), "{y}");
    }

    #[test]
    fn other_subjects_match_the_service_and_say_to_narrow() {
        let y = draft_policy(
            Some("db"),
            "disk-cleanup",
            "db",
            "did disk-cleanup for db 4 times in 30 days",
        );
        assert!(y.contains("TODO: narrow"), "{y}");
        assert!(y.contains("alert: ['service=\"db\"']"), "{y}");
    }

    #[test]
    fn quotes_are_escaped() {
        assert_eq!(
            matcher("instance", "it's \"x\""),
            r#"'instance="it''s \"x\""'"#
        );
        assert_eq!(slug("automate-ack-A  b/c--"), "automate-ack-a-b-c");
    }
}
