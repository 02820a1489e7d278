//! Business-day calendars: weekends and TARGET2 closing days.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use jiff::civil::Date;
use jiff::civil::Weekday;

/// A calendar that says which days are business days.
///
/// `Calendar::target2()` is the default of every job: Saturdays, Sundays and the TARGET2 closing days
/// (1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December) are closed. Extra closing days
/// (a bank's local holidays) can be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    target2: bool,
    weekends: bool,
    extra_closed: BTreeSet<Date>,
}

/// A date computation left the supported range (years 1583 to 9999).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("date arithmetic out of range from {from} by {days} business days")]
pub struct CalendarError {
    pub from: Date,
    pub days: i32,
}

/// Easter Sunday of a Gregorian year (the "anonymous Gregorian" computus).
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, i8::try_from(month).expect("month 3 or 4"), i8::try_from(day).expect("day 1..=31"))
        .expect("computus yields a valid date")
}

impl Calendar {
    /// Weekends and TARGET2 closing days.
    pub fn target2() -> Calendar {
        Calendar { target2: true, weekends: true, extra_closed: BTreeSet::new() }
    }

    /// Weekends only.
    pub fn weekends_only() -> Calendar {
        Calendar { target2: false, weekends: true, extra_closed: BTreeSet::new() }
    }

    /// Adds closing days (e.g. a bank's local holidays).
    pub fn with_closed_days(mut self, days: impl IntoIterator<Item = Date>) -> Calendar {
        self.extra_closed.extend(days);
        self
    }

    /// Whether `date` is a TARGET2 closing day (regardless of weekends).
    pub fn is_target2_holiday(date: Date) -> bool {
        let (month, day) = (date.month(), date.day());
        if (month, day) == (1, 1) || (month, day) == (5, 1) || (month, day) == (12, 25) || (month, day) == (12, 26) {
            return true;
        }
        if month == 3 || month == 4 {
            let easter = easter_sunday(date.year());
            let good_friday = easter.checked_sub(jiff::Span::new().days(2));
            let easter_monday = easter.checked_add(jiff::Span::new().days(1));
            return good_friday.ok() == Some(date) || easter_monday.ok() == Some(date);
        }
        false
    }

    pub fn is_business_day(&self, date: Date) -> bool {
        if self.weekends && matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return false;
        }
        if self.target2 && Calendar::is_target2_holiday(date) {
            return false;
        }
        !self.extra_closed.contains(&date)
    }

    /// Moves `days` business days forward (or back, if negative). `add_business_days(d, 0)` is `d`
    /// itself even when `d` is closed.
    pub fn add_business_days(&self, date: Date, days: i32) -> Result<Date, CalendarError> {
        let fail = CalendarError { from: date, days };
        let step = if days < 0 { -1 } else { 1 };
        let mut left = days.unsigned_abs();
        let mut current = date;
        // A year has at least 200 business days under any calendar settle builds, so 400 calendar days
        // per business day bound the loop even with many extra closing days.
        let max_steps = u64::from(left).saturating_mul(400).saturating_add(400);
        let mut steps = 0u64;
        while left > 0 {
            current = current.checked_add(jiff::Span::new().days(step)).map_err(|_| fail.clone())?;
            steps += 1;
            if steps > max_steps {
                return Err(fail);
            }
            if self.is_business_day(current) {
                left -= 1;
            }
        }
        Ok(current)
    }

    /// The latest business day on or before `date`.
    pub fn on_or_before(&self, date: Date) -> Result<Date, CalendarError> {
        if self.is_business_day(date) { Ok(date) } else { self.add_business_days(date, -1) }
    }
}

/// Parses an ISO 8601 calendar date `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, DateError> {
    let trimmed = text.trim();
    let bytes = trimmed.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(DateError { text: text.to_string() });
    }
    trimmed.parse::<Date>().map_err(|_| DateError { text: text.to_string() })
}

