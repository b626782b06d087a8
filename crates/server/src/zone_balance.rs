//! The zone balancer's ticker and its hands on the traffic proxy: zone
//! weights read from the route's status and set through the audited
//! [`TrafficDesk`]. Only the leader acts; a follower keeps no state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use homeostat_app::{
    BoxFuture, EngineZoneSignals, Leadership, ZoneBalance, ZoneBalancer, ZoneWeights,
};
use homeostat_model::Clock;
use homeostat_promql::Engine;
use homeostat_storage::Querier;
use homeostat_traffic::{TrafficDesk, Weights};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the zones are judged; steps are further apart
/// (`step_interval`), this only bounds how late one is.
const TICK: Duration = Duration::from_secs(15);

pub struct DeskWeights(pub TrafficDesk);

impl ZoneWeights for DeskWeights {
    /// A zone without an explicit weight weighs what the picker gives it:
    /// the sum of its available endpoints' weights.
    fn zone_weights(&self, route: &str) -> BoxFuture<'_, Result<BTreeMap<String, u32>, String>> {
        let status = self.0.traffic().route(route).map_err(|e| e.to_string());
        Box::pin(async move {
            let status = status?;
            let mut out: BTreeMap<String, u32> = BTreeMap::new();
            for e in &status.endpoints {
                let w = out.entry(e.zone.clone()).or_default();
                if e.available {
                    *w = w.saturating_add(e.weight);
                }
            }
            for (zone, w) in &status.zone_weights {
                out.insert(zone.clone(), *w);
            }
            Ok(out)
        })
    }

    fn set_zone_weights(
        &self,
        route: &str,
        weights: BTreeMap<String, u32>,
        actor: &str,
    ) -> BoxFuture<'_, Result<(), String>> {
        let (route, actor) = (route.to_string(), actor.to_string());
        Box::pin(async move {
            let update = Weights {
                zones: weights,
                endpoints: BTreeMap::new(),
            };
            self.0
                .set_weights(&route, &update, &actor)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// Starts the ticker; it ends at once when no route has `zone_balance`.
pub fn spawn(
    routes: &[ZoneBalance],
    desk: TrafficDesk,
    engine: Engine,
    querier: Arc<dyn Querier>,
    clock: Arc<dyn Clock>,
    leadership: Leadership,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let balancer = ZoneBalancer::new(
        routes.to_vec(),
        Arc::new(EngineZoneSignals {
            engine,
            querier,
            clock: clock.clone(),
        }),
        Arc::new(DeskWeights(desk)),
        clock,
    );
    tokio::spawn(run(balancer, leadership, stop))
}

async fn run(balancer: ZoneBalancer, leadership: Leadership, mut stop: watch::Receiver<bool>) {
    if balancer.routes().is_empty() {
        return;
    }
    loop {
        if leadership.acting().is_some() {
            balancer.tick().await;
        } else {
            balancer.forget();
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use homeostat_model::FakeClock;
    use homeostat_state::{MemState, State};
    use homeostat_traffic::{BreakerSpec, EndpointSpec, FallbackSpec, RouteSpec, Traffic};

    use super::*;

    #[tokio::test]
    async fn desk_weights_read_natural_shares_and_write_audited_ones() {
        let ep = |address: &str, zone: &str, weight| EndpointSpec {
            address: address.into(),
            zone: zone.into(),
            weight,
        };
        let spec = RouteSpec {
            name: "checkout".into(),
            listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
            endpoints: vec![
                ep("127.0.0.1:1", "a", 2),
                ep("127.0.0.1:2", "a", 1),
                ep("127.0.0.1:3", "b", 1),
            ],
            zone_weights: BTreeMap::from([("b".into(), 5)]),
            health_check: None,
            outlier: None,
            breakers: BreakerSpec::default(),
            fallback: FallbackSpec::default(),
            timeout: Duration::from_secs(1),
            faults: vec![],
        };
        let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(1_000));
        let traffic = Traffic::start(vec![spec], clock.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let state = State::from_backend(Arc::new(MemState::default()));
        let w = DeskWeights(TrafficDesk::new(
            traffic.clone(),
            state.audit.clone(),
            clock,
        ));
        let got = w.zone_weights("checkout").await;
        assert_eq!(got, Ok(BTreeMap::from([("a".into(), 3), ("b".into(), 5)])));
        let actor = homeostat_app::zone_balancer_actor("checkout");
        let set = BTreeMap::from([("a".into(), 7000), ("b".into(), 3000)]);
        assert_eq!(
            w.set_zone_weights("checkout", set.clone(), &actor).await,
            Ok(())
        );
        assert_eq!(w.zone_weights("checkout").await, Ok(set));
        let audit = state
            .audit
            .list_by_object("traffic-route/checkout", 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].actor, "homeostat (zone balancer checkout)");
        assert!(w.zone_weights("nope").await.is_err());
        traffic.shutdown();
    }
}
