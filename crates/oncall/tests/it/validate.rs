//! Every validation error names the field and says how to fix it.

use homeostat_oncall::{ConfigError, Oncall, OncallConfig};

const BASE_USERS: &str = "users: [{id: alice}, {id: bob}]\n";

/// A valid config with one schedule `s` (layer `l`) and one policy `p`;
/// `layer_extra`, `schedule_extra` and `policy_extra` are spliced in.
fn config(layer: &str, schedule_extra: &str, policy: &str) -> String {
    format!(
        "{BASE_USERS}schedules:\n  - id: s\n    time_zone: Europe/Berlin\n    layers:\n      - {layer}\n{schedule_extra}escalation_policies:\n  - {policy}\n"
    )
}

const LAYER: &str =
    "{name: l, rotation_start: 2026-11-02T09:00:00, turn_length: 1w, members: [alice, bob]}";
const POLICY: &str = "{id: p, levels: [{delay: 5m, targets: [{schedule: s}]}]}";

#[track_caller]
fn check(yaml: &str, field: &str, problem: &str) {
    let err = match Oncall::from_yaml_str(yaml) {
        Ok(_) => panic!("expected an error at {field} for:\n{yaml}"),
        Err(e) => e,
    };
    let msg = err.to_string();
    match &err {
        ConfigError::Invalid { field: f, fix, .. } => {
            assert_eq!(f, field, "{msg}");
            assert!(!fix.is_empty());
        }
        ConfigError::Yaml { .. } => assert_eq!(field, "yaml", "{msg}"),
    }
    assert!(msg.contains(problem), "{msg:?} should contain {problem:?}");
    assert!(msg.contains("fix") || field == "yaml", "{msg}");
}

#[test]
fn the_base_config_is_valid() {
    let o = Oncall::from_yaml_str(&config(LAYER, "", POLICY)).expect("valid");
    assert_eq!(o.schedules.len(), 1);
    assert_eq!(o.escalation_policies.len(), 1);
    assert!(Oncall::from_yaml_str("{}").expect("empty").users.is_empty());
}

#[test]
fn the_documented_example_is_valid() {
    let doc = include_str!("../../../../docs/oncall.md");
    let start = doc
        .find("```yaml\noncall:\n")
        .expect("example in docs/oncall.md")
        + 8;
    let end = start + doc[start..].find("```").expect("end of example");
    let value: serde_norway::Value = serde_norway::from_str(&doc[start..end]).expect("yaml");
    let section = value.get("oncall").cloned().expect("oncall key");
    let o = Oncall::from_yaml_value(section).expect("the documented example validates");
    assert!(o.escalation_policy("payments").is_some());
}

#[test]
fn unknown_fields_and_bad_yaml() {
    check(
        &format!("{BASE_USERS}teams: []\n"),
        "yaml",
        "unknown field `teams`",
    );
    check(
        &config(&LAYER.replace("members", "member"), "", POLICY),
        "yaml",
        "unknown field `member`",
    );
    check(
        "users: [{id: alice, phone: 1}]",
        "yaml",
        "unknown field `phone`",
    );
    assert!(OncallConfig::from_yaml_str("users: {").is_err());
    // From an already parsed value the error still names the path.
    let value: serde_norway::Value =
        serde_norway::from_str(&config(&LAYER.replace("members", "member"), "", POLICY))
            .expect("yaml");
    let msg = Oncall::from_yaml_value(value)
        .expect_err("unknown field")
        .to_string();
    assert!(
        msg.contains("schedules[0].layers[0]: unknown field `member`") && !msg.contains("line"),
        "{msg}"
    );
}

#[test]
fn unknown_users() {
    check(
        &config(&LAYER.replace("bob]", "dave]"), "", POLICY),
        "schedules[0].layers[0].members[1]",
        "unknown user \"dave\"",
    );
    check(
        &config(
            LAYER,
            "    overrides: [{user: dave, start: 2026-11-30T09:00:00, end: 2026-12-01T09:00:00}]\n",
            POLICY,
        ),
        "schedules[0].overrides[0].user",
        "unknown user \"dave\"",
    );
    check(
        &config(LAYER, "", &POLICY.replace("{schedule: s}", "{user: dave}")),
        "escalation_policies[0].levels[0].targets[0].user",
        "unknown user \"dave\"",
    );
}

