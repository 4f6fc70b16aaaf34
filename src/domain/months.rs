//! Expense histories counted per calendar month (UTC), and locating a page of
//! a newest-first listing in them.
//!
//! Listing page 50 with `skip` makes the database walk every entry before it.
//! Knowing how many expenses fall in each month, a page maps to a short date
//! window (usually one or two months) plus a small skip inside that window, so
//! a page costs about the same wherever it is in the history.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};

/// A calendar month in UTC, as `year * 12 + (month - 1)`; ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i64);

impl Month {
    /// The month containing `millis` (milliseconds since the Unix epoch).
    /// Instants beyond chrono's range (about ±262,000 years; no date the API
    /// takes comes near) count in its first or last month.
    pub fn of(millis: i64) -> Self {
        let t = DateTime::from_timestamp_millis(millis).unwrap_or(if millis < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        });
        Self(i64::from(t.year()) * 12 + i64::from(t.month0()))
    }

    pub fn year(self) -> i64 {
        self.0.div_euclid(12)
    }

    /// 1 to 12.
    pub fn month(self) -> i64 {
        self.0.rem_euclid(12) + 1
    }

    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// Milliseconds since the epoch at midnight UTC on the first day. The
    /// first month chrono can represent starts at `i64::MIN` and a month past
    /// its last at `i64::MAX`, so every instant lies in its month's window.
    pub fn start_millis(self) -> i64 {
        if self <= Self::of(i64::MIN) {
            return i64::MIN;
        }
        let month = u32::try_from(self.month()).unwrap_or(1);
        i32::try_from(self.year())
            .ok()
            .and_then(|year| NaiveDate::from_ymd_opt(year, month, 1))
            .map_or(i64::MAX, |first| {
                first.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
            })
    }

    /// The stored form, `YYYY-MM` (e.g. `2025-11`).
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year(), self.month())
    }

    pub fn parse(key: &str) -> Option<Self> {
        let (year, month) = key.rsplit_once('-')?;
        let (year, month): (i64, i64) = (year.parse().ok()?, month.parse().ok()?);
        if !(1..=12).contains(&month) {
            return None;
        }
        Some(Self(year.checked_mul(12)?.checked_add(month - 1)?))
    }
}

/// Where a page lies: the entries dated in `[from, until)` (milliseconds),
/// newest first, after skipping `skip` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub until: i64,
    pub skip: u64,
}

/// How many expenses of one history fall in each month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthCounts(BTreeMap<Month, u64>);

