//! Self-healing's pure parts (issue 17): remediation policies, guardrails,
//! the act-then-verify loop and zone-aware traffic shifts. No I/O, no clock.
//!
//! The config (`spec.rs`) is validated into [`Policy`]s (`policy.rs`); an
//! alert that matches a policy's [`Trigger`] names a [`Target`]; the
//! guardrails (`guardrails.rs`) admit a run and each action; `run.rs` is the
//! loop itself, driven by the app with the time and what it observed
//! (docs/remediation.md).

mod action;
mod guardrails;
mod policy;
mod run;
mod spec;
mod trigger;
pub mod zone_shift;

pub use action::{Action, ActionKind, RenderError, RenderedAction, TrafficChange, host_of};
pub use guardrails::{Decision, PastRun, Share, admit_action, admit_run};
pub use policy::{
    BUILTIN_KEYS, Guardrails, MaxRuns, Policy, Remediation, validate, validate_section,
};
pub use run::{
    Answer, Effect, Observation, Run, RunState, StartInput, Step, StepOutcome, advance,
    is_principal, principal, start,
};
pub use spec::{
    ActionSpec, BlastRadiusSpec, GuardrailsSpec, MaxRunsSpec, PolicySpec, RemediationSpec,
    SloTriggerSpec, TrafficSpec, TriggerSpec, WebhookSpec,
};
pub use trigger::{Target, Trigger};
