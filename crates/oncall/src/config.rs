//! The `oncall:` section of homeostat's config as written by people: serde
//! types that accept exactly the documented fields (docs/oncall.md) and
//! nothing else. [`OncallConfig::validate`] turns them into the domain types.

use serde::{Deserialize, Serialize};

use crate::Oncall;
use crate::error::ConfigError;
use crate::validate;

/// The whole `oncall:` section. Every list may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OncallConfig {
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub schedules: Vec<ScheduleConfig>,
    #[serde(default)]
    pub escalation_policies: Vec<EscalationPolicyConfig>,
}

/// A person who can be on call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Referred to by schedules, overrides and escalation targets.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Where pages for this user are POSTed (a small JSON document with the
    /// incident, the escalation level and the acknowledge link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub id: String,
    /// IANA zone name (`Europe/Berlin`); local times of this schedule are
    /// read in it. Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Ordered: where two layers both have someone on call, the later wins.
    pub layers: Vec<LayerConfig>,
    #[serde(default)]
    pub overrides: Vec<OverrideConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    pub name: String,
    /// When the first member's first turn starts: local time in the
    /// schedule's zone (`2026-11-02T09:00:00`) or RFC 3339 with an offset.
    pub rotation_start: String,
    /// The layer has nobody on call from this instant on (same formats as
    /// `rotation_start`). Open-ended when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_end: Option<String>,
    /// Prometheus duration: `12h`, `1d`, `1w`.
    pub turn_length: String,
    /// `HH:MM` local time turns hand over at; default: the time of day of
    /// `rotation_start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_time: Option<String>,
    /// User ids, in rotation order.
    pub members: Vec<String>,
    /// When present, the layer only has someone on call inside these windows.
    #[serde(default)]
    pub restrictions: Vec<RestrictionConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictionConfig {
    /// Days the window starts on (`mon` … `sun`); every day when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    /// `HH:MM` local time.
    pub start: String,
    /// `HH:MM` local time, or `24:00`; earlier than `start` means the window
    /// ends the next day.
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideConfig {
    pub user: String,
    pub start: String,
    pub end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyConfig {
    pub id: String,
    /// How many more times the whole policy runs after its last level.
    #[serde(default)]
    pub repeat: u32,
    pub levels: Vec<EscalationLevelConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevelConfig {
    /// How long this level has to acknowledge before the next level is
    /// notified (Prometheus duration).
    pub delay: String,
    pub targets: Vec<TargetConfig>,
}

/// Exactly one of `user` or `schedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

impl OncallConfig {
    /// Parses the YAML of an `oncall:` section (the value under the key, not
    /// the whole homeostat config) strictly: unknown fields are errors.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ConfigError> {
        serde_norway::from_str(yaml).map_err(ConfigError::from_yaml)
    }

    /// Like [`OncallConfig::from_yaml_str`] for a value already parsed, e.g.
    /// the `oncall` key of a config read as [`serde_norway::Value`].
    pub fn from_yaml_value(value: serde_norway::Value) -> Result<Self, ConfigError> {
        match serde_norway::from_value(value.clone()) {
            Ok(config) => Ok(config),
            // Errors from a `Value` lack the field path (`schedules[0].layers[1]`);
            // parsing the re-emitted text recovers it. Its line numbers would
            // point into text the user never wrote, so they are dropped.
            Err(e) => {
                let reparsed = serde_norway::to_string(&value)
                    .ok()
                    .and_then(|text| serde_norway::from_str::<Self>(&text).err());
                let message = reparsed.map_or_else(|| e.to_string(), |e| e.to_string());
                let message = match message.rfind(" at line ") {
                    Some(i) => message[..i].to_string(),
                    None => message,
                };
                Err(ConfigError::Yaml {
                    location: String::new(),
                    message,
                })
            }
        }
    }

    /// Checks every reference, time and duration and builds the domain
    /// types. The error names the field (`schedules[0].layers[1].members[2]`)
    /// and how to fix it.
    pub fn validate(&self) -> Result<Oncall, ConfigError> {
        validate::validate(self)
    }
}
