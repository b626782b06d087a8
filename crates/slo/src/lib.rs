//! SLOs and error budgets, the pure core: read SLO specs (homeostat's own
//! `homeostat/v1`, Sloth `prometheus/v1`, OpenSLO `openslo/v1` and
//! `openslo/v1alpha`; `docs/slo-spec.md`), validate them into
//! [`SloSpec`]s with errors that name the file, the field and the fix, and
//! compile them into Prometheus recording and alerting rules — in Sloth's
//! exact bytes ([`Mode::Sloth`]) or homeostat's corrected form
//! ([`Mode::Homeostat`], see ADR 0006).
//!
//! No I/O beyond [`load_specs_file`] and [`load_specs_files`], no clock, no
//! HTTP.
//!
//! ```
//! use homeostat_slo::{CompileOptions, Mode, compile, load_specs};
//! let yaml = r#"
//! version: prometheus/v1
//! service: api
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       events:
//!         error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
//!         total_query: sum(rate(http_requests_total[{{.window}}]))
//!     alerting:
//!       name: ApiAvailability
//! "#;
//! let specs = load_specs(yaml, "api.yaml").unwrap();
//! let opts = CompileOptions { mode: Mode::Sloth, ..CompileOptions::default() };
//! let rules = compile(&specs, &opts);
//! assert!(rules.to_yaml().contains("slo:sli_error:ratio_rate5m"));
//! ```

mod budget;
mod compile;
mod emit;
mod error;
mod rules;
mod signals;
mod spec;
mod windows;

pub use budget::{
    BudgetStatus, PROJECTION_WINDOW, STATUS_WINDOWS, WindowBurn, budget_ratio_query, burn_down,
    error_ratio_query, event_rate_queries,
};
pub use compile::{CompileOptions, compile};
pub use error::SpecError;
pub use rules::{Mode, Rule, RuleFile, RuleGroup};
pub use signals::{Convention, ServiceSignals};
/// The series the golden-signal rules record.
pub mod signal_names {
    pub use crate::signals::{ERRORS, LATENCY, SATURATION, TRAFFIC};
}
pub use spec::{
    AlertTier, Budgeting, Calendar, CalendarUnit, Sli, SloSpec, SpecFormat, load_specs,
    load_specs_file, load_specs_files,
};
pub use windows::{AlertWindows, Window};
