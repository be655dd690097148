//! Historical bars: 5+ years of daily history and minute paths for any session, generated
//! deterministically from the seed, consistent with the live quote (yesterday's close is the
//! quote's close; today's bar and the last minute bar end at the current price).
//!
//! Daily returns load on the same sector factors as live ticks, so correlations and betas
//! computed from these bars look like a real book. Minute paths are Brownian bridges between a
//! day's open and close.

use super::clock;
use super::market::{AssetKind, Instrument, Market, SECTORS, stable_hash};
use super::proto as pb;
use crate::calendar::{self, Venue};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use time::Date;

/// Trading days of daily history before the current session (a little over five years).
pub const HISTORY_DAYS: usize = 1_320;
const DAILY_DRIFT: f64 = 0.0003;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BarUnit {
    Seconds(i64),
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum What {
    Trades,
    Midpoint,
    Bid,
    Ask,
    BidAsk,
    AdjustedLast,
    HistoricalVolatility,
    ImpliedVolatility,
    /// Stock borrow fee rate (`FEE_RATE`), percent per year.
    FeeRate,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    Seconds(i64),
    /// N trading sessions.
    Days(i64),
    /// Calendar seconds (weeks, months, years).
    Calendar(i64),
}

/// A parsed historical request.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRequest {
    pub inst: usize,
    pub unit: BarUnit,
    pub span: Span,
    pub what: What,
    pub use_rth: bool,
    /// Epoch seconds; `None` = now.
    pub end: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutBar {
    /// `YYYYMMDD` for daily and longer bars, epoch seconds for intraday.
    pub date: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub wap: f64,
    pub count: i32,
}

pub struct BarsOut {
    pub bars: Vec<OutBar>,
    pub start: i64,
    pub end: i64,
}

pub fn to_proto(b: &OutBar) -> pb::HistoricalDataBar {
    pb::HistoricalDataBar {
        date: Some(b.date.clone()),
        open: Some(b.open),
        high: Some(b.high),
        low: Some(b.low),
        close: Some(b.close),
        volume: Some(if b.volume < 0.0 {
            "-1".into()
        } else {
            format!("{}", b.volume.round() as i64)
        }),
        wap: Some(format!("{:.4}", b.wap)),
        bar_count: Some(b.count),
    }
}

/// The key IB's pacing rules compare ("identical request").
pub fn pacing_key(r: &pb::HistoricalDataRequest) -> String {
    let c = r.contract.clone().unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        c.con_id.unwrap_or(0),
        c.symbol.unwrap_or_default(),
        c.sec_type.unwrap_or_default(),
        c.exchange.unwrap_or_default(),
        c.currency.unwrap_or_default(),
        r.end_date_time.clone().unwrap_or_default(),
        r.bar_size_setting.clone().unwrap_or_default(),
        r.duration.clone().unwrap_or_default(),
        r.what_to_show.clone().unwrap_or_default(),
        r.use_rth.unwrap_or(false)
    )
}

/// The key of IB's "same contract, exchange and tick type" rule.
pub fn pacing_contract_key(r: &pb::HistoricalDataRequest) -> String {
    let c = r.contract.clone().unwrap_or_default();
    format!(
        "{}|{}|{}|{}",
        c.con_id.unwrap_or(0),
        c.symbol.unwrap_or_default(),
        c.exchange.unwrap_or_default(),
        r.what_to_show.clone().unwrap_or_default()
    )
}

/// Whether the request's bars are "small" (30 seconds or less) for IB's pacing rules.
pub fn is_small_bar(bar_size: &str) -> bool {
    matches!(parse_bar_size(bar_size), Ok(BarUnit::Seconds(s)) if s <= super::pacing::SMALL_BAR_SECS)
}

