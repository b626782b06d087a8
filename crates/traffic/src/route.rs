//! One running route's shared state: its endpoints (weights, health,
//! outlier state, idle connections), zone weights, faults, breakers,
//! counters and the stale-answer cache. The decisions are delegated to the
//! pure modules; this file keeps them consistent under concurrency.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use bytes::Bytes;
use homeostat_model::Clock;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast};

use crate::breaker::Breaker;
use crate::event::TrafficEvent;
use crate::fault::{Fault, FaultSpec};
use crate::health::HealthState;
use crate::metrics::{EndpointStats, RouteStats};
use crate::outlier::{Outcome, OutlierState, may_eject};
use crate::pick::{Candidate, pick};
use crate::spec::{BreakerSpec, RouteSpec, StaticAnswer};

pub(crate) struct Endpoint {
    pub address: String,
    pub zone: String,
    pub weight: AtomicU32,
    pub healthy: AtomicBool,
    pub health: Mutex<HealthState>,
    pub outlier: Mutex<OutlierState>,
    /// Mirror of `outlier.ejected_until` for the request path; 0 = in the pool.
    pub ejected_until: AtomicI64,
    pub stats: EndpointStats,
    pub idle: Mutex<Vec<SendRequest<Incoming>>>,
}

impl Endpoint {
    fn available(&self, now: i64) -> bool {
        self.healthy.load(Ordering::Relaxed) && self.ejected_until.load(Ordering::Relaxed) <= now
    }
}

/// A good answer to a GET, kept for the stale fallback.
#[derive(Debug, Clone)]
pub(crate) struct CachedAnswer {
    pub status: hyper::StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

pub(crate) struct Route {
    pub spec: RouteSpec,
    pub endpoints: Vec<Arc<Endpoint>>,
    pub zone_weights: RwLock<Arc<BTreeMap<String, u32>>>,
    pub faults: RwLock<Arc<Vec<Fault>>>,
    pub breaker: Arc<Breaker>,
    pub connections: Arc<Semaphore>,
    pub stats: RouteStats,
    pub cache: Mutex<HashMap<String, CachedAnswer>>,
    pub clock: Arc<dyn Clock>,
    pub events: broadcast::Sender<TrafficEvent>,
}

/// Entries the stale cache keeps per route; beyond, new paths are not cached.
const CACHE_ENTRIES: usize = 1024;

impl Route {
    pub fn new(
        spec: RouteSpec,
        clock: Arc<dyn Clock>,
        events: broadcast::Sender<TrafficEvent>,
    ) -> Self {
        let endpoints = spec
            .endpoints
            .iter()
            .map(|e| {
                Arc::new(Endpoint {
                    address: e.address.clone(),
                    zone: e.zone.clone(),
                    weight: AtomicU32::new(e.weight),
                    healthy: AtomicBool::new(true),
                    health: Mutex::new(HealthState::default()),
                    outlier: Mutex::new(OutlierState::default()),
                    ejected_until: AtomicI64::new(0),
                    stats: EndpointStats::default(),
                    idle: Mutex::new(Vec::new()),
                })
            })
            .collect();
        Self {
            zone_weights: RwLock::new(Arc::new(spec.zone_weights.clone())),
            faults: RwLock::new(Arc::new(spec.faults.clone())),
            breaker: Arc::new(Breaker::default()),
            connections: Arc::new(Semaphore::new(spec.breakers.max_connections as usize)),
            stats: RouteStats::default(),
            cache: Mutex::new(HashMap::new()),
            endpoints,
            spec,
            clock,
            events,
        }
    }

    /// The endpoint for a new request, or `None` when none is available.
    pub fn choose(&self, r: f64) -> Option<&Arc<Endpoint>> {
        let now = self.clock.now_millis();
        let cands: Vec<Candidate<'_>> = self
            .endpoints
            .iter()
            .map(|e| Candidate {
                zone: &e.zone,
                weight: e.weight.load(Ordering::Relaxed),
                available: e.available(now),
            })
            .collect();
        let zw = self.zone_weights.read().clone();
        pick(&cands, &zw, r).map(|i| &self.endpoints[i])
    }

    /// Feeds outlier detection one outcome; ejects when it says so and the
    /// pool allows it.
    pub fn record(&self, ep: &Endpoint, outcome: Outcome) {
        let Some(spec) = &self.spec.outlier else {
            return;
        };
        let mut st = ep.outlier.lock();
        if !st.record(spec, outcome) {
            return;
        }
        let now = self.clock.now_millis();
        let ejected = self
            .endpoints
            .iter()
            .filter(|e| e.ejected_until.load(Ordering::Relaxed) > now)
            .count();
        if !may_eject(ejected, self.endpoints.len(), spec.max_ejection_percent) {
            st.reset_counters();
            return;
        }
        let until = st.eject(spec, now);
        ep.ejected_until.store(until, Ordering::Relaxed);
        ep.stats.ejections.fetch_add(1, Ordering::Relaxed);
        drop(st);
        tracing::info!(route = %self.spec.name, endpoint = %ep.address, until, "traffic: endpoint ejected");
        let _ = self.events.send(TrafficEvent::EndpointEjected {
            route: self.spec.name.clone(),
            endpoint: ep.address.clone(),
            until,
        });
    }

