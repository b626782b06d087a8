//! Runs Prometheus's PromQL test scripts (`../shared/conformance/promql/*.test`,
//! read in place) against the engine over `MemStorage`, and prints
//! `N passed, N failed, N skipped`. Cases are skipped only when they need
//! native histograms, each listed with its reason.
#![allow(clippy::unwrap_used)]

mod script;

use std::path::PathBuf;
use std::time::Duration;

use homeostat_model::{Label, Labels, Sample, TimeSeries};
use homeostat_promql::{Engine, EngineOptions, QueryError, QueryOutput, QueryParams, Value};
use homeostat_storage::{Appender, MemStorage};
use promql_parser::parser::Expr;
use script::{Cmd, Eval, Expected};

fn conformance_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    root.join("shared/conformance/promql")
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<String>,
}

/// Series with native histogram samples in the current load; queries that
/// select any of them need native histograms.
struct World {
    storage: MemStorage,
    histogram_series: Vec<Labels>,
}

impl World {
    fn new() -> Self {
        World {
            storage: MemStorage::new(),
            histogram_series: Vec::new(),
        }
    }
}

fn selectors(e: &Expr, out: &mut Vec<promql_parser::parser::VectorSelector>) {
    match e {
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::VectorSelector(vs) => out.push(vs.clone()),
        Expr::MatrixSelector(ms) => out.push(ms.vs.clone()),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        _ => {}
    }
}

fn touches_histograms(world: &World, expr: &str) -> bool {
    if world.histogram_series.is_empty() {
        return false;
    }
    let Ok(e) = promql_parser::parser::parse(expr) else {
        return false;
    };
    let mut sels = Vec::new();
    selectors(&e, &mut sels);
    sels.iter().any(|vs| {
        world.histogram_series.iter().any(|l| {
            vs.name
                .as_ref()
                .is_none_or(|n| l.get("__name__") == Some(n))
                && vs
                    .matchers
                    .matchers
                    .iter()
                    .all(|m| m.is_match(l.get(&m.name).unwrap_or("")))
        })
    })
}

fn load(world: &mut World, step: i64, series: Vec<script::LoadSeries>, nhcb: bool) {
    // A later line for the same series overrides earlier values at the same time.
    let mut merged: std::collections::BTreeMap<Labels, std::collections::BTreeMap<i64, f64>> =
        Default::default();
    for s in series {
        if s.histogram {
            world.histogram_series.push(s.labels);
            continue;
        }
        if nhcb && let Some(name) = s.labels.get("__name__") {
            // load_with_nhcb also creates a native histogram with custom
            // buckets named after the classic one.
            for suffix in ["_bucket", "_sum", "_count"] {
                if let Some(base) = name.strip_suffix(suffix) {
                    let mut l: Vec<Label> = s
                        .labels
                        .iter()
                        .filter(|l| l.name != "le" && l.name != "__name__")
                        .cloned()
                        .collect();
                    l.push(Label::new("__name__", base));
                    l.sort_by(|a, b| a.name.cmp(&b.name));
                    world
                        .histogram_series
                        .push(Labels::from_sorted_unchecked(l));
                }
            }
        }
        let entry = merged.entry(s.labels).or_default();
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                entry.insert(i as i64 * step, *v);
            }
        }
    }
    let batch: Vec<TimeSeries> = merged
        .into_iter()
        .map(|(labels, samples)| TimeSeries {
            labels,
            samples: samples
                .into_iter()
                .map(|(t, v)| Sample::new(t, v))
                .collect(),
        })
        .collect();
    let report = world.storage.append(&batch).unwrap();
    assert_eq!(report.rejected_total(), 0, "{:?}", report.first_rejection);
}

fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < 1e-6
}

fn check_annotations(ev: &Eval, out: &QueryOutput) -> Result<(), String> {
    let a = &out.annotations;
    match &ev.warn {
        Some(msg) => {
            if a.warnings.is_empty() {
                return Err("expected warnings, got none".into());
            }
            if let Some(m) = msg
                && !a.warnings.contains(m)
            {
                return Err(format!("expected warning {m:?}, got {:?}", a.warnings));
            }
        }
        None if !a.warnings.is_empty() => {
            return Err(format!("unexpected warnings {:?}", a.warnings));
        }
        None => {}
    }
    match &ev.info {
        Some(msg) => {
            if a.infos.is_empty() {
                return Err("expected infos, got none".into());
            }
            if let Some(m) = msg
                && !a.infos.contains(m)
            {
                return Err(format!("expected info {m:?}, got {:?}", a.infos));
            }
        }
        None if ev.no_info && !a.infos.is_empty() => {
            return Err(format!("unexpected infos {:?}", a.infos));
        }
        None => {}
    }
    Ok(())
}

