//! Recurring schedules: which day each occurrence of a series falls on and
//! the instant it becomes due. Pure: no clock, no I/O.
//!
//! Occurrence `n` (from 1) is computed from the start date and `n` alone,
//! never from the previous occurrence, so a month-end clamp cannot drift:
//! monthly from Jan 31 gives Feb 28 (29), Mar 31, Apr 30, … and yearly from
//! Feb 29 gives Feb 28 in the other years. An occurrence is due at 00:00 of
//! its day in the series' time zone; when that local midnight does not exist
//! (a DST gap), at the first instant after it. Time zones come from the
//! system's database (`/usr/share/zoneinfo`, updated with the system), else
//! from the copy built into the binary (`jiff`).

use chrono::{Datelike, Months, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// The largest `interval` (every 366 days, weeks, months or years at most).
pub const MAX_INTERVAL: u32 = 366;
/// The largest `endAfter` (occurrences of one series).
pub const MAX_END_AFTER: u32 = 1000;
/// The longest time-zone name accepted (IANA names are far shorter).
const MAX_ZONE_LEN: usize = 64;

/// How often a series repeats (times its `interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Frequency {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "daily" => Ok(Self::Daily),
            "weekly" => Ok(Self::Weekly),
            "monthly" => Ok(Self::Monthly),
            "yearly" => Ok(Self::Yearly),
            _ => Err("Frequency must be daily, weekly, monthly or yearly"),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
        }
    }
}

/// Where a series stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeriesStatus {
    Active,
    Paused,
    Completed,
}

impl SeriesStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Completed => "completed",
        }
    }
}

/// A `YYYY-MM-DD` date between 1970 and 2199 (as expense dates).
pub fn parse_day(raw: &str) -> Result<NaiveDate, &'static str> {
    let raw = raw.trim();
    let bad = "Must be a date as YYYY-MM-DD";
    if raw.len() != 10 {
        return Err(bad);
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad)?;
    if day < first_day() || day >= last_day() {
        return Err("Date is out of range (1970 to 2199)");
    }
    Ok(day)
}

/// An IANA time zone, by its name.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Zone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// The name as given (`Europe/Paris`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// An IANA time-zone name (`Europe/Paris`, `UTC`).
pub fn parse_zone(raw: &str) -> Result<Zone, &'static str> {
    let raw = raw.trim();
    let unknown = "Unknown time zone: use an IANA name such as Europe/Paris";
    if raw.is_empty() || raw.len() > MAX_ZONE_LEN {
        return Err(unknown);
    }
    let tz = jiff::tz::TimeZone::get(raw).map_err(|_| unknown)?;
    Ok(Zone {
        name: raw.to_owned(),
        tz,
    })
}

/// `interval`: 1 to [`MAX_INTERVAL`].
pub fn parse_interval(raw: i64) -> Result<u32, String> {
    u32::try_from(raw)
        .ok()
        .filter(|i| (1..=MAX_INTERVAL).contains(i))
        .ok_or_else(|| format!("Interval must be between 1 and {MAX_INTERVAL}"))
}

/// `endAfter`: 1 to [`MAX_END_AFTER`] occurrences.
pub fn parse_end_after(raw: i64) -> Result<u32, String> {
    u32::try_from(raw)
        .ok()
        .filter(|i| (1..=MAX_END_AFTER).contains(i))
        .ok_or_else(|| format!("endAfter must be between 1 and {MAX_END_AFTER}"))
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2200, 1, 1).unwrap_or(NaiveDate::MAX)
}

/// When a series' occurrences fall.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub frequency: Frequency,
    pub interval: u32,
    pub start: NaiveDate,
    pub zone: Zone,
    pub end_after: Option<u32>,
    pub end_date: Option<NaiveDate>,
}

impl Schedule {
    /// The day of occurrence `sequence` (from 1), ignoring the end rules;
    /// None past the year 2199.
    pub fn nth(&self, sequence: u32) -> Option<NaiveDate> {
        nth_date(self.start, self.frequency, self.interval, sequence)
    }

    /// The day of occurrence `sequence` when the series still has it: None
    /// once `endAfter` occurrences are counted or past `endDate`.
    pub fn occurrence(&self, sequence: u32) -> Option<NaiveDate> {
        if sequence == 0 || self.end_after.is_some_and(|n| sequence > n) {
            return None;
        }
        self.nth(sequence)
            .filter(|d| self.end_date.is_none_or(|end| *d <= end))
    }

    /// The instant occurrence day `day` falls due: see [`due_at`].
    pub fn due(&self, day: NaiveDate) -> chrono::DateTime<Utc> {
        due_at(day, &self.zone)
    }
}

