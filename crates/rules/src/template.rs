//! A small expander for the Go-template subset Prometheus rule labels and
//! annotations use: `{{ $labels.x }}`, `{{ .Labels.x }}`, `{{ $value }}`,
//! `{{ .Value }}`, `$externalLabels`, `$externalURL`, string and number
//! literals, pipes, and the functions `humanize`, `humanize1024`,
//! `humanizePercentage`, `humanizeDuration`, `printf`, `toUpper`, `toLower`,
//! `title`, `index`. `{{-`/`-}}` trim whitespace and `{{/* */}}` comments are
//! honoured. Anything else is an error naming the construct, which the caller
//! writes into the label or annotation as Prometheus does.

use std::collections::BTreeMap;

use homeostat_model::gofmt::{format_f, format_g};

/// What a template can see.
#[derive(Debug, Clone, Copy)]
pub struct TemplateData<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub value: f64,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
enum V {
    Str(String),
    Num(f64),
}

impl V {
    fn render(&self) -> String {
        match self {
            V::Str(s) => s.clone(),
            V::Num(v) => format_g(*v, None),
        }
    }
    fn num(&self, func: &str) -> Result<f64, String> {
        match self {
            V::Num(v) => Ok(*v),
            V::Str(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("{func}: cannot convert {s:?} to a number")),
        }
    }
}

/// Expands `text`; on failure returns the error message (without the
/// `<error expanding template: …>` wrapper).
pub fn expand(text: &str, data: &TemplateData<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let mut literal = &rest[..open];
        let after = &rest[open + 2..];
        let (after, trim_left) = match after.strip_prefix('-') {
            Some(a) if a.starts_with([' ', '\t', '\n', '\r']) => (a, true),
            _ => (after, false),
        };
        if trim_left {
            literal = literal.trim_end();
        }
        out.push_str(literal);
        let close = find_close(after).ok_or_else(|| "unclosed action".to_string())?;
        let mut action = &after[..close];
        let mut next = &after[close + 2..];
        if let Some(a) = action.strip_suffix('-')
            && a.ends_with([' ', '\t', '\n', '\r'])
        {
            action = a;
            next = next.trim_start();
        }
        let action = action.trim();
        if !(action.starts_with("/*") && action.ends_with("*/")) {
            out.push_str(&eval_pipeline(action, data)?.render());
        }
        rest = next;
    }
    out.push_str(rest);
    Ok(out)
}

/// Finds the `}}` closing an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' && q == b'"' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => {
                if b[i] == b'"' || b[i] == b'`' {
                    quote = Some(b[i]);
                } else if b[i] == b'}' && b.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

/// Splits on `sep` outside quotes; with `sep == ' '`, runs of whitespace
/// separate and empty pieces are dropped.
fn split_outside_quotes(s: &str, sep: char) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == '\\' && q == '"' {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                let is_sep = if sep == ' ' {
                    c.is_whitespace()
                } else {
                    c == sep
                };
                if is_sep {
                    parts.push(std::mem::take(&mut cur));
                } else {
                    if c == '"' || c == '`' {
                        quote = Some(c);
                    }
                    cur.push(c);
                }
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quoted string".into());
    }
    parts.push(cur);
    if sep == ' ' {
        parts.retain(|p| !p.is_empty());
    }
    Ok(parts)
}

fn eval_pipeline(action: &str, data: &TemplateData<'_>) -> Result<V, String> {
    if action.is_empty() {
        return Err("missing value for command".into());
    }
    let mut piped: Option<V> = None;
    for cmd in split_outside_quotes(action, '|')? {
        let words = split_outside_quotes(&cmd, ' ')?;
        let Some((head, args)) = words.split_first() else {
            return Err("missing command in pipeline".into());
        };
        let is_term = head.starts_with(['$', '.', '"', '`']) || head.parse::<f64>().is_ok();
        let value = if is_term {
            if !args.is_empty() || piped.is_some() {
                return Err(format!("can't give argument to non-function {head}"));
            }
            term(head, data)?
        } else {
            let mut vals = args
                .iter()
                .map(|a| term(a, data))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(p) = piped.take() {
                vals.push(p);
            }
            call(head, &vals)?
        };
        piped = Some(value);
    }
    piped.ok_or_else(|| "empty pipeline".into())
}

fn lookup(map: &BTreeMap<String, String>, key: &str) -> V {
    V::Str(map.get(key).cloned().unwrap_or_default())
}

fn term(word: &str, data: &TemplateData<'_>) -> Result<V, String> {
    if let Some(s) = word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        return Ok(V::Str(unescape(s)));
    }
    if let Some(s) = word.strip_prefix('`').and_then(|w| w.strip_suffix('`')) {
        return Ok(V::Str(s.to_string()));
    }
    if let Ok(v) = word.parse::<f64>() {
        return Ok(V::Num(v));
    }
    let (root, field) = match word.split_once('.') {
        Some(("", rest)) => match rest.split_once('.') {
            Some((r, f)) => (format!(".{r}"), Some(f)),
            None => (word.to_string(), None),
        },
        Some((r, f)) => (r.to_string(), Some(f)),
        None => (word.to_string(), None),
    };
    match (root.as_str(), field) {
        ("$labels" | ".Labels", Some(f)) => Ok(lookup(data.labels, f)),
        ("$externalLabels" | ".ExternalLabels", Some(f)) => Ok(lookup(data.external_labels, f)),
        ("$value" | ".Value", None) => Ok(V::Num(data.value)),
        ("$externalURL" | ".ExternalURL", None) => Ok(V::Str(data.external_url.to_string())),
        _ => Err(format!("unsupported template construct {word:?}")),
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn one<'a>(func: &str, args: &'a [V]) -> Result<&'a V, String> {
    match args {
        [a] => Ok(a),
        _ => Err(format!(
            "wrong number of args for {func}: want 1 got {}",
            args.len()
        )),
    }
}

