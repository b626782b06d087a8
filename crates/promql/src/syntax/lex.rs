//! A lexer that stops where Prometheus's lexer stops, with its message.
//! `promql-parser` lexes a little differently (it reports the end of a bad
//! token, words some errors its own way), so the tokens and the first lexical
//! error are recomputed here; only positions and messages are used.

use homeostat_model::gofmt::quote;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ident,
    MetricIdent,
    Number,
    Duration,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    /// `=`, `!=`, `=~`, `!~` (label matching) and `=` alone.
    MatchOp,
    /// `+ - * / % ^ == != < <= > >=` and `and or unless atan2`.
    Op,
    Aggr,
    /// `offset by without on ignoring group_left group_right bool`.
    Keyword,
    /// `start` and `end` (the `@` preprocessors).
    Preproc,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub pos: usize,
    pub text: &'a str,
}

impl Token<'_> {
    /// How Prometheus names a token in "unexpected …" messages.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "end of input".into(),
            Kind::Ident => format!("identifier {}", quote(self.text)),
            Kind::MetricIdent => format!("metric identifier {}", quote(self.text)),
            Kind::Number if is_special_number(self.text) => quote(self.text),
            Kind::Number => format!("number {}", short(self.text)),
            Kind::Duration => format!("duration {}", short(self.text)),
            Kind::Str => format!("string {}", short(self.text)),
            Kind::Op => format!("<op:{}>", self.text),
            Kind::Aggr => format!("<aggr:{}>", self.text),
            Kind::Keyword => format!("<{}>", self.text),
            _ => quote(self.text),
        }
    }
}

fn is_special_number(s: &str) -> bool {
    s.eq_ignore_ascii_case("inf") || s.eq_ignore_ascii_case("nan")
}

/// Go's `%q` of a value longer than 10 characters is cut to 10 and marked.
fn short(s: &str) -> String {
    if s.chars().count() > 10 {
        let cut: String = s.chars().take(10).collect();
        format!("{}...", quote(&cut))
    } else {
        quote(s)
    }
}

/// A lexical error: where Prometheus places it and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub pos: usize,
    pub message: String,
}

pub(crate) const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];
const KEYWORDS: &[&str] = &[
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
];
const WORD_OPS: &[&str] = &["and", "or", "unless", "atan2"];

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