impl BarRequest {
    pub fn parse(r: &pb::HistoricalDataRequest, inst: usize) -> Result<BarRequest, String> {
        let unit = parse_bar_size(r.bar_size_setting.as_deref().unwrap_or(""))?;
        let span = parse_duration(r.duration.as_deref().unwrap_or(""))?;
        let what = match r
            .what_to_show
            .as_deref()
            .unwrap_or("TRADES")
            .to_ascii_uppercase()
            .as_str()
        {
            "TRADES" => What::Trades,
            "MIDPOINT" => What::Midpoint,
            "BID" => What::Bid,
            "ASK" => What::Ask,
            "BID_ASK" => What::BidAsk,
            "ADJUSTED_LAST" => What::AdjustedLast,
            "HISTORICAL_VOLATILITY" => What::HistoricalVolatility,
            "OPTION_IMPLIED_VOLATILITY" => What::ImpliedVolatility,
            "FEE_RATE" => What::FeeRate,
            other => {
                return Err(format!(
                    "Error validating request.-'bP' : cause - Invalid what to show: {other}"
                ));
            }
        };
        if what == What::AdjustedLast && matches!(unit, BarUnit::Seconds(_)) {
            return Err("Error validating request.-'bP' : cause - ADJUSTED_LAST requires a bar size of 1 day or longer".into());
        }
        let end = r
            .end_date_time
            .as_deref()
            .and_then(clock::parse_request_time);
        Ok(BarRequest {
            inst,
            unit,
            span,
            what,
            use_rth: r.use_rth.unwrap_or(false),
            end,
        })
    }
}

/// IB's answer (error 162) for data its historical service does not keep: IDEALPRO publishes
/// no trades, so FX `TRADES` bars are refused naming the pair's base currency and the bar size
/// as HMDS does (`Last 1d`, `Last 300` for five minutes).
pub fn no_data_reason(inst: &Instrument, req: &BarRequest) -> Option<String> {
    if inst.kind != AssetKind::Fx || !matches!(req.what, What::Trades | What::AdjustedLast) {
        return None;
    }
    let bar = match req.unit {
        BarUnit::Seconds(s) => s.to_string(),
        BarUnit::Day => "1d".into(),
        BarUnit::Week => "1w".into(),
        BarUnit::Month => "1m".into(),
    };
    Some(format!(
        "Historical Market Data Service error message:No historical market data for {}/CASH@FXSUBPIP Last {bar}",
        inst.symbol
    ))
}

fn parse_bar_size(s: &str) -> Result<BarUnit, String> {
    let bad = || format!("Error validating request.-'bP' : cause - Invalid bar size: {s:?}");
    let mut it = s.split_whitespace();
    let n: i64 = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let unit = it.next().ok_or_else(bad)?.to_ascii_lowercase();
    if n <= 0 {
        return Err(bad());
    }
    Ok(if unit.starts_with("sec") {
        BarUnit::Seconds(n)
    } else if unit.starts_with("min") {
        BarUnit::Seconds(n * 60)
    } else if unit.starts_with("hour") {
        BarUnit::Seconds(n * 3600)
    } else if unit.starts_with("day") {
        BarUnit::Day
    } else if unit.starts_with("week") {
        BarUnit::Week
    } else if unit.starts_with("month") {
        BarUnit::Month
    } else {
        return Err(bad());
    })
}

fn parse_duration(s: &str) -> Result<Span, String> {
    let bad = || format!("Error validating request.-'bP' : cause - Invalid duration: {s:?}");
    let mut it = s.split_whitespace();
    let n: i64 = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    if n <= 0 {
        return Err(bad());
    }
    Ok(
        match it.next().ok_or_else(bad)?.to_ascii_uppercase().as_str() {
            "S" => Span::Seconds(n),
            "D" => Span::Days(n),
            "W" => Span::Calendar(n * 7 * 86_400),
            "M" => Span::Calendar(n * 30 * 86_400 + n * 43_200),
            "Y" => Span::Calendar(n * 365 * 86_400),
            _ => return Err(bad()),
        },
    )
}

#[derive(Debug, Clone, Copy)]
pub struct DailyBar {
    pub date: Date,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// Factor returns shared by every instrument: `[day][factor]`, day 0 = the most recent history day.
fn factor_returns(seed: u64, days: usize) -> Vec<[f64; SECTORS.len()]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xfac7_0125);
    (0..days)
        .map(|_| {
            let mut row = [0.0; SECTORS.len()];
            for v in row.iter_mut() {
                *v = rng.sample(StandardNormal);
            }
            row
        })
        .collect()
}

/// The calendar an instrument trades on.
pub fn venue(inst: &Instrument) -> Venue {
    if inst.kind == AssetKind::Fx {
        Venue::Fx
    } else {
        Venue::UsEquity
    }
}

