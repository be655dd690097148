//! Date-true windows over daily bars (oldest first, `time` = midnight UTC of the session date).
//!
//! Two kinds of "N days" exist and each window says which it is:
//! * **sessions**: the last N bars, whatever dates they fall on (indicators: SMA 20 is 20
//!   sessions);
//! * **calendar days**: bars dated within the last N calendar days of the as-of date, so
//!   holidays and weekends neither stretch nor shrink the window. "52-week" is the last 365
//!   calendar days: bars dated after as-of − 365 days, up to and including as-of.
//!
//! Period returns are anchored on a close: year-to-date runs from the last close of the previous
//! year (the last bar dated before 1 January of the as-of year, wherever holidays put it) to the
//! last close on or before the as-of date.

use crate::model::Bar;
use time::{Date, Duration, Month};

const DAY: i64 = 86_400;

/// Calendar days of the 52-week window.
pub const FIFTY_TWO_WEEK_DAYS: i64 = 365;

/// The session date of a daily bar (`None` for a time outside the calendar's range).
pub fn bar_date(bar: &Bar) -> Option<Date> {
    date_of_day(bar.time.div_euclid(DAY))
}

const EPOCH: Date = time::macros::date!(1970 - 01 - 01);

/// UTC day number (days since 1970-01-01) of a date.
pub fn day_number(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - i64::from(EPOCH.to_julian_day())
}

/// The date of a UTC day number (`None` outside the calendar's range).
pub fn date_of_day(day: i64) -> Option<Date> {
    EPOCH.checked_add(Duration::days(day))
}

fn day_of(bar: &Bar) -> i64 {
    bar.time.div_euclid(DAY)
}

/// Number of bars dated on or before `date` (bars are oldest first).
fn count_through(bars: &[Bar], date: Date) -> usize {
    let last = day_number(date);
    bars.partition_point(|b| day_of(b) <= last)
}

/// Index of the last bar dated on or before `date`: the close a period starting after `date` is
/// measured from.
pub fn anchor_on_or_before(bars: &[Bar], date: Date) -> Option<usize> {
    count_through(bars, date).checked_sub(1)
}

/// Year to date as of `as_of`: the bars from the last close of the previous year through the last
/// bar on or before `as_of`. `None` when the history holds no bar from before this year (the
/// anchor close is unknown) or no bar at all.
pub fn year_to_date(bars: &[Bar], as_of: Date) -> Option<&[Bar]> {
    let new_year = Date::from_calendar_date(as_of.year(), Month::January, 1).ok()?;
    let anchor = anchor_on_or_before(bars, new_year.previous_day()?)?;
    let end = count_through(bars, as_of);
    (end > anchor).then(|| &bars[anchor..end])
}

/// Bars dated within the last `days` calendar days of `as_of`: after as_of − days, through
/// as_of.
pub fn last_calendar_days(bars: &[Bar], as_of: Date, days: i64) -> &[Bar] {
    let end = count_through(bars, as_of);
    let first_day = day_number(as_of) - days;
    let start = bars[..end].partition_point(|b| day_of(b) <= first_day);
    &bars[start..end]
}

/// The last `n` sessions (bars) through `as_of`.
pub fn last_sessions(bars: &[Bar], as_of: Date, n: usize) -> &[Bar] {
    let end = count_through(bars, as_of);
    &bars[end.saturating_sub(n)..end]
}

/// High and low of a window, with the dates they were set and the window's extent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub high: f64,
    pub high_date: Date,
    pub low: f64,
    pub low_date: Date,
    pub first_date: Date,
    pub last_date: Date,
    pub bars: usize,
}

/// Highest high and lowest low of `bars` (first occurrence on ties); `None` when empty.
pub fn range(bars: &[Bar]) -> Option<Range> {
    let first = bars.first()?;
    let last = bars.last()?;
    let mut hi = first;
    let mut lo = first;
    for b in bars {
        if b.high > hi.high {
            hi = b;
        }
        if b.low < lo.low {
            lo = b;
        }
    }
    Some(Range {
        high: hi.high,
        high_date: bar_date(hi)?,
        low: lo.low,
        low_date: bar_date(lo)?,
        first_date: bar_date(first)?,
        last_date: bar_date(last)?,
        bars: bars.len(),
    })
}

/// The 52-week range: bars within the last 365 calendar days of `as_of`.
pub fn fifty_two_week_range(bars: &[Bar], as_of: Date) -> Option<Range> {
    range(last_calendar_days(bars, as_of, FIFTY_TWO_WEEK_DAYS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn bar(d: Date, close: f64) -> Bar {
        Bar {
            time: day_number(d) * DAY,
            open: close,
            high: close,
            low: close,
            close,
            ..Bar::default()
        }
    }

    #[test]
    fn dates_round_trip_and_windows_cut_on_dates() {
        let bars = [
            bar(date!(2025 - 12 - 30), 1.0),
            bar(date!(2026 - 01 - 02), 2.0),
            bar(date!(2026 - 01 - 05), 3.0),
        ];
        assert_eq!(bar_date(&bars[1]), Some(date!(2026 - 01 - 02)));
        let ytd = year_to_date(&bars, date!(2026 - 01 - 04)).unwrap();
        assert_eq!(
            ytd.iter().map(|b| b.close).collect::<Vec<_>>(),
            vec![1.0, 2.0]
        );
        assert!(year_to_date(&bars[1..], date!(2026 - 01 - 05)).is_none());
        // The window starts the day after as-of − days.
        assert_eq!(last_calendar_days(&bars, date!(2026 - 01 - 05), 3).len(), 1);
        assert_eq!(last_calendar_days(&bars, date!(2026 - 01 - 05), 4).len(), 2);
        assert_eq!(last_calendar_days(&bars, date!(2026 - 01 - 05), 6).len(), 2);
        assert_eq!(last_calendar_days(&bars, date!(2026 - 01 - 05), 7).len(), 3);
        assert_eq!(last_sessions(&bars, date!(2026 - 01 - 02), 5).len(), 2);
        let r = range(&bars).unwrap();
        assert_eq!(
            (r.high, r.low, r.high_date),
            (3.0, 1.0, date!(2026 - 01 - 05))
        );
    }
}
