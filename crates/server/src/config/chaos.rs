//! `chaos:`: how Chaos Toolkit experiments run here (docs/chaos.md): the
//! executables a `process` provider may start, how many experiments run at
//! once, how often an SLO guard without `check_every` is checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use homeostat_model::FieldError;
use serde::Deserialize;

use super::chaos_monkey::{MonkeySpec, TargetGroupSpec};
use super::duration_or;

/// `chaos: {process_allowlist, max_concurrent_experiments, default_guard_check_every}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosSection {
    /// Absolute paths of the executables `process` activities may run;
    /// nothing else runs, and never through a shell. Default: none.
    #[serde(default)]
    pub process_allowlist: Vec<PathBuf>,
    /// Experiments running at once; one more is refused (503, retry later). Default 4.
    pub max_concurrent_experiments: Option<usize>,
    /// How often a guard without `check_every` reads its SLO. Default 5s.
    pub default_guard_check_every: Option<String>,
    /// How long an activity without a timeout of its own may take. Default 30s.
    pub default_activity_timeout: Option<String>,
    /// Named sets of targets with a Chaos Mesh selector (docs/chaos-monkey.md).
    #[serde(default)]
    pub target_groups: Vec<TargetGroupSpec>,
    /// Chaos Monkey schedules of opted-in target groups.
    #[serde(default)]
    pub monkey: Vec<MonkeySpec>,
}

impl ChaosSection {
    pub(super) fn validate(&self) -> Result<homeostat_app::ChaosConfig, FieldError> {
        self.checked().map_err(|e| e.under("chaos"))
    }

    /// `target_groups` and `monkey`, validated; `base` resolves `url_file`.
    pub(super) fn monkey_groups(
        &self,
        base: &Path,
    ) -> Result<Vec<homeostat_app::MonkeyGroup>, FieldError> {
        let allowlist: Vec<String> = self
            .process_allowlist
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        super::chaos_monkey::validate(&self.target_groups, &self.monkey, &allowlist, base)
    }

    fn checked(&self) -> Result<homeostat_app::ChaosConfig, FieldError> {
        for (i, p) in self.process_allowlist.iter().enumerate() {
            if !p.is_absolute() {
                return Err(FieldError::new(
                    format!("process_allowlist[{i}]"),
                    format!("{} is not an absolute path", p.display()),
                ));
            }
        }
        let max = self.max_concurrent_experiments.unwrap_or(4);
        if max == 0 || max > 1000 {
            return Err(FieldError::new(
                "max_concurrent_experiments",
                "must be between 1 and 1000",
            ));
        }
        let every = duration_or(
            "default_guard_check_every",
            &self.default_guard_check_every,
            "5s",
        )?;
        if every < Duration::from_millis(100) {
            return Err(FieldError::new(
                "default_guard_check_every",
                "must be at least 100ms",
            ));
        }
        Ok(homeostat_app::ChaosConfig {
            process_allowlist: self.process_allowlist.clone(),
            max_concurrent_experiments: max,
            default_guard_check_every: every,
            default_activity_timeout: duration_or(
                "default_activity_timeout",
                &self.default_activity_timeout,
                "30s",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<homeostat_app::ChaosConfig, String> {
        let s: ChaosSection = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        s.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_errors() {
        let c = parse("{}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.max_concurrent_experiments, 4);
        assert_eq!(c.default_guard_check_every, Duration::from_secs(5));
        assert!(c.process_allowlist.is_empty());
        let c = parse("{process_allowlist: [/usr/bin/true], default_guard_check_every: 1s}")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.process_allowlist, vec![PathBuf::from("/usr/bin/true")]);
        assert!(
            parse("{process_allowlist: [true]}")
                .is_err_and(|e| e.contains("chaos.process_allowlist[0]"))
        );
        assert!(
            parse("{max_concurrent_experiments: 0}")
                .is_err_and(|e| e.contains("chaos.max_concurrent_experiments"))
        );
        assert!(parse("{bogus: 1}").is_err_and(|e| e.contains("bogus")));
    }
}
