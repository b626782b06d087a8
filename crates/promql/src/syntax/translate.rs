//! `promql-parser`'s semantic errors (types, argument counts, modifiers) in
//! Prometheus's words, placed at the node Prometheus names.

use super::tree::{Node, Ty};
use std::sync::LazyLock;

fn ty(name: &str) -> &str {
    match name {
        "vector" => "instant vector",
        "matrix" => "range vector",
        other => other,
    }
}

/// Where an error is (byte offset) and Prometheus's words for it.
type Placed = Option<(usize, String)>;
/// Finds the node a matched message is about, among all nodes in order.
type Place = fn(&regex::Captures<'_>, &[&Node]) -> Placed;

/// A pattern over `promql-parser`'s message; `'…'` quoting is Go's `"…"`.
struct Rule {
    re: regex::Regex,
    place: Place,
}

fn rule(re: &str, place: Place) -> Rule {
    Rule {
        // The patterns are literals of this file, so a failure is a bug
        // caught by the unit tests, not input.
        re: regex::Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e}")),
        place,
    }
}

fn calls<'n>(nodes: &[&'n Node], want: &str) -> impl Iterator<Item = (usize, &'n [Node])> {
    let want = want.to_string();
    nodes.iter().filter_map(move |n| match n {
        Node::Call { pos, name, args } if *name == want => Some((*pos, args.as_slice())),
        _ => None,
    })
}

fn first<'n>(nodes: &[&'n Node], pred: impl Fn(&Node) -> bool) -> Option<&'n Node> {
    nodes.iter().copied().find(|n| pred(n))
}

