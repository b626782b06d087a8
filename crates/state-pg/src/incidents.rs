use homeostat_state::{
    ActionItem, Incident, IncidentFilter, IncidentId, IncidentStore, Result, StateError,
    TimelineEvent, validate_action_item, validate_incident,
};
use postgres::types::ToSql;
use postgres::{GenericClient, Row};

use crate::PgState;
use crate::codec::{
    Corrupt, be, col, from_json, is_unique_violation, limit, parse, to_i64, to_json,
};

const INCIDENT_COLUMNS: &str = "id, revision, title, severity, state, service, group_key, \
     created_at, acknowledged_at, mitigated_at, resolved_at, detected_at, roles, runbook_urls, labels";
const EVENT_COLUMNS: &str = "seq, incident_id, at, kind, actor, summary, data";
const ITEM_COLUMNS: &str = "id, incident_id, title, owner, due, state, created_at, updated_at";
const OPEN_STATES: &str = "('triggered', 'acknowledged', 'mitigated')";

fn incident_from_row(row: &Row) -> Result<Incident> {
    let t = "incidents";
    let severity: String = col(row, 3, t)?;
    let state: String = col(row, 4, t)?;
    let roles: String = col(row, 12, t)?;
    let runbooks: String = col(row, 13, t)?;
    let labels: String = col(row, 14, t)?;
    Ok(Incident {
        id: IncidentId(col(row, 0, t)?),
        revision: col::<i64>(row, 1, t)?.max(0) as u64,
        title: col(row, 2, t)?,
        severity: parse(&severity, "incidents.severity")?,
        state: parse(&state, "incidents.state")?,
        service: col(row, 5, t)?,
        group_key: col(row, 6, t)?,
        created_at: col(row, 7, t)?,
        acknowledged_at: col(row, 8, t)?,
        mitigated_at: col(row, 9, t)?,
        resolved_at: col(row, 10, t)?,
        detected_at: col(row, 11, t)?,
        roles: from_json(&roles, "incidents.roles")?,
        runbook_urls: from_json(&runbooks, "incidents.runbook_urls")?,
        labels: from_json(&labels, "incidents.labels")?,
    })
}

fn event_from_row(row: &Row) -> Result<TimelineEvent> {
    let t = "timeline";
    let kind: String = col(row, 3, t)?;
    let data: String = col(row, 6, t)?;
    Ok(TimelineEvent {
        seq: col(row, 0, t)?,
        incident_id: IncidentId(col(row, 1, t)?),
        at: col(row, 2, t)?,
        kind: parse(&kind, "timeline.kind")?,
        actor: col(row, 4, t)?,
        summary: col(row, 5, t)?,
        data: from_json(&data, "timeline.data")?,
    })
}

fn item_from_row(row: &Row) -> Result<ActionItem> {
    let t = "action_items";
    let due: Option<String> = col(row, 4, t)?;
    let state: String = col(row, 5, t)?;
    Ok(ActionItem {
        id: col(row, 0, t)?,
        incident_id: IncidentId(col(row, 1, t)?),
        title: col(row, 2, t)?,
        owner: col(row, 3, t)?,
        due: due
            .map(|d| {
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|e| {
                    StateError::backend("decode action_items.due", Corrupt(e.to_string()))
                })
            })
            .transpose()?,
        state: parse(&state, "action_items.state")?,
        created_at: col(row, 6, t)?,
        updated_at: col(row, 7, t)?,
    })
}

