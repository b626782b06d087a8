//! Go's float and string formatting, as Sloth's output depends on it.
//!
//! - [`format_g`] is Go's `%g` / `%v` for a `float64` (`strconv` `'g'` with
//!   precision -1): the shortest digits that round-trip, in `%e` form when
//!   the decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
//! - [`format_f`] is `strconv.FormatFloat(x, 'f', -1, 64)`: the shortest
//!   round-trip digits, never in exponent form.
//! - [`quote`] is Go's `%q` for the ASCII and printable characters that label
//!   values contain.

/// Go's `%g` (and `%v`) for a `float64`.
pub fn format_g(x: f64) -> String {
    if !x.is_finite() {
        return format_special(x);
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Go.
    let sci = format!("{x:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format_f(x)
    }
}

/// `strconv.FormatFloat(x, 'f', -1, 64)`.
pub fn format_f(x: f64) -> String {
    if !x.is_finite() {
        return format_special(x);
    }
    // Rust's Display prints the shortest round-trip digits without exponent.
    format!("{x}")
}

fn format_special(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

/// Go's `%q` for a string: double quotes, backslash escapes for quotes,
/// backslashes and control characters; printable Unicode kept as is.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_matches_go() {
        assert_eq!(format_g(99.9 / 100.0), "0.9990000000000001");
        assert_eq!(format_g((100.0 - 99.9) / 100.0), "0.0009999999999999432");
        assert_eq!(format_g(14.4), "14.4");
        assert_eq!(format_g(6.0), "6");
        assert_eq!(format_g(30.0), "30");
        assert_eq!(format_g(1e6), "1e+06");
        assert_eq!(format_g(123456.0), "123456");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g((100.0 - 99.999) / 100.0), "1.0000000000047748e-05");
        assert_eq!(format_g(1e21), "1e+21");
        assert_eq!(format_g(-2.5e-7), "-2.5e-07");
    }

    #[test]
    fn f_matches_go() {
        assert_eq!(format_f(99.9), "99.9");
        assert_eq!(format_f(95.0), "95");
        assert_eq!(format_f(99.99), "99.99");
        assert_eq!(format_f(1e21), "1000000000000000000000");
        assert_eq!(format_f(0.00001), "0.00001");
    }

    #[test]
    fn quote_matches_go() {
        assert_eq!(quote("svc01"), "\"svc01\"");
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(quote("é"), "\"é\"");
    }
}
