//! Canary analysis, homeostat's statistical judge: is the canary's
//! behaviour different from the baseline's, by more than we tolerate, in the
//! direction that hurts? Per metric a two-sided Mann-Whitney U test at a
//! configurable confidence (default 98 %) with a Hodges-Lehmann effect size
//! and a tolerance; per run a weighted group score with pass and marginal
//! thresholds, critical metrics that fail the run, and explicit `NoData` /
//! `TooFewSamples` outcomes that are never a silent pass.
//!
//! Progressive runs ([`AnalysisRun`]) take a judgment every interval with
//! failure and inconclusive limits, like Argo Rollouts' AnalysisRun.
//!
//! Pure: samples in, judgment out. Fetching samples (PromQL per side) is
//! the caller's job. The run registry writes runs through to a
//! `homeostat_state::AnalysisStore`, so they survive a restart.

mod analysis;
mod judge;
mod mann_whitney;
mod persist;
mod registry;
mod source;

pub use analysis::{
    AnalysisRun, MAX_COUNT, MIN_INTERVAL, Measurement, Phase, RunSpec, RunSpecError,
};
pub use judge::{
    Classification, Direction, GroupScore, JudgeConfig, JudgeError, Judgment, MetricResult,
    MetricSamples, MetricSpec, Verdict, classify, judge, score,
};
pub use mann_whitney::{
    Alternative, MannWhitney, Method, TestError, hodges_lehmann, mann_whitney_u, median,
};
pub use registry::{AnalysisRegistry, RESUMED, Recorded, Restored, RunEntry, RunTarget};
pub use source::{JudgeRequest, MetricQuery, PreparedJudge, RequestError, judge_now};
