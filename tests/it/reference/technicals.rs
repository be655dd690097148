//! Hand-written reference indicators, independent of `src/analytics` (which uses the `ta`
//! crate): the textbook charting conventions, written out step by step.
//!
//! * SMA(n): mean of the last n closes.
//! * EMA(n): α = 2 / (n + 1), seeded with the SMA of the first n closes.
//! * RSI(n): Wilder's smoothing (α = 1 / n) of gains and losses, seeded with their simple
//!   averages over the first n changes; 100 when there are no losses.
//! * MACD(fast, slow, signal): EMA(fast) − EMA(slow); signal = EMA(signal) of the MACD line,
//!   which starts once the slow EMA exists; histogram = MACD − signal.
//! * Bollinger(n, k): SMA(n) ± k × population standard deviation of the last n closes.
//! * ATR(n): Wilder's smoothing of the true range max(h − l, |h − c₋₁|, |l − c₋₁|).
//!
//! Each returns `None` when there are too few values.
use ibkr_cockpit::model::Bar;

pub fn sma(closes: &[f64], n: usize) -> Option<f64> {
    if n == 0 || closes.len() < n {
        return None;
    }
    Some(closes[closes.len() - n..].iter().sum::<f64>() / n as f64)
}

/// The whole EMA series, aligned so that `out[i]` is the EMA at `closes[n − 1 + i]`.
pub fn ema_series(closes: &[f64], n: usize) -> Vec<f64> {
    if n == 0 || closes.len() < n {
        return Vec::new();
    }
    let alpha = 2.0 / (n as f64 + 1.0);
    let mut e = closes[..n].iter().sum::<f64>() / n as f64;
    let mut out = Vec::with_capacity(closes.len() - n + 1);
    out.push(e);
    for c in &closes[n..] {
        e += alpha * (c - e);
        out.push(e);
    }
    out
}

pub fn ema(closes: &[f64], n: usize) -> Option<f64> {
    ema_series(closes, n).last().copied()
}

pub fn rsi(closes: &[f64], n: usize) -> Option<f64> {
    if n == 0 || closes.len() < n + 1 {
        return None;
    }
    let changes: Vec<f64> = closes.windows(2).map(|w| w[1] - w[0]).collect();
    let (mut gain, mut loss) = changes[..n]
        .iter()
        .fold((0.0, 0.0), |(g, l), c| (g + c.max(0.0), l + (-c).max(0.0)));
    gain /= n as f64;
    loss /= n as f64;
    for c in &changes[n..] {
        gain = (gain * (n as f64 - 1.0) + c.max(0.0)) / n as f64;
        loss = (loss * (n as f64 - 1.0) + (-c).max(0.0)) / n as f64;
    }
    if loss == 0.0 {
        return Some(if gain == 0.0 { 50.0 } else { 100.0 });
    }
    Some(100.0 - 100.0 / (1.0 + gain / loss))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Macd {
    pub macd: f64,
    pub signal: f64,
    pub histogram: f64,
}

pub fn macd(closes: &[f64], fast: usize, slow: usize, signal: usize) -> Option<Macd> {
    if fast == 0 || fast >= slow {
        return None;
    }
    let f = ema_series(closes, fast);
    let s = ema_series(closes, slow);
    // Both series end at the last close; the slow one is shorter.
    let offset = f.len().checked_sub(s.len())?;
    let line: Vec<f64> = s.iter().zip(&f[offset..]).map(|(s, f)| f - s).collect();
    let sig = ema(&line, signal)?;
    let m = *line.last()?;
    Some(Macd {
        macd: m,
        signal: sig,
        histogram: m - sig,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bollinger {
    pub middle: f64,
    pub upper: f64,
    pub lower: f64,
}

pub fn bollinger(closes: &[f64], n: usize, k: f64) -> Option<Bollinger> {
    let middle = sma(closes, n)?;
    let window = &closes[closes.len() - n..];
    let var = window
        .iter()
        .map(|c| (c - middle) * (c - middle))
        .sum::<f64>()
        / n as f64;
    let sd = var.sqrt();
    Some(Bollinger {
        middle,
        upper: middle + k * sd,
        lower: middle - k * sd,
    })
}

pub fn atr(bars: &[Bar], n: usize) -> Option<f64> {
    if n == 0 || bars.len() < n + 1 {
        return None;
    }
    let tr: Vec<f64> = bars
        .windows(2)
        .map(|w| {
            let (prev, b) = (w[0].close, &w[1]);
            (b.high - b.low)
                .max((b.high - prev).abs())
                .max((b.low - prev).abs())
        })
        .collect();
    let mut a = tr[..n].iter().sum::<f64>() / n as f64;
    for t in &tr[n..] {
        a = (a * (n as f64 - 1.0) + t) / n as f64;
    }
    Some(a)
}
