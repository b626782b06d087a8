use homeostat_state::{
    ActionItem, Incident, IncidentFilter, IncidentId, IncidentStore, Result, StateError,
    TimelineEvent, validate_action_item, validate_incident,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};

use crate::SqliteState;
use crate::codec::{be, col, from_json, is_unique_violation, parse, to_i64, to_json};

pub(crate) const INCIDENT_COLUMNS: &str = "id, revision, title, severity, state, service, group_key, \
     created_at, acknowledged_at, mitigated_at, resolved_at, detected_at, roles, runbook_urls, labels";
pub(crate) const EVENT_COLUMNS: &str = "seq, incident_id, at, kind, actor, summary, data";
pub(crate) const ITEM_COLUMNS: &str =
    "id, incident_id, title, owner, due, state, created_at, updated_at";
const OPEN_STATES: &str = "('triggered', 'acknowledged', 'mitigated')";

pub(crate) fn incident_from_row(row: &Row<'_>) -> Result<Incident> {
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

pub(crate) fn event_from_row(row: &Row<'_>) -> Result<TimelineEvent> {
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

pub(crate) fn item_from_row(row: &Row<'_>) -> Result<ActionItem> {
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
                    StateError::backend(
                        "decode action_items.due",
                        crate::codec::Corrupt(e.to_string()),
                    )
                })
            })
            .transpose()?,
        state: parse(&state, "action_items.state")?,
        created_at: col(row, 6, t)?,
        updated_at: col(row, 7, t)?,
    })
}

/// Runs `sql` and decodes every row with `decode`.
pub(crate) fn query<T>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    op: &'static str,
    decode: fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(be(op))?;
    let mut rows = stmt.query(args).map_err(be(op))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(be(op))? {
        out.push(decode(row)?);
    }
    Ok(out)
}

fn read_incident(conn: &Connection, id: IncidentId) -> Result<Incident> {
    query(
        conn,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1"),
        [id.0],
        "read incident",
        incident_from_row,
    )?
    .pop()
    .ok_or_else(|| StateError::not_found("incident", id))
}

fn incident_exists(conn: &Connection, id: IncidentId) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM incidents WHERE id = ?1)",
        [id.0],
        |r| r.get(0),
    )
    .map_err(be("read incident"))
}

fn open_for_group(conn: &Connection, group_key: &str) -> Result<Option<Incident>> {
    Ok(query(
        conn,
        &format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE group_key = ?1 AND state IN {OPEN_STATES}"
        ),
        [group_key],
        "find open incident",
        incident_from_row,
    )?
    .pop())
}

/// Conflict naming the incident already open for the group, if any.
fn check_group_free(conn: &Connection, i: &Incident) -> Result<()> {
    if !i.state.is_open() {
        return Ok(());
    }
    let Some(g) = &i.group_key else {
        return Ok(());
    };
    match open_for_group(conn, g)? {
        Some(other) if other.id != i.id => Err(StateError::conflict(
            "incident",
            other.id,
            format!("already open for group {g:?}"),
        )),
        _ => Ok(()),
    }
}

/// The mutable columns, in `INCIDENT_COLUMNS` order from `title` on.
pub(crate) fn incident_values(i: &Incident) -> Result<Vec<Value>> {
    let opt = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    let opt_text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    Ok(vec![
        Value::Text(i.title.clone()),
        Value::Text(i.severity.as_str().to_string()),
        Value::Text(i.state.as_str().to_string()),
        opt_text(&i.service),
        opt_text(&i.group_key),
        Value::Integer(i.created_at),
        opt(i.acknowledged_at),
        opt(i.mitigated_at),
        opt(i.resolved_at),
        opt(i.detected_at),
        Value::Text(to_json(&i.roles, "roles")?),
        Value::Text(to_json(&i.runbook_urls, "runbook_urls")?),
        Value::Text(to_json(&i.labels, "labels")?),
    ])
}

