//! Incidents over HTTP (JSON): list, declare, show, the lifecycle steps,
//! roles, status updates, notes, action items, signed acknowledge/resolve
//! links and the postmortem (Markdown). The work is done by the
//! [`crate::IncidentApi`] in the app state; this file decodes, encodes and
//! picks statuses (unknown id 404, illegal step 409, bad body 400).

use std::str::FromStr;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use homeostat_incident::{IncidentError, LinkAction, render_postmortem};
use homeostat_model::rfc3339::rfc3339;
use homeostat_model::{AuthMethod, ErrorKind, Principal};
use homeostat_state::{
    ActionItem, ActionItemState, Incident, IncidentFilter, IncidentId, IncidentState, Role,
    Severity, TimelineEvent,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::params::{Params, Path};
use crate::routes::read_body;
use crate::{ApiError, AppState, Caller, Declare};
use homeostat_app::LinkError;

/// Largest JSON body of an incident request.
const MAX_BODY: usize = 256 << 10;
/// Header naming who acts, when the body does not.
pub const ACTOR_HEADER: &str = "x-homeostat-user";

fn incident_error(e: IncidentError) -> ApiError {
    ApiError::rest(e.kind(), e.to_string())
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("incident task failed: {e}")))?
}

fn ok(data: Value) -> Json<Value> {
    Json(json!({"status": "success", "data": data}))
}

fn parse_id(id: &str) -> Result<IncidentId, ApiError> {
    IncidentId::from_str(id).map_err(|e| ApiError::bad_data(e.to_string()))
}

/// Reads a JSON body into `T` (unknown fields refused); an empty body is
/// `{}`.
async fn json_body<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = read_body(body, MAX_BODY).await?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_data(format!("request body: {e}")))
}

