//! Automation candidates: the manual actions repeated often enough that a
//! remediation policy should do them instead.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::entry::verb;
use crate::policy::draft_policy;
use crate::week::DAY_MS;
use homeostat_state::ToilEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateOptions {
    /// How far back from now to look.
    pub window_ms: i64,
    /// Fewest repetitions that make a candidate.
    pub min_count: usize,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        Self {
            window_ms: 30 * DAY_MS,
            min_count: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub service: Option<String>,
    pub team: Option<String>,
    pub kind: String,
    pub subject: String,
    pub count: usize,
    pub total_minutes: f64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    /// Who did it, sorted, each once.
    pub actors: Vec<String>,
    /// "silenced DiskFull on db-3 9 times in 30 days".
    pub sentence: String,
    /// A remediation policy to start from, as YAML; see [`draft_policy`].
    pub draft_policy: String,
}

/// Groups the entries in `(now_ms - window, now_ms]` by service, kind and
/// subject; a group repeated at least `min_count` times is a candidate.
/// Most repeated first, then most minutes, then by kind and subject so
/// that the order is stable.
pub fn candidates(entries: &[ToilEntry], now_ms: i64, opts: CandidateOptions) -> Vec<Candidate> {
    let since = now_ms - opts.window_ms;
    let mut groups: BTreeMap<(Option<&str>, &str, &str), Vec<&ToilEntry>> = BTreeMap::new();
    for e in entries
        .iter()
        .filter(|e| e.at_ms > since && e.at_ms <= now_ms)
    {
        groups
            .entry((e.service.as_deref(), e.kind.as_str(), e.subject.as_str()))
            .or_default()
            .push(e);
    }
    let days = (opts.window_ms + DAY_MS / 2) / DAY_MS;
    let mut out: Vec<Candidate> = groups
        .into_iter()
        .filter(|(_, es)| es.len() >= opts.min_count.max(1))
        .map(|((service, kind, subject), es)| {
            let mut actors: Vec<String> = es.iter().map(|e| e.actor.clone()).collect();
            actors.sort();
            actors.dedup();
            let sentence = format!("{} {subject} {} times in {days} days", verb(kind), es.len());
            Candidate {
                service: service.map(str::to_string),
                team: es.iter().find_map(|e| e.team.clone()),
                kind: kind.to_string(),
                subject: subject.to_string(),
                count: es.len(),
                total_minutes: es.iter().map(|e| e.minutes).sum(),
                first_at_ms: es.iter().map(|e| e.at_ms).min().unwrap_or(now_ms),
                last_at_ms: es.iter().map(|e| e.at_ms).max().unwrap_or(now_ms),
                actors,
                draft_policy: draft_policy(service, kind, subject, &sentence),
                sentence,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.total_minutes.total_cmp(&a.total_minutes))
            .then_with(|| (&a.kind, &a.subject, &a.service).cmp(&(&b.kind, &b.subject, &b.service)))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::kind;
    use homeostat_state::ToilSource as Source;

    fn at(kind: &str, service: &str, subject: &str, at_ms: i64, actor: &str) -> ToilEntry {
        ToilEntry {
            id: format!("{kind}-{at_ms}"),
            at_ms,
            actor: actor.into(),
            service: Some(service.into()),
            team: Some("storage".into()),
            kind: kind.into(),
            subject: subject.into(),
            minutes: 5.0,
            source: Source::Derived,
            detail: String::new(),
        }
    }

    #[test]
    fn repeated_actions_become_candidates_most_repeated_first() {
        let now = 40 * DAY_MS;
        let mut es = Vec::new();
        for i in 0..9 {
            es.push(at(
                kind::SILENCE,
                "db",
                "DiskFull on db-3",
                now - i * DAY_MS,
                if i % 2 == 0 { "ana" } else { "bo" },
            ));
        }
        for i in 0..3 {
            es.push(at(
                kind::ACK,
                "web",
                "HighLatency on web-1",
                now - i * DAY_MS,
                "ana",
            ));
        }
        // Twice only, and one more outside the window.
        es.push(at(kind::ACK, "db", "DiskFull on db-3", now, "ana"));
        es.push(at(kind::ACK, "db", "DiskFull on db-3", now - DAY_MS, "ana"));
        es.push(at(
            kind::ACK,
            "db",
            "DiskFull on db-3",
            now - 30 * DAY_MS,
            "ana",
        ));

        let got = candidates(&es, now, CandidateOptions::default());
        let sentences: Vec<_> = got.iter().map(|c| c.sentence.as_str()).collect();
        assert_eq!(
            sentences,
            [
                "silenced DiskFull on db-3 9 times in 30 days",
                "acknowledged HighLatency on web-1 3 times in 30 days"
            ]
        );
        assert_eq!(got[0].actors, ["ana", "bo"]);
        assert_eq!(got[0].total_minutes, 45.0);
        assert_eq!(got[0].first_at_ms, now - 8 * DAY_MS);
        assert!(
            got[0].draft_policy.contains("alertname=\"DiskFull\""),
            "{}",
            got[0].draft_policy
        );
    }

    #[test]
    fn ties_break_on_minutes() {
        let now = 10 * DAY_MS;
        let mut es = Vec::new();
        for i in 0..3 {
            es.push(at("a-kind", "x", "s", now - i, "ana"));
            let mut long = at("b-kind", "x", "s", now - i, "ana");
            long.minutes = 30.0;
            es.push(long);
        }
        let got = candidates(
            &es,
            now,
            CandidateOptions {
                window_ms: DAY_MS,
                min_count: 3,
            },
        );
        assert_eq!(
            got.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            ["b-kind", "a-kind"]
        );
        assert_eq!(got[0].sentence, "did b-kind for s 3 times in 1 days");
    }
}
