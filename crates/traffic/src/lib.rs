//! The HTTP traffic proxy (issue 16): routes to weighted endpoint pools
//! labelled by zone, with health checks, outlier ejection, circuit
//! breakers, fallbacks and Envoy-style HTTP faults.
