//! A small recursive-descent reading of PromQL that finds the first syntax
//! error where Prometheus's grammar does, with its wording ("unexpected X in
//! label matching, expected string"), and otherwise returns a tree of node
//! positions for placing `promql-parser`'s semantic errors.

use super::lex::{Kind, LexError, Token};

/// A type of value, as Prometheus documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Scalar,
    Vector,
    Matrix,
    Str,
}

impl Ty {
    pub fn documented(self) -> &'static str {
        match self {
            Ty::Scalar => "scalar",
            Ty::Vector => "instant vector",
            Ty::Matrix => "range vector",
            Ty::Str => "string",
        }
    }
}

#[derive(Debug)]
pub(crate) enum Node {
    Number {
        pos: usize,
    },
    Str {
        pos: usize,
    },
    Selector {
        pos: usize,
        named: bool,
        /// Label matchers: (position of the label name, operator, value).
        matchers: Vec<(usize, String, String)>,
        offsets: usize,
        ats: usize,
    },
    Matrix {
        inner: Box<Node>,
        bracket: usize,
        range_pos: usize,
        offsets: usize,
        ats: usize,
    },
    Subquery {
        inner: Box<Node>,
        offsets: usize,
        ats: usize,
    },
    Paren {
        pos: usize,
        inner: Box<Node>,
    },
    Call {
        pos: usize,
        name: String,
        args: Vec<Node>,
    },
    Aggr {
        pos: usize,
        op: String,
        args: Vec<Node>,
    },
    Unary {
        pos: usize,
        inner: Box<Node>,
    },
    /// An `offset` (or `@`) after something that is not a selector or a
    /// subquery, which Prometheus refuses.
    Misplaced {
        inner: Box<Node>,
        offset: bool,
    },
    Binary {
        op: String,
        op_pos: usize,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
}

impl Node {
    pub fn pos(&self) -> usize {
        match self {
            Node::Number { pos }
            | Node::Str { pos }
            | Node::Selector { pos, .. }
            | Node::Paren { pos, .. }
            | Node::Call { pos, .. }
            | Node::Aggr { pos, .. }
            | Node::Unary { pos, .. } => *pos,
            Node::Matrix { inner, .. }
            | Node::Subquery { inner, .. }
            | Node::Misplaced { inner, .. } => inner.pos(),
            Node::Binary { lhs, .. } => lhs.pos(),
        }
    }

    pub fn ty(&self) -> Ty {
        match self {
            Node::Number { .. } => Ty::Scalar,
            Node::Str { .. } => Ty::Str,
            Node::Selector { .. } | Node::Aggr { .. } => Ty::Vector,
            Node::Matrix { .. } | Node::Subquery { .. } => Ty::Matrix,
            Node::Paren { inner, .. }
            | Node::Unary { inner, .. }
            | Node::Misplaced { inner, .. } => inner.ty(),
            Node::Call { name, .. } => match name.as_str() {
                "scalar" | "time" | "pi" => Ty::Scalar,
                _ => Ty::Vector,
            },
            Node::Binary { lhs, rhs, .. } => {
                if lhs.ty() == Ty::Scalar && rhs.ty() == Ty::Scalar {
                    Ty::Scalar
                } else {
                    Ty::Vector
                }
            }
        }
    }

    /// Every node, parents before children, in source order.
    pub fn walk<'a>(&'a self, out: &mut Vec<&'a Node>) {
        out.push(self);
        match self {
            Node::Matrix { inner, .. }
            | Node::Subquery { inner, .. }
            | Node::Paren { inner, .. }
            | Node::Misplaced { inner, .. }
            | Node::Unary { inner, .. } => inner.walk(out),
            Node::Call { args, .. } | Node::Aggr { args, .. } => {
                for a in args {
                    a.walk(out);
                }
            }
            Node::Binary { lhs, rhs, .. } => {
                lhs.walk(out);
                rhs.walk(out);
            }
            _ => {}
        }
    }
}

/// A syntax error: byte position and Prometheus's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub pos: usize,
    pub message: String,
}

