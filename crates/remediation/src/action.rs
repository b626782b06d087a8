//! A policy's actions and their rendering for one target: templates filled
//! from the alert's labels, command arguments checked so that a label value
//! can never become an option or a second argument.

use std::collections::BTreeMap;

use homeostat_model::template::{Escape, Template, TemplateError};
use serde::{Deserialize, Serialize};

/// One step of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub name: String,
    pub kind: ActionKind,
    /// How long after acting the trigger is re-evaluated.
    pub verify_ms: i64,
    pub needs_approval: bool,
    pub exempt_from_freeze: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// A POST through the one delivery path; scale and restart go to an
    /// orchestrator this way.
    Webhook { url: String, body: Option<Template> },
    /// A program on the allow-list, never through a shell.
    Command {
        program: String,
        args: Vec<Template>,
    },
    /// A change to a route of the built-in traffic proxy.
    Traffic {
        route: String,
        change: TrafficChange,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrafficChange {
    /// Zone (templated) → weight, e.g. `{{.zone}}: 0`.
    Zones(Vec<(Template, u32)>),
    /// An endpoint (templated) taken out of the route.
    Drain(Template),
}

/// An action filled in for one target: what the app hands to its effects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RenderedAction {
    Webhook {
        url: String,
        body: Option<String>,
    },
    Command {
        argv: Vec<String>,
    },
    TrafficZones {
        route: String,
        zones: BTreeMap<String, u32>,
    },
    TrafficDrain {
        route: String,
        endpoint: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("label {label} = {value:?} is not a safe command argument")]
    UnsafeArgument { label: String, value: String },
}

impl RenderedAction {
    /// A line for the timeline and the audit log: the kind and where it
    /// goes, with a webhook's host only (its path may hold a token).
    pub fn summary(&self) -> String {
        match self {
            RenderedAction::Webhook { url, .. } => format!("webhook to {}", host_of(url)),
            RenderedAction::Command { argv } => format!("command {}", argv.join(" ")),
            RenderedAction::TrafficZones { route, zones } => {
                let w: Vec<String> = zones.iter().map(|(z, w)| format!("{z}={w}")).collect();
                format!("traffic shift on route {route}: {}", w.join(", "))
            }
            RenderedAction::TrafficDrain { route, endpoint } => {
                format!("drain {endpoint} from route {route}")
            }
        }
    }
}

impl Action {
    /// Fills the templates from `vars` (label name → value).
    pub fn render(&self, vars: &[(&str, &str)]) -> Result<RenderedAction, RenderError> {
        Ok(match &self.kind {
            ActionKind::Webhook { url, body } => RenderedAction::Webhook {
                url: url.clone(),
                body: body
                    .as_ref()
                    .map(|b| b.render(vars, Escape::JsonString))
                    .transpose()?,
            },
            ActionKind::Command { program, args } => {
                for (label, value) in vars {
                    if args.iter().any(|a| a.uses(label)) && !safe_argument(value) {
                        return Err(RenderError::UnsafeArgument {
                            label: (*label).to_string(),
                            value: (*value).to_string(),
                        });
                    }
                }
                let mut argv = vec![program.clone()];
                for a in args {
                    argv.push(a.render(vars, Escape::None)?);
                }
                RenderedAction::Command { argv }
            }
            ActionKind::Traffic { route, change } => match change {
                TrafficChange::Zones(zones) => {
                    let mut out = BTreeMap::new();
                    for (z, w) in zones {
                        out.insert(z.render(vars, Escape::None)?, *w);
                    }
                    RenderedAction::TrafficZones {
                        route: route.clone(),
                        zones: out,
                    }
                }
                TrafficChange::Drain(ep) => RenderedAction::TrafficDrain {
                    route: route.clone(),
                    endpoint: ep.render(vars, Escape::None)?,
                },
            },
        })
    }
}

/// A value that can only be one argument and never an option.
fn safe_argument(v: &str) -> bool {
    !v.is_empty() && !v.starts_with('-') && !v.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// `https://host:port` of a URL, without its path or credentials.
pub fn host_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}")
}
