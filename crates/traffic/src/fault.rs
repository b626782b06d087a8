//! HTTP faults with Envoy's fault filter semantics: a fault matches
//! requests by path (prefix or exact), method and headers (exact value,
//! present, regex), then delays a percentage of them by a fixed time and/or
//! aborts a percentage with a status. Several faults may match one request:
//! their delays add up and the first abort wins.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A fault as written in the config file or `POST …/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub name: String,
    #[serde(
        default,
        rename = "match",
        skip_serializing_if = "FaultMatch::is_empty"
    )]
    pub matcher: FaultMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<AbortSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelaySpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// The exact path (without the query string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Any of these methods; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// All of these must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatchSpec>,
}

impl FaultMatch {
    fn is_empty(&self) -> bool {
        *self == FaultMatch::default()
    }
}

/// Exactly one of `exact`, `present`, `regex` (a full match, as Envoy's
/// `safe_regex`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatchSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortSpec {
    pub http_status: u16,
    /// 0 to 100; default 100.
    #[serde(default = "hundred")]
    pub percentage: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelaySpec {
    /// A duration such as `500ms` or `2s`.
    pub fixed_delay: String,
    /// 0 to 100; default 100.
    #[serde(default = "hundred")]
    pub percentage: f64,
}

fn hundred() -> f64 {
    100.0
}

/// A fault spec that does not validate: which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FaultError {
    pub field: String,
    pub problem: String,
}

fn bad(field: &str, problem: impl Into<String>) -> FaultError {
    FaultError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// A validated fault, ready to match.
#[derive(Debug, Clone)]
pub struct Fault {
    pub spec: FaultSpec,
    methods: Vec<hyper::Method>,
    headers: Vec<(hyper::header::HeaderName, HeaderTest)>,
    abort: Option<(hyper::StatusCode, f64)>,
    delay: Option<(Duration, f64)>,
}

#[derive(Debug, Clone)]
enum HeaderTest {
    Exact(String),
    Present(bool),
    Regex(regex::Regex),
}

fn percentage(field: &str, p: f64) -> Result<f64, FaultError> {
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(bad(field, format!("{p} is not a percentage from 0 to 100")))
    }
}

/// What a route or fault name may be (they appear in URL paths and metric labels).
pub const NAME_RULE: &str = "must be 1 to 100 of A-Z a-z 0-9 - _ .";

