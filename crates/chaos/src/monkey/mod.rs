//! The Chaos Monkey schedule: terminations on workdays inside business
//! hours, a mean and a minimum number of workdays between them, and never
//! while the group's service has an open incident or a deploy freeze.

mod hours;
mod schedule;

pub use hours::{BusinessHours, HoursError};
pub use schedule::{MonkeySchedule, ScheduleError, Verdict};
