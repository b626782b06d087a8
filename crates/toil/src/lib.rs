//! The toil ledger's pure parts (issue 17): toil records, weekly shares per
//! team against the cap, automation candidates. No I/O, no clock.
