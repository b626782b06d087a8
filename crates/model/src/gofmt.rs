//! Go's number and string formatting, the one implementation every crate
//! uses where homeostat's output must match what a Go program (Prometheus,
//! Sloth, Alertmanager, promtool) writes byte for byte.
//!
//! - [`format_g`], [`format_e`], [`format_f`] are `strconv.FormatFloat(v,
//!   'g' | 'e' | 'f', prec, 64)`, `None` standing for precision -1 (the
//!   shortest digits that parse back to `v`). `format_g(v, None)` is also
//!   `fmt`'s `%v`; `format_g(v, Some(4))` is `%.4g`; `format_f(v, None)` is the
//!   value format of the Prometheus HTTP API.
//! - [`quote`] is `strconv.Quote` (and `%q`); its output is also a valid PromQL
//!   string literal, since Prometheus unquotes those with Go's rules.
//!
//! The digits come from Rust's float formatting, which, like Go's, yields the
//! shortest round-tripping digits and rounds a fixed precision exactly (ties
//! to even); only the layout around them is Go's.

/// `strconv.FormatFloat(v, 'g', prec, 64)`: `%e` layout when the decimal
/// exponent is below -4 or at least the precision (6 for the shortest form),
/// `%f` layout otherwise; trailing zeros are never written.
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s.into();
    }
    let d = match prec {
        None => Digits::shortest(v),
        // Go treats a precision of 0 as 1.
        Some(p) => Digits::significant(v, p.max(1)),
    };
    let eprec = prec.map_or(6, |p| p.max(1) as i32);
    let exp = d.point - 1;
    if exp < -4 || exp >= eprec {
        d.layout_e(d.digits.len() - 1)
    } else {
        d.layout_f((d.digits.len() as i32 - d.point).max(0) as usize)
    }
}

/// `strconv.FormatFloat(v, 'e', prec, 64)`: one digit before the point,
/// `prec` after it (as many as needed for the shortest form), and an exponent
/// of at least two digits (`1.5e-07`).
pub fn format_e(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s.into();
    }
    let d = match prec {
        None => Digits::shortest(v),
        Some(p) => Digits::from_sci(&format!("{v:.p$e}"), false),
    };
    d.layout_e(prec.unwrap_or(d.digits.len() - 1))
}

/// `strconv.FormatFloat(v, 'f', prec, 64)`: never an exponent.
pub fn format_f(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s.into();
    }
    match prec {
        // Rust's Display writes the shortest round-trip digits positionally,
        // exactly as Go does with precision -1.
        None => format!("{v}"),
        Some(p) => format!("{v:.p$}"),
    }
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// A finite float as decimal digits `0.d1d2d3… × 10^point`, Go's
/// `decimalSlice`.
struct Digits {
    neg: bool,
    /// ASCII digits; never empty, no leading zero unless the value is zero.
    digits: Vec<u8>,
    /// Position of the decimal point relative to the first digit.
    point: i32,
}

impl Digits {
    fn shortest(v: f64) -> Digits {
        Digits::from_sci(&format!("{v:e}"), true)
    }

    /// Rounded to `n` significant digits, trailing zeros dropped.
    fn significant(v: f64, n: usize) -> Digits {
        Digits::from_sci(&format!("{v:.prec$e}", prec = n - 1), true)
    }

    /// Parses Rust's `{:e}` output (`-1.2345e-7`).
    fn from_sci(s: &str, trim: bool) -> Digits {
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
        let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        if trim {
            while digits.len() > 1 && digits.last() == Some(&b'0') {
                digits.pop();
            }
        }
        if digits.is_empty() {
            digits.push(b'0');
        }
        Digits {
            neg,
            digits,
            point: exp.parse::<i32>().unwrap_or(0) + 1,
        }
    }

    fn sign(&self, out: &mut String) {
        if self.neg {
            out.push('-');
        }
    }

    /// Go's `fmtE`: `d.ddd` with `decimals` digits after the point.
    fn layout_e(&self, decimals: usize) -> String {
        let mut out = String::with_capacity(decimals + 8);
        self.sign(&mut out);
        out.push(char::from(self.digits[0]));
        if decimals > 0 {
            out.push('.');
            for i in 1..=decimals {
                out.push(char::from(*self.digits.get(i).unwrap_or(&b'0')));
            }
        }
        // Zero prints as `0e+00` whatever its digits say.
        let exp = if self.digits.iter().all(|&d| d == b'0') {
            0
        } else {
            self.point - 1
        };
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let exp = exp.unsigned_abs();
        if exp < 10 {
            out.push('0');
        }
        out.push_str(&exp.to_string());
        out
    }

