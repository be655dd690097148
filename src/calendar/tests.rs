use super::*;
use time::macros::date;

const US: Venue = Venue::UsEquity;

#[test]
fn nyse_full_holidays_2025_and_2026() {
    let closed_2025 = [
        date!(2025 - 01 - 01),
        date!(2025 - 01 - 09),
        date!(2025 - 01 - 20),
        date!(2025 - 02 - 17),
        date!(2025 - 04 - 18),
        date!(2025 - 05 - 26),
        date!(2025 - 06 - 19),
        date!(2025 - 07 - 04),
        date!(2025 - 09 - 01),
        date!(2025 - 11 - 27),
        date!(2025 - 12 - 25),
    ];
    for d in closed_2025 {
        assert!(!is_trading_day(US, d), "{d} is a NYSE holiday");
        assert_eq!(session(US, d, true), None);
    }
    // 2026: July 4 is a Saturday (observed Friday July 3); Good Friday April 3.
    for d in [
        date!(2026 - 01 - 01),
        date!(2026 - 01 - 19),
        date!(2026 - 02 - 16),
        date!(2026 - 04 - 03),
        date!(2026 - 05 - 25),
        date!(2026 - 06 - 19),
        date!(2026 - 07 - 03),
        date!(2026 - 09 - 07),
        date!(2026 - 11 - 26),
        date!(2026 - 12 - 25),
    ] {
        assert!(holiday(d).is_some(), "{d}");
    }
    // New Year's Day 2022 is a Saturday: Friday 2021-12-31 still trades.
    assert!(is_trading_day(US, date!(2021 - 12 - 31)));
    assert!(is_trading_day(US, date!(2026 - 12 - 24)));
    assert_eq!(easter_for_tests_2030(), date!(2030 - 04 - 21));
}

fn easter_for_tests_2030() -> Date {
    holidays::easter_for_tests(2030)
}

#[test]
fn weekends_are_closed_and_trading_days_skip_holidays() {
    assert!(!is_trading_day(US, date!(2025 - 11 - 29)));
    assert_eq!(
        prev_trading_day(US, date!(2025 - 12 - 26)),
        date!(2025 - 12 - 24)
    );
    assert_eq!(
        next_trading_day(US, date!(2025 - 04 - 17)),
        date!(2025 - 04 - 21)
    );
    let days = trading_days_back(US, date!(2026 - 01 - 02), 3);
    assert_eq!(
        days,
        vec![
            date!(2025 - 12 - 30),
            date!(2025 - 12 - 31),
            date!(2026 - 01 - 02)
        ]
    );
}

#[test]
fn half_days_close_at_one_new_york() {
    // Day after Thanksgiving 2025 (EST): 14:30–18:00 UTC.
    let s = session(US, date!(2025 - 11 - 28), true).expect("open");
    assert_eq!(s.minutes(), 210);
    assert_eq!(s.open, ny_to_utc(date!(2025 - 11 - 28), 9 * 3600 + 1800));
    assert_eq!((s.open % 86_400) / 60, 14 * 60 + 30);
    assert_eq!((s.close % 86_400) / 60, 18 * 60);
    // July 3 2025 (EDT): 13:30–17:00 UTC; Christmas Eve 2025 early too.
    let j = session(US, date!(2025 - 07 - 03), true).expect("open");
    assert_eq!(
        ((j.open % 86_400) / 60, (j.close % 86_400) / 60),
        (810, 1020)
    );
    assert!(early_close(date!(2025 - 12 - 24)));
    assert!(!early_close(date!(2025 - 12 - 23)));
    // Extended hours on a half day end at 17:00 New York.
    let e = session(US, date!(2025 - 11 - 28), false).expect("open");
    assert_eq!(e.minutes(), 13 * 60);
}

#[test]
fn dst_moves_the_session_in_utc() {
    // Friday before the March 2025 switch: EST, 14:30 UTC open.
    let fri = session(US, date!(2025 - 03 - 07), true).expect("open");
    assert_eq!((fri.open % 86_400) / 60, 14 * 60 + 30);
    // Monday after (DST began Sunday 2025-03-09): 13:30 UTC.
    let mon = session(US, date!(2025 - 03 - 10), true).expect("open");
    assert_eq!((mon.open % 86_400) / 60, 13 * 60 + 30);
    assert_eq!(mon.minutes(), 390);
    // Monday after the November switch (2025-11-02): back to 14:30 UTC.
    let nov = session(US, date!(2025 - 11 - 03), true).expect("open");
    assert_eq!((nov.open % 86_400) / 60, 14 * 60 + 30);
    assert_eq!(ny_offset(nov.open), -5 * 3600);
    assert_eq!(ny_offset(mon.open), -4 * 3600);
}

#[test]
fn fx_trades_sunday_evening_to_friday_evening() {
    let fx = Venue::Fx;
    assert!(!is_trading_day(fx, date!(2025 - 12 - 06)));
    assert!(
        is_trading_day(fx, date!(2025 - 12 - 25)),
        "FX ignores NYSE holidays"
    );
    // Monday's session opens Sunday 17:15 New York (22:15 UTC in winter).
    let mon = session(fx, date!(2025 - 12 - 08), true).expect("open");
    assert_eq!(mon.open % 86_400 / 60, 22 * 60 + 15);
    assert_eq!(ny_date(mon.open), date!(2025 - 12 - 07));
    assert_eq!(mon.close % 86_400 / 60, 22 * 60);
    // Saturday noon: closed; the last session is Friday's.
    let sat_noon = ny_to_utc(date!(2025 - 12 - 06), 12 * 3600);
    assert_eq!(session_at(fx, sat_noon, true), None);
    assert_eq!(
        last_session(fx, sat_noon, true).map(|s| s.date),
        Some(date!(2025 - 12 - 05))
    );
    // Sunday 18:00 New York: open.
    let sun = ny_to_utc(date!(2025 - 12 - 07), 18 * 3600);
    assert!(session_at(fx, sun, true).is_some());
}

#[test]
fn hours_text_marks_closed_days_as_ib_does() {
    let text = hours_text(US, date!(2025 - 12 - 24), 3, true);
    assert_eq!(
        text,
        "20251224:0930-20251224:1300;20251225:CLOSED;20251226:0930-20251226:1600"
    );
    let fx = hours_text(Venue::Fx, date!(2025 - 12 - 05), 3, true);
    assert_eq!(
        fx,
        "20251205:CLOSED;20251206:CLOSED;20251207:1715-20251208:1700"
    );
}