#[test]
fn bad_targets() {
    check(
        &config(
            LAYER,
            "",
            &POLICY.replace("{schedule: s}", "{schedule: nope}"),
        ),
        "escalation_policies[0].levels[0].targets[0].schedule",
        "unknown schedule \"nope\"",
    );
    check(
        &config(
            LAYER,
            "",
            &POLICY.replace("{schedule: s}", "{schedule: s, user: bob}"),
        ),
        "escalation_policies[0].levels[0].targets[0]",
        "exactly one of user or schedule",
    );
    check(
        &config(LAYER, "", &POLICY.replace("{schedule: s}", "{}")),
        "escalation_policies[0].levels[0].targets[0]",
        "exactly one of user or schedule",
    );
    check(
        &config(LAYER, "", &POLICY.replace("[{schedule: s}]", "[]")),
        "escalation_policies[0].levels[0].targets",
        "no targets",
    );
    check(
        &config(
            LAYER,
            "",
            &POLICY.replace("{schedule: s}", "{user: bob}, {user: bob}"),
        ),
        "escalation_policies[0].levels[0].targets[1]",
        "listed twice",
    );
}

#[test]
fn bad_policies() {
    check(
        &config(LAYER, "", &POLICY.replace("5m", "0s")),
        "escalation_policies[0].levels[0].delay",
        "shorter than a second",
    );
    check(
        &config(LAYER, "", &POLICY.replace("5m", "five")),
        "escalation_policies[0].levels[0].delay",
        "invalid duration",
    );
    check(
        &config(LAYER, "", "{id: p, levels: []}"),
        "escalation_policies[0].levels",
        "no levels",
    );
    check(
        &config(LAYER, "", &POLICY.replace("id: p,", "id: p, repeat: 1000,")),
        "escalation_policies[0].repeat",
        "more than 20",
    );
}

#[test]
fn unknown_time_zone() {
    check(
        &config(LAYER, "", POLICY).replace("Europe/Berlin", "Europe/Berln"),
        "schedules[0].time_zone",
        "unknown time zone \"Europe/Berln\"",
    );
}

#[test]
fn bad_turn_lengths_and_times() {
    check(
        &config(&LAYER.replace("1w", "0s"), "", POLICY),
        "schedules[0].layers[0].turn_length",
        "shorter than a minute",
    );
    check(
        &config(&LAYER.replace("1w", "0"), "", POLICY),
        "schedules[0].layers[0].turn_length",
        "shorter than a minute",
    );
    check(
        &config(&LAYER.replace("1w", "weekly"), "", POLICY),
        "schedules[0].layers[0].turn_length",
        "invalid duration",
    );
    check(
        &config(&LAYER.replace("2026-11-02T09:00:00", "monday"), "", POLICY),
        "schedules[0].layers[0].rotation_start",
        "is not a time",
    );
    check(
        &config(
            &LAYER.replace("turn_length", "handoff_time: \"9am\", turn_length"),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].handoff_time",
        "\"9am\" is not a time of day",
    );
    check(
        &config(
            &LAYER.replace("turn_length", "handoff_time: \"24:00\", turn_length"),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].handoff_time",
        "is not a time of day",
    );
    check(
        &config(
            &LAYER.replace(
                "turn_length",
                "rotation_end: 2026-11-01T00:00:00, turn_length",
            ),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].rotation_end",
        "is not after rotation_start",
    );
}

#[test]
fn empty_members_and_missing_layers() {
    check(
        &config(&LAYER.replace("[alice, bob]", "[]"), "", POLICY),
        "schedules[0].layers[0].members",
        "no members",
    );
    check(
        &format!("{BASE_USERS}schedules: [{{id: s, layers: []}}]\n"),
        "schedules[0].layers",
        "at least one layer",
    );
}

fn restricted(restrictions: &str) -> String {
    LAYER.replace("}", &format!(", restrictions: {restrictions}}}"))
}

