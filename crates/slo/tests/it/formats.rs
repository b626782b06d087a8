//! homeostat `homeostat/v1` and OpenSLO `openslo/v1` specs: the examples
//! under `tests/slo/examples/` load and compile to valid PromQL, and every
//! class of bad spec gives a message naming the file and the field.

use std::path::PathBuf;

use homeostat_slo::{
    Budgeting, CalendarUnit, SloSpec, SpecError, load_specs, load_specs_file, load_specs_files,
};

use crate::golden::{assert_valid_promql, example};

fn load_example(name: &str) -> Vec<SloSpec> {
    load_specs_file(&example(name)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn homeostat_example_loads_and_compiles() {
    let specs = load_example("homeostat-checkout.yaml");
    assert_eq!(specs.len(), 2);
    let latency = &specs[1];
    assert_eq!(latency.id, "checkout-latency");
    assert_eq!(latency.calendar.as_ref().unwrap().unit, CalendarUnit::Month);
    assert_eq!(latency.calendar.as_ref().unwrap().time_zone, "Europe/Paris");
    assert!(matches!(latency.budgeting, Budgeting::Timeslices { .. }));
    assert!(latency.ticket.is_none());
    let page = latency.page.as_ref().unwrap();
    assert_eq!(
        page.annotations["runbook_url"],
        "https://runbooks.example.com/checkout/latency"
    );
    assert_valid_promql(&specs);
}

#[test]
fn openslo_v1_example_loads_and_compiles() {
    let specs = load_example("openslo-v1-checkout.yaml");
    assert_eq!(specs.len(), 2);
    let avail = &specs[0];
    assert_eq!(avail.id, "checkout-availability");
    assert!((avail.objective - 99.9).abs() < 1e-9);
    assert_eq!(avail.page.as_ref().unwrap().name, "CheckoutAvailability");
    assert_eq!(avail.page.as_ref().unwrap().labels["severity"], "page");
    assert_eq!(avail.ticket.as_ref().unwrap().labels["severity"], "ticket");
    assert_eq!(avail.labels["team"], "payments");
    let latency = &specs[1];
    assert!(matches!(
        latency.budgeting,
        Budgeting::RatioTimeslices { .. }
    ));
    assert!(latency.page.is_none() && latency.ticket.is_none());
    assert_valid_promql(&specs);
}

/// Writes `text` into the test's temporary directory.
fn tmp_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("slo-formats");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn openslo_v1_references_resolve_across_files() {
    let text = std::fs::read_to_string(example("openslo-v1-checkout.yaml")).unwrap();
    let (shared, slos) = text.split_at(text.find("kind: SLO\n").unwrap());
    let slos = format!("apiVersion: openslo/v1\n{slos}");
    let shared = shared.trim_end().trim_end_matches("apiVersion: openslo/v1");
    let a = tmp_file("shared.yaml", shared);
    let b = tmp_file("slos.yaml", &slos);
    let specs = load_specs_files(&[&a, &b]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(specs.len(), 2);
    // Alone, the SLO file misses its references, and says which.
    let msg = load_specs_files(&[&b]).unwrap_err().to_string();
    assert!(msg.starts_with(&b.display().to_string()), "{msg}");
    assert!(msg.contains("spec.indicatorRef"), "{msg}");
    assert!(msg.contains("\"checkout-availability\""), "{msg}");
}

// ---- bad homeostat/v1 specs ----

const BASE: &str = r#"apiVersion: homeostat/v1
service: api
slos:
  - name: latency
    objective: 99
    period: 30d
    sli:
      latency:
        metric: http_request_duration_seconds_bucket
        threshold: 0.3
        buckets: [0.1, 0.3, 1]
    budgeting:
      timeslices: {slice: 1m, target: 0.95}
    alerting:
      name: ApiLatency
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: ApiAvailability
"#;

fn err(text: &str) -> String {
    let e = load_specs(text, "slos/api.yaml").unwrap_err();
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(msg.starts_with("slos/api.yaml: "), "{msg}");
    msg
}

fn bad(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    err(&BASE.replacen(from, to, 1))
}

#[test]
fn homeostat_base_is_valid() {
    let specs = load_specs(BASE, "api.yaml").unwrap();
    assert_eq!(specs.len(), 2);
    assert_valid_promql(&specs);
}

#[test]
fn homeostat_unknown_field() {
    let msg = bad("    period: 30d\n", "    period: 30d\n    perod: 7d\n");
    assert!(msg.contains("perod"), "{msg}");
    assert!(msg.contains("line 7"), "{msg}");
}

#[test]
fn homeostat_objective_as_a_ratio_is_refused_with_the_percentage() {
    let msg = bad("objective: 99.9\n", "objective: 0.999\n");
    assert!(msg.contains("slos[1].objective"), "{msg}");
    assert!(
        msg.contains("fix: objective is a percentage: write 99.9"),
        "{msg}"
    );
}

#[test]
fn homeostat_month_period_points_to_the_calendar_form() {
    for spelling in ["1M", "month", "1 month", "1mo", "monthly"] {
        let msg = bad("period: 30d", &format!("period: {spelling}"));
        assert!(msg.contains("slos[0].period"), "{spelling}: {msg}");
        assert!(
            msg.contains("write `period: {calendar: {unit: month}}`"),
            "{spelling}: {msg}"
        );
    }
    let msg = bad("period: 30d", "period: weekly");
    assert!(msg.contains("`period: {calendar: {unit: week}}`"), "{msg}");
    let msg = bad("period: 30d", "period: 3M");
    assert!(msg.contains("`period: 90d`"), "{msg}");
    let msg = bad("period: 30d", "period: 1Y");
    assert!(msg.contains("`period: 365d`"), "{msg}");
    // The calendar form it points to is accepted.
    let text = BASE.replacen("period: 30d", "period: {calendar: {unit: month}}", 1);
    load_specs(&text, "api.yaml").unwrap();
}

#[test]
fn homeostat_objective_out_of_range() {
    let msg = bad("objective: 99\n", "objective: 120\n");
    assert!(msg.contains("slos[0].objective"), "{msg}");
    assert!(msg.contains("fix:"), "{msg}");
}

#[test]
fn homeostat_missing_window() {
    let msg = bad("[{{.window}}]))\n        total", "[5m]))\n        total");
    assert!(msg.contains("slos[1].sli.events.error_query"), "{msg}");
    assert!(msg.contains("{{.window}}"), "{msg}");
}

#[test]
fn homeostat_invalid_promql() {
    let msg = bad(
        "sum(rate(http_requests_total[",
        "sum(rate(http_requests_total)[",
    );
    assert!(msg.contains("slos[1].sli.events.total_query"), "{msg}");
    assert!(msg.contains("invalid PromQL"), "{msg}");
}

#[test]
fn homeostat_duplicate_ids() {
    let e = load_specs(
        &BASE.replace("name: availability", "name: latency"),
        "api.yaml",
    )
    .unwrap_err();
    assert!(matches!(e, SpecError::Duplicate { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with("api.yaml: "), "{msg}");
    assert!(msg.contains("api-latency"), "{msg}");
}

#[test]
fn homeostat_unknown_time_zone() {
    let msg = bad(
        "period: 30d\n",
        "period:\n      calendar: {unit: month, time_zone: Europe/Pariss}\n",
    );
    assert!(msg.contains("slos[0].period.calendar.time_zone"), "{msg}");
    assert!(msg.contains("Europe/Pariss"), "{msg}");
    let msg = bad(
        "period: 30d\n",
        "period:\n      calendar: {unit: quarter}\n",
    );
    assert!(msg.contains("slos[0].period.calendar.unit"), "{msg}");
}

#[test]
fn homeostat_threshold_not_a_bucket() {
    let msg = bad("threshold: 0.3", "threshold: 0.25");
    assert!(msg.contains("slos[0].sli.latency.threshold"), "{msg}");
    assert!(msg.contains("not a bucket boundary"), "{msg}");
    assert!(msg.contains("0.1, 0.3, 1"), "{msg}");
    let msg = bad("threshold: 0.3", "threshold: 300ms");
    assert!(msg.contains("slos[0].sli.latency.threshold"), "{msg}");
    assert!(msg.contains("seconds"), "{msg}");
}

#[test]
fn homeostat_latency_selector() {
    let msg = bad(
        "        threshold: 0.3\n",
        "        threshold: 0.3\n        selector: '{le=\"1\"}'\n",
    );
    assert!(msg.contains("slos[0].sli.latency.selector"), "{msg}");
    let msg = bad(
        "        threshold: 0.3\n",
        "        threshold: 0.3\n        selector: '{job=}'\n",
    );
    assert!(msg.contains("slos[0].sli.latency.selector"), "{msg}");
}

#[test]
fn homeostat_bad_timeslices() {
    let msg = bad("target: 0.95", "target: 95");
    assert!(msg.contains("slos[0].budgeting.timeslices.target"), "{msg}");
    let msg = bad("slice: 1m", "slice: one");
    assert!(msg.contains("slos[0].budgeting.timeslices.slice"), "{msg}");
    let msg = bad(
        "    budgeting:\n      timeslices: {slice: 1m, target: 0.95}\n",
        "    budgeting: events\n",
    );
    assert!(msg.contains("slos[0].budgeting"), "{msg}");
}

#[test]
fn homeostat_tier_switched_off_needs_no_name() {
    let text = BASE.replace(
        "      name: ApiLatency\n",
        "      page: {disable: true}\n      ticket: {disable: true}\n",
    );
    let specs = load_specs(&text, "api.yaml").unwrap();
    assert!(specs[0].page.is_none() && specs[0].ticket.is_none());
    let msg = bad("      name: ApiLatency\n", "      labels: {a: b}\n");
    assert!(msg.contains("slos[0].alerting.name"), "{msg}");
}

// ---- bad openslo/v1 specs ----

fn openslo_bad(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(example("openslo-v1-checkout.yaml")).unwrap();
    assert!(text.contains(from), "{from}");
    err(&text.replacen(from, to, 1))
}

#[test]
fn openslo_v1_missing_reference() {
    let msg = openslo_bad(
        "alertPolicyRef: checkout-availability",
        "alertPolicyRef: nope",
    );
    assert!(
        msg.contains("spec.alertPolicies[0].alertPolicyRef"),
        "{msg}"
    );
    assert!(msg.contains("no AlertPolicy named \"nope\""), "{msg}");
    let msg = openslo_bad("conditionRef: slow-burn", "conditionRef: nope");
    assert!(
        msg.contains("document 5, spec.conditions[1].conditionRef"),
        "{msg}"
    );
    let msg = openslo_bad(
        "metricSourceRef: prometheus\n        spec:\n          query: sum(rate(http_requests_total{job=\"checkout\"}",
        "metricSourceRef: nope\n        spec:\n          query: sum(rate(http_requests_total{job=\"checkout\"}",
    );
    assert!(
        msg.contains("ratioMetric.total.metricSource.metricSourceRef"),
        "{msg}"
    );
}

#[test]
fn openslo_v1_unknown_field_and_range() {
    let msg = openslo_bad("      target: 0.999", "      target: 0.999\n      targt: 1");
    assert!(msg.contains("targt"), "{msg}");
    let msg = openslo_bad("      target: 0.999", "      target: 1.2");
    assert!(msg.contains("spec.objectives[0].target"), "{msg}");
    assert!(msg.contains("120%"), "{msg}");
    let msg = openslo_bad("      target: 0.999", "      target: 99.9");
    assert!(
        msg.contains("fix: target is a ratio: write 0.999 (or `targetPercent: 99.9`)"),
        "{msg}"
    );
    let msg = openslo_bad("      target: 0.999", "      targetPercent: 0.999");
    assert!(msg.contains("spec.objectives[0].targetPercent"), "{msg}");
    assert!(
        msg.contains("fix: targetPercent is a percentage: write 99.9"),
        "{msg}"
    );
}

#[test]
fn openslo_v1_unsupported_parts_say_so() {
    let msg = openslo_bad("timeZone: Europe/Paris", "timeZone: Mars/Olympus");
    assert!(
        msg.contains("spec.timeWindow[0].calendar.timeZone"),
        "{msg}"
    );
    let msg = openslo_bad(
        "    op: gte\n    threshold: 14.4",
        "    op: lt\n    threshold: 14.4",
    );
    assert!(msg.contains("spec.condition.op"), "{msg}");
    let msg = openslo_bad("- duration: 28d", "- duration: 1M");
    assert!(msg.contains("spec.timeWindow[0].duration"), "{msg}");
    let msg = openslo_bad(
        "budgetingMethod: RatioTimeslices",
        "budgetingMethod: Timeslices",
    );
    assert!(msg.contains("timeSliceTarget"), "{msg}");
}
