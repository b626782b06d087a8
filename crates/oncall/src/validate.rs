//! From [`OncallConfig`] to [`Oncall`]: every check the config needs, each
//! failing with the field, the problem and the fix.

use std::collections::BTreeMap;

use chrono::{NaiveTime, TimeDelta, Timelike, Weekday};
use chrono_tz::Tz;
use homeostat_model::parse_duration;

use crate::config::{
    EscalationPolicyConfig, LayerConfig, OncallConfig, RestrictionConfig, ScheduleConfig,
};
use crate::error::ConfigError;
use crate::escalation::{EscalationLevel, EscalationPolicy, Target};
use crate::layer::{Layer, Restriction};
use crate::schedule::{Override, Schedule};
use crate::time::{local, parse_hhmm, parse_instant, parse_weekday};
use crate::{Oncall, User};

/// Bounds the work of one escalation; PagerDuty-style tools cap it lower.
const MAX_REPEAT: u32 = 20;

type Result<T> = std::result::Result<T, ConfigError>;

pub(crate) fn validate(cfg: &OncallConfig) -> Result<Oncall> {
    let mut users = BTreeMap::new();
    for (i, u) in cfg.users.iter().enumerate() {
        let field = format!("users[{i}].id");
        check_id(&field, &u.id, "user")?;
        if users.contains_key(&u.id) {
            return Err(duplicate(
                &field,
                "user id",
                &u.id,
                "give every user its own id",
            ));
        }
        if let Some(url) = &u.webhook_url {
            check_webhook_url(&format!("users[{i}].webhook_url"), url)?;
        }
        users.insert(
            u.id.clone(),
            User {
                id: u.id.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                webhook_url: u.webhook_url.clone(),
            },
        );
    }
    let mut schedules = BTreeMap::new();
    for (i, s) in cfg.schedules.iter().enumerate() {
        let field = format!("schedules[{i}]");
        check_id(&format!("{field}.id"), &s.id, "schedule")?;
        if schedules.contains_key(&s.id) {
            return Err(duplicate(
                &format!("{field}.id"),
                "schedule id",
                &s.id,
                "give every schedule its own id",
            ));
        }
        schedules.insert(s.id.clone(), schedule(&field, s, &users)?);
    }
    let mut escalation_policies = BTreeMap::new();
    for (i, p) in cfg.escalation_policies.iter().enumerate() {
        let field = format!("escalation_policies[{i}]");
        check_id(&format!("{field}.id"), &p.id, "escalation policy")?;
        if escalation_policies.contains_key(&p.id) {
            return Err(duplicate(
                &format!("{field}.id"),
                "escalation policy id",
                &p.id,
                "give every escalation policy its own id",
            ));
        }
        escalation_policies.insert(p.id.clone(), policy(&field, p, &users, &schedules)?);
    }
    Ok(Oncall {
        users,
        schedules,
        escalation_policies,
    })
}

fn check_id(field: &str, id: &str, what: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(ConfigError::invalid(
            field,
            format!("empty {what} id"),
            format!("give the {what} a non-empty id"),
        ));
    }
    Ok(())
}

fn check_webhook_url(field: &str, url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/') || r.contains(char::is_whitespace)) {
        return Err(ConfigError::invalid(
            field,
            format!("{url:?} is not an http(s) URL"),
            "write it like http://pager.example.com/hook",
        ));
    }
    Ok(())
}

fn duplicate(field: &str, what: &str, id: &str, fix: &str) -> ConfigError {
    ConfigError::invalid(field, format!("duplicate {what} {id:?}"), fix)
}

fn known_user(field: &str, id: &str, users: &BTreeMap<String, User>) -> Result<()> {
    if users.contains_key(id) {
        return Ok(());
    }
    Err(ConfigError::invalid(
        field,
        format!("unknown user {id:?}"),
        format!("add {{id: {id}}} to oncall.users or use one of the user ids defined there"),
    ))
}

