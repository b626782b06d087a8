//! What keeps a web browser from being turned against the server: a page on
//! another site can make the browser send requests here (CSRF), and a DNS
//! name the attacker controls can be re-pointed at this server's address
//! (DNS rebinding) so that its pages count as same-origin. So every request
//! must name a host we answer as; a state-changing request a browser sent
//! from another origin is refused; a JSON API takes JSON only (a
//! cross-origin `text/plain` POST needs no CORS preflight, an
//! `application/json` one does); and every answer carries headers that
//! keep the console from being framed or running injected script.

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use homeostat_model::ErrorKind;

use crate::{ApiError, AppState, Family};

/// The Content-Security-Policy of every answer: the console loads its own
/// scripts and stylesheet only, with no inline script or style anywhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'";

/// Which hosts and origins the server answers as. IP literals and
/// `localhost` are always accepted: rebinding needs a DNS name.
#[derive(Debug, Clone, Default)]
pub struct BrowserPolicy {
    /// Lowercase host names without port (config `web.allowed_hosts`).
    allowed_hosts: Vec<String>,
    /// `web.allowed_hosts` holds `*`: any host (a proxy in front checks it).
    any_host: bool,
    /// The origins of the URLs users reach the server at (`external_url`,
    /// `incidents.link_base_url`): same-origin even behind a proxy that
    /// rewrites `Host`.
    origins: Vec<Origin>,
}

impl BrowserPolicy {
    /// The policy for a server reached at `urls` (`external_url` and the
    /// like; unparsable ones are ignored, the config validated them) and by
    /// the names in `allowed_hosts` (`*` for any).
    pub fn new(urls: &[&str], allowed_hosts: &[String]) -> Self {
        let any_host = allowed_hosts.iter().any(|h| h.trim() == "*");
        let origins: Vec<Origin> = urls.iter().filter_map(|u| Origin::parse(u)).collect();
        let mut hosts: Vec<String> = allowed_hosts
            .iter()
            .map(|h| normalize_host(h))
            .filter(|h| h != "*")
            .collect();
        hosts.extend(origins.iter().map(|o| o.host.clone()));
        Self {
            allowed_hosts: hosts,
            any_host,
            origins,
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.any_host
            || is_ip_literal(host)
            || host == "localhost"
            || self.allowed_hosts.iter().any(|h| h == host)
    }
}

/// An origin's parts: lowercase scheme and host, and the port (the scheme's
/// default when the URL names none).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    /// `scheme://host[:port][/…]`; `None` for anything else (`null`, a
    /// bare host, an unknown scheme).
    fn parse(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        let (host, port) = split_authority(authority)?;
        Some(Origin {
            scheme,
            host,
            port: Some(port.unwrap_or(default)),
        })
    }

    /// Whether a request whose `Host` is `host:port` (port absent: the
    /// default of this origin's scheme) is same-origin with this one.
    fn same_as_host(&self, host: &str, port: Option<u16>) -> bool {
        let default = if self.scheme == "https" { 443 } else { 80 };
        self.host == host && self.port == Some(port.unwrap_or(default))
    }
}

/// `host[:port]` → lowercase host without a trailing dot, and the port;
/// IPv6 literals keep their brackets. `None` when malformed.
fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.rsplit('@').next()?;
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (format!("[{v6}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse().ok()?)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((normalize_host(&host), port))
}

fn normalize_host(h: &str) -> String {
    h.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn is_ip_literal(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => host.parse::<std::net::Ipv4Addr>().is_ok(),
    }
}

/// The host (and port) the request was sent to: the URI's authority (HTTP/2,
/// absolute-form), else the `Host` header. `Ok(None)` when it names none
/// (HTTP/1.0): no browser sends such a request.
fn request_host(req: &Request) -> Result<Option<(String, Option<u16>)>, String> {
    let raw = match req.uri().authority() {
        Some(a) => a.as_str().to_string(),
        None => match req.headers().get(header::HOST) {
            Some(v) => v
                .to_str()
                .map_err(|_| "the Host header is not text".to_string())?
                .to_string(),
            None => return Ok(None),
        },
    };
    split_authority(&raw)
        .map(Some)
        .ok_or_else(|| format!("the Host header {raw:?} is not a host[:port]"))
}

/// The envelope a refusal is answered in, by the API the path belongs to.
fn family_of(path: &str) -> Family {
    if path.starts_with("/api/v2/") {
        Family::Alertmanager
    } else if path == "/api/v1/write" || path == "/v1/metrics" {
        Family::Ingest
    } else {
        Family::Rest
    }
}

/// Routes under `/api/` whose bodies are not JSON: Prometheus's form posts
/// and protobuf endpoints.
fn takes_other_media_types(path: &str) -> bool {
    const FORMS: [&str; 7] = [
        "/api/v1/query",
        "/api/v1/query_range",
        "/api/v1/query_exemplars",
        "/api/v1/format_query",
        "/api/v1/series",
        "/api/v1/labels",
        "/api/v1/write",
    ];
    FORMS.contains(&path)
        || path == "/api/v1/read"
        || (path.starts_with("/api/v1/label/") && path.ends_with("/values"))
}

fn is_state_changing(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// A YAML media type: not one a cross-site form can send (CORS-safelisted
/// types are forms and text/plain), so as safe as JSON where a route
/// reads YAML.
fn is_yaml(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            let e = essence.trim().to_ascii_lowercase();
            e == "application/yaml" || e == "application/x-yaml" || e == "text/yaml"
        })
}

