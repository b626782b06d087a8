//! Chaos Toolkit experiment documents (JSON or YAML) validated into an
//! [`Experiment`]; every error names the path of what is wrong
//! (`method[2].provider.url: ...`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::{Map, Value};

use super::guard::{Guard, HomeostatExtension};
use super::model::{
    Activity, ActivityKind, ConfigValue, Experiment, HomeostatFunc, HomeostatProvider,
    HttpProvider, Hypothesis, Pauses, ProcessProvider, Provider, PythonProvider,
};
use super::substitute::MASK;
use super::tolerance::{Tolerance, compile_jsonpath};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ExperimentError {
    /// `method[2].provider.url`; `experiment` for the document as a whole.
    pub path: String,
    pub problem: String,
}

fn err(path: &str, problem: impl Into<String>) -> ExperimentError {
    ExperimentError {
        path: if path.is_empty() {
            "experiment".into()
        } else {
            path.to_string()
        },
        problem: problem.into(),
    }
}

type R<T> = Result<T, ExperimentError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    /// JSON when the text starts with `{`, YAML otherwise.
    Auto,
}

/// Parses and validates an experiment document.
pub fn parse_experiment(text: &str, format: Format) -> R<Experiment> {
    let json = match format {
        Format::Json => true,
        Format::Yaml => false,
        Format::Auto => text.trim_start().starts_with('{'),
    };
    let doc: Value = if json {
        serde_json::from_str(text).map_err(|e| err("", format!("invalid JSON: {e}")))?
    } else {
        serde_norway::from_str(text).map_err(|e| err("", format!("invalid YAML: {e}")))?
    };
    validate_experiment(doc)
}

const TOP_KEYS: &[&str] = &[
    "version",
    "title",
    "description",
    "tags",
    "configuration",
    "secrets",
    "contributions",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "extensions",
    "controls",
    "runtime",
];

/// Validates a document already read as JSON.
pub fn validate_experiment(doc: Value) -> R<Experiment> {
    let top = object("", &doc)?;
    known(top, "", TOP_KEYS)?;
    let title = req_str(top, "", "title")?;
    let description = opt_str(top, "", "description")?;
    let tags = match top.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => string_list("tags", v)?,
    };
    let mut configuration = BTreeMap::new();
    if let Some(c) = top.get("configuration").filter(|v| !v.is_null()) {
        for (k, v) in object("configuration", c)? {
            configuration.insert(k.clone(), config_value(&format!("configuration.{k}"), v)?);
        }
    }
    let mut secrets = BTreeMap::new();
    if let Some(s) = top.get("secrets").filter(|v| !v.is_null()) {
        for (scope, values) in object("secrets", s)? {
            let path = format!("secrets.{scope}");
            let mut out = BTreeMap::new();
            for (k, v) in object(&path, values)? {
                out.insert(k.clone(), config_value(&format!("{path}.{k}"), v)?);
            }
            secrets.insert(scope.clone(), out);
        }
    }
    let mut contributions = BTreeMap::new();
    if let Some(c) = top.get("contributions").filter(|v| !v.is_null()) {
        for (k, v) in object("contributions", c)? {
            let level = v
                .as_str()
                .filter(|s| ["high", "medium", "low", "none"].contains(s))
                .ok_or_else(|| {
                    err(
                        &format!("contributions.{k}"),
                        "must be one of high, medium, low, none",
                    )
                })?;
            contributions.insert(k.clone(), level.to_string());
        }
    }

    // Every named activity, for `ref`s: chaoslib looks them up anywhere.
    let mut named: HashMap<String, Value> = HashMap::new();
    let hyp_doc = top.get("steady-state-hypothesis").filter(|v| !v.is_null());
    let method_doc = list(top, "method")?;
    let rollback_doc = list(top, "rollbacks")?;
    if let Some(h) = hyp_doc
        && let Some(Value::Array(probes)) = h.get("probes")
    {
        collect_named(probes, &mut named);
    }
    collect_named(method_doc, &mut named);
    collect_named(rollback_doc, &mut named);

    let hypothesis = match hyp_doc {
        None => None,
        Some(h) => {
            let path = "steady-state-hypothesis";
            let m = object(path, h)?;
            known(m, path, &["title", "probes", "controls"])?;
            let title = req_str(m, path, "title")?;
            let probes = list(m, "probes")?;
            let mut out = Vec::new();
            for (i, p) in probes.iter().enumerate() {
                let ppath = format!("{path}.probes[{i}]");
                let a = activity(&ppath, p, &named)?;
                if a.kind != ActivityKind::Probe {
                    return Err(err(&ppath, "a steady-state hypothesis holds probes only"));
                }
                if a.tolerance.is_none() {
                    return Err(err(
                        &format!("{ppath}.tolerance"),
                        "a steady-state probe needs a tolerance",
                    ));
                }
                out.push(a);
            }
            Some(Hypothesis { title, probes: out })
        }
    };
    let method = method_doc
        .iter()
        .enumerate()
        .map(|(i, a)| activity(&format!("method[{i}]"), a, &named))
        .collect::<R<Vec<_>>>()?;
    let rollbacks = rollback_doc
        .iter()
        .enumerate()
        .map(|(i, a)| activity(&format!("rollbacks[{i}]"), a, &named))
        .collect::<R<Vec<_>>>()?;
    if method.is_empty() && hypothesis.is_none() {
        return Err(err(
            "method",
            "an experiment needs a method or a steady-state hypothesis",
        ));
    }

    let mut homeostat = None;
    for (i, e) in list(top, "extensions")?.iter().enumerate() {
        let path = format!("extensions[{i}]");
        let m = object(&path, e)?;
        let name = req_str(m, &path, "name")?;
        if name == "homeostat" {
            if homeostat.is_some() {
                return Err(err(&path, "only one homeostat extension is allowed"));
            }
            homeostat = Some(extension(&path, m)?);
        }
    }

    let mut notes = Vec::new();
    if top.get("controls").is_some_and(|c| !c.is_null()) {
        notes.push("controls are ignored: homeostat runs no Chaos Toolkit controls".into());
    }
    let document = mask_inline_secrets(doc.clone());
    Ok(Experiment {
        title,
        description,
        tags,
        configuration,
        secrets,
        contributions,
        hypothesis,
        method,
        rollbacks,
        homeostat,
        notes,
        document,
    })
}

