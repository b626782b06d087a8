//! The web console: every page's content, the one layout they share (head,
//! stylesheet, navigation header, error box, scripts), the stylesheet and
//! the scripts, all embedded in the binary — no front-end build step, no
//! external fonts or CDNs. The pages are plain HTML fragments drawn by small
//! scripts of our own over the same JSON API every other client uses; the
//! `http` crate owns the routes and serves what this crate renders.

pub mod login;

/// A console page: where it is served, what it is called, which navigation
/// entry it belongs to, its content and its script.
#[derive(Debug)]
pub struct Page {
    /// The URL path it is served at.
    pub path: &'static str,
    /// Short name, also the `data-page` attribute of `<body>`.
    pub id: &'static str,
    pub title: &'static str,
    /// The navigation entry highlighted on this page, if any.
    pub nav: Option<Nav>,
    /// HTML inside `<main>`, after the title and the error box.
    pub body: &'static str,
    /// The page's own script under `/console/`, loaded after the shared ones.
    pub script: Option<&'static str>,
}

/// The entries of the navigation header, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Services,
    Slos,
    Alerts,
    Incidents,
    Oncall,
    Deploys,
    Chaos,
    Toil,
    Query,
}

impl Nav {
    pub const ALL: [Nav; 9] = [
        Nav::Services,
        Nav::Slos,
        Nav::Alerts,
        Nav::Incidents,
        Nav::Oncall,
        Nav::Deploys,
        Nav::Chaos,
        Nav::Toil,
        Nav::Query,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Nav::Services => "Services",
            Nav::Slos => "SLOs",
            Nav::Alerts => "Alerts",
            Nav::Incidents => "Incidents",
            Nav::Oncall => "On call",
            Nav::Deploys => "Deploys",
            Nav::Chaos => "Chaos",
            Nav::Toil => "Toil",
            Nav::Query => "Query",
        }
    }

    pub fn href(self) -> &'static str {
        match self {
            Nav::Services => "/",
            Nav::Slos => "/console/slos",
            Nav::Alerts => "/console/alerts",
            Nav::Incidents => "/console/incidents",
            Nav::Oncall => "/console/oncall",
            Nav::Deploys => "/console/deploys",
            Nav::Chaos => "/console/chaos",
            Nav::Toil => "/console/toil",
            Nav::Query => "/console/query",
        }
    }
}

const fn page(
    path: &'static str,
    id: &'static str,
    title: &'static str,
    nav: Option<Nav>,
    body: &'static str,
    script: Option<&'static str>,
) -> Page {
    Page {
        path,
        id,
        title,
        nav,
        body,
        script,
    }
}

/// Every console page.
pub const PAGES: &[Page] = &[
    page(
        "/",
        "catalog",
        "Services",
        Some(Nav::Services),
        include_str!("../pages/catalog.html"),
        Some("catalog.js"),
    ),
    page(
        "/console/service",
        "service",
        "Service",
        Some(Nav::Services),
        include_str!("../pages/service.html"),
        Some("service.js"),
    ),
    page(
        "/console/services",
        "services",
        "Golden signals, last 6 hours",
        Some(Nav::Services),
        include_str!("../pages/services.html"),
        Some("services.js"),
    ),
    page(
        "/console/slos",
        "slos",
        "Service level objectives",
        Some(Nav::Slos),
        include_str!("../pages/slos.html"),
        Some("slos.js"),
    ),
    page(
        "/console/slo",
        "slo",
        "SLO",
        Some(Nav::Slos),
        include_str!("../pages/slo.html"),
        Some("slos.js"),
    ),
    page(
        "/console/alerts",
        "alerts",
        "Alerts",
        Some(Nav::Alerts),
        include_str!("../pages/alerts.html"),
        Some("alerts.js"),
    ),
    page(
        "/console/incidents",
        "incidents",
        "Incidents",
        Some(Nav::Incidents),
        include_str!("../pages/incidents.html"),
        Some("incidents.js"),
    ),
    page(
        "/console/incident",
        "incident",
        "Incident",
        Some(Nav::Incidents),
        include_str!("../pages/incident.html"),
        Some("incidents.js"),
    ),
    page(
        "/console/oncall",
        "oncall",
        "On call",
        Some(Nav::Oncall),
        include_str!("../pages/oncall.html"),
        Some("oncall.js"),
    ),
    page(
        "/console/deploys",
        "deploys",
        "Deploys and analysis",
        Some(Nav::Deploys),
        include_str!("../pages/deploys.html"),
        Some("deploys.js"),
    ),
    page(
        "/console/chaos",
        "chaos",
        "Chaos and traffic",
        Some(Nav::Chaos),
        include_str!("../pages/chaos.html"),
        Some("chaos.js"),
    ),
    page(
        "/console/toil",
        "toil",
        "Toil",
        Some(Nav::Toil),
        include_str!("../pages/toil.html"),
        Some("toil.js"),
    ),
    page(
        "/console/query",
        "query",
        "Query",
        Some(Nav::Query),
        include_str!("../pages/query.html"),
        Some("query.js"),
    ),
    page(
        "/console/about",
        "about",
        "About and API",
        None,
        include_str!("../pages/about.html"),
        None,
    ),
];

