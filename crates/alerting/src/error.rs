use std::fmt;
use std::path::{Path, PathBuf};

use homeostat_model::ErrorKind;

/// An Alertmanager configuration that cannot be used. The message names the
/// file (when the config came from one), the field
/// (`route.routes[1].receiver`) and what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read alertmanager config {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not YAML, or YAML that does not fit the schema (unknown field, wrong
    /// type); the message carries the line and column.
    #[error("{}{message}", Origin(path.as_deref()))]
    Syntax {
        path: Option<PathBuf>,
        message: String,
    },
    #[error("{}{field}: {message}", Origin(path.as_deref()))]
    Invalid {
        path: Option<PathBuf>,
        field: String,
        message: String,
    },
}

impl ConfigError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConfigError::Read { .. } => ErrorKind::Unavailable,
            ConfigError::Syntax { .. } | ConfigError::Invalid { .. } => ErrorKind::InvalidInput,
        }
    }

    /// The field the error is about, when it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: None,
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn with_path(mut self, source: &Path) -> Self {
        match &mut self {
            ConfigError::Syntax { path, .. } | ConfigError::Invalid { path, .. } => {
                *path = Some(source.to_path_buf());
            }
            ConfigError::Read { .. } => {}
        }
        self
    }
}

struct Origin<'a>(Option<&'a Path>);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, "{}: ", p.display()),
            None => Ok(()),
        }
    }
}
