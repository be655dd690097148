//! Performance of one price series over a window: return, volatility, max drawdown.
//!
//! Method ([`METHOD`]): the first close is the window's anchor (the close before its first day),
//! so n + 1 closes describe n days.
//! * return = close-to-close simple return, last close / anchor close − 1;
//! * volatility = sample standard deviation (divisor n − 1) of the daily close-to-close simple
//!   returns, annualised by √252;
//! * max drawdown = the worst fall of a close from the highest close before it (≤ 0; exactly 0
//!   when the closes never fell below their running peak);
//! * return / volatility = the two above, as fractions (not annualised further).

use super::{drawdown, returns, stats};

/// Trading sessions per year, for annualising daily volatility.
pub const SESSIONS_PER_YEAR: f64 = 252.0;

/// The method in the words a tool prints.
pub const METHOD: &str = "close-to-close simple return from the anchor close (the close before the window's first day) to the last close; volatility = sample standard deviation (n − 1) of daily close-to-close simple returns × √252; max drawdown = worst fall of a close below the highest close before it (0 when it never fell)";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Performance {
    /// Fraction (0.05 = 5%).
    pub total_return: f64,
    /// Annualised, fraction; `None` with fewer than two daily returns.
    pub volatility: Option<f64>,
    /// Fraction ≤ 0.
    pub max_drawdown: f64,
    /// total_return / volatility; `None` when volatility is unknown or zero.
    pub return_to_volatility: Option<f64>,
    /// Daily returns in the window (closes − 1).
    pub daily_returns: usize,
}

/// Performance of `closes` (anchor first). `None` with fewer than two closes or a non-positive
/// close.
pub fn performance(closes: &[f64]) -> Option<Performance> {
    let total_return = returns::period_return(closes)?;
    let daily = returns::simple_returns(closes).ok()?;
    let volatility = (daily.len() >= 2)
        .then(|| stats::sample_std(&daily) * SESSIONS_PER_YEAR.sqrt())
        .filter(|v| v.is_finite());
    let points: Vec<(i64, f64)> = (0..).zip(closes.iter().copied()).collect();
    let max_drawdown = drawdown::drawdowns(&points, None).map_or(0.0, |r| r.max_drawdown());
    Some(Performance {
        total_return,
        volatility,
        max_drawdown,
        return_to_volatility: volatility.filter(|v| *v > 0.0).map(|v| total_return / v),
        daily_returns: daily.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_series_has_a_zero_drawdown() {
        let p = performance(&[100.0, 101.0, 103.0]).unwrap();
        assert_eq!(p.max_drawdown, 0.0);
        assert!((p.total_return - 0.03).abs() < 1e-12);
        assert_eq!(p.daily_returns, 2);
        assert!(performance(&[100.0]).is_none());
        assert!(performance(&[100.0, 0.0]).is_none());
    }
}
