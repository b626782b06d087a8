//! SLO specs: the validated domain type [`SloSpec`] and [`load_specs`],
//! which reads homeostat `homeostat/v1`, Sloth `prometheus/v1` and OpenSLO
//! `openslo/v1` and `openslo/v1alpha`
//! documents (several per file, separated by `---`).
//!
//! The file formats are serde types with `deny_unknown_fields` in
//! `spec/homeostat.rs`, `spec/sloth.rs`, `spec/openslo.rs` and
//! `spec/openslo_v1.rs`; they are validated into
//! [`SloSpec`] here and never reach the compiler.

mod homeostat;
mod openslo;
mod openslo_v1;
mod sloth;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use homeostat_model::template::{self, Escape, Template};

use crate::error::SpecError;

/// The spec format a [`SloSpec`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// Sloth's `version: prometheus/v1`.
    SlothV1,
    /// OpenSLO `apiVersion: openslo/v1alpha`, `kind: SLO`.
    OpenSloV1Alpha,
    /// OpenSLO `apiVersion: openslo/v1` (`SLO`, `SLI`, `AlertPolicy`,
    /// `AlertCondition`, `DataSource`).
    OpenSloV1,
    /// homeostat's own `apiVersion: homeostat/v1` (docs/slo-spec.md).
    HomeostatV1,
}

impl SpecFormat {
    /// The version string as written in the spec (`sloth_spec` label).
    pub fn as_str(self) -> &'static str {
        match self {
            SpecFormat::SlothV1 => "prometheus/v1",
            SpecFormat::OpenSloV1Alpha => "openslo/v1alpha",
            SpecFormat::OpenSloV1 => "openslo/v1",
            SpecFormat::HomeostatV1 => "homeostat/v1",
        }
    }

    /// Sloth's `sloth_mode` label value for this input.
    pub(crate) fn sloth_mode(self) -> &'static str {
        match self {
            SpecFormat::SlothV1 => "cli-gen-prom",
            SpecFormat::OpenSloV1Alpha | SpecFormat::OpenSloV1 => "cli-gen-openslo",
            SpecFormat::HomeostatV1 => "cli-gen-homeostat",
        }
    }
}

/// One validated SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    /// The file (or name) it was loaded from, for messages.
    pub file: String,
    /// 0-based YAML document index within the file.
    pub document: usize,
    pub format: SpecFormat,
    /// `<service>-<name>`: unique across everything loaded together.
    pub id: String,
    pub service: String,
    pub name: String,
    pub description: String,
    /// Objective in percent, `0 < objective < 100`.
    pub objective: f64,
    /// The SLO period when the spec sets one (OpenSLO `timeWindows`);
    /// otherwise the compiler's default period applies. For a calendar
    /// period this is its fixed-length equivalent (30d, 7d).
    pub period: Option<Duration>,
    /// Set when the period is a calendar month or week rather than rolling.
    pub calendar: Option<Calendar>,
    /// How the error budget counts: events or time slices.
    pub budgeting: Budgeting,
    /// Labels on every recorded series (spec labels, then SLO labels).
    pub labels: BTreeMap<String, String>,
    pub sli: Sli,
    /// `None` when the tier is disabled.
    pub page: Option<AlertTier>,
    pub ticket: Option<AlertTier>,
}

/// How the error ratio is measured. Queries contain `{{.window}}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    /// Bad events over all events.
    Events {
        error_query: String,
        total_query: String,
    },
    /// A query that already is the error ratio.
    Raw { error_ratio_query: String },
    /// Requests slower than a histogram bucket boundary over all requests;
    /// the compiler turns it into [`Sli::Events`] ([`Sli::to_events`]).
    Latency {
        /// The histogram's base name (`http_request_duration_seconds`): the
        /// `_bucket` and `_count` series are read.
        metric: String,
        /// Label matchers without braces (`job="api"`), possibly empty.
        matchers: String,
        /// The `le` matcher of the threshold bucket without the label name:
        /// `="0.3"`, or `=~"1|1.0"` for an integer boundary.
        le_match: String,
    },
}

