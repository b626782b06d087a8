//! Homeostat's application services: the use cases that combine the
//! engines (`slo`, `gate`, `incident`, `promql`) with persisted state and
//! side effects, each a method with typed input, output and error. The
//! HTTP edge decodes a request, calls one method here and encodes the
//! answer; the server builds the services and runs their background work.
//!
//! This is the one place where a caching, audit or transaction rule lives:
//! the gate's budget cache (one writer, a generation so an override change
//! is never overwritten by an older measurement), overrides stored with
//! their audit record in one transaction, deploys joined to open incidents.
//!
//! No HTTP here: nothing depends on axum or on the server.

mod chaos;
mod cluster;
mod gate;
mod incidents;
mod instant;
mod live;
mod monkey;
mod release;
mod remediation;
mod signals;
mod slo;
mod toil;
mod tokens;
mod zone_balance;

use std::sync::Arc;

use homeostat_model::Clock;
use homeostat_promql::Engine;
use homeostat_storage::Querier;

pub use chaos::{
    BoxFuture, ChaosConfig, ChaosError, ChaosEvent, ChaosEventKind, ChaosService, ChaosSignals,
    FaultControl, MeterSignals, NoFaultControl, Started, prometheus_data, single_value,
};
pub use cluster::{
    Acting, ClusterStatus, ClusterView, ElectionStats, ElectionTiming, Elector, Leadership,
    MemberStatus, Role, Watchdog,
};
pub use gate::{
    BudgetSource, Expiry, GATE_CACHE_MAX_AGE_MS, GateAnswer, GateError, GateService,
    MeasuredBudgets, NewOverride,
};
pub use incidents::{BasicIncidents, Declare, IncidentApi, IncidentDesk, LinkError};
pub use instant::instant_vector;
pub use live::Live;
pub use monkey::{
    EffectFuture, GroupStatus, Members, MonkeyEffects, MonkeyError, MonkeyGroup, MonkeyService,
    NoMonkeyEffects, TargetGroup, TerminationAction, TickOutcome,
};
pub use release::{
    DeployAdmission, NewDeploy, ReleaseConfig, ReleaseError, ReleaseService, SuspectQuery,
    Suspects, chaos_changes,
};
pub use remediation::{ApprovalRequest, RemediationEffects, RemediationError, RemediationService};
pub use signals::{
    Points, Range, SIGNALS, SeriesLabels, SignalChart, SignalKind, SignalSeries, SignalService,
};
pub use slo::{Burndown, SloError, SloMeter, SloReport, based_on, burn_windows, period_of};
pub use toil::{
    DERIVE_AUDIT_LIMIT, ManualToil, ToilConfig, ToilError, ToilReport, ToilService, is_human,
};
pub use tokens::{CreatedToken, NewToken, TokenError, TokenInfo, TokenService};
pub use zone_balance::{
    EngineZoneSignals, ZoneBalance, ZoneBalanceOutcome, ZoneBalancer, ZoneQueries, ZoneSignals,
    ZoneWeights, zone_balancer_actor,
};

/// What the services are built from: the engine and stores the server
/// picked, the clock, and the config cells a reload swaps.
#[derive(Clone)]
pub struct Wiring {
    pub engine: Engine,
    pub querier: Arc<dyn Querier>,
    pub state: homeostat_state::State,
    pub clock: Arc<dyn Clock>,
    /// The loaded SLOs.
    pub slos: Arc<Live<Vec<homeostat_slo::SloSpec>>>,
    /// `slo_windows`: the burn-rate windows the SLOs' alerts were compiled with.
    pub slo_windows: Arc<Live<Vec<homeostat_slo::AlertWindows>>>,
    /// `gate.policies`.
    pub policies: Arc<Live<Vec<homeostat_gate::Policy>>>,
    /// `services[].depends_on`: service → direct dependencies.
    pub dependencies: Arc<Live<homeostat_incident::DependencyGraph>>,
    /// `services:`: the services whose golden signals are recorded.
    pub signals: Arc<Live<Vec<homeostat_slo::ServiceSignals>>>,
    /// `deploys:` and the `services:` names: which deploys are recorded.
    pub deploy_admission: Arc<Live<DeployAdmission>>,
    /// `chaos:`: the experiment runner's limits and allow-list.
    pub chaos: ChaosConfig,
    /// The fault proxy and HTTP faults experiments drive; [`NoFaultControl`]
    /// until the server has them.
    pub faults: Arc<dyn FaultControl>,
    /// `services[].team` and the on-call schedules, for the toil ledger.
    pub toil: Arc<Live<ToilConfig>>,
}

impl Wiring {
    /// Empty config cells around the given engine, stores and clock.
    pub fn new(
        engine: Engine,
        querier: Arc<dyn Querier>,
        state: homeostat_state::State,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            engine,
            querier,
            state,
            clock,
            slos: Default::default(),
            slo_windows: Default::default(),
            policies: Default::default(),
            dependencies: Default::default(),
            signals: Default::default(),
            deploy_admission: Default::default(),
            chaos: ChaosConfig::default(),
            faults: Arc::new(NoFaultControl),
            toil: Default::default(),
        }
    }

    /// The services over this wiring; they share its config cells.
    pub fn build(&self) -> Services {
        let slos = Arc::new(SloMeter::new(
            self.engine.clone(),
            self.querier.clone(),
            self.clock.clone(),
            self.slos.clone(),
            self.slo_windows.clone(),
        ));
        let gate = Arc::new(GateService::new(
            self.slos.clone(),
            self.policies.clone(),
            self.state.overrides.clone(),
            self.clock.clone(),
            slos.clone(),
        ));
        let release = Arc::new(ReleaseService::new(
            self.state.clone(),
            self.clock.clone(),
            ReleaseConfig {
                dependencies: self.dependencies.clone(),
                admission: self.deploy_admission.clone(),
                slos: self.slos.clone(),
                policies: self.policies.clone(),
            },
        ));
        let signals = Arc::new(SignalService::new(
            self.engine.clone(),
            self.querier.clone(),
            self.clock.clone(),
            self.signals.clone(),
        ));
        let tokens = Arc::new(TokenService::new(
            self.state.tokens.clone(),
            self.state.audit.clone(),
            self.clock.clone(),
        ));
        let chaos = Arc::new(ChaosService::new(
            self.chaos.clone(),
            self.faults.clone(),
            Arc::new(MeterSignals {
                engine: self.engine.clone(),
                querier: self.querier.clone(),
                meter: slos.clone(),
            }),
            self.clock.clone(),
            &self.state,
        ));
        let toil = Arc::new(ToilService::new(
            self.state.clone(),
            self.clock.clone(),
            self.toil.clone(),
        ));
        Services {
            gate,
            toil,
            slos,
            chaos,
            release,
            signals,
            tokens,
        }
    }
}

/// The service handles the HTTP edge and the server's tasks hold.
#[derive(Clone)]
pub struct Services {
    pub gate: Arc<GateService>,
    pub slos: Arc<SloMeter>,
    pub release: Arc<ReleaseService>,
    pub signals: Arc<SignalService>,
    /// API tokens; also the server's `homeostat_auth::TokenLookup`.
    pub tokens: Arc<TokenService>,
    /// Chaos Toolkit experiments (`/api/v1/chaos/experiments`).
    pub chaos: Arc<ChaosService>,
    /// The toil ledger (`/api/v1/toil`).
    pub toil: Arc<ToilService>,
}