/// The current (or most recent) regular session of the instrument's venue and how many of its
/// minutes have elapsed at `now`.
pub fn current_session(inst: &Instrument, now: i64) -> (calendar::Session, i64) {
    let v = venue(inst);
    let s = calendar::last_session(v, now, true).unwrap_or(calendar::Session {
        date: clock::date_of(now),
        open: now,
        close: now + 60,
    });
    let elapsed = ((now - s.open) / 60 + 1).clamp(1, s.minutes().max(1));
    (s, elapsed)
}

/// Daily history (oldest first) ending with today's (partial) bar from the live state: one bar
/// per trading day of the instrument's venue.
pub fn daily_series(m: &Market, inst: &Instrument, now: i64) -> Vec<DailyBar> {
    let today = current_session(inst, now).0.date;
    let key = MemoKey {
        inst: inst.key(),
        today,
        prev_close: inst.prev_close.to_bits(),
    };
    let past = m.history_memo.past_days(key, || past_days(m, inst, today));
    let mut bars = Vec::with_capacity(past.len() + 1);
    bars.extend_from_slice(&past);
    bars.push(DailyBar {
        date: today,
        open: inst.open,
        high: inst.high.max(inst.last),
        low: inst.low.min(inst.last),
        close: inst.last,
        volume: inst.volume,
    });
    bars
}

/// What makes an instrument's past daily bars what they are (the seed is the market's own).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MemoKey {
    inst: String,
    today: Date,
    prev_close: u64,
}

/// Past daily bars per instrument and day, so a book of thousands of symbols asking for
/// history does not regenerate years of bars (and walk the calendar) per request while holding
/// the world's lock. Bounded: cleared whole when full.
#[derive(Default)]
pub struct HistoryMemo {
    past: Mutex<HashMap<MemoKey, Arc<Vec<DailyBar>>>>,
    dates: Mutex<HashMap<(Venue, Date), TradingDays>>,
    factors: OnceLock<Vec<[f64; SECTORS.len()]>>,
}

/// Trading days before a date, newest first.
type TradingDays = Arc<Vec<Date>>;

const MEMO_MAX_ENTRIES: usize = 20_000;

impl HistoryMemo {
    fn past_days(&self, key: MemoKey, build: impl FnOnce() -> Vec<DailyBar>) -> Arc<Vec<DailyBar>> {
        if let Some(hit) = self.past.lock().get(&key) {
            return hit.clone();
        }
        let built = Arc::new(build());
        let mut past = self.past.lock();
        if past.len() >= MEMO_MAX_ENTRIES {
            past.clear();
        }
        past.insert(key, built.clone());
        built
    }

    /// The `HISTORY_DAYS` trading days before `today`, newest first.
    fn dates(&self, v: Venue, today: Date) -> TradingDays {
        let mut dates = self.dates.lock();
        if dates.len() >= MEMO_MAX_ENTRIES {
            dates.clear();
        }
        dates
            .entry((v, today))
            .or_insert_with(|| {
                let mut out = Vec::with_capacity(HISTORY_DAYS);
                let mut d = today;
                for _ in 0..HISTORY_DAYS {
                    d = calendar::prev_trading_day(v, d);
                    out.push(d);
                }
                Arc::new(out)
            })
            .clone()
    }
}

