//! Sentinel cleaning: IB encodes "no value" as -1, 0, `f64::MAX` (1.797e308), NaN or infinity,
//! depending on the field. None of those may reach the store, where they would be summed,
//! averaged and shown as real prices. Every number the adapter writes passes through here.

/// Anything at or above this is one of IB's "unset" encodings (`f64::MAX`, `i64::MAX` as a
/// decimal, `i32::MAX`), never a real price, size or amount.
const UNSET_THRESHOLD: f64 = 1.0e300;

/// A finite number that is not one of IB's huge "unset" encodings.
pub fn finite(v: f64) -> Option<f64> {
    if v.is_finite() && v.abs() < UNSET_THRESHOLD && v != i64::MAX as f64 && v != i32::MAX as f64 {
        Some(v)
    } else {
        None
    }
}

/// A price of a stock, FX pair or option: strictly positive. IB sends -1 for "no bid/ask"
/// and 0 when a quote is not available; neither is a price.
pub fn price(v: f64) -> Option<f64> {
    finite(v).filter(|p| *p > 0.0)
}

/// A size or volume: zero is meaningless on a quote (no size known), negatives are sentinels.
pub fn size(v: f64) -> Option<f64> {
    finite(v).filter(|s| *s > 0.0)
}

/// A money amount (P&L, market value, account value): zero and negatives are real values, only
/// non-finite and "unset" encodings are dropped.
pub fn amount(v: f64) -> Option<f64> {
    finite(v)
}

/// An optional amount (ibapi already maps some sentinels to `None`).
pub fn amount_opt(v: Option<f64>) -> Option<f64> {
    v.and_then(amount)
}

/// A position quantity: zero is a real (flat) quantity.
pub fn quantity(v: f64) -> Option<f64> {
    finite(v)
}

/// An option greek: ibapi already maps IB's "not computed" markers to `None`; what is left
/// only needs the non-finite / unset check.
pub fn greek(v: Option<f64>) -> Option<f64> {
    v.and_then(finite)
}

/// Delta: additionally bounded by 1 in magnitude, so a raw -2 "not computed" never passes.
pub fn delta(v: Option<f64>) -> Option<f64> {
    greek(v).filter(|d| d.abs() <= 1.0)
}

/// Implied volatility: positive and finite.
pub fn implied_vol(v: Option<f64>) -> Option<f64> {
    v.and_then(price)
}

/// Parses an account-value string ("24612.35", "-1", "") into a cleaned amount.
pub fn parse_amount(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().and_then(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_never_pass_as_prices() {
        for bad in [
            -1.0,
            0.0,
            f64::MAX,
            1.797e308,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(price(bad), None, "{bad} must not be a price");
            assert_eq!(size(bad), None, "{bad} must not be a size");
        }
        assert_eq!(price(101.25), Some(101.25));
        assert_eq!(size(300.0), Some(300.0));
    }

    #[test]
    fn amounts_keep_zero_and_negatives_but_drop_unset() {
        assert_eq!(amount(0.0), Some(0.0));
        assert_eq!(amount(-125.5), Some(-125.5));
        for bad in [
            f64::MAX,
            1.797e308,
            f64::NAN,
            f64::INFINITY,
            i64::MAX as f64,
            i32::MAX as f64,
        ] {
            assert_eq!(amount(bad), None, "{bad} must not be an amount");
        }
        assert_eq!(amount_opt(Some(f64::MAX)), None);
        assert_eq!(amount_opt(None), None);
    }

    #[test]
    fn greeks_drop_not_computed_markers() {
        assert_eq!(delta(Some(-2.0)), None);
        assert_eq!(delta(Some(-1.0)), Some(-1.0));
        assert_eq!(greek(Some(f64::MAX)), None);
        assert_eq!(greek(Some(f64::NAN)), None);
        assert_eq!(delta(Some(-0.45)), Some(-0.45));
        assert_eq!(implied_vol(Some(-1.0)), None);
        assert_eq!(implied_vol(Some(0.31)), Some(0.31));
    }

    #[test]
    fn parses_account_strings() {
        assert_eq!(parse_amount("24612.35"), Some(24612.35));
        assert_eq!(parse_amount(" -10 "), Some(-10.0));
        assert_eq!(parse_amount(""), None);
        assert_eq!(parse_amount("1.7976931348623157E308"), None);
        assert_eq!(parse_amount("NaN"), None);
    }
}
