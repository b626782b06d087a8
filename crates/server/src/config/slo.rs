//! `slo_files:` and `slo_windows:`: the SLO specs whose budgets are served
//! and compiled into rule groups, and the burn-rate alert windows per SLO
//! period. Both are read from files relative to the config file.

use homeostat_model::FieldError;

/// Loads every SLO spec file matching the patterns, all at once: OpenSLO
/// documents may refer across files, and SLO ids must be unique across all
/// of them (the loader checks both).
pub(super) fn load_slos(patterns: &[String]) -> Result<Vec<homeostat_slo::SloSpec>, FieldError> {
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let invalid = |detail: String| FieldError::new("slo_files", detail);
    let files = homeostat_rules::expand_globs(patterns).map_err(|e| invalid(e.to_string()))?;
    homeostat_slo::load_specs_files(&files).map_err(|e| invalid(e.to_string()))
}

/// Reads the `slo_windows` files; two files for one period are refused.
pub(super) fn load_windows(
    files: &[String],
) -> Result<Vec<homeostat_slo::AlertWindows>, FieldError> {
    let mut out: Vec<homeostat_slo::AlertWindows> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let invalid = |detail: String| FieldError::new(format!("slo_windows[{i}]"), detail);
        let text = std::fs::read_to_string(f).map_err(|e| invalid(format!("{f}: {e}")))?;
        let w =
            homeostat_slo::AlertWindows::from_yaml(&text, f).map_err(|e| invalid(e.to_string()))?;
        if out.iter().any(|o| o.period == w.period) {
            return Err(invalid(format!(
                "{f}: a second windows file for the period {}",
                homeostat_model::format_duration(w.period)
            ))
            .with_fix("give one file per period"));
        }
        out.push(w);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    #[test]
    fn slo_files_load_relative_to_the_config_and_errors_name_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let spec = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml"),
        )
        .unwrap();
        std::fs::write(dir.path().join("a.yaml"), &spec).unwrap();
        std::fs::write(dir.path().join("bad.yaml"), "version: prometheus/v1\nservice: x\nslos: [{name: s, objective: 120, sli: {raw: {error_ratio_query: 'x'}}}]\n").unwrap();
        let cfg = dir.path().join("homeostat.yaml");
        std::fs::write(&cfg, "slo_files: [a.yaml]\n").unwrap();
        let c = Config::load(&cfg).unwrap();
        assert_eq!(c.slos.len(), 1);
        assert_eq!(c.slos[0].id, "checkout-availability");
        std::fs::write(&cfg, "slo_files: [a.yaml, a.yaml]\n").unwrap();
        let e = Config::load(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("slo_files") && e.contains("duplicate SLO id"),
            "{e}"
        );
        std::fs::write(&cfg, "slo_files: [bad.yaml]\n").unwrap();
        let e = Config::load(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("slo_files") && e.contains("bad.yaml") && e.contains("objective"),
            "{e}"
        );
    }
}