#[test]
fn bad_restrictions() {
    check(
        &config(
            &restricted(r#"[{start: "09:00", end: "09:00"}]"#),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].restrictions[0].end",
        "equals start",
    );
    check(
        &config(&restricted(r#"[{start: "9", end: "17:00"}]"#), "", POLICY),
        "schedules[0].layers[0].restrictions[0].start",
        "not a time of day",
    );
    check(
        &config(
            &restricted(r#"[{days: [funday], start: "09:00", end: "17:00"}]"#),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].restrictions[0].days[0]",
        "not a day",
    );
    check(
        &config(
            &restricted(r#"[{days: [], start: "09:00", end: "17:00"}]"#),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].restrictions[0].days",
        "empty list of days",
    );
    // Overlapping windows within one layer: Monday 17:00-18:00 is in both.
    check(
        &config(
            &restricted(
                r#"[{days: [mon], start: "09:00", end: "18:00"}, {days: [mon], start: "17:00", end: "20:00"}]"#,
            ),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].restrictions[1]",
        "overlaps restrictions[0] (both cover mon 17:00)",
    );
    // A Sunday night window runs into Monday morning's.
    check(
        &config(
            &restricted(
                r#"[{days: [sun], start: "22:00", end: "08:00"}, {days: [mon], start: "07:00", end: "09:00"}]"#,
            ),
            "",
            POLICY,
        ),
        "schedules[0].layers[0].restrictions[1]",
        "both cover mon 07:00",
    );
    // Touching windows are fine, and so is a whole day.
    Oncall::from_yaml_str(&config(
        &restricted(
            r#"[{days: [mon], start: "09:00", end: "18:00"}, {days: [mon], start: "18:00", end: "24:00"}, {days: [tue], start: "00:00", end: "24:00"}]"#,
        ),
        "",
        POLICY,
    ))
    .expect("touching windows are valid");
}

#[test]
fn overlapping_layers() {
    let second = "{name: l, rotation_start: 2026-11-02T09:00:00, turn_length: 1d, members: [bob]}";
    check(
        &config(&format!("{LAYER}\n      - {second}"), "", POLICY),
        "schedules[0].layers[1].name",
        "layer name \"l\" is also used by layers[0]",
    );
    // An unrestricted later layer starting no later hides the first one completely.
    let hiding = second.replace("name: l", "name: m");
    check(
        &config(&format!("{LAYER}\n      - {hiding}"), "", POLICY),
        "schedules[0].layers[0]",
        "layer \"l\" is never on call: the later layer \"m\" covers all its time",
    );
    // Same with restrictions: weekday business hours inside an every-day 08-20 window.
    let early = restricted(r#"[{days: [mon, fri], start: "09:00", end: "17:00"}]"#);
    let late = hiding.replace("}", r#", restrictions: [{start: "08:00", end: "20:00"}]}"#);
    check(
        &config(&format!("{early}\n      - {late}"), "", POLICY),
        "schedules[0].layers[0]",
        "never on call",
    );
    // A later layer that starts later, ends earlier or leaves hours free is fine.
    for ok in [
        hiding.replace("2026-11-02T09:00:00", "2026-12-01T00:00:00"),
        hiding.replace(
            "turn_length",
            "rotation_end: 2027-01-01T00:00:00, turn_length",
        ),
        hiding.replace("}", r#", restrictions: [{start: "18:00", end: "09:00"}]}"#),
    ] {
        Oncall::from_yaml_str(&config(&format!("{LAYER}\n      - {ok}"), "", POLICY))
            .unwrap_or_else(|e| panic!("{ok} should be valid: {e}"));
    }
}

#[test]
fn bad_overrides() {
    check(
        &config(
            LAYER,
            "    overrides: [{user: bob, start: 2026-12-01T09:00:00, end: 2026-12-01T09:00:00}]\n",
            POLICY,
        ),
        "schedules[0].overrides[0].end",
        "is not after start",
    );
    check(
        &config(
            LAYER,
            "    overrides:\n      - {user: bob, start: 2026-12-01T09:00:00, end: 2026-12-03T09:00:00}\n      - {user: alice, start: 2026-11-30T09:00:00, end: 2026-12-01T10:00:00}\n",
            POLICY,
        ),
        "schedules[0].overrides[1]",
        "overlaps overrides[0]",
    );
    check(
        &config(
            LAYER,
            "    overrides: [{user: bob, start: tomorrow, end: 2026-12-01T09:00:00}]\n",
            POLICY,
        ),
        "schedules[0].overrides[0].start",
        "is not a time",
    );
}

#[test]
fn duplicate_ids() {
    check(
        &config(LAYER, "", POLICY).replace("{id: bob}", "{id: alice}"),
        "users[1].id",
        "duplicate user id \"alice\"",
    );
    let two_schedules = config(LAYER, "", POLICY).replace(
        "escalation_policies:",
        &format!("  - id: s\n    layers: [{LAYER}]\nescalation_policies:"),
    );
    check(
        &two_schedules,
        "schedules[1].id",
        "duplicate schedule id \"s\"",
    );
    check(
        &config(LAYER, "", &format!("{POLICY}\n  - {POLICY}")),
        "escalation_policies[1].id",
        "duplicate escalation policy id \"p\"",
    );
    check("users: [{id: \"\"}]", "users[0].id", "empty user id");
}

#[test]
fn user_webhook_urls_are_http() {
    let ok = "users: [{id: alice, webhook_url: 'http://127.0.0.1:9/page'}]\n";
    let o = Oncall::from_yaml_str(ok).expect("valid");
    assert_eq!(
        o.user("alice").and_then(|u| u.webhook_url.as_deref()),
        Some("http://127.0.0.1:9/page")
    );
    check(
        "users: [{id: alice, webhook_url: 'pager:9/page'}]\n",
        "users[0].webhook_url",
        "not an http(s) URL",
    );
}
