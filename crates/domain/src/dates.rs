//! Ages and years of experience, derived from stored dates on the day they are read.

use chrono::{Datelike, NaiveDate};

/// Whole years from `since` to `today` (0 if `since` lies in the future). Someone born on
/// 2000-03-02 is 25 on 2025-03-02 and still 24 on 2025-03-01.
pub fn whole_years(since: NaiveDate, today: NaiveDate) -> u32 {
    if today < since {
        return 0;
    }
    let mut years = today.year() - since.year();
    if (today.month(), today.day()) < (since.month(), since.day()) {
        years -= 1;
    }
    u32::try_from(years.max(0)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn birthday_today_counts_the_new_year() {
        assert_eq!(whole_years(d(1984, 6, 15), d(2025, 6, 15)), 41);
    }

    #[test]
    fn birthday_tomorrow_does_not_count_yet() {
        assert_eq!(whole_years(d(1984, 6, 15), d(2025, 6, 14)), 40);
    }

    #[test]
    fn future_dates_give_zero() {
        assert_eq!(whole_years(d(2030, 1, 1), d(2025, 6, 14)), 0);
    }

    #[test]
    fn leap_day_birthdays_count_on_march_first() {
        assert_eq!(whole_years(d(2000, 2, 29), d(2025, 2, 28)), 24);
        assert_eq!(whole_years(d(2000, 2, 29), d(2025, 3, 1)), 25);
    }
}
