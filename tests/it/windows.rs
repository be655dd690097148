//! Date-true windows on a calendar with holidays: year-to-date runs from the last close of the
//! previous year, and the 52-week range covers the last 365 calendar days, not the last 252
//! bars. References are worked out here from the dates, without `analytics::windows`.

use ibkr_cockpit::analytics::{performance, returns, windows};
use ibkr_cockpit::model::Bar;
use time::macros::date;
use time::{Date, Duration, Weekday};

/// NYSE holidays from mid-2022 to mid-2023 (2022-12-26 and 2023-01-02 are the observed
/// Christmas and New Year's Day, so the last session of 2022 is Friday 30 December).
const HOLIDAYS: [Date; 10] = [
    date!(2022 - 07 - 04),
    date!(2022 - 09 - 05),
    date!(2022 - 11 - 24),
    date!(2022 - 12 - 26),
    date!(2023 - 01 - 02),
    date!(2023 - 01 - 16),
    date!(2023 - 02 - 20),
    date!(2023 - 04 - 07),
    date!(2023 - 05 - 29),
    date!(2023 - 06 - 19),
];

const AS_OF: Date = date!(2023 - 06 - 30);

fn sessions(from: Date, to: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !HOLIDAYS.contains(&d) {
            out.push(d);
        }
        d = d.next_day().expect("date");
    }
    out
}

fn midnight_utc(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp()
}

/// Sessions from 2022-06-01 to the as-of date. Closes drift up by 0.1 a session from 100, with
/// a planted low of 50 on 2022-06-30 (exactly 365 days before the as-of date: outside the
/// 52-week window, but inside the last 252 bars) and a planted high of 300 on 2022-07-01 (the
/// first day inside the window).
fn book() -> Vec<(Date, Bar)> {
    sessions(date!(2022 - 06 - 01), AS_OF)
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let close = 100.0 + 0.1 * i as f64;
            let (high, low) = match d {
                d if d == date!(2022 - 06 - 30) => (close + 1.0, 50.0),
                d if d == date!(2022 - 07 - 01) => (300.0, close - 1.0),
                _ => (close + 1.0, close - 1.0),
            };
            (
                d,
                Bar {
                    time: midnight_utc(d),
                    open: close,
                    high,
                    low,
                    close,
                    ..Bar::default()
                },
            )
        })
        .collect()
}

#[test]
fn fifty_two_weeks_is_365_calendar_days_not_252_bars() {
    let dated = book();
    let bars: Vec<Bar> = dated.iter().map(|(_, b)| *b).collect();
    // Reference: bars dated after AS_OF − 365 days, through AS_OF.
    let first = AS_OF - Duration::days(365);
    let inside: Vec<&(Date, Bar)> = dated
        .iter()
        .filter(|(d, _)| *d > first && *d <= AS_OF)
        .collect();
    let want_high = inside.iter().map(|(_, b)| b.high).fold(f64::MIN, f64::max);
    let want_low = inside.iter().map(|(_, b)| b.low).fold(f64::MAX, f64::min);
    assert_eq!(want_high, 300.0);
    assert!(want_low > 50.0, "the planted low is outside the window");
    // The last 252 bars reach back past the window's start (holidays make a year ~250 sessions).
    let last_252 = &bars[bars.len() - 252..];
    assert_eq!(
        last_252.iter().map(|b| b.low).fold(f64::MAX, f64::min),
        50.0
    );

    let r = windows::fifty_two_week_range(&bars, AS_OF).expect("range");
    assert_eq!(r.high, want_high);
    assert_eq!(r.low, want_low);
    assert_eq!(r.high_date, date!(2022 - 07 - 01));
    assert_eq!(r.first_date, date!(2022 - 07 - 01));
    assert_eq!(r.last_date, AS_OF);
    assert_eq!(r.bars, inside.len());
    // 2022-07-01 to 2023-06-30 holds 261 weekdays, less the 10 holidays.
    assert_eq!(r.bars, 251);
}

#[test]
fn year_to_date_starts_at_the_last_close_of_the_previous_year() {
    let dated = book();
    let bars: Vec<Bar> = dated.iter().map(|(_, b)| *b).collect();
    // Reference: the last session of 2022 is Friday 30 December (31 December is a Saturday,
    // 2 January 2023 the observed holiday); the first session of 2023 is 3 January.
    let (anchor_date, anchor) = dated
        .iter()
        .rev()
        .find(|(d, _)| d.year() < 2023)
        .expect("a 2022 session");
    assert_eq!(*anchor_date, date!(2022 - 12 - 30));
    let (_, last) = dated.last().expect("bars");
    let want_return = last.close / anchor.close - 1.0;
    let sessions_2023 = dated.iter().filter(|(d, _)| d.year() == 2023).count();

    let ytd = windows::year_to_date(&bars, AS_OF).expect("YTD");
    assert_eq!(
        ytd.len(),
        sessions_2023 + 1,
        "anchor close + every 2023 session"
    );
    assert_eq!(windows::bar_date(&ytd[0]), Some(date!(2022 - 12 - 30)));
    assert_eq!(windows::bar_date(&ytd[1]), Some(date!(2023 - 01 - 03)));
    let closes: Vec<f64> = ytd.iter().map(|b| b.close).collect();
    let p = performance::performance(&closes).expect("performance");
    assert!((p.total_return - want_return).abs() < 1e-12);
    assert_eq!(p.daily_returns, sessions_2023);
    assert!((returns::period_return(&closes).unwrap() - want_return).abs() < 1e-12);
    // Rising closes never fall below their running peak: the drawdown is a number, zero.
    assert_eq!(p.max_drawdown, 0.0);

    // Day-of-year counted as sessions (181) reaches back into October 2022.
    let day_of_year = usize::from(AS_OF.ordinal());
    let by_count = &bars[bars.len() - day_of_year..];
    assert!(windows::bar_date(&by_count[0]).expect("date") < date!(2022 - 11 - 01));

    // On 2 January (a holiday, no 2023 bar yet) YTD is just the anchor: a zero return.
    let early = windows::year_to_date(&bars, date!(2023 - 01 - 02)).expect("YTD");
    assert_eq!(early.len(), 1);
    // History that starts inside the year has no anchor close.
    let from_2023: Vec<Bar> = dated
        .iter()
        .filter(|(d, _)| d.year() == 2023)
        .map(|(_, b)| *b)
        .collect();
    assert!(windows::year_to_date(&from_2023, AS_OF).is_none());
}
