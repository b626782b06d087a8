//! Wire codecs: Prometheus remote-write 1.0 and remote-read (protobuf +
//! snappy), the text exposition format and OpenMetrics text, and OTLP metrics
//! (protobuf and JSON) translated to Prometheus samples. Pure functions, no I/O.

mod error;
pub mod exposition;
pub mod otlp;
pub mod remote_read;
pub mod remote_write;

pub use error::WireError;
