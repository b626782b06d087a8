//! What an experiment's activities call: HTTP (reqwest), processes from the
//! allow-list (never through a shell), and homeostat's own provider, whose
//! probes read PromQL and SLOs through [`ChaosSignals`] and whose actions
//! change faults through [`FaultControl`] (the server implements both).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use homeostat_chaos::{
    GuardReading, HomeostatFunc, HomeostatProvider, HttpProvider, ProcessProvider, Provider,
    Resolved, SloMeasure,
};
use serde_json::{Map, Value, json};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The fault proxy and HTTP faults, as the experiment runner drives them.
/// Errors are sentences for the journal.
pub trait FaultControl: Send + Sync {
    fn add_toxic(&self, proxy: &str, toxic: Value) -> BoxFuture<'_, Result<Value, String>>;
    fn remove_toxic(&self, proxy: &str, name: &str) -> BoxFuture<'_, Result<Value, String>>;
    fn set_proxy_enabled(&self, proxy: &str, enabled: bool)
    -> BoxFuture<'_, Result<Value, String>>;
    fn add_http_fault(&self, route: &str, fault: Value) -> BoxFuture<'_, Result<Value, String>>;
    fn remove_http_fault(&self, route: &str, name: &str) -> BoxFuture<'_, Result<Value, String>>;
}

/// No fault proxy in this server: every action fails saying so.
#[derive(Debug, Default)]
pub struct NoFaultControl;

impl NoFaultControl {
    fn refuse(what: &str) -> BoxFuture<'static, Result<Value, String>> {
        let msg = format!("{what}: the fault proxy is not configured in this server");
        Box::pin(async move { Err(msg) })
    }
}

impl FaultControl for NoFaultControl {
    fn add_toxic(&self, _: &str, _: Value) -> BoxFuture<'_, Result<Value, String>> {
        Self::refuse("add_toxic")
    }
    fn remove_toxic(&self, _: &str, _: &str) -> BoxFuture<'_, Result<Value, String>> {
        Self::refuse("remove_toxic")
    }
    fn set_proxy_enabled(&self, _: &str, _: bool) -> BoxFuture<'_, Result<Value, String>> {
        Self::refuse("set_proxy_enabled")
    }
    fn add_http_fault(&self, _: &str, _: Value) -> BoxFuture<'_, Result<Value, String>> {
        Self::refuse("add_http_fault")
    }
    fn remove_http_fault(&self, _: &str, _: &str) -> BoxFuture<'_, Result<Value, String>> {
        Self::refuse("remove_http_fault")
    }
}

/// Readings of the metric store for probes and the guard.
pub trait ChaosSignals: Send + Sync {
    /// An instant query now, as Prometheus's `data`
    /// (`{"resultType": ..., "result": ...}`).
    fn promql(&self, query: &str) -> BoxFuture<'_, Result<Value, String>>;
    /// An SLO's burn rate over `window` (the shortest reported when
    /// `None`) and its remaining budget.
    fn slo(
        &self,
        slo: &str,
        window: Option<Duration>,
    ) -> BoxFuture<'_, Result<GuardReading, String>>;
}

/// What the runner hands each activity.
#[derive(Clone)]
pub struct Providers {
    pub http: reqwest::Client,
    pub faults: Arc<dyn FaultControl>,
    pub signals: Arc<dyn ChaosSignals>,
    /// `chaos.process_allowlist`.
    pub process_allowlist: Arc<Vec<PathBuf>>,
    /// Applied when an activity sets none.
    pub default_timeout: Duration,
}

impl Providers {
    /// Runs one activity's provider with `${name}`s substituted; `Err` is
    /// the activity's failure, in words.
    pub async fn call(&self, provider: &Provider, r: &Resolved) -> Result<Value, String> {
        match provider {
            Provider::Http(h) => self.http_call(h, r).await,
            Provider::Process(p) => self.process(p, r).await,
            Provider::Homeostat(h) => self.homeostat(h, r).await,
            Provider::Python(p) => match p.native() {
                Some(h) => self.homeostat(&h, r).await,
                None => Err(format!(
                    "python function {}.{} is not supported",
                    p.module, p.func
                )),
            },
        }
    }

