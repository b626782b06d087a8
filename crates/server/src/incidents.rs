//! The incident hub: opens incidents for paging alert groups (the
//! dispatcher's [`IncidentHook`]), serves the incident API
//! ([`homeostat_http::IncidentApi`]), starts an escalation for every new
//! page and persists it in the state store, signs the acknowledge/resolve
//! links, and computes postmortem impact from the metrics store. The
//! escalation ticker that pages people is in [`escalator`].

mod escalator;
mod impact;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use homeostat_http::{Declare, IncidentApi, Live};
use homeostat_incident::{
    AlertInfo, Impact, IncidentError, IncidentOptions, IncidentService, LinkAction, LinkSigner,
};
use homeostat_model::Clock;
use homeostat_oncall::{Escalation, Oncall};
use homeostat_state::{
    EscalationRecord, EscalationStore, Incident, IncidentId, IncidentState, IncidentStore,
};
use parking_lot::{Mutex, RwLock};

pub use escalator::{Page, run_escalations};
pub use impact::ImpactSource;

use crate::alert_events::{ActionLinks, GroupFlush, IncidentHook, NotificationOutcome};
use crate::config::IncidentsRuntime;

/// How far back an opening incident looks for its service's changes.
const RECENT_CHANGES_MS: i64 = 3_600_000;

/// The file in the data dir holding the link-signing secret.
pub const LINK_SECRET_FILE: &str = "incident-links.key";

pub struct IncidentHub {
    store: Arc<dyn IncidentStore>,
    /// Read when an incident opens, to put the service's recent deploys and
    /// rollbacks on its timeline.
    deploys: Arc<dyn homeostat_state::DeployStore>,
    /// Read with the deploys: experiments and terminations around the opening.
    state: homeostat_state::State,
    service: RwLock<IncidentService>,
    escalations: Arc<dyn EscalationStore>,
    runtime: Live<IncidentsRuntime>,
    links: LinkSigner,
    /// `external_url`, else `http://<listen address>`; links use it unless
    /// `incidents.link_base_url` is set.
    server_url: String,
    clock: Arc<dyn Clock>,
    /// Serialises read-modify-write of escalation records between the
    /// ticker and acknowledgements, so an ack cannot be overwritten by a
    /// tick that read the record before it.
    escalation_lock: Mutex<()>,
    /// Wakes the ticker when an escalation starts.
    wake: tokio::sync::Notify,
    impact: Option<ImpactSource>,
    /// The process's outbound delivery path; pages go through it.
    outbound: homeostat_notify::Outbound,
    /// Pages owed and sent (the outbox), so a restart neither repeats nor
    /// forgets one.
    nflog: Arc<dyn homeostat_state::NotificationLog>,
    /// Remediation policies get the first go at a paging alert group: its
    /// page waits while a run acts (set once, after the service exists,
    /// since the service pages through this hub).
    remediation: std::sync::OnceLock<(
        Arc<homeostat_app::RemediationService>,
        std::sync::Weak<IncidentHub>,
    )>,
}

impl std::fmt::Debug for IncidentHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentHub")
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

fn options(rt: &IncidentsRuntime) -> IncidentOptions {
    IncidentOptions {
        reopen_window_ms: rt.incidents.reopen_window.as_millis() as i64,
        ..IncidentOptions::default()
    }
}

