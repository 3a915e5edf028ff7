//! The calendar of a tontine: session dates from the start date and frequency, due dates and
//! lateness.
//!
//! Rules:
//! - Session `i` (counting from 0) falls `i` steps after the start date: quotidien +i days,
//!   hebdomadaire +7i days, bimensuel +14i days, mensuel +i months, trimestriel +3i months.
//! - **bimensuel means every two weeks, 14 days apart, like the original API; not the 1st and
//!   15th.**
//! - Month steps are anchored on the start date, never chained from the previous session:
//!   a tontine starting on 31 January meets on 28 (or 29) February, 31 March, 30 April,
//!   31 May… A day the month lacks becomes the month's last day.
//! - A session's due date is its scheduled date (see [`due_date`]).
//! - A payment is late from the day after `due + grace_days` (see [`late_after`]).
//!
//! All dates are calendar dates in the tontine's local time; the caller converts timestamps.

use chrono::{Days, Months, NaiveDate};

use crate::tontine::Frequency;

/// One step of a frequency.
enum Step {
    Days(u64),
    Months(u32),
}

fn step(frequency: Frequency) -> Step {
    match frequency {
        Frequency::Quotidien => Step::Days(1),
        Frequency::Hebdomadaire => Step::Days(7),
        Frequency::Bimensuel => Step::Days(14),
        Frequency::Mensuel => Step::Months(1),
        Frequency::Trimestriel => Step::Months(3),
    }
}

/// The date of session `index` (0 for the first, which is `start`), or `None` past the last
/// date chrono can represent.
pub fn nth_session_date(start: NaiveDate, frequency: Frequency, index: u32) -> Option<NaiveDate> {
    match step(frequency) {
        Step::Days(days) => start.checked_add_days(Days::new(days.checked_mul(u64::from(index))?)),
        Step::Months(months) => start.checked_add_months(Months::new(months.checked_mul(index)?)),
    }
}

/// The dates of the first `count` sessions, the i-th `i` steps after `start` (see the module
/// rules). Shorter than `count` only if the dates would run past year 262 143.
pub fn session_dates(start: NaiveDate, frequency: Frequency, count: u32) -> Vec<NaiveDate> {
    (0..count)
        .map_while(|i| nth_session_date(start, frequency, i))
        .collect()
}

/// The date a session's contributions are due: the scheduled date itself. Kobiri has no
/// separate payment window; the tontine's grace period is what gives members extra days.
pub fn due_date(scheduled: NaiveDate) -> NaiveDate {
    scheduled
}

/// The first day on which a payment due on `due` is late: `due + grace_days + 1`.
/// Saturates at the last representable date.
pub fn late_after(due: NaiveDate, grace_days: u32) -> NaiveDate {
    due.checked_add_days(Days::new(u64::from(grace_days) + 1))
        .unwrap_or(NaiveDate::MAX)
}

/// True when a payment made on `paid_on` is late: after `due + grace_days`.
pub fn is_late(paid_on: NaiveDate, due: NaiveDate, grace_days: u32) -> bool {
    match due.checked_add_days(Days::new(u64::from(grace_days))) {
        Some(last_on_time) => paid_on > last_on_time,
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn monthly_dates_are_anchored_on_the_start_day() {
        let dates = session_dates(d(2026, 1, 31), Frequency::Mensuel, 5);
        assert_eq!(
            dates,
            [
                d(2026, 1, 31),
                d(2026, 2, 28),
                d(2026, 3, 31),
                d(2026, 4, 30),
                d(2026, 5, 31)
            ]
        );
        let leap = session_dates(d(2028, 1, 31), Frequency::Mensuel, 2);
        assert_eq!(leap[1], d(2028, 2, 29));
    }

    #[test]
    fn quarterly_dates_step_three_months() {
        let dates = session_dates(d(2025, 11, 30), Frequency::Trimestriel, 3);
        assert_eq!(dates, [d(2025, 11, 30), d(2026, 2, 28), d(2026, 5, 30)]);
    }

    #[test]
    fn day_based_frequencies_step_1_7_and_14_days() {
        let start = d(2026, 12, 30);
        assert_eq!(
            session_dates(start, Frequency::Quotidien, 3),
            [start, d(2026, 12, 31), d(2027, 1, 1)]
        );
        assert_eq!(
            session_dates(start, Frequency::Hebdomadaire, 2),
            [start, d(2027, 1, 6)]
        );
        assert_eq!(
            session_dates(d(2026, 1, 1), Frequency::Bimensuel, 3),
            [d(2026, 1, 1), d(2026, 1, 15), d(2026, 1, 29)]
        );
    }

    #[test]
    fn zero_sessions_is_empty_and_the_end_of_time_truncates() {
        assert!(session_dates(d(2026, 1, 1), Frequency::Mensuel, 0).is_empty());
        let near_end = NaiveDate::MAX.pred_opt().unwrap();
        assert_eq!(session_dates(near_end, Frequency::Quotidien, 5).len(), 2);
        assert_eq!(
            nth_session_date(near_end, Frequency::Trimestriel, u32::MAX),
            None
        );
    }

    #[test]
    fn due_date_is_the_scheduled_date() {
        assert_eq!(due_date(d(2026, 3, 1)), d(2026, 3, 1));
    }

    #[test]
    fn a_payment_is_late_only_after_the_grace_period() {
        let due = d(2026, 3, 1);
        assert_eq!(late_after(due, 3), d(2026, 3, 5));
        assert!(!is_late(d(2026, 2, 20), due, 3));
        assert!(!is_late(due, due, 0));
        assert!(is_late(d(2026, 3, 2), due, 0));
        assert!(!is_late(d(2026, 3, 4), due, 3));
        assert!(is_late(d(2026, 3, 5), due, 3));
        assert_eq!(late_after(NaiveDate::MAX, 3), NaiveDate::MAX);
        assert!(!is_late(NaiveDate::MAX, NaiveDate::MAX, 0));
    }

    fn any_frequency() -> impl Strategy<Value = Frequency> {
        proptest::sample::select(Frequency::ALL)
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..2200, 1u32..=366)
            .prop_map(|(y, ord)| NaiveDate::from_yo_opt(y, ord).unwrap_or_else(|| d(y, 12, 31)))
    }

    proptest! {
        #[test]
        fn count_is_honoured_and_dates_strictly_increase(
            start in any_date(), frequency in any_frequency(), count in 0u32..200,
        ) {
            let dates = session_dates(start, frequency, count);
            prop_assert_eq!(dates.len(), count as usize);
            prop_assert!(dates.first().is_none_or(|&first| first == start));
            prop_assert!(dates.windows(2).all(|w| w[0] < w[1]));
        }

        #[test]
        fn monthly_dates_keep_the_start_day_or_the_month_end(
            start in any_date(), count in 1u32..60, quarterly in any::<bool>(),
        ) {
            let frequency = if quarterly { Frequency::Trimestriel } else { Frequency::Mensuel };
            for date in session_dates(start, frequency, count) {
                let month_end = date.checked_add_days(Days::new(1)).unwrap().day() == 1;
                prop_assert!(
                    date.day() == start.day() || (date.day() < start.day() && month_end),
                    "{start} -> {date}"
                );
            }
        }

        #[test]
        fn lateness_starts_exactly_at_late_after(
            due in any_date(), grace in 0u32..=30, offset in -40i64..80,
        ) {
            let paid_on = due + chrono::Duration::days(offset);
            prop_assert_eq!(is_late(paid_on, due, grace), paid_on >= late_after(due, grace));
        }
    }
}
