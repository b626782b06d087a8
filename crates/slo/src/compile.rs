//! The compiler: validated [`SloSpec`]s + [`CompileOptions`] → [`RuleFile`].
//! A pure function: no I/O, no clock.
//!
//! Per SLO it emits three groups: SLI recordings (the error ratio for every
//! alert window and for the period), metadata recordings (objective, budget,
//! period, burn rates, remaining budget, info) and the page and ticket
//! multi-window multi-burn-rate alerts. [`Mode::Sloth`] reproduces Sloth;
//! [`Mode::Homeostat`] differs as written in ADR 0006:
//!
//! - **Period SLI, events SLIs**: event-weighted. The 5m error and total
//!   rates are recorded (`slo:sli_error_events:rate5m`,
//!   `slo:sli_total_events:rate5m`) and the period ratio is
//!   `sum_over_time(errors[P]) / sum_over_time(total[P])`, i.e. all errors
//!   in the period over all events in it, not the mean of 5m ratios. Raw
//!   SLIs only give a ratio, so their period SLI stays the mean of 5m ratios.
//! - **No traffic**: every events ratio divides by
//!   `clamp_min(total, 1e-12)`; with no events the error ratio is 0 (no
//!   event failed), never NaN, so burn rates and the remaining budget stay
//!   finite. Raw queries are the user's and are not rewritten.
//! - **Pages** carry `for:` ([`CompileOptions::page_for`]) and, for events
//!   SLIs, fire only if the page-quick long window (1h for 30d) saw at least
//!   [`CompileOptions::min_page_events`] events (assuming `total_query` is a
//!   per-second rate, as in Sloth's examples).
//! - One YAML document (Prometheus reads only the first), groups named
//!   `homeostat-slo-…`, `sloth_mode` label `homeostat`.
//! - Every recording and alert carries `service` (the spec's service unless
//!   its labels set one), so alerts route and open incidents by service.

use std::collections::BTreeMap;
use std::time::Duration;

use homeostat_model::format_duration;

use crate::rules::{Mode, Rule, RuleFile, RuleGroup};
use crate::spec::{AlertTier, Budgeting, Sli, SloSpec, fill_window};
use crate::windows::{AlertWindows, Window};
use homeostat_model::gofmt::{format_f, format_g, quote};

/// How to compile.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileOptions {
    pub mode: Mode,
    /// Generator version: header comment and `sloth_version` label.
    pub version: String,
    /// Period of SLOs whose spec sets none (Sloth specs): 30 days.
    pub default_period: Duration,
    /// Alert windows by period (from windows files); periods not listed use
    /// [`AlertWindows::google`].
    pub windows: Vec<AlertWindows>,
    /// Labels added to every recorded series (Sloth's `--extra-labels`).
    pub extra_labels: BTreeMap<String, String>,
    /// Leave out the SLI and metadata recording rules.
    pub disable_recordings: bool,
    /// Leave out the alerting rules.
    pub disable_alerts: bool,
    /// Homeostat mode: `for:` on page alerts (default 2m).
    pub page_for: Option<Duration>,
    /// Homeostat mode: minimum events in the page-quick long window before
    /// an events SLI pages (default 10; 0 disables the guard).
    pub min_page_events: f64,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            mode: Mode::Homeostat,
            version: concat!("v", env!("CARGO_PKG_VERSION")).to_string(),
            default_period: Duration::from_secs(30 * 86_400),
            windows: Vec::new(),
            extra_labels: BTreeMap::new(),
            disable_recordings: false,
            disable_alerts: false,
            page_for: Some(Duration::from_secs(120)),
            min_page_events: 10.0,
        }
    }
}

const WINDOW_LABEL: &str = "sloth_window";
/// Homeostat mode: the spec's service, unless its labels set one.
const SERVICE_LABEL: &str = "service";
const ERROR_EVENTS: &str = "slo:sli_error_events:rate";
const TOTAL_EVENTS: &str = "slo:sli_total_events:rate";
const NO_TRAFFIC_FLOOR: &str = "1e-12";
/// Per-slice recordings of timeslice budgeting (`sloth_window` = the slice).
pub(crate) const SLICE_BAD: &str = "slo:sli_slice_bad:bool";
pub(crate) const SLICE_ERROR: &str = "slo:sli_slice_error:ratio";

/// Compiles the specs. Specs from the same file document share an output
/// document in Sloth mode, as Sloth writes one document per input document.
pub fn compile(specs: &[SloSpec], opts: &CompileOptions) -> RuleFile {
    let mut documents: Vec<((String, usize), Vec<RuleGroup>)> = Vec::new();
    for spec in specs {
        let key = (spec.file.clone(), spec.document);
        let groups = compile_one(spec, opts);
        match documents.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.extend(groups),
            None => documents.push((key, groups)),
        }
    }
    RuleFile {
        mode: opts.mode,
        version: opts.version.clone(),
        documents: documents.into_iter().map(|(_, g)| g).collect(),
    }
}

