//! `services[].depends_on`: the services each service calls, so change
//! correlation (`/api/v1/incidents/{id}/suspects`) and postmortems look at
//! their deploys too. The names a service may depend on are those declared
//! under `services:` and the services of the loaded SLOs; a cycle between
//! services is allowed (they call each other), depending on oneself is not.

use std::collections::{BTreeMap, BTreeSet};

use homeostat_model::FieldError;

use super::ServiceSection;

/// Validates every `depends_on` list; returns the graph (service → direct
/// dependencies).
pub(super) fn validate(
    services: &[ServiceSection],
    slos: &[homeostat_slo::SloSpec],
) -> Result<BTreeMap<String, Vec<String>>, FieldError> {
    let known: BTreeSet<&str> = services
        .iter()
        .map(|s| s.name.as_str())
        .chain(slos.iter().map(|s| s.service.as_str()))
        .collect();
    let mut graph = BTreeMap::new();
    for (i, s) in services.iter().enumerate() {
        let mut deps: Vec<String> = Vec::new();
        for (j, d) in s.depends_on.iter().enumerate() {
            let field = format!("services[{i}].depends_on[{j}]");
            if d.trim().is_empty() {
                return Err(FieldError::new(field, "empty service name").with_fix("remove it"));
            }
            if *d == s.name {
                return Err(FieldError::new(
                    field,
                    format!("service {:?} cannot depend on itself", s.name),
                )
                .with_fix("remove it (its own deploys are always suspects)"));
            }
            if !known.contains(d.as_str()) {
                let names: Vec<&str> = known.iter().copied().collect();
                return Err(
                    FieldError::new(field, format!("unknown service {d:?}")).with_fix(format!(
                        "declare it under `services:` (a `name` is enough) or in an SLO file, or fix the name (known: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    )),
                );
            }
            if deps.contains(d) {
                return Err(
                    FieldError::new(field, format!("{d:?} is listed twice")).with_fix("remove one")
                );
            }
            deps.push(d.clone());
        }
        if !deps.is_empty() {
            graph.insert(s.name.clone(), deps);
        }
    }
    Ok(graph)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::{Config, FileConfig};

    fn check(yaml: &str) -> Result<Config, String> {
        let f: FileConfig = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        Config::validate(f, "homeostat.yaml").map_err(|e| e.to_string())
    }

    #[test]
    fn declared_dependencies_form_the_graph() {
        let c = check(
            "services:
  - {name: checkout, depends_on: [payments, search]}
  - {name: payments, depends_on: [payments-db]}
  - {name: payments-db, depends_on: [checkout]}
  - {name: search}",
        )
        .unwrap();
        assert_eq!(c.dependencies["checkout"], ["payments", "search"]);
        assert_eq!(
            c.dependencies["payments-db"],
            ["checkout"],
            "cycles are allowed"
        );
        assert!(!c.dependencies.contains_key("search"));
    }

    #[test]
    fn each_bad_dependency_is_named_with_its_fix() {
        for (yaml, field, fix) in [
            (
                "services: [{name: checkout, depends_on: [paymnets]}, {name: payments}]",
                "services[0].depends_on[0]",
                "declare it under `services:`",
            ),
            (
                "services: [{name: a}, {name: b, depends_on: [a, b]}]",
                "services[1].depends_on[1]",
                "cannot depend on itself",
            ),
            (
                "services: [{name: a, depends_on: ['']}]",
                "services[0].depends_on[0]",
                "empty service name",
            ),
            (
                "services: [{name: a, depends_on: [b, b]}, {name: b}]",
                "services[0].depends_on[1]",
                "listed twice",
            ),
            (
                "services: [{name: a, dependson: [b]}]",
                "dependson",
                "unknown field",
            ),
        ] {
            let err = check(yaml).unwrap_err();
            assert!(err.contains(field) && err.contains(fix), "{yaml}: {err}");
        }
    }

    #[test]
    fn an_slo_service_is_a_known_name() {
        let dir = tempfile::tempdir().unwrap();
        let slo = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slo/checkout.yaml"),
        )
        .unwrap();
        std::fs::write(dir.path().join("checkout.yaml"), slo).unwrap();
        let cfg = dir.path().join("homeostat.yaml");
        std::fs::write(
            &cfg,
            "slo_files: [checkout.yaml]\nservices: [{name: web, depends_on: [checkout]}]\n",
        )
        .unwrap();
        let c = Config::load(&cfg).unwrap();
        assert_eq!(c.dependencies["web"], ["checkout"]);
    }
}