/// The instrument's daily bars before `today`, oldest first.
fn past_days(m: &Market, inst: &Instrument, today: Date) -> Vec<DailyBar> {
    let dates = m.history_memo.dates(venue(inst), today);
    let factors = m
        .history_memo
        .factors
        .get_or_init(|| factor_returns(m.seed, HISTORY_DAYS));
    let mut rng = ChaCha8Rng::seed_from_u64(m.seed ^ stable_hash(&inst.key()));
    let vol = inst.daily_vol;
    let sector = inst.sector.min(SECTORS.len() - 1);
    // Walk back from yesterday's close: close[k+1] = close[k] / exp(r[k]).
    let mut bars = Vec::with_capacity(HISTORY_DAYS + 1);
    let mut close = inst.prev_close;
    for (k, date) in dates.iter().enumerate() {
        let z: f64 = rng.sample(StandardNormal);
        let f = &factors[k];
        let r = match inst.kind {
            AssetKind::Fx => vol * (0.3 * f[0] + 0.95 * z),
            _ => {
                DAILY_DRIFT + vol * (0.55 * inst.beta.min(1.6) * f[0] + 0.45 * f[sector] + 0.65 * z)
            }
        };
        let prev_close = close / r.exp();
        let gap: f64 = rng.sample::<f64, _>(StandardNormal) * vol * 0.3;
        let open = prev_close * gap.exp();
        let up: f64 = rng.sample::<f64, _>(StandardNormal).abs() * vol * 0.5;
        let down: f64 = rng.sample::<f64, _>(StandardNormal).abs() * vol * 0.5;
        let vz: f64 = rng.sample(StandardNormal);
        bars.push(DailyBar {
            date: *date,
            open,
            high: open.max(close) * up.exp(),
            low: open.min(close) * (-down).exp(),
            close,
            volume: if inst.kind == AssetKind::Fx {
                0.0
            } else {
                (inst.avg_volume * (0.3 * vz).exp()).round()
            },
        });
        close = prev_close;
    }
    bars.reverse();
    bars
}

/// 52-week low and high from the daily history.
pub fn range_52w(m: &Market, inst: &Instrument) -> (f64, f64) {
    let series = daily_series(m, inst, clock::now_secs());
    let tail = &series[series.len().saturating_sub(252)..];
    let lo = tail.iter().map(|b| b.low).fold(f64::INFINITY, f64::min);
    let hi = tail.iter().map(|b| b.high).fold(0.0, f64::max);
    (lo, hi)
}

/// Ex-dividend dates (quarterly) within the daily series, with the amount paid.
pub fn dividend_dates(inst: &Instrument, series: &[DailyBar]) -> Vec<(Date, f64)> {
    let amount = inst.quarterly_dividend();
    if amount <= 0.0 {
        return Vec::new();
    }
    let phase = (stable_hash(&inst.symbol) % 63) as usize;
    series
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + phase).is_multiple_of(63))
        .map(|(_, b)| (b.date, amount))
        .collect()
}

/// One minute bar: (start epoch, open, high, low, close, volume).
type MinuteBar = (i64, f64, f64, f64, f64, f64);

/// Minute bars of one session bridging `open` to `close` over the regular session's minutes
/// that have begun before `upto`; when `rth` is false, also pre-market (04:00 New York to the
/// open, drifting from the previous close) and after-hours (the close to 20:00, or 17:00 on a
/// half day), as IB serves them with `useRTH=0`.
fn minute_bars(
    m: &Market,
    inst: &Instrument,
    day: &DailyBar,
    prev_close: f64,
    upto: i64,
    rth: bool,
) -> Vec<MinuteBar> {
    let (date, open, close, day_volume) = (day.date, day.open, day.close, day.volume);
    let Some(session) = calendar::session(venue(inst), date, true) else {
        return Vec::new();
    };
    let session_minutes = session.minutes().max(1);
    let mut rng = day_rng(m, inst, date);
    let sigma = inst.daily_vol / (session_minutes as f64).sqrt();
    let session_open = session.open;
    let mut out = Vec::new();
    let extended = (!rth && venue(inst) == Venue::UsEquity)
        .then(|| calendar::session(venue(inst), date, false))
        .flatten();
    if let Some(ext) = extended {
        // Pre-market: thin trading drifting from yesterday's close to the open.
        let pre = (session_open - ext.open) / 60;
        out.extend(bridge(
            &mut rng,
            ext.open,
            pre,
            prev_close,
            open,
            sigma * 0.4,
            day_volume * 0.03,
        ));
    }
    let n = ((upto.saturating_sub(session_open)) / 60 + 1).clamp(1, session_minutes);
    out.extend(bridge(
        &mut rng,
        session_open,
        n,
        open,
        close,
        sigma,
        day_volume * (n as f64 / session_minutes as f64),
    ));
    if let Some(ext) = extended
        && upto >= session.close
    {
        // After hours: thinner still, wandering about the close.
        let post = (ext.close - session.close) / 60;
        out.extend(bridge(
            &mut rng,
            session.close,
            post,
            close,
            close,
            sigma * 0.4,
            day_volume * 0.02,
        ));
    }
    out
}