/// Occurrence `sequence` (from 1) of a schedule from `start`: start plus
/// `(sequence - 1) × interval` units, months clamped to their last day.
/// None for sequence 0 or past the year 2199.
pub fn nth_date(
    start: NaiveDate,
    frequency: Frequency,
    interval: u32,
    sequence: u32,
) -> Option<NaiveDate> {
    let steps = u64::from(sequence.checked_sub(1)?) * u64::from(interval);
    let day = match frequency {
        Frequency::Daily => start.checked_add_days(chrono::Days::new(steps)),
        Frequency::Weekly => start.checked_add_days(chrono::Days::new(steps.checked_mul(7)?)),
        Frequency::Monthly => start.checked_add_months(Months::new(u32::try_from(steps).ok()?)),
        Frequency::Yearly => {
            start.checked_add_months(Months::new(u32::try_from(steps.checked_mul(12)?).ok()?))
        }
    }?;
    (day < last_day()).then_some(day)
}

/// 00:00 of `day` in `zone`, as an instant. A midnight the clocks skip (DST
/// gap) is due at the instant of the transition (the first local time that
/// exists after it); an ambiguous one at its earlier instant.
pub fn due_at(day: NaiveDate, zone: &Zone) -> chrono::DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN).and_utc();
    let local = i16::try_from(day.year())
        .ok()
        .and_then(|y| jiff::civil::Date::new(y, day.month() as i8, day.day() as i8).ok())
        .map(|d| d.at(0, 0, 0, 0));
    // "Compatible": a time in a gap moves forward by the gap's length (to
    // the transition), one in a fold takes the earlier offset.
    local
        .and_then(|l| zone.tz.to_ambiguous_zoned(l).compatible().ok())
        .and_then(|z| chrono::DateTime::from_timestamp_millis(z.timestamp().as_millisecond()))
        .unwrap_or(midnight)
}