    /// Go's `fmtF`: integer part, then `decimals` digits after the point.
    fn layout_f(&self, decimals: usize) -> String {
        let mut out = String::new();
        self.sign(&mut out);
        let digit = |i: i32| -> char {
            usize::try_from(i)
                .ok()
                .and_then(|i| self.digits.get(i))
                .map_or('0', |&d| char::from(d))
        };
        if self.point > 0 {
            for i in 0..self.point {
                out.push(digit(i));
            }
        } else {
            out.push('0');
        }
        if decimals > 0 {
            out.push('.');
            for i in 0..decimals as i32 {
                out.push(digit(self.point + i));
            }
        }
        out
    }
}

/// `strconv.Quote`: double quotes; backslash escapes for `"`, `\` and every
/// character Go does not consider printable (`\n`, `\x01`, `\u00a0`,
/// `\U000e0001`); printable Unicode as is.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    escape_into(&mut out, s, false);
    out.push('"');
    out
}

/// The inside of a PromQL string literal holding `s`, valid between `"…"` and
/// `'…'` alike: [`quote`]'s escapes, except that both quote characters are
/// written as `\x22` and `\x27`, since Prometheus' lexer accepts `\"` only in
/// a double-quoted and `\'` only in a single-quoted string.
pub fn promql_string_contents(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, true);
    out
}