struct Ctx<'a> {
    spec: &'a SloSpec,
    opts: &'a CompileOptions,
    windows: AlertWindows,
    period: Duration,
    /// `{sloth_id="…", sloth_service="…", sloth_slo="…"}`
    filter: String,
    /// Labels on every recorded series of this SLO.
    labels: BTreeMap<String, String>,
}

fn compile_one(spec: &SloSpec, opts: &CompileOptions) -> Vec<RuleGroup> {
    let latency_as_events;
    let spec = if matches!(spec.sli, Sli::Latency { .. }) {
        latency_as_events = SloSpec {
            sli: spec.sli.to_events(),
            ..spec.clone()
        };
        &latency_as_events
    } else {
        spec
    };
    let period = spec.period.unwrap_or(opts.default_period);
    let windows = AlertWindows::for_period(&opts.windows, period);
    let ids = id_labels(spec);
    let filter = format!(
        "{{{}}}",
        ids.iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut labels = ids;
    labels.extend(spec.labels.clone());
    labels.extend(opts.extra_labels.clone());
    if opts.mode == Mode::Homeostat {
        // Routes, incidents, suspects and the catalog key on `service`, as
        // every other alert does; Sloth's `sloth_service` alone leaves an
        // SLO's incident without a service. Sloth mode stays Sloth's bytes.
        labels
            .entry(SERVICE_LABEL.to_string())
            .or_insert_with(|| spec.service.clone());
    }
    let cx = Ctx {
        spec,
        opts,
        windows,
        period,
        filter,
        labels,
    };
    let prefix = match opts.mode {
        Mode::Sloth => "sloth",
        Mode::Homeostat => "homeostat",
    };
    let mut groups = Vec::new();
    let mut push = |kind: &str, rules: Vec<Rule>| {
        if !rules.is_empty() {
            groups.push(RuleGroup {
                name: format!("{prefix}-slo-{kind}-{}", spec.id),
                interval: None,
                rules,
            });
        }
    };
    if !opts.disable_recordings {
        push("sli-recordings", sli_rules(&cx));
        push("meta-recordings", meta_rules(&cx));
    }
    if !opts.disable_alerts {
        push("alerts", alert_rules(&cx));
    }
    groups
}

fn id_labels(spec: &SloSpec) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("sloth_id".to_string(), spec.id.clone()),
        ("sloth_service".to_string(), spec.service.clone()),
        ("sloth_slo".to_string(), spec.name.clone()),
    ])
}

fn sli_metric(window: Duration) -> String {
    format!("slo:sli_error:ratio_rate{}", format_duration(window))
}

/// Renders `{{.window}}`; the spec loader has already checked the template.
fn render(query: &str, window: Duration) -> String {
    fill_window(query, &format_duration(window))
}

fn sli_rules(cx: &Ctx<'_>) -> Vec<Rule> {
    let homeostat = cx.opts.mode == Mode::Homeostat;
    let short = cx.windows.page_quick.short;
    let mut rules = Vec::new();
    let labels_for = |window: Duration| {
        let mut l = cx.labels.clone();
        l.insert(WINDOW_LABEL.into(), format_duration(window));
        l
    };
    let mut windows = cx.windows.all();
    windows.push(cx.period);
    let slices = match cx.spec.budgeting {
        Budgeting::Occurrences => None,
        Budgeting::Timeslices { slice, target } => Some((slice, SLICE_BAD, Some(target))),
        Budgeting::RatioTimeslices { slice } => Some((slice, SLICE_ERROR, None)),
    };
    if let Some((slice, name, target)) = slices {
        let ratio = error_ratio(&cx.spec.sli, slice, homeostat);
        let expr = match target {
            Some(t) => format!(
                "(\n{ratio}) > bool {}\n",
                format_g(round_ratio(1.0 - t), None)
            ),
            None => ratio,
        };
        rules.push(Rule {
            record: Some(name.to_string()),
            expr,
            labels: labels_for(slice),
            ..Rule::default()
        });
    }
    // The 5m event rates come first: the cascaded windows below read the
    // values recorded at this same evaluation.
    if let (
        true,
        None,
        Sli::Events {
            error_query,
            total_query,
        },
    ) = (homeostat, slices, &cx.spec.sli)
    {
        for (name, q) in [(ERROR_EVENTS, error_query), (TOTAL_EVENTS, total_query)] {
            rules.push(Rule {
                record: Some(format!("{name}{}", format_duration(short))),
                expr: render(q, short),
                labels: labels_for(short),
                ..Rule::default()
            });
        }
    }
    for &w in &windows {
        let expr = if let Some((_, name, _)) = slices {
            format!("avg_over_time({name}{}[{}])", cx.filter, format_duration(w))
        } else if w == cx.period {
            period_sli(cx, short)
        } else if cascades(cx, w) {
            cascaded_ratio(cx, short, w)
        } else {
            error_ratio(&cx.spec.sli, w, homeostat)
        };
        rules.push(Rule {
            record: Some(sli_metric(w)),
            expr,
            labels: labels_for(w),
            ..Rule::default()
        });
    }
    rules
}

