//! Pull scraping of Prometheus text and OpenMetrics targets: Prometheus's
//! `scrape_configs` format, relabelling, the synthetic series (`up`,
//! `scrape_*`) and stale markers when series or targets disappear. Samples go
//! to any [`homeostat_storage::Appender`].

mod config;
mod manager;
pub mod relabel;
mod scrape;
mod target;

pub use config::{GlobalConfig, Job, ScrapeConfig, StaticConfig, validate};
pub use manager::{
    ScrapeManager, ScrapeReloader, ScrapeStats, ScrapeStatusHandle, TargetHealth, TargetStatus,
};
pub use relabel::{RelabelConfig, RelabelRule};
pub use target::Target;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("scrape config job {job:?}: field `{field}`: {detail}")]
    Config {
        job: String,
        field: String,
        detail: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("the scrape manager has stopped")]
    Stopped,
}

impl IngestError {
    pub fn kind(&self) -> homeostat_model::ErrorKind {
        match self {
            IngestError::Config { .. } => homeostat_model::ErrorKind::InvalidInput,
            IngestError::Client(_) => homeostat_model::ErrorKind::Internal,
            IngestError::Stopped => homeostat_model::ErrorKind::Unavailable,
        }
    }
}
