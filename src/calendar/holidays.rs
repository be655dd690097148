//! NYSE full holidays and early closes (13:00 New York), by the exchange's rules.

use super::{last_weekday, nth_weekday};
use time::{Date, Duration, Month, Weekday};

/// The holiday's name when US equity markets are closed all day on `date`.
pub fn holiday(date: Date) -> Option<&'static str> {
    let y = date.year();
    let d = |m: Month, day: u8| Date::from_calendar_date(y, m, day).ok();
    if Some(date) == new_years_observed(y) {
        return Some("New Year's Day");
    }
    if date == nth_weekday(y, Month::January, Weekday::Monday, 3) {
        return Some("Martin Luther King Jr. Day");
    }
    if date == nth_weekday(y, Month::February, Weekday::Monday, 3) {
        return Some("Washington's Birthday");
    }
    if date == easter(y) - Duration::days(2) {
        return Some("Good Friday");
    }
    if date == last_weekday(y, Month::May, Weekday::Monday) {
        return Some("Memorial Day");
    }
    if y >= 2022 && Some(date) == d(Month::June, 19).map(observed) {
        return Some("Juneteenth");
    }
    if Some(date) == d(Month::July, 4).map(observed) {
        return Some("Independence Day");
    }
    if date == nth_weekday(y, Month::September, Weekday::Monday, 1) {
        return Some("Labor Day");
    }
    if date == nth_weekday(y, Month::November, Weekday::Thursday, 4) {
        return Some("Thanksgiving Day");
    }
    if Some(date) == d(Month::December, 25).map(observed) {
        return Some("Christmas Day");
    }
    if Some(date) == Date::from_calendar_date(2025, Month::January, 9).ok() {
        return Some("National Day of Mourning (President Carter)");
    }
    None
}

/// Whether US equity markets close early (13:00 New York) on `date`: the day before
/// Independence Day and Christmas Eve when they fall Monday–Thursday, and the day after
/// Thanksgiving.
pub fn early_close(date: Date) -> bool {
    let y = date.year();
    let mon_to_thu = matches!(
        date.weekday(),
        Weekday::Monday | Weekday::Tuesday | Weekday::Wednesday | Weekday::Thursday
    );
    let is = |m: Month, day: u8| Date::from_calendar_date(y, m, day).ok() == Some(date);
    ((is(Month::July, 3) || is(Month::December, 24)) && mon_to_thu)
        || date == nth_weekday(y, Month::November, Weekday::Thursday, 4) + Duration::days(1)
}

/// A fixed-date holiday on a weekend is observed on the Friday before or the Monday after.
fn observed(d: Date) -> Date {
    match d.weekday() {
        Weekday::Saturday => d - Duration::days(1),
        Weekday::Sunday => d + Duration::days(1),
        _ => d,
    }
}

/// New Year's Day; on a Saturday NYSE does not close the Friday before (it is another year's
/// last trading day).
fn new_years_observed(y: i32) -> Option<Date> {
    let d = Date::from_calendar_date(y, Month::January, 1).ok()?;
    match d.weekday() {
        Weekday::Saturday => None,
        Weekday::Sunday => Some(d + Duration::days(1)),
        _ => Some(d),
    }
}

/// Western Easter Sunday (anonymous Gregorian algorithm).
fn easter(y: i32) -> Date {
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
    Month::try_from(month as u8)
        .ok()
        .and_then(|mo| Date::from_calendar_date(y, mo, day as u8).ok())
        .unwrap_or(Date::MIN)
}

#[cfg(test)]
pub(super) fn easter_for_tests(y: i32) -> Date {
    easter(y)
}