impl Sli {
    /// The events form of a latency SLI: errors are all requests minus the
    /// ones in the threshold bucket (`le` is cumulative), total is `_count`.
    /// Other SLIs are returned unchanged.
    pub fn to_events(&self) -> Sli {
        match self {
            Sli::Latency {
                metric,
                matchers,
                le_match,
            } => {
                let sep = if matchers.is_empty() { "" } else { ", " };
                let total = format!("sum(rate({metric}_count{{{matchers}}}[{{{{.window}}}}]))");
                let good = format!(
                    "sum(rate({metric}_bucket{{{matchers}{sep}le{le_match}}}[{{{{.window}}}}]))"
                );
                Sli::Events {
                    error_query: format!("{total} - {good}"),
                    total_query: total,
                }
            }
            other => other.clone(),
        }
    }
}

/// How the error budget is counted (OpenSLO's budgeting methods).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Budgeting {
    /// Bad events over all events.
    #[default]
    Occurrences,
    /// The share of bad time slices: a slice is good when its good ratio is
    /// at least `target` (0..1).
    Timeslices { slice: Duration, target: f64 },
    /// The mean of the per-slice error ratios.
    RatioTimeslices { slice: Duration },
}

/// A calendar-aligned period.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub unit: CalendarUnit,
    /// An IANA time zone name (`Europe/Paris`), checked at load.
    pub time_zone: String,
}

/// The length of a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    Month,
    Week,
}

impl CalendarUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarUnit::Month => "month",
            CalendarUnit::Week => "week",
        }
    }

    /// The fixed length the compiler uses for burn-rate windows and the
    /// period SLI: 30 days for a month, 7 for a week.
    pub fn fixed_length(self) -> Duration {
        match self {
            CalendarUnit::Month => Duration::from_secs(30 * 86_400),
            CalendarUnit::Week => Duration::from_secs(7 * 86_400),
        }
    }
}

/// One alert tier (page or ticket) of an SLO.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertTier {
    /// The alert name (`alert:`).
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

const SUPPORTED: &str = "`apiVersion: homeostat/v1`, `version: prometheus/v1` (Sloth), `apiVersion: openslo/v1` or `apiVersion: openslo/v1alpha` (OpenSLO)";

/// Reads and validates every SLO in the file at `path`; OpenSLO references
/// must resolve within the file (see [`load_specs_files`]).
pub fn load_specs_file(path: &Path) -> Result<Vec<SloSpec>, SpecError> {
    load_specs_files(&[path])
}

/// Reads and validates every SLO in the files at `paths` as one set:
/// OpenSLO v1 references (`indicatorRef`, `metricSourceRef`,
/// `alertPolicyRef`, `conditionRef`) resolve across all of them, and SLO
/// ids must be unique across all of them.
pub fn load_specs_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<SloSpec>, SpecError> {
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        let file = path.as_ref().display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            file: file.clone(),
            source,
        })?;
        sources.push((file, text));
    }
    load_sources(&sources)
}

/// Validates every SLO in `text` (one or more YAML documents separated by
/// `---` lines); `file` names the source in errors. SLO ids must be unique.
pub fn load_specs(text: &str, file: &str) -> Result<Vec<SloSpec>, SpecError> {
    load_sources(&[(file.to_string(), text.to_string())])
}

/// `(file name, text)` pairs loaded as one set.
fn load_sources(sources: &[(String, String)]) -> Result<Vec<SloSpec>, SpecError> {
    let mut specs = Vec::new();
    let mut openslo_v1 = Vec::new();
    for (file, text) in sources {
        load_text(text, file, &mut specs, &mut openslo_v1)?;
    }
    specs.extend(openslo_v1::resolve(&openslo_v1)?);
    check_unique(&specs)?;
    Ok(specs)
}

fn load_text(
    text: &str,
    file: &str,
    specs: &mut Vec<SloSpec>,
    openslo_v1: &mut Vec<openslo_v1::Entry>,
) -> Result<(), SpecError> {
    for (document, (first_line, chunk)) in split_documents(text).into_iter().enumerate() {
        let ctx = DocCtx {
            file,
            document,
            first_line,
        };
        let value: serde_norway::Value =
            serde_norway::from_str(chunk).map_err(|e| ctx.yaml_error(&e))?;
        if value.is_null() {
            continue;
        }
        let str_key = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(version) = value.get("version") {
            match version.as_str() {
                Some("prometheus/v1") => specs.extend(sloth::load(chunk, &ctx)?),
                _ => {
                    return Err(SpecError::UnknownVersion {
                        file: file.to_string(),
                        field: ctx.field("version"),
                        found: str_key("version").unwrap_or_else(|| format!("{version:?}")),
                        supported: SUPPORTED.to_string(),
                    });
                }
            }
        } else if let Some(api) = str_key("apiVersion") {
            match api.as_str() {
                "openslo/v1alpha" => specs.extend(openslo::load(chunk, &ctx)?),
                "openslo/v1" => openslo_v1.push(openslo_v1::parse_document(chunk, &ctx)?),
                "homeostat/v1" => specs.extend(homeostat::load(chunk, &ctx)?),
                _ => {
                    return Err(SpecError::UnknownVersion {
                        file: file.to_string(),
                        field: ctx.field("apiVersion"),
                        found: api,
                        supported: SUPPORTED.to_string(),
                    });
                }
            }
        } else {
            return Err(SpecError::invalid(
                file,
                ctx.field("version"),
                "missing spec version",
                format!("start the document with {SUPPORTED}"),
            ));
        }
    }
    Ok(())
}

