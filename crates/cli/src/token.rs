//! `homeostat token create|list|revoke`: API tokens. Two ways in:
//! - `--data-dir DIR` opens the state database of that data directory
//!   directly, with no server and no credentials: the way to create the
//!   first admin token (whoever can write the data directory owns the
//!   server anyway). Safe while the server runs (SQLite locks).
//! - otherwise the running server's `/api/v1/tokens` (admin scope), with
//!   `--token`/`HOMEOSTAT_TOKEN` or `--user` and `HOMEOSTAT_PASSWORD`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand};
use homeostat_app::{NewToken, TokenInfo, TokenService};
use homeostat_model::{AuthMethod, Principal, Scopes, SystemClock};
use serde_json::{Value, json};

use crate::human;
use crate::incident::{self, Server};
use crate::table::Table;

#[derive(Args)]
pub struct Where {
    #[command(flatten)]
    server: Server,
    /// Work on the state database in this data directory (`serve
    /// --data-dir`) instead of a server: needs no token, so it creates the
    /// first admin token.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once: only its hash is stored.
    Create {
        /// Unique name: letters, digits, '.', '_', '-' (recorded as who acts).
        #[arg(long)]
        name: String,
        /// Comma-separated: read, write, respond, release, admin (or all).
        #[arg(long)]
        scope: String,
        /// How long it works, e.g. 30d or 12h; default: until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Every token: name, scopes, who created it, expiry; never a secret.
    List,
    /// Revoke a token by name; it stops working at once.
    Revoke {
        /// The token's name, as `token list` prints it.
        name: String,
    },
}

pub fn run(w: &Where, command: TokenCommand) -> anyhow::Result<()> {
    match &w.data_dir {
        Some(dir) => local(dir, command),
        None => remote(&w.server, command),
    }
}

fn remote(server: &Server, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            name,
            scope,
            expires,
        } => {
            let mut body = json!({"name": name, "scopes": scope});
            if let Some(e) = expires {
                body["expires"] = Value::String(e);
            }
            let v = incident::post(server, "/api/v1/tokens", body)?;
            print_created(&v["data"]);
        }
        TokenCommand::List => {
            let v = incident::data(&incident::get(server, "/api/v1/tokens")?)?;
            print_list(&v);
        }
        TokenCommand::Revoke { name } => {
            let path = format!("/api/v1/tokens/{}", incident::query_value(&name));
            let v = incident::delete(server, &path)?;
            println!("revoked {}", v["data"]["name"].as_str().unwrap_or(&name));
        }
    }
    Ok(())
}

fn local(dir: &std::path::Path, command: TokenCommand) -> anyhow::Result<()> {
    let db = homeostat_state_sql::SqliteState::open(dir)
        .with_context(|| format!("opening the state database in {}", dir.display()))?;
    let state = homeostat_state::State::from_backend(Arc::new(db));
    let svc = TokenService::new(state.tokens, state.audit, Arc::new(SystemClock));
    // Recorded as the creator and in the audit log: the local operator.
    let who = Principal {
        name: format!(
            "{} (local)",
            std::env::var("USER").unwrap_or_else(|_| "operator".into())
        ),
        method: AuthMethod::System,
        scopes: Scopes::all(),
    };
    match command {
        TokenCommand::Create {
            name,
            scope,
            expires,
        } => {
            let expires_in_ms = expires
                .map(|e| {
                    homeostat_model::parse_duration(&e)
                        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                        .with_context(|| "--expires")
                })
                .transpose()?;
            let t = NewToken {
                name,
                scopes: Scopes::parse_list(&scope).context("--scope")?,
                expires_in_ms,
            };
            let created = svc.create(&t, &who)?;
            let mut v = created.info.to_json();
            v["token"] = Value::String(created.token);
            print_created(&v);
        }
        TokenCommand::List => {
            let list = svc.list()?;
            print_list(&Value::Array(list.iter().map(TokenInfo::to_json).collect()));
        }
        TokenCommand::Revoke { name } => {
            let t = svc.revoke(&name, &who)?;
            println!("revoked {}", t.name);
        }
    }
    Ok(())
}

/// The token alone on stdout (so `$(homeostat token create …)` captures
/// it), what it is on stderr.
fn print_created(v: &Value) {
    let now = Utc::now();
    let expires = match human::parse(&v["expiresAt"]) {
        Some(t) => format!("expires {}", human::both(t, now)),
        None => "does not expire".to_string(),
    };
    eprintln!(
        "token {} ({}; {expires}); shown only now, store it safely:",
        v["name"].as_str().unwrap_or(""),
        scopes(v),
    );
    println!("{}", v["token"].as_str().unwrap_or(""));
}

fn scopes(v: &Value) -> String {
    v["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

fn print_list(list: &Value) {
    let now = Utc::now();
    let mut t = Table::new(["NAME", "SCOPES", "CREATED", "BY", "EXPIRES", "REVOKED"]);
    for i in list.as_array().into_iter().flatten() {
        t.row([
            i["name"].as_str().unwrap_or("").to_string(),
            scopes(i),
            human::cell_relative(&i["createdAt"], now),
            i["createdBy"].as_str().unwrap_or("").to_string(),
            human::cell_relative(&i["expiresAt"], now),
            human::cell_relative(&i["revokedAt"], now),
        ]);
    }
    t.print();
    if t.is_empty() {
        println!("(no tokens)");
    }
}