/// Today's date in `zone` at `now`.
pub fn today_in(zone: &Zone, now: chrono::DateTime<Utc>) -> NaiveDate {
    let fallback = now.date_naive();
    jiff::Timestamp::from_millisecond(now.timestamp_millis())
        .ok()
        .map(|t| t.to_zoned(zone.tz.clone()).date())
        .and_then(|d| {
            NaiveDate::from_ymd_opt(i32::from(d.year()), d.month() as u32, d.day() as u32)
        })
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn schedule(frequency: Frequency, interval: u32, start: NaiveDate) -> Schedule {
        Schedule {
            frequency,
            interval,
            start,
            zone: Zone::utc(),
            end_after: None,
            end_date: None,
        }
    }

    #[test]
    fn monthly_from_the_31st_clamps_each_month_without_drifting() {
        let s = schedule(Frequency::Monthly, 1, d(2023, 1, 31));
        let days: Vec<NaiveDate> = (1..=5).map(|n| s.nth(n).unwrap()).collect();
        assert_eq!(
            days,
            [
                d(2023, 1, 31),
                d(2023, 2, 28),
                d(2023, 3, 31),
                d(2023, 4, 30),
                d(2023, 5, 31)
            ]
        );
        let leap = schedule(Frequency::Monthly, 1, d(2024, 1, 31));
        assert_eq!(leap.nth(2), Some(d(2024, 2, 29)));
    }

    #[test]
    fn yearly_from_february_29_falls_on_the_28th_in_other_years() {
        let s = schedule(Frequency::Yearly, 1, d(2024, 2, 29));
        assert_eq!(s.nth(2), Some(d(2025, 2, 28)));
        assert_eq!(s.nth(5), Some(d(2028, 2, 29)));
    }

    #[test]
    fn daily_and_weekly_step_by_their_interval() {
        assert_eq!(
            schedule(Frequency::Daily, 3, d(2024, 12, 30)).nth(2),
            Some(d(2025, 1, 2))
        );
        assert_eq!(
            schedule(Frequency::Weekly, 2, d(2024, 1, 1)).nth(3),
            Some(d(2024, 1, 29))
        );
        assert_eq!(schedule(Frequency::Daily, 1, d(2024, 1, 1)).nth(0), None);
        assert_eq!(
            schedule(Frequency::Yearly, MAX_INTERVAL, d(2024, 1, 1)).nth(2),
            None,
            "past 2199"
        );
    }

    #[test]
    fn the_end_rules_end_the_series() {
        let mut s = schedule(Frequency::Daily, 1, d(2024, 1, 1));
        s.end_after = Some(3);
        assert_eq!(s.occurrence(3), Some(d(2024, 1, 3)));
        assert_eq!(s.occurrence(4), None);
        s.end_after = None;
        s.end_date = Some(d(2024, 1, 2));
        assert_eq!(s.occurrence(2), Some(d(2024, 1, 2)));
        assert_eq!(s.occurrence(3), None);
    }

    #[test]
    fn due_at_local_midnight_of_the_zone() {
        let kiritimati = parse_zone("Pacific/Kiritimati").unwrap();
        let due = due_at(d(2025, 6, 2), &kiritimati);
        assert_eq!(due.to_rfc3339(), "2025-06-01T10:00:00+00:00");
        let pago = parse_zone("Pacific/Pago_Pago").unwrap();
        assert_eq!(
            due_at(d(2025, 6, 2), &pago).to_rfc3339(),
            "2025-06-02T11:00:00+00:00"
        );
    }

    #[test]
    fn a_midnight_in_a_dst_gap_is_due_at_the_first_instant_after_it() {
        // Cuba moves from 00:00 to 01:00 (UTC−5 → UTC−4) on 2025-03-09.
        let havana = parse_zone("America/Havana").unwrap();
        assert_eq!(
            due_at(d(2025, 3, 8), &havana).to_rfc3339(),
            "2025-03-08T05:00:00+00:00"
        );
        assert_eq!(
            due_at(d(2025, 3, 9), &havana).to_rfc3339(),
            "2025-03-09T05:00:00+00:00",
            "01:00 UTC−4, the instant of the jump"
        );
        assert_eq!(
            due_at(d(2025, 3, 10), &havana).to_rfc3339(),
            "2025-03-10T04:00:00+00:00"
        );
    }

    #[test]
    fn inputs_are_parsed_with_bounds() {
        assert!(Frequency::parse("hourly").is_err());
        assert_eq!(Frequency::parse("weekly"), Ok(Frequency::Weekly));
        assert!(parse_zone("Mars/Olympus").is_err());
        assert!(parse_zone(&"A".repeat(100)).is_err());
        assert!(parse_interval(0).is_err());
        assert!(parse_interval(367).is_err());
        assert_eq!(parse_interval(366), Ok(366));
        assert!(parse_end_after(0).is_err());
        assert!(parse_end_after(1001).is_err());
        assert!(parse_day("2024-02-30").is_err());
        assert!(parse_day("2024-2-3").is_err());
        assert!(parse_day("1969-12-31").is_err());
        assert_eq!(parse_day("2024-02-29"), Ok(d(2024, 2, 29)));
    }

    fn days_in_month(day: NaiveDate) -> u32 {
        let first = day.with_day(1).unwrap();
        let next = first.checked_add_months(Months::new(1)).unwrap();
        u32::try_from((next - first).num_days()).unwrap()
    }

    fn months_between(a: NaiveDate, b: NaiveDate) -> i64 {
        i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month())
    }

    proptest! {
        #[test]
        fn monthly_days_are_clamped_increasing_and_depend_only_on_start_and_n(
            y in 1970i32..2100, m in 1u32..=12, day in 1u32..=31,
            interval in 1u32..=24, n in 1u32..=120,
        ) {
            let start = NaiveDate::from_ymd_opt(y, m, 1).unwrap();
            let start = start.with_day(day.min(days_in_month(start))).unwrap();
            let s = schedule(Frequency::Monthly, interval, start);
            let (this, next) = (s.nth(n), s.nth(n + 1));
            if let (Some(this), Some(next)) = (this, next) {
                prop_assert_eq!(this.day(), start.day().min(days_in_month(this)));
                prop_assert!(this < next);
                prop_assert_eq!(months_between(start, this), i64::from(n - 1) * i64::from(interval));
                // The same day whatever the occurrences before it were.
                prop_assert_eq!(Some(this), nth_date(start, Frequency::Monthly, interval, n));
            }
        }

        #[test]
        fn every_frequency_strictly_increases_and_due_times_too(
            start in 0i64..40_000, interval in 1u32..=MAX_INTERVAL, n in 1u32..=50,
            f in 0usize..4, zone in 0usize..4,
        ) {
            let start = first_day() + chrono::TimeDelta::days(start);
            let frequency = [Frequency::Daily, Frequency::Weekly, Frequency::Monthly, Frequency::Yearly][f];
            let zone = parse_zone(["UTC", "America/Havana", "Pacific/Kiritimati", "Europe/London"][zone]).unwrap();
            let s = Schedule { zone: zone.clone(), ..schedule(frequency, interval, start) };
            if let (Some(a), Some(b)) = (s.nth(n), s.nth(n + 1)) {
                prop_assert!(a < b);
                prop_assert!(s.due(a) < s.due(b));
                prop_assert_eq!(today_in(&zone, s.due(a)), a, "due on its own local day");
            }
        }
    }
}