/// Pre-market minute bars of `now`'s New York day when its regular session has not opened
/// yet (the daily series ends with the previous session then): thin trading about the last
/// close, from 04:00 up to now.
fn pre_market_today(m: &Market, inst: &Instrument, last: &DailyBar, now: i64) -> Vec<MinuteBar> {
    let v = venue(inst);
    if v != Venue::UsEquity {
        return Vec::new();
    }
    let date = calendar::ny_date(now);
    let (Some(ext), Some(rth)) = (
        calendar::session(v, date, false),
        calendar::session(v, date, true),
    ) else {
        return Vec::new();
    };
    if date <= last.date || now < ext.open || now >= rth.open {
        return Vec::new();
    }
    let mut rng = day_rng(m, inst, date);
    let sigma = inst.daily_vol / (rth.minutes().max(1) as f64).sqrt();
    let n = (now - ext.open) / 60 + 1;
    bridge(
        &mut rng,
        ext.open,
        n,
        last.close,
        last.close,
        sigma * 0.4,
        inst.avg_volume * 0.03 * n as f64 / ((rth.open - ext.open) / 60).max(1) as f64,
    )
}

/// The random stream of one instrument's minute bars on `date` (same seed, same bars).
fn day_rng(m: &Market, inst: &Instrument, date: Date) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(
        m.seed ^ stable_hash(&inst.key()) ^ (date.to_julian_day() as u64).wrapping_mul(0x9e37_79b9),
    )
}

fn bridge(
    rng: &mut ChaCha8Rng,
    start: i64,
    n: i64,
    from: f64,
    to: f64,
    sigma: f64,
    volume: f64,
) -> Vec<MinuteBar> {
    let n_us = n.max(1) as usize;
    let mut w = Vec::with_capacity(n_us + 1);
    w.push(0.0);
    for _ in 0..n_us {
        let z: f64 = rng.sample(StandardNormal);
        let last = w.last().copied().unwrap_or(0.0);
        w.push(last + sigma * z);
    }
    let wn = w[n_us];
    let drift = (to / from).ln();
    let path: Vec<f64> = (0..=n_us)
        .map(|i| {
            let t = i as f64 / n_us as f64;
            from * (t * drift + w[i] - t * wn).exp()
        })
        .collect();
    // U-shaped volume profile: busier at the open and the close.
    let weights: Vec<f64> = (0..n_us)
        .map(|i| 1.0 + 2.0 * ((i as f64 / n_us as f64) - 0.5).powi(2) * 4.0)
        .collect();
    let wsum: f64 = weights.iter().sum();
    (0..n_us)
        .map(|i| {
            let (o, c) = (path[i], path[i + 1]);
            let wick: f64 = rng.random::<f64>() * sigma * 0.5;
            let vol = (volume * weights[i] / wsum).round();
            (
                start + i as i64 * 60,
                o,
                o.max(c) * (1.0 + wick),
                o.min(c) * (1.0 - wick),
                c,
                vol,
            )
        })
        .collect()
}

fn shape(what: What, inst: &Instrument, o: f64, h: f64, l: f64, c: f64) -> (f64, f64, f64, f64) {
    let half = inst.spread() / 2.0;
    match what {
        What::Bid => (o - half, h - half, l - half, c - half),
        What::Ask => (o + half, h + half, l + half, c + half),
        What::BidAsk => (o - half, h + half, l - half, c + half),
        _ => (o, h, l, c),
    }
}

/// Builds an output bar from `[open, high, low, close, volume]`.
fn finish(inst: &Instrument, what: What, date: String, ohlcv: [f64; 5], count: i32) -> OutBar {
    let [o, h, l, c, v] = ohlcv;
    let (o, h, l, c) = shape(what, inst, o, h, l, c);
    let r = |x: f64| inst.round(x);
    let trades = matches!(what, What::Trades | What::AdjustedLast) && inst.kind != AssetKind::Fx;
    OutBar {
        date,
        open: r(o),
        high: r(h.max(o).max(c)),
        low: r(l.min(o).min(c)),
        close: r(c),
        volume: if trades { v } else { -1.0 },
        wap: if trades { (o + h + l + c) / 4.0 } else { -1.0 },
        count: if trades { count.max(1) } else { -1 },
    }
}