fn query<T>(
    c: &mut impl GenericClient,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
    op: &'static str,
    decode: fn(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    c.query(sql, args)
        .map_err(be(op))?
        .iter()
        .map(decode)
        .collect()
}

fn read_incident(c: &mut impl GenericClient, id: IncidentId, lock: &str) -> Result<Incident> {
    query(
        c,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1 {lock}"),
        &[&id.0],
        "read incident",
        incident_from_row,
    )?
    .pop()
    .ok_or_else(|| StateError::not_found("incident", id))
}

fn incident_exists(c: &mut impl GenericClient, id: IncidentId) -> Result<bool> {
    c.query_one(
        "SELECT EXISTS (SELECT 1 FROM incidents WHERE id = $1)",
        &[&id.0],
    )
    .and_then(|r| r.try_get(0))
    .map_err(be("read incident"))
}

fn open_for_group(c: &mut impl GenericClient, group_key: &str) -> Result<Option<Incident>> {
    Ok(query(
        c,
        &format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE group_key = $1 AND state IN {OPEN_STATES}"
        ),
        &[&group_key],
        "find open incident",
        incident_from_row,
    )?
    .pop())
}

/// Conflict naming the incident already open for the group, if any. The
/// unique index is what holds under races; this only names the other one.
fn check_group_free(c: &mut impl GenericClient, i: &Incident) -> Result<()> {
    if !i.state.is_open() {
        return Ok(());
    }
    let Some(g) = &i.group_key else {
        return Ok(());
    };
    match open_for_group(c, g)? {
        Some(other) if other.id != i.id => Err(StateError::conflict(
            "incident",
            other.id,
            format!("already open for group {g:?}"),
        )),
        _ => Ok(()),
    }
}

fn conflict_or_backend(
    id: impl ToString,
    op: &'static str,
) -> impl Fn(postgres::Error) -> StateError {
    let id = id.to_string();
    move |e| {
        if is_unique_violation(&e) {
            StateError::conflict("incident", &id, "another open incident has this group key")
        } else {
            StateError::backend(op, e)
        }
    }
}

/// Inserts the incident with `id` (a new one from the sequence when `None`)
/// and `revision`; returns its id.
pub(crate) fn insert_incident(
    c: &mut impl GenericClient,
    i: &Incident,
    id: Option<i64>,
) -> Result<i64> {
    let roles = to_json(&i.roles, "roles")?;
    let runbooks = to_json(&i.runbook_urls, "runbook_urls")?;
    let labels = to_json(&i.labels, "labels")?;
    let revision = to_i64(i.revision);
    c.query_one(
        "INSERT INTO incidents (id, revision, title, severity, state, service, group_key,
             created_at, acknowledged_at, mitigated_at, resolved_at, detected_at,
             roles, runbook_urls, labels)
         VALUES (coalesce($1, nextval(pg_get_serial_sequence('incidents', 'id'))),
             $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING id",
        &[
            &id,
            &revision,
            &i.title,
            &i.severity.as_str(),
            &i.state.as_str(),
            &i.service,
            &i.group_key,
            &i.created_at,
            &i.acknowledged_at,
            &i.mitigated_at,
            &i.resolved_at,
            &i.detected_at,
            &roles,
            &runbooks,
            &labels,
        ],
    )
    .and_then(|r| r.try_get(0))
    .map_err(conflict_or_backend("new", "create incident"))
}

pub(crate) fn insert_event(
    c: &mut impl GenericClient,
    e: &TimelineEvent,
    seq: Option<i64>,
) -> Result<i64> {
    c.query_one(
        "INSERT INTO timeline (seq, incident_id, at, kind, actor, summary, data)
         VALUES (coalesce($1, nextval(pg_get_serial_sequence('timeline', 'seq'))),
             $2, $3, $4, $5, $6, $7)
         RETURNING seq",
        &[
            &seq,
            &e.incident_id.0,
            &e.at,
            &e.kind.as_str(),
            &e.actor,
            &e.summary,
            &to_json(&e.data, "data")?,
        ],
    )
    .and_then(|r| r.try_get(0))
    .map_err(be("append timeline event"))
}

pub(crate) fn insert_item(
    c: &mut impl GenericClient,
    item: &ActionItem,
    id: Option<i64>,
) -> Result<i64> {
    c.query_one(
        "INSERT INTO action_items (id, incident_id, title, owner, due, state, created_at, updated_at)
         VALUES (coalesce($1, nextval(pg_get_serial_sequence('action_items', 'id'))),
             $2, $3, $4, $5, $6, $7, $8)
         RETURNING id",
        &[
            &id,
            &item.incident_id.0,
            &item.title,
            &item.owner,
            &item.due.map(|d| d.format("%Y-%m-%d").to_string()),
            &item.state.as_str(),
            &item.created_at,
            &item.updated_at,
        ],
    )
    .and_then(|r| r.try_get(0))
    .map_err(be("create action item"))
}

