//! Parse errors read exactly as Prometheus's for the same text. The table
//! `parse_errors.jsonl` holds malformed (and a few valid) queries with the
//! message Debian's Prometheus gave for each (`null`: accepted); it is
//! recorded and re-checked against a live Prometheus by
//! `tests/interop/promql_errors.sh` (`UPDATE=1` rewrites the column).
//! A row with `known_difference` says why homeostat's answer differs.

use serde_json::Value;

const TABLE: &str = include_str!("parse_errors.jsonl");

struct Row {
    query: String,
    prometheus: Option<String>,
    known_difference: Option<String>,
}

fn rows() -> Vec<Row> {
    TABLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Row {
                query: v["query"].as_str().unwrap().to_string(),
                prometheus: v["prometheus"].as_str().map(str::to_string),
                known_difference: v["known_difference"].as_str().map(str::to_string),
            }
        })
        .collect()
}

#[test]
fn parse_errors_match_prometheus() {
    let rows = rows();
    assert!(rows.len() >= 30, "the table needs at least 30 queries");
    let mut mismatches = Vec::new();
    let mut matched = 0;
    for r in &rows {
        let ours = homeostat_promql::parse(&r.query)
            .err()
            .map(|e| e.to_string());
        if ours == r.prometheus {
            assert!(
                r.known_difference.is_none(),
                "{:?} now matches Prometheus: drop its known_difference",
                r.query
            );
            matched += 1;
        } else if r.known_difference.is_none() {
            mismatches.push(format!(
                "{:?}\n  prometheus: {:?}\n  homeostat:  {:?}",
                r.query, r.prometheus, ours
            ));
        }
    }
    eprintln!(
        "{matched} of {} queries answer exactly as Prometheus",
        rows.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn engine_reports_the_same_message_as_bad_data() {
    let err = homeostat_promql::Engine::parse("sum by (job) rate(x[5m])").unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    assert_eq!(
        err.to_string(),
        "1:14: parse error: unexpected identifier \"rate\" in aggregation"
    );
}
