//! Notifications for alert groups: turn one [`GroupNotification`] into what
//! a receiver gets — Alertmanager's webhook payload (version 4), a Slack
//! message, a PagerDuty Events API v2 event or an email — and deliver it
//! with retries.
//!
//! The payload builders in [`payload`] are pure functions, golden-tested.
//! [`transport`] does one HTTP POST or SMTP transaction; [`Notifier`]
//! retries it with backoff and jitter until a deadline ([`RetryPolicy`]),
//! with the clock, the sleep and the jitter injected. [`resolved`] decides
//! when a group is worth a notification and which resolved alerts to
//! report. Receiver targets are read from YAML by [`spec`] and validated
//! into [`Target`]s. See `docs/notifications.md`.
//!
//! This crate opens sockets; it never reads the wall clock.

mod error;
mod gojson;
mod notification;
pub mod payload;
pub mod resolved;
mod retry;
pub mod spec;
mod target;
pub mod transport;

pub use error::{ConfigError, DeliveryError, PayloadError};
pub use gojson::{GO_ZERO_TIME, rfc3339_nano};
pub use notification::{AckLinks, AlertData, AlertStatus, GroupNotification};
pub use resolved::{Plan, SentRecord, plan, should_send};
pub use retry::{
    DeliveryOutcome, FixedJitter, Jitter, Notifier, RandomJitter, Retrier, RetryPolicy, Sleeper,
    TokioSleeper, request,
};
pub use target::{
    DEFAULT_PAGERDUTY_URL, DEFAULT_TIMEOUT, EmailTarget, PagerDutyTarget, Severity, SlackTarget,
    Smarthost, Target, WebhookTarget,
};
