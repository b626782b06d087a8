//! `traffic.routes[].zone_balance`: the zone-aware traffic shift of a route
//! (docs/traffic.md), validated into [`homeostat_app::ZoneBalance`].

use homeostat_app::ZoneBalance;
use homeostat_model::FieldError;
use homeostat_remediation::zone_shift::ZoneShiftConfig;
use serde::Deserialize;

use super::{TrafficSection, duration_or, positive_duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneBalanceSection {
    /// A zone whose 5xx and gateway failures over its requests exceed this is sick.
    pub max_error_ratio: f64,
    /// A zone whose p99 latency exceeds this is sick; latency is not judged without it.
    pub max_latency: Option<String>,
    /// Percent of a sick zone's original share moved per step. Default 25.
    pub step_percent: Option<u32>,
    /// Time between two steps. Default 1m.
    pub step_interval: Option<String>,
    /// The most of the traffic one zone may be given, above 0 and at most 1. Default 0.7.
    pub max_zone_share: Option<f64>,
    /// Unbroken health before traffic goes back to a zone. Default 5m.
    pub healthy_period: Option<String>,
    /// Percent of a zone's original share given back per step. Default `step_percent`.
    pub restore_step_percent: Option<u32>,
}

impl TrafficSection {
    /// The routes with `zone_balance`.
    pub(super) fn zone_balances(&self) -> Result<Vec<ZoneBalance>, FieldError> {
        self.routes
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, r, r.zone_balance.as_ref()?)))
            .map(|(i, r, z)| {
                let at = format!("traffic.routes[{i}].zone_balance");
                let mut zones: Vec<&str> = r
                    .endpoints
                    .iter()
                    .map(|e| e.zone.as_deref().unwrap_or("default"))
                    .collect();
                zones.sort_unstable();
                zones.dedup();
                if zones.len() < 2 {
                    return Err(FieldError::new(
                        &at,
                        "the route has one zone: nowhere to shift to",
                    )
                    .with_fix("give the endpoints at least two zones, or remove zone_balance"));
                }
                Ok(ZoneBalance {
                    route: r.name.clone(),
                    config: z.checked().map_err(|e| e.under(&at))?,
                })
            })
            .collect()
    }
}

impl ZoneBalanceSection {
    fn checked(&self) -> Result<ZoneShiftConfig, FieldError> {
        if !(self.max_error_ratio > 0.0 && self.max_error_ratio < 1.0) {
            return Err(
                FieldError::new("max_error_ratio", "must be between 0 and 1")
                    .with_fix("a ratio such as 0.05 for 5 % errors"),
            );
        }
        let share = self.max_zone_share.unwrap_or(0.7);
        if !(share > 0.0 && share <= 1.0) {
            return Err(
                FieldError::new("max_zone_share", "must be above 0 and at most 1")
                    .with_fix("a share such as 0.7 for 70 % of the traffic"),
            );
        }
        let step_percent = percent("step_percent", self.step_percent.unwrap_or(25))?;
        let restore_step_percent = percent(
            "restore_step_percent",
            self.restore_step_percent.unwrap_or(step_percent),
        )?;
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Ok(ZoneShiftConfig {
            max_error_ratio: self.max_error_ratio,
            max_latency_s: positive_duration("max_latency", &self.max_latency)?
                .map(|d| d.as_secs_f64()),
            step_percent,
            step_interval_ms: ms(duration_or("step_interval", &self.step_interval, "1m")?),
            max_zone_share: share,
            healthy_period_ms: ms(duration_or("healthy_period", &self.healthy_period, "5m")?),
            restore_step_percent,
        })
    }
}

fn percent(field: &str, v: u32) -> Result<u32, FieldError> {
    if (1..=100).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(field, "must be from 1 to 100")
            .with_fix("a percent of the zone's original share, such as 25"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &str) -> Result<Vec<ZoneBalance>, FieldError> {
        let yaml = format!(
            "routes:\n  - name: checkout\n    listen: 127.0.0.1:10000\n    \
             endpoints: [{{address: 'h:1', zone: a}}, {{address: 'h:2', zone: b}}]\n{extra}"
        );
        let s: TrafficSection = serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{e}"));
        s.zone_balances()
    }

    #[test]
    fn defaults_fill_in() {
        let z = parse("    zone_balance: {max_error_ratio: 0.05, max_latency: 800ms}\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            z,
            vec![ZoneBalance {
                route: "checkout".into(),
                config: ZoneShiftConfig {
                    max_error_ratio: 0.05,
                    max_latency_s: Some(0.8),
                    step_percent: 25,
                    step_interval_ms: 60_000,
                    max_zone_share: 0.7,
                    healthy_period_ms: 300_000,
                    restore_step_percent: 25,
                },
            }]
        );
        assert_eq!(parse("").map(|z| z.len()), Ok(0));
    }

    #[test]
    fn errors_name_the_field() {
        let field = |extra: &str| parse(extra).map(|_| ()).unwrap_err().field;
        let at = "traffic.routes[0].zone_balance";
        assert_eq!(
            field("    zone_balance: {max_error_ratio: 2}\n"),
            format!("{at}.max_error_ratio")
        );
        assert_eq!(
            field("    zone_balance: {max_error_ratio: 0.1, max_zone_share: 0}\n"),
            format!("{at}.max_zone_share")
        );
        assert_eq!(
            field("    zone_balance: {max_error_ratio: 0.1, step_percent: 0}\n"),
            format!("{at}.step_percent")
        );
        assert_eq!(
            field("    zone_balance: {max_error_ratio: 0.1, healthy_period: soon}\n"),
            format!("{at}.healthy_period")
        );
        let yaml = "routes:\n  - {name: r, listen: 127.0.0.1:10000, endpoints: [{address: 'h:1'}], \
                    zone_balance: {max_error_ratio: 0.1}}\n";
        let s: TrafficSection = serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.zone_balances().map(|_| ()).unwrap_err().field, at);
    }
}