/// Answers a historical request.
pub fn bars(m: &Market, req: &BarRequest, now: i64) -> Result<BarsOut, String> {
    let inst = m.get(req.inst);
    let end = req.end.unwrap_or(now).min(now);
    let series = daily_series(m, inst, now);
    let end_date = clock::date_of(end);
    let upto: Vec<DailyBar> = series
        .iter()
        .copied()
        .filter(|b| b.date <= end_date)
        .collect();
    if upto.is_empty() {
        return Err("HMDS query returned no data".into());
    }
    let start = match req.span {
        Span::Seconds(s) => end - s,
        Span::Calendar(s) => end - s,
        Span::Days(n) => {
            let k = upto.len().saturating_sub(n as usize);
            clock::midnight(upto[k].date)
        }
    };
    if req.what == What::FeeRate {
        let bars = super::research::fee_rate_bars(inst, &upto, start);
        return Ok(BarsOut { bars, start, end });
    }
    if matches!(
        req.what,
        What::HistoricalVolatility | What::ImpliedVolatility
    ) {
        return Ok(vol_bars(inst, &upto, start, end, req.what));
    }
    let bars = match req.unit {
        BarUnit::Day | BarUnit::Week | BarUnit::Month => {
            let mut days: Vec<DailyBar> = upto
                .iter()
                .copied()
                .filter(|b| clock::midnight(b.date) >= clock::midnight(clock::date_of(start)))
                .collect();
            if req.what == What::AdjustedLast {
                adjust_for_dividends(inst, &series, &mut days);
            }
            aggregate_days(inst, req.what, &days, req.unit)
        }
        BarUnit::Seconds(secs) => {
            let today = current_session(inst, now).0;
            let mut minutes: Vec<MinuteBar> = Vec::new();
            for (i, b) in upto.iter().enumerate() {
                let Some(session) = calendar::session(venue(inst), b.date, req.use_rth) else {
                    continue;
                };
                if session.close < start || session.open > end {
                    continue;
                }
                let prev_close = if i > 0 { upto[i - 1].close } else { b.open };
                let limit = if b.date == today.date { now } else { i64::MAX };
                minutes.extend(minute_bars(m, inst, b, prev_close, limit, req.use_rth));
            }
            if !req.use_rth
                && let Some(last) = upto.last()
            {
                minutes.extend(pre_market_today(m, inst, last, now));
            }
            minutes.retain(|b| b.0 >= start - 59 && b.0 <= end);
            aggregate_intraday(inst, req.what, &minutes, secs)
        }
    };
    Ok(BarsOut { bars, start, end })
}

fn adjust_for_dividends(inst: &Instrument, series: &[DailyBar], days: &mut [DailyBar]) {
    // Prices before each ex-date are scaled down by the dividend's share of the price.
    for (ex, amount) in dividend_dates(inst, series) {
        for d in days.iter_mut().filter(|d| d.date < ex) {
            let f = 1.0 - amount / d.close.max(0.01);
            d.open *= f;
            d.high *= f;
            d.low *= f;
            d.close *= f;
        }
    }
}

fn aggregate_days(inst: &Instrument, what: What, days: &[DailyBar], unit: BarUnit) -> Vec<OutBar> {
    let bucket = |d: Date| -> i64 {
        match unit {
            BarUnit::Week => {
                clock::midnight(d) / 86_400 - i64::from(d.weekday().number_days_from_monday())
            }
            BarUnit::Month => i64::from(d.year()) * 12 + i64::from(u8::from(d.month())),
            _ => clock::midnight(d),
        }
    };
    let mut out: Vec<OutBar> = Vec::new();
    let mut cur: Option<(i64, DailyBar, f64)> = None;
    for b in days {
        let k = bucket(b.date);
        match cur.as_mut() {
            Some((key, acc, vol)) if *key == k => {
                acc.high = acc.high.max(b.high);
                acc.low = acc.low.min(b.low);
                acc.close = b.close;
                *vol += b.volume;
            }
            _ => {
                if let Some((_, acc, vol)) = cur.take() {
                    out.push(finish(
                        inst,
                        what,
                        clock::ymd(acc.date),
                        [acc.open, acc.high, acc.low, acc.close, vol],
                        (vol / 150.0) as i32,
                    ));
                }
                cur = Some((k, *b, b.volume));
            }
        }
    }
    if let Some((_, acc, vol)) = cur {
        out.push(finish(
            inst,
            what,
            clock::ymd(acc.date),
            [acc.open, acc.high, acc.low, acc.close, vol],
            (vol / 150.0) as i32,
        ));
    }
    out
}

