//! The incident API: the contract between the incident routes and whoever
//! runs incidents. The server implements [`IncidentApi`] with escalation and
//! paging; the default methods give the plain behaviour over an
//! [`IncidentService`] ([`BasicIncidents`], for tests and for servers without
//! on-call). Every method may touch the state store: call them on a blocking
//! thread.

use std::sync::Arc;

use homeostat_incident::{
    Impact, IncidentError, IncidentService, LinkAction, LinkRefusal, LinkSigner,
};
use homeostat_oncall::{Escalation, Oncall};
use homeostat_state::{
    AuditEntry, AuditLog, Incident, IncidentId, IncidentState, MemState, Role, Severity,
    StateError, UsedLinkStore,
};
use serde_json::json;

/// A hand-declared incident.
#[derive(Debug, Clone)]
pub struct Declare {
    pub title: String,
    pub severity: Severity,
    pub service: Option<String>,
    /// Becomes the incident commander.
    pub commander: Option<String>,
    /// Pages through this policy (an id under `oncall.escalation_policies`).
    pub escalation_policy: Option<String>,
    pub by: String,
}

pub trait IncidentApi: Send + Sync {
    /// The service with the settings in effect now (cheap to clone).
    fn service(&self) -> IncidentService;

    /// The on-call config in effect now.
    fn oncall(&self) -> Arc<Oncall>;

    /// The signer of acknowledge/resolve links, which checks their
    /// signature and expiry. Whether a link was used is the
    /// [`IncidentDesk`]'s business.
    fn links(&self) -> &LinkSigner;

    /// Opens an incident by hand. An unknown escalation policy is refused
    /// before anything is written.
    fn declare(&self, d: &Declare, at: i64) -> Result<Incident, IncidentError> {
        if let Some(p) = &d.escalation_policy
            && self.oncall().escalation_policy(p).is_none()
        {
            return Err(IncidentError::Invalid {
                field: "escalation_policy".into(),
                problem: format!(
                    "unknown escalation policy {p:?}; use an id from oncall.escalation_policies"
                ),
            });
        }
        let s = self.service();
        let incident = s.declare(&d.title, d.severity, d.service.as_deref(), &d.by, at)?;
        match &d.commander {
            Some(c) => s.assign_role(incident.id, Role::IncidentCommander, c, &d.by, at),
            None => Ok(incident),
        }
    }

    /// Acknowledge, mitigate, resolve (or reopen): any step that ends the
    /// need to page also stops the incident's escalation.
    fn transition(
        &self,
        id: IncidentId,
        to: IncidentState,
        by: &str,
        at: i64,
    ) -> Result<Incident, IncidentError> {
        self.service().transition(id, to, by, at)
    }

    /// Where the incident's escalation stands, if one runs or ran.
    fn escalation(&self, _id: IncidentId) -> Option<Escalation> {
        None
    }

    /// What the incident cost (SLO budgets burnt, deploys in the window).
    fn impact(&self, _incident: &Incident) -> Impact {
        Impact::default()
    }
}

/// Incidents without paging: declared by hand, no escalation, no impact.
pub struct BasicIncidents {
    service: IncidentService,
    oncall: Arc<Oncall>,
    links: LinkSigner,
}

impl BasicIncidents {
    pub fn new(service: IncidentService, oncall: Oncall, link_secret: &[u8]) -> Self {
        BasicIncidents {
            service,
            oncall: Arc::new(oncall),
            links: LinkSigner::new(link_secret),
        }
    }

    /// A token [`IncidentApi::verify_link`] accepts until `expires_at`.
    pub fn link_token(
        &self,
        id: IncidentId,
        action: LinkAction,
        user: &str,
        expires_at: i64,
    ) -> String {
        self.links.token(id, action, user, expires_at)
    }
}

impl IncidentApi for BasicIncidents {
    fn service(&self) -> IncidentService {
        self.service.clone()
    }
    fn oncall(&self) -> Arc<Oncall> {
        self.oncall.clone()
    }
    fn links(&self) -> &LinkSigner {
        &self.links
    }
}

/// The incident API together with the audit log that changes made by hand
/// are recorded in: the handle the HTTP edge holds, so it reaches neither
/// the state store nor the audit log on its own. It derefs to the
/// [`IncidentApi`] for everything that is not audited.
#[derive(Clone)]
pub struct IncidentDesk {
    api: Arc<dyn IncidentApi>,
    audit: Arc<dyn AuditLog>,
    /// Links already used: each signed link works once.
    used_links: Arc<dyn UsedLinkStore>,
}

