//! Runs to and from their stored form (`homeostat_state::AnalysisRecord`):
//! the run without its measurements and the judge request as JSON, the
//! measurements as rows.

use homeostat_state::{AnalysisMeasurement, AnalysisRecord};

use crate::analysis::{AnalysisRun, Measurement};
use crate::judge::{Judgment, Verdict};
use crate::registry::{RunEntry, RunTarget};
use crate::source::JudgeRequest;

fn verdict_name(v: Verdict) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{v:?}"),
    }
}

pub(crate) fn to_record(e: &RunEntry) -> AnalysisRecord {
    let mut head = e.run.clone();
    let measurements = std::mem::take(&mut head.measurements)
        .into_iter()
        .map(|m| AnalysisMeasurement {
            at: m.at,
            verdict: verdict_name(m.verdict),
            score: m.score,
            reason: m.reason,
        })
        .collect();
    AnalysisRecord {
        id: e.run.id.clone(),
        service: e.target.service.clone(),
        deploy_id: e.target.deploy_id,
        phase: format!("{:?}", e.run.phase),
        started_at: e.run.started_at,
        finished_at: e.run.finished_at,
        rollback_pending: e.rollback_pending,
        // Plain data with string keys: encoding cannot fail.
        run: serde_json::to_value(&head).unwrap_or_default(),
        request: serde_json::to_value(&e.request).unwrap_or_default(),
        last: e
            .last
            .as_ref()
            .map(|j| serde_json::to_value(j).unwrap_or_default()),
        measurements,
    }
}

/// A stored run, decoded. The request is `Err` when it no longer reads
/// (or no longer validates, checked by the caller); the run is still shown.
pub(crate) struct Decoded {
    pub run: AnalysisRun,
    pub target: RunTarget,
    pub request: Result<JudgeRequest, String>,
    pub last: Option<Judgment>,
    pub rollback_pending: bool,
}

/// Decodes a stored run; `Err` when the run itself cannot be read back.
pub(crate) fn from_record(r: AnalysisRecord) -> Result<Decoded, String> {
    let mut run: AnalysisRun =
        serde_json::from_value(r.run).map_err(|e| format!("the stored run does not read: {e}"))?;
    run.measurements = r
        .measurements
        .into_iter()
        .map(|m| {
            let verdict = serde_json::from_value(serde_json::Value::String(m.verdict.clone()))
                .map_err(|_| format!("unknown verdict {:?} in a measurement", m.verdict))?;
            Ok(Measurement {
                at: m.at,
                verdict,
                score: m.score,
                reason: m.reason,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Decoded {
        run,
        target: RunTarget {
            service: r.service,
            deploy_id: r.deploy_id,
        },
        request: serde_json::from_value(r.request).map_err(|e| e.to_string()),
        // Only shown; a judgment this build cannot read is left out.
        last: r.last.and_then(|l| serde_json::from_value(l).ok()),
        rollback_pending: r.rollback_pending,
    })
}
