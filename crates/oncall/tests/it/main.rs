//! Integration tests: rotation math, schedule resolution, escalation,
//! validation errors and a property test tying `who_is_on_call` to `shifts`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod escalation;
mod prop;
mod rotation;
mod validate;

use chrono::{DateTime, Utc};
use homeostat_oncall::{OnCall, Oncall, Schedule, who_is_on_call};

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

pub fn load(yaml: &str) -> Oncall {
    match Oncall::from_yaml_str(yaml) {
        Ok(o) => o,
        Err(e) => panic!("config should be valid: {e}"),
    }
}

pub fn schedule<'a>(oncall: &'a Oncall, id: &str) -> &'a Schedule {
    oncall.schedule(id).expect("schedule exists")
}

/// Who is on call at `t` (RFC 3339), as `user [shift_start, shift_end)`.
pub fn who(s: &Schedule, t: &str) -> Option<OnCall> {
    who_is_on_call(s, at(t))
}

pub fn user(s: &Schedule, t: &str) -> Option<String> {
    who(s, t).map(|o| o.user)
}