fn check_unique(specs: &[SloSpec]) -> Result<(), SpecError> {
    let mut seen: HashMap<&str, &SloSpec> = HashMap::new();
    for s in specs {
        if let Some(first) = seen.insert(&s.id, s) {
            return Err(SpecError::Duplicate {
                file: s.file.clone(),
                field: doc_field(s.document, "slos"),
                id: s.id.clone(),
                first_file: format!("{} document {}", first.file, first.document + 1),
            });
        }
    }
    Ok(())
}

/// Splits on lines that are exactly `---` (optionally followed by spaces or
/// a comment); returns each document's first line number (1-based) and text.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        let is_sep = bare == "---"
            || bare
                .strip_prefix("---")
                .is_some_and(|r| r.starts_with(' ') && r.trim_start().starts_with('#'));
        if is_sep {
            if !text[start..offset].trim().is_empty() || !docs.is_empty() || start > 0 {
                docs.push((start_line, &text[start..offset]));
            }
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    docs.push((start_line, &text[start..]));
    docs.retain(|(_, d)| !d.trim().is_empty());
    docs
}

/// Where a document sits, for error messages.
pub(crate) struct DocCtx<'a> {
    pub(crate) file: &'a str,
    pub(crate) document: usize,
    pub(crate) first_line: usize,
}

