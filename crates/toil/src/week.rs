//! ISO weeks: they start on Monday at 00:00 UTC.

pub const DAY_MS: i64 = 86_400_000;
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-05, the first Monday after the epoch (a Thursday).
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;

/// The start of the ISO week holding `at_ms` (Monday 00:00 UTC).
pub fn week_start(at_ms: i64) -> i64 {
    at_ms - (at_ms - FIRST_MONDAY_MS).rem_euclid(WEEK_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-02 was a Monday.
    const MON_2026_11_02: i64 = 1_793_577_600_000;

    #[test]
    fn weeks_start_on_monday_utc() {
        assert_eq!(week_start(MON_2026_11_02), MON_2026_11_02);
        assert_eq!(week_start(MON_2026_11_02 + WEEK_MS - 1), MON_2026_11_02);
        assert_eq!(week_start(MON_2026_11_02 - 1), MON_2026_11_02 - WEEK_MS);
        assert_eq!(week_start(0), -3 * DAY_MS);
        assert_eq!(week_start(-1), -3 * DAY_MS);
    }
}
