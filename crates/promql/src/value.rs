//! Query results, in the four PromQL value types.

use homeostat_model::{Labels, Sample, Timestamp};

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: Timestamp,
    pub v: f64,
}

/// One series of a matrix (range query result or range vector), points ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar {
        t: Timestamp,
        v: f64,
    },
    String {
        t: Timestamp,
        s: String,
    },
    /// Sorted by labels unless the query orders it (`sort`, `topk`, …).
    Vector(Vec<InstantSample>),
    /// Sorted by labels.
    Matrix(Vec<RangeSeries>),
}

impl Value {
    /// Prometheus's `resultType` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Warnings and infos collected during evaluation (Prometheus's annotations).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Annotations {
    pub(crate) fn warn(&mut self, msg: String) {
        let msg = format!("PromQL warning: {msg}");
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }
    pub(crate) fn info(&mut self, msg: String) {
        let msg = format!("PromQL info: {msg}");
        if !self.infos.contains(&msg) {
            self.infos.push(msg);
        }
    }
}

/// What a query returns: the value, its annotations and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub value: Value,
    pub annotations: Annotations,
    /// Samples read from storage.
    pub samples_loaded: usize,
}