impl From<LexError> for SyntaxError {
    fn from(e: LexError) -> Self {
        SyntaxError {
            pos: e.pos,
            message: e.message,
        }
    }
}

/// Why the walk stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    Error(SyntaxError),
    /// Nesting deeper than [`MAX_DEPTH`]: the walk recurses, so it gives up
    /// rather than risk the stack; the caller keeps `promql-parser`'s words.
    TooDeep,
}

impl From<SyntaxError> for Stop {
    fn from(e: SyntaxError) -> Self {
        Stop::Error(e)
    }
}

const MAX_DEPTH: usize = 200;

type R<T> = Result<T, Stop>;

struct Parser<'t, 'a> {
    toks: &'t [Token<'a>],
    lex_error: Option<LexError>,
    i: usize,
    /// Inside an aggregation's modifier or arguments, an error without a
    /// context of its own is "in aggregation": Prometheus's grammar
    /// recovers there.
    in_aggregation: usize,
    depth: usize,
}

fn precedence(op: &str) -> Option<u8> {
    Some(match op.to_ascii_lowercase().as_str() {
        "or" => 1,
        "and" | "unless" => 2,
        "==" | "!=" | "<=" | "<" | ">=" | ">" => 3,
        "+" | "-" => 4,
        "*" | "/" | "%" | "atan2" => 5,
        "^" => 6,
        _ => return None,
    })
}

