//! A small YAML emitter that reproduces what Go's `gopkg.in/yaml.v2`
//! (`yaml.Marshal`, libyaml's emitter underneath) writes for a Prometheus
//! rule file — byte for byte, because Sloth's output is proven against
//! golden files and Sloth marshals with yaml.v2.
//!
//! It only knows the shapes a rule file has (a `groups` sequence of
//! mappings whose values are strings, string maps and sequences of rules),
//! but within those shapes it follows libyaml's rules exactly:
//!
//! - **Scalar style** (`yaml.v2` `encode.go` + libyaml
//!   `yaml_emitter_select_scalar_style`): a string containing a line break is
//!   a literal block (`|`, `|-` without a final break, `|+` with several,
//!   an indentation digit when it starts with a space); a string that would
//!   read back as something else (`99.9`, `true`, `null`, `""`, `2006-01-02`)
//!   is double-quoted; otherwise plain, single-quoted when it starts with an
//!   indicator (`{`, `'`, `*`…) or contains `: ` / ` #`, double-quoted when
//!   it has characters a single-quoted scalar cannot carry (tabs, trailing
//!   spaces before a line break…).
//! - **Line folding**: plain, single- and double-quoted values (never keys)
//!   are broken at a space once the line is past column 80 (libyaml's
//!   `best_width`), continuing at the value's indentation (key column + 2).
//! - **Key order**: map keys are sorted with yaml.v2's `keyList.Less`, which
//!   compares runs of digits numerically and puts non-letters before letters.
//!
//! The golden tests in `tests/it/sloth.rs` are the proof; unit tests below
//! pin the individual rules.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::rules::{Rule, RuleGroup};

/// libyaml's `best_width`: lines are folded at the first space past it.
const BEST_WIDTH: usize = 80;
/// libyaml's `best_indent`.
const BEST_INDENT: usize = 2;

/// Writes `groups:` and every group, as yaml.v2 marshals
/// `struct{ Groups []RuleGroup "yaml:groups" }`.
pub(crate) fn write_groups(w: &mut Writer, groups: &[RuleGroup]) {
    if groups.is_empty() {
        w.entry(0, "groups", "[]", Style::Raw);
        return;
    }
    w.key_only(0, "groups");
    for g in groups {
        w.put_str("- ");
        w.entry(2, "name", &g.name, Style::Auto);
        if let Some(interval) = g.interval {
            w.indent_to(2);
            w.entry(
                2,
                "interval",
                &homeostat_model::format_duration(interval),
                Style::Auto,
            );
        }
        w.indent_to(2);
        if g.rules.is_empty() {
            w.entry(2, "rules", "[]", Style::Raw);
            continue;
        }
        w.key_only(2, "rules");
        for r in &g.rules {
            w.indent_to(2);
            w.put_str("- ");
            write_rule(w, r);
        }
    }
}

/// A rule at key column 4, in `rulefmt.Rule` field order.
fn write_rule(w: &mut Writer, r: &Rule) {
    let mut first = true;
    let mut field = |w: &mut Writer, key: &str, value: &str| {
        if !first {
            w.indent_to(4);
        }
        first = false;
        w.entry(4, key, value, Style::Auto);
    };
    if let Some(record) = &r.record {
        field(w, "record", record);
    }
    if let Some(alert) = &r.alert {
        field(w, "alert", alert);
    }
    field(w, "expr", &r.expr);
    if let Some(d) = r.for_ {
        field(w, "for", &homeostat_model::format_duration(d));
    }
    for (key, map) in [("labels", &r.labels), ("annotations", &r.annotations)] {
        if map.is_empty() {
            continue;
        }
        w.indent_to(4);
        w.key_only(4, key);
        write_map(w, 6, map);
    }
}

fn write_map(w: &mut Writer, indent: usize, map: &BTreeMap<String, String>) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by(|a, b| go_key_order(a, b));
    for k in keys {
        w.indent_to(indent);
        w.entry(indent, k, &map[k], Style::Auto);
    }
}

