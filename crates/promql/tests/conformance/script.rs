//! Parser for Prometheus's PromQL test-script format (`promqltest`):
//! `load`, `clear`, `eval instant|range` with expected results and `expect` lines.

use std::time::Duration;

use homeostat_model::{Label, Labels, parse_duration, stale_nan};

#[derive(Debug)]
pub enum Cmd {
    Load {
        step: i64,
        series: Vec<LoadSeries>,
        nhcb: bool,
    },
    Clear,
    Eval(Box<Eval>),
}

#[derive(Debug)]
pub struct LoadSeries {
    pub labels: Labels,
    /// `None` for `_` (no sample); stale markers are the stale NaN.
    pub values: Vec<Option<f64>>,
    /// The line has native histogram samples (`{{…}}`).
    pub histogram: bool,
}

#[derive(Debug, Default)]
pub struct Eval {
    pub line: usize,
    pub expr: String,
    /// Instant: start == end, step 0.
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub fail: bool,
    pub fail_msg: Option<String>,
    pub fail_regex: Option<String>,
    pub warn: Option<Option<String>>,
    pub no_warn: bool,
    pub info: Option<Option<String>>,
    pub no_info: bool,
    pub ordered: bool,
    pub string: Option<String>,
    /// `expect range vector from … to … step …` (instant query returning a matrix).
    pub range_vector: Option<(i64, i64, i64)>,
    pub expected: Vec<Expected>,
    /// Expected output mentions native histograms.
    pub histogram_expected: bool,
}

#[derive(Debug)]
pub enum Expected {
    Scalar(f64),
    Series {
        labels: Labels,
        values: Vec<Option<f64>>,
    },
}

fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(d) = parse_duration(s) {
        return Ok(d.as_millis() as i64);
    }
    s.parse::<f64>()
        .map(|v| (v * 1000.0) as i64)
        .map_err(|_| format!("bad time {s:?}"))
}

fn parse_step(s: &str) -> Result<i64, String> {
    parse_duration(s)
        .map(|d: Duration| d.as_millis() as i64)
        .map_err(|e| e.to_string())
}

fn parse_number(s: &str) -> Option<f64> {
    let t = s.strip_prefix('+').unwrap_or(s);
    match t {
        "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => {
            if let Some(h) = t.strip_prefix("0x") {
                return i64::from_str_radix(h, 16).ok().map(|v| v as f64);
            }
            t.parse::<f64>().ok()
        }
    }
}

/// Expands one value token: `1`, `_`, `stale`, `_x3`, `1x3`, `1+2x3`, `1-2x3`.
fn expand(token: &str, out: &mut Vec<Option<f64>>) -> Result<(), String> {
    if token == "_" {
        out.push(None);
        return Ok(());
    }
    if token == "stale" {
        out.push(Some(stale_nan()));
        return Ok(());
    }
    if let Some((base, times)) = token.rsplit_once('x')
        && let Ok(n) = times.parse::<usize>()
    {
        if base == "_" {
            out.extend(std::iter::repeat_n(None, n));
            return Ok(());
        }
        // Split `a+b` / `a-b`, skipping a leading sign and exponent signs.
        let bytes = base.as_bytes();
        let mut split = None;
        for i in 1..bytes.len() {
            if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
                split = Some(i);
            }
        }
        let (start, delta) = match split {
            Some(i) => {
                let start =
                    parse_number(&base[..i]).ok_or_else(|| format!("bad value {token:?}"))?;
                let mut d =
                    parse_number(&base[i + 1..]).ok_or_else(|| format!("bad value {token:?}"))?;
                if bytes[i] == b'-' {
                    d = -d;
                }
                (start, d)
            }
            None => (
                parse_number(base).ok_or_else(|| format!("bad value {token:?}"))?,
                0.0,
            ),
        };
        let mut v = start;
        for _ in 0..=n {
            out.push(Some(v));
            v += delta;
        }
        return Ok(());
    }
    out.push(Some(
        parse_number(token).ok_or_else(|| format!("bad value {token:?}"))?,
    ));
    Ok(())
}

/// Splits `metric{a="b"} 1 2 3` into the label set and the value text.
fn split_series(line: &str) -> Result<(Labels, &str), String> {
    let line = line.trim();
    let mut end = 0;
    let bytes = line.as_bytes();
    let mut in_quote = false;
    let mut depth = 0;
    while end < bytes.len() {
        let c = bytes[end];
        if in_quote {
            if c == b'\\' {
                end += 1;
            } else if c == b'"' {
                in_quote = false;
            }
        } else if c == b'"' {
            in_quote = true;
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
            if depth == 0 {
                end += 1;
                break;
            }
        } else if depth == 0 && c.is_ascii_whitespace() {
            break;
        }
        end += 1;
    }
    let metric = &line[..end];
    let rest = &line[end..];
    if metric == "{}" {
        return Ok((Labels::empty(), rest));
    }
    let expr =
        promql_parser::parser::parse(metric).map_err(|e| format!("bad series {metric:?}: {e}"))?;
    let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
        return Err(format!("bad series {metric:?}"));
    };
    let mut labels = Vec::new();
    if let Some(n) = vs.name {
        labels.push(Label::new("__name__", n));
    }
    for m in vs.matchers.matchers {
        labels.push(Label::new(m.name, m.value));
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels.retain(|l| !l.value.is_empty());
    Ok((Labels::from_sorted_unchecked(labels), rest))
}

