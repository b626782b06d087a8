//! What one connection's stream does with a chunk of data under its toxics:
//! a pure translation from (toxics, chunk) to timed steps, so the rules are
//! testable without sockets. `link` runs the steps.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use tokio::time::Instant;

use crate::toxic::{Toxic, ToxicKind};

/// A toxic in a proxy's chain; `version` changes on every update so each
/// connection re-draws toxicity and restarts timers, as Toxiproxy restarts
/// a toxic's stub on update.
#[derive(Clone, Debug)]
pub(crate) struct ChainToxic {
    pub toxic: Toxic,
    pub version: u64,
}

/// How late a bandwidth-paced stream may come back and still keep its schedule.
const PACE_SLACK: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    SleepUntil(Instant),
    Sleep(Duration),
    Write(Bytes),
    /// Close the connection after what was written (limit_data).
    Close,
}

/// How a stream's pumping ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The source closed: close the destination's write side (after slow_close).
    Eof,
    /// Close the whole connection (limit_data reached, timeout expired).
    Close,
    /// Reset both sockets (reset_peer).
    Reset,
}

#[derive(Debug)]
struct Drawn {
    version: u64,
    active: bool,
    since: Instant,
    sent: u64,
    /// bandwidth: when the last piece's transmission time ends.
    paced_until: Option<Instant>,
}

/// One stream's view of its toxics on one connection: which apply (drawn by
/// toxicity), since when, and limit_data's byte count.
#[derive(Debug, Default)]
pub(crate) struct ConnToxics {
    drawn: HashMap<String, Drawn>,
}

impl ConnToxics {
    /// Draws new or updated toxics, forgets removed ones.
    pub fn reconcile(&mut self, chain: &[ChainToxic], now: Instant, rng: &mut impl Rng) {
        self.drawn
            .retain(|name, _| chain.iter().any(|c| &c.toxic.name == name));
        for c in chain {
            let fresh = match self.drawn.get(&c.toxic.name) {
                Some(d) => d.version != c.version,
                None => true,
            };
            if fresh {
                // random() is in [0, 1): toxicity 1 always applies, 0 never.
                let active = rng.random::<f32>() < c.toxic.toxicity;
                self.drawn.insert(
                    c.toxic.name.clone(),
                    Drawn {
                        version: c.version,
                        active,
                        since: now,
                        sent: 0,
                        paced_until: None,
                    },
                );
            }
        }
    }