    /// The outlier detector's interval sweep: endpoints whose ejection ended
    /// return (with an event).
    pub fn outlier_tick(&self) {
        let now = self.clock.now_millis();
        for ep in &self.endpoints {
            let back = ep.outlier.lock().tick(now);
            if back {
                ep.ejected_until.store(0, Ordering::Relaxed);
                tracing::info!(route = %self.spec.name, endpoint = %ep.address, "traffic: endpoint returned");
                let _ = self.events.send(TrafficEvent::EndpointReturned {
                    route: self.spec.name.clone(),
                    endpoint: ep.address.clone(),
                });
            }
        }
    }

    pub fn health_result(&self, ep: &Endpoint, ok: bool) {
        let Some(spec) = &self.spec.health_check else {
            return;
        };
        let flipped = ep.health.lock().observe(spec, ok);
        if let Some(healthy) = flipped {
            ep.healthy.store(healthy, Ordering::Relaxed);
            tracing::info!(route = %self.spec.name, endpoint = %ep.address, healthy, "traffic: health changed");
            let _ = self.events.send(TrafficEvent::HealthChanged {
                route: self.spec.name.clone(),
                endpoint: ep.address.clone(),
                healthy,
            });
        }
    }

    pub fn cache_get(&self, key: &str) -> Option<CachedAnswer> {
        self.cache.lock().get(key).cloned()
    }

    pub fn cache_put(&self, key: &str, answer: CachedAnswer) {
        let mut c = self.cache.lock();
        if c.len() < CACHE_ENTRIES || c.contains_key(key) {
            c.insert(key.to_string(), answer);
        }
    }

    pub fn status(&self) -> RouteStatus {
        let now = self.clock.now_millis();
        let (requests, pending) = self.breaker.counts();
        let max = self.spec.breakers.max_connections as usize;
        RouteStatus {
            name: self.spec.name.clone(),
            listen: self.spec.listen.to_string(),
            zone_weights: (**self.zone_weights.read()).clone(),
            endpoints: self
                .endpoints
                .iter()
                .map(|e| {
                    let o = e.outlier.lock();
                    EndpointStatus {
                        address: e.address.clone(),
                        zone: e.zone.clone(),
                        weight: e.weight.load(Ordering::Relaxed),
                        healthy: e.healthy.load(Ordering::Relaxed),
                        ejected: o.is_ejected(now),
                        ejected_until: o
                            .ejected_until
                            .filter(|t| *t > now)
                            .map(homeostat_model::rfc3339::rfc3339),
                        times_ejected: o.times_ejected,
                        available: e.available(now),
                    }
                })
                .collect(),
            breakers: BreakerStatus {
                limits: self.spec.breakers,
                requests,
                pending,
                connections: max.saturating_sub(self.connections.available_permits()) as u32,
            },
            faults: self.faults.read().iter().map(|f| f.spec.clone()).collect(),
            fallback: FallbackStatus {
                stale_cache: self.spec.fallback.stale_cache,
                static_answer: self.spec.fallback.static_answer.clone(),
            },
            timeout_ms: self.spec.timeout.as_millis() as u64,
        }
    }
}

/// `GET /api/v1/traffic/routes`: one route's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteStatus {
    pub name: String,
    pub listen: String,
    /// Zone shares set explicitly; other zones weigh their endpoints' sum.
    pub zone_weights: BTreeMap<String, u32>,
    pub endpoints: Vec<EndpointStatus>,
    pub breakers: BreakerStatus,
    pub faults: Vec<FaultSpec>,
    pub fallback: FallbackStatus,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStatus {
    pub address: String,
    pub zone: String,
    pub weight: u32,
    pub healthy: bool,
    pub ejected: bool,
    /// RFC 3339, while ejected.
    pub ejected_until: Option<String>,
    pub times_ejected: u32,
    /// Healthy and not ejected: it may be picked.
    pub available: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerStatus {
    pub limits: BreakerSpec,
    /// Requests outstanding now.
    pub requests: u32,
    /// Requests waiting for a connection now.
    pub pending: u32,
    /// Upstream connections in use now.
    pub connections: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FallbackStatus {
    pub stale_cache: bool,
    #[serde(rename = "static")]
    pub static_answer: Option<StaticAnswer>,
}
