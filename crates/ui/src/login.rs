//! The sign-in page: a plain form posted to `/login`, in the console's
//! layout and stylesheet, with no script (it must work under a CSP that
//! allows no inline code).

/// The sign-in page; `next` is where the browser goes after signing in
/// (already checked to be a local path), `message` why the last try failed.
pub fn render(next: &str, message: Option<&str>) -> String {
    let message = message
        .map(|m| {
            format!(
                "<p class=\"login-error\" role=\"alert\">{}</p>\n",
                escape(m)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>Sign in — homeostat</title>\n\
<link rel=\"stylesheet\" href=\"/console/style.css\">\n</head>\n\
<body data-page=\"login\">\n\
<header class=\"top\"><a class=\"brand\" href=\"/\">homeostat</a></header>\n\
<main class=\"login\">\n<h1 id=\"title\">Sign in</h1>\n{message}\
<form method=\"post\" action=\"/login\" class=\"login-form\">\n\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\n\
<label>User <input name=\"user\" autocomplete=\"username\" required autofocus></label>\n\
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\n\
<button type=\"submit\">Sign in</button>\n</form>\n</main>\n</body>\n</html>\n",
        next = escape(next),
    )
}

/// Escapes text for an HTML text node or a quoted attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_next_and_has_no_inline_code() {
        let html = render("/x\"><script>alert(1)</script>", Some("wrong <b>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<style"), "{html}");
        assert!(!html.contains(" style="), "{html}");
        assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
        assert!(html.contains("wrong &lt;b&gt;"), "{html}");
        assert!(html.contains("action=\"/login\""));
    }
}