pub(crate) fn list_all(
    c: &mut impl GenericClient,
) -> Result<(Vec<Incident>, Vec<TimelineEvent>, Vec<ActionItem>)> {
    let incidents = query(
        c,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents ORDER BY id"),
        &[],
        "list incidents",
        incident_from_row,
    )?;
    let events = query(
        c,
        &format!("SELECT {EVENT_COLUMNS} FROM timeline ORDER BY seq"),
        &[],
        "read timeline",
        event_from_row,
    )?;
    let items = query(
        c,
        &format!("SELECT {ITEM_COLUMNS} FROM action_items ORDER BY id"),
        &[],
        "list action items",
        item_from_row,
    )?;
    Ok((incidents, events, items))
}

impl IncidentStore for PgState {
    fn create(&self, incident: &Incident) -> Result<Incident> {
        validate_incident(incident)?;
        let new = Incident {
            id: IncidentId(0),
            revision: 1,
            ..incident.clone()
        };
        self.pool.run("create incident", move |c| {
            check_group_free(c, &new)?;
            let id = insert_incident(c, &new, None)?;
            Ok(Incident {
                id: IncidentId(id),
                ..new
            })
        })
    }

    fn get(&self, id: IncidentId) -> Result<Incident> {
        self.pool
            .run("read incident", move |c| read_incident(c, id, ""))
    }