fn schedule(field: &str, s: &ScheduleConfig, users: &BTreeMap<String, User>) -> Result<Schedule> {
    let zone_name = s.time_zone.as_deref().unwrap_or("UTC");
    let tz: Tz = zone_name.parse().map_err(|_| {
        ConfigError::invalid(
            format!("{field}.time_zone"),
            format!("unknown time zone {zone_name:?}"),
            "use an IANA zone name such as Europe/Berlin, America/New_York or UTC",
        )
    })?;
    if s.layers.is_empty() {
        return Err(ConfigError::invalid(
            format!("{field}.layers"),
            "a schedule needs at least one layer",
            "add a layer with members and a turn_length",
        ));
    }
    let mut layers: Vec<Layer> = Vec::new();
    for (i, l) in s.layers.iter().enumerate() {
        let lfield = format!("{field}.layers[{i}]");
        if let Some(first) = s.layers[..i].iter().position(|o| o.name == l.name) {
            return Err(ConfigError::invalid(
                format!("{lfield}.name"),
                format!("layer name {:?} is also used by layers[{first}]", l.name),
                "give every layer of a schedule its own name",
            ));
        }
        layers.push(layer(&lfield, l, tz, users)?);
    }
    check_hidden_layers(field, &layers)?;
    let mut overrides = Vec::new();
    for (i, o) in s.overrides.iter().enumerate() {
        let ofield = format!("{field}.overrides[{i}]");
        known_user(&format!("{ofield}.user"), &o.user, users)?;
        let start = instant(&format!("{ofield}.start"), &o.start, tz)?;
        let end = instant(&format!("{ofield}.end"), &o.end, tz)?;
        if end <= start {
            return Err(ConfigError::invalid(
                format!("{ofield}.end"),
                format!("end {} is not after start {}", o.end, o.start),
                "set end later than start",
            ));
        }
        overrides.push((
            i,
            Override {
                user: o.user.clone(),
                start,
                end,
                reason: o.reason.clone(),
            },
        ));
    }
    overrides.sort_by_key(|(_, o)| o.start);
    for pair in overrides.windows(2) {
        let ((a, first), (b, second)) = (&pair[0], &pair[1]);
        if second.start < first.end {
            let (a, b) = ((*a).min(*b), (*a).max(*b));
            return Err(ConfigError::invalid(
                format!("{field}.overrides[{b}]"),
                format!(
                    "overlaps overrides[{a}] (both cover {})",
                    second.start.to_rfc3339()
                ),
                "make overrides of one schedule cover disjoint times; to hand over mid-override, end the first where the second starts",
            ));
        }
    }
    Ok(Schedule {
        id: s.id.clone(),
        time_zone: tz,
        layers,
        overrides: overrides.into_iter().map(|(_, o)| o).collect(),
    })
}

fn instant(field: &str, s: &str, tz: Tz) -> Result<chrono::DateTime<chrono::Utc>> {
    parse_instant(s, tz).map_err(|problem| {
        ConfigError::invalid(
            field,
            problem,
            "write a local time in the schedule's zone (2026-11-02T09:00:00) or RFC 3339 (2026-11-02T08:00:00Z)",
        )
    })
}

/// A duration of at least `min` (a minute for turns; a second for escalation
/// delays, so tests and drills can escalate quickly) in whole seconds.
fn duration(field: &str, s: &str, what: &str, min: TimeDelta) -> Result<TimeDelta> {
    let d = parse_duration(s).map_err(|e| {
        ConfigError::invalid(
            field,
            e.to_string(),
            format!("write {what} like 12h, 1d or 1w"),
        )
    })?;
    let d = TimeDelta::from_std(d)
        .ok()
        .filter(|d| *d <= TimeDelta::days(3650))
        .ok_or_else(|| {
            ConfigError::invalid(field, format!("{s:?} is too long"), "use at most 3650d")
        })?;
    if d < min || d.subsec_nanos() != 0 {
        let (unit, short) = if min >= TimeDelta::minutes(1) {
            ("a minute", "1m")
        } else {
            ("a second", "1s")
        };
        return Err(ConfigError::invalid(
            field,
            format!("{what} {s:?} is shorter than {unit} or not whole seconds"),
            format!("use a {what} of at least {short} in whole seconds"),
        ));
    }
    Ok(d)
}

