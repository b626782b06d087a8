//! The typed experiment: what [`super::parse_experiment`] validates a Chaos
//! Toolkit document into. Each activity keeps the JSON it was written as,
//! because the journal records activities in their own words.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::guard::HomeostatExtension;
use super::tolerance::Tolerance;

#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub title: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// `configuration:` values, literal or read from the environment.
    pub configuration: BTreeMap<String, ConfigValue>,
    /// `secrets:` scope → name → value. Never journaled in clear.
    pub secrets: BTreeMap<String, BTreeMap<String, ConfigValue>>,
    pub contributions: BTreeMap<String, String>,
    pub hypothesis: Option<Hypothesis>,
    pub method: Vec<Activity>,
    pub rollbacks: Vec<Activity>,
    /// The `homeostat` entry of `extensions:`, if any.
    pub homeostat: Option<HomeostatExtension>,
    /// What was accepted but is not acted on (`controls:`), said once.
    pub notes: Vec<String>,
    /// The document as written, for the journal's `experiment`; secrets
    /// that were written inline are masked.
    pub document: Value,
}

impl Experiment {
    /// The service the experiment is about: the homeostat extension's.
    pub fn service(&self) -> Option<&str> {
        self.homeostat.as_ref().and_then(|h| h.service.as_deref())
    }
}

/// A configuration or secret value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    Literal(Value),
    /// `{"type": "env", "key": "NAME", "default": ...}`.
    Env {
        key: String,
        default: Option<Value>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    pub title: String,
    /// Probes, each with a tolerance.
    pub probes: Vec<Activity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    Action,
    Probe,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Action => "action",
            ActivityKind::Probe => "probe",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub kind: ActivityKind,
    pub name: String,
    pub provider: Provider,
    pub pauses: Pauses,
    /// Run beside the next activities instead of before them.
    pub background: bool,
    /// Required on steady-state probes; ignored in the method, as Chaos
    /// Toolkit does.
    pub tolerance: Option<Tolerance>,
    /// The activity as written (a `ref` resolved to what it names).
    pub document: Value,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pauses {
    pub before: Option<Duration>,
    pub after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Provider {
    Http(HttpProvider),
    Process(ProcessProvider),
    /// Only the Chaos Toolkit driver functions homeostat maps to its own
    /// provider (see [`PythonProvider::native`]).
    Python(PythonProvider),
    Homeostat(HomeostatProvider),
}

impl Provider {
    pub fn type_name(&self) -> &'static str {
        match self {
            Provider::Http(_) => "http",
            Provider::Process(_) => "process",
            Provider::Python(_) => "python",
            Provider::Homeostat(_) => "homeostat",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpProvider {
    pub url: String,
    /// Upper case; `GET` unless said.
    pub method: String,
    pub headers: BTreeMap<String, String>,
    /// Sent as the JSON body (as the query string for GET).
    pub arguments: Option<Value>,
    pub timeout: Option<Duration>,
    /// The activity fails on another status; without it, any answer counts.
    pub expected_status: Option<Vec<u16>>,
    pub verify_tls: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessProvider {
    pub path: String,
    /// Passed as they are, never through a shell.
    pub arguments: Vec<String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PythonProvider {
    pub module: String,
    pub func: String,
    pub arguments: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HomeostatProvider {
    pub func: HomeostatFunc,
    pub arguments: Map<String, Value>,
}

/// What the `homeostat` provider can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeostatFunc {
    /// Probe: the value of an instant query.
    Promql,
    /// Probe: an SLO's burn rate or remaining budget.
    Slo,
    AddToxic,
    RemoveToxic,
    SetProxyEnabled,
    AddHttpFault,
    RemoveHttpFault,
}

impl HomeostatFunc {
    pub const ALL: [(&'static str, HomeostatFunc); 7] = [
        ("promql", HomeostatFunc::Promql),
        ("slo", HomeostatFunc::Slo),
        ("add_toxic", HomeostatFunc::AddToxic),
        ("remove_toxic", HomeostatFunc::RemoveToxic),
        ("set_proxy_enabled", HomeostatFunc::SetProxyEnabled),
        ("add_http_fault", HomeostatFunc::AddHttpFault),
        ("remove_http_fault", HomeostatFunc::RemoveHttpFault),
    ];

    pub fn parse(name: &str) -> Option<HomeostatFunc> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// The arguments each function needs.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            HomeostatFunc::Promql => &["query"],
            HomeostatFunc::Slo => &["slo", "measure"],
            HomeostatFunc::AddToxic => &["proxy", "toxic"],
            HomeostatFunc::RemoveToxic => &["proxy", "toxic"],
            HomeostatFunc::SetProxyEnabled => &["proxy", "enabled"],
            HomeostatFunc::AddHttpFault => &["route", "fault"],
            HomeostatFunc::RemoveHttpFault => &["route", "name"],
        }
    }
}

/// `slo` probe's `measure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SloMeasure {
    BurnRate,
    BudgetRemaining,
}

impl PythonProvider {
    /// The homeostat call a Chaos Toolkit driver function stands for, so
    /// one experiment file runs under `chaos run` and natively; `None` for
    /// any other module or function.
    pub fn native(&self) -> Option<HomeostatProvider> {
        let a = &self.arguments;
        let get = |k: &str| a.get(k).cloned().unwrap_or(Value::Null);
        let mut args = Map::new();
        let func = match (self.module.as_str(), self.func.as_str()) {
            ("chaosprometheus.probes", "query") => {
                args.insert("query".into(), get("query"));
                args.insert("format".into(), Value::from("prometheus"));
                HomeostatFunc::Promql
            }
            ("chaostoxi.toxic.actions", "create_latency_toxic") => {
                let mut attrs = Map::new();
                attrs.insert("latency".into(), get("latency"));
                attrs.insert(
                    "jitter".into(),
                    a.get("jitter").cloned().unwrap_or(Value::from(0)),
                );
                args.insert("proxy".into(), get("for_proxy"));
                args.insert(
                    "toxic".into(),
                    serde_json::json!({
                        "name": get("toxic_name"),
                        "type": "latency",
                        "stream": "downstream",
                        "toxicity": 1.0,
                        "attributes": attrs,
                    }),
                );
                HomeostatFunc::AddToxic
            }
            ("chaostoxi.toxic.actions", "create_toxic") => {
                args.insert("proxy".into(), get("for_proxy"));
                args.insert(
                    "toxic".into(),
                    serde_json::json!({
                        "name": get("toxic_name"),
                        "type": get("toxic_type"),
                        "stream": a.get("stream").cloned().unwrap_or(Value::from("downstream")),
                        "toxicity": a.get("toxicity").cloned().unwrap_or(Value::from(1.0)),
                        "attributes": a.get("attributes").cloned().unwrap_or(Value::Object(Map::new())),
                    }),
                );
                HomeostatFunc::AddToxic
            }
            ("chaostoxi.toxic.actions", "delete_toxic") => {
                args.insert("proxy".into(), get("for_proxy"));
                args.insert("toxic".into(), get("toxic_name"));
                HomeostatFunc::RemoveToxic
            }
            ("chaostoxi.proxy.actions", "disable_proxy" | "enable_proxy") => {
                args.insert("proxy".into(), get("proxy_name"));
                args.insert("enabled".into(), Value::from(self.func == "enable_proxy"));
                HomeostatFunc::SetProxyEnabled
            }
            _ => return None,
        };
        Some(HomeostatProvider {
            func,
            arguments: args,
        })
    }
}