fn conflict_or_backend(
    id: impl ToString,
    op: &'static str,
) -> impl Fn(rusqlite::Error) -> StateError {
    let id = id.to_string();
    move |e| {
        if is_unique_violation(&e) {
            StateError::conflict("incident", &id, "another open incident has this group key")
        } else {
            StateError::backend(op, e)
        }
    }
}

impl IncidentStore for SqliteState {
    fn create(&self, incident: &Incident) -> Result<Incident> {
        validate_incident(incident)?;
        let conn = self.conn.lock();
        check_group_free(
            &conn,
            &Incident {
                id: IncidentId(0),
                ..incident.clone()
            },
        )?;
        let mut values = vec![Value::Integer(1)];
        values.extend(incident_values(incident)?);
        conn.execute(
            "INSERT INTO incidents (revision, title, severity, state, service, group_key,
                 created_at, acknowledged_at, mitigated_at, resolved_at, detected_at,
                 roles, runbook_urls, labels)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params_from_iter(values),
        )
        .map_err(conflict_or_backend("new", "create incident"))?;
        Ok(Incident {
            id: IncidentId(conn.last_insert_rowid()),
            revision: 1,
            ..incident.clone()
        })
    }

    fn get(&self, id: IncidentId) -> Result<Incident> {
        read_incident(&self.conn.lock(), id)
    }

    fn list(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let mut clauses = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if !filter.states.is_empty() {
            let marks = vec!["?"; filter.states.len()].join(", ");
            clauses.push(format!("state IN ({marks})"));
            args.extend(
                filter
                    .states
                    .iter()
                    .map(|s| Value::Text(s.as_str().to_string())),
            );
        }
        if let Some(s) = &filter.service {
            clauses.push("service = ?".to_string());
            args.push(Value::Text(s.clone()));
        }
        if let Some(g) = &filter.group_key {
            clauses.push("group_key = ?".to_string());
            args.push(Value::Text(g.clone()));
        }
        let filter_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        args.push(Value::Integer(
            filter
                .limit
                .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        ));
        query(
            &self.conn.lock(),
            &format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents {filter_sql} ORDER BY id DESC LIMIT ?"
            ),
            params_from_iter(args),
            "list incidents",
            incident_from_row,
        )
    }

    fn update(&self, incident: &Incident) -> Result<Incident> {
        validate_incident(incident)?;
        let conn = self.conn.lock();
        let stored = read_incident(&conn, incident.id)?;
        if stored.revision != incident.revision {
            return Err(StateError::conflict(
                "incident",
                incident.id,
                format!(
                    "stale revision {} (stored {})",
                    incident.revision, stored.revision
                ),
            ));
        }
        check_group_free(&conn, incident)?;
        let next = incident.revision + 1;
        let mut values = vec![Value::Integer(to_i64(next))];
        values.extend(incident_values(incident)?);
        values.push(Value::Integer(incident.id.0));
        values.push(Value::Integer(to_i64(incident.revision)));
        let n = conn
            .execute(
                "UPDATE incidents SET revision = ?1, title = ?2, severity = ?3, state = ?4,
                     service = ?5, group_key = ?6, created_at = ?7, acknowledged_at = ?8,
                     mitigated_at = ?9, resolved_at = ?10, detected_at = ?11, roles = ?12,
                     runbook_urls = ?13, labels = ?14
                 WHERE id = ?15 AND revision = ?16",
                params_from_iter(values),
            )
            .map_err(conflict_or_backend(incident.id, "update incident"))?;
        debug_assert_eq!(n, 1, "the revision was checked under the same lock");
        Ok(Incident {
            revision: next,
            ..incident.clone()
        })
    }

    fn find_open_by_group_key(&self, group_key: &str) -> Result<Option<Incident>> {
        open_for_group(&self.conn.lock(), group_key)
    }

    fn append_event(&self, event: &TimelineEvent) -> Result<i64> {
        let conn = self.conn.lock();
        if !incident_exists(&conn, event.incident_id)? {
            return Err(StateError::not_found("incident", event.incident_id));
        }
        conn.execute(
            "INSERT INTO timeline (incident_id, at, kind, actor, summary, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                event.incident_id.0,
                event.at,
                event.kind.as_str(),
                event.actor,
                event.summary,
                to_json(&event.data, "data")?
            ],
        )
        .map_err(be("append timeline event"))?;
        Ok(conn.last_insert_rowid())
    }

    fn timeline(&self, incident_id: IncidentId) -> Result<Vec<TimelineEvent>> {
        let conn = self.conn.lock();
        if !incident_exists(&conn, incident_id)? {
            return Err(StateError::not_found("incident", incident_id));
        }
        query(
            &conn,
            &format!(
                "SELECT {EVENT_COLUMNS} FROM timeline WHERE incident_id = ?1 ORDER BY at, seq"
            ),
            [incident_id.0],
            "read timeline",
            event_from_row,
        )
    }

    fn create_action_item(&self, item: &ActionItem) -> Result<ActionItem> {
        validate_action_item(item)?;
        let conn = self.conn.lock();
        if !incident_exists(&conn, item.incident_id)? {
            return Err(StateError::not_found("incident", item.incident_id));
        }
        conn.execute(
            "INSERT INTO action_items (incident_id, title, owner, due, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                item.incident_id.0,
                item.title,
                item.owner,
                item.due.map(|d| d.format("%Y-%m-%d").to_string()),
                item.state.as_str(),
                item.created_at,
                item.updated_at
            ],
        )
        .map_err(be("create action item"))?;
        Ok(ActionItem {
            id: conn.last_insert_rowid(),
            ..item.clone()
        })
    }

    fn get_action_item(&self, id: i64) -> Result<ActionItem> {
        query(
            &self.conn.lock(),
            &format!("SELECT {ITEM_COLUMNS} FROM action_items WHERE id = ?1"),
            [id],
            "read action item",
            item_from_row,
        )?
        .pop()
        .ok_or_else(|| StateError::not_found("action item", id))
    }

    fn update_action_item(&self, item: &ActionItem) -> Result<ActionItem> {
        validate_action_item(item)?;
        let conn = self.conn.lock();
        let stored_incident: Option<i64> = conn
            .query_row(
                "SELECT incident_id FROM action_items WHERE id = ?1",
                [item.id],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(be("read action item"))?;
        match stored_incident {
            None => return Err(StateError::not_found("action item", item.id)),
            Some(i) if i != item.incident_id.0 => {
                return Err(StateError::invalid(
                    "incident_id",
                    "an action item cannot move to another incident",
                ));
            }
            Some(_) => {}
        }
        conn.execute(
            "UPDATE action_items SET title = ?1, owner = ?2, due = ?3, state = ?4,
                 created_at = ?5, updated_at = ?6
             WHERE id = ?7",
            params![
                item.title,
                item.owner,
                item.due.map(|d| d.format("%Y-%m-%d").to_string()),
                item.state.as_str(),
                item.created_at,
                item.updated_at,
                item.id
            ],
        )
        .map_err(be("update action item"))?;
        Ok(item.clone())
    }

    fn delete_action_item(&self, id: i64) -> Result<()> {
        let n = self
            .conn
            .lock()
            .execute("DELETE FROM action_items WHERE id = ?1", [id])
            .map_err(be("delete action item"))?;
        if n == 0 {
            return Err(StateError::not_found("action item", id));
        }
        Ok(())
    }

    fn action_items(&self, incident_id: IncidentId) -> Result<Vec<ActionItem>> {
        query(
            &self.conn.lock(),
            &format!("SELECT {ITEM_COLUMNS} FROM action_items WHERE incident_id = ?1 ORDER BY id"),
            [incident_id.0],
            "list action items",
            item_from_row,
        )
    }
}