pub(crate) fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl IncidentHub {
    pub fn new(
        state: &homeostat_state::State,
        runtime: IncidentsRuntime,
        link_secret: &[u8],
        server_url: String,
        clock: Arc<dyn Clock>,
        impact: Option<ImpactSource>,
        outbound: homeostat_notify::Outbound,
    ) -> Self {
        IncidentHub {
            store: state.incidents.clone(),
            deploys: state.deploys.clone(),
            state: state.clone(),
            service: RwLock::new(IncidentService::with_options(
                state.incidents.clone(),
                options(&runtime),
            )),
            escalations: state.escalations.clone(),
            runtime: Live::new(runtime),
            links: LinkSigner::new(link_secret),
            server_url: server_url.trim_end_matches('/').to_string(),
            clock,
            escalation_lock: Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            impact,
            outbound,
            nflog: state.nflog.clone(),
            remediation: std::sync::OnceLock::new(),
        }
    }

    /// Applies a reloaded config: the next page and the next step of every
    /// running escalation use it.
    pub fn set_runtime(&self, rt: IncidentsRuntime) {
        *self.service.write() = IncidentService::with_options(self.store.clone(), options(&rt));
        self.runtime.set(rt);
        self.wake.notify_one();
    }

    pub fn runtime(&self) -> Arc<IncidentsRuntime> {
        self.runtime.get()
    }

    fn base_url(&self) -> String {
        self.runtime
            .get()
            .incidents
            .link_base_url
            .clone()
            .unwrap_or_else(|| self.server_url.clone())
    }

    /// A signed link for `action` on `id`, addressed to `user` (empty for
    /// anyone who got the notification).
    pub fn link(&self, id: IncidentId, action: LinkAction, user: &str) -> String {
        let expires_at = self
            .clock
            .now_millis()
            .saturating_add(homeostat_incident::DEFAULT_LINK_TTL_MS);
        let token = self.links.token(id, action, user, expires_at);
        let mut url = format!(
            "{}/api/v1/incidents/{id}/{}?token={token}",
            self.base_url(),
            action.as_str()
        );
        if !user.is_empty() {
            url.push_str("&user=");
            url.extend(form_urlencoded_byte(user));
        }
        url
    }

    /// The console page of the incident.
    pub fn console_url(&self, id: IncidentId) -> String {
        format!("{}/console/incident?id={id}", self.base_url())
    }

    /// Hands paging alert groups to the remediation policies first.
    pub fn set_remediation(self: &Arc<Self>, svc: Arc<homeostat_app::RemediationService>) {
        let _ = self.remediation.set((svc, Arc::downgrade(self)));
    }

    /// Pages the incident now through the escalation policy its labels
    /// route to, with `why` on the timeline when the caller has not put it
    /// there: remediation ran out of actions, or an action waits for approval.
    pub fn page_now(&self, id: IncidentId, why: Option<&str>) -> Result<(), String> {
        let service = self.service();
        let at = self.clock.now_millis();
        let i = service.store().get(id).map_err(|e| e.to_string())?;
        if let Some(why) = why {
            service
                .add_note(id, why, &IncidentOptions::default().system_actor, at)
                .map_err(|e| e.to_string())?;
        }
        if self
            .escalations
            .get(&id.to_string())
            .ok()
            .flatten()
            .is_some()
        {
            // Already paging: the note is what the person needs.
            return Ok(());
        }
        let rt = self.runtime.get();
        match rt.incidents.policy_for(&i.labels) {
            Some(policy) => self.start_escalation(&i, policy, at),
            None => {
                tracing::warn!(incident = %id, "no escalation policy routes this incident; nobody is paged")
            }
        }
        Ok(())
    }

    /// Resolves an incident a policy mitigated once its group has no
    /// alert firing any more (the fix held).
    pub fn resolve_auto_remediated(&self, id: IncidentId) {
        let service = self.service();
        let Ok(i) = service.store().get(id) else {
            return;
        };
        if i.state != IncidentState::Mitigated || !mitigated_by_policy(&service, id) {
            return;
        }
        let at = self.clock.now_millis();
        if let Err(e) =
            service.transition(id, IncidentState::Resolved, "homeostat (remediation)", at)
        {
            tracing::warn!(incident = %id, error = %e, "resolving an auto-remediated incident failed");
        }
    }

    /// Whether a remediation policy takes the group first; when it does,
    /// its runs start in the background and the page waits for them (the
    /// service pages when they run out). A group no policy matches, or
    /// whose runs end at once (denied, dry run), is paged as usual.
    fn remediation_takes(&self, paging: &[AlertInfo], i: &Incident) -> bool {
        let Some((svc, hub)) = self.remediation.get() else {
            return false;
        };
        let labels: Vec<homeostat_model::Labels> = paging
            .iter()
            .filter_map(|a| crate::remediation::labels_of(&a.labels))
            .collect();
        let matched = svc
            .policies()
            .policies
            .iter()
            .any(|p| labels.iter().any(|l| p.target_of(l).is_some()));
        if !matched {
            return false;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let (svc, hub, id) = (svc.clone(), hub.clone(), i.id);
        handle.spawn(async move {
            let runs = svc.on_alerts(&labels, Some(id)).await;
            let acting = match &runs {
                Ok(r) => r.iter().any(|run| run.ended_at.is_none()),
                Err(_) => false,
            } || svc.in_progress(id).await.unwrap_or(false);
            if acting {
                return;
            }
            let why = match runs {
                Err(e) => format!("remediation could not start ({e}); paging"),
                Ok(_) => "no remediation run is acting on this incident; paging".to_string(),
            };
            if let Some(hub) = hub.upgrade()
                && let Err(e) = hub.page_now(id, Some(&why))
            {
                tracing::error!(incident = %id, error = %e, "paging after remediation failed");
            }
        });
        true
    }

    /// Starts paging for `incident` through `policy`; a policy missing from
    /// the config is logged and noted on the timeline, not an error: the
    /// incident itself is already open.
    pub fn start_escalation(&self, incident: &Incident, policy: &str, at: i64) {
        let rt = self.runtime.get();
        let Some(p) = rt.oncall.escalation_policy(policy) else {
            tracing::warn!(incident = %incident.id, policy, "unknown escalation policy; nobody is paged");
            return;
        };
        let esc = Escalation::start(p, utc(at));
        let record = match serde_json::to_value(&esc) {
            Ok(state_json) => EscalationRecord {
                key: incident.id.to_string(),
                state_json,
                updated_at: at,
            },
            Err(e) => {
                tracing::error!(error = %e, "escalation state does not serialise");
                return;
            }
        };
        let put = {
            let _g = self.escalation_lock.lock();
            self.escalations.put(&record)
        };
        match put {
            Ok(()) => {
                tracing::info!(incident = %incident.id, policy, "escalation started");
                self.wake.notify_one();
            }
            Err(e) => {
                tracing::error!(incident = %incident.id, error = %e, "storing the escalation failed")
            }
        }
    }

    /// Ends the incident's escalation, if one runs.
    fn stop_escalation(&self, id: IncidentId) -> bool {
        let _g = self.escalation_lock.lock();
        match self.escalations.delete(&id.to_string()) {
            Ok(had) => had,
            Err(e) => {
                tracing::error!(incident = %id, error = %e, "deleting the escalation failed");
                false
            }
        }
    }

    /// Deploys and rollbacks of the incident's service in the hour before
    /// it opened go on its timeline; a failure to read them costs the
    /// context, not the page.
    fn record_recent_changes(&self, service: &IncidentService, i: &Incident, at: i64) {
        let Some(svc) = i.service.clone() else {
            return;
        };
        let svc_name = svc.clone();
        let since = at - RECENT_CHANGES_MS;
        let deploys = self.deploys.list_deploys(&homeostat_state::DeployFilter {
            service: Some(svc),
            since: Some(since),
            until: Some(at),
            limit: 0,
        });
        let res = deploys
            .map_err(IncidentError::from)
            .and_then(|d| service.record_recent_changes(i.id, &d, since, at));
        if let Err(e) = res {
            tracing::warn!(incident = %i.id, error = %e, "recording the service's recent changes failed");
        }
        // Chaos on the service goes on too (the suspects list also ranks
        // chaos on its dependencies).
        let res = homeostat_app::chaos_changes(&self.state, since)
            .map_err(IncidentError::from)
            .and_then(|all| {
                let mine: Vec<_> = all.into_iter().filter(|c| c.service == svc_name).collect();
                service.record_recent_chaos(i.id, &mine, since, at)
            });
        if let Err(e) = res {
            tracing::warn!(incident = %i.id, error = %e, "recording recent chaos failed");
        }
    }

    fn links_for(&self, i: &Incident) -> ActionLinks {
        ActionLinks {
            incident_id: Some(i.id.to_string()),
            ack_url: Some(self.link(i.id, LinkAction::Acknowledge, "")),
            resolve_url: Some(self.link(i.id, LinkAction::Resolve, "")),
        }
    }

    fn flush(&self, f: &GroupFlush) -> Result<ActionLinks, IncidentError> {
        let rt = self.runtime.get();
        let service = self.service();
        let (firing, resolved): (Vec<AlertInfo>, Vec<AlertInfo>) = f
            .alerts
            .iter()
            .cloned()
            .partition(|a| a.ends_at.is_none_or(|e| e > f.at));
        let mut links = ActionLinks::default();
        if let Some(first) = firing.iter().find(|a| rt.incidents.pages(&a.labels)) {
            let existed = service
                .store()
                .find_open_by_group_key(&f.group_key)?
                .is_some();
            let paging: Vec<AlertInfo> = firing
                .iter()
                .filter(|a| rt.incidents.pages(&a.labels))
                .cloned()
                .collect();
            let i = service.on_alert_group_firing(&f.group_key, &paging, f.at)?;
            if !existed {
                self.record_recent_changes(&service, &i, f.at);
            }
            // Opened or reopened by this flush: page. Joined: already paging.
            if !existed
                && i.state == IncidentState::Triggered
                && let Some(policy) = rt.incidents.policy_for(&first.labels)
                && !self.remediation_takes(&paging, &i)
            {
                self.start_escalation(&i, policy, f.at);
            }
            if i.state.is_open() {
                links = self.links_for(&i);
            }
        }
        let cleared = if resolved.is_empty() {
            None
        } else {
            service.on_alert_resolved(&f.group_key, &resolved, f.at)?
        };
        // Auto-remediated and now quiet: the policy's fix held, so the
        // incident resolves with its alert, as docs/remediation.md says.
        if let Some(i) = &cleared
            && firing.is_empty()
            && i.state == IncidentState::Mitigated
            && mitigated_by_policy(&service, i.id)
        {
            service.transition(
                i.id,
                IncidentState::Resolved,
                "homeostat (remediation)",
                f.at,
            )?;
        }
        if let Some(i) = cleared
            && firing.is_empty()
            && self.stop_escalation(i.id)
        {
            // Nobody needs waking for a problem that went away; the
            // incident stays open for a human to close.
            service.add_note(
                i.id,
                "escalation stopped: every alert of the group resolved",
                &IncidentOptions::default().system_actor,
                f.at,
            )?;
        }
        Ok(links)
    }
}

/// Whether a remediation policy mitigated the incident (its principal is
/// `homeostat (policy NAME)`).
fn mitigated_by_policy(service: &IncidentService, id: IncidentId) -> bool {
    service.timeline(id).is_ok_and(|t| {
        t.iter().any(|e| {
            e.kind == homeostat_state::EventKind::StateChanged
                && e.data.get("to").and_then(|v| v.as_str()) == Some("mitigated")
                && e.actor
                    .as_deref()
                    .is_some_and(homeostat_remediation::is_principal)
        })
    })
}

/// Percent-encodes a query value (user ids are usually plain).
fn form_urlencoded_byte(s: &str) -> impl Iterator<Item = char> + '_ {
    s.bytes().flat_map(|b| {
        let plain = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        let chars: Vec<char> = if plain {
            vec![b as char]
        } else {
            format!("%{b:02X}").chars().collect()
        };
        chars
    })
}