/// The error ratio of the SLI over `w`.
fn error_ratio(sli: &Sli, w: Duration, homeostat: bool) -> String {
    match sli {
        Sli::Events {
            error_query,
            total_query,
        } if homeostat => format!(
            "({})\n/\nclamp_min(({}), {NO_TRAFFIC_FLOOR})\n",
            render(error_query, w),
            render(total_query, w)
        ),
        Sli::Events {
            error_query,
            total_query,
        } => render(&format!("({error_query})\n/\n({total_query})\n"), w),
        Sli::Raw { error_ratio_query } => render(&format!("({error_ratio_query})"), w),
        Sli::Latency { .. } => error_ratio(&sli.to_events(), w, homeostat),
    }
}

/// `1 - 0.95` is `0.050000000000000044`; 12 significant digits are plenty
/// for a slice threshold and print as `0.05`.
fn round_ratio(x: f64) -> f64 {
    format!("{x:.12e}").parse().unwrap_or(x)
}

/// Whether window `w` is computed from the recorded 5m event rates rather
/// than from the raw counters: in homeostat mode, for events SLIs, every
/// window longer than the page-quick long window (1h at 30d). Those are the
/// windows whose raw scan grows with traffic × length (3d of every series
/// behind the SLI, each cycle); the cascade reads two recorded series
/// instead. The 1h and shorter windows stay raw so that a fast burn pages
/// without the lag of a recording.
fn cascades(cx: &Ctx<'_>, w: Duration) -> bool {
    cx.opts.mode == Mode::Homeostat
        && matches!(cx.spec.sli, Sli::Events { .. })
        && w > cx.windows.page_quick.long
}

/// Events over `w` from the 5m event-rate recordings: summed errors over
/// summed totals (event-weighted, the same rule as the period SLI).
fn cascaded_ratio(cx: &Ctx<'_>, short: Duration, w: Duration) -> String {
    let w = format_duration(w);
    let s = format_duration(short);
    let f = &cx.filter;
    format!(
        "sum_over_time({ERROR_EVENTS}{s}{f}[{w}])\n/\nclamp_min(sum_over_time({TOTAL_EVENTS}{s}{f}[{w}]), {NO_TRAFFIC_FLOOR})\n"
    )
}

fn period_sli(cx: &Ctx<'_>, short: Duration) -> String {
    let p = format_duration(cx.period);
    let f = &cx.filter;
    match (&cx.opts.mode, &cx.spec.sli) {
        (Mode::Homeostat, Sli::Events { .. }) => cascaded_ratio(cx, short, cx.period),
        _ => {
            let m = sli_metric(short);
            format!(
                "sum_over_time({m}{f}[{p}])\n/ ignoring ({WINDOW_LABEL})\ncount_over_time({m}{f}[{p}])\n"
            )
        }
    }
}

fn meta_rules(cx: &Ctx<'_>) -> Vec<Rule> {
    let f = &cx.filter;
    let objective_ratio = cx.spec.objective / 100.0;
    let burn = |metric: String| {
        format!(
            "{metric}{f}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{f}\n"
        )
    };
    let days = go_hours(cx.period) / 24.0;
    let rule = |record: &str, expr: String| Rule {
        record: Some(record.to_string()),
        expr,
        labels: cx.labels.clone(),
        ..Rule::default()
    };
    let mut info = rule("sloth_slo_info", "vector(1)".into());
    let mode = match cx.opts.mode {
        Mode::Sloth => cx.spec.format.sloth_mode(),
        Mode::Homeostat => "homeostat",
    };
    for (k, v) in [
        ("sloth_version", cx.opts.version.clone()),
        ("sloth_mode", mode.to_string()),
        ("sloth_spec", cx.spec.format.as_str().to_string()),
        ("sloth_objective", format_f(cx.spec.objective, None)),
    ] {
        info.labels.insert(k.to_string(), v);
    }
    // Only for specs that use them, so Sloth's outputs are unchanged.
    if let Some(c) = &cx.spec.calendar {
        info.labels
            .insert("homeostat_calendar".into(), c.unit.as_str().into());
        info.labels
            .insert("homeostat_time_zone".into(), c.time_zone.clone());
    }
    let slice = match cx.spec.budgeting {
        Budgeting::Occurrences => None,
        Budgeting::Timeslices { slice, target } => Some(("timeslices", slice, Some(target))),
        Budgeting::RatioTimeslices { slice } => Some(("ratio_timeslices", slice, None)),
    };
    if let Some((method, slice, target)) = slice {
        info.labels
            .insert("homeostat_budgeting".into(), method.into());
        info.labels
            .insert("homeostat_slice".into(), format_duration(slice));
        if let Some(t) = target {
            info.labels
                .insert("homeostat_slice_target".into(), format_g(t, None));
        }
    }
    vec![
        rule(
            "slo:objective:ratio",
            format!("vector({})", format_g(objective_ratio, None)),
        ),
        rule(
            "slo:error_budget:ratio",
            format!("vector(1-{})", format_g(objective_ratio, None)),
        ),
        rule(
            "slo:time_period:days",
            format!("vector({})", format_g(days, None)),
        ),
        rule(
            "slo:current_burn_rate:ratio",
            burn(sli_metric(cx.windows.page_quick.short)),
        ),
        rule("slo:period_burn_rate:ratio", burn(sli_metric(cx.period))),
        rule(
            "slo:period_error_budget_remaining:ratio",
            format!("1 - slo:period_burn_rate:ratio{f}"),
        ),
        info,
    ]
}