/// The name a request declares for who acts: the body's `by`, else the
/// `X-Homeostat-User` header.
pub(crate) fn declared(by: Option<String>, headers: &HeaderMap) -> Option<String> {
    by.filter(|b| !b.trim().is_empty())
        .or_else(|| {
            headers
                .get(ACTOR_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
}

/// Who acts, as recorded: the authenticated principal, with a declared name
/// only as "on behalf of" ([`Principal::actor`]). Without authentication
/// the declared name is all there is, so one is required, as before.
pub(crate) fn actor(
    caller: &Principal,
    by: Option<String>,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let declared = declared(by, headers);
    if caller.method == AuthMethod::Unauthenticated && declared.is_none() {
        return Err(ApiError::bad_data(
            "say who acts: a \"by\" field in the body or an X-Homeostat-User header",
        ));
    }
    Ok(caller.actor(declared.as_deref()))
}

pub(crate) fn encode_incident(i: &Incident) -> Value {
    json!({
        "id": i.id.to_string(),
        "title": i.title,
        "severity": i.severity,
        "state": i.state,
        "service": i.service,
        "groupKey": i.group_key,
        "createdAt": rfc3339(i.created_at),
        "detectedAt": i.detected_at.map(rfc3339),
        "acknowledgedAt": i.acknowledged_at.map(rfc3339),
        "mitigatedAt": i.mitigated_at.map(rfc3339),
        "resolvedAt": i.resolved_at.map(rfc3339),
        "roles": i.roles,
        "runbookUrls": i.runbook_urls,
        "labels": i.labels,
    })
}

fn encode_event(e: &TimelineEvent) -> Value {
    json!({
        "seq": e.seq,
        "at": rfc3339(e.at),
        "kind": e.kind,
        "actor": e.actor,
        "summary": e.summary,
        "data": e.data,
    })
}

fn encode_item(a: &ActionItem) -> Value {
    json!({
        "id": a.id,
        "incident": a.incident_id.to_string(),
        "title": a.title,
        "owner": a.owner,
        "due": a.due.map(|d| d.to_string()),
        "state": a.state,
        "createdAt": rfc3339(a.created_at),
        "updatedAt": rfc3339(a.updated_at),
    })
}

/// `GET /api/v1/incidents?state=triggered,acknowledged&service=&limit=`
pub async fn list(
    State(st): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(query.as_deref(), b"");
    let mut filter = IncidentFilter {
        service: p
            .get("service")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        limit: Some(100),
        ..Default::default()
    };
    for s in p.all("state").iter().flat_map(|s| s.split(',')) {
        match s.trim() {
            "" => {}
            "open" => filter.states.extend([
                IncidentState::Triggered,
                IncidentState::Acknowledged,
                IncidentState::Mitigated,
            ]),
            s => filter.states.push(
                IncidentState::from_str(s)
                    .map_err(|e| ApiError::bad_data(format!("state: {e}")))?,
            ),
        }
    }
    if let Some(l) = p.get("limit") {
        let n: usize = l
            .parse()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                ApiError::bad_data(format!("limit: {l:?} is not a number from 1 to 10000"))
            })?;
        filter.limit = Some(n);
    }
    let api = st.incidents.clone();
    let list = blocking(move || {
        api.service()
            .store()
            .list(&filter)
            .map_err(|e| incident_error(e.into()))
    })
    .await?;
    Ok(ok(json!(
        list.iter().map(encode_incident).collect::<Vec<_>>()
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclareBody {
    title: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    commander: Option<String>,
    #[serde(default)]
    escalation_policy: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

/// `POST /api/v1/incidents`: declare one; 201 with the incident.
pub async fn declare(
    State(st): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let b: DeclareBody = json_body(body).await?;
    let by = actor(&caller, b.by.clone(), &headers)?;
    let severity = match b.severity.as_deref() {
        None => Severity::Sev2,
        Some(s) => Severity::from_str(s)
            .ok()
            .or_else(|| Severity::from_label(s))
            .ok_or_else(|| {
                ApiError::bad_data(format!(
                    "severity: {s:?} is not one of sev1, sev2, sev3, sev4"
                ))
            })?,
    };
    let d = Declare {
        title: b.title,
        severity,
        service: b.service.filter(|s| !s.trim().is_empty()),
        commander: b.commander.filter(|s| !s.trim().is_empty()),
        escalation_policy: b.escalation_policy.filter(|s| !s.trim().is_empty()),
        by,
    };
    let at = st.clock.now_millis();
    let desk = st.incidents.clone();
    let i = blocking(move || desk.declare_audited(&d, at).map_err(incident_error)).await?;
    Ok((StatusCode::CREATED, ok(encode_incident(&i))).into_response())
}

/// `GET /api/v1/incidents/{id}`: the incident with its timeline, action
/// items and escalation.
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let api = st.incidents.clone();
    let data = blocking(move || {
        let s = api.service();
        let i = s.store().get(id).map_err(|e| incident_error(e.into()))?;
        let timeline = s.timeline(id).map_err(incident_error)?;
        let items = s
            .store()
            .action_items(id)
            .map_err(|e| incident_error(e.into()))?;
        let mut v = encode_incident(&i);
        v["timeline"] = json!(timeline.iter().map(encode_event).collect::<Vec<_>>());
        v["actionItems"] = json!(items.iter().map(encode_item).collect::<Vec<_>>());
        v["escalation"] = api.escalation(id).map_or(Value::Null, |e| {
            json!({
                "policy": e.policy_id(),
                "startedAt": e.started_at(),
                "status": e.status(),
                "nextDeadline": e.next_deadline(),
            })
        });
        Ok(v)
    })
    .await?;
    Ok(ok(data))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActorBody {
    #[serde(default)]
    by: Option<String>,
}

async fn step(
    st: AppState,
    id: String,
    query: Option<String>,
    caller: Principal,
    headers: HeaderMap,
    body: Body,
    (to, action): (IncidentState, &'static str),
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let p = Params::parse(query.as_deref(), b"");
    let link = match (to, p.get("token")) {
        (IncidentState::Acknowledged, Some(t)) => Some((LinkAction::Acknowledge, t.to_string())),
        (IncidentState::Resolved, Some(t)) => Some((LinkAction::Resolve, t.to_string())),
        _ => None,
    };
    let html = wants_html(&headers);
    let by = match &link {
        Some((action, token)) => {
            let user = p.get("user").unwrap_or("").to_string();
            // Spent before acting: of two clicks racing, one acts.
            let (desk, action, u, token) =
                (st.incidents.clone(), *action, user.clone(), token.clone());
            let now = st.clock.now_millis();
            let used =
                tokio::task::spawn_blocking(move || desk.use_link(id, action, &u, &token, now))
                    .await
                    .map_err(|e| {
                        ApiError::new(ErrorKind::Internal, format!("incident task failed: {e}"))
                    })?;
            if let Err(e) = used {
                return bad_link(e);
            }
            if user.is_empty() {
                "link".to_string()
            } else {
                user
            }
        }
        None => {
            // Form posts from the link page carry no JSON; they have a token.
            let b: ActorBody = json_body(body).await?;
            actor(&caller, b.by, &headers)?
        }
    };
    let at = st.clock.now_millis();
    let desk = st.incidents.clone();
    let i = blocking(move || {
        desk.transition_audited(id, to, &by, action, at)
            .map_err(incident_error)
    })
    .await?;
    if html {
        return Ok(Html(link_done_page(&i)).into_response());
    }
    Ok(ok(encode_incident(&i)).into_response())
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// A link that does not act: 403 naming why (invalid, expired, used); a
/// store failure is an error like any other.
fn bad_link(e: LinkError) -> Result<Response, ApiError> {
    if let LinkError::State(e) = e {
        return Err(ApiError::rest(e.kind(), e.to_string()));
    }
    Ok((
        StatusCode::FORBIDDEN,
        Json(json!({"status": "error", "errorType": "forbidden", "error": e.to_string()})),
    )
        .into_response())
}

/// `POST /api/v1/incidents/{id}/ack` (a JSON `by`, or a link's `?token=`)
pub async fn ack(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    step(
        st,
        id,
        q,
        caller,
        headers,
        body,
        (IncidentState::Acknowledged, "acknowledge"),
    )
    .await
}

/// `POST /api/v1/incidents/{id}/mitigate`
pub async fn mitigate(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    step(
        st,
        id,
        q,
        caller,
        headers,
        body,
        (IncidentState::Mitigated, "mitigate"),
    )
    .await
}

/// `POST /api/v1/incidents/{id}/resolve`
pub async fn resolve(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    step(
        st,
        id,
        q,
        caller,
        headers,
        body,
        (IncidentState::Resolved, "resolve"),
    )
    .await
}

/// `GET /api/v1/incidents/{id}/ack?token=…` and `…/resolve?token=…`: the
/// link in a page. A GET only shows a confirmation with a button that POSTs
/// the same link: mail scanners and chat unfurlers fetch links, and one
/// must not acknowledge a page (and stop its escalation) for nobody.
pub async fn ack_link(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    link_page(st, id, LinkAction::Acknowledge, q).await
}

/// `GET /api/v1/incidents/{id}/resolve?token=…`, like [`ack_link`].
pub async fn resolve_link(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    link_page(st, id, LinkAction::Resolve, q).await
}

async fn link_page(
    st: AppState,
    id: String,
    action: LinkAction,
    q: Option<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let p = Params::parse(q.as_deref(), b"");
    let token = p.get("token").unwrap_or("");
    let user = p.get("user").unwrap_or("");
    let (desk, u, t) = (st.incidents.clone(), user.to_string(), token.to_string());
    let now = st.clock.now_millis();
    let checked = tokio::task::spawn_blocking(move || desk.check_link(id, action, &u, &t, now))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("incident task failed: {e}")))?;
    if let Err(e) = checked {
        return bad_link(e);
    }
    let api = st.incidents.clone();
    let i = blocking(move || {
        api.service()
            .store()
            .get(id)
            .map_err(|e| incident_error(e.into()))
    })
    .await?;
    let verb = match action {
        LinkAction::Acknowledge => "Acknowledge",
        LinkAction::Resolve => "Resolve",
    };
    let query = q.unwrap_or_default();
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{verb} {id}</title></head><body>\
         <h1>{verb} {id}</h1><p>{title}</p><p>State: <b>{state}</b></p>\
         <form method=\"post\" action=\"/api/v1/incidents/{id}/{path}?{query}\">\
         <button type=\"submit\">{verb}{as_user}</button></form>\
         <p><a href=\"/console/incident?id={id}\">Open the incident</a></p></body></html>",
        title = escape(&i.title),
        state = i.state,
        path = action.as_str(),
        query = escape(&query),
        as_user = if user.is_empty() {
            String::new()
        } else {
            format!(" as {}", escape(user))
        },
    );
    Ok(Html(page).into_response())
}

fn link_done_page(i: &Incident) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{id}</title></head><body>\
         <h1>{id} is {state}</h1><p>{title}</p>\
         <p><a href=\"/console/incident?id={id}\">Open the incident</a></p></body></html>",
        id = i.id,
        state = i.state,
        title = escape(&i.title),
    )
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
    user: String,
    #[serde(default)]
    by: Option<String>,
}

/// `POST /api/v1/incidents/{id}/roles` `{role, user, by}`
pub async fn assign_role(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let b: RoleBody = json_body(body).await?;
    let by = actor(&caller, b.by, &headers)?;
    let role = Role::from_str(&b.role).map_err(|e| ApiError::bad_data(format!("role: {e}")))?;
    let at = st.clock.now_millis();
    let desk = st.incidents.clone();
    let i = blocking(move || {
        desk.assign_role_audited(id, role, &b.user, &by, at)
            .map_err(incident_error)
    })
    .await?;
    Ok(ok(encode_incident(&i)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    #[serde(alias = "message")]
    text: String,
    #[serde(default)]
    by: Option<String>,
}

async fn text_event(
    st: AppState,
    id: String,
    caller: Principal,
    headers: HeaderMap,
    body: Body,
    update: bool,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let b: TextBody = json_body(body).await?;
    let by = actor(&caller, b.by, &headers)?;
    let at = st.clock.now_millis();
    let api = st.incidents.clone();
    blocking(move || {
        let s = api.service();
        if update {
            s.post_update(id, &b.text, &by, at)
        } else {
            s.add_note(id, &b.text, &by, at)
        }
        .map_err(incident_error)
    })
    .await?;
    Ok((StatusCode::CREATED, ok(json!({"incident": id.to_string()}))).into_response())
}

/// `POST /api/v1/incidents/{id}/updates` `{message, by}`: a status update.
pub async fn post_update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    text_event(st, id, caller, headers, body, true).await
}

/// `POST /api/v1/incidents/{id}/notes` `{text, by}`
pub async fn add_note(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    text_event(st, id, caller, headers, body, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    title: String,
    #[serde(default)]
    owner: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    due: Option<String>,
}

/// `POST /api/v1/incidents/{id}/action_items` `{title, owner, due}`
pub async fn add_action_item(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let b: ItemBody = json_body(body).await?;
    if b.title.trim().is_empty() {
        return Err(ApiError::bad_data("title: must not be empty"));
    }
    let due = match &b.due {
        None => None,
        Some(d) => Some(
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_data(format!("due: {d:?} is not a date like 2026-12-31"))
            })?,
        ),
    };
    let at = st.clock.now_millis();
    let api = st.incidents.clone();
    let item = blocking(move || {
        let s = api.service();
        // A missing incident is a 404, not an orphan item.
        s.store().get(id).map_err(|e| incident_error(e.into()))?;
        s.add_action_item(id, &b.title, b.owner.as_deref(), due, at)
            .map_err(incident_error)
    })
    .await?;
    Ok((StatusCode::CREATED, ok(encode_item(&item))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemPatch {
    state: String,
}

/// `PATCH /api/v1/incidents/{id}/action_items/{item}` `{state}`
pub async fn patch_action_item(
    State(st): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let item: i64 = item.parse().map_err(|_| {
        ApiError::bad_data(format!(
            "action item: {item:?} is not an action item number"
        ))
    })?;
    let b: ItemPatch = json_body(body).await?;
    let state = ActionItemState::from_str(&b.state)
        .map_err(|e| ApiError::bad_data(format!("state: {e}")))?;
    let at = st.clock.now_millis();
    let api = st.incidents.clone();
    let item = blocking(move || {
        let s = api.service();
        let current = s
            .store()
            .get_action_item(item)
            .map_err(|e| incident_error(e.into()))?;
        if current.incident_id != id {
            return Err(ApiError::new(
                ErrorKind::NotFound,
                format!("{id} has no action item {item}"),
            ));
        }
        s.set_action_item_state(item, state, at)
            .map_err(incident_error)
    })
    .await?;
    Ok(ok(encode_item(&item)))
}

/// `GET /api/v1/incidents/{id}/postmortem`: Markdown.
pub async fn postmortem(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let api = st.incidents.clone();
    let text = blocking(move || {
        let s = api.service();
        let i = s.store().get(id).map_err(|e| incident_error(e.into()))?;
        let timeline = s.timeline(id).map_err(incident_error)?;
        let items = s
            .store()
            .action_items(id)
            .map_err(|e| incident_error(e.into()))?;
        let impact = api.impact(&i);
        Ok(render_postmortem(&i, &timeline, &items, &impact))
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        text,
    )
        .into_response())
}