impl DocCtx<'_> {
    /// The checks every service-with-`slos[]` format shares: a service
    /// name, valid labels, at least one SLO.
    pub(crate) fn check_service(
        &self,
        service: &str,
        labels: &BTreeMap<String, String>,
        slos: usize,
    ) -> Result<(), SpecError> {
        if service.trim().is_empty() {
            return Err(self.invalid("service", "missing service name", "set `service: <name>`"));
        }
        self.check_labels("labels", labels, "label")?;
        if slos == 0 {
            return Err(self.invalid("slos", "no SLOs", "add at least one entry under `slos:`"));
        }
        Ok(())
    }

    /// Name, objective and labels of `slos[i]`; returns the objective.
    pub(crate) fn check_slo(
        &self,
        i: usize,
        name: &str,
        objective: Option<f64>,
        labels: &BTreeMap<String, String>,
    ) -> Result<f64, SpecError> {
        let at = |f: &str| format!("slos[{i}].{f}");
        if name.trim().is_empty() {
            return Err(self.invalid(&at("name"), "missing SLO name", "set `name: <slo name>`"));
        }
        let objective = objective.ok_or_else(|| {
            self.invalid(
                &at("objective"),
                "missing objective",
                "set `objective: 99.9` (percent)",
            )
        })?;
        self.check_percent_field(&at("objective"), objective)?;
        self.check_labels(&at("labels"), labels, "label")?;
        Ok(objective)
    }

    pub(crate) fn field(&self, path: &str) -> String {
        doc_field(self.document, path)
    }

    pub(crate) fn yaml_error(&self, e: &serde_norway::Error) -> SpecError {
        let mut location = format!("document {}", self.document + 1);
        let mut message = e.to_string();
        if let Some(loc) = e.location() {
            location.push_str(&format!(
                ", line {} column {}",
                loc.line() + self.first_line - 1,
                loc.column()
            ));
            // serde_norway appends " at line L column C" for the chunk; drop it.
            if let Some(i) = message.rfind(" at line ") {
                message.truncate(i);
            }
        }
        SpecError::Yaml {
            file: self.file.to_string(),
            location,
            message,
        }
    }

    pub(crate) fn invalid(
        &self,
        path: &str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> SpecError {
        SpecError::invalid(self.file, self.field(path), problem, fix)
    }

    /// Checks a query: `{{.window}}` present, nothing else templated, and
    /// valid PromQL once the window is filled in.
    pub(crate) fn check_query(&self, path: &str, query: &str) -> Result<(), SpecError> {
        if query.trim().is_empty() {
            return Err(self.invalid(
                path,
                "empty query",
                "write a PromQL query using `[{{.window}}]`",
            ));
        }
        let template = Template::parse(query, &[WINDOW]).map_err(|e| {
            self.invalid(path, e.to_string(), "use only `{{.window}}` inside `{{ }}`")
        })?;
        if !template.uses(WINDOW) {
            return Err(self.invalid(
                path,
                "the query has no `{{.window}}` placeholder, so every alert window would measure the same range",
                "write the range as `[{{.window}}]`, e.g. `sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))`",
            ));
        }
        let render = |window: &str| {
            template
                .render(&[(WINDOW, window)], Escape::None)
                .map_err(|e| {
                    self.invalid(path, e.to_string(), "use only `{{.window}}` inside `{{ }}`")
                })
        };
        // The window is written as `1m` zero-padded to the placeholder's
        // width, so that the parser's line:column points into the query as
        // the user wrote it.
        let bare = render("")?.len();
        let uses = render("x")?.len() - bare;
        let width = query
            .len()
            .saturating_sub(bare)
            .checked_div(uses)
            .unwrap_or(2);
        let window = format!("{:0>width$}", "1m", width = width.max(2));
        homeostat_promql::parse(&render(&window)?).map_err(|e| {
            self.invalid(
                path,
                format!("invalid PromQL: {e}"),
                "fix the query so that it parses (check it with `{{.window}}` replaced by `1m`)",
            )
        })?;
        Ok(())
    }

    pub(crate) fn check_labels(
        &self,
        path: &str,
        labels: &BTreeMap<String, String>,
        what: &str,
    ) -> Result<(), SpecError> {
        for name in labels.keys() {
            if !homeostat_model::is_valid_label_name(name) || name == "__name__" {
                return Err(self.invalid(
                    &format!("{path}.{name}"),
                    format!("{name:?} is not a valid {what} name"),
                    "use letters, digits and `_`, not starting with a digit (and not `__name__`)",
                ));
            }
        }
        Ok(())
    }

    /// An objective written in percent by the user (`objective`,
    /// `targetPercent`). A value below 1 is refused although it is in
    /// range: nobody means 0.999 %, they wrote the ratio of 99.9 %.
    pub(crate) fn check_percent_field(&self, path: &str, objective: f64) -> Result<(), SpecError> {
        if objective > 0.0 && objective < 1.0 {
            let key = path.rsplit('.').next().unwrap_or(path);
            // Rounded so that 0.999 reads as 99.9, not 99.89999999999999.
            let percent = (objective * 100.0 * 1e9).round() / 1e9;
            return Err(self.invalid(
                path,
                format!("{key} {objective} is a ratio, not a percentage"),
                format!("{key} is a percentage: write {percent}"),
            ));
        }
        self.check_objective(path, objective, "")
    }

    pub(crate) fn check_objective(
        &self,
        path: &str,
        objective: f64,
        unit: &str,
    ) -> Result<(), SpecError> {
        if !(objective > 0.0 && objective < 100.0) {
            return Err(self.invalid(
                path,
                format!("objective {objective}{unit} is out of range"),
                "use a percentage above 0 and below 100, e.g. 99.9 (100 leaves no error budget)",
            ));
        }
        Ok(())
    }
}

fn doc_field(document: usize, path: &str) -> String {
    if document == 0 {
        path.to_string()
    } else {
        format!("document {}, {path}", document + 1)
    }
}

/// The one placeholder of SLI queries.
const WINDOW: &str = "window";

/// Fills `{{.window}}` of a query [`check_query`](DocCtx::check_query)
/// accepted. The window is a duration homeostat renders (`5m`), written
/// as is inside `[…]`. A query that somehow does not render is passed
/// through for PromQL to report.
pub(crate) fn fill_window(query: &str, window: &str) -> String {
    template::render(query, &[(WINDOW, window)], Escape::None).unwrap_or_else(|_| query.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_keeps_line_numbers() {
        let docs = split_documents("a: 1\n---\nb: 2\n\n---\n---\nc: 3\n");
        assert_eq!(docs, vec![(1, "a: 1\n"), (3, "b: 2\n\n"), (7, "c: 3\n")]);
        let docs = split_documents("---\na: 1\n");
        assert_eq!(docs, vec![(2, "a: 1\n")]);
    }
}
