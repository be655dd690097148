//! Wall-clock helpers and the simulated trading calendar (weekdays, session 13:30–20:00 UTC,
//! i.e. 09:30–16:00 New York in daylight time; holidays and DST shifts are ignored).

use time::{Date, Duration as TDuration, OffsetDateTime, Weekday};

pub const SESSION_OPEN_SECS: i64 = 13 * 3600 + 30 * 60;
pub const SESSION_MINUTES: i64 = 390;

pub fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn dt(epoch: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(epoch).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `YYYYMMDD`
pub fn ymd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `YYYYMMDD HH:MM:SS` (UTC wall clock).
pub fn ymd_hms(epoch: i64) -> String {
    let t = dt(epoch);
    format!(
        "{} {:02}:{:02}:{:02}",
        ymd(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYYMMDD-HH:MM:SS`, the UTC form `HistoricalDataEnd` accepts.
pub fn ymd_dash_hms(epoch: i64) -> String {
    let t = dt(epoch);
    format!(
        "{}-{:02}:{:02}:{:02}",
        ymd(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYY-MM-DD HH:MM:SS.0`, the form historical news times use.
pub fn news_time(epoch: i64) -> String {
    let t = dt(epoch);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.0",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `HH:MM:SS` for AccountUpdateTime-style stamps.
pub fn hm(epoch: i64) -> String {
    let t = dt(epoch);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

pub fn date_of(epoch: i64) -> Date {
    dt(epoch).date()
}

pub fn midnight(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp()
}

pub fn is_weekday(d: Date) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

pub fn prev_weekday(d: Date) -> Date {
    let mut x = d - TDuration::days(1);
    while !is_weekday(x) {
        x -= TDuration::days(1);
    }
    x
}

pub fn next_weekday(d: Date) -> Date {
    let mut x = d + TDuration::days(1);
    while !is_weekday(x) {
        x += TDuration::days(1);
    }
    x
}

/// The current (or most recent) session's date and how many of its minutes have elapsed.
pub fn current_session(now: i64) -> (Date, i64) {
    let d = date_of(now);
    let open = midnight(d) + SESSION_OPEN_SECS;
    if is_weekday(d) && now >= open {
        let mins = ((now - open) / 60 + 1).min(SESSION_MINUTES);
        (d, mins)
    } else {
        (prev_weekday(d), SESSION_MINUTES)
    }
}

/// Parses the client's `YYYYMMDD HH:MM:SS[ zone]` (zone ignored, read as UTC) or `YYYYMMDD`.
pub fn parse_request_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let date_part = s.get(0..8)?;
    let y: i32 = date_part.get(0..4)?.parse().ok()?;
    let m: u8 = date_part.get(4..6)?.parse().ok()?;
    let d: u8 = date_part.get(6..8)?.parse().ok()?;
    let date = Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    let rest = s.get(8..).unwrap_or("").trim_start_matches(['-', ' ']);
    let mut secs = 0i64;
    if rest.len() >= 8 {
        let h: i64 = rest.get(0..2)?.parse().ok()?;
        let mi: i64 = rest.get(3..5)?.parse().ok()?;
        let se: i64 = rest.get(6..8)?.parse().ok()?;
        secs = h * 3600 + mi * 60 + se;
    }
    Some(midnight(date) + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = parse_request_time("20250102 14:30:05 UTC").unwrap();
        assert_eq!(ymd_hms(t), "20250102 14:30:05");
        assert_eq!(ymd_dash_hms(t), "20250102-14:30:05");
        assert_eq!(news_time(t), "2025-01-02 14:30:05.0");
        assert_eq!(
            parse_request_time("20250102").map(ymd_hms).as_deref(),
            Some("20250102 00:00:00")
        );
        assert!(parse_request_time("garbage").is_none());
    }
}
