//! Error-budget deploy gates: the budget turned into an enforceable rule a
//! CI/CD system can ask about. A [`Policy`] per service freezes normal
//! changes when an SLO's remaining budget falls below a threshold or while a
//! page-tier burn alert fires; exempt change types (rollback, security,
//! p0-fix) still ship; a manual [`Override`] with an author, a reason and
//! an expiry lifts the freeze until it expires. [`decide`] gives the answer
//! with the reason in words and the numbers behind it. A service with SLOs
//! and no written policy gets the SRE Workbook's ([`with_default`]) unless
//! the config turns the default off.
//!
//! Pure: budgets, firing alerts and overrides come in as values, the time
//! as an argument.

mod decide;
mod policy;

pub use decide::{
    Decision, MAX_OVERRIDE_MS, Override, OverrideError, SloBudget, decide, override_active,
    validate_override,
};
pub use policy::{
    DEFAULT_EXCEPTIONS, DefaultPolicy, Known, NoDataAction, Origin, Policy, PolicyError,
    PolicySpec, from_yaml, validate, with_default,
};
