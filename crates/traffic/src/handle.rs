//! [`Traffic`]: the running proxies and the one way to change them — the
//! HTTP API, the CLI (through it), remediation and chaos experiments all
//! call these methods.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use homeostat_model::Clock;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::error::TrafficError;
use crate::event::{TrafficEvent, Weights};
use crate::fault::FaultSpec;
use crate::metrics::{EndpointView, Metric, endpoint_metrics, route_metrics};
use crate::route::{Endpoint, Route, RouteStatus};
use crate::spec::{HealthCheckSpec, RouteSpec};

/// The largest weight accepted (endpoint or zone).
pub const MAX_WEIGHT: u32 = 1_000_000;

/// Cheap to clone; every clone drives the same proxies.
#[derive(Clone)]
pub struct Traffic {
    inner: Arc<Inner>,
}

struct Inner {
    routes: BTreeMap<String, Arc<Route>>,
    addrs: BTreeMap<String, SocketAddr>,
    events: broadcast::Sender<TrafficEvent>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("routes", &self.inner.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().drain(..) {
            t.abort();
        }
    }
}

impl Traffic {
    /// No routes (the server without a `traffic:` section).
    pub fn empty() -> Self {
        Self {
            inner: Arc::new(Inner {
                routes: BTreeMap::new(),
                addrs: BTreeMap::new(),
                events: broadcast::channel(256).0,
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Binds every route's listener, then starts the proxies, health checks
    /// and outlier sweeps. Must run inside a tokio runtime.
    pub async fn start(specs: Vec<RouteSpec>, clock: Arc<dyn Clock>) -> Result<Self, TrafficError> {
        let events = broadcast::channel(256).0;
        let mut listeners = Vec::new();
        for spec in specs {
            let l = TcpListener::bind(spec.listen)
                .await
                .map_err(|source| TrafficError::Bind {
                    route: spec.name.clone(),
                    addr: spec.listen,
                    source,
                })?;
            let addr = l.local_addr().map_err(|source| TrafficError::Bind {
                route: spec.name.clone(),
                addr: spec.listen,
                source,
            })?;
            listeners.push((
                l,
                addr,
                Arc::new(Route::new(spec, clock.clone(), events.clone())),
            ));
        }
        let mut tasks = Vec::new();
        let mut routes = BTreeMap::new();
        let mut addrs = BTreeMap::new();
        for (l, addr, route) in listeners {
            tasks.push(tokio::spawn(crate::proxy::serve(l, route.clone())));
            if let Some(hc) = route.spec.health_check.clone() {
                for ep in &route.endpoints {
                    tasks.push(tokio::spawn(health_loop(
                        route.clone(),
                        ep.clone(),
                        hc.clone(),
                    )));
                }
            }
            if let Some(o) = &route.spec.outlier {
                let (r, every) = (route.clone(), o.interval);
                tasks.push(tokio::spawn(async move {
                    let mut t = tokio::time::interval(every);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        t.tick().await;
                        r.outlier_tick();
                    }
                }));
            }
            tracing::info!(route = %route.spec.name, %addr, "traffic: route listening");
            addrs.insert(route.spec.name.clone(), addr);
            routes.insert(route.spec.name.clone(), route);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                routes,
                addrs,
                events,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    /// Stops every listener and background task (connections in flight finish).
    pub fn shutdown(&self) {
        for t in self.inner.tasks.lock().drain(..) {
            t.abort();
        }
    }

    /// The address a route listens on (its port when configured as 0).
    pub fn local_addr(&self, route: &str) -> Option<SocketAddr> {
        self.inner.addrs.get(route).copied()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<TrafficEvent> {
        self.inner.events.subscribe()
    }

    pub fn routes(&self) -> Vec<RouteStatus> {
        self.inner.routes.values().map(|r| r.status()).collect()
    }

    pub fn route(&self, name: &str) -> Result<RouteStatus, TrafficError> {
        Ok(self.get(name)?.status())
    }

    fn get(&self, name: &str) -> Result<&Arc<Route>, TrafficError> {
        self.inner
            .routes
            .get(name)
            .ok_or_else(|| TrafficError::UnknownRoute(name.to_string()))
    }

    /// The weights as they are: explicit zone shares and endpoint weights.
    pub fn weights(&self, route: &str) -> Result<Weights, TrafficError> {
        Ok(weights_of(self.get(route)?))
    }

    /// Sets zone shares and/or endpoint weights (the rest stay); new
    /// requests use them at once. Returns the weights before and after.
    pub fn set_weights(
        &self,
        route: &str,
        update: &Weights,
        actor: &str,
    ) -> Result<(Weights, Weights), TrafficError> {
        let r = self.get(route)?;
        for (zone, w) in &update.zones {
            if !r.endpoints.iter().any(|e| &e.zone == zone) {
                return Err(TrafficError::UnknownZone {
                    route: route.into(),
                    zone: zone.clone(),
                });
            }
            check_weight(*w)?;
        }
        for (addr, w) in &update.endpoints {
            if !r.endpoints.iter().any(|e| &e.address == addr) {
                return Err(TrafficError::UnknownEndpoint {
                    route: route.into(),
                    endpoint: addr.clone(),
                });
            }
            check_weight(*w)?;
        }
        // One writer at a time, so `before` is what this change replaced.
        let mut zw = r.zone_weights.write();
        let before = weights_of_locked(r, &zw);
        let mut next = (**zw).clone();
        next.extend(update.zones.iter().map(|(k, v)| (k.clone(), *v)));
        for ep in &r.endpoints {
            if let Some(w) = update.endpoints.get(&ep.address) {
                ep.weight.store(*w, Ordering::Relaxed);
            }
        }
        *zw = Arc::new(next);
        let after = weights_of_locked(r, &zw);
        drop(zw);
        tracing::info!(route, actor, ?after, "traffic: weights shifted");
        let _ = self.inner.events.send(TrafficEvent::WeightsShifted {
            route: route.into(),
            actor: actor.into(),
            before: before.clone(),
            after: after.clone(),
        });
        Ok((before, after))
    }

    pub fn faults(&self, route: &str) -> Result<Vec<FaultSpec>, TrafficError> {
        Ok(self
            .get(route)?
            .faults
            .read()
            .iter()
            .map(|f| f.spec.clone())
            .collect())
    }

    /// Adds a fault, replacing one of the same name; returns the one replaced.
    pub fn add_fault(
        &self,
        route: &str,
        spec: FaultSpec,
        actor: &str,
    ) -> Result<Option<FaultSpec>, TrafficError> {
        let r = self.get(route)?;
        let fault = spec.compile().map_err(TrafficError::InvalidFault)?;
        let mut faults = r.faults.write();
        let mut next = (**faults).clone();
        let replaced = match next.iter().position(|f| f.spec.name == spec.name) {
            Some(i) => Some(std::mem::replace(&mut next[i], fault).spec),
            None => {
                next.push(fault);
                None
            }
        };
        *faults = Arc::new(next);
        drop(faults);
        tracing::info!(route, actor, fault = %spec.name, "traffic: fault added");
        let _ = self.inner.events.send(TrafficEvent::FaultAdded {
            route: route.into(),
            fault: spec.name,
            actor: actor.into(),
        });
        Ok(replaced)
    }

    /// Removes a fault by name; returns it.
    pub fn remove_fault(
        &self,
        route: &str,
        name: &str,
        actor: &str,
    ) -> Result<FaultSpec, TrafficError> {
        let r = self.get(route)?;
        let mut faults = r.faults.write();
        let mut next = (**faults).clone();
        let i = next
            .iter()
            .position(|f| f.spec.name == name)
            .ok_or_else(|| TrafficError::UnknownFault {
                route: route.into(),
                fault: name.into(),
            })?;
        let removed = next.remove(i).spec;
        *faults = Arc::new(next);
        drop(faults);
        tracing::info!(route, actor, fault = name, "traffic: fault removed");
        let _ = self.inner.events.send(TrafficEvent::FaultRemoved {
            route: route.into(),
            fault: name.into(),
            actor: actor.into(),
        });
        Ok(removed)
    }

    /// Every route's and endpoint's counters, for `/metrics`.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for (name, r) in &self.inner.routes {
            route_metrics(&mut out, name, &r.stats);
            let now = r.clock.now_millis();
            for e in &r.endpoints {
                endpoint_metrics(
                    &mut out,
                    &EndpointView {
                        route: name,
                        address: &e.address,
                        zone: &e.zone,
                        healthy: e.healthy.load(Ordering::Relaxed),
                        ejected: e.ejected_until.load(Ordering::Relaxed) > now,
                        stats: &e.stats,
                    },
                );
            }
        }
        out
    }
}

fn check_weight(w: u32) -> Result<(), TrafficError> {
    if w > MAX_WEIGHT {
        return Err(TrafficError::InvalidWeight(w));
    }
    Ok(())
}

fn weights_of(r: &Route) -> Weights {
    weights_of_locked(r, &r.zone_weights.read())
}

fn weights_of_locked(r: &Route, zones: &BTreeMap<String, u32>) -> Weights {
    Weights {
        zones: zones.clone(),
        endpoints: r
            .endpoints
            .iter()
            .map(|e| (e.address.clone(), e.weight.load(Ordering::Relaxed)))
            .collect(),
    }
}

/// One endpoint's active checks, forever: a fresh connection each time, so
/// a check never waits behind proxied traffic.
async fn health_loop(route: Arc<Route>, ep: Arc<Endpoint>, hc: HealthCheckSpec) {
    let mut t = tokio::time::interval(hc.interval);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        t.tick().await;
        let ok = tokio::time::timeout(hc.timeout, check(&ep.address, &hc.path))
            .await
            .unwrap_or(false);
        route.health_result(&ep, ok);
    }
}

async fn check(address: &str, path: &str) -> bool {
    let Ok(stream) = TcpStream::connect(address).await else {
        return false;
    };
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake::<
        _,
        http_body_util::Empty<bytes::Bytes>,
    >(TokioIo::new(stream))
    .await
    else {
        return false;
    };
    let driver = tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, address)
        .header(hyper::header::USER_AGENT, "homeostat-health-check")
        .body(http_body_util::Empty::new());
    let ok = match req {
        Ok(req) => sender
            .send_request(req)
            .await
            .is_ok_and(|r| r.status().is_success()),
        Err(_) => false,
    };
    driver.abort();
    ok
}