fn q(s: &str) -> String {
    homeostat_model::gofmt::quote(s)
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(r"^unknown function with name '(.*)'$", |c, n| {
            let (pos, _) = calls(n, &c[1]).next()?;
            Some((pos, format!("unknown function with name {}", q(&c[1]))))
        }),
        rule(
            r"^expected (at least |at most |)(\d+) argument\(s\) in call to '(.*)', got (\d+)$",
            |c, n| {
                let got: usize = c[4].parse().ok()?;
                let (pos, _) = calls(n, &c[3]).find(|(_, a)| a.len() == got)?;
                Some((
                    pos,
                    format!(
                        "expected {}{} argument(s) in call to {}, got {got}",
                        &c[1],
                        &c[2],
                        q(&c[3])
                    ),
                ))
            },
        ),
        rule(
            r"^expected type (\w+) in call to function '(.*)', got (\w+)$",
            |c, n| {
                let got = ty(&c[3]);
                let arg = calls(n, &c[2])
                    .flat_map(|(_, args)| args.iter())
                    .find(|a| a.ty().documented() == got)?;
                Some((
                    arg.pos(),
                    format!(
                        "expected type {} in call to function {}, got {got}",
                        ty(&c[1]),
                        q(&c[2])
                    ),
                ))
            },
        ),
        rule(
            r"^expected type (\w+) in aggregation expression, got (\w+)$",
            |c, n| {
                let (want, got) = (ty(&c[1]), ty(&c[2]));
                for node in n {
                    let Node::Aggr { op, args, .. } = node else {
                        continue;
                    };
                    let param = matches!(
                        op.as_str(),
                        "topk" | "bottomk" | "quantile" | "count_values" | "limitk" | "limit_ratio"
                    );
                    let (p, e) = match (param, args.as_slice()) {
                        (true, [p, e]) => (Some(p), e),
                        (false, [e]) => (None, e),
                        _ => continue,
                    };
                    if let Some(p) = p
                        && p.ty().documented() == got
                    {
                        let want = if op == "count_values" {
                            "string"
                        } else {
                            "scalar"
                        };
                        return Some((
                            p.pos(),
                            format!("expected type {want} in aggregation parameter, got {got}"),
                        ));
                    }
                    if e.ty().documented() == got {
                        return Some((
                            e.pos(),
                            format!("expected type {want} in aggregation expression, got {got}"),
                        ));
                    }
                }
                None
            },
        ),
        rule(
            r"^wrong number of arguments for aggregate expression provided, expected (\d+), got (\d+)$",
            |c, n| {
                let got: usize = c[2].parse().ok()?;
                let node = first(
                    n,
                    |x| matches!(x, Node::Aggr { args, .. } if args.len() == got),
                )?;
                Some((node.pos(), c[0].to_string()))
            },
        ),
        rule(
            r"^set operator '(\w+)' not allowed in binary scalar expression$",
            |c, n| {
                let op = c[1].to_ascii_lowercase();
                let node = first(n, |x| {
                    matches!(x, Node::Binary { op: o, lhs, rhs, .. }
                        if *o == op && (lhs.ty() == Ty::Scalar || rhs.ty() == Ty::Scalar))
                })?;
                Some((
                    node.pos(),
                    format!(
                        "set operator {} not allowed in binary scalar expression",
                        q(&c[1])
                    ),
                ))
            },
        ),
        rule(r"^no grouping allowed for '(\w+)' operation$", |c, n| {
            let op = c[1].to_ascii_lowercase();
            let node = first(n, |x| matches!(x, Node::Binary { op: o, .. } if *o == op))?;
            Some((
                node.pos(),
                format!("no grouping allowed for {} operation", q(&c[1])),
            ))
        }),
        rule(
            r"^bool modifier can only be used on comparison operators$",
            |c, n| {
                let node = first(
                    n,
                    |x| matches!(x, Node::Binary { op, .. } if !matches!(op.as_str(), "==" | "!=" | "<" | "<=" | ">" | ">=")),
                )?;
                let Node::Binary { op_pos, .. } = node else {
                    return None;
                };
                Some((*op_pos, c[0].to_string()))
            },
        ),
        rule(
            r"^label '(.*)' must not occur in ON and GROUP clause at once$",
            |c, n| {
                let Node::Binary { op_pos, .. } = first(n, |x| matches!(x, Node::Binary { .. }))?
                else {
                    return None;
                };
                Some((
                    *op_pos,
                    format!(
                        "label {} must not occur in ON and GROUP clause at once",
                        q(&c[1])
                    ),
                ))
            },
        ),
        rule(
            r"^binary expression must contain only scalar and instant vector types$",
            |c, n| {
                let side = n.iter().find_map(|x| match x {
                    Node::Binary { lhs, rhs, .. } => [lhs, rhs]
                        .into_iter()
                        .find(|s| matches!(s.ty(), Ty::Matrix | Ty::Str)),
                    _ => None,
                })?;
                Some((side.pos(), c[0].to_string()))
            },
        ),
        rule(
            r"^comparisons between scalars must use BOOL modifier$",
            |c, n| {
                let Node::Binary { op_pos, .. } = first(
                    n,
                    |x| matches!(x, Node::Binary { lhs, rhs, .. } if lhs.ty() == Ty::Scalar && rhs.ty() == Ty::Scalar),
                )?
                else {
                    return None;
                };
                Some((*op_pos, c[0].to_string()))
            },
        ),
        rule(
            r"^(offset|@) modifier must be preceded by an vector selector or matrix selector or a subquery$",
            |c, n| {
                let offset = &c[1] == "offset";
                let node = first(
                    n,
                    |x| matches!(x, Node::Misplaced { offset: o, .. } if *o == offset),
                )?;
                Some((
                    node.pos(),
                    format!(
                        "{} modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                        &c[1]
                    ),
                ))
            },
        ),
        rule(
            r"^unary expression only allowed on expressions of type scalar or vector, got: (\w+)$",
            |c, n| {
                let got = ty(&c[1]);
                let node = first(
                    n,
                    |x| matches!(x, Node::Unary { inner, .. } if inner.ty().documented() == got),
                )?;
                Some((
                    node.pos(),
                    format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                        q(got)
                    ),
                ))
            },
        ),
        rule(
            r"^metric name must not be set twice: '(.*)' or '(.*)'$",
            |c, n| {
                let node = first(
                    n,
                    |x| matches!(x, Node::Selector { matchers, .. } if matchers.iter().any(|m| m.2 == c[2])),
                )?;
                Some((
                    node.pos(),
                    format!(
                        "metric name must not be set twice: {} or {}",
                        q(&c[1]),
                        q(&c[2])
                    ),
                ))
            },
        ),
        rule(
            r"^vector selector must contain at least one non-empty matcher$",
            |c, n| {
                let node = first(n, |x| {
                    matches!(x, Node::Selector { named: false, matchers, .. }
                        if matchers.iter().all(|(_, op, v)| matches_empty(op, v)))
                })?;
                Some((node.pos(), c[0].to_string()))
            },
        ),
        rule(r"^offset may not be set multiple times$", |c, n| {
            let node = first(
                n,
                |x| matches!(x, Node::Selector { offsets, .. } | Node::Matrix { offsets, .. } | Node::Subquery { offsets, .. } if *offsets > 1),
            )?;
            Some((node.pos(), c[0].to_string()))
        }),
        rule(r"^@ <timestamp> may not be set multiple times$", |c, n| {
            let node = first(
                n,
                |x| matches!(x, Node::Selector { ats, .. } | Node::Matrix { ats, .. } | Node::Subquery { ats, .. } if *ats > 1),
            )?;
            Some((node.pos(), c[0].to_string()))
        }),
        rule(r"^ranges only allowed for vector selectors$", |c, n| {
            let Node::Matrix { bracket, .. } = first(
                n,
                |x| matches!(x, Node::Matrix { inner, .. } if !matches!(**inner, Node::Selector { .. })),
            )?
            else {
                return None;
            };
            Some((*bracket, c[0].to_string()))
        }),
        rule(r"^no (offset|@) modifiers allowed before range$", |c, n| {
            let offset = &c[1] == "offset";
            let Node::Matrix { bracket, .. } = first(n, |x| {
                matches!(x, Node::Matrix { inner, .. }
                    if matches!(**inner, Node::Selector { offsets, ats, .. } if (offset && offsets > 0) || (!offset && ats > 0)))
            })?
            else {
                return None;
            };
            Some((*bracket, c[0].to_string()))
        }),
        rule(r"^duration must be greater than 0$", |c, n| {
            let Node::Matrix { range_pos, .. } = first(n, |x| matches!(x, Node::Matrix { .. }))?
            else {
                return None;
            };
            Some((*range_pos, c[0].to_string()))
        }),
        rule(r"^illegal regex for (.*)$", |_, n| {
            for node in n {
                let Node::Selector { matchers, .. } = node else {
                    continue;
                };
                for (pos, op, value) in matchers {
                    if op.ends_with('~')
                        && let Some(msg) = go_regex_error(value)
                    {
                        return Some((*pos, msg));
                    }
                }
            }
            None
        }),
    ]
});