impl MonthCounts {
    /// From stored `YYYY-MM` → count pairs; unreadable keys and counts ≤ 0 are
    /// left out (a month whose expenses all moved or went keeps a 0).
    pub fn from_stored<K: AsRef<str>>(entries: impl IntoIterator<Item = (K, i64)>) -> Self {
        let mut counts = BTreeMap::new();
        for (key, n) in entries {
            if let (Some(month), Ok(n @ 1..)) = (Month::parse(key.as_ref()), u64::try_from(n)) {
                *counts.entry(month).or_default() += n;
            }
        }
        Self(counts)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The window holding entries `skip .. skip + limit` of the newest-first
    /// listing; `None` when the page is past the end (or `limit` is 0).
    pub fn window(&self, skip: u64, limit: u64) -> Option<Window> {
        if limit == 0 {
            return None;
        }
        let end = skip.saturating_add(limit);
        // Entries in months newer than the one being looked at.
        let mut newer = 0u64;
        let mut first: Option<(Month, u64)> = None;
        for (&month, &n) in self.0.iter().rev() {
            let (newest, skip_inside) = match first {
                Some(found) => found,
                None if newer + n > skip => {
                    let found = (month, skip - newer);
                    first = Some(found);
                    found
                }
                None => {
                    newer += n;
                    continue;
                }
            };
            newer += n;
            if newer >= end {
                return Some(Window {
                    from: month.start_millis(),
                    until: newest.next().start_millis(),
                    skip: skip_inside,
                });
            }
        }
        // The page runs past the oldest month: the window reaches back to it.
        let (newest, skip_inside) = first?;
        let oldest = *self.0.keys().next()?;
        Some(Window {
            from: oldest.start_millis(),
            until: newest.next().start_millis(),
            skip: skip_inside,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// The hand-written calendar arithmetic this module used before chrono,
    /// kept as the oracle that the chrono version gives the same results.
    mod before {
        const MS_PER_DAY: i64 = 86_400_000;

        /// `Month::of` as it was: `year * 12 + month - 1`.
        pub fn month_of(millis: i64) -> i64 {
            let (year, month, _) = civil_from_days(millis.div_euclid(MS_PER_DAY));
            year * 12 + month - 1
        }

        /// `Month::start_millis` as it was.
        pub fn start_millis(month: i64) -> i64 {
            let (year, month) = (month.div_euclid(12), month.rem_euclid(12) + 1);
            days_from_civil(year, month, 1).saturating_mul(MS_PER_DAY)
        }

        /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
        /// `days_from_civil`, shifted so that years start in March).
        fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
            let y = if month <= 2 { year - 1 } else { year };
            let era = y.div_euclid(400);
            let year_of_era = y - era * 400;
            let month_from_march = (month + 9) % 12;
            let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
            let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
            era * 146_097 + day_of_era - 719_468
        }

        /// The inverse of `days_from_civil`: (year, month 1–12, day 1–31).
        fn civil_from_days(days: i64) -> (i64, i64, i64) {
            let z = days + 719_468;
            let era = z.div_euclid(146_097);
            let day_of_era = z - era * 146_097;
            let year_of_era =
                (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
            let day_of_year =
                day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
            let month_from_march = (5 * day_of_year + 2) / 153;
            let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
            let month = if month_from_march < 10 {
                month_from_march + 3
            } else {
                month_from_march - 9
            };
            let year = year_of_era + era * 400 + i64::from(month <= 2);
            (year, month, day)
        }
    }

    /// Chrono's range, less its first month (which now starts at `i64::MIN`).
    const CHRONO_MS: std::ops::Range<i64> = -8_210_000_000_000_000..8_210_000_000_000_000;

    proptest! {
        #[test]
        fn months_are_what_the_old_arithmetic_gave(ms in CHRONO_MS) {
            let month = Month::of(ms);
            prop_assert_eq!(month.0, before::month_of(ms));
            prop_assert_eq!(month.start_millis(), before::start_millis(month.0));
            prop_assert_eq!(month.next().start_millis(), before::start_millis(month.0 + 1));
        }

        #[test]
        fn month_starts_are_what_the_old_arithmetic_gave(year in -262_000i64..262_000, month in 1i64..=12) {
            let m = Month::parse(&format!("{year:04}-{month:02}")).unwrap();
            prop_assert_eq!(m.start_millis(), before::start_millis(m.0));
        }
    }

    #[test]
    fn months_are_what_the_old_arithmetic_gave_around_the_epoch_and_calendar_changes() {
        const DAY: i64 = 86_400_000;
        for day in -800_000i64..800_000 {
            // Every day from 221 BC to AD 4160, at its first and last millisecond.
            for ms in [day * DAY, day * DAY + DAY - 1] {
                assert_eq!(Month::of(ms).0, before::month_of(ms), "{ms}");
            }
        }
    }

    #[test]
    fn instants_beyond_chrono_count_in_its_first_or_last_month() {
        for ms in [
            i64::MIN,
            -8_300_000_000_000_000,
            8_300_000_000_000_000,
            i64::MAX,
        ] {
            let month = Month::of(ms);
            assert!(month.start_millis() <= ms, "{ms}");
            assert!(ms < month.next().start_millis() || ms == i64::MAX, "{ms}");
        }
        assert_eq!(Month::of(i64::MAX).key(), "262142-12");
        assert_eq!(Month::of(i64::MIN).key(), "-262143-01");
    }

    #[test]
    fn months_have_readable_keys() {
        let nov = Month::of(
            Utc.with_ymd_and_hms(2025, 11, 30, 23, 59, 59)
                .unwrap()
                .timestamp_millis(),
        );
        assert_eq!(nov.key(), "2025-11");
        assert_eq!(nov.next().key(), "2025-12");
        assert_eq!(nov.next().next().key(), "2026-01");
        assert_eq!(Month::parse("2025-11"), Some(nov));
        assert_eq!(Month::of(-1).key(), "1969-12");
        assert_eq!(
            Month::parse("-0001-03").map(Month::key).as_deref(),
            Some("-001-03")
        );
        for bad in ["2025", "2025-13", "2025-00", "x-01", "2025-1x", ""] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_page_maps_to_the_months_that_hold_it() {
        let m = |key: &str| Month::parse(key).unwrap();
        // Newest first: 2025-12 has 4, 2025-11 has 0 (kept), 2025-10 has 10, 2025-09 has 3.
        let counts = MonthCounts::from_stored([
            ("2025-09", 3),
            ("2025-10", 10),
            ("2025-11", 0),
            ("2025-12", 4),
        ]);
        assert_eq!(counts.total(), 17);
        // Entries 0..3 are all in December.
        let w = counts.window(0, 3).unwrap();
        assert_eq!(
            (w.from, w.until, w.skip),
            (m("2025-12").start_millis(), m("2026-01").start_millis(), 0)
        );
        // Entries 2..7 span December and October.
        let w = counts.window(2, 5).unwrap();
        assert_eq!(
            (w.from, w.until, w.skip),
            (m("2025-10").start_millis(), m("2026-01").start_millis(), 2)
        );
        // Entries 10..20 start in October (6th of it) and run past the end.
        let w = counts.window(10, 10).unwrap();
        assert_eq!(
            (w.from, w.until, w.skip),
            (m("2025-09").start_millis(), m("2025-11").start_millis(), 6)
        );
        assert_eq!(counts.window(17, 10), None);
        assert_eq!(counts.window(0, 0), None);
        assert_eq!(MonthCounts::default().window(0, 10), None);
    }

    proptest! {
        #[test]
        fn months_agree_with_chrono(ms in -62_000_000_000_000i64..253_000_000_000_000) {
            let month = Month::of(ms);
            let t = Utc.timestamp_millis_opt(ms).unwrap();
            prop_assert_eq!((month.year(), month.month()), (i64::from(t.year()), i64::from(t.month())));
            prop_assert!(month.start_millis() <= ms && ms < month.next().start_millis());
            let first = Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0).unwrap();
            prop_assert_eq!(month.start_millis(), first.timestamp_millis());
            prop_assert_eq!(Month::parse(&month.key()), Some(month));
        }

        /// Filtering the history to the window and skipping inside it gives
        /// exactly the page that skipping over the whole history gives.
        #[test]
        fn a_window_holds_exactly_the_page(
            mut dates in proptest::collection::vec(-3_000_000_000_000i64..3_000_000_000_000, 0..200),
            skip in 0u64..220,
            limit in 1u64..30,
        ) {
            dates.sort_unstable_by(|a, b| b.cmp(a));
            let mut stored: BTreeMap<String, i64> = BTreeMap::new();
            for d in &dates {
                *stored.entry(Month::of(*d).key()).or_default() += 1;
            }
            let counts = MonthCounts::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)));
            prop_assert_eq!(counts.total(), dates.len() as u64);
            let expected: Vec<i64> = dates.iter().copied().skip(skip as usize).take(limit as usize).collect();
            match counts.window(skip, limit) {
                None => prop_assert!(expected.is_empty()),
                Some(w) => {
                    let got: Vec<i64> = dates
                        .iter()
                        .copied()
                        .filter(|d| (w.from..w.until).contains(d))
                        .skip(w.skip as usize)
                        .take(limit as usize)
                        .collect();
                    prop_assert_eq!(got, expected);
                }
            }
        }
    }
}
