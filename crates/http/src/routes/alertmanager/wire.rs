//! Alertmanager's OpenAPI v2 JSON shapes (`postableAlert`,
//! `gettableAlert`, `alertGroup`, `postableSilence`, `gettableSilence`)
//! and their conversion to and from the engine's types. Times are written
//! as Alertmanager writes them: RFC 3339, milliseconds, UTC.

use std::collections::BTreeMap;

use chrono::DateTime;
use homeostat_alerting::{AlertView, GroupView, PostableAlert, SilenceState};
use homeostat_model::Labels;
use homeostat_model::rfc3339::rfc3339;
use homeostat_state::{Silence, SilenceMatcher};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};

/// Go's zero time and anything before year 2 mean "not given".
pub fn parse_time(field: &str, s: Option<&str>) -> Result<Option<i64>, String> {
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("{field}: {s:?} is not an RFC 3339 time ({e})"))?;
    if t.timestamp() <= -62_135_596_800 + 86_400 * 366 {
        return Ok(None);
    }
    Ok(Some(t.timestamp_millis()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedAlert {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
}

impl PostedAlert {
    pub fn into_engine(self, index: usize) -> Result<PostableAlert, String> {
        let at = |f: &str| format!("alerts[{index}].{f}");
        Ok(PostableAlert {
            starts_at: parse_time(&at("startsAt"), self.starts_at.as_deref())?,
            ends_at: parse_time(&at("endsAt"), self.ends_at.as_deref())?,
            labels: self.labels,
            annotations: self.annotations,
            generator_url: self.generator_url.unwrap_or_default(),
            // Alertmanager's API carries only the firing time.
            pending_since: None,
        })
    }
}

/// Labels as a JSON object, written straight from the engine's type.
struct LabelsMap<'a>(&'a Labels);

impl Serialize for LabelsMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for l in self.0 {
            m.serialize_entry(&l.name, &l.value)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Name<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    inhibited_by: &'a [String],
    silenced_by: &'a [String],
    state: &'static str,
}

/// `gettableAlert`, serialized without an intermediate JSON tree (listing
/// 100,000 alerts must not cost gigabytes).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableAlert<'a> {
    annotations: &'a BTreeMap<String, String>,
    ends_at: String,
    fingerprint: String,
    receivers: Vec<Name<'a>>,
    starts_at: String,
    status: Status<'a>,
    updated_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    labels: LabelsMap<'a>,
}

pub fn gettable_alert(v: &AlertView) -> GettableAlert<'_> {
    let a = &v.alert;
    GettableAlert {
        annotations: &a.annotations,
        ends_at: rfc3339(a.ends_at),
        fingerprint: a.fingerprint.to_string(),
        receivers: v.receivers.iter().map(|r| Name { name: r }).collect(),
        starts_at: rfc3339(a.starts_at),
        status: Status {
            inhibited_by: &v.status.inhibited_by,
            silenced_by: &v.status.silenced_by,
            state: v.status.state.as_str(),
        },
        updated_at: rfc3339(a.updated_at),
        generator_url: &a.generator_url,
        labels: LabelsMap(&a.labels),
    }
}

/// `alertGroup`.
#[derive(Serialize)]
pub struct AlertGroup<'a> {
    labels: LabelsMap<'a>,
    receiver: Name<'a>,
    alerts: Vec<GettableAlert<'a>>,
}

pub fn alert_group(g: &GroupView) -> AlertGroup<'_> {
    AlertGroup {
        labels: LabelsMap(&g.labels),
        receiver: Name { name: &g.receiver },
        alerts: g.alerts.iter().map(gettable_alert).collect(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    /// Absent in clients older than Alertmanager 0.22: equality.
    #[serde(default)]
    pub is_equal: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedSilence {
    #[serde(default)]
    pub id: Option<String>,
    pub matchers: Vec<PostedMatcher>,
    pub starts_at: String,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
}

impl PostedSilence {
    pub fn into_state(self, now: i64) -> Result<Silence, String> {
        let starts_at = parse_time("startsAt", Some(&self.starts_at))?.unwrap_or(now);
        let ends_at = parse_time("endsAt", Some(&self.ends_at))?
            .ok_or_else(|| "endsAt: missing; a silence needs an end".to_string())?;
        Ok(Silence {
            id: self.id.unwrap_or_default(),
            matchers: self
                .matchers
                .into_iter()
                .map(|m| SilenceMatcher {
                    name: m.name,
                    value: m.value,
                    is_regex: m.is_regex,
                    is_equal: m.is_equal.unwrap_or(true),
                })
                .collect(),
            // A silence starting in the past starts now, as in Alertmanager.
            starts_at: starts_at.max(now.min(ends_at)),
            ends_at,
            created_by: self.created_by,
            comment: self.comment,
            updated_at: now,
        })
    }
}

pub fn gettable_silence(s: &Silence, now: i64) -> Value {
    json!({
        "id": s.id,
        "status": {"state": SilenceState::at(s, now).as_str()},
        "updatedAt": rfc3339(s.updated_at),
        "matchers": s.matchers.iter().map(|m| json!({
            "name": m.name,
            "value": m.value,
            "isRegex": m.is_regex,
            "isEqual": m.is_equal,
        })).collect::<Vec<_>>(),
        "startsAt": rfc3339(s.starts_at),
        "endsAt": rfc3339(s.ends_at),
        "createdBy": s.created_by,
        "comment": s.comment,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_zero_is_absent() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            parse_time("t", Some("2023-11-14T22:13:20.123Z")).unwrap(),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_time("t", Some("0001-01-01T00:00:00Z")).unwrap(), None);
        assert_eq!(parse_time("t", None).unwrap(), None);
        assert!(
            parse_time("startsAt", Some("yesterday"))
                .unwrap_err()
                .contains("startsAt")
        );
    }
}