impl IncidentHook for IncidentHub {
    fn before_notify(&self, flush: &GroupFlush) -> ActionLinks {
        self.flush(flush).unwrap_or_else(|e| {
            tracing::error!(group_key = %flush.group_key, error = %e, "recording the alert group on its incident failed");
            ActionLinks::default()
        })
    }

    fn after_notify(&self, outcome: &NotificationOutcome) {
        let service = self.service();
        let incident = match service.store().find_open_by_group_key(&outcome.group_key) {
            Ok(Some(i)) => i,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "looking up the group's incident failed");
                return;
            }
        };
        if let Err(e) = service.record_notification(
            incident.id,
            &outcome.receiver,
            outcome.delivered,
            outcome.at,
        ) {
            tracing::warn!(incident = %incident.id, error = %e, "recording a notification failed");
        }
    }
}

impl IncidentApi for IncidentHub {
    fn service(&self) -> IncidentService {
        self.service.read().clone()
    }

    fn oncall(&self) -> Arc<Oncall> {
        Arc::new(self.runtime.get().oncall.clone())
    }

    fn links(&self) -> &LinkSigner {
        &self.links
    }

    fn declare(&self, d: &Declare, at: i64) -> Result<Incident, IncidentError> {
        if let Some(p) = &d.escalation_policy
            && self.runtime.get().oncall.escalation_policy(p).is_none()
        {
            return Err(IncidentError::Invalid {
                field: "escalation_policy".into(),
                problem: format!(
                    "unknown escalation policy {p:?}; use an id from oncall.escalation_policies"
                ),
            });
        }
        let s = self.service();
        let mut i = s.declare(&d.title, d.severity, d.service.as_deref(), &d.by, at)?;
        self.record_recent_changes(&s, &i, at);
        if let Some(c) = &d.commander {
            i = s.assign_role(i.id, homeostat_state::Role::IncidentCommander, c, &d.by, at)?;
        }
        if let Some(p) = &d.escalation_policy {
            self.start_escalation(&i, p, at);
        }
        Ok(i)
    }

