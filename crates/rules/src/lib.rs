//! The rule engine: Prometheus rule files validated into [`GroupSpec`]s and
//! evaluated group by group on their interval. Recording rules append their
//! results through the storage [`homeostat_storage::Appender`]; alerting
//! rules keep per-alert state (inactive → pending → firing, `for`,
//! `keep_firing_for`, resolved alerts kept 15 minutes for sending), write the
//! `ALERTS` and `ALERTS_FOR_STATE` series, restore `for` state after a
//! restart, and hand [`Notification`]s to whoever sends them.
//!
//! Pure: no sockets, no wall clock (evaluation timestamps are passed in, the
//! manager carries an injected [`homeostat_model::Clock`]).

mod alert;
mod error;
mod file;
mod group;
mod manager;
mod snapshot;
mod template;

use std::time::Duration;

pub use alert::{Alert, AlertState, Notification};
pub use error::{EvalError, RuleError};
pub use file::{
    GroupSpec, RuleKind, RuleSpec, expand_globs, load_file, load_globs, parse_rule_file,
};
pub use group::{EvalContext, Group};
pub use manager::{ManagerOptions, ReloadSummary, RuleManager};
pub use snapshot::{AlertSnapshot, GroupSnapshot, Health, NoRules, RuleSnapshot, RulesView};
pub use template::{TemplateData, expand, humanize, humanize_duration};

/// The alert `value` of the HTTP API, which Prometheus writes with
/// `strconv.FormatFloat(v, 'e', -1, 64)`.
pub fn format_alert_value(v: f64) -> String {
    homeostat_model::gofmt::format_e(v, None)
}

/// How long a resolved alert is kept (and re-sent) after resolution.
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);
