//! The crate layering rule, checked instead of hoped for. The layers live in
//! one place, `[[workspace.metadata.layers]]` in the workspace's Cargo.toml;
//! this crate reads them and every package's dependencies from
//! `cargo metadata` and reports each edge that points upward, each external
//! crate a layer forbids, and each workspace crate the table does not place.
//! The checker itself is a pure function over plain data so that its own
//! tests can feed it a deliberate violation.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// One layer of the table, lowest first in the list.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub name: String,
    /// Workspace package names that belong to this layer.
    pub crates: Vec<String>,
    /// External packages no crate of this layer may depend on (an engine
    /// must not reach for sockets or SQL drivers). Tests may: a fake
    /// server in a dev-dependency is how an HTTP client gets tested.
    #[serde(default)]
    pub forbid: Vec<String>,
}

/// How a dependency is declared; dev-dependencies are held to the same
/// rule, since a test that needs a higher layer means the code under test
/// is in the wrong place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepKind::Normal => "dependency",
            DepKind::Dev => "dev-dependency",
            DepKind::Build => "build-dependency",
        })
    }
}

/// A workspace package and what it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub deps: Vec<(String, DepKind)>,
}

/// One breach of the layering rule, rendered as a sentence that names both
/// ends and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    Upward {
        from: String,
        from_layer: String,
        to: String,
        to_layer: String,
        kind: DepKind,
    },
    Forbidden {
        from: String,
        layer: String,
        to: String,
        kind: DepKind,
    },
    Unplaced {
        package: String,
    },
    UnknownInTable {
        package: String,
        layer: String,
    },
    PlacedTwice {
        package: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Upward {
                from,
                from_layer,
                to,
                to_layer,
                kind,
            } => write!(
                f,
                "{from} ({from_layer}) has a {kind} on {to} ({to_layer}), a higher layer: move the shared code down or the caller up"
            ),
            Violation::Forbidden {
                from,
                layer,
                to,
                kind,
            } => write!(
                f,
                "{from} ({layer}) has a {kind} on {to}, which its layer forbids: do that work in a higher layer"
            ),
            Violation::Unplaced { package } => write!(
                f,
                "{package} is in no layer: add it to [[workspace.metadata.layers]] in Cargo.toml"
            ),
            Violation::UnknownInTable { package, layer } => write!(
                f,
                "layer {layer} names {package}, which is not a workspace package: remove it from the table"
            ),
            Violation::PlacedTwice { package } => {
                write!(f, "{package} is named by more than one layer")
            }
        }
    }
}

/// Why the workspace's metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cargo metadata output is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no [[workspace.metadata.layers]] table in the workspace's Cargo.toml")]
    NoLayers,
}

/// Checks the packages against the layers; an empty answer means the
/// workspace keeps the rule. Dependencies on packages outside the workspace
/// are only checked against `forbid`.
pub fn check(layers: &[Layer], packages: &[Package]) -> Vec<Violation> {
    let mut rank: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        for c in &layer.crates {
            if rank.insert(c, i).is_some() {
                out.push(Violation::PlacedTwice { package: c.clone() });
            }
        }
    }
    for layer in layers {
        for c in &layer.crates {
            if !packages.iter().any(|p| &p.name == c) {
                out.push(Violation::UnknownInTable {
                    package: c.clone(),
                    layer: layer.name.clone(),
                });
            }
        }
    }
    for p in packages {
        let Some(&own) = rank.get(p.name.as_str()) else {
            out.push(Violation::Unplaced {
                package: p.name.clone(),
            });
            continue;
        };
        for (dep, kind) in &p.deps {
            if let Some(&theirs) = rank.get(dep.as_str()) {
                if theirs > own {
                    out.push(Violation::Upward {
                        from: p.name.clone(),
                        from_layer: layers[own].name.clone(),
                        to: dep.clone(),
                        to_layer: layers[theirs].name.clone(),
                        kind: *kind,
                    });
                }
            } else if *kind != DepKind::Dev && layers[own].forbid.iter().any(|f| f == dep) {
                out.push(Violation::Forbidden {
                    from: p.name.clone(),
                    layer: layers[own].name.clone(),
                    to: dep.clone(),
                    kind: *kind,
                });
            }
        }
    }
    out
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    metadata: Option<WorkspaceMeta>,
}

#[derive(Deserialize)]
struct WorkspaceMeta {
    layers: Option<Vec<Layer>>,
}

#[derive(Deserialize)]
struct MetaPackage {
    name: String,
    dependencies: Vec<MetaDep>,
}

#[derive(Deserialize)]
struct MetaDep {
    name: String,
    kind: Option<String>,
}