fn aggregate_intraday(
    inst: &Instrument,
    what: What,
    minutes: &[MinuteBar],
    secs: i64,
) -> Vec<OutBar> {
    let mut out = Vec::new();
    if secs < 60 {
        // Sub-minute bars: split each minute evenly along its open→close line.
        let parts = (60 / secs.max(1)).max(1);
        for &(t, o, h, l, c, v) in minutes {
            for p in 0..parts {
                let a = o + (c - o) * p as f64 / parts as f64;
                let b = o + (c - o) * (p + 1) as f64 / parts as f64;
                let hi = a.max(b).min(h).max(a.max(b));
                let lo = a.min(b).max(l).min(a.min(b));
                out.push(finish(
                    inst,
                    what,
                    (t + p * secs).to_string(),
                    [a, hi, lo, b, (v / parts as f64).round()],
                    1,
                ));
            }
        }
        return out;
    }
    let mut cur: Option<(i64, f64, f64, f64, f64, f64)> = None;
    for &(t, o, h, l, c, v) in minutes {
        let k = t - t.rem_euclid(secs);
        match cur.as_mut() {
            Some(acc) if acc.0 == k => {
                acc.2 = acc.2.max(h);
                acc.3 = acc.3.min(l);
                acc.4 = c;
                acc.5 += v;
            }
            _ => {
                if let Some(a) = cur.take() {
                    out.push(finish(
                        inst,
                        what,
                        a.0.to_string(),
                        [a.1, a.2, a.3, a.4, a.5],
                        (a.5 / 120.0) as i32,
                    ));
                }
                cur = Some((k, o, h, l, c, v));
            }
        }
    }
    if let Some(a) = cur {
        out.push(finish(
            inst,
            what,
            a.0.to_string(),
            [a.1, a.2, a.3, a.4, a.5],
            (a.5 / 120.0) as i32,
        ));
    }
    out
}

fn vol_bars(inst: &Instrument, days: &[DailyBar], start: i64, end: i64, what: What) -> BarsOut {
    let mut bars = Vec::new();
    for w in days.windows(21) {
        let d = w[20].date;
        if clock::midnight(d) < start - 86_400 {
            continue;
        }
        let rets: Vec<f64> = w
            .windows(2)
            .map(|p| (p[1].close / p[0].close).ln())
            .collect();
        let mean = rets.iter().sum::<f64>() / rets.len() as f64;
        let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (rets.len() as f64 - 1.0);
        let hv = (var * 252.0).sqrt();
        let v = if what == What::ImpliedVolatility {
            hv * 1.1 + 0.02
        } else {
            hv
        };
        bars.push(OutBar {
            date: clock::ymd(d),
            open: v,
            high: v,
            low: v,
            close: v,
            volume: -1.0,
            wap: -1.0,
            count: -1,
        });
    }
    let _ = inst;
    BarsOut { bars, start, end }
}

