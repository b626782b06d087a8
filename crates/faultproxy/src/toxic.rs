//! Toxics: their types and attributes with Toxiproxy 2.x names and units,
//! and the JSON shapes Toxiproxy's API reads and writes for them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::FaultProxyError;

/// Which way data flows through a proxy: `upstream` is client → server,
/// `downstream` server → client (Toxiproxy's default for toxics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Upstream,
    Downstream,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FaultProxyError> {
        match s {
            "upstream" => Ok(Stream::Upstream),
            "downstream" => Ok(Stream::Downstream),
            _ => Err(FaultProxyError::InvalidStream),
        }
    }
}

/// A toxic's type with its attributes. Times are milliseconds except the
/// slicer's `delay` (microseconds); `rate` is KB/s (1 KB = 1000 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToxicKind {
    Latency {
        latency: u64,
        jitter: u64,
    },
    Bandwidth {
        rate: u64,
    },
    SlowClose {
        delay: u64,
    },
    Timeout {
        timeout: u64,
    },
    ResetPeer {
        timeout: u64,
    },
    Slicer {
        average_size: u64,
        size_variation: u64,
        delay: u64,
    },
    LimitData {
        bytes: u64,
    },
}

// One struct per type: missing attributes default to 0 like Toxiproxy's Go
// structs; unknown ones are refused (a misspelt `latncy` would otherwise
// silently become a 0 ms toxic).
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LatencyAttrs {
    latency: u64,
    jitter: u64,
}
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct BandwidthAttrs {
    rate: u64,
}
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DelayAttrs {
    delay: u64,
}
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TimeoutAttrs {
    timeout: u64,
}
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SlicerAttrs {
    average_size: u64,
    size_variation: u64,
    delay: u64,
}
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LimitAttrs {
    bytes: u64,
}

pub const TOXIC_TYPES: [&str; 7] = [
    "latency",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_data",
];

fn attrs<T: DeserializeOwned>(v: Value) -> Result<T, FaultProxyError> {
    serde_json::from_value(v)
        .map_err(|e| FaultProxyError::BadRequestBody(format!("attributes: {e}")))
}

impl ToxicKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Latency { .. } => "latency",
            ToxicKind::Bandwidth { .. } => "bandwidth",
            ToxicKind::SlowClose { .. } => "slow_close",
            ToxicKind::Timeout { .. } => "timeout",
            ToxicKind::ResetPeer { .. } => "reset_peer",
            ToxicKind::Slicer { .. } => "slicer",
            ToxicKind::LimitData { .. } => "limit_data",
        }
    }

    /// Builds a toxic of `type_name` from its `attributes` object (absent or
    /// null = all zero).
    pub fn from_attributes(
        type_name: &str,
        attributes: Option<Value>,
    ) -> Result<Self, FaultProxyError> {
        if !TOXIC_TYPES.contains(&type_name) {
            return Err(FaultProxyError::InvalidToxicType);
        }
        let v = match attributes {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v @ Value::Object(_)) => v,
            Some(_) => {
                return Err(FaultProxyError::BadRequestBody(
                    "attributes: expected an object".into(),
                ));
            }
        };
        Ok(match type_name {
            "latency" => {
                let a: LatencyAttrs = attrs(v)?;
                ToxicKind::Latency {
                    latency: a.latency,
                    jitter: a.jitter,
                }
            }
            "bandwidth" => ToxicKind::Bandwidth {
                rate: attrs::<BandwidthAttrs>(v)?.rate,
            },
            "slow_close" => ToxicKind::SlowClose {
                delay: attrs::<DelayAttrs>(v)?.delay,
            },
            "timeout" => ToxicKind::Timeout {
                timeout: attrs::<TimeoutAttrs>(v)?.timeout,
            },
            "reset_peer" => ToxicKind::ResetPeer {
                timeout: attrs::<TimeoutAttrs>(v)?.timeout,
            },
            "slicer" => {
                let a: SlicerAttrs = attrs(v)?;
                ToxicKind::Slicer {
                    average_size: a.average_size,
                    size_variation: a.size_variation,
                    delay: a.delay,
                }
            }
            _ => ToxicKind::LimitData {
                bytes: attrs::<LimitAttrs>(v)?.bytes,
            },
        })
    }

    /// The attributes object, every attribute of the type present.
    pub fn attributes(&self) -> Value {
        let v = match *self {
            ToxicKind::Latency { latency, jitter } => {
                serde_json::to_value(LatencyAttrs { latency, jitter })
            }
            ToxicKind::Bandwidth { rate } => serde_json::to_value(BandwidthAttrs { rate }),
            ToxicKind::SlowClose { delay } => serde_json::to_value(DelayAttrs { delay }),
            ToxicKind::Timeout { timeout } | ToxicKind::ResetPeer { timeout } => {
                serde_json::to_value(TimeoutAttrs { timeout })
            }
            ToxicKind::Slicer {
                average_size,
                size_variation,
                delay,
            } => serde_json::to_value(SlicerAttrs {
                average_size,
                size_variation,
                delay,
            }),
            ToxicKind::LimitData { bytes } => serde_json::to_value(LimitAttrs { bytes }),
        };
        v.unwrap_or(Value::Null)
    }

    /// This toxic with `patch`'s attributes laid over its own (Toxiproxy's
    /// update: attributes not named keep their value).
    pub fn patched(&self, patch: Option<Value>) -> Result<Self, FaultProxyError> {
        let mut merged = match self.attributes() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        match patch {
            None | Some(Value::Null) => {}
            Some(Value::Object(p)) => merged.extend(p),
            Some(_) => {
                return Err(FaultProxyError::BadRequestBody(
                    "attributes: expected an object".into(),
                ));
            }
        }
        Self::from_attributes(self.type_name(), Some(Value::Object(merged)))
    }
}

