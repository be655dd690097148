//! Exchange calendar: which days US stocks and FX trade, and when, in UTC.
//!
//! Pure (no I/O, no clock): every function takes the date or instant it is asked about.
//! - **US equities** (NYSE and NASDAQ share the calendar): weekdays minus the exchange's full
//!   holidays; regular hours 09:30–16:00 New York, 13:00 on early-close days; extended hours
//!   04:00–20:00 (17:00 on early-close days). Holidays and early closes follow NYSE's rules
//!   (weekend observance, Juneteenth from 2022, Good Friday) plus the one-off closure of
//!   2025-01-09; they are exact for 2020–2030 and the same rules are applied outside it.
//! - **FX** (IDEALPRO): 24×5, from Sunday 17:15 to Friday 17:00 New York, each day's session
//!   running 17:15 the evening before to 17:00; a session is named by the day it ends.
//! - **New York time** with US daylight saving (second Sunday of March to first Sunday of
//!   November, switching at 02:00 local).

use time::{Date, Duration, Month, Weekday};

mod holidays;

pub use holidays::{early_close, holiday};

/// Which calendar an instrument trades on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Venue {
    /// NYSE, NASDAQ, ARCA, … (and options on US stocks, for trading days).
    UsEquity,
    /// IDEALPRO currency pairs.
    Fx,
}

impl Venue {
    /// The calendar for an IB security type (`CASH` → FX, everything else → US equities).
    pub fn for_sec_type(sec_type: &str) -> Venue {
        if sec_type.eq_ignore_ascii_case("CASH") {
            Venue::Fx
        } else {
            Venue::UsEquity
        }
    }
}

/// One trading session, as UTC epoch seconds `[open, close)`, named by its trading date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub date: Date,
    pub open: i64,
    pub close: i64,
}

impl Session {
    pub fn minutes(&self) -> i64 {
        (self.close - self.open) / 60
    }
    pub fn contains(&self, t: i64) -> bool {
        t >= self.open && t < self.close
    }
}

const HOUR: i64 = 3_600;

/// Seconds to add to UTC to get New York wall-clock time at instant `t` (−4 h or −5 h).
pub fn ny_offset(t: i64) -> i64 {
    let date = utc_date(t);
    let year = date.year();
    // DST starts 02:00 EST (07:00 UTC) on the second Sunday of March and ends 02:00 EDT
    // (06:00 UTC) on the first Sunday of November.
    let start = midnight_utc(nth_weekday(year, Month::March, Weekday::Sunday, 2)) + 7 * HOUR;
    let end = midnight_utc(nth_weekday(year, Month::November, Weekday::Sunday, 1)) + 6 * HOUR;
    if t >= start && t < end {
        -4 * HOUR
    } else {
        -5 * HOUR
    }
}

/// The UTC instant of New York wall-clock `secs` after midnight on `date`.
pub fn ny_to_utc(date: Date, secs: i64) -> i64 {
    let naive = midnight_utc(date) + secs;
    // The offset at the target instant; guessing with standard time first, then correcting,
    // is exact except inside the one skipped/repeated hour, which no session boundary uses.
    let guess = naive + 5 * HOUR;
    naive - ny_offset(guess)
}

/// The New York calendar date at instant `t`.
pub fn ny_date(t: i64) -> Date {
    utc_date(t + ny_offset(t))
}

/// Whether the venue trades on `date` (for FX: whether a session ends that day).
pub fn is_trading_day(venue: Venue, date: Date) -> bool {
    let weekday = !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
    match venue {
        Venue::UsEquity => weekday && holiday(date).is_none(),
        Venue::Fx => weekday,
    }
}

/// The trading day before `date`.
pub fn prev_trading_day(venue: Venue, date: Date) -> Date {
    let mut d = date - Duration::days(1);
    while !is_trading_day(venue, d) {
        d -= Duration::days(1);
    }
    d
}

/// The trading day after `date`.
pub fn next_trading_day(venue: Venue, date: Date) -> Date {
    let mut d = date + Duration::days(1);
    while !is_trading_day(venue, d) {
        d += Duration::days(1);
    }
    d
}

/// The session of `date`, or `None` when the venue is closed that day. `rth`: regular hours
/// only; otherwise extended hours (US equities; FX has one session either way).
pub fn session(venue: Venue, date: Date, rth: bool) -> Option<Session> {
    if !is_trading_day(venue, date) {
        return None;
    }
    let (open, close) = match venue {
        Venue::UsEquity => {
            let early = early_close(date);
            match (rth, early) {
                (true, false) => (9 * HOUR + 30 * 60, 16 * HOUR),
                (true, true) => (9 * HOUR + 30 * 60, 13 * HOUR),
                (false, false) => (4 * HOUR, 20 * HOUR),
                (false, true) => (4 * HOUR, 17 * HOUR),
            }
        }
        Venue::Fx => {
            let prev = date - Duration::days(1);
            return Some(Session {
                date,
                open: ny_to_utc(prev, 17 * HOUR + 15 * 60),
                close: ny_to_utc(date, 17 * HOUR),
            });
        }
    };
    Some(Session {
        date,
        open: ny_to_utc(date, open),
        close: ny_to_utc(date, close),
    })
}