/// Go's `%q` of one character.
pub(crate) fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '\\' => "'\\\\'".into(),
        '\n' => "'\\n'".into(),
        '\t' => "'\\t'".into(),
        '\r' => "'\\r'".into(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// Go's `%#U` of one character.
fn unicode_name(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    paren_depth: i32,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    out: Vec<Token<'a>>,
}

type Step = Result<(), LexError>;

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn emit(&mut self, kind: Kind) {
        self.out.push(Token {
            kind,
            pos: self.start,
            text: &self.input[self.start..self.pos],
        });
        self.start = self.pos;
    }

    fn error(&self, message: impl Into<String>) -> LexError {
        LexError {
            pos: self.start,
            message: message.into(),
        }
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
        self.start = self.pos;
    }

    fn skip_comment(&mut self) {
        while !matches!(self.peek(), None | Some('\n')) {
            self.next();
        }
        self.start = self.pos;
    }

    fn run(&mut self) -> Step {
        loop {
            if self.brace_open {
                self.inside_braces()?;
            } else if self.statement()? {
                return Ok(());
            }
        }
    }

    /// One token outside braces; true at the end of input.
    fn statement(&mut self) -> Result<bool, LexError> {
        if self.input[self.pos..].starts_with('#') {
            self.skip_comment();
            return Ok(false);
        }
        let Some(c) = self.next() else {
            if self.paren_depth != 0 {
                return Err(self.error("unclosed left parenthesis"));
            }
            if self.bracket_open {
                return Err(self.error("unclosed left bracket"));
            }
            self.emit(Kind::Eof);
            return Ok(true);
        };
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                self.skip_spaces();
            }
            ',' => self.emit(Kind::Comma),
            '*' | '/' | '%' | '+' | '-' | '^' => self.emit(Kind::Op),
            '=' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(Kind::Op);
                }
                Some('~') => {
                    return Err(self.error("unexpected character after '=': '~'"));
                }
                _ => self.emit(Kind::MatchOp),
            },
            '!' => match self.next() {
                Some('=') => self.emit(Kind::Op),
                other => {
                    let shown = other.map_or("U+FFFD 'EOF'".to_string(), quote_char);
                    return Err(self.error(format!("unexpected character after '!': {shown}")));
                }
            },
            '<' | '>' => {
                self.accept("=");
                self.emit(Kind::Op);
            }
            '0'..='9' => {
                self.pos -= 1;
                self.number_or_duration()?;
            }
            '.' if self.peek().is_some_and(|c| c.is_ascii_digit()) => {
                self.pos -= 1;
                self.number_or_duration()?;
            }
            '"' | '\'' => self.string(c)?,
            '`' => self.raw_string()?,
            c if is_alpha(c) || c == ':' => {
                if !self.bracket_open {
                    self.pos -= c.len_utf8();
                    self.word();
                } else if self.got_colon {
                    return Err(self.error(format!("unexpected colon {}", quote_char(c))));
                } else {
                    self.emit(Kind::Colon);
                    self.got_colon = true;
                }
            }
            '(' => {
                self.emit(Kind::LParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.emit(Kind::RParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    // Prometheus's lexer replaces the token it just emitted
                    // with the error, placed after it.
                    self.out.pop();
                    return Err(self.error("unexpected right parenthesis ')'"));
                }
            }
            '{' => {
                self.emit(Kind::LBrace);
                self.brace_open = true;
            }
            '[' => {
                if self.bracket_open {
                    return Err(self.error("unexpected left bracket '['"));
                }
                self.got_colon = false;
                self.emit(Kind::LBracket);
                self.skip_spaces();
                self.bracket_open = true;
                self.duration()?;
            }
            ']' => {
                if !self.bracket_open {
                    return Err(self.error("unexpected right bracket ']'"));
                }
                self.emit(Kind::RBracket);
                self.bracket_open = false;
            }
            '@' => self.emit(Kind::At),
            c => {
                return Err(self.error(format!("unexpected character: {}", quote_char(c))));
            }
        }
        Ok(false)
    }

    fn inside_braces(&mut self) -> Step {
        if self.input[self.pos..].starts_with('#') {
            self.skip_comment();
            return Ok(());
        }
        let Some(c) = self.next() else {
            return Err(self.error("unexpected end of input inside braces"));
        };
        match c {
            ' ' | '\t' | '\n' | '\r' => self.skip_spaces(),
            c if is_alpha(c) => {
                while self.peek().is_some_and(is_alnum) {
                    self.next();
                }
                self.emit(Kind::Ident);
            }
            ',' => self.emit(Kind::Comma),
            '"' | '\'' => self.string(c)?,
            '`' => self.raw_string()?,
            '=' => {
                self.accept("~");
                self.emit(Kind::MatchOp);
            }
            '!' => match self.next() {
                Some('~' | '=') => self.emit(Kind::MatchOp),
                other => {
                    let shown = other.map_or("U+FFFD 'EOF'".to_string(), quote_char);
                    return Err(self.error(format!(
                        "unexpected character after '!' inside braces: {shown}"
                    )));
                }
            },
            '{' => return Err(self.error("unexpected left brace '{'")),
            '}' => {
                self.emit(Kind::RBrace);
                self.brace_open = false;
            }
            c => {
                return Err(self.error(format!(
                    "unexpected character inside braces: {}",
                    quote_char(c)
                )));
            }
        }
        Ok(())
    }

    /// Go's `scanNumber`: true when what was read is a complete number.
    fn scan_number(&mut self) -> bool {
        let mut digits = "0123456789";
        if self.accept("0") && self.accept("xX") {
            digits = "0123456789abcdefABCDEF";
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789");
        }
        !self.peek().is_some_and(is_alnum)
    }

    /// The units of a duration after its first number; units after the
    /// first must come in decreasing order, so `y` only leads.
    fn rest_of_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            self.accept_run("0123456789");
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        !self.peek().is_some_and(is_alnum)
    }

    fn number_or_duration(&mut self) -> Step {
        if self.scan_number() {
            self.emit(Kind::Number);
            return Ok(());
        }
        if self.rest_of_duration() {
            self.emit(Kind::Duration);
            return Ok(());
        }
        Err(self.error(format!(
            "bad number or duration syntax: {}",
            quote(&self.input[self.start..self.pos])
        )))
    }

    fn duration(&mut self) -> Step {
        if self.scan_number() {
            return Err(self.error("missing unit character in duration"));
        }
        if !self.rest_of_duration() {
            return Err(self.error(format!(
                "bad duration syntax: {}",
                quote(&self.input[self.start..self.pos])
            )));
        }
        self.emit(Kind::Duration);
        Ok(())
    }

    fn word(&mut self) {
        while self.peek().is_some_and(|c| is_alnum(c) || c == ':') {
            self.next();
        }
        let word = &self.input[self.start..self.pos];
        let lower = word.to_ascii_lowercase();
        let kind = if AGGREGATORS.contains(&lower.as_str()) {
            Kind::Aggr
        } else if KEYWORDS.contains(&lower.as_str()) {
            Kind::Keyword
        } else if WORD_OPS.contains(&lower.as_str()) {
            Kind::Op
        } else if lower == "start" || lower == "end" {
            Kind::Preproc
        } else if is_special_number(&lower) {
            Kind::Number
        } else if word.contains(':') {
            Kind::MetricIdent
        } else {
            Kind::Ident
        };
        self.emit(kind);
    }

    fn string(&mut self, open: char) -> Step {
        loop {
            match self.next() {
                Some('\\') => self.escape(open)?,
                None | Some('\n') => return Err(self.error("unterminated quoted string")),
                Some(c) if c == open => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::Str);
        Ok(())
    }

    fn raw_string(&mut self) -> Step {
        loop {
            match self.next() {
                None => return Err(self.error("unterminated raw string")),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::Str);
        Ok(())
    }

    fn escape(&mut self, open: char) -> Step {
        let not_terminated = |l: &Self| Err(l.error("escape sequence not terminated"));
        let Some(mut c) = self.next() else {
            return not_terminated(self);
        };
        let (mut n, base, max): (u32, u32, u32) = match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => return Ok(()),
            c if c == open => return Ok(()),
            '0'..='7' => (3, 8, 255),
            'x' | 'u' | 'U' => {
                let spec = match c {
                    'x' => (2, 16, 255),
                    'u' => (4, 16, 0x10FFFF),
                    _ => (8, 16, 0x10FFFF),
                };
                match self.next() {
                    Some(d) => c = d,
                    None => return not_terminated(self),
                }
                spec
            }
            other => {
                return Err(self.error(format!("unknown escape sequence {}", unicode_name(other))));
            }
        };
        let mut x: u32 = 0;
        while n > 0 {
            match c.to_digit(base) {
                Some(d) => x = x * base + d,
                None => {
                    return Err(self.error(format!(
                        "illegal character {} in escape sequence",
                        unicode_name(c)
                    )));
                }
            }
            n -= 1;
            if n > 0 {
                match self.next() {
                    Some(d) => c = d,
                    None => return not_terminated(self),
                }
            }
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Err(self.error("escape sequence is an invalid Unicode code point"));
        }
        Ok(())
    }
}

/// The tokens of `input` up to its first lexical error, and that error.
pub(crate) fn lex(input: &str) -> (Vec<Token<'_>>, Option<LexError>) {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        paren_depth: 0,
        brace_open: false,
        bracket_open: false,
        got_colon: false,
        out: Vec::new(),
    };
    let err = l.run().err();
    (l.out, err)
}