fn call(func: &str, args: &[V]) -> Result<V, String> {
    match func {
        "humanize" => Ok(V::Str(humanize(one(func, args)?.num(func)?))),
        "humanize1024" => Ok(V::Str(humanize1024(one(func, args)?.num(func)?))),
        "humanizePercentage" => Ok(V::Str(format!(
            "{}%",
            format_g(one(func, args)?.num(func)? * 100.0, Some(4))
        ))),
        "humanizeDuration" => Ok(V::Str(humanize_duration(one(func, args)?.num(func)?))),
        "toUpper" => Ok(V::Str(one(func, args)?.render().to_uppercase())),
        "toLower" => Ok(V::Str(one(func, args)?.render().to_lowercase())),
        "title" => Ok(V::Str(title(&one(func, args)?.render()))),
        "index" => match args {
            [_, V::Str(_)] => Err("index: only $labels and $externalLabels can be indexed".into()),
            _ => Err(format!(
                "wrong number of args for index: want 2 got {}",
                args.len()
            )),
        },
        "printf" => match args.split_first() {
            Some((V::Str(f), rest)) => printf(f, rest),
            _ => Err("printf: the first argument must be a format string".into()),
        },
        other => Err(format!("function {other:?} not defined")),
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// `printf` with the verbs alerts use: `%s %v %d %f %.Nf %g %.Ng %e %%`.
fn printf(format: &str, args: &[V]) -> Result<V, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            prec = Some(digits.parse().unwrap_or(0));
        }
        let verb = chars.next().ok_or("printf: format ends with %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .next()
            .ok_or(format!("printf: missing argument for %{verb}"))?;
        match verb {
            's' | 'v' => out.push_str(&arg.render()),
            'd' => out.push_str(&format!("{}", arg.num("printf")? as i64)),
            'f' => out.push_str(&format_f(arg.num("printf")?, Some(prec.unwrap_or(6)))),
            'g' => out.push_str(&format_g(arg.num("printf")?, prec)),
            'e' => out.push_str(&format!("{:.*e}", prec.unwrap_or(6), arg.num("printf")?)),
            other => return Err(format!("printf: unsupported verb %{other}")),
        }
    }
    Ok(V::Str(out))
}

/// Prometheus's `humanize`: SI prefixes, four significant digits.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

/// Prometheus's `humanizeDuration` (seconds in, `1d 2h 3m 4s` out).
pub fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}s", format_g(v, Some(4)))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g(v, Some(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tmpl: &str, want: &str) {
        let labels = BTreeMap::from([
            ("job".to_string(), "api".to_string()),
            ("instance".to_string(), "h:1".to_string()),
            ("ratio".to_string(), "0.25".to_string()),
        ]);
        let ext = BTreeMap::from([("cluster".to_string(), "eu1".to_string())]);
        let data = TemplateData {
            labels: &labels,
            value: 1234.5678,
            external_labels: &ext,
            external_url: "http://h:9797",
        };
        match expand(tmpl, &data) {
            Ok(got) => assert_eq!(got, want, "{tmpl}"),
            Err(e) => assert_eq!(format!("ERR {e}"), want, "{tmpl}"),
        }
    }

    #[test]
    fn expands_common_constructs() {
        check("plain", "plain");
        check("{{ $labels.job }} on {{.Labels.instance}}", "api on h:1");
        check("{{ $labels.missing }}", "");
        check("v={{ $value }}", "v=1234.5678");
        check("v={{ .Value }}", "v=1234.5678");
        check("{{ $value | humanize }}", "1.235k");
        check("{{ humanize $value }}", "1.235k");
        check("{{ $labels.ratio | humanizePercentage }}", "25%");
        check("{{ 0.000123 | humanize }}", "123u");
        check("{{ 90061 | humanizeDuration }}", "1d 1h 1m 1s");
        check("{{ 0.25 | humanizeDuration }}", "250ms");
        check("{{ 3.5 | humanizeDuration }}", "3.5s");
        check("{{ 2048 | humanize1024 }}", "2ki");
        check(
            "{{ $externalLabels.cluster }} {{ $externalURL }}",
            "eu1 http://h:9797",
        );
        check("{{ printf \"%.2f\" $value }}", "1234.57");
        check("a {{- \" b \" -}} c", "a b c");
        check("{{/* comment */}}x", "x");
        check("{{ $labels.job | toUpper }}", "API");
    }

    #[test]
    fn unknown_constructs_are_errors_not_panics() {
        check(
            "{{ if $value }}x{{ end }}",
            "ERR function \"if\" not defined",
        );
        check(
            "{{ $labels }}",
            "ERR unsupported template construct \"$labels\"",
        );
        check("{{ $value | nope }}", "ERR function \"nope\" not defined");
        check("{{ $value", "ERR unclosed action");
        check("{{ \"abc }}", "ERR unclosed action");
        check("{{ }}", "ERR missing value for command");
        check(
            "{{ $labels.job | humanize }}",
            "ERR humanize: cannot convert \"api\" to a number",
        );
    }
}
