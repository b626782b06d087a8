//! `homeostat traffic status|shift|fault`: the traffic proxy on a running
//! server (`/api/v1/traffic`); shifts and faults need the release scope.

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use crate::human;
use crate::incident::{self, Server};
use crate::table::Table;

#[derive(Subcommand)]
pub enum TrafficCommand {
    /// Every route's endpoints: zone, weight, health, ejection, and the
    /// breaker counts and faults.
    Status {
        /// Only this route.
        #[arg(long)]
        route: Option<String>,
    },
    /// Shift traffic: set zone shares and/or endpoint weights (the rest
    /// stay); new requests follow at once. Audited.
    Shift {
        /// The route's name (`traffic status` lists them).
        #[arg(long)]
        route: String,
        /// ZONE=WEIGHT, repeatable: `--zone a=0 --zone b=100`.
        #[arg(long = "zone", value_name = "ZONE=WEIGHT")]
        zones: Vec<String>,
        /// ADDRESS=WEIGHT, repeatable: `--endpoint 10.0.0.5:8080=0`.
        #[arg(long = "endpoint", value_name = "ADDRESS=WEIGHT")]
        endpoints: Vec<String>,
    },
    /// Add an HTTP fault from a JSON document (`-` reads stdin), or
    /// remove one by name. Audited.
    Fault {
        #[command(subcommand)]
        command: FaultCommand,
    },
}

#[derive(Subcommand)]
pub enum FaultCommand {
    /// Add (or replace by name) a fault: `{"name", "match", "abort", "delay"}`.
    Add {
        /// The route's name.
        #[arg(long)]
        route: String,
        /// The fault as JSON, e.g. '{"name":"slow","delay":{"fixed_delay":"500ms","percentage":10}}'.
        json: String,
    },
    /// Remove a fault by name.
    Remove {
        /// The route's name.
        #[arg(long)]
        route: String,
        /// The fault's name.
        name: String,
    },
}

fn pairs(flag: &str, items: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut m = Map::new();
    for it in items {
        let Some((k, v)) = it.rsplit_once('=') else {
            bail!("--{flag} {it:?}: write NAME=WEIGHT, e.g. a=100");
        };
        let w: u32 = v.parse().with_context(|| {
            format!("--{flag} {it:?}: the weight must be a whole number from 0")
        })?;
        m.insert(k.to_string(), json!(w));
    }
    Ok(m)
}

pub fn run(server: &Server, command: TrafficCommand) -> anyhow::Result<()> {
    match command {
        TrafficCommand::Status { route } => {
            let routes = match route {
                Some(r) => Value::Array(vec![incident::data(&incident::get(
                    server,
                    &format!("/api/v1/traffic/routes/{}", incident::query_value(&r)),
                )?)?]),
                None => incident::data(&incident::get(server, "/api/v1/traffic/routes")?)?,
            };
            print_status(&routes);
        }
        TrafficCommand::Shift {
            route,
            zones,
            endpoints,
        } => {
            if zones.is_empty() && endpoints.is_empty() {
                bail!("give at least one --zone ZONE=WEIGHT or --endpoint ADDRESS=WEIGHT");
            }
            let body = json!({"zones": pairs("zone", &zones)?, "endpoints": pairs("endpoint", &endpoints)?});
            let v = incident::post(
                server,
                &format!(
                    "/api/v1/traffic/routes/{}/weights",
                    incident::query_value(&route)
                ),
                body,
            )?;
            let after = &v["data"]["after"];
            println!("route {route}: weights shifted");
            for (k, w) in after["zones"].as_object().into_iter().flatten() {
                println!("  zone {k} = {w}");
            }
            for (k, w) in after["endpoints"].as_object().into_iter().flatten() {
                println!("  endpoint {k} = {w}");
            }
        }
        TrafficCommand::Fault { command } => match command {
            FaultCommand::Add { route, json } => {
                let text = if json == "-" {
                    std::io::read_to_string(std::io::stdin())
                        .context("reading the fault from stdin")?
                } else {
                    json
                };
                let body: Value = serde_json::from_str(&text).context("the fault is not JSON")?;
                let v = incident::post(
                    server,
                    &format!(
                        "/api/v1/traffic/routes/{}/faults",
                        incident::query_value(&route)
                    ),
                    body,
                )?;
                let replaced = !v["data"]["replaced"].is_null();
                println!(
                    "route {route}: fault {} {}",
                    v["data"]["fault"]["name"].as_str().unwrap_or("?"),
                    if replaced { "replaced" } else { "added" }
                );
            }
            FaultCommand::Remove { route, name } => {
                incident::delete(
                    server,
                    &format!(
                        "/api/v1/traffic/routes/{}/faults/{}",
                        incident::query_value(&route),
                        incident::query_value(&name)
                    ),
                )?;
                println!("route {route}: fault {name} removed");
            }
        },
    }
    Ok(())
}

fn print_status(routes: &Value) {
    let now = Utc::now();
    let list = routes.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        println!("no traffic routes (add them under traffic.routes in the config)");
        return;
    }
    for (i, r) in list.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let b = &r["breakers"];
        println!(
            "route {} on {}: {} requests, {} pending, {} connections (limits {}/{}/{})",
            r["name"].as_str().unwrap_or("?"),
            r["listen"].as_str().unwrap_or("?"),
            b["requests"],
            b["pending"],
            b["connections"],
            b["limits"]["max_requests"],
            b["limits"]["max_pending_requests"],
            b["limits"]["max_connections"],
        );
        let zones = &r["zone_weights"];
        let mut t = Table::new([
            "ENDPOINT",
            "ZONE",
            "WEIGHT",
            "ZONE SHARE",
            "HEALTH",
            "EJECTED UNTIL",
        ]);
        for e in r["endpoints"].as_array().into_iter().flatten() {
            let zone = e["zone"].as_str().unwrap_or("");
            t.row([
                e["address"].as_str().unwrap_or("").to_string(),
                zone.to_string(),
                e["weight"].to_string(),
                zones.get(zone).map_or("-".into(), Value::to_string),
                if e["healthy"].as_bool() == Some(true) {
                    "healthy"
                } else {
                    "unhealthy"
                }
                .to_string(),
                human::cell_relative(&e["ejected_until"], now),
            ]);
        }
        t.print();
        for f in r["faults"].as_array().into_iter().flatten() {
            println!("fault {}: {}", f["name"].as_str().unwrap_or("?"), f);
        }
    }
}