/// Prometheus's message and position for a semantic error `promql-parser`
/// reported as `message`, when the tree holds the node it is about.
pub(crate) fn semantic(message: &str, tree: &Node) -> Placed {
    let mut nodes = Vec::new();
    tree.walk(&mut nodes);
    RULES.iter().find_map(|r| {
        let c = r.re.captures(message)?;
        (r.place)(&c, &nodes)
    })
}

/// Whether a label matcher matches the empty string (an absent label).
fn matches_empty(op: &str, value: &str) -> bool {
    let re = || regex::Regex::new(&format!("^(?:{value})$")).is_ok_and(|r| r.is_match(""));
    match op {
        "=" => value.is_empty(),
        "!=" => !value.is_empty(),
        "=~" => re(),
        "!~" => !re(),
        _ => false,
    }
}

/// Go's `regexp` error for the anchored pattern Prometheus compiles, for
/// the mistakes people make most: an unbalanced group or class.
fn go_regex_error(re: &str) -> Option<String> {
    let anchored = format!("^(?:{re})$");
    let mut depth: i32 = 0;
    let mut chars = re.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => {
                // A class runs to the first `]` that is not its first char.
                let mut first = true;
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '^' if first => continue,
                        ']' if !first => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                    first = false;
                }
                if !closed {
                    return Some(format!(
                        "error parsing regexp: missing closing ]: `{}`",
                        &anchored[i + 4..]
                    ));
                }
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Some(format!("error parsing regexp: unexpected ): `{anchored}`"));
                }
            }
            _ => {}
        }
    }
    (depth > 0).then(|| format!("error parsing regexp: missing closing ): `{anchored}`"))
}