/// Routes that read a YAML body as well as JSON (Chaos Toolkit experiments).
fn takes_yaml(path: &str) -> bool {
    path == "/api/v1/chaos/experiments"
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Why a request is refused, if it is.
fn refusal(policy: &BrowserPolicy, req: &Request) -> Option<ApiError> {
    let path = req.uri().path();
    let forbidden = |msg: String| ApiError::new(ErrorKind::Forbidden, msg).family(family_of(path));
    let host = match request_host(req) {
        Ok(h) => h,
        Err(msg) => return Some(forbidden(msg)),
    };
    if let Some((name, _)) = &host
        && !policy.host_allowed(name)
    {
        return Some(forbidden(format!(
            "host {name:?} is not a name this server answers as (DNS rebinding protection); \
             add it to web.allowed_hosts in the config file, or set external_url"
        )));
    }
    if !is_state_changing(req.method()) {
        return None;
    }
    if let Some(msg) = cross_origin(policy, req.headers(), host.as_ref()) {
        return Some(forbidden(msg));
    }
    let has_body = req.body().size_hint().exact() != Some(0);
    if has_body
        && path.starts_with("/api/")
        && !takes_other_media_types(path)
        && !is_json(req.headers())
        && !(takes_yaml(path) && is_yaml(req.headers()))
    {
        let got = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| "none".into());
        return Some(
            ApiError::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "{} {path} takes a JSON body: send Content-Type: application/json{} (got {got:?})",
                    req.method(),
                    if takes_yaml(path) { " or application/yaml" } else { "" }
                ),
            )
            .family(family_of(path)),
        );
    }
    None
}

/// Why a state-changing request counts as cross-origin, if it does. Clients
/// other than browsers (the CLI, Prometheus, amtool) send no `Origin` and
/// no `Sec-Fetch-Site`, and pass.
fn cross_origin(
    policy: &BrowserPolicy,
    headers: &HeaderMap,
    host: Option<&(String, Option<u16>)>,
) -> Option<String> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return Some(
            "cross-site request refused (Sec-Fetch-Site: cross-site): \
             state-changing requests must come from this server's own pages"
                .into(),
        );
    }
    let raw = headers.get(header::ORIGIN)?;
    let text = String::from_utf8_lossy(raw.as_bytes());
    let same = Origin::parse(&text).is_some_and(|o| {
        host.is_some_and(|(h, p)| o.same_as_host(h, *p)) || policy.origins.contains(&o)
    });
    if same {
        return None;
    }
    Some(format!(
        "cross-origin request refused: Origin {text:?} is not this server \
         (the request's Host, or external_url in the config file)"
    ))
}

/// The middleware: refuses what [`refusal`] names, and adds the security
/// headers to every answer (unless the handler set its own).
pub async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = match refusal(&st.browser, &req) {
        Some(e) => {
            tracing::debug!(path = %req.uri().path(), method = %req.method(), error = %e.message, "request refused");
            e.into_response()
        }
        None => next.run(req).await,
    };
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_split_into_host_and_port() {
        for (raw, host, port) in [
            ("example.com", "example.com", None),
            ("Example.COM.:8080", "example.com", Some(8080)),
            ("127.0.0.1:9797", "127.0.0.1", Some(9797)),
            ("[::1]:9797", "[::1]", Some(9797)),
            ("[::1]", "[::1]", None),
        ] {
            assert_eq!(
                split_authority(raw),
                Some((host.to_string(), port)),
                "{raw}"
            );
        }
        for bad in ["", ":80", "x:port", "[::1", "[::1]x", "x:99999"] {
            assert_eq!(split_authority(bad), None, "{bad}");
        }
    }

    #[test]
    fn ip_literals_and_localhost_are_always_accepted() {
        let p = BrowserPolicy::default();
        for ok in ["127.0.0.1", "10.1.2.3", "[::1]", "[fe80::1]", "localhost"] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for no in [
            "example.com",
            "127.0.0.1.nip.io",
            "[nope]",
            "localhost.evil",
        ] {
            assert!(!p.host_allowed(no), "{no}");
        }
        let p = BrowserPolicy::new(
            &[
                "https://Homeostat.example.com/sub",
                "http://links.example.com:9797",
            ],
            &["Mon.Internal".into()],
        );
        assert!(p.host_allowed("homeostat.example.com"));
        assert!(p.host_allowed("mon.internal"));
        assert!(p.host_allowed("links.example.com"));
        assert!(!p.host_allowed("evil.example.com"));
        assert!(BrowserPolicy::new(&[], &["*".into()]).host_allowed("anything"));
    }

    #[test]
    fn origins_compare_with_default_ports() {
        let o = Origin::parse("http://h.example").unwrap_or_else(|| panic!("parses"));
        assert!(o.same_as_host("h.example", None));
        assert!(o.same_as_host("h.example", Some(80)));
        assert!(!o.same_as_host("h.example", Some(8080)));
        let s = Origin::parse("https://h.example:8443").unwrap_or_else(|| panic!("parses"));
        assert!(s.same_as_host("h.example", Some(8443)));
        assert!(!s.same_as_host("h.example", None));
        for bad in ["null", "h.example", "file:///etc", "javascript:alert(1)"] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_prometheus_form_and_protobuf_routes_take_other_types() {
        for p in [
            "/api/v1/query",
            "/api/v1/series",
            "/api/v1/write",
            "/api/v1/label/job/values",
        ] {
            assert!(takes_other_media_types(p), "{p}");
        }
        for p in [
            "/api/v1/incidents",
            "/api/v2/alerts",
            "/api/v1/tokens",
            "/api/v1/querything",
        ] {
            assert!(!takes_other_media_types(p), "{p}");
        }
    }
}
