//! Chaos engineering's pure parts (issue 16): Chaos Toolkit experiments,
//! tolerances and journals, blast-radius selectors and the Chaos Monkey
//! schedule. No I/O and no wall clock: the app layer runs experiments.

mod experiment;
pub mod monkey;
pub mod selector;

pub use experiment::*;
pub use selector::{SelectorError, SelectorMode};
