//! The calendar day of an entry's `expires` and `baseline`, on `jiff`'s civil date.

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A calendar day, ordered by date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(Date);

impl Day {
    /// The day `year-month-day`, when it exists in the calendar.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Day> {
        let year = i16::try_from(year).ok()?;
        Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?)
            .ok()
            .map(Day)
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Day {
        Day(TimeZone::UTC.to_datetime(Timestamp::now()).date())
    }

    /// The civil date `days` after 1970-01-01 (1970-01-01 when out of the calendar's range).
    pub(crate) fn from_days_since_epoch(days: i64) -> Day {
        let epoch = Date::constant(1970, 1, 1);
        Day(epoch.checked_add(days.days()).unwrap_or(epoch))
    }

    pub fn year(self) -> u16 {
        self.0.year() as u16
    }

    pub fn month(self) -> u8 {
        self.0.month() as u8
    }

    pub fn day(self) -> u8 {
        self.0.day() as u8
    }
}

impl std::str::FromStr for Day {
    type Err = String;

    /// Parses `YYYY-MM-DD`, a day that exists in the calendar.
    fn from_str(text: &str) -> Result<Day, String> {
        let invalid = || format!("{text:?} is not a date such as 2027-01-31");
        let parts: Vec<&str> = text.split('-').collect();
        let [year, month, day] = parts[..] else {
            return Err(invalid());
        };
        if year.len() != 4 {
            return Err(invalid());
        }
        let number = |part: &str| part.parse::<u8>().map_err(|_| invalid());
        let year = year.parse::<u16>().map_err(|_| invalid())?;
        Day::new(year, number(month)?, number(day)?).ok_or_else(invalid)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}
