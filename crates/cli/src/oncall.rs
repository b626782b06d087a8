//! `homeostat oncall who|shifts|validate`: answers from the `oncall:` section
//! of a homeostat config file, without a running server.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use homeostat_oncall::{
    LOOKAROUND, OnCall, Oncall, OncallConfig, Schedule, Shift, Source, parse_instant, shifts,
    who_is_on_call,
};

#[derive(Subcommand)]
pub enum OncallCommand {
    /// Who is on call on a schedule, now or at --at.
    Who {
        /// homeostat config file with an `oncall:` section.
        #[arg(long, env = "HOMEOSTAT_CONFIG")]
        config: PathBuf,
        /// Schedule id.
        #[arg(long)]
        schedule: String,
        /// RFC 3339, or local time in the schedule's zone
        /// (2026-12-01T09:00:00). Default: now.
        #[arg(long)]
        at: Option<String>,
    },
    /// The final schedule (overrides and layers applied) between two times.
    Shifts {
        /// homeostat config file with an `oncall:` section.
        #[arg(long, env = "HOMEOSTAT_CONFIG")]
        config: PathBuf,
        /// Schedule id.
        #[arg(long)]
        schedule: String,
        /// Start: RFC 3339, or local time in the schedule's zone.
        #[arg(long)]
        from: String,
        /// End, after --from; same formats.
        #[arg(long)]
        to: String,
    },
    /// Who is on call now on every schedule (or --schedule), and the next
    /// handoff, asked from a running server.
    Now {
        #[command(flatten)]
        server: crate::incident::Server,
        /// One schedule id; every schedule when left out.
        #[arg(long)]
        schedule: Option<String>,
    },
    /// Check the `oncall:` section; exits non-zero naming the field and the fix.
    Validate {
        /// homeostat config file with an `oncall:` section.
        #[arg(long, env = "HOMEOSTAT_CONFIG")]
        config: PathBuf,
    },
}

pub fn run(command: OncallCommand) -> anyhow::Result<()> {
    match command {
        OncallCommand::Now { server, schedule } => {
            crate::incident::oncall_now(&server, schedule.as_deref())
        }
        OncallCommand::Who {
            config,
            schedule,
            at,
        } => {
            let oncall = load(&config)?;
            let schedule = find(&oncall, &schedule)?;
            let at = match at {
                Some(s) => instant(schedule, &s, "--at")?,
                None => Utc::now(),
            };
            println!(
                "{}",
                describe(schedule, who_is_on_call(schedule, at).as_ref())
            );
            Ok(())
        }
        OncallCommand::Shifts {
            config,
            schedule,
            from,
            to,
        } => {
            let oncall = load(&config)?;
            let schedule = find(&oncall, &schedule)?;
            let from = instant(schedule, &from, "--from")?;
            let to = instant(schedule, &to, "--to")?;
            if to <= from {
                bail!("--to must be after --from");
            }
            print!("{}", table(schedule, &shifts(schedule, from, to)));
            Ok(())
        }
        OncallCommand::Validate { config } => {
            let oncall = load(&config)?;
            println!(
                "{}: {} users, {} schedules, {} escalation policies",
                config.display(),
                oncall.users.len(),
                oncall.schedules.len(),
                oncall.escalation_policies.len()
            );
            Ok(())
        }
    }
}

/// Only the `oncall:` key is read; the rest of the file belongs to other
/// parts of homeostat and is not checked here.
fn load(path: &Path) -> anyhow::Result<Oncall> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: serde_norway::Value = serde_norway::from_str(&text)
        .with_context(|| format!("{}: invalid YAML", path.display()))?;
    let Some(section) = doc.get("oncall") else {
        bail!(
            "{}: no oncall: section; fix: add one (see docs/oncall.md)",
            path.display()
        );
    };
    OncallConfig::from_yaml_value(section.clone())
        .and_then(|c| c.validate())
        .with_context(|| path.display().to_string())
}

