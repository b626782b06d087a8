//! Whatever the expression, evaluation answers with a value or an error and
//! never panics: random expressions built from the whole grammar run against
//! a small store, as instant and as range queries.

use std::time::Duration;

use homeostat_model::{Labels, Sample, TimeSeries, stale_nan};
use homeostat_promql::{Engine, QueryParams};
use homeostat_storage::{Appender, MemStorage};
use proptest::prelude::*;

fn store() -> MemStorage {
    let s = MemStorage::new();
    let mut batch = Vec::new();
    for (name, extra) in [
        ("a_total", "x"),
        ("a_total", "y"),
        ("b", "x"),
        ("h_bucket", "1"),
        ("h_bucket", "+Inf"),
    ] {
        let label = if name == "h_bucket" { "le" } else { "k" };
        batch.push(TimeSeries {
            labels: Labels::from_pairs(&[("__name__", name), (label, extra), ("job", "j")]),
            samples: (0..40)
                .map(|i| {
                    let v = match i % 13 {
                        5 => f64::NAN,
                        9 => stale_nan(),
                        _ => (i * 3 % 17) as f64 - 4.0,
                    };
                    Sample::new(i * 15_000, v)
                })
                .collect(),
        });
    }
    s.append(&batch).unwrap();
    s
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "a_total",
            "b",
            "h_bucket",
            "{job=\"j\"}",
            "{__name__=~\"a.*|b\"}",
            "nope",
            "b offset 2m",
            "a_total @ 100",
        ])
        .prop_map(str::to_string),
        1 => (-3i32..5).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["NaN", "Inf", "time()"]).prop_map(str::to_string),
    ]
}

fn range_fn() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "resets",
        "changes",
        "avg_over_time",
        "sum_over_time",
        "min_over_time",
        "max_over_time",
        "count_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "last_over_time",
        "first_over_time",
        "present_over_time",
        "absent_over_time",
        "mad_over_time",
        "ts_of_max_over_time",
    ])
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "^", "==", ">", "<=", "!= bool", "and", "or",
                    "unless", "atan2"
                ]),
                inner.clone()
            )
                .prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            (inner.clone(), inner.clone())
                .prop_map(|(l, r)| format!("({l} * on(job) group_left(k) {r})")),
            (
                prop::sample::select(vec![
                    "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"
                ]),
                inner.clone()
            )
                .prop_map(|(op, e)| format!("{op} by (k) ({e})")),
            (
                prop::sample::select(vec!["topk", "bottomk", "limitk", "quantile", "limit_ratio"]),
                -2i32..4,
                inner.clone()
            )
                .prop_map(|(op, k, e)| format!("{op}({k}, {e})")),
            inner
                .clone()
                .prop_map(|e| format!("count_values(\"v\", {e})")),
            (range_fn(), 1u32..20).prop_map(|(f, m)| format!("{f}(a_total[{m}m])")),
            (range_fn(), inner.clone(), 1u32..10)
                .prop_map(|(f, e, m)| format!("{f}(({e})[{m}m:1m])")),
            (
                prop::sample::select(vec![
                    "abs",
                    "ceil",
                    "sqrt",
                    "ln",
                    "exp",
                    "sgn",
                    "absent",
                    "sort_desc",
                    "timestamp",
                    "scalar",
                    "hour",
                    "round"
                ]),
                inner.clone()
            )
                .prop_map(|(f, e)| format!("{f}({e})")),
            inner
                .clone()
                .prop_map(|e| format!("histogram_quantile(0.9, {e})")),
            inner
                .clone()
                .prop_map(|e| format!("label_replace({e}, \"d\", \"$1\", \"k\", \"(.*)\")")),
            inner.clone().prop_map(|e| format!("clamp({e}, 0, 3)")),
            inner.clone().prop_map(|e| format!("vector(scalar({e}))")),
            inner.prop_map(|e| format!("-({e})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_never_panics(e in expr(), t in 0i64..700) {
        let s = store();
        let engine = Engine::default();
        let p = QueryParams::default();
        let _ = engine.instant_query(&s, &e, t * 1000, &p);
        let _ = engine.range_query(&s, &e, t * 1000, t * 1000 + 300_000, Duration::from_secs(30), &p);
    }
}

/// Guards the generator: most generated expressions must be valid and
/// evaluate, or the property above would only exercise the parser.
#[test]
fn generated_expressions_mostly_evaluate() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let s = store();
    let engine = Engine::default();
    let mut runner = TestRunner::deterministic();
    let (mut ok, mut total) = (0, 0);
    for _ in 0..300 {
        let e = expr().new_tree(&mut runner).unwrap().current();
        total += 1;
        match engine.instant_query(&s, &e, 300_000, &QueryParams::default()) {
            Ok(_) => ok += 1,
            Err(err) if std::env::var_os("SHOW").is_some() => println!("{e}\n  -> {err}"),
            Err(_) => {}
        }
    }
    assert!(
        ok * 2 > total,
        "only {ok} of {total} generated expressions evaluated"
    );
}
