//! The SLO meter: each SLO's error budget now (SLI, remaining budget, burn
//! rates per window, projected exhaustion, alert tiers firing, how much
//! data the budget rests on) and its burn-down since its data starts,
//! measured with PromQL over the configured querier. Behind
//! `/api/v1/slos`, the catalog, the console and the gate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use homeostat_model::{Clock, ErrorKind};
use homeostat_promql::{Engine, QueryParams, Value};
use homeostat_slo::{
    AlertWindows, BudgetStatus, STATUS_WINDOWS, SloSpec, budget_ratio_query, burn_down,
};
use homeostat_storage::Querier;

use crate::Live;

/// SLOs without a period of their own use 30 days, like the compiler.
const DEFAULT_PERIOD: Duration = Duration::from_secs(30 * 86_400);

/// Points in a burn-down chart.
const BURNDOWN_POINTS: i64 = 120;

/// The shortest window a rate is taken over when the steps are finer: a
/// `rate` needs two samples in its window, and a scrape every minute would
/// leave a 30 s window empty.
const MIN_RATE_WINDOW: Duration = Duration::from_secs(300);

/// Steps of each search for where an SLO's data starts.
const DATA_SEARCH_STEPS: i64 = 120;

/// The period an SLO's budget covers.
pub fn period_of(spec: &SloSpec) -> Duration {
    spec.period.unwrap_or(DEFAULT_PERIOD)
}

#[derive(Debug, thiserror::Error)]
pub enum SloError {
    #[error("no SLO with id {0:?}")]
    NotFound(String),
    /// A burn-down query the engine refused (the expression, then why).
    #[error("{0}")]
    Query(String),
    #[error("slo task failed: {0}")]
    Task(String),
}

impl SloError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SloError::NotFound(_) => ErrorKind::NotFound,
            SloError::Query(_) => ErrorKind::InvalidInput,
            SloError::Task(_) => ErrorKind::Internal,
        }
    }
}

/// One SLO as measured now.
#[derive(Debug, Clone)]
pub struct SloReport {
    pub spec: SloSpec,
    pub status: BudgetStatus,
    /// Severities of the SLO's burn alerts firing now (`page`, `ticket`).
    pub firing: Vec<String>,
    /// When the SLO's data starts (ms), to within a 120th of a 120th of
    /// the period; `None` without data. Before the period's start when the
    /// data covers all of it.
    pub data_since: Option<i64>,
    pub now: i64,
}

impl SloReport {
    /// How much time the budget is measured over: the period, or less
    /// when the data starts later.
    pub fn based_on(&self) -> Option<Duration> {
        based_on(self.data_since, self.now, period_of(&self.spec))
    }
}

/// How much of `period` before `now` the data since `data_since` covers.
pub fn based_on(data_since: Option<i64>, now: i64, period: Duration) -> Option<Duration> {
    let since = data_since?;
    let ms = (now - since).clamp(0, period.as_millis() as i64);
    Some(Duration::from_millis(ms as u64))
}

/// Remaining budget over the period ending now.
#[derive(Debug, Clone)]
pub struct Burndown {
    pub id: String,
    pub period: Duration,
    /// When the SLO's data starts (see [`SloReport::data_since`]).
    pub data_since: Option<i64>,
    /// `(ms since the epoch, remaining share)` per step, oldest first,
    /// from the later of the period's start and the data's start.
    pub remaining: Vec<(i64, f64)>,
}

/// Where an SLO's data was found to start, for the query it was found with.
#[derive(Debug, Clone)]
struct DataStart {
    query: String,
    since: Option<i64>,
}

/// Measures SLO budgets. The SLO list and the alert windows are swapped at
/// a reload; every measurement reads them once.
pub struct SloMeter {
    engine: Engine,
    querier: Arc<dyn Querier>,
    clock: Arc<dyn Clock>,
    specs: Arc<Live<Vec<SloSpec>>>,
    windows: Arc<Live<Vec<AlertWindows>>>,
    /// Per SLO id. Data that exists keeps existing, so a start once found
    /// stays true; a search that found nothing is repeated only once a
    /// measurement sees data.
    data_starts: Mutex<HashMap<String, DataStart>>,
}

impl SloMeter {
    pub fn new(
        engine: Engine,
        querier: Arc<dyn Querier>,
        clock: Arc<dyn Clock>,
        specs: Arc<Live<Vec<SloSpec>>>,
        windows: Arc<Live<Vec<AlertWindows>>>,
    ) -> Self {
        Self {
            engine,
            querier,
            clock,
            specs,
            windows,
            data_starts: Mutex::new(HashMap::new()),
        }
    }

