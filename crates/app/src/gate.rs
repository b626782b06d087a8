//! The deploy gate as a service: "may this change of this service ship
//! now?" answered from the service's policy, the remaining budgets of its
//! SLOs and its overrides; overrides created and revoked with their audit
//! record in one transaction.
//!
//! Measuring budgets runs PromQL over each SLO's period, so answers come
//! from a cache the server refreshes every few seconds ([`GateService::refresh`]);
//! a request without a fresh entry measures inline and stores its result.
//! The cache has one writer, this service, and a generation: an override
//! change bumps it after it is committed, and a measurement that started
//! before the bump is not stored. So after an override is created or
//! revoked, the next answer reads the overrides again and reflects it,
//! however a concurrent refresh interleaves.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use homeostat_gate::{Decision, Override, OverrideError, Policy, SloBudget, decide};
use homeostat_model::{Clock, ErrorKind};
use homeostat_slo::SloSpec;
use homeostat_state::{AuditEntry, OverrideStore, StateError};
use parking_lot::Mutex;
use serde_json::json;

use crate::{Live, SloMeter};

/// A cached budget older than this is measured again inline.
pub const GATE_CACHE_MAX_AGE_MS: i64 = 30_000;

/// Where the gate's budgets come from: the [`SloMeter`] in production, a
/// controllable fake in tests.
pub trait BudgetSource: Send + Sync {
    /// The remaining budget of each SLO at `now` and whether its page tier
    /// fires. May run queries: called on a blocking thread.
    fn measure(&self, slos: &[SloSpec], now: i64) -> Vec<SloBudget>;
}

impl BudgetSource for SloMeter {
    fn measure(&self, slos: &[SloSpec], now: i64) -> Vec<SloBudget> {
        slos.iter()
            .map(|spec| {
                let (status, firing) = SloMeter::measure(self, spec, now);
                SloBudget {
                    slo: spec.id.clone(),
                    remaining: status.remaining,
                    page_firing: firing.iter().any(|f| f == "page"),
                }
            })
            .collect()
    }
}

/// The budgets of a service's SLOs as last measured, with its overrides.
#[derive(Debug, Clone)]
pub struct MeasuredBudgets {
    pub measured_at: i64,
    pub budgets: Vec<SloBudget>,
    /// Read before the budgets, so a change committed after this read
    /// bumps the generation and the measurement is not stored.
    pub overrides: Vec<Override>,
}

impl MeasuredBudgets {
    /// A "no data" answer may come from a server that has just started or
    /// just received its first samples: it is measured again rather than
    /// served from the cache.
    fn complete(&self) -> bool {
        self.budgets.iter().all(|b| b.remaining.is_some())
    }
}

#[derive(Debug, Default)]
struct Cache {
    /// Bumped by every override change, after it is committed.
    generation: u64,
    entries: BTreeMap<String, MeasuredBudgets>,
}

/// The gate's answer for one service.
#[derive(Debug, Clone)]
pub enum GateAnswer {
    /// SLOs name the service but no policy gates it: always allowed.
    Ungated {
        service: String,
        change_type: Option<String>,
    },
    Decided {
        decision: Box<Decision>,
        measured_at: i64,
        /// Whether this answer measured the budgets itself (no fresh cache
        /// entry) rather than using the background measurement.
        measured_inline: bool,
    },
}

/// When a new override ends.
#[derive(Debug, Clone, Copy)]
pub enum Expiry {
    At(i64),
    /// This long after it is created.
    In(Duration),
}

/// A request to lift a service's freeze.
#[derive(Debug, Clone)]
pub struct NewOverride {
    pub service: String,
    pub reason: String,
    pub author: String,
    pub expiry: Expiry,
}

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("unknown service {0:?}: no SLOs and no gate policy name it")]
    UnknownService(String),
    #[error(transparent)]
    InvalidOverride(#[from] OverrideError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("release task failed: {0}")]
    Task(String),
}

impl GateError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            GateError::UnknownService(_) => ErrorKind::NotFound,
            GateError::InvalidOverride(_) => ErrorKind::InvalidInput,
            GateError::State(e) => e.kind(),
            GateError::Task(_) => ErrorKind::Internal,
        }
    }
}

