//! `GET /api/v1/rules` and `GET /api/v1/alerts` in Prometheus's shapes, from
//! the rule engine's plain snapshots; and the Alertmanager v2 body the
//! notifier posts.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use homeostat_model::Timestamp;
use homeostat_model::rfc3339::{GO_ZERO_TIME, go_rfc3339_nano_millis};
use homeostat_rules::{
    AlertSnapshot, GroupSnapshot, Notification, RuleKind, RuleSnapshot, format_alert_value,
};
use serde_json::{Map, Value, json};

use crate::routes::params;
use crate::{ApiError, AppState};

/// A rule's or group's last evaluation as Go's `time.Time`: never evaluated
/// is Go's zero time, as Prometheus answers.
fn go_time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| GO_ZERO_TIME.to_string(), go_rfc3339_nano_millis)
}

fn map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

fn alert_json(a: &AlertSnapshot) -> Value {
    let mut o = json!({
        "labels": map(&a.labels),
        "annotations": map(&a.annotations),
        "state": a.state.as_str(),
        "activeAt": go_rfc3339_nano_millis(a.active_at),
        "value": format_alert_value(a.value),
    });
    if let (Some(since), Some(obj)) = (a.keep_firing_since, o.as_object_mut()) {
        obj.insert(
            "keepFiringSince".into(),
            json!(go_rfc3339_nano_millis(since)),
        );
    }
    o
}

fn rule_json(r: &RuleSnapshot, with_alerts: bool) -> Value {
    let mut o = match r.kind {
        RuleKind::Alerting => json!({
            "state": r.state.as_str(),
            "name": r.name,
            "query": r.query,
            "duration": r.duration.as_secs_f64(),
            "keepFiringFor": r.keep_firing_for.as_secs_f64(),
            "labels": map(&r.labels),
            "annotations": map(&r.annotations),
            "alerts": if with_alerts { r.alerts.iter().map(alert_json).collect() } else { Vec::new() },
            "health": r.health.as_str(),
            "evaluationTime": r.evaluation_seconds,
            "lastEvaluation": go_time(r.last_evaluation),
            "type": "alerting",
        }),
        RuleKind::Recording => json!({
            "name": r.name,
            "query": r.query,
            "labels": map(&r.labels),
            "health": r.health.as_str(),
            "evaluationTime": r.evaluation_seconds,
            "lastEvaluation": go_time(r.last_evaluation),
            "type": "recording",
        }),
    };
    if let (Some(err), Some(obj)) = (&r.last_error, o.as_object_mut()) {
        obj.insert("lastError".into(), json!(err));
    }
    o
}

fn group_json(g: &GroupSnapshot, rules: Vec<Value>) -> Value {
    json!({
        "name": g.name,
        "file": g.file,
        "rules": rules,
        "interval": g.interval.as_secs_f64(),
        "limit": g.limit,
        "evaluationTime": g.evaluation_seconds,
        "lastEvaluation": go_time(g.last_evaluation),
    })
}

/// `GET /api/v1/rules` with Prometheus's filters: `type=alert|record`,
/// `rule_name[]`, `rule_group[]`, `file[]`, `exclude_alerts`.
pub async fn rules(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let p = params(q, body).await?;
    let kind = match p.get("type").unwrap_or("") {
        "" => None,
        "alert" => Some(RuleKind::Alerting),
        "record" => Some(RuleKind::Recording),
        other => {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"type\": unsupported value {other:?}"
            )));
        }
    };
    let with_alerts = match p.get("exclude_alerts").unwrap_or("false") {
        "false" | "" => true,
        "true" => false,
        other => {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"exclude_alerts\": {other:?} is not a boolean"
            )));
        }
    };
    let names = p.all("rule_name[]");
    let group_names = p.all("rule_group[]");
    let files = p.all("file[]");
    let groups: Vec<Value> = st
        .rules
        .groups()
        .iter()
        .filter(|g| group_names.is_empty() || group_names.contains(&g.name.as_str()))
        .filter(|g| files.is_empty() || files.contains(&g.file.as_str()))
        .filter_map(|g| {
            let rules: Vec<Value> = g
                .rules
                .iter()
                .filter(|r| kind.is_none_or(|k| k == r.kind))
                .filter(|r| names.is_empty() || names.contains(&r.name.as_str()))
                .map(|r| rule_json(r, with_alerts))
                .collect();
            let filtered = kind.is_some() || !names.is_empty();
            if filtered && rules.is_empty() {
                None
            } else {
                Some(group_json(g, rules))
            }
        })
        .collect();
    Ok(Json(
        json!({"status": "success", "data": {"groups": groups}}),
    ))
}

/// `GET /api/v1/alerts`: pending and firing alerts.
pub async fn alerts(State(st): State<AppState>) -> Json<Value> {
    let alerts: Vec<Value> = st.rules.alerts().iter().map(alert_json).collect();
    Json(json!({"status": "success", "data": {"alerts": alerts}}))
}

/// The body of `POST /api/v2/alerts` (Alertmanager v2) for `alerts`.
pub fn alertmanager_v2_body(alerts: &[Notification]) -> String {
    let v: Vec<Value> = alerts
        .iter()
        .map(|a| {
            json!({
                "labels": map(&a.labels),
                "annotations": map(&a.annotations),
                "startsAt": go_rfc3339_nano_millis(a.starts_at),
                "endsAt": go_rfc3339_nano_millis(a.ends_at),
                "generatorURL": a.generator_url,
            })
        })
        .collect();
    Value::Array(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_look_like_go() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        assert_eq!(go_time(Some(1_700_000_040_000)), "2023-11-14T22:14:00Z");
        assert_eq!(go_time(Some(1_700_000_040_120)), "2023-11-14T22:14:00.12Z");
    }
}
