//! Alertmanager-compatible alert routing, pure: the configuration file
//! format of Prometheus Alertmanager 0.25 validated into a [`Config`], its
//! matcher syntax ([`Matcher`], [`Matchers`]), the routing decision
//! ([`Route::matching`], group keys), inhibition ([`Inhibitor`]), time
//! intervals and label-set fingerprints ([`homeostat_model::Fingerprint`]). The decisions are those
//! Alertmanager makes for the same file, checked against `amtool` by
//! `tests/interop/am_routes.sh`.
//!
//! The Alertmanager itself: an [`AlertStore`] of posted alerts, silences
//! ([`Silencer`]) and the [`Dispatcher`] that groups alerts and says when a
//! group is due for a notification.
//!
//! No I/O except [`Config::load`], no clock: instants are arguments.

mod config;
mod dispatch;
mod error;
mod inhibit;
mod matcher;
mod route;
mod service;
mod shared;
mod silence;
mod store;
mod timeinterval;

pub use config::{
    Config, EmailConfig, Global, HttpConfig, LoadOptions, PagerdutyConfig, Receiver, SlackConfig,
    WebhookConfig, expand_env, masked_yaml,
};
pub use dispatch::{
    AlertQuery, AlertState, AlertStatus, AlertView, Dispatcher, Flush, GroupView,
    RESOLVED_RETENTION,
};
pub use error::ConfigError;
pub use inhibit::{InhibitRule, Inhibitor};
pub use matcher::{MatchType, Matcher, MatcherError, Matchers};
pub use route::{GroupBy, Route, RouteOpts, TimeIntervals};
pub use service::{Alertmanager, IntakeStats, PostError, Running, ServiceError};
pub use silence::{SilenceError, SilenceState, Silencer, check_postable, compile};
pub use store::{Alert, AlertError, AlertStore, PostableAlert, validate};
pub use timeinterval::{Range, TimeInterval, TimeRange};