    /// The SLOs in effect now.
    pub fn specs(&self) -> Arc<Vec<SloSpec>> {
        self.specs.get()
    }

    /// `slo_windows`: the burn-rate windows the alerts were compiled with.
    pub fn windows(&self) -> Arc<Vec<AlertWindows>> {
        self.windows.get()
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// One SLO's budget at `now` and the alert tiers firing. Runs PromQL:
    /// call it on a blocking thread.
    pub fn measure(&self, spec: &SloSpec, now: i64) -> (BudgetStatus, Vec<String>) {
        let windows = self.windows.get();
        let alert = AlertWindows::for_period(&windows, period_of(spec));
        measure(&self.engine, self.querier.as_ref(), spec, &alert, now)
    }

    /// When `spec`'s data starts, searched once and then remembered (see
    /// `data_starts`). `has_data`: whether a measurement just now saw any.
    /// Runs PromQL: call it on a blocking thread.
    pub fn data_since(&self, spec: &SloSpec, now: i64, has_data: bool) -> Option<i64> {
        let period = period_of(spec);
        let query = budget_ratio_query(spec, period);
        if let Some(known) = self.data_starts.lock().get(&spec.id)
            && known.query == query
            && (known.since.is_some() || !has_data)
        {
            return known.since;
        }
        let since = self.search_data_start(spec, now, period);
        self.data_starts
            .lock()
            .insert(spec.id.clone(), DataStart { query, since });
        since
    }

    /// Two range queries of the SLO's error ratio: over the period in 120
    /// steps, then in 120 steps across the first step that had data.
    fn search_data_start(&self, spec: &SloSpec, now: i64, period: Duration) -> Option<i64> {
        let (e, q) = (&self.engine, self.querier.as_ref());
        let first = |start: i64, end: i64| -> Option<i64> {
            let step_ms = ((end - start) / DATA_SEARCH_STEPS).max(1000);
            let step = Duration::from_millis(step_ms as u64);
            let expr = budget_ratio_query(spec, step.max(MIN_RATE_WINDOW));
            let out = e
                .range_query(q, &expr, start, end, step, &QueryParams::default())
                .ok()?;
            let Value::Matrix(m) = out.value else {
                return None;
            };
            m.iter()
                .filter_map(|s| s.samples.first().map(|p| p.t))
                .min()
        };
        let period_ms = period.as_millis() as i64;
        let coarse_step = (period_ms / DATA_SEARCH_STEPS).max(1000);
        let coarse = first(now - period_ms, now)?;
        // The window ending at `coarse` holds the first samples; a finer
        // search across it finds them to a 120th of a step.
        let window = Duration::from_millis(coarse_step as u64).max(MIN_RATE_WINDOW);
        let from = coarse - window.as_millis() as i64;
        Some(first(from, coarse).unwrap_or(coarse))
    }

    /// Every SLO measured now.
    pub async fn list(self: &Arc<Self>) -> Result<Vec<SloReport>, SloError> {
        let now = self.now();
        let specs = self.specs();
        self.blocking(move |m| {
            specs
                .iter()
                .map(|spec| m.report(spec.clone(), now))
                .collect()
        })
        .await
    }

    /// One SLO measured now.
    pub async fn get(self: &Arc<Self>, id: &str) -> Result<SloReport, SloError> {
        let spec = self.find(id)?;
        let now = self.now();
        self.blocking(move |m| m.report(spec, now)).await
    }

    /// The remaining budget (1 = 100%) at [`BURNDOWN_POINTS`] steps from
    /// the later of the period's start and the data's start to now: a
    /// budget measured over 7 hours is charted over those 7 hours, not
    /// as 29 days of an untouched budget before them.
    pub async fn burndown(self: &Arc<Self>, id: &str) -> Result<Burndown, SloError> {
        let spec = self.find(id)?;
        let now = self.now();
        let period = period_of(&spec);
        let (data_since, remaining) = self
            .blocking(move |m| {
                let since = m.data_since(&spec, now, false);
                let from = since.map_or(now - period.as_millis() as i64, |s| {
                    s.max(now - period.as_millis() as i64)
                });
                let step_ms = ((now - from) / (BURNDOWN_POINTS - 1)).max(1000);
                let start = now - step_ms * (BURNDOWN_POINTS - 1);
                let values = m.burndown_values(&spec, start, now, step_ms)?;
                let points = values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (start + i as i64 * step_ms, v))
                    .collect::<Vec<_>>();
                Ok::<_, SloError>((since, points))
            })
            .await??;
        Ok(Burndown {
            id: id.to_string(),
            period,
            data_since,
            remaining,
        })
    }

