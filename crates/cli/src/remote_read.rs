//! `homeostat remote-read`: one call through the remote querier, printed as
//! JSON, so an operator can check `query_backend` settings against the real
//! server and the interop tests can compare what we read with Prometheus.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use homeostat_remote::{RemoteConfig, RemoteQuerier};
use homeostat_storage::{MatchOp, Matcher, Querier, SelectRequest};
use serde_json::{Value, json};

pub struct Args {
    pub read_url: String,
    pub api_url: Option<String>,
    pub matchers: Vec<String>,
    pub start: i64,
    pub end: Option<i64>,
    pub max_samples: Option<usize>,
    pub header: Vec<String>,
    pub what: String,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let api_url = match a.api_url {
        Some(u) => u,
        None => a
            .read_url
            .trim_end_matches('/')
            .strip_suffix("/api/v1/read")
            .map(str::to_string)
            .context("--api-url is required when --read-url does not end in /api/v1/read")?,
    };
    let mut cfg = RemoteConfig::new(a.read_url, api_url);
    cfg.timeout = Duration::from_secs(30);
    for h in &a.header {
        let (n, v) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?}: expected \"Name: value\""))?;
        cfg.headers
            .push((n.trim().to_string(), v.trim().to_string()));
    }
    let q = RemoteQuerier::new(cfg)?;
    let matchers = a
        .matchers
        .iter()
        .map(|m| parse_matcher(m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let end = match a.end {
        Some(e) => e,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("clock before 1970")?
            .as_millis() as i64,
    };
    let out: Value = match a.what.as_str() {
        "select" => {
            let mut req = SelectRequest::new(matchers, a.start, end);
            req.max_samples = a.max_samples;
            let series = q.select(&req)?;
            Value::Array(
                series
                    .iter()
                    .map(|s| {
                        json!({
                            "metric": s.labels.iter().map(|l| (l.name.clone(), Value::String(l.value.clone()))).collect::<serde_json::Map<_, _>>(),
                            "values": s.samples.iter().map(|x| json!([x.t, homeostat_promql::format_value(x.v)])).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            )
        }
        "series" => json!(
            q.series(&matchers, a.start, end)?
                .iter()
                .map(|l| l
                    .iter()
                    .map(|l| (l.name.clone(), Value::String(l.value.clone())))
                    .collect::<serde_json::Map<_, _>>())
                .collect::<Vec<_>>()
        ),
        "labels" => json!(q.label_names(&matchers, a.start, end)?),
        other => match other.strip_prefix("values:") {
            Some(name) => json!(q.label_values(name, &matchers, a.start, end)?),
            None => bail!("--what {other:?}: expected select, series, labels or values:<name>"),
        },
    };
    println!("{out}");
    Ok(())
}

/// `name="value"` with one of `=`, `!=`, `=~`, `!~`; the value may be quoted.
fn parse_matcher(s: &str) -> anyhow::Result<Matcher> {
    let pos = s
        .find(['=', '!'])
        .with_context(|| format!("matcher {s:?}: expected name=\"value\""))?;
    let (name, rest) = s.split_at(pos);
    let (op, value) = if let Some(v) = rest.strip_prefix("=~") {
        (MatchOp::RegexMatch, v)
    } else if let Some(v) = rest.strip_prefix("!~") {
        (MatchOp::RegexNoMatch, v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (MatchOp::Equal, v)
    } else {
        bail!("matcher {s:?}: expected =, !=, =~ or !~ after the name");
    };
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    Ok(Matcher::new(op, name.trim(), value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_matchers() {
        let m = parse_matcher(r#"job=~"a|b""#).unwrap();
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("job", MatchOp::RegexMatch, "a|b")
        );
        let m = parse_matcher("__name__=up").unwrap();
        assert_eq!((m.op, m.value.as_str()), (MatchOp::Equal, "up"));
        assert_eq!(parse_matcher(r#"x!="""#).unwrap().op, MatchOp::NotEqual);
        assert!(parse_matcher("nothing").is_err());
        assert!(parse_matcher("x~y").is_err());
    }
}
