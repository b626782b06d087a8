//! `GET /api/v1/status/cluster`, and the `cluster` object of
//! Alertmanager's `/api/v2/status`: the replicas sharing the state
//! database and which one leads (docs/ha.md).

use axum::Json;
use axum::extract::State;
use homeostat_app::{ClusterStatus, Role};
use homeostat_model::ErrorKind;
use homeostat_model::rfc3339::rfc3339;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

async fn read_status(st: &AppState) -> Result<ClusterStatus, ApiError> {
    let view = st.cluster.clone();
    let now = st.clock.now_millis();
    tokio::task::spawn_blocking(move || view.status(now))
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorKind::Internal,
                format!("cluster status task failed: {e}"),
            )
        })?
        .map_err(|e| ApiError::new(e.kind(), e.to_string()))
}

fn role(r: &Role) -> Value {
    match r {
        Role::Single => json!({"role": "single"}),
        Role::Leader(f) => json!({"role": "leader", "token": f.token}),
        Role::Follower { leader } => json!({"role": "follower", "leader": leader}),
    }
}

pub async fn status(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let s = read_status(&st).await?;
    let lease = s.lease.as_ref().map(|l| {
        json!({
            "holder": l.holder,
            "token": l.token,
            "acquiredAt": rfc3339(l.acquired_at),
            "expiresAt": rfc3339(l.expires_at),
        })
    });
    let members: Vec<Value> = s
        .members
        .iter()
        .map(|m| {
            json!({
                "id": m.member.id,
                "address": m.member.address,
                "version": m.member.version,
                "startedAt": rfc3339(m.member.started_at),
                "lastSeen": rfc3339(m.member.last_seen),
                "alive": m.alive,
                "leader": m.leader,
            })
        })
        .collect();
    let mut me = role(&s.role);
    me["id"] = json!(s.self_id);
    Ok(Json(json!({
        "status": "success",
        "data": {
            "enabled": s.enabled,
            "self": me,
            "lease": lease,
            "members": members,
        }
    })))
}

/// Alertmanager's `clusterStatus`: `disabled` for a single replica, else
/// `ready` with the live members as peers. Never fails the status call: a
/// database that does not answer shows as `settling` without peers.
pub async fn alertmanager_cluster(st: &AppState) -> Value {
    match read_status(st).await {
        Ok(s) if !s.enabled => json!({"name": s.self_id, "status": "disabled", "peers": []}),
        Ok(s) => {
            let peers: Vec<Value> = s
                .members
                .iter()
                .filter(|m| m.alive)
                .map(|m| json!({"name": m.member.id, "address": m.member.address}))
                .collect();
            json!({"name": s.self_id, "status": "ready", "peers": peers})
        }
        Err(_) => json!({"name": st.cluster.self_id(), "status": "settling", "peers": []}),
    }
}