/// A toxic as Toxiproxy shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Toxic {
    pub name: String,
    pub kind: ToxicKind,
    pub stream: Stream,
    /// Probability (0..=1) that a connection gets this toxic, drawn once per
    /// connection when the toxic reaches it.
    pub toxicity: f32,
}

impl Serialize for Toxic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shape<'a> {
            attributes: Value,
            name: &'a str,
            #[serde(rename = "type")]
            kind: &'a str,
            stream: &'a str,
            toxicity: f32,
        }
        Shape {
            attributes: self.kind.attributes(),
            name: &self.name,
            kind: self.kind.type_name(),
            stream: self.stream.as_str(),
            toxicity: self.toxicity,
        }
        .serialize(s)
    }
}

/// The body of `POST /proxies/{proxy}/toxics`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToxic {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub stream: Option<String>,
    pub toxicity: Option<f32>,
    pub attributes: Option<Value>,
}

/// The body of a toxic update. Clients (toxiproxy-node-client) send the
/// whole toxic back, so name, type and stream are accepted and must match.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToxicPatch {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub stream: Option<String>,
    pub toxicity: Option<f32>,
    pub attributes: Option<Value>,
}

pub(crate) fn check_toxicity(t: f32) -> Result<f32, FaultProxyError> {
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err(FaultProxyError::BadRequestBody(format!(
            "toxicity: {t} is not between 0 and 1"
        )))
    }
}

impl NewToxic {
    /// Validates in Toxiproxy's order: stream, default name, type,
    /// then attributes (the name clash is checked by the caller in between).
    pub fn into_toxic(self) -> Result<Toxic, FaultProxyError> {
        let stream = match self.stream.as_deref() {
            None => Stream::Downstream,
            Some(s) => Stream::parse(s)?,
        };
        let type_name = self.kind.unwrap_or_default();
        let name = match self.name {
            Some(n) if !n.is_empty() => n,
            _ => format!("{}_{}", type_name, stream.as_str()),
        };
        let kind = ToxicKind::from_attributes(&type_name, self.attributes)?;
        let toxicity = check_toxicity(self.toxicity.unwrap_or(1.0))?;
        Ok(Toxic {
            name,
            kind,
            stream,
            toxicity,
        })
    }
}
