//! `state:`: where silences, the notification log, incidents, deploys and
//! the audit log live: SQLite in the data directory (the default), or a
//! PostgreSQL database that several replicas share (docs/state.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use homeostat_model::{FieldError, Secret};
use homeostat_state_pg::PgOptions;
use serde::Deserialize;

use super::{duration_or, positive};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSection {
    /// `sqlite` (default) or `postgres`.
    pub backend: Option<String>,
    /// `postgres://user:pass@host:port/db?…` or `host=… dbname=…`.
    pub dsn: Option<Secret>,
    /// A file holding the DSN (relative to the config file), to keep the
    /// password out of the config.
    pub dsn_file: Option<PathBuf>,
    pub pool_size: Option<usize>,
    pub connect_timeout: Option<String>,
    pub statement_timeout: Option<String>,
}

/// The validated `state:` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StateConfig {
    /// `<data_dir>/state.db`.
    #[default]
    Sqlite,
    Postgres {
        dsn: Secret,
        options: PgOptions,
    },
}

impl StateConfig {
    /// Where the state lives, as it may be shown (no password).
    pub fn describe(&self, data_dir: &Path) -> String {
        match self {
            StateConfig::Sqlite => format!(
                "sqlite:{}",
                data_dir.join(homeostat_state_sql::DB_FILE).display()
            ),
            StateConfig::Postgres { dsn, .. } => homeostat_state_pg::masked_dsn(dsn.expose())
                .unwrap_or_else(|_| "postgres (unparsable DSN)".to_string()),
        }
    }
}

impl StateSection {
    /// `config_path` is the file the section came from: `dsn_file` is
    /// relative to it.
    pub(super) fn validate(&self, config_path: &str) -> Result<StateConfig, FieldError> {
        match self.backend.as_deref().unwrap_or("sqlite") {
            "sqlite" => {
                if self.dsn.is_some() || self.dsn_file.is_some() {
                    return Err(FieldError::new(
                        "state.dsn",
                        "is only for backend: postgres; remove it or set state.backend: postgres",
                    ));
                }
                Ok(StateConfig::Sqlite)
            }
            "postgres" => self.postgres(config_path),
            other => Err(FieldError::new(
                "state.backend",
                format!("unknown backend {other:?}; expected sqlite or postgres"),
            )),
        }
    }

    fn postgres(&self, config_path: &str) -> Result<StateConfig, FieldError> {
        let dsn = match (&self.dsn, &self.dsn_file) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "state.dsn_file",
                    "set either state.dsn or state.dsn_file, not both",
                ));
            }
            (Some(d), None) => d.clone(),
            (None, Some(f)) => read_dsn_file(f, config_path)?,
            (None, None) => {
                return Err(FieldError::new(
                    "state.dsn",
                    "backend postgres needs state.dsn or state.dsn_file",
                ));
            }
        };
        // The parser's complaint names the option, never its value.
        homeostat_state_pg::masked_dsn(dsn.expose())
            .map_err(|e| FieldError::new("state.dsn", e.to_string()))?;
        let pool_size = positive("state.pool_size", self.pool_size.unwrap_or(8))?;
        let connect_timeout = duration_or("state.connect_timeout", &self.connect_timeout, "5s")?;
        let statement_timeout =
            duration_or("state.statement_timeout", &self.statement_timeout, "10s")?;
        Ok(StateConfig::Postgres {
            dsn,
            options: PgOptions {
                pool_size,
                connect_timeout,
                acquire_timeout: statement_timeout.max(Duration::from_secs(5)),
                statement_timeout,
            },
        })
    }
}

fn read_dsn_file(file: &Path, config_path: &str) -> Result<Secret, FieldError> {
    let base = Path::new(config_path).parent().unwrap_or(Path::new(""));
    let path = if file.is_absolute() {
        file.to_path_buf()
    } else {
        base.join(file)
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        FieldError::new(
            "state.dsn_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let dsn = text.trim();
    if dsn.is_empty() {
        return Err(FieldError::new(
            "state.dsn_file",
            format!("{} is empty", path.display()),
        ));
    }
    Ok(Secret::from(dsn))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn section(yaml: &str) -> StateSection {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn sqlite_is_the_default() {
        assert_eq!(
            StateSection::default().validate("x.yaml").unwrap(),
            StateConfig::Sqlite
        );
    }

    #[test]
    fn postgres_takes_a_dsn_with_defaults() {
        let c = section("{backend: postgres, dsn: 'postgres://hs:s3cret@db:5432/st'}")
            .validate("x.yaml")
            .unwrap();
        let StateConfig::Postgres { dsn, options } = &c else {
            panic!("{c:?}")
        };
        assert_eq!(dsn.expose(), "postgres://hs:s3cret@db:5432/st");
        assert_eq!(options.pool_size, 8);
        assert_eq!(options.connect_timeout, Duration::from_secs(5));
        assert_eq!(options.statement_timeout, Duration::from_secs(10));
        assert_eq!(c.describe(Path::new("d")), "postgres://hs@db:5432/st");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn the_dsn_file_is_read_relative_to_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dsn"), "host=db user=hs password=s3cret\n").unwrap();
        let cfg = dir.path().join("homeostat.yaml");
        let c = section("{backend: postgres, dsn_file: dsn, pool_size: 2}")
            .validate(cfg.to_str().unwrap())
            .unwrap();
        let StateConfig::Postgres { dsn, options } = c else {
            panic!()
        };
        assert_eq!(dsn.expose(), "host=db user=hs password=s3cret");
        assert_eq!(options.pool_size, 2);
    }

    #[test]
    fn errors_name_the_field_and_never_the_password() {
        let cases = [
            ("{backend: mysql}", "state.backend"),
            ("{backend: postgres}", "state.dsn"),
            ("{dsn: 'postgres://a@b/c'}", "state.dsn"),
            (
                "{backend: postgres, dsn: 'host=h port=x password=s3cret'}",
                "state.dsn",
            ),
            ("{backend: postgres, dsn: x, dsn_file: y}", "state.dsn_file"),
            (
                "{backend: postgres, dsn_file: /nonexistent/dsn}",
                "state.dsn_file",
            ),
            (
                "{backend: postgres, dsn: 'host=h', pool_size: 0}",
                "state.pool_size",
            ),
            (
                "{backend: postgres, dsn: 'host=h', statement_timeout: 0s}",
                "state.statement_timeout",
            ),
        ];
        for (yaml, field) in cases {
            let e = section(yaml).validate("x.yaml").unwrap_err();
            assert_eq!(e.field, field, "{yaml}");
            assert!(!e.detail().contains("s3cret"), "{yaml}: {}", e.detail());
        }
    }
}
