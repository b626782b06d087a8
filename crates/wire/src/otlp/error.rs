use homeostat_model::ErrorKind;

/// Why an OTLP metrics request was refused. Every message names the metric and,
/// where there is one, the index of the data point inside that metric, because
/// the sender's operator has to find the offending instrument from a log line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OtlpError {
    #[error("invalid otlp protobuf payload: {0}")]
    Protobuf(String),
    #[error("invalid otlp json payload: {0}")]
    Json(String),
    #[error(
        "resource_metrics[{resource}].scope_metrics[{scope}].metrics[{metric}]: metric has no name"
    )]
    MissingName {
        resource: usize,
        scope: usize,
        metric: usize,
    },
    #[error("metric {metric:?}: {detail}")]
    Metric { metric: String, detail: String },
    #[error("metric {metric:?} data point {point}: {detail}")]
    Point {
        metric: String,
        point: usize,
        detail: String,
    },
}

impl OtlpError {
    /// Every OTLP failure is the sender's fault: retrying the same body cannot help.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}
