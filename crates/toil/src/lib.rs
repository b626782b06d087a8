//! The toil ledger's pure parts (issue 17): toil records, weekly shares per
//! team against the cap, automation candidates. No I/O, no clock.
//!
//! Toil is manual, repetitive operational work. Every human action
//! homeostat already sees (an ack, a silence, a gate override, a manual
//! rollback, an approval, incident work between ack and resolve) becomes a
//! [`ToilEntry`] with a duration from [`DEFAULT_MINUTES`]; work done
//! outside homeostat is logged by hand. [`weekly_shares`] sets the toil
//! hours of each team and ISO week against the team's on-call hours and the
//! cap (50 % by default, after Google's SRE book); [`candidates`] finds the
//! actions repeated often enough to be worth automating and drafts a
//! remediation policy for each.

mod candidate;
mod entry;
mod policy;
mod report;
mod week;

pub use candidate::{Candidate, CandidateOptions, candidates};
pub use entry::{DEFAULT_MINUTES, default_minutes, kind, verb};
/// The record lives in the state contract, which stores it.
pub use homeostat_state::{ToilEntry, ToilSource};
pub use policy::draft_policy;
pub use report::{DEFAULT_CAP, Shift, UNASSIGNED, WeekShare, weekly_shares};
pub use week::{DAY_MS, WEEK_MS, week_start};
