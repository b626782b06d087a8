use homeostat_incident::IncidentError;
use homeostat_model::ErrorKind;
use homeostat_state::{EventKind, IncidentId, IncidentState, Role, Severity, StateError};

use crate::{MIN, T0, kinds, service};

#[test]
fn declared_incident_walks_the_lifecycle() {
    let s = service();
    let i = s
        .declare("checkout 500s", Severity::Sev2, Some("checkout"), "ana", T0)
        .unwrap();
    assert_eq!(i.state, IncidentState::Triggered);
    assert_eq!(i.to_string_id(), "INC-1");

    let i = s.acknowledge(i.id, "bo", T0 + 2 * MIN).unwrap();
    assert_eq!(
        (i.state, i.acknowledged_at),
        (IncidentState::Acknowledged, Some(T0 + 2 * MIN))
    );
    let i = s.mitigate(i.id, "bo", T0 + 10 * MIN).unwrap();
    assert_eq!(i.mitigated_at, Some(T0 + 10 * MIN));
    let i = s.resolve(i.id, "bo", T0 + 30 * MIN).unwrap();
    assert_eq!(i.resolved_at, Some(T0 + 30 * MIN));
    let i = s.start_postmortem(i.id, "ana", T0 + 60 * MIN).unwrap();
    assert_eq!(i.state, IncidentState::Postmortem);

    assert_eq!(
        kinds(&s, i.id),
        vec![
            EventKind::Declared,
            EventKind::Acknowledged,
            EventKind::StateChanged,
            EventKind::StateChanged,
            EventKind::StateChanged,
        ]
    );
    let last = s.timeline(i.id).unwrap().pop().unwrap();
    assert_eq!(last.data["from"], "resolved");
    assert_eq!(last.data["to"], "postmortem");
}

trait IdText {
    fn to_string_id(&self) -> String;
}

impl IdText for homeostat_state::Incident {
    fn to_string_id(&self) -> String {
        self.id.to_string()
    }
}

#[test]
fn skipping_forward_leaves_skipped_steps_empty() {
    let s = service();
    let i = s.declare("blip", Severity::Sev4, None, "ana", T0).unwrap();
    let i = s.resolve(i.id, "ana", T0 + MIN).unwrap();
    assert_eq!(i.state, IncidentState::Resolved);
    assert_eq!((i.acknowledged_at, i.mitigated_at), (None, None));
}

#[test]
fn forbidden_transitions_are_typed_errors() {
    let s = service();
    let i = s.declare("x", Severity::Sev3, None, "ana", T0).unwrap();
    let err = s.start_postmortem(i.id, "ana", T0).unwrap_err();
    assert!(
        matches!(
            err,
            IncidentError::InvalidTransition {
                from: IncidentState::Triggered,
                to: IncidentState::Postmortem,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);

    s.mitigate(i.id, "ana", T0 + MIN).unwrap();
    let err = s.acknowledge(i.id, "bo", T0 + 2 * MIN).unwrap_err();
    assert!(matches!(err, IncidentError::InvalidTransition { .. }));
    assert!(
        err.to_string()
            .starts_with("INC-1: cannot go from mitigated to acknowledged"),
        "{err}"
    );

    s.resolve(i.id, "ana", T0 + 3 * MIN).unwrap();
    s.start_postmortem(i.id, "ana", T0 + 4 * MIN).unwrap();
    let err = s.reopen(i.id, "ana", T0 + 5 * MIN).unwrap_err();
    assert!(matches!(err, IncidentError::InvalidTransition { .. }));
    // Nothing was recorded for the refused steps.
    assert_eq!(kinds(&s, i.id).len(), 4);
}

#[test]
fn repeating_a_state_is_a_no_op() {
    let s = service();
    let i = s.declare("x", Severity::Sev3, None, "ana", T0).unwrap();
    let a = s.acknowledge(i.id, "bo", T0 + MIN).unwrap();
    let b = s.acknowledge(i.id, "cy", T0 + 2 * MIN).unwrap();
    assert_eq!(a, b, "second ack changes nothing");
    assert_eq!(b.acknowledged_at, Some(T0 + MIN));
    assert_eq!(
        kinds(&s, i.id),
        vec![EventKind::Declared, EventKind::Acknowledged]
    );
}

#[test]
fn manual_reopen_clears_mitigation_and_resolution() {
    let s = service();
    let i = s.declare("x", Severity::Sev3, None, "ana", T0).unwrap();
    s.acknowledge(i.id, "bo", T0 + MIN).unwrap();
    s.resolve(i.id, "bo", T0 + 2 * MIN).unwrap();
    let i = s.reopen(i.id, "bo", T0 + 3 * MIN).unwrap();
    assert_eq!(i.state, IncidentState::Triggered);
    assert_eq!(
        (i.acknowledged_at, i.mitigated_at, i.resolved_at),
        (Some(T0 + MIN), None, None)
    );
    let last = s.timeline(i.id).unwrap().pop().unwrap();
    assert_eq!(last.summary, "bo reopened the incident");
}

#[test]
fn roles_severity_updates_and_notes() {
    let s = service();
    let i = s.declare("x", Severity::Sev3, None, "ana", T0).unwrap();
    let i = s
        .assign_role(i.id, Role::IncidentCommander, "ana", "ana", T0 + 1)
        .unwrap();
    assert_eq!(
        i.roles.get(&Role::IncidentCommander).map(String::as_str),
        Some("ana")
    );
    // Same person again: nothing new.
    s.assign_role(i.id, Role::IncidentCommander, "ana", "ana", T0 + 2)
        .unwrap();
    let i = s.set_severity(i.id, Severity::Sev1, "ana", T0 + 3).unwrap();
    assert_eq!(i.severity, Severity::Sev1);
    s.post_update(i.id, "rolling back", "ana", T0 + 4).unwrap();
    s.add_note(i.id, "db CPU at 100%", "bo", T0 + 5).unwrap();
    assert!(matches!(
        s.add_note(i.id, "  ", "bo", T0 + 6),
        Err(IncidentError::Invalid { .. })
    ));
    assert_eq!(
        kinds(&s, i.id),
        vec![
            EventKind::Declared,
            EventKind::RoleAssigned,
            EventKind::SeverityChanged,
            EventKind::StatusUpdate,
            EventKind::Note,
        ]
    );
    let t = s.timeline(i.id).unwrap();
    assert_eq!(t[1].summary, "ana took the incident commander role");
    assert_eq!(t[2].summary, "ana changed severity from sev3 to sev1");
}

#[test]
fn unknown_incident_is_not_found() {
    let s = service();
    let err = s.acknowledge(IncidentId(9), "ana", T0).unwrap_err();
    assert!(matches!(
        err,
        IncidentError::State(StateError::NotFound { .. })
    ));
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(s.add_note(IncidentId(9), "x", "ana", T0).is_err());
}