fn alert_rules(cx: &Ctx<'_>) -> Vec<Rule> {
    let w = &cx.windows;
    let mut rules = Vec::new();
    if let Some(tier) = &cx.spec.page {
        rules.push(alert(cx, tier, "page", &w.page_quick, &w.page_slow));
    }
    if let Some(tier) = &cx.spec.ticket {
        rules.push(alert(cx, tier, "ticket", &w.ticket_quick, &w.ticket_slow));
    }
    rules
}

fn alert(cx: &Ctx<'_>, tier: &AlertTier, severity: &str, quick: &Window, slow: &Window) -> Rule {
    let f = &cx.filter;
    let budget = format_g((100.0 - cx.spec.objective) / 100.0, None);
    let cond = |window: Duration, factor: f64| {
        format!(
            "max({}{f} > ({} * {budget})) without ({WINDOW_LABEL})",
            sli_metric(window),
            format_g(factor, None)
        )
    };
    let pair = |win: &Window, pad: &str| {
        let factor = cx.windows.burn_factor(win);
        format!(
            "{pad}(\n{pad}    {}\n{pad}    and\n{pad}    {}\n{pad})\n",
            cond(win.short, factor),
            cond(win.long, factor)
        )
    };
    let homeostat = cx.opts.mode == Mode::Homeostat;
    let mut for_ = None;
    let expr = match (homeostat && severity == "page", &cx.spec.sli) {
        (true, sli) => {
            for_ = cx.opts.page_for;
            let mwmb = format!("(\n{}  or\n{})\n", pair(quick, "  "), pair(slow, "  "));
            match sli {
                Sli::Events { .. }
                    if cx.opts.min_page_events > 0.0
                        && cx.spec.budgeting == Budgeting::Occurrences =>
                {
                    let long = quick.long;
                    format!(
                        "{mwmb}and on(sloth_id, sloth_service, sloth_slo)\n(\n    avg_over_time({TOTAL_EVENTS}{}{f}[{}]) * {} >= {}\n)\n",
                        format_duration(cx.windows.page_quick.short),
                        format_duration(long),
                        format_g(long.as_secs_f64(), None),
                        format_g(cx.opts.min_page_events, None),
                    )
                }
                _ => mwmb,
            }
        }
        _ => format!("{}or\n{}", pair(quick, ""), pair(slow, "")),
    };
    let mut labels = BTreeMap::from([("sloth_severity".to_string(), severity.to_string())]);
    // Also in the rule's own labels (the recordings carry it too), so the
    // rule file says where the alert goes and a tier label can change it.
    if let Some(svc) = cx.labels.get(SERVICE_LABEL).filter(|_| homeostat) {
        labels.insert(SERVICE_LABEL.to_string(), svc.clone());
    }
    labels.extend(tier.labels.clone());
    let mut annotations = BTreeMap::from([
        (
            "title".to_string(),
            format!(
                "({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast."
            ),
        ),
        (
            "summary".to_string(),
            "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected."
                .to_string(),
        ),
    ]);
    annotations.extend(tier.annotations.clone());
    Rule {
        alert: Some(tier.name.clone()),
        expr,
        for_,
        labels,
        annotations,
        ..Rule::default()
    }
}

/// Go's `time.Duration.Hours()`.
fn go_hours(d: Duration) -> f64 {
    let nanos = d.as_nanos();
    let hour = 3_600_000_000_000u128;
    (nanos / hour) as f64 + (nanos % hour) as f64 / 3.6e12
}