/// yaml.v2's `keyList.Less` for string keys, as an [`Ordering`].
pub(crate) fn go_key_order(a: &str, b: &str) -> Ordering {
    if go_key_less(a, b) {
        Ordering::Less
    } else if go_key_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn go_key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Choose like yaml.v2 does for a Go string.
    Auto,
    /// Write the text as is (flow `[]`).
    Raw,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Chosen {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Output buffer that tracks the column like libyaml does (in characters).
#[derive(Default)]
pub(crate) struct Writer {
    out: String,
    column: usize,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }

    pub(crate) fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn put(&mut self, c: char) {
        if c == '\n' {
            self.out.push('\n');
            self.column = 0;
        } else {
            self.out.push(c);
            self.column += 1;
        }
    }

    /// Starts a new line (if not at its start) indented to `indent`.
    pub(crate) fn indent_to(&mut self, indent: usize) {
        if self.column != 0 {
            self.put('\n');
        }
        while self.column < indent {
            self.put(' ');
        }
    }

    /// libyaml's `yaml_emitter_write_indent` in the middle of a scalar.
    fn break_to(&mut self, indent: usize) {
        self.put('\n');
        while self.column < indent {
            self.put(' ');
        }
    }

    /// `key:` followed by a line break (the value is a nested block).
    fn key_only(&mut self, indent: usize, key: &str) {
        self.key(key);
        self.put(':');
        self.put('\n');
        let _ = indent;
    }

    fn key(&mut self, key: &str) {
        let a = analyze(key);
        let style = choose(key, &a, true);
        self.scalar(key, style, false, 0);
    }

    /// `key: value` for a block mapping whose keys start at `indent`; the
    /// value continues (folded lines, literal block) at `indent + 2`.
    fn entry(&mut self, indent: usize, key: &str, value: &str, style: Style) {
        self.key(key);
        self.put(':');
        let value_indent = indent + BEST_INDENT;
        match style {
            Style::Raw => {
                self.put(' ');
                self.put_str(value);
            }
            Style::Auto => {
                let a = analyze(value);
                let chosen = choose(value, &a, false);
                self.put(' ');
                self.scalar(value, chosen, true, value_indent);
            }
        }
        if self.column != 0 {
            self.put('\n');
        }
    }

    fn scalar(&mut self, v: &str, style: Chosen, allow_breaks: bool, indent: usize) {
        match style {
            Chosen::Plain => self.plain(v, allow_breaks, indent),
            Chosen::SingleQuoted => self.single_quoted(v, allow_breaks, indent),
            Chosen::DoubleQuoted => self.double_quoted(v, allow_breaks, indent),
            Chosen::Literal => self.literal(v, indent),
        }
    }

    fn plain(&mut self, v: &str, allow_breaks: bool, indent: usize) {
        let chars: Vec<char> = v.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.break_to(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
    }

    fn single_quoted(&mut self, v: &str, allow_breaks: bool, indent: usize) {
        let chars: Vec<char> = v.chars().collect();
        self.put('\'');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != chars.len() - 1
                    && !next_space
                {
                    self.break_to(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                spaces = false;
            }
        }
        self.put('\'');
    }

    fn double_quoted(&mut self, v: &str, allow_breaks: bool, indent: usize) {
        let chars: Vec<char> = v.chars().collect();
        self.put('"');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let esc = match c {
                    '\0' => Some('0'),
                    '\u{07}' => Some('a'),
                    '\u{08}' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\u{0b}' => Some('v'),
                    '\u{0c}' => Some('f'),
                    '\r' => Some('r'),
                    '\u{1b}' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match esc {
                    Some(e) => self.put(e),
                    None => {
                        let n = c as u32;
                        let s = if n <= 0xff {
                            format!("x{n:02X}")
                        } else if n <= 0xffff {
                            format!("u{n:04X}")
                        } else {
                            format!("U{n:08X}")
                        };
                        self.put_str(&s);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != chars.len() - 1
                {
                    self.break_to(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.put('"');
    }

    fn literal(&mut self, v: &str, indent: usize) {
        let chars: Vec<char> = v.chars().collect();
        self.put('|');
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.put_str(&BEST_INDENT.to_string());
        }
        match chars.len() {
            0 => self.put('-'),
            n if !is_break(chars[n - 1]) => self.put('-'),
            1 => self.put('+'),
            n if is_break(chars[n - 2]) => self.put('+'),
            _ => {}
        }
        self.put('\n');
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                // libyaml writes every break as `\n` (CRLF pairs as one).
                if c != '\r' || !self.out.ends_with('\r') {
                    self.put('\n');
                }
                breaks = true;
            } else {
                if breaks {
                    while self.column < indent {
                        self.put(' ');
                    }
                }
                self.put(c);
                breaks = false;
            }
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable` (the emitter runs with `unicode` on in yaml.v2).
fn is_printable(c: char) -> bool {
    match c {
        '\n' => true,
        '\u{20}'..='\u{7e}' => true,
        '\u{a0}'..='\u{d7ff}' => true,
        '\u{e000}'..='\u{fffd}' => c != '\u{feff}',
        _ => false,
    }
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, for block context.
fn analyze(v: &str) -> Analysis {
    if v.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = v.chars().collect();
    let mut block_indicators = v.starts_with("---") || v.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let blank = |c: Option<&char>| matches!(c, None | Some(' ') | Some('\t'));
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = blank(chars.get(i + 1));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_whitespace => block_indicators = true,
                '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) || c == '\u{feff}' {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == chars.len() - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i == chars.len() - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// yaml.v2's choice for a Go string, then libyaml's downgrades.
fn choose(v: &str, a: &Analysis, simple_key: bool) -> Chosen {
    let mut style = if v.contains('\n') {
        Chosen::Literal
    } else if resolves_to_non_string(v) {
        Chosen::DoubleQuoted
    } else {
        Chosen::Plain
    };
    if simple_key && a.multiline {
        style = Chosen::DoubleQuoted;
    }
    if style == Chosen::Plain && (!a.block_plain_allowed || (v.is_empty() && simple_key)) {
        style = Chosen::SingleQuoted;
    }
    if style == Chosen::SingleQuoted && !a.single_quoted_allowed {
        style = Chosen::DoubleQuoted;
    }
    if style == Chosen::Literal && (!a.block_allowed || simple_key) {
        style = Chosen::DoubleQuoted;
    }
    style
}

/// Whether yaml.v2's resolver would read the plain scalar as something other
/// than a string (null, bool, int, float, timestamp, merge key, base-60
/// float), in which case the encoder double-quotes it.
fn resolves_to_non_string(v: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    if WORDS.contains(&v) {
        return true;
    }
    match v.chars().next() {
        Some(c) if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' => {}
        _ => return false,
    }
    let plain: String = v.chars().filter(|&c| c != '_').collect();
    is_go_int(&plain) || is_yaml_float(&plain) || is_timestamp(v) || is_base60_float(v)
}

/// `strconv.ParseInt(s, 0, 64)` / `ParseUint` syntax (range ignored: an
/// out-of-range decimal still matches the float pattern).
fn is_go_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return digits(h, 16);
    }
    if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        return digits(b, 2);
    }
    if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        return digits(o, 8);
    }
    if body.len() > 1 && body.starts_with('0') {
        return digits(&body[1..], 8);
    }
    digits(body, 10)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if int_digits == 0 && i == frac_start {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// yaml.v2 timestamps: `YYYY-M-D`, optionally followed by `T`, `t` or a
/// space and a time.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let run = |start: usize| b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b.len() < 8 || run(0) != 4 || b[4] != b'-' {
        return false;
    }
    let m = run(5);
    if !(1..=2).contains(&m) || b.get(5 + m) != Some(&b'-') {
        return false;
    }
    let d_at = 6 + m;
    let d = if d_at < b.len() { run(d_at) } else { 0 };
    if !(1..=2).contains(&d) {
        return false;
    }
    matches!(b.get(d_at + d), None | Some(b'T' | b't' | b' '))
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if frac.is_some_and(|f| !f.chars().all(|c| c.is_ascii_digit() || c == '_')) {
        return false;
    }
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    if !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(key_indent: usize, key: &str, v: &str) -> String {
        let mut w = Writer::new();
        w.indent_to(key_indent);
        w.entry(key_indent, key, v, Style::Auto);
        w.finish()
    }

    #[test]
    fn styles() {
        assert_eq!(value(0, "a", "svc01"), "a: svc01\n");
        assert_eq!(value(0, "a", "99.9"), "a: \"99.9\"\n");
        assert_eq!(value(0, "a", "95"), "a: \"95\"\n");
        assert_eq!(value(0, "a", ""), "a: \"\"\n");
        assert_eq!(value(0, "a", "yes"), "a: \"yes\"\n");
        assert_eq!(value(0, "a", "{x}"), "a: '{x}'\n");
        assert_eq!(value(0, "a", "it's {x}"), "a: it's {x}\n");
        assert_eq!(value(0, "a", "{it's}"), "a: '{it''s}'\n");
        assert_eq!(value(0, "a", "a: b"), "a: 'a: b'\n");
        assert_eq!(value(0, "a", "a\tb"), "a: \"a\\tb\"\n");
        assert_eq!(value(0, "a", "x\ny\n"), "a: |\n  x\n  y\n");
        assert_eq!(value(0, "a", "x\ny"), "a: |-\n  x\n  y\n");
        assert_eq!(value(0, "a", "x\n\ny\n\n"), "a: |+\n  x\n\n  y\n\n");
        assert_eq!(value(0, "a", " x\ny"), "a: |2-\n   x\n  y\n");
        assert_eq!(value(0, "a", "x \ny"), "a: \"x \\ny\"\n");
        assert_eq!(value(0, "a", "2024-01-02"), "a: \"2024-01-02\"\n");
        assert_eq!(value(0, "a", "1:30"), "a: \"1:30\"\n");
        assert_eq!(value(0, "a", "0x1F"), "a: \"0x1F\"\n");
        assert_eq!(value(0, "a", "5m"), "a: 5m\n");
        assert_eq!(value(0, "y", "v"), "\"y\": v\n");
    }

    #[test]
    fn folds_long_plain_scalars_past_column_80() {
        let v = "1 - slo:period_burn_rate:ratio{sloth_id=\"svc01-slo1\", sloth_service=\"svc01\", sloth_slo=\"slo1\"}";
        assert_eq!(
            value(4, "expr", v),
            "    expr: 1 - slo:period_burn_rate:ratio{sloth_id=\"svc01-slo1\", sloth_service=\"svc01\",\n      sloth_slo=\"slo1\"}\n"
        );
    }

    #[test]
    fn key_order_is_yaml_v2_natural_order() {
        let mut keys = vec![
            "b",
            "a10",
            "a9",
            "a_",
            "A",
            "sloth_window",
            "sloth_id",
            "global01k1",
        ];
        keys.sort_by(|a, b| go_key_order(a, b));
        assert_eq!(
            keys,
            [
                "A",
                "a_",
                "a9",
                "a10",
                "b",
                "global01k1",
                "sloth_id",
                "sloth_window"
            ]
        );
    }
}
