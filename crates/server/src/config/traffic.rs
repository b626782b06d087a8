//! `traffic:`: the HTTP traffic proxy's routes (docs/traffic.md), each
//! validated into a [`homeostat_traffic::RouteSpec`]. Read at start only.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use homeostat_model::FieldError;
use homeostat_traffic::{
    BreakerSpec, EndpointSpec, FallbackSpec, FaultSpec, HealthCheckSpec, MAX_WEIGHT, OutlierSpec,
    RouteSpec, StaticAnswer,
};
use serde::Deserialize;

use super::duration_or;

/// `traffic: {routes: [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSection {
    /// Proxied routes, each on its own listener.
    #[serde(default)]
    pub routes: Vec<RouteSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// The route's name in the API, CLI and metrics.
    pub name: String,
    /// The proxy's own listen address for this route.
    pub listen: String,
    /// The upstream pool.
    pub endpoints: Vec<EndpointSection>,
    /// A zone's share of the traffic; zones not listed weigh the sum of their endpoints' weights.
    #[serde(default)]
    pub zone_weights: BTreeMap<String, u32>,
    /// Active health checks; without them every endpoint counts as healthy.
    pub health_check: Option<HealthCheckSection>,
    /// Outlier ejection (Envoy semantics); off when absent.
    pub outlier_detection: Option<OutlierSection>,
    /// Circuit breaker thresholds (default 1024 each).
    #[serde(default)]
    pub circuit_breakers: BreakersSection,
    /// What to answer when no endpoint is available.
    #[serde(default)]
    pub fallback: FallbackSection,
    /// Per-request timeout to the response headers. Default 15s.
    pub timeout: Option<String>,
    /// HTTP faults active from the start (more can be added at runtime).
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Zone-aware traffic shift; off when absent.
    pub zone_balance: Option<super::zone_balance::ZoneBalanceSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSection {
    /// `host:port` of the upstream.
    pub address: String,
    /// Default `default`.
    pub zone: Option<String>,
    /// Default 1; 0 takes it out of the choice.
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSection {
    /// Path of the `GET`; a 2xx answer is healthy.
    pub path: String,
    /// Default 5s.
    pub interval: Option<String>,
    /// Default 1s.
    pub timeout: Option<String>,
    /// Successes in a row that make an unhealthy endpoint healthy. Default 2.
    pub healthy_threshold: Option<u32>,
    /// Failures in a row that make a healthy endpoint unhealthy. Default 3.
    pub unhealthy_threshold: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierSection {
    /// Consecutive 5xx (and gateway failures) that eject. Default 5; 0 turns it off.
    pub consecutive_5xx: Option<u32>,
    /// Consecutive 502/503/504 or connect errors/timeouts that eject. Default off (0).
    pub consecutive_gateway_failure: Option<u32>,
    /// How often ejections are swept (and multipliers lowered). Default 10s.
    pub interval: Option<String>,
    /// Ejection time = this × times ejected. Default 30s.
    pub base_ejection_time: Option<String>,
    /// Never eject more than this percentage of the pool (at least one). Default 10.
    pub max_ejection_percent: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakersSection {
    pub max_connections: Option<u32>,
    pub max_pending_requests: Option<u32>,
    pub max_requests: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackSection {
    /// Serve the last good answer to the same GET.
    #[serde(default)]
    pub stale_cache: bool,
    /// A static answer's status; set it to answer statically.
    pub status: Option<u16>,
    /// The static answer's body.
    #[serde(default)]
    pub body: String,
    /// The static answer's headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl TrafficSection {
    /// `main_listen`: homeostat's own listener, which no route may take.
    pub(super) fn validate(&self, main_listen: SocketAddr) -> Result<Vec<RouteSpec>, FieldError> {
        let mut names = BTreeSet::new();
        let mut listens = BTreeSet::new();
        self.routes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let spec = r.checked().map_err(|e| e.under(&format!("[{i}]")))?;
                let at = |f: &str| format!("[{i}].{f}");
                if !names.insert(spec.name.clone()) {
                    return Err(FieldError::new(
                        at("name"),
                        format!("{:?} is used by another route", spec.name),
                    ));
                }
                if spec.listen == main_listen
                    || (spec.listen.port() != 0 && !listens.insert(spec.listen))
                {
                    return Err(FieldError::new(
                        at("listen"),
                        format!("{} is taken by homeostat or another route", spec.listen),
                    ));
                }
                Ok(spec)
            })
            .collect::<Result<_, _>>()
            .map_err(|e| e.under("traffic.routes"))
    }
}

fn positive(field: &str, v: Option<u32>, default: u32) -> Result<u32, FieldError> {
    match v.unwrap_or(default) {
        0 => Err(FieldError::new(field, "must be at least 1")),
        n => Ok(n),
    }
}

/// `None` for 0 (off).
fn threshold(v: Option<u32>, default: u32) -> Option<u32> {
    Some(v.unwrap_or(default)).filter(|n| *n > 0)
}

impl RouteSection {
    fn checked(&self) -> Result<RouteSpec, FieldError> {
        if !homeostat_traffic::is_valid_name(&self.name) {
            return Err(FieldError::new("name", homeostat_traffic::NAME_RULE));
        }
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            FieldError::new(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:10000", self.listen),
            )
        })?;
        if self.endpoints.is_empty() {
            return Err(FieldError::new("endpoints", "needs at least one endpoint"));
        }
        let endpoints = self
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                e.checked()
                    .map_err(|err| err.under(&format!("endpoints[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = BTreeSet::new();
        for (i, e) in endpoints.iter().enumerate() {
            if !seen.insert(&e.address) {
                return Err(FieldError::new(
                    format!("endpoints[{i}].address"),
                    format!("{} is listed twice", e.address),
                ));
            }
        }
        for (zone, w) in &self.zone_weights {
            if !endpoints.iter().any(|e| &e.zone == zone) {
                return Err(FieldError::new(
                    format!("zone_weights.{zone}"),
                    "no endpoint is in this zone",
                ));
            }
            if *w > MAX_WEIGHT {
                return Err(FieldError::new(
                    format!("zone_weights.{zone}"),
                    "must be at most 1000000",
                ));
            }
        }
        let health_check = self
            .health_check
            .as_ref()
            .map(|h| h.checked().map_err(|e| e.under("health_check")))
            .transpose()?;
        let outlier = self
            .outlier_detection
            .as_ref()
            .map(|o| o.checked().map_err(|e| e.under("outlier_detection")))
            .transpose()?;
        let b = &self.circuit_breakers;
        let breakers = BreakerSpec {
            max_connections: positive("max_connections", b.max_connections, 1024)
                .map_err(|e| e.under("circuit_breakers"))?,
            max_pending_requests: b.max_pending_requests.unwrap_or(1024),
            max_requests: positive("max_requests", b.max_requests, 1024)
                .map_err(|e| e.under("circuit_breakers"))?,
        };
        let fallback = self.fallback.checked().map_err(|e| e.under("fallback"))?;
        let timeout = duration_or("timeout", &self.timeout, "15s")?;
        let faults = self
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.compile()
                    .map_err(|e| FieldError::new(e.field, e.problem).under(&format!("faults[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RouteSpec {
            name: self.name.clone(),
            listen,
            endpoints,
            zone_weights: self.zone_weights.clone(),
            health_check,
            outlier,
            breakers,
            fallback,
            timeout,
            faults,
        })
    }
}

impl EndpointSection {
    fn checked(&self) -> Result<EndpointSpec, FieldError> {
        let ok = self.address.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !ok {
            return Err(FieldError::new(
                "address",
                format!("{:?} is not host:port such as 127.0.0.1:8080", self.address),
            ));
        }
        let zone = self.zone.clone().unwrap_or_else(|| "default".into());
        if zone.is_empty() {
            return Err(FieldError::new("zone", "must not be empty"));
        }
        let weight = self.weight.unwrap_or(1);
        if weight > MAX_WEIGHT {
            return Err(FieldError::new("weight", "must be at most 1000000"));
        }
        Ok(EndpointSpec {
            address: self.address.clone(),
            zone,
            weight,
        })
    }
}

impl HealthCheckSection {
    fn checked(&self) -> Result<HealthCheckSpec, FieldError> {
        if !self.path.starts_with('/') {
            return Err(FieldError::new("path", "must start with /"));
        }
        let interval = duration_or("interval", &self.interval, "5s")?;
        let timeout = duration_or("timeout", &self.timeout, "1s")?;
        if timeout > interval {
            return Err(FieldError::new(
                "timeout",
                "must not be longer than interval",
            ));
        }
        Ok(HealthCheckSpec {
            path: self.path.clone(),
            interval,
            timeout,
            healthy_threshold: positive("healthy_threshold", self.healthy_threshold, 2)?,
            unhealthy_threshold: positive("unhealthy_threshold", self.unhealthy_threshold, 3)?,
        })
    }
}

impl OutlierSection {
    fn checked(&self) -> Result<OutlierSpec, FieldError> {
        let max = self.max_ejection_percent.unwrap_or(10);
        if max > 100 {
            return Err(FieldError::new(
                "max_ejection_percent",
                "must be from 0 to 100",
            ));
        }
        let spec = OutlierSpec {
            consecutive_5xx: threshold(self.consecutive_5xx, 5),
            consecutive_gateway_failure: threshold(self.consecutive_gateway_failure, 0),
            interval: duration_or("interval", &self.interval, "10s")?,
            base_ejection_time: duration_or("base_ejection_time", &self.base_ejection_time, "30s")?,
            max_ejection_percent: max,
        };
        if spec.consecutive_5xx.is_none() && spec.consecutive_gateway_failure.is_none() {
            return Err(FieldError::new(
                "consecutive_5xx",
                "both thresholds are 0: nothing would eject; remove outlier_detection instead",
            ));
        }
        if spec.base_ejection_time > Duration::from_secs(86_400) {
            return Err(FieldError::new("base_ejection_time", "must be at most 1d"));
        }
        Ok(spec)
    }
}

impl FallbackSection {
    fn checked(&self) -> Result<FallbackSpec, FieldError> {
        let static_answer = match self.status {
            None if !self.body.is_empty() || !self.headers.is_empty() => {
                return Err(FieldError::new(
                    "status",
                    "a static fallback needs a status",
                ));
            }
            None => None,
            Some(s) if !(200..600).contains(&s) => {
                return Err(FieldError::new(
                    "status",
                    format!("{s} is not a status from 200 to 599"),
                ));
            }
            Some(status) => {
                for (k, v) in &self.headers {
                    if hyper_header_ok(k, v).is_err() {
                        return Err(FieldError::new(
                            format!("headers.{k}"),
                            "is not a valid header name and value",
                        ));
                    }
                }
                Some(StaticAnswer {
                    status,
                    body: self.body.clone(),
                    headers: self
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                })
            }
        };
        Ok(FallbackSpec {
            stale_cache: self.stale_cache,
            static_answer,
        })
    }
}

fn hyper_header_ok(name: &str, value: &str) -> Result<(), ()> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let value_ok = value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    if name_ok && value_ok { Ok(()) } else { Err(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Vec<RouteSpec>, FieldError> {
        let s: TrafficSection = serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
        s.validate("127.0.0.1:9797".parse().unwrap())
    }

    #[test]
    fn a_full_route_validates_with_defaults() {
        let routes = parse(
            r#"
routes:
  - name: checkout
    listen: 127.0.0.1:10000
    endpoints:
      - {address: 127.0.0.1:8081, zone: a, weight: 3}
      - {address: localhost:8082}
    zone_weights: {a: 50}
    health_check: {path: /healthz}
    outlier_detection: {base_ejection_time: 10s}
    fallback: {status: 503, body: later, headers: {retry-after: "5"}, stale_cache: true}
    faults:
      - {name: slow, delay: {fixed_delay: 100ms, percentage: 5}}
"#,
        )
        .unwrap();
        let r = &routes[0];
        assert_eq!(r.endpoints[1].zone, "default");
        assert_eq!(r.endpoints[1].weight, 1);
        assert_eq!(r.health_check.as_ref().unwrap().unhealthy_threshold, 3);
        assert_eq!(r.outlier.as_ref().unwrap().consecutive_5xx, Some(5));
        assert_eq!(
            r.outlier.as_ref().unwrap().base_ejection_time,
            Duration::from_secs(10)
        );
        assert_eq!(r.breakers, BreakerSpec::default());
        assert_eq!(r.timeout, Duration::from_secs(15));
        assert!(r.fallback.stale_cache);
        assert_eq!(r.faults.len(), 1);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |yaml: &str| parse(yaml).unwrap_err().field;
        let route = |extra: &str| {
            format!(
                "routes:\n  - name: r\n    listen: 127.0.0.1:10000\n    endpoints: [{{address: 'h:1', zone: a}}]\n{extra}"
            )
        };
        assert_eq!(
            field(&route("    timeout: soon\n")),
            "traffic.routes[0].timeout"
        );
        assert_eq!(
            field(&route("    zone_weights: {b: 1}\n")),
            "traffic.routes[0].zone_weights.b"
        );
        assert_eq!(
            field(&route(
                "    outlier_detection: {max_ejection_percent: 101}\n"
            )),
            "traffic.routes[0].outlier_detection.max_ejection_percent"
        );
        assert_eq!(
            field(&route(
                "    faults: [{name: x, abort: {http_status: 1000}}]\n"
            )),
            "traffic.routes[0].faults[0].abort.http_status"
        );
        assert_eq!(
            field(&route("    fallback: {body: x}\n")),
            "traffic.routes[0].fallback.status"
        );
        assert_eq!(
            field(&route("    circuit_breakers: {max_connections: 0}\n")),
            "traffic.routes[0].circuit_breakers.max_connections"
        );
        assert_eq!(
            field(
                "routes:\n  - {name: r, listen: 127.0.0.1:9797, endpoints: [{address: 'h:1'}]}\n"
            ),
            "traffic.routes[0].listen"
        );
        assert_eq!(
            field("routes:\n  - {name: r, listen: 'x', endpoints: [{address: 'h:1'}]}\n"),
            "traffic.routes[0].listen"
        );
        assert_eq!(
            field("routes:\n  - {name: r, listen: '127.0.0.1:1', endpoints: [{address: 'h'}]}\n"),
            "traffic.routes[0].endpoints[0].address"
        );
        assert_eq!(
            field(
                "routes:\n  - {name: r, listen: '127.0.0.1:1', endpoints: [{address: 'h:1'}]}\n  - {name: r, listen: '127.0.0.1:2', endpoints: [{address: 'h:1'}]}\n"
            ),
            "traffic.routes[1].name"
        );
    }
}
