//! The toil report over a seeded month, against a table computed by hand.

use std::collections::BTreeMap;

use homeostat_toil::{
    CandidateOptions, DAY_MS, DEFAULT_CAP, Shift, ToilEntry, ToilSource as Source, WEEK_MS,
    candidates, kind, weekly_shares,
};
use proptest::prelude::*;

/// Monday 2026-11-02 00:00 UTC; the month is the four weeks from there.
const MON: i64 = 1_793_577_600_000;
const H: i64 = 3_600_000;

struct Seed {
    entries: Vec<ToilEntry>,
}

impl Seed {
    fn add(
        &mut self,
        team: Option<&str>,
        service: &str,
        kind: &str,
        subject: &str,
        at_ms: i64,
        minutes: f64,
    ) {
        self.entries.push(ToilEntry {
            id: format!("e{}", self.entries.len()),
            at_ms,
            actor: if self.entries.len().is_multiple_of(2) {
                "ana"
            } else {
                "bo"
            }
            .into(),
            service: Some(service.into()),
            team: team.map(str::to_string),
            kind: kind.into(),
            subject: subject.into(),
            minutes,
            source: if kind == "disk-cleanup" {
                Source::Manual
            } else {
                Source::Derived
            },
            detail: String::new(),
        });
    }
}

/// Day `d` (0 = Monday 2026-11-02) at hour `h`.
fn at(d: i64, h: i64) -> i64 {
    MON + d * DAY_MS + h * H
}

fn month() -> (Vec<ToilEntry>, BTreeMap<String, Vec<Shift>>) {
    let mut s = Seed {
        entries: Vec::new(),
    };
    let storage = Some("storage");
    let web = Some("web");
    // Nine silences of DiskFull on db-3, three a week in weeks 1–3, 5 min each.
    for week in 0..3 {
        for d in [0, 2, 4] {
            s.add(
                storage,
                "db",
                kind::SILENCE,
                "DiskFull on db-3",
                at(week * 7 + d, 10),
                5.0,
            );
        }
    }
    // Disk cleanups logged by hand, 20 min each: one in week 1, four in week 4.
    s.add(storage, "db", "disk-cleanup", "db", at(1, 11), 20.0);
    for d in [21, 22, 23, 24] {
        s.add(storage, "db", "disk-cleanup", "db", at(d, 11), 20.0);
    }
    // Week 2: an incident on db, acked (5 min) and worked for 20 h.
    s.add(storage, "db", kind::ACK, "DiskFull on db-1", at(8, 9), 5.0);
    s.add(
        storage,
        "db",
        kind::INCIDENT_WORK,
        "incident 4: db down",
        at(8, 9),
        1200.0,
    );
    // Week 3: three acks of HighLatency on web-1.
    for d in [14, 15, 16] {
        s.add(
            web,
            "checkout",
            kind::ACK,
            "HighLatency on web-1",
            at(d, 3),
            5.0,
        );
    }
    // Week 4: two manual rollbacks (15 min each) and 10 h of incident work.
    s.add(
        web,
        "checkout",
        kind::MANUAL_ROLLBACK,
        "deploy v41",
        at(22, 13),
        15.0,
    );
    s.add(
        web,
        "checkout",
        kind::MANUAL_ROLLBACK,
        "deploy v42",
        at(23, 13),
        15.0,
    );
    s.add(
        web,
        "checkout",
        kind::INCIDENT_WORK,
        "incident 9: checkout errors",
        at(25, 1),
        600.0,
    );
    // A gate override on a service without a team (10 min), week 1.
    s.add(None, "batch", kind::OVERRIDE, "deploy b7", at(3, 16), 10.0);
    // Outside the month: the week before.
    s.add(
        storage,
        "db",
        kind::ACK,
        "DiskFull on db-3",
        MON - DAY_MS,
        5.0,
    );

    // storage: on call weekdays 09–17, 40 h a week.
    let storage_shifts = (0..4)
        .flat_map(|w| {
            (0..5).map(move |d| Shift {
                start_ms: at(w * 7 + d, 9),
                end_ms: at(w * 7 + d, 17),
            })
        })
        .collect();
    // web: around the clock in weeks 1–2 (168 h each), then one 20 h shift a week.
    let web_shifts = vec![
        Shift {
            start_ms: MON,
            end_ms: MON + 2 * WEEK_MS,
        },
        Shift {
            start_ms: at(14, 0),
            end_ms: at(14, 20),
        },
        Shift {
            start_ms: at(21, 0),
            end_ms: at(21, 20),
        },
    ];
    let oncall = BTreeMap::from([
        ("storage".to_string(), storage_shifts),
        ("web".to_string(), web_shifts),
    ]);
    (s.entries, oncall)
}