/// A static file under `/console/`.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

const fn js(name: &'static str, body: &'static str) -> Asset {
    Asset {
        name,
        content_type: JS,
        body,
    }
}

/// The stylesheet and every script, served at `/console/<name>`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/style.css"),
    },
    js("common.js", include_str!("../assets/common.js")),
    js("chart.js", include_str!("../assets/chart.js")),
    js("catalog.js", include_str!("../assets/catalog.js")),
    js("service.js", include_str!("../assets/service.js")),
    js("services.js", include_str!("../assets/services.js")),
    js("slos.js", include_str!("../assets/slos.js")),
    js("alerts.js", include_str!("../assets/alerts.js")),
    js("incidents.js", include_str!("../assets/incidents.js")),
    js("oncall.js", include_str!("../assets/oncall.js")),
    js("deploys.js", include_str!("../assets/deploys.js")),
    js("chaos.js", include_str!("../assets/chaos.js")),
    js("toil.js", include_str!("../assets/toil.js")),
    js("query.js", include_str!("../assets/query.js")),
];

/// The asset called `name`, if there is one.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The page served at `path`, if there is one.
pub fn page_at(path: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.path == path)
}

/// The whole HTML document of `page`: the shared layout around its body.
pub fn render(page: &Page) -> String {
    let mut nav = String::new();
    for n in Nav::ALL {
        let current = page.nav == Some(n);
        nav.push_str(&format!(
            "<a href=\"{}\"{}>{}</a>",
            n.href(),
            if current {
                " class=\"current\" aria-current=\"page\""
            } else {
                ""
            },
            n.label()
        ));
    }
    let script = page
        .script
        .map(|s| format!("<script src=\"/console/{s}\"></script>\n"))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} — homeostat</title>\n\
<link rel=\"stylesheet\" href=\"/console/style.css\">\n</head>\n\
<body data-page=\"{id}\">\n\
<header class=\"top\"><a class=\"brand\" href=\"/\">homeostat</a><nav>{nav}</nav></header>\n\
<main>\n<h1 id=\"title\">{title}</h1>\n<div id=\"error\" role=\"alert\"></div>\n\
<div id=\"loading\" class=\"loading\" role=\"status\">Loading…</div>\n{body}</main>\n\
<footer><a href=\"/console/about\">About and API endpoints</a></footer>\n\
<script src=\"/console/common.js\"></script>\n<script src=\"/console/chart.js\"></script>\n{script}\
</body>\n</html>\n",
        title = page.title,
        id = page.id,
        body = page.body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_the_layout_and_its_script_exists() {
        for p in PAGES {
            let html = render(p);
            assert!(html.contains("href=\"/console/style.css\""), "{}", p.path);
            // common.js hides it once the page's API calls have answered.
            assert!(html.contains("id=\"loading\""), "{}", p.path);
            for n in Nav::ALL {
                assert!(
                    html.contains(&format!("href=\"{}\"", n.href())),
                    "{}",
                    p.path
                );
            }
            assert!(
                !html.contains("<style"),
                "{} has its own style block",
                p.path
            );
            if let Some(s) = p.script {
                assert!(asset(s).is_some(), "{} loads missing {s}", p.path);
            }
            if let Some(n) = p.nav {
                assert!(html.contains(&format!(
                    "<a href=\"{}\" class=\"current\" aria-current=\"page\">",
                    n.href()
                )));
            }
        }
    }

    /// The console runs under a Content-Security-Policy without
    /// 'unsafe-inline': an inline script, style or event handler would be
    /// refused by the browser, and HTML built from strings could carry
    /// data as markup.
    #[test]
    fn nothing_inline_that_the_csp_refuses() {
        for p in PAGES {
            let html = render(p);
            for (i, _) in html.match_indices("<script") {
                let tag = &html[i..html[i..].find('>').map_or(html.len(), |e| i + e)];
                assert!(tag.contains(" src="), "{}: inline script {tag}", p.path);
            }
            assert!(!html.contains(" style="), "{}: style attribute", p.path);
            assert!(!html.contains("<style"), "{}: style block", p.path);
            assert_eq!(inline_handler(&html), None, "{}", p.path);
        }
        for a in ASSETS {
            for bad in [
                ".innerHTML",
                ".outerHTML",
                "insertAdjacentHTML",
                "eval(",
                "new Function",
            ] {
                assert!(!a.body.contains(bad), "{} uses {bad}", a.name);
            }
        }
    }

    /// The first ` on…=` attribute in `html`, if any.
    fn inline_handler(html: &str) -> Option<String> {
        html.match_indices(" on").find_map(|(i, _)| {
            let rest = &html[i + 3..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            (!name.is_empty() && rest[name.len()..].starts_with('=')).then(|| format!("on{name}"))
        })
    }

    #[test]
    fn paths_and_assets_are_unique() {
        for (i, p) in PAGES.iter().enumerate() {
            assert!(
                PAGES[i + 1..].iter().all(|q| q.path != p.path),
                "{}",
                p.path
            );
        }
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(
                ASSETS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
        assert!(page_at("/console/nope").is_none());
    }
}