    fn active<'a>(&self, chain: &'a [ChainToxic]) -> impl Iterator<Item = &'a ChainToxic> {
        chain
            .iter()
            .filter(|c| self.drawn.get(&c.toxic.name).is_some_and(|d| d.active))
    }

    /// The earliest timer of an applying timeout (> 0) or reset_peer toxic,
    /// with what happens when it fires.
    pub fn deadline(&self, chain: &[ChainToxic]) -> Option<(Instant, Outcome)> {
        let mut best: Option<(Instant, Outcome)> = None;
        for c in self.active(chain) {
            let since = self.drawn.get(&c.toxic.name).map(|d| d.since);
            let (Some(since), Some((ms, outcome))) = (since, timer_of(&c.toxic.kind)) else {
                continue;
            };
            let at = since + Duration::from_millis(ms);
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, outcome));
            }
        }
        best
    }

    /// How long an applying slow_close holds the close back.
    pub fn slow_close(&self, chain: &[ChainToxic]) -> Duration {
        self.active(chain)
            .filter_map(|c| match c.toxic.kind {
                ToxicKind::SlowClose { delay } => Some(Duration::from_millis(delay)),
                _ => None,
            })
            .max()
            .unwrap_or_default()
    }

    /// The steps for one chunk that arrived at `arrived` and is planned at
    /// `now`, toxics applied in chain order.
    pub fn plan(
        &mut self,
        chain: &[ChainToxic],
        data: Bytes,
        arrived: Instant,
        now: Instant,
        rng: &mut impl Rng,
    ) -> Vec<Step> {
        let mut ready = arrived;
        let mut steps = vec![Step::Write(data)];
        let active: Vec<&ChainToxic> = self.active(chain).collect();
        for c in active {
            match c.toxic.kind {
                ToxicKind::Latency { latency, jitter } => {
                    ready += jittered(latency, jitter, rng);
                }
                ToxicKind::Bandwidth { rate } if rate > 0 => {
                    if let Some(d) = self.drawn.get_mut(&c.toxic.name) {
                        // An absolute schedule, so timer rounding does not add up.
                        // A stream that kept sending goes on from where its
                        // schedule ended (making up for late timer wake-ups);
                        // one that paused starts afresh.
                        let from = d
                            .paced_until
                            .filter(|p| now.saturating_duration_since(*p) < PACE_SLACK)
                            .unwrap_or(now)
                            .max(ready);
                        let (paced, until) = bandwidth(steps, rate, from);
                        steps = paced;
                        d.paced_until = Some(until);
                    }
                }
                ToxicKind::Slicer {
                    average_size,
                    size_variation,
                    delay,
                } if average_size > 0 => {
                    steps = slice(steps, average_size, size_variation, delay, rng);
                }
                ToxicKind::LimitData { bytes } => {
                    if let Some(d) = self.drawn.get_mut(&c.toxic.name) {
                        steps = limit(steps, bytes, &mut d.sent);
                    }
                }
                // Toxiproxy's timeout drops the data on the floor while it applies.
                ToxicKind::Timeout { .. } => {
                    steps.retain(|s| !matches!(s, Step::Write(_)));
                }
                _ => {}
            }
        }
        if ready > arrived {
            steps.insert(0, Step::SleepUntil(ready));
        }
        steps
    }
}

fn timer_of(kind: &ToxicKind) -> Option<(u64, Outcome)> {
    match *kind {
        ToxicKind::Timeout { timeout } if timeout > 0 => Some((timeout, Outcome::Close)),
        ToxicKind::ResetPeer { timeout } => Some((timeout, Outcome::Reset)),
        _ => None,
    }
}

/// latency ± a uniform draw within jitter, never below zero.
fn jittered(latency: u64, jitter: u64, rng: &mut impl Rng) -> Duration {
    let ms = if jitter == 0 {
        latency as i64
    } else {
        latency as i64 + rng.random_range(-(jitter as i64)..=jitter as i64)
    };
    Duration::from_millis(ms.max(0) as u64)
}

/// Writes at most 100 ms worth of data at a time, each once the time it
/// takes at `rate` KB/s has passed (Toxiproxy's bandwidth toxic sleeps
/// before it sends). Returns the steps and when the last piece is due.
fn bandwidth(steps: Vec<Step>, rate_kbs: u64, mut at: Instant) -> (Vec<Step>, Instant) {
    let piece = (rate_kbs * 100).max(1) as usize;
    let mut out = Vec::with_capacity(steps.len());
    for s in steps {
        let Step::Write(mut b) = s else {
            out.push(s);
            continue;
        };
        while !b.is_empty() {
            let part = b.split_to(piece.min(b.len()));
            // bytes / (rate * 1000 B/s), in microseconds
            at += Duration::from_micros(part.len() as u64 * 1000 / rate_kbs);
            out.push(Step::SleepUntil(at));
            out.push(Step::Write(part));
        }
    }
    (out, at)
}

fn slice(steps: Vec<Step>, avg: u64, var: u64, delay_us: u64, rng: &mut impl Rng) -> Vec<Step> {
    let mut out = Vec::with_capacity(steps.len());
    for s in steps {
        let Step::Write(mut b) = s else {
            out.push(s);
            continue;
        };
        while !b.is_empty() {
            let size = if var == 0 {
                avg
            } else {
                let lo = avg.saturating_sub(var);
                rng.random_range(lo..=avg + var)
            }
            .max(1) as usize;
            let part = b.split_to(size.min(b.len()));
            out.push(Step::Write(part));
            if !b.is_empty() && delay_us > 0 {
                out.push(Step::Sleep(Duration::from_micros(delay_us)));
            }
        }
    }
    out
}