fn collect_named(activities: &[Value], named: &mut HashMap<String, Value>) {
    for a in activities {
        if let (Some(name), None) = (a.get("name").and_then(Value::as_str), a.get("ref")) {
            named.entry(name.to_string()).or_insert_with(|| a.clone());
        }
    }
}

fn activity(path: &str, v: &Value, named: &HashMap<String, Value>) -> R<Activity> {
    let m = object(path, v)?;
    if let Some(r) = m.get("ref") {
        let name = r
            .as_str()
            .ok_or_else(|| err(&format!("{path}.ref"), "must be the name of an activity"))?;
        let target = named.get(name).ok_or_else(|| {
            err(
                &format!("{path}.ref"),
                format!("no activity named {name:?} in the experiment"),
            )
        })?;
        return activity(path, target, &HashMap::new());
    }
    known(
        m,
        path,
        &[
            "type",
            "name",
            "provider",
            "pauses",
            "background",
            "tolerance",
            "controls",
            "secrets",
            "configuration",
            "timeout",
        ],
    )?;
    let kind = match req_str(m, path, "type")?.as_str() {
        "action" => ActivityKind::Action,
        "probe" => ActivityKind::Probe,
        other => {
            return Err(err(
                &format!("{path}.type"),
                format!("{other:?} is not an activity type: use action or probe"),
            ));
        }
    };
    let name = req_str(m, path, "name")?;
    let provider = provider(
        &format!("{path}.provider"),
        m.get("provider")
            .ok_or_else(|| err(&format!("{path}.provider"), "is required"))?,
    )?;
    let pauses = match m.get("pauses").filter(|v| !v.is_null()) {
        None => Pauses::default(),
        Some(p) => {
            let ppath = format!("{path}.pauses");
            let pm = object(&ppath, p)?;
            known(pm, &ppath, &["before", "after"])?;
            Pauses {
                before: opt_secs(pm, &ppath, "before")?,
                after: opt_secs(pm, &ppath, "after")?,
            }
        }
    };
    let background = match m.get("background") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(err(&format!("{path}.background"), "must be true or false")),
    };
    let tolerance = match m.get("tolerance") {
        None | Some(Value::Null) => None,
        Some(t) => Some(tolerance(&format!("{path}.tolerance"), t)?),
    };
    Ok(Activity {
        kind,
        name,
        provider,
        pauses,
        background,
        tolerance,
        document: v.clone(),
    })
}

