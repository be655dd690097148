//! Returns in the account's base currency, so that currency risk is part of every risk number.
//!
//! Method: a holding priced in currency C, in an account whose base currency is B, is worth
//! `price × rate` in B, where `rate` is the B value of one unit of C (the C.B pair's close, or
//! 1 / the B.C close). Its base-currency return over a day is therefore
//!
//!   bₜ = (1 + rₜ)(1 + fₜ) − 1,   rₜ = close-to-close price return,  fₜ = the rate's return,
//!
//! which splits exactly into a price part rₜ and a currency part fₜ(1 + rₜ) (the currency move
//! applied to the day's new price). Holdings in the base currency have fₜ = 0, so bₜ = rₜ.
//! Over h days the returns compound; the currency part is the compounded total minus the
//! compounded price return.

use super::AnalyticsError;

/// The base-currency value of one unit of the holding's currency, from an FX pair's closes.
/// `pair_is_holding_per_base` is false for the pair C.B (quoted in B per C: used as is) and true
/// for B.C (quoted in C per B: inverted).
pub fn base_per_unit(closes: &[f64], pair_is_holding_per_base: bool) -> Vec<f64> {
    if pair_is_holding_per_base {
        closes.iter().map(|c| 1.0 / c).collect()
    } else {
        closes.to_vec()
    }
}

/// One holding's daily base-currency returns, split into price and currency parts.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitReturns {
    /// bₜ = (1 + rₜ)(1 + fₜ) − 1.
    pub total: Vec<f64>,
    /// rₜ, the close-to-close return of the price in its own currency.
    pub price: Vec<f64>,
    /// fₜ(1 + rₜ) = total − price.
    pub currency: Vec<f64>,
}

/// Combines a holding's price returns with its currency's returns against the base (`None`: the
/// holding is in the base currency). Both series must cover the same days.
pub fn combine(price: &[f64], fx: Option<&[f64]>) -> Result<SplitReturns, AnalyticsError> {
    let total: Vec<f64> = match fx {
        None => price.to_vec(),
        Some(fx) => {
            if fx.len() != price.len() {
                return Err(AnalyticsError::LengthMismatch(price.len(), fx.len()));
            }
            price
                .iter()
                .zip(fx)
                .map(|(r, f)| (1.0 + r) * (1.0 + f) - 1.0)
                .collect()
        }
    };
    let currency = total.iter().zip(price).map(|(b, r)| b - r).collect();
    Ok(SplitReturns {
        total,
        price: price.to_vec(),
        currency,
    })
}

/// h-day returns from overlapping windows of daily returns: the t-th is
/// Π(1 + rₛ) − 1 over days t … t + h − 1, so `n` daily returns give `n − h + 1` (none when
/// h > n). h = 1 returns the input.
pub fn compound_overlapping(daily: &[f64], h: usize) -> Vec<f64> {
    if h == 0 || h > daily.len() {
        return Vec::new();
    }
    daily
        .windows(h)
        .map(|w| w.iter().fold(1.0, |acc, r| acc * (1.0 + r)) - 1.0)
        .collect()
}

/// The same split over h days: the compounded total, the compounded price return, and the
/// currency part as their difference (so the parts still add up exactly).
pub fn over_horizon(daily: &SplitReturns, h: usize) -> SplitReturns {
    let total = compound_overlapping(&daily.total, h);
    let price = compound_overlapping(&daily.price, h);
    let currency = total.iter().zip(&price).map(|(b, r)| b - r).collect();
    SplitReturns {
        total,
        price,
        currency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_and_base_holdings_are_unchanged() {
        // Price +10%, USD.CAD +2%: (1.1 × 1.02) − 1 = 12.2%, currency part 2% × 1.1 = 2.2%.
        let s = combine(&[0.10, -0.05], Some(&[0.02, 0.0])).unwrap();
        assert!((s.total[0] - 0.122).abs() < 1e-12);
        assert!((s.currency[0] - 0.022).abs() < 1e-12);
        assert!((s.total[1] + 0.05).abs() < 1e-12);
        let same = combine(&[0.01, 0.02], None).unwrap();
        assert_eq!(same.total, vec![0.01, 0.02]);
        assert_eq!(same.currency, vec![0.0, 0.0]);
        assert!(combine(&[0.0], Some(&[0.0, 0.0])).is_err());
    }

    #[test]
    fn overlapping_windows_compound() {
        // (1.1)(0.9) − 1 = −1%, (0.9)(1.2) − 1 = 8%.
        let h = compound_overlapping(&[0.1, -0.1, 0.2], 2);
        assert_eq!(h.len(), 2);
        assert!((h[0] + 0.01).abs() < 1e-12 && (h[1] - 0.08).abs() < 1e-12);
        assert!(compound_overlapping(&[0.1], 2).is_empty());
        assert_eq!(base_per_unit(&[1.25, 2.0], true), vec![0.8, 0.5]);
    }
}