/// A date's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {text:?}: expected a calendar date YYYY-MM-DD, e.g. 2026-10-30")]
pub struct DateError {
    pub text: String,
}

/// When a beneficiary is paid: every night (`daily`), on one weekday (`weekly:fri`), or on one day of the
/// month (`monthly:15`; a day past the month's end means its last day). On other nights the balance is
/// carried (payout status `not_due`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum PayoutSchedule {
    #[default]
    Daily,
    Weekly(Weekday),
    /// Day of the month, 1 to 31.
    Monthly(u8),
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// A schedule's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid payout schedule {text:?}: expected daily, weekly:<mon|tue|wed|thu|fri|sat|sun> or monthly:<1-31>")]
pub struct ScheduleError {
    pub text: String,
}

impl PayoutSchedule {
    pub fn parse(text: &str) -> Result<PayoutSchedule, ScheduleError> {
        let error = || ScheduleError { text: text.to_string() };
        let lower = text.trim().to_ascii_lowercase();
        match lower.split_once(':') {
            None if lower == "daily" => Ok(PayoutSchedule::Daily),
            Some(("weekly", day)) => WEEKDAYS
                .iter()
                .find(|(name, _)| *name == day)
                .map(|(_, w)| PayoutSchedule::Weekly(*w))
                .ok_or_else(error),
            Some(("monthly", day)) => match day.parse::<u8>() {
                Ok(n @ 1..=31) => Ok(PayoutSchedule::Monthly(n)),
                _ => Err(error()),
            },
            _ => Err(error()),
        }
    }

    /// Whether `date` is a scheduled day itself.
    fn falls_on(self, date: Date) -> bool {
        match self {
            PayoutSchedule::Daily => true,
            PayoutSchedule::Weekly(weekday) => date.weekday() == weekday,
            PayoutSchedule::Monthly(day) => {
                let last = date.last_of_month().day();
                date.day() == i8::try_from(day).unwrap_or(i8::MAX).min(last)
            }
        }
    }

    /// Whether a payout is due on `business_date`: a scheduled day lies after the job's previous run
    /// (`previous`, exclusive) and on or before the business date, so a job that skips nights (weekends)
    /// still pays at its first run after a scheduled day. Without a previous run: the date itself.
    pub fn is_due(self, business_date: Date, previous: Option<Date>) -> bool {
        // A schedule repeats within 31 days: looking further back than that changes nothing.
        const LOOKBACK_DAYS_MAX: i32 = 31;
        let mut date = business_date;
        for _ in 0..LOOKBACK_DAYS_MAX {
            if previous.is_some_and(|p| date <= p) {
                return false;
            }
            if self.falls_on(date) {
                return true;
            }
            if previous.is_none() {
                return false;
            }
            match date.yesterday() {
                Ok(d) => date = d,
                Err(_) => return false,
            }
        }
        false
    }
}

impl std::fmt::Display for PayoutSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayoutSchedule::Daily => f.write_str("daily"),
            PayoutSchedule::Weekly(w) => {
                let name = WEEKDAYS.iter().find(|(_, d)| d == w).map_or("mon", |(n, _)| n);
                write!(f, "weekly:{name}")
            }
            PayoutSchedule::Monthly(day) => write!(f, "monthly:{day}"),
        }
    }
}

impl From<PayoutSchedule> for String {
    fn from(s: PayoutSchedule) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for PayoutSchedule {
    type Error = ScheduleError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        PayoutSchedule::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        parse_date(text).unwrap()
    }

