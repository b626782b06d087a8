//! Configuration and secrets, resolved once per run, and `${name}`
//! substitution in what a provider is given (chaoslib's `substitute`): a
//! string that is only `${name}` takes the value with its type, a longer
//! one has the value written into it; unknown names stay as written.
//! Secret values are masked wherever a run writes text.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::model::{ConfigValue, Experiment};

pub const MASK: &str = "********";

/// The values a run substitutes, configuration first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    pub configuration: Map<String, Value>,
    /// Every secret, flattened across scopes (as chaoslib substitutes them).
    secrets: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: environment variable {key} is not set and has no default")]
pub struct ResolveError {
    pub path: String,
    pub key: String,
}

impl Resolved {
    /// Reads `{"type": "env"}` values through `env`.
    pub fn resolve(
        experiment: &Experiment,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, ResolveError> {
        let one = |path: String, v: &ConfigValue| -> Result<Value, ResolveError> {
            match v {
                ConfigValue::Literal(v) => Ok(v.clone()),
                ConfigValue::Env { key, default } => match (env(key), default) {
                    (Some(s), _) => Ok(Value::String(s)),
                    (None, Some(d)) => Ok(d.clone()),
                    (None, None) => Err(ResolveError {
                        path,
                        key: key.clone(),
                    }),
                },
            }
        };
        let mut out = Resolved::default();
        for (k, v) in &experiment.configuration {
            out.configuration
                .insert(k.clone(), one(format!("configuration.{k}"), v)?);
        }
        for (scope, values) in &experiment.secrets {
            for (k, v) in values {
                out.secrets
                    .insert(k.clone(), one(format!("secrets.{scope}.{k}"), v)?);
            }
        }
        Ok(out)
    }

    /// Test and API helper: literal values only.
    pub fn from_parts(configuration: Map<String, Value>, secrets: BTreeMap<String, Value>) -> Self {
        Resolved {
            configuration,
            secrets,
        }
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.configuration
            .get(name)
            .or_else(|| self.secrets.get(name))
    }

    /// `value` with every `${name}` replaced.
    pub fn substitute(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => self.substitute_str(s),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.substitute(v)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), self.substitute(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    pub fn substitute_str(&self, s: &str) -> Value {
        if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
            && !name.contains(['$', '{', '}'])
            && let Some(v) = self.lookup(name)
        {
            return v.clone();
        }
        Value::String(self.substitute_text(s))
    }

    /// `s` with each known `${name}` written in as text.
    pub fn substitute_text(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) => {
                    let name = &after[..j];
                    match self.lookup(name) {
                        Some(Value::String(v)) => out.push_str(v),
                        Some(v) => out.push_str(&v.to_string()),
                        None => out.push_str(&rest[i..i + 3 + j]),
                    }
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The secret values as text, longest first, for [`Self::mask`].
    fn secret_texts(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .secrets
            .values()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|s| s.len() >= 3)
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all
    }

    /// `value` with every secret written out replaced by [`MASK`].
    pub fn mask(&self, value: &Value) -> Value {
        let secrets = self.secret_texts();
        if secrets.is_empty() {
            return value.clone();
        }
        mask_with(value, &secrets)
    }

    pub fn mask_text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in self.secret_texts() {
            out = out.replace(&secret, MASK);
        }
        out
    }
}

fn mask_with(value: &Value, secrets: &[String]) -> Value {
    match value {
        Value::String(s) => {
            let mut out = s.clone();
            for secret in secrets {
                if out.contains(secret.as_str()) {
                    out = out.replace(secret.as_str(), MASK);
                }
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| mask_with(v, secrets)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), mask_with(v, secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolved() -> Resolved {
        let mut config = Map::new();
        config.insert("host".into(), json!("shop.local"));
        config.insert("port".into(), json!(8080));
        let mut secrets = BTreeMap::new();
        secrets.insert("token".into(), json!("s3cr3t-token"));
        Resolved::from_parts(config, secrets)
    }

    #[test]
    fn whole_placeholder_keeps_its_type() {
        let r = resolved();
        assert_eq!(r.substitute(&json!("${port}")), json!(8080));
        assert_eq!(
            r.substitute(&json!({"url": "http://${host}:${port}/x", "n": ["${missing}"]})),
            json!({"url": "http://shop.local:8080/x", "n": ["${missing}"]})
        );
        assert_eq!(r.substitute_text("Bearer ${token}"), "Bearer s3cr3t-token");
    }

    #[test]
    fn secrets_are_masked() {
        let r = resolved();
        assert_eq!(
            r.mask(&json!({"body": "got s3cr3t-token back", "status": 200})),
            json!({"body": "got ******** back", "status": 200})
        );
        assert_eq!(r.mask_text("x s3cr3t-token"), "x ********");
    }
}
