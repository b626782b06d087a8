//! The experiment runner's fault actions on this server's fault proxy
//! (toxics, enabling proxies) and traffic routes (HTTP faults). Without the
//! fault proxy or the named route an action fails with a sentence for the
//! journal.

use homeostat_app::{BoxFuture, FaultControl};
use homeostat_faultproxy::FaultProxy;
use homeostat_traffic::{FaultSpec, TrafficDesk};
use serde_json::{Value, json};

/// The principal chaos actions are recorded under.
const ACTOR: &str = "homeostat (chaos experiment)";

pub struct ServerFaults {
    pub proxy: Option<FaultProxy>,
    /// Every change through the desk is audited like a person's.
    pub traffic: TrafficDesk,
}

fn no_proxy() -> String {
    "the fault proxy is not enabled on this server (fault_proxy.enabled)".into()
}

impl FaultControl for ServerFaults {
    fn add_toxic(&self, proxy: &str, toxic: Value) -> BoxFuture<'_, Result<Value, String>> {
        let proxy = proxy.to_string();
        Box::pin(async move {
            let fp = self.proxy.as_ref().ok_or_else(no_proxy)?;
            let t = fp
                .add_toxic_json(&proxy, toxic)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_value(&t).map_err(|e| e.to_string())
        })
    }

    fn remove_toxic(&self, proxy: &str, name: &str) -> BoxFuture<'_, Result<Value, String>> {
        let (proxy, name) = (proxy.to_string(), name.to_string());
        Box::pin(async move {
            let fp = self.proxy.as_ref().ok_or_else(no_proxy)?;
            fp.remove_toxic(&proxy, &name)
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({"proxy": proxy, "removed": name}))
        })
    }

    fn set_proxy_enabled(
        &self,
        proxy: &str,
        enabled: bool,
    ) -> BoxFuture<'_, Result<Value, String>> {
        let proxy = proxy.to_string();
        Box::pin(async move {
            let fp = self.proxy.as_ref().ok_or_else(no_proxy)?;
            let v = fp
                .set_enabled(&proxy, enabled)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_value(&v).map_err(|e| e.to_string())
        })
    }

    fn add_http_fault(&self, route: &str, fault: Value) -> BoxFuture<'_, Result<Value, String>> {
        let route = route.to_string();
        Box::pin(async move {
            let spec: FaultSpec =
                serde_json::from_value(fault).map_err(|e| format!("fault: {e}"))?;
            let name = spec.name.clone();
            self.traffic
                .add_fault(&route, spec, ACTOR)
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({"route": route, "added": name}))
        })
    }

    fn remove_http_fault(&self, route: &str, name: &str) -> BoxFuture<'_, Result<Value, String>> {
        let (route, name) = (route.to_string(), name.to_string());
        Box::pin(async move {
            self.traffic
                .remove_fault(&route, &name, ACTOR)
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({"route": route, "removed": name}))
        })
    }
}
