//! The kinds of toil homeostat derives and the minutes each counts for.

/// The kinds homeostat derives from what it sees.
pub mod kind {
    pub const ACK: &str = "ack";
    pub const SILENCE: &str = "silence";
    pub const OVERRIDE: &str = "override";
    pub const MANUAL_ROLLBACK: &str = "manual-rollback";
    pub const APPROVAL: &str = "approval";
    pub const MANUAL_REMEDIATION: &str = "manual-remediation";
    /// Time between an incident's ack and its resolve; its minutes are
    /// measured, not taken from [`super::DEFAULT_MINUTES`].
    pub const INCIDENT_WORK: &str = "incident-work";
}

/// Minutes a derived action counts for. Estimates of the hands-on time of
/// each action (reading the page, deciding, acting, checking), kept small
/// so that derived toil is a floor; incident work is measured instead.
///
/// | kind               | minutes | why                                          |
/// |--------------------|---------|----------------------------------------------|
/// | ack                | 5       | read the page, open the dashboard            |
/// | silence            | 5       | pick matchers and a duration                 |
/// | override           | 10      | judge the risk of deploying past the gate    |
/// | manual-rollback    | 15      | roll back, watch the service recover         |
/// | approval           | 5       | read the request, approve or reject          |
/// | manual-remediation | 10      | run the fix, check it worked                 |
pub const DEFAULT_MINUTES: &[(&str, f64)] = &[
    (kind::ACK, 5.0),
    (kind::SILENCE, 5.0),
    (kind::OVERRIDE, 10.0),
    (kind::MANUAL_ROLLBACK, 15.0),
    (kind::APPROVAL, 5.0),
    (kind::MANUAL_REMEDIATION, 10.0),
];

/// The minutes a derived action of `kind` counts for, from
/// [`DEFAULT_MINUTES`].
pub fn default_minutes(kind: &str) -> Option<f64> {
    DEFAULT_MINUTES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, m)| *m)
}

/// The past-tense verb a sentence about `kind` starts with ("silenced
/// DiskFull on db-3 9 times in 30 days").
pub fn verb(kind: &str) -> String {
    match kind {
        kind::ACK => "acknowledged".into(),
        kind::SILENCE => "silenced".into(),
        kind::OVERRIDE => "overrode the gate for".into(),
        kind::MANUAL_ROLLBACK => "rolled back".into(),
        kind::APPROVAL => "approved".into(),
        kind::MANUAL_REMEDIATION => "ran remediation for".into(),
        kind::INCIDENT_WORK => "worked on".into(),
        other => format!("did {other} for"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_derived_kind_but_incident_work_has_default_minutes() {
        for k in [
            kind::ACK,
            kind::SILENCE,
            kind::OVERRIDE,
            kind::MANUAL_ROLLBACK,
            kind::APPROVAL,
            kind::MANUAL_REMEDIATION,
        ] {
            assert!(default_minutes(k).is_some_and(|m| m > 0.0), "{k}");
        }
        assert_eq!(default_minutes(kind::INCIDENT_WORK), None);
        assert_eq!(default_minutes(kind::SILENCE), Some(5.0));
        assert_eq!(default_minutes(kind::MANUAL_ROLLBACK), Some(15.0));
    }

    #[test]
    fn verbs_read_as_sentences() {
        assert_eq!(verb(kind::SILENCE), "silenced");
        assert_eq!(verb("disk-cleanup"), "did disk-cleanup for");
    }
}