fn layer(field: &str, l: &LayerConfig, tz: Tz, users: &BTreeMap<String, User>) -> Result<Layer> {
    if l.name.trim().is_empty() {
        return Err(ConfigError::invalid(
            format!("{field}.name"),
            "empty layer name",
            "name the layer (e.g. weekdays, nights)",
        ));
    }
    let rotation_start = instant(&format!("{field}.rotation_start"), &l.rotation_start, tz)?;
    let rotation_end = match &l.rotation_end {
        None => None,
        Some(s) => {
            let end = instant(&format!("{field}.rotation_end"), s, tz)?;
            if end <= rotation_start {
                return Err(ConfigError::invalid(
                    format!("{field}.rotation_end"),
                    format!(
                        "rotation_end {s} is not after rotation_start {}",
                        l.rotation_start
                    ),
                    "set rotation_end later than rotation_start, or leave it out",
                ));
            }
            Some(end)
        }
    };
    let turn_length = duration(
        &format!("{field}.turn_length"),
        &l.turn_length,
        "turn length",
        TimeDelta::minutes(1),
    )?;
    let handoff_time = match &l.handoff_time {
        Some(s) => {
            let minutes = parse_hhmm(s, false).ok_or_else(|| {
                ConfigError::invalid(
                    format!("{field}.handoff_time"),
                    format!("{s:?} is not a time of day"),
                    "write it as HH:MM in 24-hour local time, e.g. \"09:00\" (quoted)",
                )
            })?;
            NaiveTime::from_num_seconds_from_midnight_opt(minutes * 60, 0).unwrap_or(NaiveTime::MIN)
        }
        None => local(tz, rotation_start)
            .time()
            .with_nanosecond(0)
            .unwrap_or(NaiveTime::MIN),
    };
    if l.members.is_empty() {
        return Err(ConfigError::invalid(
            format!("{field}.members"),
            "the layer has no members",
            "list at least one user id in members",
        ));
    }
    for (i, m) in l.members.iter().enumerate() {
        known_user(&format!("{field}.members[{i}]"), m, users)?;
    }
    let mut restrictions = Vec::new();
    for (i, r) in l.restrictions.iter().enumerate() {
        restrictions.push(restriction(&format!("{field}.restrictions[{i}]"), r)?);
    }
    for (b, rb) in restrictions.iter().enumerate() {
        let wb = rb.week_minutes();
        for (a, ra) in restrictions[..b].iter().enumerate() {
            if let Some(m) = ra
                .week_minutes()
                .iter()
                .zip(&wb)
                .position(|(x, y)| *x && *y)
            {
                return Err(ConfigError::invalid(
                    format!("{field}.restrictions[{b}]"),
                    format!("overlaps restrictions[{a}] (both cover {})", week_minute(m)),
                    "make the windows of one layer disjoint, or merge them into one",
                ));
            }
        }
    }
    Ok(Layer {
        name: l.name.clone(),
        rotation_start,
        rotation_end,
        turn_length,
        handoff_time,
        members: l.members.clone(),
        restrictions,
    })
}

fn restriction(field: &str, r: &RestrictionConfig) -> Result<Restriction> {
    let days = match &r.days {
        None => vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        Some(list) => {
            if list.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{field}.days"),
                    "empty list of days",
                    "list days like [mon, tue] or leave days out for every day",
                ));
            }
            let mut days = Vec::new();
            for (i, d) in list.iter().enumerate() {
                let day = parse_weekday(d).ok_or_else(|| {
                    ConfigError::invalid(
                        format!("{field}.days[{i}]"),
                        format!("{d:?} is not a day"),
                        "use mon, tue, wed, thu, fri, sat or sun",
                    )
                })?;
                if days.contains(&day) {
                    return Err(ConfigError::invalid(
                        format!("{field}.days[{i}]"),
                        format!("{d:?} is listed twice"),
                        "list each day once",
                    ));
                }
                days.push(day);
            }
            days
        }
    };
    let hhmm = |name: &str, s: &str, end: bool| {
        parse_hhmm(s, end).ok_or_else(|| {
            ConfigError::invalid(
                format!("{field}.{name}"),
                format!("{s:?} is not a time of day"),
                if end {
                    "write it as HH:MM in 24-hour local time (\"18:00\"), or \"24:00\" for midnight"
                } else {
                    "write it as HH:MM in 24-hour local time, e.g. \"09:00\""
                },
            )
        })
    };
    let start_minute = hhmm("start", &r.start, false)?;
    let end_minute = hhmm("end", &r.end, true)?;
    if start_minute == end_minute {
        return Err(ConfigError::invalid(
            format!("{field}.end"),
            format!(
                "end {} equals start {}: the window would be empty or the whole day",
                r.end, r.start
            ),
            "for a whole day write start \"00:00\", end \"24:00\" with the days; for no restriction leave restrictions out",
        ));
    }
    Ok(Restriction {
        days,
        start_minute,
        end_minute,
    })
}

