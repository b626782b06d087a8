//! The nesting limit against the stack: every shape of deep query the
//! limit lets through evaluates on a 2 MiB thread (tokio's blocking
//! threads, where the API evaluates), and past the limit a 10 KB query is
//! refused.

use homeostat_promql::{Engine, MAX_NESTING, QueryParams, parse};
use homeostat_storage::MemStorage;

const STACK: usize = 2 << 20;

fn shape(kind: &str, n: usize) -> String {
    match kind {
        "paren" => format!("{}vector(1){}", "(".repeat(n), ")".repeat(n)),
        "neg" => format!("{}vector(1)", "-".repeat(n)),
        "abs" => format!("{}vector(1){}", "abs(".repeat(n), ")".repeat(n)),
        "binr" => format!("{}vector(1){}", "1+(".repeat(n), ")".repeat(n)),
        "binl" => format!("vector(1){}", "+1".repeat(n)),
        "pow" => format!("vector(1){}", "^1".repeat(n)),
        "sub" => format!(
            "{}vector(1){}",
            "max_over_time((".repeat(n),
            ")[2m:1m])".repeat(n)
        ),
        "sum" => format!("{}vector(1){}", "sum(".repeat(n), ")".repeat(n)),
        other => panic!("unknown shape {other}"),
    }
}

const SHAPES: &[&str] = &["paren", "neg", "abs", "binr", "binl", "pow", "sub", "sum"];

/// The largest `n` whose query the parser accepts.
fn deepest_accepted(kind: &str) -> usize {
    (1..=MAX_NESTING + 1)
        .take_while(|&n| parse(&shape(kind, n)).is_ok())
        .last()
        .unwrap_or(0)
}

fn on_small_stack(q: String) -> Result<(), String> {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let s = MemStorage::new();
            let e = Engine::default();
            let p = QueryParams::default();
            e.instant_query(&s, &q, 600_000, &p)
                .map_err(|e| e.to_string())?;
            e.range_query(&s, &q, 0, 600_000, std::time::Duration::from_secs(60), &p)
                .map_err(|e| e.to_string())?;
            Ok(())
        })
        .expect("spawn")
        .join()
        .expect("no panic")
}

#[test]
fn deep_queries_at_the_limit_evaluate_on_a_2_mib_stack() {
    for kind in SHAPES {
        let n = deepest_accepted(kind);
        assert!(n >= MAX_NESTING / 3, "{kind}: only {n} levels accepted");
        on_small_stack(shape(kind, n)).unwrap_or_else(|e| panic!("{kind} at {n}: {e}"));
    }
}

#[test]
fn deep_queries_past_the_limit_are_refused() {
    for kind in SHAPES {
        let n = 10_000 / shape(kind, 1).len().max(2) * 2;
        let q = shape(kind, n.max(MAX_NESTING + 1));
        let e = parse(&q).expect_err(kind).to_string();
        assert!(e.contains("nested too deeply"), "{kind}: {e}");
    }
}