/// The bar a keep-up-to-date stream is currently building (the last bar of a fresh answer).
pub fn current_bar(m: &Market, req: &BarRequest, now: i64) -> Option<OutBar> {
    let short = BarRequest {
        span: Span::Days(1),
        end: None,
        ..req.clone()
    };
    bars(m, &short, now)
        .ok()
        .and_then(|b| b.bars.last().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::universe;

    fn req(m: &Market, sym: &str, bar: &str, dur: &str, what: &str) -> BarRequest {
        let r = pb::HistoricalDataRequest {
            bar_size_setting: Some(bar.into()),
            duration: Some(dur.into()),
            what_to_show: Some(what.into()),
            use_rth: Some(true),
            ..Default::default()
        };
        BarRequest::parse(&r, m.by_key(sym).unwrap()).unwrap()
    }

    #[test]
    fn daily_history_ends_at_the_live_quote() {
        let m = universe::base_market(7);
        let now = clock::now_secs();
        let out = bars(&m, &req(&m, "KRYX", "1 day", "3 Y", "TRADES"), now).unwrap();
        assert!(out.bars.len() > 700, "{}", out.bars.len());
        let last = out.bars.last().unwrap();
        assert_eq!(last.close, 54.18);
        let prev = &out.bars[out.bars.len() - 2];
        let inst = m.get(m.by_key("KRYX").unwrap());
        assert_eq!(prev.close, inst.round(inst.prev_close));
        assert!(
            out.bars.iter().all(|b| b.low <= b.open
                && b.low <= b.close
                && b.high >= b.open
                && b.high >= b.close)
        );
        assert!(out.bars.iter().all(|b| b.date.len() == 8));
    }

    #[test]
    fn minute_bars_cover_a_session_and_are_deterministic() {
        let m = universe::base_market(7);
        // A Wednesday 15:00 New York with five full sessions behind it (the wall clock could
        // be early in a session or just after a holiday, leaving fewer hourly bars).
        let now = 1_792_004_400;
        let a = bars(&m, &req(&m, "VLTX", "1 min", "1 D", "TRADES"), now).unwrap();
        let b = bars(&m, &req(&m, "VLTX", "1 min", "1 D", "TRADES"), now).unwrap();
        assert_eq!(a.bars, b.bars);
        assert!(!a.bars.is_empty() && a.bars.len() <= 390);
        assert_eq!(a.bars.last().unwrap().close, 94.32);
        assert!(a.bars[0].date.parse::<i64>().is_ok());
        let hourly = bars(&m, &req(&m, "VLTX", "1 hour", "5 D", "MIDPOINT"), now).unwrap();
        assert!(hourly.bars.len() >= 5 * 6);
    }

    /// 1-minute TRADES bars of VLTX over the last day at `now`, with or without extended hours.
    fn minute_times(m: &Market, now: i64, rth: bool) -> Vec<i64> {
        let mut r = req(m, "VLTX", "1 min", "1 D", "TRADES");
        r.use_rth = rth;
        let out = bars(m, &r, now).unwrap();
        out.bars
            .iter()
            .map(|b| b.date.parse::<i64>().unwrap())
            .collect()
    }

    #[test]
    fn extended_hours_add_pre_market_and_after_hours_bars() {
        let m = universe::base_market(7);
        // Wed 2026-10-14 17:30 New York (EDT): the regular session ended at 20:00 UTC.
        let now = 1_792_013_400;
        let rth = minute_times(&m, now, true);
        assert_eq!(rth.first(), Some(&1_791_984_600), "09:30 New York");
        assert_eq!(rth.last(), Some(&(1_792_008_000 - 60)), "last bar 15:59");
        let ext = minute_times(&m, now, false);
        assert_eq!(
            ext.first(),
            Some(&(1_791_984_600 - 330 * 60)),
            "04:00 New York"
        );
        assert_eq!(
            ext.last(),
            Some(&now),
            "after hours up to the minute in progress"
        );
        assert!(ext.contains(&1_792_008_000), "16:00 bar");
        // Half day (Fri 2026-11-27, EST): the regular session closes 13:00, after hours 17:00.
        let half_day_close = 1_795_802_400; // 2026-11-27 13:00 New York = 18:00 UTC
        let evening = half_day_close + 6 * 3_600; // 19:00 New York
        let rth = minute_times(&m, evening, true);
        assert_eq!(rth.last(), Some(&(half_day_close - 60)));
        let ext = minute_times(&m, evening, false);
        assert_eq!(
            ext.last(),
            Some(&(half_day_close + 4 * 3_600 - 60)),
            "16:59 New York"
        );
        // Thu 2026-10-15 08:00 New York, before the open: today's pre-market so far.
        let morning = 1_792_065_600;
        let ext = minute_times(&m, morning, false);
        assert_eq!(ext.last(), Some(&morning), "up to the minute in progress");
        assert!(ext.contains(&(morning - 4 * 3_600)), "04:00 bar of today");
        let rth = minute_times(&m, morning, true);
        assert!(
            rth.last().is_some_and(|t| *t < morning - 12 * 3_600),
            "yesterday's session only"
        );
    }

    #[test]
    fn rejects_bad_sizes() {
        let r = pb::HistoricalDataRequest {
            bar_size_setting: Some("7 parsecs".into()),
            duration: Some("1 D".into()),
            ..Default::default()
        };
        assert!(BarRequest::parse(&r, 0).is_err());
    }
}
