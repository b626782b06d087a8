//! The weighted choice of an endpoint: first a zone by its share, then an
//! endpoint of that zone by its weight. Pure: the caller passes which
//! endpoints are available and one uniform random number.

use std::collections::BTreeMap;

/// One endpoint as the picker sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub zone: &'a str,
    pub weight: u32,
    /// Healthy and not ejected.
    pub available: bool,
}

/// The index of the chosen candidate, or `None` when no available
/// endpoint has weight in a zone with a share. `r` is uniform in `[0, 1)`.
///
/// A zone without an entry in `zone_weights` weighs the sum of its
/// available endpoints' weights, so with no zone weights this is a plain
/// weighted choice among endpoints.
pub fn pick(
    cands: &[Candidate<'_>],
    zone_weights: &BTreeMap<String, u32>,
    r: f64,
) -> Option<usize> {
    // Zones in first-seen order, with the natural weight (available endpoints' sum).
    let mut zones: Vec<(&str, u64)> = Vec::with_capacity(4);
    for c in cands.iter().filter(|c| c.available && c.weight > 0) {
        match zones.iter_mut().find(|(z, _)| *z == c.zone) {
            Some((_, w)) => *w += u64::from(c.weight),
            None => zones.push((c.zone, u64::from(c.weight))),
        }
    }
    let share =
        |zone: &str, natural: u64| zone_weights.get(zone).map_or(natural, |w| u64::from(*w));
    let total: u64 = zones.iter().map(|(z, n)| share(z, *n)).sum();
    if total == 0 {
        return None;
    }
    let mut x = r.clamp(0.0, 1.0) * total as f64;
    let (zone, natural, zone_share) = zones
        .iter()
        .map(|(z, n)| (*z, *n, share(z, *n)))
        .filter(|(_, _, s)| *s > 0)
        .find(|(_, _, s)| {
            let hit = x < *s as f64;
            if !hit {
                x -= *s as f64;
            }
            hit
        })
        .or_else(|| {
            // Rounding at the top end: the last zone with a share.
            let last = zones.iter().rev().find(|(z, n)| share(z, *n) > 0)?;
            x = share(last.0, last.1) as f64 - f64::EPSILON;
            Some((last.0, last.1, share(last.0, last.1)))
        })?;
    let mut y = (x / zone_share as f64) * natural as f64;
    let mut last = None;
    for (i, c) in cands.iter().enumerate() {
        if !(c.available && c.weight > 0 && c.zone == zone) {
            continue;
        }
        last = Some(i);
        if y < f64::from(c.weight) {
            return Some(i);
        }
        y -= f64::from(c.weight);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(zone: &str, weight: u32) -> Candidate<'_> {
        Candidate {
            zone,
            weight,
            available: true,
        }
    }

    fn shares(cands: &[Candidate<'_>], zw: &BTreeMap<String, u32>) -> Vec<usize> {
        let mut n = vec![0; cands.len()];
        for i in 0..1000 {
            if let Some(k) = pick(cands, zw, f64::from(i) / 1000.0) {
                n[k] += 1;
            }
        }
        n
    }

    #[test]
    fn endpoint_weights_without_zone_weights() {
        let cands = [c("a", 1), c("a", 3), c("b", 4)];
        assert_eq!(shares(&cands, &BTreeMap::new()), vec![125, 375, 500]);
    }

    #[test]
    fn zone_weights_override_the_natural_share() {
        let cands = [c("a", 1), c("a", 1), c("b", 1)];
        let zw = BTreeMap::from([("a".to_string(), 0), ("b".to_string(), 100)]);
        assert_eq!(shares(&cands, &zw), vec![0, 0, 1000]);
        let zw = BTreeMap::from([("a".to_string(), 50), ("b".to_string(), 50)]);
        assert_eq!(shares(&cands, &zw), vec![250, 250, 500]);
    }

    #[test]
    fn unavailable_endpoints_are_skipped_and_none_when_nothing_left() {
        let mut cands = [c("a", 1), c("b", 1)];
        cands[0].available = false;
        assert_eq!(shares(&cands, &BTreeMap::new()), vec![0, 1000]);
        cands[1].available = false;
        assert_eq!(pick(&cands, &BTreeMap::new(), 0.5), None);
        let zw = BTreeMap::from([("a".to_string(), 100)]);
        let cands = [c("a", 0), c("b", 1)];
        assert_eq!(
            pick(&cands, &zw, 0.1),
            Some(1),
            "a zone with no weighted endpoint has no share"
        );
    }

    #[test]
    fn top_end_of_the_range_still_picks() {
        let cands = [c("a", 1), c("b", 1)];
        assert_eq!(pick(&cands, &BTreeMap::new(), 0.999_999_999), Some(1));
        assert_eq!(pick(&cands, &BTreeMap::new(), 1.0), Some(1));
    }
}
