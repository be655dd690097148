//! Returns from closing prices, and alignment of several symbols' histories on common dates.
//!
//! THE return of this crate is the close-to-close simple return, cₜ / cₜ₋₁ − 1 for a day and
//! c_end / c_start − 1 for a period ([`RETURN_BASIS`]). Any other basis a tool shows is named as
//! such ([`OPEN_TO_CLOSE_BASIS`]).

use super::AnalyticsError;
use crate::model::Bar;
use std::collections::BTreeMap;

/// Seconds in a day: daily bars are keyed by their UTC day number so that two feeds that stamp
/// the same session at different times of day still line up.
const DAY: i64 = 86_400;

/// How every "return" is computed, in the words tools print.
pub const RETURN_BASIS: &str = "close-to-close simple return";
/// The one other basis a tool may show (the first bar's open to the last bar's close), always
/// under this name.
pub const OPEN_TO_CLOSE_BASIS: &str = "open-to-close simple return";

/// Close-to-close simple return over a period: last close / first close − 1, where the first
/// close is the period's anchor (the close before the period's first day). `None` with fewer
/// than two closes or a non-positive, non-finite anchor or end.
pub fn period_return(closes: &[f64]) -> Option<f64> {
    let (first, last) = (*closes.first()?, *closes.last()?);
    let valid = |c: f64| c.is_finite() && c > 0.0;
    (closes.len() >= 2 && valid(first) && valid(last)).then(|| last / first - 1.0)
}

/// Open-to-close simple return: last close / first open − 1 (`None` on a non-positive open).
pub fn open_to_close_return(first_open: f64, last_close: f64) -> Option<f64> {
    (first_open.is_finite() && first_open > 0.0 && last_close.is_finite())
        .then(|| last_close / first_open - 1.0)
}

/// Simple returns rₜ = cₜ / cₜ₋₁ − 1 (pandas `pct_change`). `n` closes give `n − 1` returns.
/// Errors on a non-positive or non-finite close, which would make a return meaningless.
pub fn simple_returns(closes: &[f64]) -> Result<Vec<f64>, AnalyticsError> {
    check_prices(closes)?;
    Ok(closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect())
}

/// Log returns rₜ = ln(cₜ / cₜ₋₁).
pub fn log_returns(closes: &[f64]) -> Result<Vec<f64>, AnalyticsError> {
    check_prices(closes)?;
    Ok(closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect())
}

fn check_prices(closes: &[f64]) -> Result<(), AnalyticsError> {
    match closes.iter().position(|c| !(c.is_finite() && *c > 0.0)) {
        Some(i) => Err(AnalyticsError::Invalid(format!(
            "close #{i} is {}: prices must be positive numbers",
            closes[i]
        ))),
        None => Ok(()),
    }
}

/// Which return definition to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnKind {
    Simple,
    Log,
}

/// (day, close) pairs from daily bars; `day` is the UTC day number (epoch seconds / 86 400).
pub fn daily_closes(bars: &[Bar]) -> Vec<(i64, f64)> {
    bars.iter()
        .map(|b| (b.time.div_euclid(DAY), b.close))
        .collect()
}

/// Several symbols' closes restricted to the dates every one of them has (an inner join, like
/// `pandas.concat(..., axis=1, join="inner")`), oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignedCloses {
    pub symbols: Vec<String>,
    /// Common dates, ascending (whatever unit the caller used, e.g. day numbers).
    pub dates: Vec<i64>,
    /// `closes[s][t]`: symbol `s` on `dates[t]`.
    pub closes: Vec<Vec<f64>>,
}

/// Aligns `(symbol, [(date, close)])` series on their common dates. A date repeated within one
/// series keeps its last close. Symbols keep the order given.
pub fn align(series: &[(String, Vec<(i64, f64)>)]) -> AlignedCloses {
    let maps: Vec<BTreeMap<i64, f64>> = series
        .iter()
        .map(|(_, s)| s.iter().copied().collect())
        .collect();
    let dates: Vec<i64> = match maps.split_first() {
        None => Vec::new(),
        Some((first, rest)) => first
            .keys()
            .copied()
            .filter(|d| rest.iter().all(|m| m.contains_key(d)))
            .collect(),
    };
    let closes = maps
        .iter()
        .map(|m| {
            dates
                .iter()
                .map(|d| m.get(d).copied().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    AlignedCloses {
        symbols: series.iter().map(|(s, _)| s.clone()).collect(),
        dates,
        closes,
    }
}

/// Returns of aligned closes: `returns[s][t]` is symbol `s` from `dates[t]` to `dates[t + 1]`;
/// `dates` here are the end dates of each return.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignedReturns {
    pub symbols: Vec<String>,
    pub dates: Vec<i64>,
    pub returns: Vec<Vec<f64>>,
}

impl AlignedCloses {
    /// Returns over the common dates, keeping only the most recent `lookback` (all if `None`).
    pub fn returns(
        &self,
        kind: ReturnKind,
        lookback: Option<usize>,
    ) -> Result<AlignedReturns, AnalyticsError> {
        let mut returns = Vec::with_capacity(self.closes.len());
        for (symbol, closes) in self.symbols.iter().zip(&self.closes) {
            let r = match kind {
                ReturnKind::Simple => simple_returns(closes),
                ReturnKind::Log => log_returns(closes),
            }
            .map_err(|e| AnalyticsError::Invalid(format!("{symbol}: {e}")))?;
            returns.push(r);
        }
        let n = self.dates.len().saturating_sub(1);
        let keep = lookback.map_or(n, |l| l.min(n));
        let skip = n - keep;
        Ok(AlignedReturns {
            symbols: self.symbols.clone(),
            dates: self.dates.iter().skip(1 + skip).copied().collect(),
            returns: returns.into_iter().map(|r| r[skip..].to_vec()).collect(),
        })
    }
}