fn limit(steps: Vec<Step>, max: u64, sent: &mut u64) -> Vec<Step> {
    let mut out = Vec::with_capacity(steps.len() + 1);
    for s in steps {
        if *sent >= max {
            out.push(Step::Close);
            return out;
        }
        match s {
            Step::Write(mut b) => {
                let room = (max - *sent) as usize;
                if b.len() >= room {
                    b.truncate(room);
                    *sent = max;
                    if !b.is_empty() {
                        out.push(Step::Write(b));
                    }
                    out.push(Step::Close);
                    return out;
                }
                *sent += b.len() as u64;
                out.push(Step::Write(b));
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toxic::Stream;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn chain(kinds: &[(ToxicKind, f32)]) -> Vec<ChainToxic> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, (k, t))| ChainToxic {
                toxic: Toxic {
                    name: format!("t{i}"),
                    kind: k.clone(),
                    stream: Stream::Downstream,
                    toxicity: *t,
                },
                version: 1,
            })
            .collect()
    }

    fn writes(steps: &[Step]) -> Vec<usize> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Write(b) => Some(b.len()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn slicer_then_limit_closes_at_exactly_the_limit() {
        let mut rng = StdRng::seed_from_u64(1);
        let c = chain(&[
            (
                ToxicKind::Slicer {
                    average_size: 10,
                    size_variation: 0,
                    delay: 0,
                },
                1.0,
            ),
            (ToxicKind::LimitData { bytes: 25 }, 1.0),
        ]);
        let mut conn = ConnToxics::default();
        let now = Instant::now();
        conn.reconcile(&c, now, &mut rng);
        let steps = conn.plan(&c, Bytes::from(vec![0u8; 100]), now, now, &mut rng);
        assert_eq!(writes(&steps), vec![10, 10, 5]);
        assert_eq!(steps.last(), Some(&Step::Close));
    }

    #[test]
    fn toxicity_zero_never_applies_and_one_always_does() {
        let mut rng = StdRng::seed_from_u64(7);
        let c = chain(&[
            (ToxicKind::Timeout { timeout: 0 }, 0.0),
            (
                ToxicKind::Latency {
                    latency: 5,
                    jitter: 0,
                },
                1.0,
            ),
        ]);
        for _ in 0..100 {
            let mut conn = ConnToxics::default();
            let now = Instant::now();
            conn.reconcile(&c, now, &mut rng);
            let steps = conn.plan(&c, Bytes::from_static(b"x"), now, now, &mut rng);
            assert_eq!(steps[0], Step::SleepUntil(now + Duration::from_millis(5)));
            assert_eq!(writes(&steps), vec![1]);
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..1000 {
            let d = jittered(100, 20, &mut rng).as_millis();
            assert!((80..=120).contains(&d), "{d}");
        }
    }

    #[test]
    fn bandwidth_paces_100ms_pieces() {
        let t0 = Instant::now();
        let (steps, end) = bandwidth(vec![Step::Write(Bytes::from(vec![0u8; 2500]))], 10, t0);
        assert_eq!(writes(&steps), vec![1000, 1000, 500]);
        assert_eq!(steps[0], Step::SleepUntil(t0 + Duration::from_millis(100)));
        assert_eq!(end, t0 + Duration::from_millis(250));
    }

    #[test]
    fn an_updated_toxic_is_drawn_again_and_restarts_its_timer() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut c = chain(&[(ToxicKind::ResetPeer { timeout: 50 }, 1.0)]);
        let mut conn = ConnToxics::default();
        let t0 = Instant::now();
        conn.reconcile(&c, t0, &mut rng);
        assert_eq!(
            conn.deadline(&c),
            Some((t0 + Duration::from_millis(50), Outcome::Reset))
        );
        c[0].version = 2;
        let t1 = t0 + Duration::from_millis(10);
        conn.reconcile(&c, t1, &mut rng);
        assert_eq!(
            conn.deadline(&c),
            Some((t1 + Duration::from_millis(50), Outcome::Reset))
        );
    }
}
