//! Chaos Toolkit experiments (<https://chaostoolkit.org/reference/api/experiment/>):
//! the document validated into a typed [`Experiment`], tolerances, `${name}`
//! substitution, the journal in Chaos Toolkit's shape, and homeostat's SLO
//! guard. Pure: the app layer runs the activities.

mod guard;
mod journal;
mod model;
mod parse;
mod substitute;
mod tolerance;

pub use guard::{Guard, GuardDecision, GuardReading, HomeostatExtension};
pub use journal::{
    ActivityRun, ActivityStatus, CHAOSLIB_VERSION, HomeostatJournal, HypothesisRun, Journal,
    RunStatus, SteadyStates, iso,
};
pub use model::{
    Activity, ActivityKind, ConfigValue, Experiment, HomeostatFunc, HomeostatProvider,
    HttpProvider, Hypothesis, Pauses, ProcessProvider, Provider, PythonProvider, SloMeasure,
};
pub use parse::{ExperimentError, Format, parse_experiment, validate_experiment};
pub use substitute::{MASK, ResolveError, Resolved};
pub use tolerance::{Tolerance, ToleranceError, tolerance_met};