fn provider(path: &str, v: &Value) -> R<Provider> {
    let m = object(path, v)?;
    let ty = req_str(m, path, "type")?;
    match ty.as_str() {
        "http" => {
            known(
                m,
                path,
                &[
                    "type",
                    "url",
                    "method",
                    "headers",
                    "arguments",
                    "timeout",
                    "expected_status",
                    "verify_tls",
                    "secrets",
                ],
            )?;
            let url = req_str(m, path, "url")?;
            if !url.starts_with("http://") && !url.starts_with("https://") && !url.starts_with("${")
            {
                return Err(err(
                    &format!("{path}.url"),
                    format!("{url:?} is not an http:// or https:// URL"),
                ));
            }
            let method = opt_str(m, path, "method")?
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .contains(&method.as_str())
            {
                return Err(err(
                    &format!("{path}.method"),
                    format!("{method:?} is not an HTTP method"),
                ));
            }
            let mut headers = BTreeMap::new();
            if let Some(h) = m.get("headers").filter(|v| !v.is_null()) {
                for (k, v) in object(&format!("{path}.headers"), h)? {
                    let s = v
                        .as_str()
                        .ok_or_else(|| err(&format!("{path}.headers.{k}"), "must be a string"))?;
                    headers.insert(k.clone(), s.to_string());
                }
            }
            let timeout = match m.get("timeout") {
                None | Some(Value::Null) => None,
                // chaoslib also takes [connect, read]: the run waits for both.
                Some(Value::Array(parts)) => {
                    let mut total = 0.0;
                    for (i, p) in parts.iter().enumerate() {
                        total += positive(&format!("{path}.timeout[{i}]"), p)?;
                    }
                    Some(Duration::from_secs_f64(total))
                }
                Some(t) => Some(Duration::from_secs_f64(positive(
                    &format!("{path}.timeout"),
                    t,
                )?)),
            };
            let expected_status = match m.get("expected_status") {
                None | Some(Value::Null) => None,
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .enumerate()
                        .map(|(i, s)| status(&format!("{path}.expected_status[{i}]"), s))
                        .collect::<R<Vec<_>>>()?,
                ),
                Some(s) => Some(vec![status(&format!("{path}.expected_status"), s)?]),
            };
            let verify_tls = match m.get("verify_tls") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(err(&format!("{path}.verify_tls"), "must be true or false")),
            };
            Ok(Provider::Http(HttpProvider {
                url,
                method,
                headers,
                arguments: m.get("arguments").filter(|v| !v.is_null()).cloned(),
                timeout,
                expected_status,
                verify_tls,
            }))
        }
        "process" => {
            known(
                m,
                path,
                &["type", "path", "arguments", "timeout", "secrets"],
            )?;
            let exe = req_str(m, path, "path")?;
            let arguments = match m.get("arguments") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, s)| match s {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err(err(&format!("{path}.arguments[{i}]"), "must be a string")),
                    })
                    .collect::<R<Vec<_>>>()?,
                Some(_) => {
                    return Err(err(
                        &format!("{path}.arguments"),
                        "must be a list of strings: homeostat runs processes without a shell and never splits a command line",
                    ));
                }
            };
            let timeout = match m.get("timeout") {
                None | Some(Value::Null) => None,
                Some(t) => Some(Duration::from_secs_f64(positive(
                    &format!("{path}.timeout"),
                    t,
                )?)),
            };
            Ok(Provider::Process(ProcessProvider {
                path: exe,
                arguments,
                timeout,
            }))
        }
        "python" => {
            known(m, path, &["type", "module", "func", "arguments", "secrets"])?;
            let module = req_str(m, path, "module")?;
            let func = req_str(m, path, "func")?;
            let arguments = match m.get("arguments").filter(|v| !v.is_null()) {
                None => Map::new(),
                Some(a) => object(&format!("{path}.arguments"), a)?.clone(),
            };
            let p = PythonProvider {
                module,
                func,
                arguments,
            };
            if p.native().is_none() {
                return Err(err(
                    &format!("{path}.module"),
                    format!(
                        "python function {}.{} is not supported: homeostat runs no Python; it maps chaosprometheus.probes.query and chaostoxi's create_latency_toxic, create_toxic, delete_toxic, enable_proxy, disable_proxy to its own provider",
                        p.module, p.func
                    ),
                ));
            }
            Ok(Provider::Python(p))
        }
        "homeostat" => {
            known(m, path, &["type", "func", "arguments"])?;
            let name = req_str(m, path, "func")?;
            let func = HomeostatFunc::parse(&name).ok_or_else(|| {
                let all: Vec<&str> = HomeostatFunc::ALL.iter().map(|(n, _)| *n).collect();
                err(
                    &format!("{path}.func"),
                    format!(
                        "{name:?} is not a homeostat function: use one of {}",
                        all.join(", ")
                    ),
                )
            })?;
            let apath = format!("{path}.arguments");
            let arguments = match m.get("arguments").filter(|v| !v.is_null()) {
                None => Map::new(),
                Some(a) => object(&apath, a)?.clone(),
            };
            for k in func.required() {
                if !arguments.contains_key(*k) {
                    return Err(err(&format!("{apath}.{k}"), "is required"));
                }
            }
            if func == HomeostatFunc::Slo
                && let Some(Value::String(measure)) = arguments.get("measure")
                && !["burn_rate", "budget_remaining"].contains(&measure.as_str())
                && !measure.starts_with("${")
            {
                return Err(err(
                    &format!("{apath}.measure"),
                    "must be burn_rate or budget_remaining",
                ));
            }
            Ok(Provider::Homeostat(HomeostatProvider { func, arguments }))
        }
        other => Err(err(
            &format!("{path}.type"),
            format!("{other:?} is not a provider type: use http, process, python or homeostat"),
        )),
    }
}

