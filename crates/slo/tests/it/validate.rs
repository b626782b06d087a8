//! Bad specs: one clear message naming the file, the field and the fix.

use homeostat_slo::{SpecError, load_specs};

const BASE: &str = r#"version: prometheus/v1
service: api
slos:
  - name: availability
    objective: OBJECTIVE
    sli:
      events:
        error_query: ERROR_QUERY
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: ApiAvailability
"#;

fn spec(objective: &str, error_query: &str) -> String {
    BASE.replace("OBJECTIVE", objective)
        .replace("ERROR_QUERY", error_query)
}

const GOOD_QUERY: &str = r#"sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))"#;

fn err(text: &str) -> String {
    let e = load_specs(text, "slos/api.yaml").unwrap_err();
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(msg.starts_with("slos/api.yaml: "), "{msg}");
    msg
}

#[test]
fn accepts_a_good_spec() {
    let specs = load_specs(&spec("99.9", GOOD_QUERY), "api.yaml").unwrap();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].id, "api-availability");
    assert!(specs[0].page.is_some() && specs[0].ticket.is_some());
}

#[test]
fn objective_out_of_range() {
    let msg = err(&spec("120", GOOD_QUERY));
    assert!(msg.contains("slos[0].objective"), "{msg}");
    assert!(msg.contains("fix:"), "{msg}");
    err(&spec("100", GOOD_QUERY));
    err(&spec("0", GOOD_QUERY));
}

#[test]
fn unknown_field() {
    let text =
        spec("99.9", GOOD_QUERY).replace("    objective:", "    objectve: 1\n    objective:");
    let msg = err(&text);
    assert!(msg.contains("objectve"), "{msg}");
    assert!(msg.contains("line 5"), "{msg}");
}

#[test]
fn missing_window_placeholder() {
    let msg = err(&spec(
        "99.9",
        r#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#,
    ));
    assert!(msg.contains("slos[0].sli.events.error_query"), "{msg}");
    assert!(msg.contains("{{.window}}"), "{msg}");
}

#[test]
fn invalid_promql() {
    let msg = err(&spec("99.9", "sum(rate(http_requests_total[{{.window}}])"));
    assert!(msg.contains("slos[0].sli.events.error_query"), "{msg}");
    assert!(msg.contains("invalid PromQL"), "{msg}");
    // Prometheus's message, with the column in the query as written.
    let msg = err(&spec(
        "99.9",
        "sum by (code) rate(http_requests_total[{{.window}}]) or nope(",
    ));
    assert!(
        msg.contains(
            "slos[0].sli.events.error_query: invalid PromQL: 1:15: parse error: unexpected identifier \"rate\" in aggregation"
        ),
        "{msg}"
    );
    let msg = err(&spec(
        "99.9",
        "sum(rate(http_requests_total[{{.window}}])) + (",
    ));
    assert!(
        msg.contains("invalid PromQL: 1:48: parse error: unclosed left parenthesis"),
        "{msg}"
    );
}

#[test]
fn duplicate_ids() {
    let one = spec("99.9", GOOD_QUERY);
    let e = load_specs(&format!("{one}---\n{one}"), "api.yaml").unwrap_err();
    assert!(matches!(e, SpecError::Duplicate { .. }), "{e}");
    assert!(e.to_string().contains("api-availability"), "{e}");
}

#[test]
fn plugin_is_refused() {
    let text = spec("99.9", GOOD_QUERY).replace(
        "      events:",
        "      plugin:\n        id: sloth-common/availability\n      events:",
    );
    let msg = err(&text);
    assert!(msg.contains("sli.plugin"), "{msg}");
}

#[test]
fn alert_name_required_when_enabled() {
    let text =
        spec("99.9", GOOD_QUERY).replace("      name: ApiAvailability\n", "      labels: {a: b}\n");
    let msg = err(&text);
    assert!(msg.contains("alerting.name"), "{msg}");
}

#[test]
fn missing_version() {
    let msg = err("service: api\n");
    assert!(msg.contains("version"), "{msg}");
}

#[test]
fn ratio_in_a_percent_field_names_the_fix() {
    let msg = err(&spec("0.999", GOOD_QUERY));
    assert!(msg.contains("slos[0].objective"), "{msg}");
    assert!(
        msg.contains("fix: objective is a percentage: write 99.9"),
        "{msg}"
    );
    let msg = err(&spec("0.95", GOOD_QUERY));
    assert!(msg.contains("write 95"), "{msg}");
    // 1 % is odd but a percentage; it is not refused as a ratio.
    load_specs(&spec("1", GOOD_QUERY), "api.yaml").unwrap();
}