fn find<'a>(oncall: &'a Oncall, id: &str) -> anyhow::Result<&'a Schedule> {
    match oncall.schedule(id) {
        Some(s) => Ok(s),
        None => {
            let known: Vec<&str> = oncall.schedules.keys().map(String::as_str).collect();
            bail!(
                "no schedule {id:?}; known schedules: {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        }
    }
}

fn instant(schedule: &Schedule, s: &str, flag: &str) -> anyhow::Result<DateTime<Utc>> {
    parse_instant(s, schedule.time_zone).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

fn local(schedule: &Schedule, t: DateTime<Utc>) -> String {
    t.with_timezone(&schedule.time_zone)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn source(s: &Source) -> String {
    match s {
        Source::Layer { name, .. } => format!("layer {name}"),
        Source::Override { reason: Some(r) } => format!("override: {r}"),
        Source::Override { reason: None } => "override".into(),
    }
}

/// `alice (layer weekdays, until 2026-12-07T09:00:00+01:00)` or `nobody`.
fn describe(schedule: &Schedule, on_call: Option<&OnCall>) -> String {
    let Some(o) = on_call else {
        return "nobody".into();
    };
    let until = match o.shift_end {
        Some(end) => format!("until {}", local(schedule, end)),
        None => format!("no handoff in the next {} days", LOOKAROUND.num_days()),
    };
    format!("{} ({}, {until})", o.user, source(&o.source))
}

fn table(schedule: &Schedule, shifts: &[Shift]) -> String {
    let rows: Vec<[String; 4]> = shifts
        .iter()
        .map(|s| {
            let sources: Vec<String> = s.sources.iter().map(source).collect();
            [
                local(schedule, s.start),
                local(schedule, s.end),
                s.user.clone(),
                sources.join(", "),
            ]
        })
        .collect();
    let mut t = crate::table::Table::new(["START", "END", "USER", "SOURCE"]);
    let empty = rows.is_empty();
    for row in rows {
        t.row(row);
    }
    let mut out = t.render();
    if empty {
        out.push_str("(nobody on call in this range)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
users: [{id: alice}, {id: bob}, {id: carol}]
schedules:
  - id: payments-primary
    time_zone: Europe/Berlin
    layers:
      - {name: weekdays, rotation_start: 2026-11-02T09:00:00, turn_length: 1w, members: [alice, bob]}
    overrides:
      - {user: carol, start: 2026-11-30T09:00:00Z, end: 2026-12-01T09:00:00Z, reason: swap}
"#;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn who_prints_the_user_source_and_local_end() {
        let oncall = Oncall::from_yaml_str(CONFIG).expect("valid");
        let s = find(&oncall, "payments-primary").expect("schedule");
        let who = |t: &str| describe(s, who_is_on_call(s, at(t)).as_ref());
        assert_eq!(
            who("2026-12-01T12:00:00Z"),
            "alice (layer weekdays, until 2026-12-07T09:00:00+01:00)"
        );
        assert_eq!(
            who("2026-11-30T12:00:00Z"),
            "carol (override: swap, until 2026-12-01T10:00:00+01:00)"
        );
        assert_eq!(who("2026-10-01T00:00:00Z"), "nobody");
        assert!(find(&oncall, "nope").is_err());
    }

    #[test]
    fn shifts_print_as_a_table_in_local_time() {
        let oncall = Oncall::from_yaml_str(CONFIG).expect("valid");
        let s = find(&oncall, "payments-primary").expect("schedule");
        let got = table(
            s,
            &shifts(s, at("2026-11-29T00:00:00Z"), at("2026-12-02T00:00:00Z")),
        );
        assert_eq!(
            got,
            "START                      END                        USER   SOURCE\n\
             2026-11-29T01:00:00+01:00  2026-11-30T09:00:00+01:00  bob    layer weekdays\n\
             2026-11-30T09:00:00+01:00  2026-11-30T10:00:00+01:00  alice  layer weekdays\n\
             2026-11-30T10:00:00+01:00  2026-12-01T10:00:00+01:00  carol  override: swap\n\
             2026-12-01T10:00:00+01:00  2026-12-02T01:00:00+01:00  alice  layer weekdays\n"
        );
    }
}