fn tolerance(path: &str, v: &Value) -> R<Tolerance> {
    Ok(match v {
        Value::Bool(b) => Tolerance::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Tolerance::Int(i),
            None => Tolerance::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Tolerance::String(s.clone()),
        Value::Array(a) => Tolerance::List(a.clone()),
        Value::Null => return Err(err(path, "must not be null")),
        Value::Object(m) => {
            let target = opt_str(m, path, "target")?;
            match req_str(m, path, "type")?.as_str() {
                "regex" => {
                    known(m, path, &["type", "pattern", "target"])?;
                    let pattern = req_str(m, path, "pattern")?;
                    if !pattern.contains("${") {
                        regex::Regex::new(&pattern)
                            .map_err(|e| err(&format!("{path}.pattern"), e.to_string()))?;
                    }
                    Tolerance::Regex { pattern, target }
                }
                "jsonpath" => {
                    known(m, path, &["type", "path", "expect", "target", "count"])?;
                    let jp = req_str(m, path, "path")?;
                    compile_jsonpath(&jp)
                        .map_err(|e| err(&format!("{path}.path"), e.to_string()))?;
                    let count = match m.get("count") {
                        None | Some(Value::Null) => None,
                        Some(c) => Some(c.as_u64().ok_or_else(|| {
                            err(&format!("{path}.count"), "must be a whole number")
                        })? as usize),
                    };
                    Tolerance::JsonPath {
                        path: jp,
                        expect: m.get("expect").cloned(),
                        target,
                        count,
                    }
                }
                "range" => {
                    known(m, path, &["type", "range", "target"])?;
                    let rpath = format!("{path}.range");
                    let bounds = match m.get("range") {
                        Some(Value::Array(a)) if a.len() == 2 => a,
                        _ => return Err(err(&rpath, "must be [low, high]")),
                    };
                    let lo = bounds[0]
                        .as_f64()
                        .ok_or_else(|| err(&format!("{rpath}[0]"), "must be a number"))?;
                    let hi = bounds[1]
                        .as_f64()
                        .ok_or_else(|| err(&format!("{rpath}[1]"), "must be a number"))?;
                    if lo > hi {
                        return Err(err(&rpath, format!("low {lo} is above high {hi}")));
                    }
                    Tolerance::Range { lo, hi, target }
                }
                "probe" => {
                    let a = activity(path, v, &HashMap::new())?;
                    Tolerance::Probe(Box::new(a))
                }
                other => {
                    return Err(err(
                        &format!("{path}.type"),
                        format!(
                            "{other:?} is not a tolerance type: use regex, jsonpath, range or probe"
                        ),
                    ));
                }
            }
        }
    })
}

