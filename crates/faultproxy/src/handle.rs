//! `FaultProxy`: the proxies, their toxic chains and listeners, behind a
//! cheap-to-clone handle used by the API and by the rest of homeostat.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::error::FaultProxyError;
use crate::link::{self, Counters, ProxyLink};
use crate::plan::ChainToxic;
use crate::proxy::{ProxyEvent, ProxyPatch, ProxySpec, ProxyStats, ProxyView, default_listen};
use crate::toxic::{NewToxic, Stream, Toxic, ToxicPatch, check_toxicity};

type Result<T> = std::result::Result<T, FaultProxyError>;

struct Running {
    // Dropping it tells the accept loop and every live connection to stop.
    stop: watch::Sender<()>,
    task: JoinHandle<()>,
}

struct Entry {
    spec: ProxySpec,
    toxics: Vec<ChainToxic>,
    up: watch::Sender<Arc<Vec<ChainToxic>>>,
    down: watch::Sender<Arc<Vec<ChainToxic>>>,
    counters: Arc<Counters>,
    running: Option<Running>,
}

impl Entry {
    fn new(spec: ProxySpec) -> Self {
        Entry {
            spec,
            toxics: Vec::new(),
            up: watch::Sender::new(Arc::new(Vec::new())),
            down: watch::Sender::new(Arc::new(Vec::new())),
            counters: Arc::new(Counters::default()),
            running: None,
        }
    }

    fn view(&self) -> ProxyView {
        ProxyView {
            name: self.spec.name.clone(),
            listen: self.spec.listen.clone(),
            upstream: self.spec.upstream.clone(),
            enabled: self.spec.enabled,
            toxics: self.toxic_list(),
        }
    }

    /// Upstream toxics first, then downstream, each in chain order (Toxiproxy's listing).
    fn toxic_list(&self) -> Vec<Toxic> {
        [Stream::Upstream, Stream::Downstream]
            .iter()
            .flat_map(|s| self.toxics.iter().filter(move |c| c.toxic.stream == *s))
            .map(|c| c.toxic.clone())
            .collect()
    }

    fn publish(&self) {
        for (stream, tx) in [
            (Stream::Upstream, &self.up),
            (Stream::Downstream, &self.down),
        ] {
            let chain: Vec<ChainToxic> = self
                .toxics
                .iter()
                .filter(|c| c.toxic.stream == stream)
                .cloned()
                .collect();
            tx.send_replace(Arc::new(chain));
        }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.toxics.iter().position(|c| c.toxic.name == name)
    }
}

struct Inner {
    proxies: Mutex<BTreeMap<String, Entry>>,
    // Held across a whole change (binding, awaiting a listener's end) so
    // changes never interleave; reads take only `proxies`.
    changes: tokio::sync::Mutex<()>,
    events: broadcast::Sender<ProxyEvent>,
    version: AtomicU64,
}

/// The fault proxy. Clones share the same proxies.
#[derive(Clone)]
pub struct FaultProxy {
    inner: Arc<Inner>,
}

impl Default for FaultProxy {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy").finish_non_exhaustive()
    }
}

/// What a proxy's listener needs, read from its entry.
struct Launch {
    listen: String,
    upstream: String,
    up: link::ChainRx,
    down: link::ChainRx,
    counters: Arc<Counters>,
}

impl Launch {
    fn of(entry: &Entry) -> Self {
        let listen = if entry.spec.listen.is_empty() {
            default_listen()
        } else {
            entry.spec.listen.clone()
        };
        Launch {
            listen,
            upstream: entry.spec.upstream.clone(),
            up: entry.up.subscribe(),
            down: entry.down.subscribe(),
            counters: entry.counters.clone(),
        }
    }

    /// Binds and spawns the accept loop; returns it with the bound address.
    async fn run(self) -> Result<(Running, String)> {
        let listener =
            TcpListener::bind(&self.listen)
                .await
                .map_err(|source| FaultProxyError::Listen {
                    addr: self.listen.clone(),
                    source,
                })?;
        let addr = listener.local_addr().map_or(self.listen, |a| a.to_string());
        let (stop, stop_rx) = watch::channel(());
        let link = ProxyLink {
            upstream: self.upstream,
            up: self.up,
            down: self.down,
            counters: self.counters,
            stop: stop_rx,
        };
        let task = tokio::spawn(link::accept_loop(listener, link));
        Ok((Running { stop, task }, addr))
    }
}

