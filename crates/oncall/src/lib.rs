//! On-call, the pure core: users, schedules (rotation layers in a local time
//! zone, restriction windows, overrides) and escalation policies, read from
//! the `oncall:` section of homeostat's config ([`OncallConfig`], format in
//! `docs/oncall.md`) and validated into [`Oncall`] with errors that name the
//! field and the fix.
//!
//! [`who_is_on_call`] and [`shifts`] answer from the same rendered timeline;
//! [`Escalation`] walks one page through a policy. Time is always an
//! argument: no clock, no I/O, no HTTP.
//!
//! ```
//! use homeostat_oncall::{Oncall, who_is_on_call};
//! let oncall = Oncall::from_yaml_str(r#"
//! users: [{id: alice}, {id: bob}]
//! schedules:
//!   - id: primary
//!     time_zone: Europe/Berlin
//!     layers:
//!       - {name: weekly, rotation_start: 2026-11-02T09:00:00, turn_length: 1w, members: [alice, bob]}
//! "#).unwrap();
//! let at = "2026-11-10T12:00:00Z".parse().unwrap();
//! let now = who_is_on_call(oncall.schedule("primary").unwrap(), at).unwrap();
//! assert_eq!(now.user, "bob");
//! ```

mod config;
mod error;
mod escalation;
mod layer;
mod schedule;
mod time;
mod validate;

use std::collections::BTreeMap;

pub use config::{
    EscalationLevelConfig, EscalationPolicyConfig, LayerConfig, OncallConfig, OverrideConfig,
    RestrictionConfig, ScheduleConfig, TargetConfig, UserConfig,
};
pub use error::{ConfigError, EscalationError};
pub use escalation::{
    ESCALATION_FORMAT_VERSION, Escalation, EscalationLevel, EscalationPolicy, EscalationStatus,
    EscalationStep, ResolvedTarget, Target,
};
pub use layer::{Layer, Restriction};
pub use schedule::{LOOKAROUND, OnCall, Override, Schedule, Shift, Source, shifts, who_is_on_call};
pub use time::parse_instant;

/// A validated `oncall:` section: every reference resolves, every time
/// parses, no two overrides of a schedule overlap, no layer is hidden.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Oncall {
    pub users: BTreeMap<String, User>,
    pub schedules: BTreeMap<String, Schedule>,
    pub escalation_policies: BTreeMap<String, EscalationPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// An http(s) URL pages are POSTed to.
    pub webhook_url: Option<String>,
}

impl Oncall {
    /// Parses and validates the YAML of an `oncall:` section.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ConfigError> {
        OncallConfig::from_yaml_str(yaml)?.validate()
    }

    /// Validates an already parsed `oncall:` value.
    pub fn from_yaml_value(value: serde_norway::Value) -> Result<Self, ConfigError> {
        OncallConfig::from_yaml_value(value)?.validate()
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }

    pub fn schedule(&self, id: &str) -> Option<&Schedule> {
        self.schedules.get(id)
    }

    pub fn escalation_policy(&self, id: &str) -> Option<&EscalationPolicy> {
        self.escalation_policies.get(id)
    }
}