    fn list(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let states: Vec<String> = filter
            .states
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        let any_state = states.is_empty();
        let (service, group_key) = (filter.service.clone(), filter.group_key.clone());
        let n = limit(filter.limit);
        self.pool.run("list incidents", move |c| {
            query(
                c,
                &format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents
                     WHERE ($1 OR state = ANY($2))
                       AND ($3::TEXT IS NULL OR service = $3)
                       AND ($4::TEXT IS NULL OR group_key = $4)
                     ORDER BY id DESC LIMIT $5"
                ),
                &[&any_state, &states, &service, &group_key, &n],
                "list incidents",
                incident_from_row,
            )
        })
    }

    fn update(&self, incident: &Incident) -> Result<Incident> {
        validate_incident(incident)?;
        let i = incident.clone();
        self.pool.run("update incident", move |c| {
            let mut tx = c.transaction().map_err(be("update incident"))?;
            let stored = read_incident(&mut tx, i.id, "FOR UPDATE")?;
            if stored.revision != i.revision {
                return Err(StateError::conflict(
                    "incident",
                    i.id,
                    format!("stale revision {} (stored {})", i.revision, stored.revision),
                ));
            }
            check_group_free(&mut tx, &i)?;
            let next = i.revision + 1;
            tx.execute(
                "UPDATE incidents SET revision = $1, title = $2, severity = $3, state = $4,
                     service = $5, group_key = $6, created_at = $7, acknowledged_at = $8,
                     mitigated_at = $9, resolved_at = $10, detected_at = $11, roles = $12,
                     runbook_urls = $13, labels = $14
                 WHERE id = $15",
                &[
                    &to_i64(next),
                    &i.title,
                    &i.severity.as_str(),
                    &i.state.as_str(),
                    &i.service,
                    &i.group_key,
                    &i.created_at,
                    &i.acknowledged_at,
                    &i.mitigated_at,
                    &i.resolved_at,
                    &i.detected_at,
                    &to_json(&i.roles, "roles")?,
                    &to_json(&i.runbook_urls, "runbook_urls")?,
                    &to_json(&i.labels, "labels")?,
                    &i.id.0,
                ],
            )
            .map_err(conflict_or_backend(i.id, "update incident"))?;
            tx.commit()
                .map_err(conflict_or_backend(i.id, "update incident"))?;
            Ok(Incident {
                revision: next,
                ..i
            })
        })
    }

    fn find_open_by_group_key(&self, group_key: &str) -> Result<Option<Incident>> {
        let g = group_key.to_string();
        self.pool
            .run("find open incident", move |c| open_for_group(c, &g))
    }

    fn append_event(&self, event: &TimelineEvent) -> Result<i64> {
        let e = event.clone();
        self.pool.run("append timeline event", move |c| {
            if !incident_exists(c, e.incident_id)? {
                return Err(StateError::not_found("incident", e.incident_id));
            }
            insert_event(c, &e, None)
        })
    }

    fn timeline(&self, incident_id: IncidentId) -> Result<Vec<TimelineEvent>> {
        self.pool.run("read timeline", move |c| {
            if !incident_exists(c, incident_id)? {
                return Err(StateError::not_found("incident", incident_id));
            }
            query(
                c,
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM timeline WHERE incident_id = $1 ORDER BY at, seq"
                ),
                &[&incident_id.0],
                "read timeline",
                event_from_row,
            )
        })
    }

    fn create_action_item(&self, item: &ActionItem) -> Result<ActionItem> {
        validate_action_item(item)?;
        let item = item.clone();
        self.pool.run("create action item", move |c| {
            if !incident_exists(c, item.incident_id)? {
                return Err(StateError::not_found("incident", item.incident_id));
            }
            let id = insert_item(c, &item, None)?;
            Ok(ActionItem { id, ..item })
        })
    }

    fn get_action_item(&self, id: i64) -> Result<ActionItem> {
        self.pool.run("read action item", move |c| {
            query(
                c,
                &format!("SELECT {ITEM_COLUMNS} FROM action_items WHERE id = $1"),
                &[&id],
                "read action item",
                item_from_row,
            )?
            .pop()
            .ok_or_else(|| StateError::not_found("action item", id))
        })
    }

    fn update_action_item(&self, item: &ActionItem) -> Result<ActionItem> {
        validate_action_item(item)?;
        let item = item.clone();
        self.pool.run("update action item", move |c| {
            let stored: Option<i64> = c
                .query_opt(
                    "SELECT incident_id FROM action_items WHERE id = $1",
                    &[&item.id],
                )
                .map_err(be("read action item"))?
                .map(|r| col(&r, 0, "action_items"))
                .transpose()?;
            match stored {
                None => return Err(StateError::not_found("action item", item.id)),
                Some(i) if i != item.incident_id.0 => {
                    return Err(StateError::invalid(
                        "incident_id",
                        "an action item cannot move to another incident",
                    ));
                }
                Some(_) => {}
            }
            c.execute(
                "UPDATE action_items SET title = $1, owner = $2, due = $3, state = $4,
                     created_at = $5, updated_at = $6
                 WHERE id = $7",
                &[
                    &item.title,
                    &item.owner,
                    &item.due.map(|d| d.format("%Y-%m-%d").to_string()),
                    &item.state.as_str(),
                    &item.created_at,
                    &item.updated_at,
                    &item.id,
                ],
            )
            .map_err(be("update action item"))?;
            Ok(item)
        })
    }

    fn delete_action_item(&self, id: i64) -> Result<()> {
        self.pool.run("delete action item", move |c| {
            let n = c
                .execute("DELETE FROM action_items WHERE id = $1", &[&id])
                .map_err(be("delete action item"))?;
            if n == 0 {
                return Err(StateError::not_found("action item", id));
            }
            Ok(())
        })
    }

    fn action_items(&self, incident_id: IncidentId) -> Result<Vec<ActionItem>> {
        self.pool.run("list action items", move |c| {
            query(
                c,
                &format!(
                    "SELECT {ITEM_COLUMNS} FROM action_items WHERE incident_id = $1 ORDER BY id"
                ),
                &[&incident_id.0],
                "list action items",
                item_from_row,
            )
        })
    }
}