fn extension(path: &str, m: &Map<String, Value>) -> R<HomeostatExtension> {
    known(m, path, &["name", "service", "guard"])?;
    let service = opt_str(m, path, "service")?;
    let guard = match m.get("guard").filter(|v| !v.is_null()) {
        None => None,
        Some(g) => {
            let gpath = format!("{path}.guard");
            let gm = object(&gpath, g)?;
            known(
                gm,
                &gpath,
                &[
                    "slo",
                    "max_burn_rate",
                    "max_budget_drop_percent",
                    "check_every",
                    "burn_window",
                ],
            )?;
            let slo = req_str(gm, &gpath, "slo")?;
            let num = |k: &str| -> R<Option<f64>> {
                match gm.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => positive(&format!("{gpath}.{k}"), v).map(Some),
                }
            };
            let max_burn_rate = num("max_burn_rate")?;
            let max_budget_drop_percent = num("max_budget_drop_percent")?;
            if max_burn_rate.is_none() && max_budget_drop_percent.is_none() {
                return Err(err(
                    &gpath,
                    "a guard needs max_burn_rate or max_budget_drop_percent",
                ));
            }
            if max_budget_drop_percent.is_some_and(|p| p > 100.0) {
                return Err(err(
                    &format!("{gpath}.max_budget_drop_percent"),
                    "must be at most 100",
                ));
            }
            let dur = |k: &str| -> R<Option<Duration>> {
                match gm.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => {
                        let d = homeostat_model::parse_duration(s)
                            .map_err(|e| err(&format!("{gpath}.{k}"), e.to_string()))?;
                        if d.is_zero() {
                            return Err(err(&format!("{gpath}.{k}"), "must be above zero"));
                        }
                        Ok(Some(d))
                    }
                    Some(v) => Ok(Some(Duration::from_secs_f64(positive(
                        &format!("{gpath}.{k}"),
                        v,
                    )?))),
                }
            };
            Some(Guard {
                slo,
                max_burn_rate,
                max_budget_drop_percent,
                check_every: dur("check_every")?,
                burn_window: dur("burn_window")?,
            })
        }
    };
    Ok(HomeostatExtension { service, guard })
}

/// Secrets written inline in the document are replaced by the mask before
/// the document is stored in a journal; `{"type": "env"}` ones are kept.
fn mask_inline_secrets(mut doc: Value) -> Value {
    if let Some(Value::Object(scopes)) = doc.get_mut("secrets") {
        for values in scopes.values_mut() {
            if let Value::Object(values) = values {
                for v in values.values_mut() {
                    if !v.is_object() {
                        *v = Value::String(MASK.into());
                    }
                }
            }
        }
    }
    doc
}

fn config_value(path: &str, v: &Value) -> R<ConfigValue> {
    match v {
        Value::Object(m) if m.contains_key("type") => match m.get("type").and_then(Value::as_str) {
            Some("env") => {
                known(m, path, &["type", "key", "default", "env_var_type"])?;
                Ok(ConfigValue::Env {
                    key: req_str(m, path, "key")?,
                    default: m.get("default").cloned(),
                })
            }
            other => Err(err(
                &format!("{path}.type"),
                format!(
                    "{} is not supported: use a literal value or {{\"type\": \"env\", \"key\": ...}}",
                    other.map_or("a non-string type".to_string(), |s| format!("{s:?}"))
                ),
            )),
        },
        _ => Ok(ConfigValue::Literal(v.clone())),
    }
}

fn object<'a>(path: &str, v: &'a Value) -> R<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| err(path, "must be a mapping"))
}

fn list<'a>(m: &'a Map<String, Value>, key: &str) -> R<&'a [Value]> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(err(key, "must be a list")),
    }
}

fn known(m: &Map<String, Value>, path: &str, keys: &[&str]) -> R<()> {
    match m.keys().find(|k| !keys.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(err(
            &join(path, k),
            format!("unknown field; expected one of {}", keys.join(", ")),
        )),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn req_str(m: &Map<String, Value>, path: &str, key: &str) -> R<String> {
    match m.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(err(&join(path, key), "must not be empty")),
        None | Some(Value::Null) => Err(err(&join(path, key), "is required")),
        Some(_) => Err(err(&join(path, key), "must be a string")),
    }
}

fn opt_str(m: &Map<String, Value>, path: &str, key: &str) -> R<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(err(&join(path, key), "must be a string")),
    }
}

fn string_list(path: &str, v: &Value) -> R<Vec<String>> {
    let a = v
        .as_array()
        .ok_or_else(|| err(path, "must be a list of strings"))?;
    a.iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| err(&format!("{path}[{i}]"), "must be a string"))
        })
        .collect()
}

fn positive(path: &str, v: &Value) -> R<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(err(path, "must be a number of seconds, zero or more")),
    }
}

fn opt_secs(m: &Map<String, Value>, path: &str, key: &str) -> R<Option<Duration>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(Duration::from_secs_f64(positive(
            &join(path, key),
            v,
        )?))),
    }
}

fn status(path: &str, v: &Value) -> R<u16> {
    v.as_u64()
        .filter(|s| (100..=599).contains(s))
        .map(|s| s as u16)
        .ok_or_else(|| err(path, "must be an HTTP status (100-599)"))
}