impl<'a> Parser<'_, 'a> {
    /// The next token; reading past the tokens is reading the lexical error,
    /// which Prometheus reports at that moment.
    fn peek(&self) -> R<&Token<'a>> {
        match self.toks.get(self.i) {
            Some(t) => Ok(t),
            None => Err(Stop::Error(
                self.lex_error
                    .clone()
                    .map(SyntaxError::from)
                    .unwrap_or(SyntaxError {
                        pos: 0,
                        message: "unexpected end of input".into(),
                    }),
            )),
        }
    }

    fn bump(&mut self) -> R<Token<'a>> {
        let t = self.peek()?.clone();
        self.i += 1;
        Ok(t)
    }

    fn is(&self, kind: Kind) -> R<bool> {
        Ok(self.peek()?.kind == kind)
    }

    fn is_word(&self, kind: Kind, word: &str) -> R<bool> {
        let t = self.peek()?;
        Ok(t.kind == kind && t.text.eq_ignore_ascii_case(word))
    }

    fn unexpected(&self, context: &str, expected: &str) -> Stop {
        let t = match self.peek() {
            Ok(t) => t,
            Err(e) => return e,
        };
        let mut message = format!("unexpected {}", t.describe());
        let context = if context.is_empty() && self.in_aggregation > 0 {
            "aggregation"
        } else {
            context
        };
        if !context.is_empty() {
            message.push_str(" in ");
            message.push_str(context);
        }
        if !expected.is_empty() {
            message.push_str(", expected ");
            message.push_str(expected);
        }
        Stop::Error(SyntaxError {
            pos: t.pos,
            message,
        })
    }

    fn expr(&mut self, min_prec: u8) -> R<Node> {
        self.depth += 1;
        let out = if self.depth > MAX_DEPTH {
            Err(Stop::TooDeep)
        } else {
            self.expr_inner(min_prec)
        };
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, min_prec: u8) -> R<Node> {
        let mut lhs = self.unary()?;
        loop {
            let t = self.peek()?;
            let Some(prec) = (t.kind == Kind::Op).then(|| precedence(t.text)).flatten() else {
                return Ok(lhs);
            };
            if prec < min_prec {
                return Ok(lhs);
            }
            let op = self.bump()?;
            self.bin_modifiers()?;
            // `^` is right-associative, the others left.
            let next = if prec == 6 { prec } else { prec + 1 };
            let rhs = self.expr(next)?;
            lhs = Node::Binary {
                op: op.text.to_ascii_lowercase(),
                op_pos: op.pos,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
    }

    fn bin_modifiers(&mut self) -> R<()> {
        if self.is_word(Kind::Keyword, "bool")? {
            self.bump()?;
        }
        if self.is_word(Kind::Keyword, "on")? || self.is_word(Kind::Keyword, "ignoring")? {
            self.bump()?;
            self.grouping()?;
            if self.is_word(Kind::Keyword, "group_left")?
                || self.is_word(Kind::Keyword, "group_right")?
            {
                self.bump()?;
                if self.is(Kind::LParen)? {
                    self.grouping()?;
                }
            }
        }
        Ok(())
    }

    fn unary(&mut self) -> R<Node> {
        let t = self.peek()?;
        if t.kind == Kind::Op && (t.text == "+" || t.text == "-") {
            let op = self.bump()?;
            // As Prometheus: a unary operator binds like `*`, so `-a^b` is
            // `-(a^b)` and `-a*b` is `(-a)*b`.
            let inner = self.expr(6)?;
            return Ok(Node::Unary {
                pos: op.pos,
                inner: Box::new(inner),
            });
        }
        let node = self.primary()?;
        self.postfix(node)
    }

    fn primary(&mut self) -> R<Node> {
        let t = self.peek()?.clone();
        match t.kind {
            Kind::Number => {
                self.number()?;
                Ok(Node::Number { pos: t.pos })
            }
            Kind::Str => {
                self.bump()?;
                Ok(Node::Str { pos: t.pos })
            }
            Kind::LParen => {
                self.bump()?;
                let inner = self.expr(0)?;
                if !self.is(Kind::RParen)? {
                    return Err(self.unexpected("", ""));
                }
                self.bump()?;
                Ok(Node::Paren {
                    pos: t.pos,
                    inner: Box::new(inner),
                })
            }
            Kind::LBrace => self.selector(t.pos, false),
            Kind::Ident if self.toks.get(self.i + 1).map(|n| n.kind) == Some(Kind::LParen) => {
                self.bump()?;
                let args = self.call_body()?;
                Ok(Node::Call {
                    pos: t.pos,
                    name: t.text.to_string(),
                    args,
                })
            }
            Kind::Aggr
                if self.toks.get(self.i + 1).is_some_and(|n| {
                    n.kind == Kind::LParen
                        || (n.kind == Kind::Keyword
                            && (n.text.eq_ignore_ascii_case("by")
                                || n.text.eq_ignore_ascii_case("without")))
                }) =>
            {
                self.aggregation()
            }
            // A metric name; `sum` alone is one too.
            Kind::Ident | Kind::MetricIdent | Kind::Preproc | Kind::Aggr => {
                self.bump()?;
                if self.is(Kind::LBrace)? {
                    return self.selector(t.pos, true);
                }
                Ok(Node::Selector {
                    pos: t.pos,
                    named: true,
                    matchers: Vec::new(),
                    offsets: 0,
                    ats: 0,
                })
            }
            Kind::Eof if self.i == 0 => Err(Stop::Error(SyntaxError {
                pos: 0,
                message: "no expression found in input".into(),
            })),
            _ => Err(self.unexpected("", "")),
        }
    }

    fn number(&mut self) -> R<()> {
        let t = self.bump()?;
        if valid_number(t.text) {
            return Ok(());
        }
        Err(Stop::Error(SyntaxError {
            pos: t.pos,
            message: format!(
                "error parsing number: strconv.ParseFloat: parsing {}: invalid syntax",
                homeostat_model::gofmt::quote(t.text)
            ),
        }))
    }

    fn duration(&mut self) -> R<Token<'a>> {
        let t = self.bump()?;
        if t.kind == Kind::Duration && !valid_duration(t.text) {
            return Err(Stop::Error(SyntaxError {
                pos: t.pos,
                message: format!(
                    "not a valid duration string: {}",
                    homeostat_model::gofmt::quote(t.text)
                ),
            }));
        }
        Ok(t)
    }

    fn aggregation(&mut self) -> R<Node> {
        let op = self.bump()?;
        self.in_aggregation += 1;
        let body = self.aggregation_body();
        self.in_aggregation -= 1;
        let (grouped, args) = body?;
        if !grouped
            && (self.is_word(Kind::Keyword, "by")? || self.is_word(Kind::Keyword, "without")?)
        {
            self.bump()?;
            self.grouping()?;
        }
        Ok(Node::Aggr {
            pos: op.pos,
            op: op.text.to_ascii_lowercase(),
            args,
        })
    }

    fn aggregation_body(&mut self) -> R<(bool, Vec<Node>)> {
        let mut grouped = false;
        if self.is_word(Kind::Keyword, "by")? || self.is_word(Kind::Keyword, "without")? {
            self.bump()?;
            self.grouping()?;
            grouped = true;
        }
        if !self.is(Kind::LParen)? {
            return Err(self.unexpected("aggregation", ""));
        }
        Ok((grouped, self.call_body()?))
    }

    /// `( expr, … )` after a function name or aggregation.
    fn call_body(&mut self) -> R<Vec<Node>> {
        self.bump()?; // `(`
        let mut args = Vec::new();
        if self.is(Kind::RParen)? {
            self.bump()?;
            return Ok(args);
        }
        loop {
            args.push(self.expr(0)?);
            if self.is(Kind::Comma)? {
                let comma = self.bump()?;
                if self.is(Kind::RParen)? {
                    return Err(Stop::Error(SyntaxError {
                        pos: comma.pos,
                        message: "trailing commas not allowed in function call args".into(),
                    }));
                }
                continue;
            }
            if self.is(Kind::RParen)? {
                self.bump()?;
                return Ok(args);
            }
            return Err(self.unexpected("", ""));
        }
    }

    /// `( label, … )` of `by`, `without`, `on`, `ignoring`, `group_*`.
    fn grouping(&mut self) -> R<()> {
        const CONTEXT: &str = "grouping opts";
        if !self.is(Kind::LParen)? {
            return Err(self.unexpected(CONTEXT, "\"(\""));
        }
        self.bump()?;
        if self.is(Kind::RParen)? {
            self.bump()?;
            return Ok(());
        }
        loop {
            let t = self.peek()?;
            let label = matches!(
                t.kind,
                Kind::Ident | Kind::Aggr | Kind::Keyword | Kind::Preproc
            ) || (t.kind == Kind::Op
                && t.text.chars().all(|c| c.is_ascii_alphanumeric()))
                || (t.kind == Kind::Number && t.text.chars().all(|c| c.is_ascii_alphabetic()));
            if !label {
                return Err(self.unexpected(CONTEXT, "label"));
            }
            self.bump()?;
            if self.is(Kind::Comma)? {
                self.bump()?;
                if self.is(Kind::RParen)? {
                    self.bump()?;
                    return Ok(());
                }
                continue;
            }
            if self.is(Kind::RParen)? {
                self.bump()?;
                return Ok(());
            }
            return Err(self.unexpected(CONTEXT, "\",\" or \")\""));
        }
    }

    fn selector(&mut self, pos: usize, named: bool) -> R<Node> {
        const CONTEXT: &str = "label matching";
        self.bump()?; // `{`
        let mut matchers = Vec::new();
        if self.is(Kind::RBrace)? {
            self.bump()?;
        } else {
            loop {
                if !self.is(Kind::Ident)? {
                    return Err(self.unexpected(CONTEXT, "identifier or \"}\""));
                }
                let name = self.bump()?;
                if !self.is(Kind::MatchOp)? {
                    return Err(self.unexpected(CONTEXT, "label matching operator"));
                }
                let op = self.bump()?;
                if !self.is(Kind::Str)? {
                    return Err(self.unexpected(CONTEXT, "string"));
                }
                let value = self.bump()?;
                matchers.push((name.pos, op.text.to_string(), unquote(value.text)));
                if self.is(Kind::Comma)? {
                    self.bump()?;
                    if self.is(Kind::RBrace)? {
                        self.bump()?;
                        break;
                    }
                    continue;
                }
                if self.is(Kind::RBrace)? {
                    self.bump()?;
                    break;
                }
                return Err(self.unexpected(CONTEXT, "\",\" or \"}\""));
            }
        }
        Ok(Node::Selector {
            pos,
            named,
            matchers,
            offsets: 0,
            ats: 0,
        })
    }

    /// Ranges, subqueries, `offset` and `@` after an expression.
    fn postfix(&mut self, mut node: Node) -> R<Node> {
        loop {
            let t = self.peek()?.clone();
            if t.kind == Kind::LBracket {
                self.bump()?;
                let range = self.duration()?; // the lexer only lets a duration follow
                if self.is(Kind::RBracket)? {
                    self.bump()?;
                    node = Node::Matrix {
                        inner: Box::new(node),
                        bracket: t.pos,
                        range_pos: range.pos,
                        offsets: 0,
                        ats: 0,
                    };
                    continue;
                }
                if !self.is(Kind::Colon)? {
                    return Err(self.unexpected("subquery or range", "\":\" or \"]\""));
                }
                self.bump()?;
                if self.is(Kind::Duration)? {
                    self.duration()?;
                    if !self.is(Kind::RBracket)? {
                        return Err(self.unexpected("subquery selector", "\"]\""));
                    }
                } else if !self.is(Kind::RBracket)? {
                    return Err(self.unexpected("subquery selector", "duration or \"]\""));
                }
                self.bump()?;
                node = Node::Subquery {
                    inner: Box::new(node),
                    offsets: 0,
                    ats: 0,
                };
            } else if t.kind == Kind::Keyword && t.text.eq_ignore_ascii_case("offset") {
                self.bump()?;
                if self.is_word(Kind::Op, "-")? {
                    self.bump()?;
                }
                if !self.is(Kind::Duration)? {
                    return Err(self.unexpected("offset", "duration"));
                }
                self.duration()?;
                node = bump_modifier(node, true);
            } else if t.kind == Kind::At {
                self.bump()?;
                if self.is_word(Kind::Op, "-")? || self.is_word(Kind::Op, "+")? {
                    self.bump()?;
                }
                if self.is(Kind::Number)? {
                    self.number()?;
                } else if self.is(Kind::Preproc)? {
                    self.bump()?;
                    if !self.is(Kind::LParen)? {
                        return Err(self.unexpected("@", "timestamp"));
                    }
                    self.bump()?;
                    if !self.is(Kind::RParen)? {
                        return Err(self.unexpected("@", "timestamp"));
                    }
                    self.bump()?;
                } else {
                    return Err(self.unexpected("@", "timestamp"));
                }
                node = bump_modifier(node, false);
            } else {
                return Ok(node);
            }
        }
    }
}