fn escape_into(out: &mut String, s: &str, hex_quotes: bool) {
    for c in s.chars() {
        match c {
            '"' if hex_quotes => out.push_str("\\x22"),
            '\'' if hex_quotes => out.push_str("\\x27"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_go_printable(c) => out.push(c),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x1_0000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space. Without Unicode category tables this rejects the
/// categories label values realistically contain — controls (Cc), format
/// characters (Cf), separators other than the space (Zs, Zl, Zp) and private
/// use (Co); an unassigned code point, which Go escapes, is kept as is.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() {
        return false;
    }
    let u = c as u32;
    const NOT_PRINTABLE: &[(u32, u32)] = &[
        (0x00a0, 0x00a0),
        (0x00ad, 0x00ad),
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x1680, 0x1680),
        (0x180e, 0x180e),
        (0x2000, 0x200f),
        (0x2028, 0x202f),
        (0x205f, 0x2064),
        (0x2066, 0x206f),
        (0x3000, 0x3000),
        (0xe000, 0xf8ff),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0x10ffff),
    ];
    !NOT_PRINTABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Outputs of Go 1.22's `strconv.FormatFloat`.
    #[test]
    fn g_matches_go() {
        for (v, p, want) in [
            (1.0, None, "1"),
            (0.0, None, "0"),
            (-0.0, None, "-0"),
            (0.5, None, "0.5"),
            (1e6, None, "1e+06"),
            (123456.0, None, "123456"),
            (1234567.0, None, "1.234567e+06"),
            (0.0001, None, "0.0001"),
            (0.00001, None, "1e-05"),
            (-2.5e-7, None, "-2.5e-07"),
            (1e21, None, "1e+21"),
            (1e100, None, "1e+100"),
            (5e-324, None, "5e-324"),
            (f64::MAX, None, "1.7976931348623157e+308"),
            (99.9 / 100.0, None, "0.9990000000000001"),
            ((100.0 - 99.9) / 100.0, None, "0.0009999999999999432"),
            ((100.0 - 99.999) / 100.0, None, "1.0000000000047748e-05"),
            (1234.5678, Some(4), "1235"),
            (12345.0, Some(4), "1.234e+04"),
            (0.5, Some(4), "0.5"),
            (99.9, Some(4), "99.9"),
            (1.0, Some(4), "1"),
            (100.0, Some(4), "100"),
            (1200.0, Some(2), "1.2e+03"),
            (9.9999, Some(2), "10"),
            (0.000012345, Some(3), "1.23e-05"),
            (2.5, Some(0), "2"),
            (0.0, Some(4), "0"),
            (f64::NAN, Some(4), "NaN"),
            (f64::INFINITY, None, "+Inf"),
            (f64::NEG_INFINITY, None, "-Inf"),
        ] {
            assert_eq!(format_g(v, p), want, "{v} {p:?}");
        }
    }

    #[test]
    fn e_matches_go() {
        for (v, p, want) in [
            (1.0, None, "1e+00"),
            (0.25, None, "2.5e-01"),
            (123.0, None, "1.23e+02"),
            (0.0, None, "0e+00"),
            (-0.0, None, "-0e+00"),
            (1e-100, None, "1e-100"),
            (1.0, Some(3), "1.000e+00"),
            (123456.0, Some(2), "1.23e+05"),
            (0.0, Some(2), "0.00e+00"),
            (f64::NAN, None, "NaN"),
        ] {
            assert_eq!(format_e(v, p), want, "{v} {p:?}");
        }
    }

    #[test]
    fn f_matches_go() {
        for (v, p, want) in [
            (1.0, None, "1"),
            (-0.0, None, "-0"),
            (99.9, None, "99.9"),
            (0.1, None, "0.1"),
            (1e-7, None, "0.0000001"),
            (1e21, None, "1000000000000000000000"),
            (1.0 / 3.0, None, "0.3333333333333333"),
            (0.125, Some(2), "0.12"),
            (0.375, Some(2), "0.38"),
            (2.5, Some(0), "2"),
            (1.0, Some(6), "1.000000"),
            (-0.001, Some(2), "-0.00"),
            (f64::INFINITY, Some(2), "+Inf"),
        ] {
            assert_eq!(format_f(v, p), want, "{v} {p:?}");
        }
    }

    #[test]
    fn quote_matches_go() {
        for (s, want) in [
            ("svc01", r#""svc01""#),
            ("a\"b\\c\n", r#""a\"b\\c\n""#),
            ("é日本", "\"é日本\""),
            ("\u{07}\u{08}\u{0c}\r\t\u{0b}", r#""\a\b\f\r\t\v""#),
            ("\u{0}\u{1b}\u{7f}", r#""\x00\x1b\x7f""#),
            (
                "\u{85}\u{a0}\u{2028}\u{feff}",
                r#""\u0085\u00a0\u2028\ufeff""#,
            ),
            ("\u{e0001}😀", "\"\\U000e0001😀\""),
        ] {
            assert_eq!(quote(s), want, "{s:?}");
        }
    }

    /// Go's `strconv.Unquote` for what [`quote`] writes.
    fn unquote(q: &str) -> Option<String> {
        let body = q.strip_prefix('"')?.strip_suffix('"')?;
        let mut out = String::new();
        let mut it = body.chars();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let hex = |it: &mut std::str::Chars, n: usize| -> Option<char> {
                let h: String = it.by_ref().take(n).collect();
                char::from_u32(u32::from_str_radix(&h, 16).ok()?)
            };
            out.push(match it.next()? {
                'a' => '\u{07}',
                'b' => '\u{08}',
                'f' => '\u{0c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'v' => '\u{0b}',
                'x' => hex(&mut it, 2)?,
                'u' => hex(&mut it, 4)?,
                'U' => hex(&mut it, 8)?,
                c @ ('"' | '\\') => c,
                _ => return None,
            });
        }
        Some(out)
    }

    proptest! {
        #[test]
        fn shortest_forms_round_trip(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            for s in [format_g(v, None), format_e(v, None), format_f(v, None)] {
                prop_assert_eq!(s.parse::<f64>().ok().map(f64::to_bits), Some(v.to_bits()), "{}", s);
            }
        }

        #[test]
        fn g_picks_the_layout_by_exponent(bits in any::<u64>(), p in 1usize..20) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite() && v != 0.0);
            let g = format_g(v, Some(p));
            let e = format!("{v:.prec$e}", prec = p - 1);
            let rounded: f64 = e.parse().unwrap_or(f64::NAN);
            // The same rounding in either layout, and never trailing zeros.
            prop_assert_eq!(g.parse::<f64>().ok(), Some(rounded), "{} vs {}", g, e);
            let mantissa = g.split('e').next().unwrap_or("");
            prop_assert!(!mantissa.contains('.') || !mantissa.ends_with('0'), "{}", g);
            let exp: i32 = e.split('e').nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
            prop_assert_eq!(g.contains('e'), exp < -4 || exp >= p as i32, "{}", g);
        }

        #[test]
        fn e_with_precision_has_that_many_decimals(bits in any::<u64>(), p in 0usize..20) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            let e = format_e(v, Some(p));
            let mantissa = e.trim_start_matches('-').split('e').next().unwrap_or("");
            prop_assert_eq!(mantissa.len(), if p == 0 { 1 } else { p + 2 }, "{}", e);
            prop_assert_eq!(e.parse::<f64>().ok(), format!("{v:.p$e}").parse::<f64>().ok());
        }

        #[test]
        fn quote_round_trips_and_escapes_controls(s in any::<String>()) {
            let q = quote(&s);
            prop_assert_eq!(unquote(&q), Some(s.clone()));
            prop_assert!(!q.chars().any(char::is_control), "{}", q);
            let inner = promql_string_contents(&s);
            prop_assert!(!inner.contains(['"', '\'']), "{}", inner);
            prop_assert_eq!(unquote(&format!("\"{inner}\"")), Some(s));
        }
    }
}
