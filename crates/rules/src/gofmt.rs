//! Go's float formatting (`%v`, `%.4g`, `%e`) for template output and the
//! alert `value` field, which Prometheus formats with Go's `fmt`/`strconv`.

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// Splits Rust's `{:e}` output into mantissa digits and the exponent.
fn sci(v: f64, prec: Option<usize>) -> (String, i32) {
    let s = match prec {
        Some(p) => format!("{:.*e}", p, v),
        None => format!("{v:e}"),
    };
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    (m.to_string(), e.parse().unwrap_or(0))
}

fn exp_suffix(e: i32) -> String {
    let sign = if e < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", e.unsigned_abs())
}

fn trim_zeros(m: &str) -> String {
    if m.contains('.') {
        m.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        m.to_string()
    }
}

/// `strconv.FormatFloat(v, 'g', prec, 64)`; `None` is the shortest form
/// (Go's `%v`).
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let (m, e) = sci(v, prec.map(|p| p.max(1) - 1));
    // Go: an exponent below -4 or at least the precision (6 for the
    // shortest form) is written as %e; trailing zeros are dropped either way.
    let eprec = prec.map_or(6, |p| p.max(1) as i32);
    if e < -4 || e >= eprec {
        format!("{}{}", trim_zeros(&m), exp_suffix(e))
    } else {
        let digits = m.chars().filter(char::is_ascii_digit).count() as i32;
        let decimals = (digits - 1 - e).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}"))
    }
}

/// `strconv.FormatFloat(v, 'e', -1, 64)`: the alert `value` in the HTTP API.
pub fn format_e(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let (m, e) = sci(v, None);
    format!("{m}{}", exp_suffix(e))
}

/// `%.Nf`.
pub fn format_f(v: f64, prec: usize) -> String {
    special(v).unwrap_or_else(|| format!("{v:.prec$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_matches_go() {
        for (v, p, want) in [
            (1.0, None, "1"),
            (0.5, None, "0.5"),
            (1e6, None, "1e+06"),
            (123456.0, None, "123456"),
            (1234567.0, None, "1.234567e+06"),
            (0.0001, None, "0.0001"),
            (0.00001, None, "1e-05"),
            (1234.5678, Some(4), "1235"),
            (12345.0, Some(4), "1.234e+04"),
            (0.5, Some(4), "0.5"),
            (99.9, Some(4), "99.9"),
            (1.0, Some(4), "1"),
            (f64::NAN, Some(4), "NaN"),
        ] {
            assert_eq!(format_g(v, p), want, "{v} {p:?}");
        }
    }

    #[test]
    fn e_matches_go() {
        assert_eq!(format_e(1.0), "1e+00");
        assert_eq!(format_e(0.25), "2.5e-01");
        assert_eq!(format_e(123.0), "1.23e+02");
    }
}