fn week_minute(m: usize) -> String {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let day = DAYS.get(m / 1440).copied().unwrap_or("?");
    format!("{day} {:02}:{:02}", (m % 1440) / 60, m % 60)
}

/// Layers overlap by design (a later layer wins where it has someone on
/// call), but a layer that a later one covers completely, over all of its
/// dates and all of its weekly hours, can never have anyone on call: almost
/// always two layers meant to share the week that were written to overlap.
fn check_hidden_layers(field: &str, layers: &[Layer]) -> Result<()> {
    let coverage: Vec<Vec<bool>> = layers
        .iter()
        .map(|l| {
            let mut all = vec![l.restrictions.is_empty(); 7 * 1440];
            for r in &l.restrictions {
                for (c, x) in all.iter_mut().zip(r.week_minutes()) {
                    *c |= x;
                }
            }
            all
        })
        .collect();
    for (e, early) in layers.iter().enumerate() {
        for (l, late) in layers.iter().enumerate().skip(e + 1) {
            let dates_covered = late.rotation_start <= early.rotation_start
                && match (late.rotation_end, early.rotation_end) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(le), Some(ee)) => le >= ee,
                };
            let hours_covered = coverage[e]
                .iter()
                .zip(&coverage[l])
                .all(|(early_on, late_on)| !early_on || *late_on);
            if dates_covered && hours_covered {
                return Err(ConfigError::invalid(
                    format!("{field}.layers[{e}]"),
                    format!(
                        "layer {:?} is never on call: the later layer {:?} covers all its time, and later layers win",
                        early.name, late.name
                    ),
                    format!(
                        "give {:?} restrictions that leave {:?} its hours, end {:?} with rotation_end, or remove one of them",
                        late.name, early.name, late.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn policy(
    field: &str,
    p: &EscalationPolicyConfig,
    users: &BTreeMap<String, User>,
    schedules: &BTreeMap<String, Schedule>,
) -> Result<EscalationPolicy> {
    if p.repeat > MAX_REPEAT {
        return Err(ConfigError::invalid(
            format!("{field}.repeat"),
            format!("repeat {} is more than {MAX_REPEAT}", p.repeat),
            format!("use a repeat of at most {MAX_REPEAT}"),
        ));
    }
    if p.levels.is_empty() {
        return Err(ConfigError::invalid(
            format!("{field}.levels"),
            "the policy has no levels",
            "add a level with a delay and targets",
        ));
    }
    let mut levels = Vec::new();
    for (i, level) in p.levels.iter().enumerate() {
        let lfield = format!("{field}.levels[{i}]");
        let delay = duration(
            &format!("{lfield}.delay"),
            &level.delay,
            "delay",
            TimeDelta::seconds(1),
        )?;
        if level.targets.is_empty() {
            return Err(ConfigError::invalid(
                format!("{lfield}.targets"),
                "the level has no targets",
                "add {user: <id>} or {schedule: <id>} targets",
            ));
        }
        let mut targets = Vec::new();
        for (j, t) in level.targets.iter().enumerate() {
            let tfield = format!("{lfield}.targets[{j}]");
            let target = match (&t.user, &t.schedule) {
                (Some(u), None) => {
                    known_user(&format!("{tfield}.user"), u, users)?;
                    Target::User(u.clone())
                }
                (None, Some(s)) => {
                    if !schedules.contains_key(s) {
                        return Err(ConfigError::invalid(
                            format!("{tfield}.schedule"),
                            format!("unknown schedule {s:?}"),
                            "use the id of a schedule in oncall.schedules",
                        ));
                    }
                    Target::Schedule(s.clone())
                }
                _ => {
                    return Err(ConfigError::invalid(
                        tfield,
                        "a target needs exactly one of user or schedule",
                        "write {user: <id>} or {schedule: <id>}",
                    ));
                }
            };
            if targets.contains(&target) {
                return Err(ConfigError::invalid(
                    tfield,
                    "the same target is listed twice in this level",
                    "list each target once",
                ));
            }
            targets.push(target);
        }
        levels.push(EscalationLevel { delay, targets });
    }
    Ok(EscalationPolicy {
        id: p.id.clone(),
        repeat: p.repeat,
        levels,
    })
}