#[test]
fn seeded_month_report_matches_the_hand_computed_table() {
    let (entries, oncall) = month();
    let rows = weekly_shares(&entries, &oncall, MON, MON + 4 * WEEK_MS, DEFAULT_CAP);
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{:<10} w{} {:>7.3} {:>7.3} {:>7} {:>2}{}",
                r.team,
                (r.week_start_ms - MON) / WEEK_MS + 1,
                r.toil_hours,
                r.oncall_hours,
                r.share
                    .map_or("-".to_string(), |s| format!("{:.2}%", s * 100.0)),
                r.entries,
                if r.over_cap { " over" } else { "" },
            )
        })
        .collect();
    // Computed by hand from the seed above:
    //   storage w1: 3 silences × 5 + 1 cleanup × 20         =   35 min;  35/60/40
    //   storage w2: 3 × 5 + ack 5 + incident 1200           = 1220 min; 20.333/40 = 50.83 % > 50 %
    //   storage w3: 3 × 5                                   =   15 min
    //   storage w4: 4 × 20                                  =   80 min
    //   unassigned w1: override 10 min, no on-call time → no share
    //   web w1–w2: no toil, 168 h on call
    //   web w3: 3 acks × 5 = 15 min over 20 h               = 1.25 %
    //   web w4: 2 rollbacks × 15 + incident 600 = 630 min; 10.5/20 = 52.5 % > 50 %
    let want = [
        "storage    w1   0.583  40.000   1.46%  4",
        "storage    w2  20.333  40.000  50.83%  5 over",
        "storage    w3   0.250  40.000   0.62%  3",
        "storage    w4   1.333  40.000   3.33%  4",
        "unassigned w1   0.167   0.000       -  1",
        "unassigned w2   0.000   0.000       -  0",
        "unassigned w3   0.000   0.000       -  0",
        "unassigned w4   0.000   0.000       -  0",
        "web        w1   0.000 168.000   0.00%  0",
        "web        w2   0.000 168.000   0.00%  0",
        "web        w3   0.250  20.000   1.25%  3",
        "web        w4  10.500  20.000  52.50%  3 over",
    ];
    assert_eq!(got, want, "\n{}", got.join("\n"));
}

#[test]
fn seeded_month_automation_candidates() {
    let (entries, _) = month();
    let now = MON + 4 * WEEK_MS;
    let got = candidates(&entries, now, CandidateOptions::default());
    let table: Vec<_> = got
        .iter()
        .map(|c| {
            (
                c.sentence.as_str(),
                c.service.as_deref(),
                c.team.as_deref(),
                c.total_minutes,
            )
        })
        .collect();
    // The ack of DiskFull on db-3 the week before is within 30 days of
    // the month's end, but alone; rollbacks happened twice, incidents once.
    assert_eq!(
        table,
        [
            (
                "silenced DiskFull on db-3 9 times in 30 days",
                Some("db"),
                Some("storage"),
                45.0
            ),
            (
                "did disk-cleanup for db 5 times in 30 days",
                Some("db"),
                Some("storage"),
                100.0
            ),
            (
                "acknowledged HighLatency on web-1 3 times in 30 days",
                Some("checkout"),
                Some("web"),
                15.0
            ),
        ]
    );
    for c in &got {
        let doc: serde_norway::Value = serde_norway::from_str(&c.draft_policy)
            .unwrap_or_else(|e| panic!("{e}\n{}", c.draft_policy));
        let policy = &doc["remediation"]["policies"][0];
        assert_eq!(
            policy["dry_run"],
            serde_norway::Value::Bool(true),
            "{}",
            c.draft_policy
        );
        assert!(policy["actions"][0]["webhook"]["url"].is_string());
        assert!(policy["guardrails"]["cooldown"].is_string());
    }
    let first = &serde_norway::from_str::<serde_norway::Value>(&got[0].draft_policy)
        .unwrap_or_else(|e| panic!("{e}"))["remediation"]["policies"][0]["trigger"]["alert"];
    assert_eq!(
        serde_norway::to_string(first).unwrap_or_else(|e| panic!("{e}")),
        "- alertname=\"DiskFull\"\n- instance=\"db-3\"\n"
    );
}

proptest! {
    /// Every entry in range counts once, and a shift inside the range
    /// counts for its whole length, whichever weeks it crosses.
    #[test]
    fn hours_are_conserved(
        ats in proptest::collection::vec(0i64..4 * WEEK_MS, 0..40),
        minutes in 1u32..600,
        shift in (0i64..3 * WEEK_MS, 1i64..WEEK_MS),
    ) {
        let entries: Vec<ToilEntry> = ats.iter().enumerate().map(|(i, a)| ToilEntry {
            id: format!("e{i}"),
            at_ms: MON + a,
            actor: "ana".into(),
            service: None,
            team: Some(if i.is_multiple_of(2) { "a" } else { "b" }.into()),
            kind: kind::ACK.into(),
            subject: "x".into(),
            minutes: f64::from(minutes),
            source: Source::Derived,
            detail: String::new(),
        }).collect();
        let (start, len) = shift;
        let oncall = BTreeMap::from([("a".to_string(), vec![Shift { start_ms: MON + start, end_ms: MON + start + len }])]);
        let rows = weekly_shares(&entries, &oncall, MON, MON + 4 * WEEK_MS, DEFAULT_CAP);
        let toil: f64 = rows.iter().map(|r| r.toil_hours).sum();
        let on: f64 = rows.iter().map(|r| r.oncall_hours).sum();
        prop_assert!((toil - entries.len() as f64 * f64::from(minutes) / 60.0).abs() < 1e-6);
        prop_assert!((on - len as f64 / H as f64).abs() < 1e-6);
        prop_assert_eq!(rows.iter().map(|r| r.entries).sum::<usize>(), entries.len());
        for r in &rows {
            prop_assert_eq!(r.over_cap, r.share.is_some_and(|s| s > DEFAULT_CAP));
        }
    }
}