/// The session in progress at `t`, or else the most recent one that has closed (`None` only
/// if there is none within a month, which no calendar here produces).
pub fn last_session(venue: Venue, t: i64, rth: bool) -> Option<Session> {
    let mut d = ny_date(t) + Duration::days(1);
    for _ in 0..40 {
        if let Some(s) = session(venue, d, rth)
            && s.open <= t
        {
            return Some(s);
        }
        d -= Duration::days(1);
    }
    None
}

/// The session in progress at `t`, if the venue is open.
pub fn session_at(venue: Venue, t: i64, rth: bool) -> Option<Session> {
    last_session(venue, t, rth).filter(|s| s.contains(t))
}

/// The `n` most recent trading days up to and including `date` (oldest first).
pub fn trading_days_back(venue: Venue, date: Date, n: usize) -> Vec<Date> {
    let mut out = Vec::with_capacity(n);
    let mut d = if is_trading_day(venue, date) {
        date
    } else {
        prev_trading_day(venue, date)
    };
    while out.len() < n {
        out.push(d);
        d = prev_trading_day(venue, d);
    }
    out.reverse();
    out
}

/// IB's `tradingHours` / `liquidHours` text for the sessions opening on the `days` calendar
/// days from `from`, in the exchange's time zone: `20250102:0930-20250102:1600;20250104:CLOSED;…`.
pub fn hours_text(venue: Venue, from: Date, days: usize, rth: bool) -> String {
    let mut parts = Vec::with_capacity(days);
    for k in 0..days {
        let d = from + Duration::days(k as i64);
        // Segments are keyed by the day they open: an FX session opens the evening before
        // the day it is named after.
        let s = match venue {
            Venue::UsEquity => session(venue, d, rth),
            Venue::Fx => session(venue, d + Duration::days(1), rth),
        };
        match s {
            Some(s) => {
                let (od, ot) = ny_wall(s.open);
                let (cd, ct) = ny_wall(s.close);
                parts.push(format!("{od}:{ot}-{cd}:{ct}"));
            }
            None => parts.push(format!("{}:CLOSED", ymd(d))),
        }
    }
    parts.join(";")
}

/// IB's time-zone id for the venue's hours.
pub fn time_zone_id(_venue: Venue) -> &'static str {
    "US/Eastern"
}

/// `(YYYYMMDD, HHMM)` in New York for instant `t`.
fn ny_wall(t: i64) -> (String, String) {
    let local = t + ny_offset(t);
    let d = utc_date(local);
    let secs = local.rem_euclid(86_400);
    (
        ymd(d),
        format!("{:02}{:02}", secs / HOUR, (secs % HOUR) / 60),
    )
}

/// `YYYYMMDD`.
pub fn ymd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

fn utc_date(t: i64) -> Date {
    let days = t.div_euclid(86_400);
    // 1970-01-01 is Julian day 2_440_588; out-of-range instants clamp to the epoch.
    Date::from_julian_day((2_440_588 + days) as i32).unwrap_or(Date::MIN)
}

fn midnight_utc(d: Date) -> i64 {
    (i64::from(d.to_julian_day()) - 2_440_588) * 86_400
}

/// The `n`th `weekday` of `month` (1-based).
pub(crate) fn nth_weekday(year: i32, month: Month, weekday: Weekday, n: u8) -> Date {
    let first = Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN);
    let shift = (7 + weekday.number_days_from_monday() as i64
        - first.weekday().number_days_from_monday() as i64)
        % 7;
    first + Duration::days(shift + 7 * (i64::from(n) - 1))
}

/// The last `weekday` of `month`.
pub(crate) fn last_weekday(year: i32, month: Month, weekday: Weekday) -> Date {
    let next_first = match month {
        Month::December => Date::from_calendar_date(year + 1, Month::January, 1),
        m => Date::from_calendar_date(year, m.next(), 1),
    }
    .unwrap_or(Date::MIN);
    let last = next_first - Duration::days(1);
    let back = (7 + last.weekday().number_days_from_monday() as i64
        - weekday.number_days_from_monday() as i64)
        % 7;
    last - Duration::days(back)
}

#[cfg(test)]
mod tests;
