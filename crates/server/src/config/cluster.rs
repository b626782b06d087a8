//! `cluster:`: replicas sharing one state database, one of them leading
//! (docs/ha.md).

use std::time::Duration;

use homeostat_model::FieldError;
use serde::Deserialize;

use super::duration_or;

/// `cluster: {enabled, lease_duration, retry_interval, member_id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Take part in the leader election. Default: true with
    /// `state.backend: postgres` (replicas share it), false with SQLite (a
    /// single replica always acts).
    pub enabled: Option<bool>,
    /// How long the leader lease lasts without renewal. Default 10s.
    pub lease_duration: Option<String>,
    /// How often a follower tries to take the lease. Default 1s.
    pub retry_interval: Option<String>,
    /// This replica's name among the members. Default `<hostname>:<port>`.
    pub member_id: Option<String>,
}

/// Validated `cluster:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    pub enabled: bool,
    pub timing: homeostat_app::ElectionTiming,
    pub member_id: Option<String>,
}

impl ClusterSection {
    /// `shared_state`: whether the state database can be shared by
    /// replicas (PostgreSQL), which turns the election on by default.
    pub(super) fn validate(&self, shared_state: bool) -> Result<ClusterConfig, FieldError> {
        self.checked(shared_state).map_err(|e| e.under("cluster"))
    }

    fn checked(&self, shared_state: bool) -> Result<ClusterConfig, FieldError> {
        let lease = duration_or("lease_duration", &self.lease_duration, "10s")?;
        let retry = duration_or("retry_interval", &self.retry_interval, "1s")?;
        if lease < Duration::from_secs(1) {
            return Err(FieldError::new(
                "lease_duration",
                "must be at least 1s: the leader renews four times per lease",
            ));
        }
        if retry >= lease {
            return Err(FieldError::new(
                "retry_interval",
                "must be shorter than lease_duration, or failover waits more than a lease",
            ));
        }
        if let Some(id) = &self.member_id
            && (id.is_empty() || id.len() > 200 || id.chars().any(char::is_control))
        {
            return Err(FieldError::new(
                "member_id",
                "must be 1 to 200 printable characters",
            ));
        }
        Ok(ClusterConfig {
            enabled: self.enabled.unwrap_or(shared_state),
            timing: homeostat_app::ElectionTiming { lease, retry },
            member_id: self.member_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ClusterConfig, FieldError> {
        let s: ClusterSection = serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
        s.validate(false)
    }

    #[test]
    fn defaults_and_errors() {
        let c = parse("{}").unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.enabled);
        let s: ClusterSection = serde_norway::from_str("{}").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            s.validate(true).is_ok_and(|c| c.enabled),
            "on with PostgreSQL"
        );
        assert_eq!(c.timing.lease, Duration::from_secs(10));
        assert_eq!(c.timing.retry, Duration::from_secs(1));
        let e = parse("{lease_duration: 5s, retry_interval: 5s}")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("cluster.retry_interval")));
        let e = parse("{lease_duration: 500ms}")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("at least 1s")));
    }
}
