//! Pure functions from a [`GroupNotification`](crate::GroupNotification)
//! and a target to the bytes a receiver gets. No I/O, no clock: what varies
//! (an email's date) comes in as an argument.

pub mod email;
pub mod pagerduty;
pub mod slack;
pub mod webhook;

/// Annotation names under which the webhook payload carries the
/// acknowledge/resolve links in `commonAnnotations`.
pub const ACK_URL_ANNOTATION: &str = "homeostat_ack_url";
pub const RESOLVE_URL_ANNOTATION: &str = "homeostat_resolve_url";

/// The annotations a human reads first, in this order.
pub(crate) const SUMMARY: &str = "summary";
pub(crate) const DESCRIPTION: &str = "description";
