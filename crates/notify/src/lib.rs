//! Notifications for alert groups: turn one [`GroupNotification`] into what
//! a receiver gets — Alertmanager's webhook payload (version 4), a Slack
//! message, a PagerDuty Events API v2 event or an email — and deliver it
//! with retries.
//!
//! The payload builders in [`payload`] are pure functions, golden-tested.
//! [`transport`] does one HTTP POST or SMTP transaction; [`Outbound`] is
//! the one delivery path of the whole process — notifications, pages,
//! alerts to external Alertmanagers, rollback webhooks — which retries with
//! backoff and jitter until a deadline ([`RetryPolicy`], with the clock,
//! the sleep and the jitter injected), bounds each attempt, counts it in
//! [`OutboundMetrics`] and never logs more of a URL than its origin.
//! [`Notifier`] builds a receiver's payload and sends it through it. [`resolved`] decides
//! when a group is worth a notification and which resolved alerts to
//! report. Receiver targets are read from YAML by [`spec`] and validated
//! into [`Target`]s. See `docs/notifications.md`.
//!
//! This crate opens sockets; it never reads the wall clock.
//!
//! ```
//! use std::collections::BTreeMap;
//! use chrono::{TimeZone, Utc};
//! use homeostat_model::Fingerprint;
//! use homeostat_notify::{AlertData, AlertStatus, GroupNotification, payload::webhook};
//!
//! let alerts = vec![AlertData {
//!     status: AlertStatus::Firing,
//!     labels: BTreeMap::from([("alertname".to_string(), "Down".to_string())]),
//!     annotations: BTreeMap::new(),
//!     starts_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
//!     ends_at: None,
//!     generator_url: String::new(),
//!     fingerprint: Fingerprint(0x0123456789abcdef),
//! }];
//! let n = GroupNotification {
//!     receiver: "ops".to_string(),
//!     group_key: "{}:{alertname=\"Down\"}".to_string(),
//!     group_labels: BTreeMap::from([("alertname".to_string(), "Down".to_string())]),
//!     common_labels: BTreeMap::new(),
//!     common_annotations: BTreeMap::new(),
//!     external_url: "http://homeostat:9093".to_string(),
//!     status: GroupNotification::new_status(&alerts),
//!     alerts,
//!     truncated_alerts: 0,
//!     links: None,
//! };
//! assert_eq!(n.title(), "[FIRING:1] Down");
//! let body = String::from_utf8(webhook::body(&n, 0).unwrap()).unwrap();
//! assert!(body.contains(r#""startsAt":"2026-01-02T03:04:05Z","endsAt":"0001-01-01T00:00:00Z""#));
//! ```

mod error;
mod gojson;
mod notification;
pub mod outbound;
pub mod payload;
pub mod resolved;
mod retry;
pub mod spec;
mod target;
pub mod transport;

pub use error::{ConfigError, DeliveryError, PayloadError};
pub use gojson::{GO_ZERO_TIME, rfc3339_nano};
pub use notification::{AckLinks, AlertData, AlertStatus, GroupNotification, utc_from_millis};
pub use outbound::{
    AttemptOutcome, LATENCY_BUCKETS, LatencyHistogram, Outbound, OutboundKind, OutboundMetrics,
    redact_url,
};
pub use resolved::{LastSent, Plan, SentRecord, decide, plan, should_send};
pub use retry::{
    DeliveryOutcome, FixedJitter, Jitter, Notifier, RandomJitter, Retrier, RetryPolicy, Sleeper,
    TokioSleeper, request,
};
pub use target::{
    DEFAULT_PAGERDUTY_URL, DEFAULT_TIMEOUT, EmailTarget, PagerDutyTarget, Severity, SlackTarget,
    Smarthost, Target, WebhookTarget,
};