/// Whether `name` follows [`NAME_RULE`].
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl FaultSpec {
    pub fn compile(&self) -> Result<Fault, FaultError> {
        if !is_valid_name(&self.name) {
            return Err(bad("name", NAME_RULE));
        }
        if self.abort.is_none() && self.delay.is_none() {
            return Err(bad("", "a fault needs an abort, a delay or both"));
        }
        let m = &self.matcher;
        for (field, p) in [
            ("match.path_prefix", &m.path_prefix),
            ("match.path", &m.path),
        ] {
            if p.as_ref().is_some_and(|p| !p.starts_with('/')) {
                return Err(bad(field, "must start with /"));
            }
        }
        let methods = m
            .methods
            .iter()
            .enumerate()
            .map(|(i, s)| {
                hyper::Method::from_bytes(s.to_ascii_uppercase().as_bytes()).map_err(|_| {
                    bad(
                        &format!("match.methods[{i}]"),
                        format!("{s:?} is not an HTTP method"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let headers = m
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let field = format!("match.headers[{i}]");
                let name =
                    hyper::header::HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| {
                        bad(
                            &format!("{field}.name"),
                            format!("{:?} is not a header name", h.name),
                        )
                    })?;
                let test = match (&h.exact, h.present, &h.regex) {
                    (Some(v), None, None) => HeaderTest::Exact(v.clone()),
                    (None, Some(p), None) => HeaderTest::Present(p),
                    (None, None, Some(r)) => HeaderTest::Regex(
                        regex::Regex::new(&format!("^(?:{r})$"))
                            .map_err(|e| bad(&format!("{field}.regex"), e.to_string()))?,
                    ),
                    _ => return Err(bad(&field, "needs exactly one of exact, present, regex")),
                };
                Ok((name, test))
            })
            .collect::<Result<_, _>>()?;
        let abort = match &self.abort {
            None => None,
            Some(a) => {
                let status = hyper::StatusCode::from_u16(a.http_status)
                    .ok()
                    .filter(|s| (200..600).contains(&s.as_u16()))
                    .ok_or_else(|| {
                        bad(
                            "abort.http_status",
                            format!("{} is not a status from 200 to 599", a.http_status),
                        )
                    })?;
                Some((status, percentage("abort.percentage", a.percentage)?))
            }
        };
        let delay = match &self.delay {
            None => None,
            Some(d) => {
                let t = homeostat_model::parse_duration(&d.fixed_delay)
                    .map_err(|e| bad("delay.fixed_delay", e.to_string()))?;
                if t > Duration::from_secs(3600) {
                    return Err(bad("delay.fixed_delay", "must be at most 1h"));
                }
                Some((t, percentage("delay.percentage", d.percentage)?))
            }
        };
        Ok(Fault {
            spec: self.clone(),
            methods,
            headers,
            abort,
            delay,
        })
    }
}

/// What the faults decided for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Injection {
    pub delay: Duration,
    pub abort: Option<hyper::StatusCode>,
    /// Names of the faults that fired (delay or abort), for the metrics.
    pub fired: Vec<(String, &'static str)>,
}

impl Fault {
    pub fn matches<B>(&self, req: &hyper::Request<B>) -> bool {
        let m = &self.spec.matcher;
        let path = req.uri().path();
        if m.path_prefix
            .as_ref()
            .is_some_and(|p| !path.starts_with(p.as_str()))
            || m.path.as_ref().is_some_and(|p| path != p)
            || (!self.methods.is_empty() && !self.methods.contains(req.method()))
        {
            return false;
        }
        self.headers.iter().all(|(name, test)| {
            let v = req.headers().get(name);
            match test {
                HeaderTest::Present(p) => v.is_some() == *p,
                HeaderTest::Exact(s) => v.is_some_and(|v| v.as_bytes() == s.as_bytes()),
                HeaderTest::Regex(r) => v
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| r.is_match(v)),
            }
        })
    }
}

/// Applies the faults to a request; `roll` gives uniform numbers in
/// `[0, 100)`, one per percentage consulted.
pub fn decide<B>(
    faults: &[Fault],
    req: &hyper::Request<B>,
    mut roll: impl FnMut() -> f64,
) -> Injection {
    let mut out = Injection::default();
    for f in faults.iter().filter(|f| f.matches(req)) {
        if let Some((d, p)) = f.delay
            && roll() < p
        {
            out.delay += d;
            out.fired.push((f.spec.name.clone(), "delay"));
        }
        if let Some((s, p)) = f.abort
            && out.abort.is_none()
            && roll() < p
        {
            out.abort = Some(s);
            out.fired.push((f.spec.name.clone(), "abort"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(json: &str) -> Fault {
        serde_json::from_str::<FaultSpec>(json)
            .unwrap()
            .compile()
            .unwrap()
    }

    fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> hyper::Request<()> {
        let mut b = hyper::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn matchers_on_path_method_and_headers() {
        let f = fault(
            r#"{"name":"a","match":{"path_prefix":"/api","methods":["post"],
                "headers":[{"name":"x-user","exact":"bob"},{"name":"x-canary","present":true},
                           {"name":"x-id","regex":"[0-9]+"}]},
                "abort":{"http_status":503}}"#,
        );
        let ok = [("x-user", "bob"), ("x-canary", "1"), ("x-id", "42")];
        assert!(f.matches(&req("POST", "/api/pay?x=1", &ok)));
        assert!(!f.matches(&req("GET", "/api/pay", &ok)));
        assert!(!f.matches(&req("POST", "/other", &ok)));
        assert!(!f.matches(&req("POST", "/api", &[("x-user", "bob"), ("x-id", "42")])));
        assert!(!f.matches(&req(
            "POST",
            "/api",
            &[("x-user", "bob"), ("x-canary", "1"), ("x-id", "42a")]
        )));
        let exact = fault(r#"{"name":"b","match":{"path":"/x"},"delay":{"fixed_delay":"10ms"}}"#);
        assert!(exact.matches(&req("GET", "/x?q", &[])));
        assert!(!exact.matches(&req("GET", "/x/y", &[])));
    }

    #[test]
    fn percentages_delays_add_and_first_abort_wins() {
        let faults = [
            fault(r#"{"name":"d1","delay":{"fixed_delay":"100ms","percentage":50}}"#),
            fault(
                r#"{"name":"d2","delay":{"fixed_delay":"1s"},"abort":{"http_status":500,"percentage":10}}"#,
            ),
            fault(r#"{"name":"a","abort":{"http_status":418}}"#),
        ];
        let r = req("GET", "/", &[]);
        // rolls: d1 delay hits (10 < 50), d2 delay hits, d2 abort misses (20 ≥ 10), a aborts.
        let mut rolls = [10.0, 0.0, 20.0, 0.0].into_iter();
        let inj = decide(&faults, &r, || rolls.next().unwrap());
        assert_eq!(inj.delay, Duration::from_millis(1100));
        assert_eq!(inj.abort, Some(hyper::StatusCode::IM_A_TEAPOT));
        let mut rolls = [60.0, 0.0, 5.0].into_iter();
        let inj = decide(&faults, &r, || rolls.next().unwrap());
        assert_eq!(inj.delay, Duration::from_secs(1));
        assert_eq!(inj.abort, Some(hyper::StatusCode::INTERNAL_SERVER_ERROR));
    }

    #[test]
    fn bad_specs_name_the_field() {
        let err = |json: &str| {
            serde_json::from_str::<FaultSpec>(json)
                .unwrap()
                .compile()
                .unwrap_err()
                .field
        };
        assert_eq!(err(r#"{"name":"a"}"#), "");
        assert_eq!(
            err(r#"{"name":"a","abort":{"http_status":99}}"#),
            "abort.http_status"
        );
        assert_eq!(
            err(r#"{"name":"a","abort":{"http_status":500,"percentage":101}}"#),
            "abort.percentage"
        );
        assert_eq!(
            err(r#"{"name":"a","delay":{"fixed_delay":"soon"}}"#),
            "delay.fixed_delay"
        );
        assert_eq!(
            err(
                r#"{"name":"a","abort":{"http_status":500},"match":{"headers":[{"name":"x","exact":"1","present":true}]}}"#
            ),
            "match.headers[0]"
        );
        assert_eq!(err(r#"{"name":"a b","abort":{"http_status":500}}"#), "name");
        assert!(serde_json::from_str::<FaultSpec>(r#"{"name":"a","abrt":{}}"#).is_err());
    }
}