/// Starts a new entry's listener (one not in the map yet).
async fn start(entry: &mut Entry) -> Result<()> {
    let (running, addr) = Launch::of(entry).run().await?;
    entry.running = Some(running);
    entry.spec.listen = addr;
    Ok(())
}

/// Closes the listener and every live connection; returns once the
/// listening socket is closed, so the port can be bound again at once.
async fn stop(running: Option<Running>) {
    if let Some(r) = running {
        drop(r.stop);
        let _ = r.task.await;
    }
}

fn check_spec(spec: &ProxySpec, at: &str) -> Result<()> {
    if spec.name.is_empty() {
        return Err(FaultProxyError::MissingField(format!("name{at}")));
    }
    if spec.upstream.is_empty() {
        return Err(FaultProxyError::MissingField(format!("upstream{at}")));
    }
    Ok(())
}

impl FaultProxy {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(256);
        FaultProxy {
            inner: Arc::new(Inner {
                proxies: Mutex::new(BTreeMap::new()),
                changes: tokio::sync::Mutex::new(()),
                events,
                version: AtomicU64::new(1),
            }),
        }
    }

    /// Every change from now on (proxy created/updated/deleted, toxic
    /// added/updated/removed, reset). A slow receiver loses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<ProxyEvent> {
        self.inner.events.subscribe()
    }

    fn emit(&self, e: ProxyEvent) {
        let _ = self.inner.events.send(e);
    }

    pub fn list(&self) -> Vec<ProxyView> {
        self.inner
            .proxies
            .lock()
            .values()
            .map(Entry::view)
            .collect()
    }

    pub fn get(&self, name: &str) -> Result<ProxyView> {
        self.inner
            .proxies
            .lock()
            .get(name)
            .map(Entry::view)
            .ok_or(FaultProxyError::ProxyNotFound)
    }

    // Listeners start and stop across awaits without the map's lock; the
    // `changes` lock keeps other changes out meanwhile, and readers keep
    // seeing the proxy.
    async fn start_in_place(&self, name: &str) -> Result<()> {
        let launch = {
            let proxies = self.inner.proxies.lock();
            let e = proxies.get(name).ok_or(FaultProxyError::ProxyNotFound)?;
            if e.running.is_some() {
                return Ok(());
            }
            Launch::of(e)
        };
        let (running, addr) = launch.run().await?;
        if let Some(e) = self.inner.proxies.lock().get_mut(name) {
            e.running = Some(running);
            e.spec.listen = addr;
        }
        Ok(())
    }

    async fn stop_in_place(&self, name: &str) {
        let running = self
            .inner
            .proxies
            .lock()
            .get_mut(name)
            .and_then(|e| e.running.take());
        stop(running).await;
    }

    fn put(&self, entry: Entry) -> ProxyView {
        let view = entry.view();
        self.inner
            .proxies
            .lock()
            .insert(entry.spec.name.clone(), entry);
        view
    }

    pub async fn create(&self, spec: ProxySpec) -> Result<ProxyView> {
        check_spec(&spec, "")?;
        let _g = self.inner.changes.lock().await;
        if self.inner.proxies.lock().contains_key(&spec.name) {
            return Err(FaultProxyError::ProxyAlreadyExists);
        }
        let mut entry = Entry::new(spec);
        if entry.spec.enabled {
            start(&mut entry).await?;
        }
        let view = self.put(entry);
        self.emit(ProxyEvent::ProxyCreated {
            proxy: view.clone(),
        });
        Ok(view)
    }

    /// Toxiproxy's populate: all specs are checked first; then each is
    /// created, or replaces a proxy of the same name whose listen or
    /// upstream differs (one that matches is left as it is).
    pub async fn populate(&self, specs: Vec<ProxySpec>) -> Result<Vec<ProxyView>> {
        let mut seen = std::collections::HashSet::new();
        for (i, spec) in specs.iter().enumerate() {
            check_spec(spec, &format!(" at proxy {}", i + 1))?;
            if !seen.insert(spec.name.as_str()) {
                return Err(FaultProxyError::DuplicateProxyName(spec.name.clone()));
            }
        }
        let _g = self.inner.changes.lock().await;
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let old = self.inner.proxies.lock().remove(&spec.name);
            if let Some(old) = old {
                if old.spec.listen == spec.listen && old.spec.upstream == spec.upstream {
                    out.push(self.put(old));
                    continue;
                }
                stop(old.running).await;
                self.emit(ProxyEvent::ProxyDeleted {
                    name: spec.name.clone(),
                });
            }
            let mut entry = Entry::new(spec);
            if entry.spec.enabled {
                start(&mut entry).await?;
            }
            let view = self.put(entry);
            self.emit(ProxyEvent::ProxyCreated {
                proxy: view.clone(),
            });
            out.push(view);
        }
        Ok(out)
    }

    /// Toxiproxy's update: a new listen or upstream restarts the proxy
    /// (closing its connections); `enabled` starts or stops it.
    pub async fn update(&self, name: &str, patch: ProxyPatch) -> Result<ProxyView> {
        let _g = self.inner.changes.lock().await;
        let (restart, enabled) = {
            let mut proxies = self.inner.proxies.lock();
            let e = proxies
                .get_mut(name)
                .ok_or(FaultProxyError::ProxyNotFound)?;
            let listen = patch.listen.unwrap_or_else(|| e.spec.listen.clone());
            let upstream = patch.upstream.unwrap_or_else(|| e.spec.upstream.clone());
            let restart = listen != e.spec.listen || upstream != e.spec.upstream;
            e.spec.listen = listen;
            e.spec.upstream = upstream;
            (restart, patch.enabled.unwrap_or(e.spec.enabled))
        };
        if restart || !enabled {
            self.stop_in_place(name).await;
        }
        let result = if enabled {
            self.start_in_place(name).await
        } else {
            Ok(())
        };
        let view = {
            let mut proxies = self.inner.proxies.lock();
            let e = proxies
                .get_mut(name)
                .ok_or(FaultProxyError::ProxyNotFound)?;
            e.spec.enabled = enabled && result.is_ok();
            e.view()
        };
        result?;
        self.emit(ProxyEvent::ProxyUpdated {
            proxy: view.clone(),
        });
        Ok(view)
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        let _g = self.inner.changes.lock().await;
        let entry = self
            .inner
            .proxies
            .lock()
            .remove(name)
            .ok_or(FaultProxyError::ProxyNotFound)?;
        stop(entry.running).await;
        self.emit(ProxyEvent::ProxyDeleted {
            name: name.to_string(),
        });
        Ok(())
    }

    /// Re-enables every proxy and removes every toxic.
    pub async fn reset(&self) -> Result<()> {
        let _g = self.inner.changes.lock().await;
        let names: Vec<String> = self.inner.proxies.lock().keys().cloned().collect();
        let mut first_err = None;
        for name in names {
            let started = self.start_in_place(&name).await;
            if let Some(e) = self.inner.proxies.lock().get_mut(&name) {
                e.spec.enabled = started.is_ok();
                e.toxics.clear();
                e.publish();
            }
            if let Err(e) = started {
                first_err.get_or_insert(e);
            }
        }
        self.emit(ProxyEvent::Reset);
        first_err.map_or(Ok(()), Err)
    }

    pub fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>> {
        self.inner
            .proxies
            .lock()
            .get(proxy)
            .map(Entry::toxic_list)
            .ok_or(FaultProxyError::ProxyNotFound)
    }

    pub fn toxic(&self, proxy: &str, name: &str) -> Result<Toxic> {
        let proxies = self.inner.proxies.lock();
        let entry = proxies.get(proxy).ok_or(FaultProxyError::ProxyNotFound)?;
        entry
            .find(name)
            .map(|i| entry.toxics[i].toxic.clone())
            .ok_or(FaultProxyError::ToxicNotFound)
    }

    /// Adds a toxic at the end of its stream's chain; live connections get
    /// it for the data that follows.
    pub async fn add_toxic(&self, proxy: &str, new: NewToxic) -> Result<Toxic> {
        let _g = self.inner.changes.lock().await;
        let toxic = {
            let mut proxies = self.inner.proxies.lock();
            let entry = proxies
                .get_mut(proxy)
                .ok_or(FaultProxyError::ProxyNotFound)?;
            let toxic = new.into_toxic()?;
            if entry.find(&toxic.name).is_some() {
                return Err(FaultProxyError::ToxicAlreadyExists);
            }
            let version = self.inner.version.fetch_add(1, Ordering::Relaxed);
            entry.toxics.push(ChainToxic {
                toxic: toxic.clone(),
                version,
            });
            entry.publish();
            toxic
        };
        self.emit(ProxyEvent::ToxicAdded {
            proxy: proxy.to_string(),
            toxic: toxic.clone(),
        });
        Ok(toxic)
    }

    /// [`Self::add_toxic`] from a Toxiproxy toxic object, as an experiment
    /// names it (`{"name", "type", "stream", "toxicity", "attributes"}`).
    pub async fn add_toxic_json(&self, proxy: &str, toxic: serde_json::Value) -> Result<Toxic> {
        let new: NewToxic = serde_json::from_value(toxic)
            .map_err(|e| FaultProxyError::BadRequestBody(e.to_string()))?;
        self.add_toxic(proxy, new).await
    }

    /// Enables or disables a proxy (disabling closes its live connections).
    pub async fn set_enabled(&self, proxy: &str, enabled: bool) -> Result<ProxyView> {
        self.update(
            proxy,
            ProxyPatch {
                enabled: Some(enabled),
                ..Default::default()
            },
        )
        .await
    }

    /// Changes a toxic's attributes and/or toxicity (its type and stream stay).
    pub async fn update_toxic(&self, proxy: &str, name: &str, patch: ToxicPatch) -> Result<Toxic> {
        let _g = self.inner.changes.lock().await;
        let toxic = {
            let mut proxies = self.inner.proxies.lock();
            let entry = proxies
                .get_mut(proxy)
                .ok_or(FaultProxyError::ProxyNotFound)?;
            let i = entry.find(name).ok_or(FaultProxyError::ToxicNotFound)?;
            let current = &entry.toxics[i].toxic;
            if patch.name.as_deref().is_some_and(|n| n != current.name) {
                return Err(FaultProxyError::BadRequestBody(
                    "name: a toxic cannot be renamed".into(),
                ));
            }
            if patch
                .kind
                .as_deref()
                .is_some_and(|k| k != current.kind.type_name())
            {
                return Err(FaultProxyError::BadRequestBody(
                    "type: a toxic's type cannot change".into(),
                ));
            }
            if patch
                .stream
                .as_deref()
                .is_some_and(|s| s != current.stream.as_str())
            {
                return Err(FaultProxyError::BadRequestBody(
                    "stream: a toxic's stream cannot change".into(),
                ));
            }
            let kind = current.kind.patched(patch.attributes)?;
            let toxicity = check_toxicity(patch.toxicity.unwrap_or(current.toxicity))?;
            let toxic = Toxic {
                name: current.name.clone(),
                kind,
                stream: current.stream,
                toxicity,
            };
            let version = self.inner.version.fetch_add(1, Ordering::Relaxed);
            entry.toxics[i] = ChainToxic {
                toxic: toxic.clone(),
                version,
            };
            entry.publish();
            toxic
        };
        self.emit(ProxyEvent::ToxicUpdated {
            proxy: proxy.to_string(),
            toxic: toxic.clone(),
        });
        Ok(toxic)
    }

    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<()> {
        let _g = self.inner.changes.lock().await;
        let toxic = {
            let mut proxies = self.inner.proxies.lock();
            let entry = proxies
                .get_mut(proxy)
                .ok_or(FaultProxyError::ProxyNotFound)?;
            let i = entry.find(name).ok_or(FaultProxyError::ToxicNotFound)?;
            let removed = entry.toxics.remove(i);
            entry.publish();
            removed.toxic
        };
        self.emit(ProxyEvent::ToxicRemoved {
            proxy: proxy.to_string(),
            toxic,
        });
        Ok(())
    }

    /// Per-proxy counters for `/metrics`.
    pub fn stats(&self) -> Vec<ProxyStats> {
        self.inner
            .proxies
            .lock()
            .values()
            .map(|e| ProxyStats {
                name: e.spec.name.clone(),
                enabled: e.spec.enabled,
                bytes_upstream: e.counters.bytes_upstream.load(Ordering::Relaxed),
                bytes_downstream: e.counters.bytes_downstream.load(Ordering::Relaxed),
                connections_total: e.counters.connections_total.load(Ordering::Relaxed),
                connections_active: e.counters.connections_active.load(Ordering::Relaxed),
                toxics_active: e.toxics.len() as u64,
            })
            .collect()
    }
}
