//! Foundation types shared by every homeostat crate: label sets that identify
//! series, samples, millisecond timestamps, Prometheus-style durations, the
//! injectable [`Clock`] and the [`ErrorKind`] every library error maps to.
//!
//! This crate has no I/O and no async; everything above it depends on it.

pub mod auth;
mod clock;
mod duration;
mod error;
mod field_error;
mod fingerprint;
pub mod gofmt;
mod labels;
pub mod rfc3339;
mod sample;
mod secret;
pub mod template;

pub use auth::{AuthMethod, Principal, Scope, ScopeError, Scopes};
pub use clock::{Clock, FakeClock, SystemClock};
pub use duration::{DurationError, format_duration, parse_duration};
pub use error::ErrorKind;
pub use field_error::FieldError;
pub use fingerprint::{Fingerprint, FingerprintError};
pub use labels::{
    Label, LabelError, Labels, LabelsBuilder, METRIC_NAME, is_valid_label_name,
    is_valid_metric_name,
};
pub use sample::{STALE_NAN_BITS, Sample, TimeSeries, Timestamp, is_stale_nan, stale_nan};
pub use secret::{MASK as SECRET_MASK, Secret};