fn parse_values(text: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        expand(tok, &mut out)?;
    }
    Ok(out)
}

pub fn parse(text: &str) -> Result<Vec<Cmd>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    let is_body = |l: &str| !l.trim().is_empty() && l.starts_with([' ', '\t']);
    while i < lines.len() {
        let line = lines[i];
        let lno = i + 1;
        i += 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let err = |m: String| format!("line {lno}: {m}");
        if t == "clear" {
            cmds.push(Cmd::Clear);
        } else if let Some(rest) = t
            .strip_prefix("load_with_nhcb ")
            .or_else(|| t.strip_prefix("load "))
        {
            let nhcb = t.starts_with("load_with_nhcb");
            let step = parse_step(rest.trim()).map_err(err)?;
            let mut series = Vec::new();
            while i < lines.len() && is_body(lines[i]) {
                let l = lines[i].trim();
                i += 1;
                if l.starts_with('#') {
                    continue;
                }
                let (labels, vals) = split_series(l).map_err(|e| format!("line {}: {e}", i))?;
                if vals.contains("{{") {
                    series.push(LoadSeries {
                        labels,
                        values: Vec::new(),
                        histogram: true,
                    });
                } else {
                    series.push(LoadSeries {
                        labels,
                        values: parse_values(vals).map_err(|e| format!("line {}: {e}", i))?,
                        histogram: false,
                    });
                }
            }
            cmds.push(Cmd::Load { step, series, nhcb });
        } else if let Some(rest) = t.strip_prefix("eval ") {
            let mut ev = Eval {
                line: lno,
                ..Default::default()
            };
            if let Some(r) = rest.strip_prefix("instant at ") {
                let (at, expr) = r
                    .split_once(' ')
                    .ok_or_else(|| err("missing expression".into()))?;
                ev.start = parse_time(at).map_err(err)?;
                ev.end = ev.start;
                ev.expr = expr.trim().to_string();
            } else if let Some(r) = rest.strip_prefix("range from ") {
                let parts: Vec<&str> = r.splitn(6, ' ').collect();
                if parts.len() < 6 || parts[1] != "to" || parts[3] != "step" {
                    return Err(err(format!("bad range eval {t:?}")));
                }
                ev.start = parse_time(parts[0]).map_err(err)?;
                ev.end = parse_time(parts[2]).map_err(err)?;
                ev.step = parse_step(parts[4]).map_err(err)?;
                ev.expr = parts[5].trim().to_string();
            } else {
                return Err(err(format!("unknown eval form {t:?}")));
            }
            while i < lines.len() && is_body(lines[i]) {
                let l = lines[i].trim();
                i += 1;
                if l.starts_with('#') {
                    continue;
                }
                if let Some(e) = l.strip_prefix("expect ") {
                    let e = e.trim();
                    let msg = |s: &str| -> Option<String> {
                        s.split_once(':').map(|(_, m)| m.trim().to_string())
                    };
                    if e.starts_with("fail") {
                        ev.fail = true;
                        if e.contains("msg") {
                            ev.fail_msg = msg(e);
                        } else if e.contains("regex") {
                            ev.fail_regex = msg(e);
                        }
                    } else if e.starts_with("no_warn") {
                        ev.no_warn = true;
                    } else if e.starts_with("no_info") {
                        ev.no_info = true;
                    } else if e.starts_with("warn") {
                        ev.warn = Some(if e.contains("msg") { msg(e) } else { None });
                    } else if e.starts_with("info") {
                        ev.info = Some(if e.contains("msg") { msg(e) } else { None });
                    } else if e.starts_with("ordered") {
                        ev.ordered = true;
                    } else if let Some(s) = e.strip_prefix("string") {
                        let s = s.trim();
                        ev.string = Some(unquote(s));
                    } else if let Some(r) = e.strip_prefix("range vector from ") {
                        let parts: Vec<&str> = r.split_whitespace().collect();
                        if parts.len() != 5 {
                            return Err(format!("line {i}: bad range vector expectation"));
                        }
                        ev.range_vector = Some((
                            parse_time(parts[0]).map_err(err)?,
                            parse_time(parts[2]).map_err(err)?,
                            parse_step(parts[4]).map_err(err)?,
                        ));
                    } else {
                        return Err(format!("line {i}: unknown expectation {e:?}"));
                    }
                    continue;
                }
                if l.contains("{{") {
                    ev.histogram_expected = true;
                    continue;
                }
                if let Some(v) = parse_number(l) {
                    ev.expected.push(Expected::Scalar(v));
                    continue;
                }
                let (labels, vals) = split_series(l).map_err(|e| format!("line {i}: {e}"))?;
                ev.expected.push(Expected::Series {
                    labels,
                    values: parse_values(vals).map_err(|e| format!("line {i}: {e}"))?,
                });
            }
            cmds.push(Cmd::Eval(Box::new(ev)));
        } else {
            return Err(err(format!("unknown command {t:?}")));
        }
    }
    Ok(cmds)
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 {
        let (first, last) = (s.as_bytes()[0], s.as_bytes()[s.len() - 1]);
        if (first == b'"' || first == b'`' || first == b'\'') && first == last {
            return s[1..s.len() - 1].to_string();
        }
    }
    s.to_string()
}
