//! Zone-aware traffic shift: when one zone's error ratio or latency on the
//! proxy crosses a threshold while others are healthy, move its share of
//! the traffic to the healthy zones one step at a time, and move it back in
//! steps once it has been healthy for a while.
//!
//! Pure: the caller passes each zone's readings, the state kept between
//! calls and the time. The rules:
//! - a shift needs at least one other zone judged healthy; when every zone
//!   with traffic is unhealthy nothing moves (that is a page, not a shift);
//! - no zone is given more than `max_zone_share` of the traffic, and when
//!   the cap stops a shift the reason says so;
//! - a zone without traffic is not judged;
//! - hysteresis: a sick zone counts as healthy again only below
//!   [`RECOVER_FRACTION`] of the thresholds, steps are `step_interval`
//!   apart, and traffic goes back only after `healthy_period` of unbroken
//!   health, so a zone that flaps loses traffic but does not win it back.
//!
//! A zone drained to a zero share has no traffic to judge, so it is given
//! a restore step on probation once `healthy_period` has passed since it
//! was last seen sick: the step's traffic judges it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A sick zone counts as healthy again only when its error ratio and
/// latency are below this fraction of the thresholds that made it sick.
pub const RECOVER_FRACTION: f64 = 0.8;

/// Shifted weights sum to this (basis points of the traffic), so that
/// quarter steps of a third stay exact enough whatever the original
/// weights were. Restoring in full gives back the original weights.
pub const WEIGHT_TOTAL: u32 = 10_000;

/// Shares closer than this count as equal (a hundredth of a basis point).
const EPSILON: f64 = 1e-6;

/// What the proxy's metrics say about one zone of a route.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneReading {
    pub zone: String,
    /// 5xx answers over all answers, 0 to 1.
    pub error_ratio: f64,
    pub p99_latency_s: Option<f64>,
    pub requests_per_s: f64,
    /// The zone's weight on the route now (its explicit zone weight, or the
    /// sum of its endpoints' weights without one).
    pub current_weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneShiftConfig {
    pub max_error_ratio: f64,
    pub max_latency_s: Option<f64>,
    /// Percent of the sick zone's original share moved per step (1 to 100).
    pub step_percent: u32,
    pub step_interval_ms: i64,
    /// The most of the traffic one zone may be given, 0 to 1.
    pub max_zone_share: f64,
    /// Unbroken health before traffic goes back to a zone.
    pub healthy_period_ms: i64,
    /// Percent of the zone's original share given back per step (1 to 100).
    pub restore_step_percent: u32,
}

/// What is kept between calls, per route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ZoneShiftState {
    /// The weights before the first step; `None` while nothing is shifted.
    pub original: Option<BTreeMap<String, u32>>,
    /// Zones held sick, with when each was last judged sick.
    pub sick: BTreeMap<String, i64>,
    /// When each zone's current healthy streak began.
    pub healthy_since: BTreeMap<String, i64>,
    pub last_step_ms: Option<i64>,
}

/// The outcome of one call: new weights to apply, or none, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneShiftDecision {
    pub weights: Option<BTreeMap<String, u32>>,
    pub reason: String,
}