/// The gate: policies, budgets, overrides and the cache between them.
pub struct GateService {
    slos: Arc<Live<Vec<SloSpec>>>,
    policies: Arc<Live<Vec<Policy>>>,
    overrides: Arc<dyn OverrideStore>,
    clock: Arc<dyn Clock>,
    budgets: Arc<dyn BudgetSource>,
    cache: Mutex<Cache>,
}

impl GateService {
    pub fn new(
        slos: Arc<Live<Vec<SloSpec>>>,
        policies: Arc<Live<Vec<Policy>>>,
        overrides: Arc<dyn OverrideStore>,
        clock: Arc<dyn Clock>,
        budgets: Arc<dyn BudgetSource>,
    ) -> Self {
        Self {
            slos,
            policies,
            overrides,
            clock,
            budgets,
            cache: Mutex::default(),
        }
    }

    /// The policies in effect now (`gate.policies`).
    pub fn policies(&self) -> Arc<Vec<Policy>> {
        self.policies.get()
    }

    /// `deploy freeze on SERVICE: reason` when the service is frozen for
    /// changes of `change_type` now; `None` otherwise or when it cannot be
    /// told (a gate that cannot measure does not stop the caller).
    pub async fn freeze(self: &Arc<Self>, service: &str, change_type: &str) -> Option<String> {
        match self.check(service, Some(change_type)).await {
            Ok(GateAnswer::Decided { decision, .. }) if decision.frozen => {
                Some(format!("deploy freeze on {service}: {}", decision.reason))
            }
            _ => None,
        }
    }

    /// May a change of `change_type` to `service` ship now? A fresh cache
    /// entry answers on this thread (no blocking-pool hop, no database
    /// read); otherwise the budgets are measured on a blocking thread.
    pub async fn check(
        self: &Arc<Self>,
        service: &str,
        change_type: Option<&str>,
    ) -> Result<GateAnswer, GateError> {
        let slos = self.slos.get();
        let own: Vec<SloSpec> = slos
            .iter()
            .filter(|s| s.service == service)
            .cloned()
            .collect();
        let policy = self
            .policies
            .get()
            .iter()
            .find(|p| p.service == service)
            .cloned();
        if own.is_empty() && policy.is_none() {
            return Err(GateError::UnknownService(service.to_string()));
        }
        let Some(policy) = policy else {
            return Ok(GateAnswer::Ungated {
                service: service.to_string(),
                change_type: change_type.map(str::to_string),
            });
        };
        let now = self.clock.now_millis();
        if let Some(c) = self.fresh(service, now) {
            return Ok(GateAnswer::Decided {
                decision: Box::new(decide(&policy, &c.budgets, &c.overrides, change_type, now)),
                measured_at: c.measured_at,
                measured_inline: false,
            });
        }
        let me = self.clone();
        let svc = service.to_string();
        let measured = tokio::task::spawn_blocking(move || me.measure_and_store(&svc, &own, now))
            .await
            .map_err(|e| GateError::Task(e.to_string()))??;
        Ok(GateAnswer::Decided {
            decision: Box::new(decide(
                &policy,
                &measured.budgets,
                &measured.overrides,
                change_type,
                now,
            )),
            measured_at: now,
            measured_inline: true,
        })
    }

    /// Measures the budgets of every gated service and stores them, unless
    /// an override changed meanwhile. The server calls it every few
    /// seconds on a blocking thread, so the gate's answer is at most that
    /// stale (the answer says when it was measured).
    pub fn refresh(&self) {
        let policies = self.policies.get();
        if policies.is_empty() {
            return;
        }
        let generation = self.cache.lock().generation;
        let now = self.clock.now_millis();
        let slos = self.slos.get();
        let mut fresh = BTreeMap::new();
        for policy in policies.iter() {
            let svc = &policy.service;
            let own: Vec<SloSpec> = slos.iter().filter(|s| &s.service == svc).cloned().collect();
            match self.measure(svc, &own, now) {
                Ok(m) => {
                    for b in m.budgets.iter().filter(|b| b.remaining.is_none()) {
                        tracing::debug!(service = %svc, slo = %b.slo, "gate refresh: SLO without data; the gate measures it again when asked");
                    }
                    fresh.insert(svc.clone(), m);
                }
                Err(e) => {
                    tracing::error!(service = %svc, error = %e, "gate refresh: reading overrides failed");
                }
            }
        }
        let mut cache = self.cache.lock();
        if cache.generation != generation {
            tracing::debug!("gate refresh: an override changed while measuring; discarded");
            return;
        }
        // An inline measurement newer than this refresh stays.
        for (svc, m) in std::mem::take(&mut cache.entries) {
            if m.measured_at > now {
                fresh.insert(svc, m);
            }
        }
        cache.entries = fresh;
    }

