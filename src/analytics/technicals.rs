//! Technical indicators on daily bars, computed with the `ta` crate, returning the latest value.
//! The conventions ([`METHOD`]) are the ones charting platforms use, so numbers match what a
//! trader sees once the series is long enough for the start to have faded:
//!
//! * SMA(n): mean of the last n closes.
//! * EMA(n): α = 2 / (n + 1), started at the first close of the series (charting platforms start
//!   at the SMA of the first n closes; the difference shrinks by (1 − α) a bar, so a year of
//!   bars makes them equal at printed precision).
//! * RSI(n) and ATR(n): Wilder's smoothing, α = 1 / n. `ta` smooths with α = 2 / (period + 1),
//!   and an EMA of period 2n − 1 has exactly α = 1 / n, so `ta` is given that period. `ta`
//!   starts the RSI's average gain and loss at 0.1 and the ATR at the first true range, where
//!   charting platforms start at simple averages of the first n; the start fades the same way
//!   (below 1e-7 after 230 bars of RSI 14).
//! * MACD(fast, slow, signal): EMA(fast) − EMA(slow); signal = EMA(signal) of that line;
//!   histogram = MACD − signal.
//! * Bollinger(n, k): SMA(n) ± k × population standard deviation (divisor n) of the last n
//!   closes.
//! * ATR true range: max(high − low, |high − previous close|, |low − previous close|).
//!
//! Each returns `None` when there are fewer values than the indicator needs.

use crate::model::Bar;
use ta::Next;
use ta::indicators::{
    AverageTrueRange, BollingerBands, ExponentialMovingAverage, MovingAverageConvergenceDivergence,
    RelativeStrengthIndex, SimpleMovingAverage,
};

/// The method in the words a tool prints.
pub const METHOD: &str = "daily bars, windows in sessions (not calendar days); SMA = mean of the last n closes; EMA α = 2/(n+1) started at the first close; RSI and ATR with Wilder's smoothing (α = 1/n); MACD 12/26/9 = EMA12 − EMA26 with a 9-period EMA signal; Bollinger 20/2 = SMA20 ± 2 population standard deviations; ATR true range uses the previous close";

/// Wilder's smoothing of period n, as the period of an ordinary EMA (α = 2 / (p + 1) = 1 / n).
const fn wilder(n: usize) -> usize {
    2 * n - 1
}

/// Last value of an indicator fed every close; `None` with fewer than `needed` closes.
fn last_of<I: Next<f64, Output = f64>>(
    ind: Option<I>,
    closes: &[f64],
    needed: usize,
) -> Option<f64> {
    let mut ind = ind?;
    if needed == 0 || closes.len() < needed {
        return None;
    }
    closes
        .iter()
        .map(|c| ind.next(*c))
        .last()
        .filter(|v| v.is_finite())
}

pub fn sma(closes: &[f64], n: usize) -> Option<f64> {
    last_of(SimpleMovingAverage::new(n).ok(), closes, n)
}

pub fn ema(closes: &[f64], n: usize) -> Option<f64> {
    last_of(ExponentialMovingAverage::new(n).ok(), closes, n)
}

/// Wilder RSI(n); needs n + 1 closes (n changes).
pub fn rsi(closes: &[f64], n: usize) -> Option<f64> {
    if n == 0 {
        return None;
    }
    last_of(RelativeStrengthIndex::new(wilder(n)).ok(), closes, n + 1)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Macd {
    pub macd: f64,
    pub signal: f64,
    pub histogram: f64,
}

/// MACD(fast, slow, signal); needs slow + signal − 1 closes (the signal's first full window).
pub fn macd(closes: &[f64], fast: usize, slow: usize, signal: usize) -> Option<Macd> {
    if fast == 0 || fast >= slow || signal == 0 || closes.len() < slow + signal - 1 {
        return None;
    }
    let mut m = MovingAverageConvergenceDivergence::new(fast, slow, signal).ok()?;
    let o = closes.iter().map(|c| m.next(*c)).last()?;
    Some(Macd {
        macd: o.macd,
        signal: o.signal,
        histogram: o.histogram,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bollinger {
    pub middle: f64,
    pub upper: f64,
    pub lower: f64,
}

pub fn bollinger(closes: &[f64], n: usize, k: f64) -> Option<Bollinger> {
    if n == 0 || closes.len() < n {
        return None;
    }
    let mut bb = BollingerBands::new(n, k).ok()?;
    let o = closes.iter().map(|c| bb.next(*c)).last()?;
    Some(Bollinger {
        middle: o.average,
        upper: o.upper,
        lower: o.lower,
    })
}

/// Wilder ATR(n); needs n + 1 bars (n true ranges with a previous close).
pub fn atr(bars: &[Bar], n: usize) -> Option<f64> {
    if n == 0 || bars.len() < n + 1 {
        return None;
    }
    let mut atr = AverageTrueRange::new(wilder(n)).ok()?;
    // A bar whose high/low do not bracket its open and close (a feed quirk) is widened to do so;
    // `ta` refuses such bars otherwise.
    let items: Vec<ta::DataItem> = bars
        .iter()
        .filter_map(|b| {
            ta::DataItem::builder()
                .open(b.open)
                .high(b.high.max(b.open).max(b.close))
                .low(b.low.min(b.open).min(b.close))
                .close(b.close)
                .volume(b.volume.max(0.0))
                .build()
                .ok()
        })
        .collect();
    items
        .iter()
        .map(|i| atr.next(i))
        .last()
        .filter(|v| v.is_finite())
}

/// Every indicator a technicals view shows, on daily bars (oldest first).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Indicators {
    pub sma20: Option<f64>,
    pub sma50: Option<f64>,
    pub sma200: Option<f64>,
    pub ema12: Option<f64>,
    pub ema26: Option<f64>,
    pub rsi14: Option<f64>,
    pub macd: Option<Macd>,
    pub bollinger: Option<Bollinger>,
    pub atr14: Option<f64>,
    /// ATR as a percent of the last close.
    pub atr_pct: Option<f64>,
}

pub fn indicators(bars: &[Bar]) -> Indicators {
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let atr14 = atr(bars, 14);
    Indicators {
        sma20: sma(&closes, 20),
        sma50: sma(&closes, 50),
        sma200: sma(&closes, 200),
        ema12: ema(&closes, 12),
        ema26: ema(&closes, 26),
        rsi14: rsi(&closes, 14),
        macd: macd(&closes, 12, 26, 9),
        bollinger: bollinger(&closes, 20, 2.0),
        atr14,
        atr_pct: atr14
            .zip(closes.last().copied())
            .filter(|(_, p)| *p > 0.0)
            .map(|(a, p)| a / p * 100.0),
    }
}