    #[test]
    fn payout_schedules() {
        assert_eq!(PayoutSchedule::parse("weekly:FRI").unwrap(), PayoutSchedule::Weekly(Weekday::Friday));
        assert_eq!(PayoutSchedule::parse("monthly:31").unwrap().to_string(), "monthly:31");
        for bad in ["weekly", "weekly:fr", "monthly:0", "monthly:32", "hourly", ""] {
            assert!(PayoutSchedule::parse(bad).is_err(), "{bad}");
        }
        let fri = PayoutSchedule::Weekly(Weekday::Friday);
        assert!(fri.is_due(d("2026-10-30"), None));
        assert!(!fri.is_due(d("2026-10-31"), None));
        // A job that does not run on Friday pays at its next run.
        assert!(fri.is_due(d("2026-11-02"), Some(d("2026-10-29"))));
        assert!(!fri.is_due(d("2026-11-02"), Some(d("2026-10-30"))));
        // monthly:31 in a 30-day month is its last day; in February too.
        let m31 = PayoutSchedule::Monthly(31);
        assert!(m31.is_due(d("2026-11-30"), None) && !m31.is_due(d("2026-11-29"), None));
        assert!(m31.is_due(d("2026-02-28"), None));
        assert!(PayoutSchedule::Monthly(15).is_due(d("2026-11-16"), Some(d("2026-11-13"))));
        assert!(PayoutSchedule::Daily.is_due(d("2026-11-16"), Some(d("2026-11-15"))));
        assert!(!PayoutSchedule::Daily.is_due(d("2026-11-15"), Some(d("2026-11-15"))), "rerun of the previous date");
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), d("2024-03-31"));
        assert_eq!(easter_sunday(2025), d("2025-04-20"));
        assert_eq!(easter_sunday(2026), d("2026-04-05"));
        assert_eq!(easter_sunday(2019), d("2019-04-21"));
        assert_eq!(easter_sunday(2000), d("2000-04-23"));
    }

    #[test]
    fn target2_closing_days() {
        let cal = Calendar::target2();
        for closed in [
            "2026-01-01",
            "2026-04-03",
            "2026-04-06",
            "2026-05-01",
            "2026-12-25",
            "2026-12-26",
            "2026-10-31",
            "2026-11-01",
        ] {
            assert!(!cal.is_business_day(d(closed)), "{closed}");
        }
        for open in ["2026-10-30", "2026-11-02", "2026-04-02", "2026-04-07", "2026-12-24", "2026-12-31"] {
            assert!(cal.is_business_day(d(open)), "{open}");
        }
        assert!(Calendar::weekends_only().is_business_day(d("2026-05-01")));
        let local = Calendar::target2().with_closed_days([d("2026-10-03")]);
        assert!(!local.is_business_day(d("2026-10-03")));
    }

    #[test]
    fn adding_business_days() {
        let cal = Calendar::target2();
        assert_eq!(cal.add_business_days(d("2026-10-30"), 1).unwrap(), d("2026-11-02"));
        assert_eq!(cal.add_business_days(d("2026-10-31"), 1).unwrap(), d("2026-11-02"));
        assert_eq!(cal.add_business_days(d("2026-11-02"), -1).unwrap(), d("2026-10-30"));
        assert_eq!(cal.add_business_days(d("2026-04-02"), 1).unwrap(), d("2026-04-07"));
        assert_eq!(cal.add_business_days(d("2026-12-24"), 1).unwrap(), d("2026-12-28"));
        assert_eq!(cal.add_business_days(d("2026-12-31"), 1).unwrap(), d("2027-01-04"));
        assert_eq!(cal.add_business_days(d("2026-10-31"), 0).unwrap(), d("2026-10-31"));
        assert_eq!(cal.on_or_before(d("2026-11-01")).unwrap(), d("2026-10-30"));
        assert!(cal.add_business_days(d("9999-12-30"), 5).is_err());
    }

    #[test]
    fn date_parsing() {
        assert_eq!(d(" 2026-10-31 ").to_string(), "2026-10-31");
        for bad in ["2026-13-01", "2026-02-30", "31.10.2026", "2026-1-1", "", "20261031"] {
            let err = parse_date(bad).unwrap_err();
            assert!(err.to_string().contains("expected a calendar date YYYY-MM-DD"), "{bad}");
        }
    }
}
