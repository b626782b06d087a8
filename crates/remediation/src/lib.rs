//! Self-healing's pure parts (issue 17): remediation policies, guardrails,
//! the act-then-verify loop and zone-aware traffic shifts. No I/O, no clock.
pub mod zone_shift;