    /// Every override of `service` (all when `None`), newest first.
    pub async fn list_overrides(
        &self,
        service: Option<String>,
    ) -> Result<Vec<Override>, GateError> {
        let store = self.overrides.clone();
        blocking(move || Ok(store.list_overrides(service.as_deref())?)).await
    }

    /// Lifts a freeze until the override expires: stored with its audit
    /// record (both or neither), then the service's cached budgets are
    /// dropped so the next answer reflects it.
    pub async fn create_override(&self, req: NewOverride) -> Result<Override, GateError> {
        let now = self.clock.now_millis();
        let expires_at = match req.expiry {
            Expiry::At(t) => t,
            Expiry::In(d) => now + d.as_millis() as i64,
        };
        let o = Override {
            id: format!("ovr-{}", homeostat_state::new_silence_id()),
            service: req.service,
            reason: req.reason,
            author: req.author,
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        homeostat_gate::validate_override(&o, &self.policies.get(), now)?;
        let audit = AuditEntry {
            seq: 0,
            at: now,
            actor: o.author.clone(),
            action: "gate.override.create".into(),
            object: format!("gate-override/{}", o.id),
            detail: json!({"service": o.service, "reason": o.reason, "expires_at": o.expires_at}),
        };
        let store = self.overrides.clone();
        let saved = o.clone();
        blocking(move || Ok(store.create_override(&o, &audit)?)).await?;
        self.invalidate(Some(&saved.service));
        Ok(saved)
    }

    /// Revokes an override (audited, in one transaction); `false` when it
    /// was revoked already.
    pub async fn revoke_override(&self, id: &str, actor: &str) -> Result<bool, GateError> {
        let now = self.clock.now_millis();
        let audit = AuditEntry {
            seq: 0,
            at: now,
            actor: actor.to_string(),
            action: "gate.override.revoke".into(),
            object: format!("gate-override/{id}"),
            detail: json!({}),
        };
        let store = self.overrides.clone();
        let id = id.to_string();
        let revoked = blocking(move || Ok(store.revoke_override(&id, now, &audit)?)).await?;
        // Any cached measurement may hold the override: drop them all.
        self.invalidate(None);
        Ok(revoked)
    }

    /// A cache entry young enough and complete enough to answer from.
    fn fresh(&self, service: &str, now: i64) -> Option<MeasuredBudgets> {
        self.cache
            .lock()
            .entries
            .get(service)
            .filter(|c| now - c.measured_at <= GATE_CACHE_MAX_AGE_MS)
            .filter(|c| c.complete())
            .cloned()
    }

    /// Overrides first, then budgets: an override committed after the
    /// read bumps the generation before this measurement can be stored.
    fn measure(
        &self,
        service: &str,
        own: &[SloSpec],
        now: i64,
    ) -> Result<MeasuredBudgets, StateError> {
        let overrides = self.overrides.list_overrides(Some(service))?;
        let budgets = self.budgets.measure(own, now);
        Ok(MeasuredBudgets {
            measured_at: now,
            budgets,
            overrides,
        })
    }

    /// Measures one service inline; later answers use the result until the
    /// background refresh replaces it, so one slow answer does not become
    /// many.
    fn measure_and_store(
        &self,
        service: &str,
        own: &[SloSpec],
        now: i64,
    ) -> Result<MeasuredBudgets, GateError> {
        let generation = self.cache.lock().generation;
        let m = self.measure(service, own, now)?;
        if m.complete() {
            let mut cache = self.cache.lock();
            let newer = cache
                .entries
                .get(service)
                .is_some_and(|c| c.measured_at > now);
            if cache.generation == generation && !newer {
                cache.entries.insert(service.to_string(), m.clone());
            }
        }
        Ok(m)
    }

    /// Forgets cached budgets (one service's, or all) and starts a new
    /// generation, so measurements already running are not stored.
    fn invalidate(&self, service: Option<&str>) {
        let mut cache = self.cache.lock();
        cache.generation += 1;
        match service {
            Some(s) => {
                cache.entries.remove(s);
            }
            None => cache.entries.clear(),
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GateError> + Send + 'static,
) -> Result<T, GateError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| GateError::Task(e.to_string()))?
}