fn check_error(ev: &Eval, res: &Result<QueryOutput, QueryError>) -> Result<bool, String> {
    match res {
        Err(e) if ev.fail => {
            let msg = e.to_string();
            if let Some(m) = &ev.fail_msg
                && &msg != m
            {
                return Err(format!("expected error {m:?}, got {msg:?}"));
            }
            if let Some(r) = &ev.fail_regex
                && !regex::Regex::new(r).unwrap().is_match(&msg)
            {
                return Err(format!("expected error matching {r:?}, got {msg:?}"));
            }
            Ok(true)
        }
        Err(e) => Err(format!("unexpected error: {e}")),
        Ok(_) if ev.fail => Err("expected an error, query succeeded".into()),
        Ok(_) => Ok(false),
    }
}

fn fmt_vals(v: &[(i64, f64)]) -> String {
    v.iter()
        .map(|(t, v)| format!("{v}@{}", *t as f64 / 1000.0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compares a result (as labelled point lists) with the expectation.
fn compare_series(
    ev: &Eval,
    got: Vec<(Labels, Vec<(i64, f64)>)>,
    times: &[i64],
    ordered: bool,
) -> Result<(), String> {
    let expected: Vec<(&Labels, &Vec<Option<f64>>)> = ev
        .expected
        .iter()
        .filter_map(|e| match e {
            Expected::Series { labels, values } => Some((labels, values)),
            Expected::Scalar(_) => None,
        })
        .collect();
    if expected.len() != got.len() {
        return Err(format!(
            "expected {} series, got {}: {}",
            expected.len(),
            got.len(),
            got.iter()
                .map(|(l, v)| format!("{l} {}", fmt_vals(v)))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for (pos, (labels, values)) in expected.iter().enumerate() {
        let Some(gi) = got.iter().position(|(l, _)| l == *labels) else {
            return Err(format!(
                "expected series {labels} not found; got {}",
                got.iter()
                    .map(|(l, _)| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if ordered && gi != pos {
            return Err(format!("series {labels} at position {gi}, expected {pos}"));
        }
        let want: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (times.get(i).copied().unwrap_or(i64::MAX), v)))
            .collect();
        let have = &got[gi].1;
        if want.len() != have.len()
            || want
                .iter()
                .zip(have)
                .any(|(w, h)| w.0 != h.0 || !almost_equal(w.1, h.1))
        {
            return Err(format!(
                "series {labels}: expected {}, got {}",
                fmt_vals(&want),
                fmt_vals(have)
            ));
        }
    }
    Ok(())
}

fn run_eval(engine: &Engine, world: &World, ev: &Eval) -> Result<(), String> {
    let params = QueryParams::default();
    let q = &world.storage;
    if ev.step == 0 {
        let res = engine.instant_query(q, &ev.expr, ev.start, &params);
        if check_error(ev, &res)? {
            return Ok(());
        }
        let out = res.map_err(|e| e.to_string())?;
        check_annotations(ev, &out)?;
        match &out.value {
            Value::Scalar { v, .. } => {
                let Some(Expected::Scalar(want)) = ev.expected.first() else {
                    return Err(format!("got scalar {v}, expected {:?}", ev.expected));
                };
                if !almost_equal(*want, *v) {
                    return Err(format!("expected scalar {want}, got {v}"));
                }
            }
            Value::String { s, .. } => {
                if ev.string.as_deref() != Some(s.as_str()) {
                    return Err(format!("expected string {:?}, got {s:?}", ev.string));
                }
            }
            Value::Vector(v) => {
                let got = v
                    .iter()
                    .map(|s| (s.labels.clone(), vec![(ev.start, s.v)]))
                    .collect();
                compare_series(ev, got, &[ev.start], ev.ordered)?;
            }
            Value::Matrix(m) => {
                let Some((from, to, step)) = ev.range_vector else {
                    return Err("got a range vector, expected an instant result".into());
                };
                let times: Vec<i64> = (0..)
                    .map(|i| from + i * step)
                    .take_while(|t| *t <= to)
                    .collect();
                let got = m
                    .iter()
                    .map(|s| {
                        (
                            s.labels.clone(),
                            s.samples.iter().map(|p| (p.t, p.v)).collect(),
                        )
                    })
                    .collect();
                compare_series(ev, got, &times, false)?;
                return Ok(());
            }
        }
        // The same query as a range query must agree at the middle step.
        if ev.ordered || !matches!(out.value, Value::Vector(_) | Value::Scalar { .. }) {
            return Ok(());
        }
        let rr = engine
            .range_query(
                q,
                &ev.expr,
                ev.start - 60_000,
                ev.start + 60_000,
                Duration::from_secs(60),
                &params,
            )
            .map_err(|e| format!("range-mode check failed: {e}"))?;
        let Value::Matrix(m) = rr.value else {
            return Err("range-mode check: not a matrix".into());
        };
        let mid: Vec<(Labels, Vec<(i64, f64)>)> = m
            .into_iter()
            .filter_map(|s| {
                s.samples
                    .iter()
                    .find(|p| p.t == ev.start)
                    .map(|p| (s.labels.clone(), vec![(p.t, p.v)]))
            })
            .collect();
        if let Value::Scalar { v, .. } = out.value {
            return match mid.first() {
                Some((_, p)) if almost_equal(p[0].1, v) => Ok(()),
                other => Err(format!(
                    "range-mode check: expected scalar {v}, got {other:?}"
                )),
            };
        }
        compare_series(ev, mid, &[ev.start], false).map_err(|e| format!("range-mode check: {e}"))
    } else {
        let res = engine.range_query(
            q,
            &ev.expr,
            ev.start,
            ev.end,
            Duration::from_millis(ev.step as u64),
            &params,
        );
        if check_error(ev, &res)? {
            return Ok(());
        }
        let out = res.map_err(|e| e.to_string())?;
        check_annotations(ev, &out)?;
        let Value::Matrix(m) = out.value else {
            return Err("range query did not return a matrix".into());
        };
        let times: Vec<i64> = (0..)
            .map(|i| ev.start + i * ev.step)
            .take_while(|t| *t <= ev.end)
            .collect();
        let got = m
            .iter()
            .map(|s| {
                (
                    s.labels.clone(),
                    s.samples.iter().map(|p| (p.t, p.v)).collect(),
                )
            })
            .collect();
        compare_series(ev, got, &times, false)
    }
}

fn main() {
    let dir = conformance_dir();
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "test"))
            .collect(),
        Err(e) => {
            eprintln!(
                "cannot read {}: {e} (the conformance data lives beside the project root)",
                dir.display()
            );
            std::process::exit(1);
        }
    };
    files.sort();
    let engine = Engine::new(EngineOptions::default());
    let mut total = Tally::default();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if let Some(f) = &filter
            && !name.contains(f.as_str())
        {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let cmds = match script::parse(&text) {
            Ok(c) => c,
            Err(e) => {
                total.failed.push(format!("{name}: cannot parse: {e}"));
                continue;
            }
        };
        let mut world = World::new();
        let mut tally = Tally::default();
        for cmd in cmds {
            match cmd {
                Cmd::Clear => world = World::new(),
                Cmd::Load { step, series, nhcb } => load(&mut world, step, series, nhcb),
                Cmd::Eval(ev) => {
                    let id = format!("{name}:{} {}", ev.line, ev.expr);
                    if ev.histogram_expected {
                        tally
                            .skipped
                            .push(format!("{id} — expects native histogram samples"));
                        continue;
                    }
                    if touches_histograms(&world, &ev.expr) {
                        tally.skipped.push(format!(
                            "{id} — selects series with native histogram samples"
                        ));
                        continue;
                    }
                    match run_eval(&engine, &world, &ev) {
                        Ok(()) => tally.passed += 1,
                        Err(e) => tally.failed.push(format!("{id}\n    {e}")),
                    }
                }
            }
        }
        println!(
            "{name}: {} passed, {} failed, {} skipped",
            tally.passed,
            tally.failed.len(),
            tally.skipped.len()
        );
        total.passed += tally.passed;
        total.failed.extend(tally.failed);
        total.skipped.extend(tally.skipped);
    }
    // Every skipped case, with its one-line reason, goes to a file beside
    // the build output so CI keeps it without flooding the log.
    let list =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/promql-conformance-skips.txt");
    let text: String = total
        .skipped
        .iter()
        .map(|s| format!("SKIP {s}\n"))
        .collect();
    if std::fs::write(&list, text).is_ok() {
        println!("skipped cases and reasons: {}", list.display());
    }
    if std::env::var_os("CONFORMANCE_LIST_SKIPS").is_some() {
        for s in &total.skipped {
            println!("SKIP {s}");
        }
    }
    for f in &total.failed {
        println!("FAIL {f}");
    }
    println!(
        "promql conformance: {} passed, {} failed, {} skipped (every skip needs native histograms)",
        total.passed,
        total.failed.len(),
        total.skipped.len()
    );
    if !total.failed.is_empty() {
        std::process::exit(1);
    }
}