    async fn http_call(&self, h: &HttpProvider, r: &Resolved) -> Result<Value, String> {
        let url = r.substitute_text(&h.url);
        let method = reqwest::Method::from_bytes(h.method.as_bytes())
            .map_err(|_| format!("{} is not an HTTP method", h.method))?;
        let mut req = self
            .http
            .request(method.clone(), &url)
            .timeout(h.timeout.unwrap_or(self.default_timeout));
        for (k, v) in &h.headers {
            req = req.header(k.as_str(), r.substitute_text(v));
        }
        if let Some(args) = &h.arguments {
            let args = r.substitute(args);
            if method == reqwest::Method::GET {
                let pairs: Vec<(String, String)> = match &args {
                    Value::Object(o) => o
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map_or_else(|| v.to_string(), str::to_string),
                            )
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                req = req.query(&pairs);
            } else {
                req = req
                    .header("content-type", "application/json")
                    .body(args.to_string());
            }
        }
        let resp = req.send().await.map_err(|e| {
            // reqwest's text names the URL, which may hold a substituted secret:
            // the runner masks secrets in every error it journals.
            format!("{} {}: {}", h.method, url, without_url(&e))
        })?;
        let status = resp.status().as_u16();
        let mut headers = Map::new();
        for (k, v) in resp.headers() {
            headers.insert(k.to_string(), Value::from(v.to_str().unwrap_or("")));
        }
        let is_json = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let text = resp
            .text()
            .await
            .map_err(|e| format!("reading the answer of {url}: {}", without_url(&e)))?;
        let body = if is_json {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        if let Some(expected) = &h.expected_status
            && !expected.contains(&status)
        {
            return Err(format!(
                "{} {url} answered {status}, expected {}",
                h.method,
                expected
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        Ok(json!({"status": status, "headers": headers, "body": body}))
    }

    async fn process(&self, p: &ProcessProvider, r: &Resolved) -> Result<Value, String> {
        let path = PathBuf::from(&p.path);
        if !self.process_allowlist.contains(&path) {
            return Err(format!("{} is not in chaos.process_allowlist", p.path));
        }
        let args: Vec<String> = p.arguments.iter().map(|a| r.substitute_text(a)).collect();
        let mut cmd = tokio::process::Command::new(&path);
        cmd.args(&args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let timeout = p.timeout.unwrap_or(self.default_timeout);
        let out = tokio::time::timeout(timeout, cmd.output())
            .await
            .map_err(|_| format!("{} did not finish within {timeout:?}", p.path))?
            .map_err(|e| format!("cannot run {}: {e}", p.path))?;
        Ok(json!({
            "status": out.status.code(),
            "stdout": String::from_utf8_lossy(&out.stdout),
            "stderr": String::from_utf8_lossy(&out.stderr),
        }))
    }

    async fn homeostat(&self, h: &HomeostatProvider, r: &Resolved) -> Result<Value, String> {
        let args = match r.substitute(&Value::Object(h.arguments.clone())) {
            Value::Object(o) => o,
            _ => Map::new(),
        };
        let s = |k: &str| -> Result<String, String> {
            match args.get(k) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(format!(
                    "{}: argument {k} must be a string",
                    h.func.as_str()
                )),
            }
        };
        let f = &self.faults;
        match h.func {
            HomeostatFunc::Promql => {
                let data = self.signals.promql(&s("query")?).await?;
                if args.get("format").and_then(Value::as_str) == Some("prometheus") {
                    return Ok(json!({"status": "success", "data": data}));
                }
                Ok(single_value(&data).map_or(Value::Null, Value::from))
            }
            HomeostatFunc::Slo => {
                let measure: SloMeasure =
                    serde_json::from_value(args.get("measure").cloned().unwrap_or(Value::Null))
                        .map_err(|_| {
                            "slo: measure must be burn_rate or budget_remaining".to_string()
                        })?;
                let window = match args.get("window") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(w)) => Some(
                        homeostat_model::parse_duration(w)
                            .map_err(|e| format!("slo: window: {e}"))?,
                    ),
                    Some(_) => return Err("slo: window must be a duration such as 5m".into()),
                };
                let reading = self.signals.slo(&s("slo")?, window).await?;
                let v = match measure {
                    SloMeasure::BurnRate => reading.burn_rate,
                    SloMeasure::BudgetRemaining => reading.budget_remaining,
                };
                Ok(v.map_or(Value::Null, Value::from))
            }
            HomeostatFunc::AddToxic => {
                let toxic = args.get("toxic").cloned().unwrap_or(Value::Null);
                if !toxic.is_object() {
                    return Err(
                        "add_toxic: toxic must be a mapping (name, type, attributes)".into(),
                    );
                }
                f.add_toxic(&s("proxy")?, toxic).await
            }
            HomeostatFunc::RemoveToxic => f.remove_toxic(&s("proxy")?, &s("toxic")?).await,
            HomeostatFunc::SetProxyEnabled => {
                let enabled = args
                    .get("enabled")
                    .and_then(Value::as_bool)
                    .ok_or("set_proxy_enabled: enabled must be true or false")?;
                f.set_proxy_enabled(&s("proxy")?, enabled).await
            }
            HomeostatFunc::AddHttpFault => {
                let fault = args.get("fault").cloned().unwrap_or(Value::Null);
                if !fault.is_object() {
                    return Err("add_http_fault: fault must be a mapping".into());
                }
                f.add_http_fault(&s("route")?, fault).await
            }
            HomeostatFunc::RemoveHttpFault => f.remove_http_fault(&s("route")?, &s("name")?).await,
        }
    }
}

/// The value of a scalar or of a vector's only sample.
pub fn single_value(data: &Value) -> Option<f64> {
    let result = data.get("result")?;
    let text = match data.get("resultType")?.as_str()? {
        "scalar" => result.get(1)?,
        "vector" => {
            let samples = result.as_array()?;
            if samples.len() != 1 {
                return None;
            }
            samples[0].get("value")?.get(1)?
        }
        _ => return None,
    };
    text.as_str()?.parse().ok()
}

/// reqwest's error without the URL it names (the caller says which).
fn without_url(e: &reqwest::Error) -> String {
    use std::error::Error;
    if e.is_timeout() {
        return "timed out".into();
    }
    let what = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the body failed"
    } else {
        "request failed"
    };
    match e.source() {
        Some(cause) => format!("{what}: {cause}"),
        None => what.into(),
    }
}

/// Prometheus's `data` for an instant query's value (scalars and vectors;
/// anything else as its type name with no result).
pub fn prometheus_data(value: &homeostat_promql::Value) -> Value {
    use homeostat_promql::Value as V;
    let num = |v: f64| Value::String(homeostat_promql::format_value(v));
    match value {
        V::Scalar { t, v } => {
            json!({"resultType": "scalar", "result": [*t as f64 / 1000.0, num(*v)]})
        }
        V::String { t, s } => json!({"resultType": "string", "result": [*t as f64 / 1000.0, s]}),
        V::Vector(samples) => {
            let result: Vec<Value> = samples
                .iter()
                .map(|s| {
                    let metric: BTreeMap<&str, &str> = s
                        .labels
                        .iter()
                        .map(|l| (l.name.as_str(), l.value.as_str()))
                        .collect();
                    json!({"metric": metric, "value": [s.t as f64 / 1000.0, num(s.v)]})
                })
                .collect();
            json!({"resultType": "vector", "result": result})
        }
        V::Matrix(_) => json!({"resultType": "matrix", "result": []}),
    }
}