fn bump_modifier(node: Node, offset: bool) -> Node {
    match node {
        Node::Selector { .. } | Node::Matrix { .. } | Node::Subquery { .. } => {
            let mut node = node;
            if let Node::Selector { offsets, ats, .. }
            | Node::Matrix { offsets, ats, .. }
            | Node::Subquery { offsets, ats, .. } = &mut node
            {
                if offset {
                    *offsets += 1;
                } else {
                    *ats += 1;
                }
            }
            node
        }
        other => Node::Misplaced {
            inner: Box::new(other),
            offset,
        },
    }
}

/// Prometheus's duration syntax: units from years down to milliseconds,
/// each at most once, in that order.
fn valid_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(i) = (next_unit..UNITS.len())
            .rev()
            .find(|&i| rest.starts_with(UNITS[i]))
        else {
            return false;
        };
        rest = &rest[UNITS[i].len()..];
        next_unit = i + 1;
    }
    !s.is_empty()
}

/// Whether Go's `ParseInt(s, 0, 64)` or `ParseFloat(s, 64)` reads `s`.
fn valid_number(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    lower == "inf" || lower == "nan" || s.parse::<f64>().is_ok()
}

/// The value of a string token (enough for regex checks).
fn unquote(text: &str) -> String {
    let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
    if text.starts_with('`') {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(c) => out.push(c),
            None => {}
        }
    }
    out
}

/// Reads the whole input; the first syntax error, or the tree.
pub(crate) fn check(toks: &[Token<'_>], lex_error: Option<LexError>) -> R<Node> {
    let mut p = Parser {
        toks,
        lex_error,
        i: 0,
        in_aggregation: 0,
        depth: 0,
    };
    let node = p.expr(0)?;
    if !p.is(Kind::Eof)? {
        return Err(p.unexpected("", ""));
    }
    Ok(node)
}