/// Reads the layer table and the workspace packages from the JSON of
/// `cargo metadata --format-version 1 --no-deps`.
pub fn from_metadata(json: &str) -> Result<(Vec<Layer>, Vec<Package>), MetadataError> {
    let m: Metadata = serde_json::from_str(json)?;
    let layers = m
        .metadata
        .and_then(|w| w.layers)
        .ok_or(MetadataError::NoLayers)?;
    let packages = m
        .packages
        .into_iter()
        .map(|p| Package {
            name: p.name,
            deps: p
                .dependencies
                .into_iter()
                .map(|d| {
                    let kind = match d.kind.as_deref() {
                        Some("dev") => DepKind::Dev,
                        Some("build") => DepKind::Build,
                        _ => DepKind::Normal,
                    };
                    (d.name, kind)
                })
                .collect(),
        })
        .collect();
    Ok((layers, packages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, crates: &[&str], forbid: &[&str]) -> Layer {
        Layer {
            name: name.into(),
            crates: crates.iter().map(|s| s.to_string()).collect(),
            forbid: forbid.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn pkg(name: &str, deps: &[(&str, DepKind)]) -> Package {
        Package {
            name: name.into(),
            deps: deps.iter().map(|(d, k)| (d.to_string(), *k)).collect(),
        }
    }

    fn table() -> Vec<Layer> {
        vec![
            layer("foundation", &["model"], &[]),
            layer("engines", &["promql", "slo"], &["axum"]),
            layer("edges", &["http"], &[]),
        ]
    }

    #[test]
    fn downward_and_sideways_edges_pass() {
        let pkgs = [
            pkg("model", &[("serde", DepKind::Normal)]),
            pkg("promql", &[("model", DepKind::Normal)]),
            pkg(
                "slo",
                &[("promql", DepKind::Normal), ("model", DepKind::Dev)],
            ),
            pkg(
                "http",
                &[("slo", DepKind::Normal), ("axum", DepKind::Normal)],
            ),
        ];
        assert_eq!(check(&table(), &pkgs), vec![]);
    }

    #[test]
    fn a_deliberate_upward_edge_is_reported_with_both_layers() {
        let pkgs = [
            pkg("model", &[]),
            pkg("promql", &[("http", DepKind::Normal)]),
            pkg("slo", &[("http", DepKind::Dev)]),
            pkg("http", &[]),
        ];
        let v = check(&table(), &pkgs);
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(
            v[0].to_string(),
            "promql (engines) has a dependency on http (edges), a higher layer: move the shared code down or the caller up"
        );
        assert!(matches!(
            v[1],
            Violation::Upward {
                kind: DepKind::Dev,
                ..
            }
        ));
    }

    #[test]
    fn a_forbidden_external_crate_is_reported() {
        let pkgs = [
            pkg("model", &[]),
            pkg("promql", &[("axum", DepKind::Normal)]),
            pkg("slo", &[("axum", DepKind::Dev)]),
            pkg("http", &[]),
        ];
        let v = check(&table(), &pkgs);
        assert_eq!(v.len(), 1, "a test may use it: {v:?}");
        assert!(
            v[0].to_string()
                .contains("promql (engines) has a dependency on axum"),
            "{v:?}"
        );
    }

    #[test]
    fn unplaced_stale_and_doubly_placed_crates_are_reported() {
        let mut t = table();
        t[2].crates.push("model".into());
        t[1].crates.push("gone".into());
        let pkgs = [
            pkg("model", &[]),
            pkg("promql", &[]),
            pkg("slo", &[]),
            pkg("http", &[]),
            pkg("newcomer", &[]),
        ];
        let v = check(&t, &pkgs);
        assert!(v.contains(&Violation::PlacedTwice {
            package: "model".into()
        }));
        assert!(v.contains(&Violation::UnknownInTable {
            package: "gone".into(),
            layer: "engines".into()
        }));
        assert!(v.contains(&Violation::Unplaced {
            package: "newcomer".into()
        }));
    }

    #[test]
    fn metadata_json_is_read() {
        let json = r#"{"packages":[{"name":"a","dependencies":[{"name":"b","kind":"dev"},{"name":"c","kind":null}]}],
            "metadata":{"layers":[{"name":"low","crates":["a"]}]}}"#;
        let (layers, pkgs) = from_metadata(json).expect("parses");
        assert_eq!(layers, vec![layer("low", &["a"], &[])]);
        assert_eq!(
            pkgs[0].deps,
            vec![("b".into(), DepKind::Dev), ("c".into(), DepKind::Normal)]
        );
        assert!(matches!(
            from_metadata(r#"{"packages":[],"metadata":null}"#),
            Err(MetadataError::NoLayers)
        ));
    }
}