    fn find(&self, id: &str) -> Result<SloSpec, SloError> {
        self.specs
            .get()
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or_else(|| SloError::NotFound(id.to_string()))
    }

    fn report(&self, spec: SloSpec, now: i64) -> SloReport {
        let (status, firing) = self.measure(&spec, now);
        let data_since = self.data_since(&spec, now, status.sli.is_some());
        SloReport {
            spec,
            status,
            firing,
            data_since,
            now,
        }
    }

    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&SloMeter) -> T + Send + 'static,
    ) -> Result<T, SloError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| SloError::Task(e.to_string()))
    }

    fn burndown_values(
        &self,
        spec: &SloSpec,
        start: i64,
        now: i64,
        step_ms: i64,
    ) -> Result<Vec<f64>, SloError> {
        let (e, q) = (&self.engine, self.querier.as_ref());
        let step = Duration::from_millis(step_ms as u64);
        // Steps finer than a rate window still read a window wide enough
        // for two samples; each step counts its share at that rate.
        let window = step.max(MIN_RATE_WINDOW);
        let Some((err_q, tot_q)) = homeostat_slo::event_rate_queries(spec, window) else {
            // Raw SLIs and timeslice budgets: the bad share per step, each
            // step weighing the same.
            let series = range_values(e, q, &budget_ratio_query(spec, window), start, now, step)?;
            let totals = vec![1.0; series.len()];
            return Ok(burn_down(spec.objective, &series, &totals));
        };
        // Rates per second over each slice → events per slice.
        let secs = step.as_secs_f64();
        let errs: Vec<f64> = range_values(e, q, &err_q, start, now, step)?
            .into_iter()
            .map(|r| r * secs)
            .collect();
        let tots: Vec<f64> = range_values(e, q, &tot_q, start, now, step)?
            .into_iter()
            .map(|r| r * secs)
            .collect();
        Ok(burn_down(spec.objective, &errs, &tots))
    }
}

/// The first value of an instant query, `None` without data or on NaN.
fn scalar_of(engine: &Engine, q: &dyn Querier, expr: &str, t: i64) -> Option<f64> {
    engine.instant_scalar(q, expr, t)
}

/// The windows burn rates are reported for: the fixed [`STATUS_WINDOWS`]
/// and every window the SLO's alerts watch (1m/12m under fast
/// `slo_windows`), shortest first, none twice.
pub fn burn_windows(alert: &AlertWindows) -> Vec<Duration> {
    let mut out: Vec<Duration> = STATUS_WINDOWS.to_vec();
    for w in [
        alert.page_quick,
        alert.page_slow,
        alert.ticket_quick,
        alert.ticket_slow,
    ] {
        out.extend([w.short, w.long]);
    }
    out.sort();
    out.dedup();
    out
}

fn measure(
    engine: &Engine,
    q: &dyn Querier,
    spec: &SloSpec,
    alert: &AlertWindows,
    now: i64,
) -> (BudgetStatus, Vec<String>) {
    let period = period_of(spec);
    let period_ratio = scalar_of(engine, q, &budget_ratio_query(spec, period), now);
    let windows: Vec<(Duration, Option<f64>)> = burn_windows(alert)
        .into_iter()
        .map(|w| (w, scalar_of(engine, q, &budget_ratio_query(spec, w), now)))
        .collect();
    let status = BudgetStatus::compute(spec.objective, period, period_ratio, &windows, now);
    // The alert tiers firing now, as the rule engine records them.
    let firing = engine
        .instant_query(
            q,
            &format!(
                "ALERTS{{sloth_id=\"{}\", alertstate=\"firing\"}}",
                spec.id.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            now,
            &QueryParams::default(),
        )
        .ok()
        .and_then(|o| match o.value {
            Value::Vector(v) => Some(
                v.iter()
                    .filter_map(|s| s.labels.get("sloth_severity").map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    (status, firing)
}

/// The first series of a range query as one value per step (0 where absent).
fn range_values(
    e: &Engine,
    q: &dyn Querier,
    expr: &str,
    start: i64,
    end: i64,
    step: Duration,
) -> Result<Vec<f64>, SloError> {
    let out = e
        .range_query(q, expr, start, end, step, &QueryParams::default())
        .map_err(|err| SloError::Query(format!("{expr}: {err}")))?;
    let step_ms = step.as_millis() as i64;
    let n = ((end - start) / step_ms + 1) as usize;
    let mut vals = vec![0.0; n];
    if let Value::Matrix(m) = out.value
        && let Some(series) = m.first()
    {
        for p in &series.samples {
            let i = ((p.t - start) / step_ms) as usize;
            if i < n && p.v.is_finite() {
                vals[i] = p.v;
            }
        }
    }
    Ok(vals)
}