    fn transition(
        &self,
        id: IncidentId,
        to: IncidentState,
        by: &str,
        at: i64,
    ) -> Result<Incident, IncidentError> {
        let i = self.service().transition(id, to, by, at)?;
        // Anything past "triggered" means a person has it: stop paging.
        if i.state != IncidentState::Triggered {
            self.stop_escalation(id);
        }
        Ok(i)
    }

    fn escalation(&self, id: IncidentId) -> Option<Escalation> {
        let record = self.escalations.get(&id.to_string()).ok()??;
        serde_json::from_value(record.state_json).ok()
    }

    fn impact(&self, incident: &Incident) -> Impact {
        match &self.impact {
            Some(src) => src.impact(incident, &self.service(), self.clock.now_millis()),
            None => Impact::default(),
        }
    }
}

/// Reads the link-signing secret from the data dir, creating it (32 random
/// bytes, owner-only) on first start. Links stay valid across restarts.
pub fn load_link_secret(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join(LINK_SECRET_FILE);
    match std::fs::read(&path) {
        Ok(secret) if secret.len() >= 16 => {
            check_key_permissions(&path)?;
            return Ok(secret);
        }
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is shorter than 16 bytes; delete it to get a new one (old links stop working)",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;
    let secret: [u8; 32] = rand::random();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path)?;
    std::io::Write::write_all(&mut f, &secret)?;
    f.sync_all()?;
    Ok(secret.to_vec())
}

/// Anyone who can read the key can forge acknowledge and resolve links, so
/// a key readable by its group or by others is refused (on Unix), naming
/// the fix.
fn check_key_permissions(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} is readable by others (mode {:03o}); anyone who reads it can forge \
                     acknowledge and resolve links: run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests;