/// Why a signed link does not act.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{}", .0.message())]
    Refused(LinkRefusal),
    #[error("this link was already used; act from the console or the CLI")]
    Used,
    #[error(transparent)]
    State(#[from] StateError),
}

impl std::ops::Deref for IncidentDesk {
    type Target = dyn IncidentApi;
    fn deref(&self) -> &Self::Target {
        self.api.as_ref()
    }
}

impl IncidentDesk {
    /// Used links are remembered in memory until
    /// [`IncidentDesk::with_used_links`] gives a persistent store (the
    /// server does, so a restart does not make used links work again).
    pub fn new(api: Arc<dyn IncidentApi>, audit: Arc<dyn AuditLog>) -> Self {
        Self {
            api,
            audit,
            used_links: Arc::new(MemState::default()),
        }
    }

    pub fn with_used_links(mut self, used_links: Arc<dyn UsedLinkStore>) -> Self {
        self.used_links = used_links;
        self
    }

    /// Whether a link may be shown (the confirmation page): valid, not
    /// expired, not used. Reads the store.
    pub fn check_link(
        &self,
        id: IncidentId,
        action: LinkAction,
        user: &str,
        token: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        self.api
            .links()
            .verify(id, action, user, token, now)
            .map_err(LinkError::Refused)?;
        if self.used_links.link_used(&link_key(token))? {
            return Err(LinkError::Used);
        }
        Ok(())
    }

    /// Spends a link: valid, not expired, and not used before; after this
    /// it never works again. Writes the store.
    pub fn use_link(
        &self,
        id: IncidentId,
        action: LinkAction,
        user: &str,
        token: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        let expires_at = self
            .api
            .links()
            .verify(id, action, user, token, now)
            .map_err(LinkError::Refused)?;
        if !self
            .used_links
            .claim_link(&link_key(token), expires_at, now)?
        {
            return Err(LinkError::Used);
        }
        Ok(())
    }

    /// Declares an incident by hand and records who did it in the audit
    /// log. The audit write is best effort: an incident that pages must not
    /// be refused because the audit log failed (the failure is logged).
    pub fn declare_audited(&self, d: &Declare, at: i64) -> Result<Incident, IncidentError> {
        let i = self.api.declare(d, at)?;
        record(
            self.audit.as_ref(),
            at,
            &d.by,
            "declare",
            i.id,
            json!({"title": i.title, "escalation_policy": d.escalation_policy}),
        );
        Ok(i)
    }

    /// Moves an incident to `to` ([`IncidentApi::transition`]) and records
    /// the step (`action`: ack, mitigate, resolve, reopen) in the audit
    /// log, best effort as for [`IncidentDesk::declare_audited`].
    pub fn transition_audited(
        &self,
        id: IncidentId,
        to: IncidentState,
        by: &str,
        action: &str,
        at: i64,
    ) -> Result<Incident, IncidentError> {
        let i = self.api.transition(id, to, by, at)?;
        record(
            self.audit.as_ref(),
            at,
            by,
            action,
            id,
            json!({"state": i.state}),
        );
        Ok(i)
    }

    /// Gives `user` a role in the incident and records who did it, best
    /// effort as for [`IncidentDesk::declare_audited`].
    pub fn assign_role_audited(
        &self,
        id: IncidentId,
        role: Role,
        user: &str,
        by: &str,
        at: i64,
    ) -> Result<Incident, IncidentError> {
        let i = self.api.service().assign_role(id, role, user, by, at)?;
        record(
            self.audit.as_ref(),
            at,
            by,
            "assign_role",
            id,
            json!({"role": role, "user": user}),
        );
        Ok(i)
    }
}

/// A used link is remembered by the hash of its token, so the store holds
/// nothing that would work as a link.
fn link_key(token: &str) -> String {
    homeostat_auth::token_hash(token)
}

fn record(
    audit: &dyn AuditLog,
    at: i64,
    actor: &str,
    action: &str,
    id: IncidentId,
    detail: serde_json::Value,
) {
    let entry = AuditEntry {
        seq: 0,
        at,
        actor: actor.to_string(),
        action: format!("incident.{action}"),
        object: format!("incident/{id}"),
        detail,
    };
    if let Err(e) = audit.append(&entry) {
        tracing::warn!(error = %e, incident = %id, "writing the audit log failed");
    }
}
