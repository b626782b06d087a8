//! Request parameters as Prometheus's API takes them: repeated `match[]`,
//! times as Unix seconds or RFC 3339, in the query string or a form body.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use homeostat_model::Timestamp;
use homeostat_storage::{MatchOp, Matcher};
use promql_parser::parser::Expr;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Path parameters, like axum's `Path`, but a bad one (not UTF-8 after
/// percent-decoding, not a number) is answered in the API's JSON error
/// shape rather than as axum's plain text.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::bad_data(path_problem(&e))),
        }
    }
}

/// axum's rejection text without its "Invalid URL" prefix.
pub fn path_problem(e: &axum::extract::rejection::PathRejection) -> String {
    let text = e.body_text();
    format!(
        "invalid path parameter: {}",
        text.trim_start_matches("Invalid URL: ")
    )
}

/// All parameters of a request, query string first, then a urlencoded body.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut v: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        v.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
        Params(v)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter; `default` when absent.
    pub fn time(&self, name: &str, default: Timestamp) -> Result<Timestamp, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(s) => parse_time(s).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"{name}\": cannot parse {s:?} to a valid timestamp"
                ))
            }),
        }
    }

    /// Every `match[]` selector parsed into matcher lists (one list per selector).
    pub fn selectors(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        self.all("match[]")
            .into_iter()
            .map(parse_selector)
            .collect()
    }
}

/// The earliest and latest times a parameter may name, Prometheus's
/// `minTime`/`maxTime` (about 292 million years either side of 1970), in
/// ms. Beyond them, arithmetic on the time (lookback, steps) would
/// overflow.
pub const MIN_PARAM_TIME: Timestamp = (i64::MIN / 1000 + 62_135_596_801) * 1000;
pub const MAX_PARAM_TIME: Timestamp = (i64::MAX / 1000 - 62_135_596_801) * 1000 + 999;

/// Unix seconds (with fraction) or RFC 3339, as milliseconds; `None`
/// outside [`MIN_PARAM_TIME`]..=[`MAX_PARAM_TIME`].
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let t = if let Ok(f) = s.parse::<f64>() {
        let ms = (f * 1000.0).round();
        if !ms.is_finite() || ms < MIN_PARAM_TIME as f64 || ms > MAX_PARAM_TIME as f64 {
            return None;
        }
        ms as i64
    } else {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()?
            .timestamp_millis()
    };
    (MIN_PARAM_TIME..=MAX_PARAM_TIME).contains(&t).then_some(t)
}

/// Parses a series selector like `up{job="x"}` into storage matchers.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, ApiError> {
    let bad = |e: String| ApiError::bad_data(format!("invalid parameter \"match[]\": {e}"));
    let expr = homeostat_promql::parse(s).map_err(|e| bad(e.to_string()))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(bad(format!("{s:?} is not a series selector")));
    };
    if !vs.matchers.or_matchers.is_empty() {
        return Err(bad("`or` in selectors is not supported".into()));
    }
    let mut out = Vec::new();
    if let Some(name) = &vs.name {
        out.push(Matcher::equal("__name__", name.clone()));
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            promql_parser::label::MatchOp::Equal => MatchOp::Equal,
            promql_parser::label::MatchOp::NotEqual => MatchOp::NotEqual,
            promql_parser::label::MatchOp::Re(_) => MatchOp::RegexMatch,
            promql_parser::label::MatchOp::NotRe(_) => MatchOp::RegexNoMatch,
        };
        out.push(
            Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| bad(e.to_string()))?,
        );
    }
    if out.iter().all(|m| m.matches_empty()) {
        return Err(bad(format!(
            "selector {s:?} must contain at least one matcher that does not match the empty string"
        )));
    }
    Ok(out)
}

/// `since` (a time; `default_since` when absent) and `limit` (1 to 10000;
/// `default_limit` when absent) of a list request.
pub(crate) fn since_and_limit(
    p: &Params,
    default_since: i64,
    default_limit: usize,
) -> Result<(i64, usize), ApiError> {
    let since = match p.get("since") {
        None => default_since,
        Some(s) => parse_time(s)
            .ok_or_else(|| ApiError::bad_data(format!("since: {s:?} is not a time")))?,
    };
    let limit = match p.get("limit") {
        None => default_limit,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ApiError::bad_data(format!("limit: {l:?} is not 1 to 10000")))?,
    };
    Ok((since, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000.5"), Some(1_700_000_000_500));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("NaN"), None);
        // Out of Prometheus's range: later arithmetic would overflow.
        assert_eq!(parse_time("-1e18"), None);
        assert_eq!(parse_time("9223372036854775807"), None);
        assert!(parse_time("-9000000000000").is_some());
    }

    #[test]
    fn selectors() {
        let m = parse_selector(r#"up{job=~"a|b", env!="dev"}"#).unwrap();
        assert_eq!(m.len(), 3);
        assert!(parse_selector("up +").is_err());
        assert!(parse_selector(r#"{job=~".*"}"#).is_err());
        assert!(parse_selector("sum(up)").is_err());
    }
}