impl ZoneShiftDecision {
    fn hold(reason: impl Into<String>) -> Self {
        Self {
            weights: None,
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Healthy,
    Sick,
    /// No traffic: not judged.
    Unjudged,
}

enum Judgement {
    Healthy,
    /// Over a threshold; the text says which.
    Sick(String),
    Unjudged,
}

/// Decides the next step for one route and updates `state`. Call it on
/// every evaluation, whether or not a step is due, so that health streaks
/// are tracked.
pub fn decide(
    readings: &[ZoneReading],
    config: &ZoneShiftConfig,
    state: &mut ZoneShiftState,
    now_ms: i64,
) -> ZoneShiftDecision {
    let total: u64 = readings.iter().map(|r| u64::from(r.current_weight)).sum();
    if readings.is_empty() || total == 0 {
        return ZoneShiftDecision::hold("no zone has weight: nothing to shift");
    }
    let shares: BTreeMap<&str, f64> = readings
        .iter()
        .map(|r| (r.zone.as_str(), f64::from(r.current_weight) / total as f64))
        .collect();
    let mut why_sick: BTreeMap<&str, String> = BTreeMap::new();
    let mut verdicts: BTreeMap<&str, Verdict> = BTreeMap::new();
    for r in readings {
        match judge(r, config, state.sick.contains_key(&r.zone)) {
            Judgement::Sick(why) => {
                state.sick.insert(r.zone.clone(), now_ms);
                state.healthy_since.remove(&r.zone);
                why_sick.insert(&r.zone, why);
                verdicts.insert(&r.zone, Verdict::Sick);
            }
            Judgement::Healthy => {
                state.sick.remove(&r.zone);
                state.healthy_since.entry(r.zone.clone()).or_insert(now_ms);
                verdicts.insert(&r.zone, Verdict::Healthy);
            }
            Judgement::Unjudged => {
                state.healthy_since.remove(&r.zone);
                // Probation for a zone drained to nothing: see the module doc.
                if let Some(&seen) = state.sick.get(&r.zone)
                    && shares[r.zone.as_str()] < EPSILON
                    && now_ms - seen >= config.healthy_period_ms
                {
                    state.sick.remove(&r.zone);
                    state.healthy_since.insert(r.zone.clone(), seen);
                }
                verdicts.insert(&r.zone, Verdict::Unjudged);
            }
        }
    }
    // Zones that left the route are forgotten.
    state.sick.retain(|z, _| shares.contains_key(z.as_str()));
    state
        .healthy_since
        .retain(|z, _| shares.contains_key(z.as_str()));

    let healthy: Vec<&str> = verdicts
        .iter()
        .filter(|(_, v)| **v == Verdict::Healthy)
        .map(|(z, _)| *z)
        .collect();
    let sick: Vec<&str> = state
        .sick
        .keys()
        .map(String::as_str)
        .filter(|z| verdicts.get(z) != Some(&Verdict::Healthy))
        .collect();
    if !sick.is_empty() && healthy.is_empty() {
        return ZoneShiftDecision::hold(format!(
            "zones {} unhealthy and none healthy: that is a page, not a shift",
            sick.join(", ")
        ));
    }
    if let Some(last) = state.last_step_ms
        && now_ms - last < config.step_interval_ms
    {
        return ZoneShiftDecision::hold(format!(
            "last step {} ms ago, next after {} ms",
            now_ms - last,
            config.step_interval_ms
        ));
    }
    let original = match &state.original {
        Some(o) => o.clone(),
        None => readings
            .iter()
            .map(|r| (r.zone.clone(), r.current_weight))
            .collect(),
    };
    let orig_total: u64 = original.values().map(|w| u64::from(*w)).sum();
    let orig_share = |z: &str| -> f64 {
        original
            .get(z)
            .map_or(0.0, |w| f64::from(*w) / orig_total.max(1) as f64)
    };
    let mut next: BTreeMap<&str, f64> = shares.clone();

    if !sick.is_empty() {
        let mut moved_from = Vec::new();
        let mut capped = false;
        for z in &sick {
            let step = orig_share(z) * f64::from(config.step_percent) / 100.0;
            let want = step.min(next[z]);
            if want < EPSILON {
                continue;
            }
            let placed = place(
                &mut next,
                &healthy,
                want,
                config.max_zone_share,
                &orig_share,
            );
            capped |= placed + EPSILON < want;
            if placed >= EPSILON {
                if let Some(s) = next.get_mut(z) {
                    *s -= placed;
                }
                moved_from.push(*z);
            }
        }
        let why = sick
            .iter()
            .map(|z| {
                let w = why_sick
                    .get(z)
                    .cloned()
                    .unwrap_or_else(|| "held sick, not judged without traffic".into());
                format!("zone {z}: {w}")
            })
            .collect::<Vec<_>>()
            .join("; ");
        let cap_note = format!(
            "{} at the {} cap",
            healthy
                .iter()
                .filter(|z| next[*z] + EPSILON >= config.max_zone_share)
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            pct(config.max_zone_share)
        );
        if moved_from.is_empty() {
            let what = if capped {
                format!("no shift: {cap_note}")
            } else {
                "no shift: nothing left to move".to_string()
            };
            return ZoneShiftDecision::hold(format!(
                "{why} while {} healthy; {what}",
                healthy.join(", ")
            ));
        }
        let moves = moved_from
            .iter()
            .map(|z| format!("{z} {} → {}", pct(shares[z]), pct(next[z])))
            .collect::<Vec<_>>()
            .join(", ");
        let mut reason = format!(
            "{why} while {} healthy; share {moves}, shared to {} ({})",
            healthy.join(", "),
            healthy.join(", "),
            share_list(&next)
        );
        if capped {
            reason.push_str(&format!("; shift stopped short: {cap_note}"));
        }
        state.original = Some(original);
        state.last_step_ms = Some(now_ms);
        return ZoneShiftDecision {
            weights: Some(to_weights(&next)),
            reason,
        };
    }

    // Everyone is healthy: give traffic back to zones below their original
    // share that have been healthy long enough, taken from zones above it.
    if state.original.is_none() {
        return ZoneShiftDecision::hold("all zones healthy; nothing shifted");
    }
    let ready: Vec<&str> = shares
        .keys()
        .copied()
        .filter(|z| next[z] + EPSILON < orig_share(z))
        .filter(|z| {
            state
                .healthy_since
                .get(*z)
                .is_some_and(|s| now_ms - s >= config.healthy_period_ms)
        })
        .collect();
    let waiting: Vec<&str> = shares
        .keys()
        .copied()
        .filter(|z| next[z] + EPSILON < orig_share(z) && !ready.contains(z))
        .collect();
    if ready.is_empty() {
        if waiting.is_empty() {
            // Nobody below the original: the shift is over.
            let weights = original.clone();
            state.original = None;
            state.last_step_ms = Some(now_ms);
            return ZoneShiftDecision {
                weights: Some(weights),
                reason: "all zones healthy; original weights restored".into(),
            };
        }
        return ZoneShiftDecision::hold(format!(
            "zones {} healthy for less than {} ms; not shifting back yet",
            waiting.join(", "),
            config.healthy_period_ms
        ));
    }
    let mut moves = Vec::new();
    for z in &ready {
        let step = orig_share(z) * f64::from(config.restore_step_percent) / 100.0;
        let want = step.min(orig_share(z) - next[z]);
        let donors: Vec<(&str, f64)> = next
            .iter()
            .map(|(d, s)| (*d, s - orig_share(d)))
            .filter(|(_, excess)| *excess > EPSILON)
            .collect();
        let excess: f64 = donors.iter().map(|(_, e)| e).sum();
        let take = want.min(excess);
        for (d, e) in donors {
            if let Some(s) = next.get_mut(d) {
                *s -= take * e / excess;
            }
        }
        if let Some(s) = next.get_mut(z) {
            moves.push(format!("{z} {} → {}", pct(*s), pct(*s + take)));
            *s += take;
        }
    }
    state.last_step_ms = Some(now_ms);
    let done = next
        .iter()
        .all(|(z, s)| (s - orig_share(z)).abs() < EPSILON);
    if done {
        state.original = None;
        return ZoneShiftDecision {
            weights: Some(original),
            reason: format!(
                "zones {} healthy for {} ms; share {}: original weights restored",
                ready.join(", "),
                config.healthy_period_ms,
                moves.join(", ")
            ),
        };
    }
    ZoneShiftDecision {
        weights: Some(to_weights(&next)),
        reason: format!(
            "zones {} healthy for {} ms; share {} ({})",
            ready.join(", "),
            config.healthy_period_ms,
            moves.join(", "),
            share_list(&next)
        ),
    }
}

fn judge(r: &ZoneReading, c: &ZoneShiftConfig, was_sick: bool) -> Judgement {
    if r.requests_per_s.is_nan() || r.requests_per_s <= 0.0 {
        return Judgement::Unjudged;
    }
    // Hysteresis: a sick zone must come well under the thresholds.
    let f = if was_sick { RECOVER_FRACTION } else { 1.0 };
    let err_limit = c.max_error_ratio * f;
    if r.error_ratio > err_limit || r.error_ratio.is_nan() {
        return Judgement::Sick(format!(
            "error ratio {} > {}",
            num(r.error_ratio),
            num(err_limit)
        ));
    }
    if let (Some(lat), Some(max)) = (r.p99_latency_s, c.max_latency_s)
        && lat > max * f
    {
        return Judgement::Sick(format!("p99 latency {}s > {}s", num(lat), num(max * f)));
    }
    Judgement::Healthy
}

/// Moves up to `amount` of share onto `to`, in proportion to their original
/// shares, none above `cap`; returns how much was placed.
fn place(
    next: &mut BTreeMap<&str, f64>,
    to: &[&str],
    amount: f64,
    cap: f64,
    orig_share: &dyn Fn(&str) -> f64,
) -> f64 {
    let mut left = amount;
    // Each round fills every open zone proportionally; a zone that hits
    // the cap closes and the rest is spread again over the others.
    for _ in 0..=to.len() {
        let open: Vec<&str> = to
            .iter()
            .copied()
            .filter(|z| next[z] + EPSILON < cap)
            .collect();
        if open.is_empty() || left < EPSILON {
            break;
        }
        let weight: f64 = open.iter().map(|z| orig_share(z).max(EPSILON)).sum();
        let mut placed = 0.0;
        for z in open {
            let portion = left * orig_share(z).max(EPSILON) / weight;
            if let Some(s) = next.get_mut(z) {
                let add = portion.min(cap - *s);
                *s += add;
                placed += add;
            }
        }
        left -= placed;
    }
    amount - left.max(0.0)
}

/// Shares as integer weights summing to [`WEIGHT_TOTAL`], by largest
/// remainder so that the sum is exact.
fn to_weights(shares: &BTreeMap<&str, f64>) -> BTreeMap<String, u32> {
    let sum: f64 = shares.values().map(|s| s.max(0.0)).sum();
    let scaled: Vec<(&str, f64)> = shares
        .iter()
        .map(|(z, s)| (*z, s.max(0.0) / sum * f64::from(WEIGHT_TOTAL)))
        .collect();
    let mut out: BTreeMap<String, u32> = scaled
        .iter()
        .map(|(z, x)| ((*z).to_string(), x.floor() as u32))
        .collect();
    let given: u32 = out.values().sum();
    let mut by_rem = scaled.clone();
    by_rem.sort_by(|a, b| (b.1 - b.1.floor()).total_cmp(&(a.1 - a.1.floor())));
    for (z, _) in by_rem
        .iter()
        .take(WEIGHT_TOTAL.saturating_sub(given) as usize)
    {
        if let Some(w) = out.get_mut(*z) {
            *w += 1;
        }
    }
    out
}

fn share_list(shares: &BTreeMap<&str, f64>) -> String {
    shares
        .iter()
        .map(|(z, s)| format!("{z} {}", pct(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A share as a percent with at most one decimal: `37.5 %`, `25 %`.
fn pct(share: f64) -> String {
    format!("{} %", num((share * 1000.0).round() / 10.0))
}

fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use homeostat_model::{Clock, FakeClock};
    use proptest::prelude::*;

    use super::*;

    const SEC: i64 = 1000;

    fn config() -> ZoneShiftConfig {
        ZoneShiftConfig {
            max_error_ratio: 0.05,
            max_latency_s: Some(1.0),
            step_percent: 25,
            step_interval_ms: 60 * SEC,
            max_zone_share: 0.7,
            healthy_period_ms: 300 * SEC,
            restore_step_percent: 50,
        }
    }

    /// A route and its balancer on a fake clock: `tick` reads the zones'
    /// error ratios (`None` = no traffic), decides and applies the weights.
    struct Sim {
        clock: FakeClock,
        config: ZoneShiftConfig,
        state: ZoneShiftState,
        weights: BTreeMap<String, u32>,
    }

    impl Sim {
        fn new(weights: &[(&str, u32)]) -> Self {
            Self {
                clock: FakeClock::new(1_000_000),
                config: config(),
                state: ZoneShiftState::default(),
                weights: weights.iter().map(|(z, w)| ((*z).into(), *w)).collect(),
            }
        }

        fn tick(&mut self, errors: &[(&str, Option<f64>)]) -> ZoneShiftDecision {
            let readings: Vec<ZoneReading> = errors
                .iter()
                .map(|(z, e)| ZoneReading {
                    zone: (*z).into(),
                    error_ratio: e.unwrap_or(0.0),
                    p99_latency_s: Some(0.1),
                    requests_per_s: if e.is_some() { 10.0 } else { 0.0 },
                    current_weight: self.weights[*z],
                })
                .collect();
            let d = decide(
                &readings,
                &self.config,
                &mut self.state,
                self.clock.now_millis(),
            );
            if let Some(w) = &d.weights {
                self.weights = w.clone();
            }
            self.clock.advance(60 * SEC);
            d
        }

        fn share(&self, z: &str) -> f64 {
            let total: u32 = self.weights.values().sum();
            f64::from(self.weights[z]) / f64::from(total)
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn three_zones_one_sick_shifts_a_quarter_per_step() {
        let mut sim = Sim::new(&[("a", 100), ("b", 100), ("c", 100)]);
        let d = sim.tick(&[("a", Some(0.0)), ("b", Some(0.31)), ("c", Some(0.01))]);
        assert_eq!(
            d.reason,
            "zone b: error ratio 0.31 > 0.05 while a, c healthy; share b 33.3 % → 25 %, \
             shared to a, c (a 37.5 %, b 25 %, c 37.5 %)"
        );
        assert!(close(sim.share("b"), 0.25));
        // Three more steps drain b; then there is nothing left to move.
        for _ in 0..3 {
            assert!(
                sim.tick(&[("a", Some(0.0)), ("b", Some(0.31)), ("c", Some(0.0))])
                    .weights
                    .is_some()
            );
        }
        assert_eq!(sim.weights["b"], 0);
        assert!(close(sim.share("a"), 0.5) && close(sim.share("c"), 0.5));
        let d = sim.tick(&[("a", Some(0.0)), ("b", None), ("c", Some(0.0))]);
        assert_eq!(d.weights, None);
        assert!(d.reason.contains("nothing left to move"), "{}", d.reason);
    }

    #[test]
    fn latency_over_the_limit_is_sick_too() {
        let mut sim = Sim::new(&[("a", 1), ("b", 1)]);
        let mut readings = vec![
            ZoneReading {
                zone: "a".into(),
                error_ratio: 0.0,
                p99_latency_s: Some(2.5),
                requests_per_s: 5.0,
                current_weight: 1,
            },
            ZoneReading {
                zone: "b".into(),
                error_ratio: 0.0,
                p99_latency_s: None,
                requests_per_s: 5.0,
                current_weight: 1,
            },
        ];
        let d = decide(&readings, &sim.config, &mut sim.state, 0);
        assert!(
            d.reason.starts_with("zone a: p99 latency 2.5s > 1s"),
            "{}",
            d.reason
        );
        assert_eq!(
            d.weights,
            Some(BTreeMap::from([("a".into(), 3750), ("b".into(), 6250)]))
        );
        // Without a latency limit, latency is not judged.
        sim.config.max_latency_s = None;
        readings[0].current_weight = 3750;
        readings[1].current_weight = 6250;
        let d = decide(&readings, &sim.config, &mut ZoneShiftState::default(), 0);
        assert_eq!(d.weights, None);
    }

    #[test]
    fn two_zones_stop_at_the_capacity_cap() {
        let mut sim = Sim::new(&[("a", 50), ("b", 50)]);
        let sick = [("a", Some(0.0)), ("b", Some(0.5))];
        assert!(sim.tick(&sick).weights.is_some());
        assert!(close(sim.share("a"), 0.625));
        let d = sim.tick(&sick);
        assert!(close(sim.share("a"), 0.7), "{:?}", sim.weights);
        assert!(
            d.reason.ends_with("shift stopped short: a at the 70 % cap"),
            "{}",
            d.reason
        );
        let d = sim.tick(&sick);
        assert_eq!(d.weights, None);
        assert!(
            d.reason.ends_with("no shift: a at the 70 % cap"),
            "{}",
            d.reason
        );
        assert!(close(sim.share("b"), 0.3));
    }

    #[test]
    fn all_sick_is_a_page_not_a_shift() {
        let mut sim = Sim::new(&[("a", 1), ("b", 1), ("c", 1)]);
        let d = sim.tick(&[("a", Some(0.2)), ("b", Some(0.3)), ("c", Some(0.9))]);
        assert_eq!(d.weights, None);
        assert_eq!(
            d.reason,
            "zones a, b, c unhealthy and none healthy: that is a page, not a shift"
        );
        // A zone without traffic is neither sick nor a healthy destination.
        let d = sim.tick(&[("a", Some(0.2)), ("b", None), ("c", None)]);
        assert_eq!(d.weights, None);
        assert!(d.reason.contains("that is a page"), "{}", d.reason);
    }

    #[test]
    fn zones_without_traffic_are_not_judged() {
        let mut sim = Sim::new(&[("a", 1), ("b", 1)]);
        let d = sim.tick(&[("a", None), ("b", None)]);
        assert_eq!(d.weights, None);
        assert_eq!(d.reason, "all zones healthy; nothing shifted");
        let readings = [ZoneReading {
            zone: "a".into(),
            error_ratio: 1.0,
            p99_latency_s: Some(9.0),
            requests_per_s: 0.0,
            current_weight: 1,
        }];
        let mut state = ZoneShiftState::default();
        decide(&readings, &sim.config, &mut state, 0);
        assert!(state.sick.is_empty());
    }

    #[test]
    fn recovery_shifts_back_gradually_after_the_healthy_period() {
        let mut sim = Sim::new(&[("a", 100), ("b", 100), ("c", 100)]);
        let sick = [("a", Some(0.0)), ("b", Some(0.31)), ("c", Some(0.0))];
        let well = [("a", Some(0.0)), ("b", Some(0.0)), ("c", Some(0.0))];
        sim.tick(&sick);
        sim.tick(&sick);
        assert!(close(sim.share("b"), 1.0 / 6.0));
        // Five minutes of health before anything goes back.
        for _ in 0..5 {
            let d = sim.tick(&well);
            assert_eq!(d.weights, None, "{}", d.reason);
            assert!(
                d.reason.contains("b healthy for less than 300000 ms"),
                "{}",
                d.reason
            );
        }
        // A quarter of b's original share per step, a step a minute.
        sim.config.restore_step_percent = 25;
        let d = sim.tick(&well);
        assert!(
            d.reason
                .starts_with("zones b healthy for 300000 ms; share b 16.7 % → 25 %"),
            "{}",
            d.reason
        );
        assert!(close(sim.share("a"), 0.375) && close(sim.share("b"), 0.25));
        // A relapse while going back drains again and resets the streak.
        let d = sim.tick(&sick);
        assert!(!sim.state.healthy_since.contains_key("b"));
        assert!(close(sim.share("b"), 1.0 / 6.0), "{}", d.reason);
        for _ in 0..5 {
            assert_eq!(sim.tick(&well).weights, None);
        }
        sim.tick(&well);
        let d = sim.tick(&well);
        assert!(
            d.reason.ends_with("original weights restored"),
            "{}",
            d.reason
        );
        // Restored in full: the original weights come back as they were.
        assert_eq!(
            sim.weights,
            BTreeMap::from([("a".into(), 100), ("b".into(), 100), ("c".into(), 100)])
        );
        assert_eq!(sim.state.original, None);
        assert_eq!(sim.tick(&well).weights, None);
    }

    #[test]
    fn a_drained_zone_gets_a_probation_step_and_is_judged_by_it() {
        let mut sim = Sim::new(&[("a", 1), ("b", 1), ("c", 1)]);
        for _ in 0..4 {
            sim.tick(&[("a", Some(0.0)), ("b", Some(0.5)), ("c", Some(0.0))]);
        }
        assert_eq!(sim.weights["b"], 0);
        let drained = [("a", Some(0.0)), ("b", None), ("c", Some(0.0))];
        for _ in 0..4 {
            assert_eq!(sim.tick(&drained).weights, None);
        }
        // Five minutes after b was last seen sick it gets half its share back.
        let d = sim.tick(&drained);
        assert!(close(sim.share("b"), 1.0 / 6.0), "{}", d.reason);
        // Still sick: it is drained again, a step at a time.
        let d = sim.tick(&[("a", Some(0.0)), ("b", Some(0.5)), ("c", Some(0.0))]);
        assert!(close(sim.share("b"), 1.0 / 12.0), "{}", d.reason);
    }

    #[test]
    fn a_flapping_zone_loses_traffic_but_does_not_win_it_back() {
        let mut sim = Sim::new(&[("a", 100), ("b", 100), ("c", 100)]);
        for i in 0..20 {
            let e = if i % 3 == 0 { 0.2 } else { 0.01 };
            sim.tick(&[("a", Some(0.0)), ("b", Some(e)), ("c", Some(0.0))]);
        }
        assert_eq!(sim.weights["b"], 0, "{:?}", sim.weights);
    }

    #[test]
    fn hysteresis_keeps_a_zone_sick_until_well_below_the_threshold() {
        let mut sim = Sim::new(&[("a", 1), ("b", 1)]);
        sim.tick(&[("a", Some(0.0)), ("b", Some(0.06))]);
        // 0.045 is under 0.05 but over 0.8 × 0.05: still sick.
        let d = sim.tick(&[("a", Some(0.0)), ("b", Some(0.045))]);
        assert!(
            d.reason.starts_with("zone b: error ratio 0.045 > 0.04"),
            "{}",
            d.reason
        );
        sim.tick(&[("a", Some(0.0)), ("b", Some(0.03))]);
        assert!(sim.state.sick.is_empty());
        assert!(sim.state.healthy_since.contains_key("b"));
    }

    #[test]
    fn steps_wait_for_the_step_interval() {
        let mut sim = Sim::new(&[("a", 1), ("b", 1)]);
        let readings = |wa, wb| {
            vec![
                ZoneReading {
                    zone: "a".into(),
                    error_ratio: 0.0,
                    p99_latency_s: None,
                    requests_per_s: 1.0,
                    current_weight: wa,
                },
                ZoneReading {
                    zone: "b".into(),
                    error_ratio: 0.5,
                    p99_latency_s: None,
                    requests_per_s: 1.0,
                    current_weight: wb,
                },
            ]
        };
        assert!(
            decide(&readings(1, 1), &sim.config, &mut sim.state, 0)
                .weights
                .is_some()
        );
        let d = decide(&readings(6250, 3750), &sim.config, &mut sim.state, 30 * SEC);
        assert_eq!(d.reason, "last step 30000 ms ago, next after 60000 ms");
        assert!(
            decide(&readings(6250, 3750), &sim.config, &mut sim.state, 60 * SEC)
                .weights
                .is_some()
        );
    }

    /// Zones as (weight, error ratio when sick, has traffic), the cap, the
    /// step percent, and per tick a bit mask of which zones are sick.
    type Case = (Vec<(u32, f64, bool)>, f64, u32, Vec<u8>);

    fn arb_case() -> impl Strategy<Value = Case> {
        (
            prop::collection::vec((0u32..1000, 0.0f64..1.0, any::<bool>()), 1..6),
            0.2f64..1.0,
            1u32..=100,
            prop::collection::vec(0u8..=255, 1..12),
        )
    }

    proptest! {
        /// Over a run of random readings: the weights always have a
        /// positive sum (shares sum to 1), and no step puts a zone above
        /// the cap unless it already was above it.
        #[test]
        fn weights_stay_valid((zones, cap, step, ticks) in arb_case()) {
            prop_assume!(zones.iter().any(|z| z.0 > 0));
            let mut cfg = config();
            cfg.max_zone_share = cap;
            cfg.step_percent = step;
            cfg.healthy_period_ms = 2 * SEC;
            cfg.step_interval_ms = SEC;
            let mut weights: Vec<u32> = zones.iter().map(|z| z.0).collect();
            let total0: u32 = weights.iter().sum();
            let original: Vec<f64> = weights.iter().map(|w| f64::from(*w) / f64::from(total0)).collect();
            let mut state = ZoneShiftState::default();
            for (t, seed) in ticks.iter().enumerate() {
                let total: u32 = weights.iter().sum();
                let before: Vec<f64> = weights.iter().map(|w| f64::from(*w) / f64::from(total)).collect();
                let readings: Vec<ZoneReading> = zones.iter().enumerate().map(|(i, z)| ZoneReading {
                    zone: format!("z{i}"),
                    error_ratio: if (seed >> (i % 8)) & 1 == 1 { z.1 } else { 0.0 },
                    p99_latency_s: None,
                    requests_per_s: if z.2 { 1.0 } else { 0.0 },
                    current_weight: weights[i],
                }).collect();
                let d = decide(&readings, &cfg, &mut state, t as i64 * SEC);
                if let Some(w) = d.weights {
                    weights = (0..zones.len()).map(|i| w[&format!("z{i}")]).collect();
                    let total: u32 = weights.iter().sum();
                    prop_assert!(total > 0, "{}", d.reason);
                    let shares: Vec<f64> = weights.iter().map(|w| f64::from(*w) / f64::from(total)).collect();
                    prop_assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                    // Above the cap only if it was already, or is given back its own.
                    for ((s, b), o) in shares.iter().zip(&before).zip(&original) {
                        prop_assert!(*s >= 0.0);
                        prop_assert!(*s <= cap.max(*b).max(*o) + 2e-4, "{s} > {cap}: {}", d.reason);
                    }
                }
            }
        }

        /// Nothing moves when no zone with traffic is healthy, nor when
        /// every zone is.
        #[test]
        fn no_shift_without_a_sick_and_a_healthy_zone(
            weights in prop::collection::vec(1u32..1000, 1..6),
            all_sick in any::<bool>(),
        ) {
            let readings: Vec<ZoneReading> = weights.iter().enumerate().map(|(i, w)| ZoneReading {
                zone: format!("z{i}"),
                error_ratio: if all_sick { 0.5 } else { 0.0 },
                p99_latency_s: Some(0.1),
                requests_per_s: 1.0,
                current_weight: *w,
            }).collect();
            let d = decide(&readings, &config(), &mut ZoneShiftState::default(), 0);
            prop_assert_eq!(d.weights, None);
        }
    }
}
