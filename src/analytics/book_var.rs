//! Value at Risk and expected shortfall of a book in its base currency, by the parametric
//! (variance–covariance) method and by historical simulation, with per-holding components and
//! the part that comes from currency moves.
//!
//! Inputs are today's holdings (signed values in base currency) and each holding's daily
//! close-to-close returns split into price and currency parts (`base_currency::combine`), on
//! common dates. Method, per measure:
//!
//! * **Parametric** (`var::parametric_var`): zero-mean normal P&L with the sample covariance of
//!   the base-currency daily returns; an h-day horizon scales by √h; ES(c) = σ√h·φ(z_c)/(1 − c).
//!   Components by Euler allocation. The currency line is the Euler share of the currency part
//!   Xₜ = Σᵢ vᵢ·currencyᵢₜ of the book's P&L Lₜ: z·√h·cov(X, L)/σ(L).
//! * **Historical** (`historical`): today's holdings revalued over every overlapping h-day window
//!   of the same daily returns (pnlᵢₜ = vᵢ × compounded base-currency return), so n daily returns
//!   give n − h + 1 scenarios; VaR and ES read off the ranked scenario losses, components and
//!   the currency line from the same scenarios.
//!
//! Each method also reports VaR with currency rates held fixed (price returns only), so a user
//! sees what the currency exposure adds. A book entirely in the base currency has no currency
//! part: its numbers are those of the price returns alone.

use super::base_currency::{self, SplitReturns};
use super::{AnalyticsError, historical, stats, var};

/// Confidence of the expected shortfall reported beside VaR (the Basel market-risk level).
pub const ES_CONFIDENCE: f64 = 0.975;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Parametric,
    Historical,
}

/// The book: `values[i]` and `returns[i]` describe holding i; every return series covers
/// `dates` (the end date of each daily return, in whatever unit the caller uses).
#[derive(Debug, Clone, Copy)]
pub struct BookInput<'a> {
    pub values: &'a [f64],
    pub returns: &'a [SplitReturns],
    pub dates: &'a [i64],
}

/// One risk measure (VaR or ES) at one confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub confidence: f64,
    /// Loss in base currency over the horizon.
    pub value: f64,
    /// Per holding, input order; sums to `value`.
    pub components: Vec<f64>,
    /// The part of `value` from currency moves (0 for a book in its base currency).
    pub currency_part: f64,
    /// Historical VaR: end date of the scenario the VaR is read from.
    pub scenario_date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MethodResult {
    pub method: Method,
    pub horizon_days: usize,
    /// Daily returns used.
    pub daily_returns: usize,
    /// Parametric: daily returns in the covariance; historical: overlapping h-day scenarios.
    pub scenarios: usize,
    /// One per confidence asked, in the order asked.
    pub var: Vec<Measure>,
    /// Expected shortfall at [`ES_CONFIDENCE`].
    pub es: Measure,
    /// VaR at each confidence asked with currency rates held fixed.
    pub var_price_only: Vec<f64>,
    /// Parametric only: one-day standard deviation of the book's P&L.
    pub sigma_daily: Option<f64>,
}

/// Parametric VaR at each of `confidences` and ES at 97.5%, over `horizon_days`.
pub fn parametric(
    book: BookInput<'_>,
    confidences: &[f64],
    horizon_days: usize,
) -> Result<MethodResult, AnalyticsError> {
    let n = check(book, horizon_days)?;
    let h = horizon_days as f64;
    let totals: Vec<Vec<f64>> = book.returns.iter().map(|r| r.total.clone()).collect();
    let cov = stats::covariance_matrix(&totals)?;
    let book_pnl = weighted_sum(book.values, book.returns.iter().map(|r| &r.total));
    let currency_pnl = weighted_sum(book.values, book.returns.iter().map(|r| &r.currency));
    let cov_x_l = stats::covariance(&currency_pnl, &book_pnl)?;
    let price_cov = if has_currency(book) {
        let prices: Vec<Vec<f64>> = book.returns.iter().map(|r| r.price.clone()).collect();
        Some(stats::covariance_matrix(&prices)?)
    } else {
        None
    };
    let measure = |c: f64, es: bool| -> Result<(Measure, f64), AnalyticsError> {
        let v = var::parametric_var(book.values, &cov, c, h)?;
        // ES under the same normal model is VaR scaled by φ(z)/(1 − c) / z.
        let scale = if es {
            var::normal_es_multiplier(c) / v.z
        } else {
            1.0
        };
        let currency_part = if v.sigma_daily == 0.0 {
            0.0
        } else {
            v.z * h.sqrt() * cov_x_l / v.sigma_daily * scale
        };
        Ok((
            Measure {
                confidence: c,
                value: v.var * scale,
                components: v.component.iter().map(|x| x * scale).collect(),
                currency_part,
                scenario_date: None,
            },
            v.sigma_daily,
        ))
    };
    let mut vars = Vec::with_capacity(confidences.len());
    let mut price_only = Vec::with_capacity(confidences.len());
    let mut sigma = None;
    for &c in confidences {
        let (m, s) = measure(c, false)?;
        sigma = Some(s);
        price_only.push(match &price_cov {
            Some(pc) => var::parametric_var(book.values, pc, c, h)?.var,
            None => m.value,
        });
        vars.push(m);
    }
    let (es, s) = measure(ES_CONFIDENCE, true)?;
    Ok(MethodResult {
        method: Method::Parametric,
        horizon_days,
        daily_returns: n,
        scenarios: n,
        var: vars,
        es,
        var_price_only: price_only,
        sigma_daily: sigma.or(Some(s)),
    })
}

/// Historical-simulation VaR at each of `confidences` and ES at 97.5%, over `horizon_days`
/// (overlapping h-day windows).
pub fn historical(
    book: BookInput<'_>,
    confidences: &[f64],
    horizon_days: usize,
) -> Result<MethodResult, AnalyticsError> {
    let n = check(book, horizon_days)?;
    if horizon_days > n {
        return Err(AnalyticsError::TooFewObservations {
            needed: horizon_days,
            got: n,
        });
    }
    let windows: Vec<SplitReturns> = book
        .returns
        .iter()
        .map(|r| base_currency::over_horizon(r, horizon_days))
        .collect();
    let scenarios = n - horizon_days + 1;
    let pnl = |part: fn(&SplitReturns) -> &Vec<f64>| -> Vec<Vec<f64>> {
        book.values
            .iter()
            .zip(&windows)
            .map(|(v, w)| part(w).iter().map(|r| v * r).collect())
            .collect()
    };
    let total_pnl = pnl(|w| &w.total);
    let price_pnl = pnl(|w| &w.price);
    let currency_line = weighted_sum(book.values, windows.iter().map(|w| &w.currency));
    // The end date of scenario t is the end date of its last day.
    let scenario_date = |t: usize| book.dates.get(t + horizon_days - 1).copied();
    let to_measure = |t: historical::Tail, dated: bool| Measure {
        confidence: t.confidence,
        value: t.value,
        currency_part: t.allocate(&currency_line),
        scenario_date: if dated {
            t.weights.first().and_then(|&(s, _)| scenario_date(s))
        } else {
            None
        },
        components: t.components,
    };
    let mut vars = Vec::with_capacity(confidences.len());
    let mut price_only = Vec::with_capacity(confidences.len());
    for &c in confidences {
        vars.push(to_measure(historical::var(&total_pnl, c)?, true));
        price_only.push(historical::var(&price_pnl, c)?.value);
    }
    let es = to_measure(
        historical::expected_shortfall(&total_pnl, ES_CONFIDENCE)?,
        false,
    );
    Ok(MethodResult {
        method: Method::Historical,
        horizon_days,
        daily_returns: n,
        scenarios,
        var: vars,
        es,
        var_price_only: price_only,
        sigma_daily: None,
    })
}

impl MethodResult {
    /// The method in one sentence, with the numbers actually used, for a tool's `method` field.
    pub fn method_text(&self, base_currency: &str) -> String {
        let h = self.horizon_days;
        let n = self.daily_returns;
        let returns = format!(
            "{n} daily close-to-close returns in {base_currency} (each price return combined with its currency's return against {base_currency})"
        );
        match self.method {
            Method::Parametric => format!(
                "parametric (variance–covariance): zero-mean normal P&L with the sample covariance of {returns}; {h}-day horizon by √{h} scaling; ES 97.5% = σ·√h·φ(z)/(1 − c); component VaR by Euler allocation (sums to VaR); the currency line is the Euler share of the currency part of the P&L"
            ),
            Method::Historical => {
                let scenarios = if h == 1 {
                    format!("each of {} past days", self.scenarios)
                } else {
                    format!("{} overlapping {h}-day windows", self.scenarios)
                };
                format!(
                    "historical simulation: today's holdings revalued over {scenarios} of {returns}; VaR = the smallest loss exceeded in at most 1 − c of the scenarios; ES 97.5% = mean loss of the worst 2.5% of scenarios; components and the currency line from the same scenarios (they sum to the total)"
                )
            }
        }
    }
}

/// Σᵢ valueᵢ × seriesᵢ[t] for every t.
fn weighted_sum<'a>(values: &[f64], series: impl Iterator<Item = &'a Vec<f64>>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for (v, s) in values.iter().zip(series) {
        if out.is_empty() {
            out = vec![0.0; s.len()];
        }
        for (o, r) in out.iter_mut().zip(s) {
            *o += v * r;
        }
    }
    out
}

fn has_currency(book: BookInput<'_>) -> bool {
    book.returns
        .iter()
        .any(|r| r.currency.iter().any(|x| *x != 0.0))
}

/// Validates shapes; returns the number of daily returns.
fn check(book: BookInput<'_>, horizon_days: usize) -> Result<usize, AnalyticsError> {
    if book.values.len() != book.returns.len() {
        return Err(AnalyticsError::LengthMismatch(
            book.values.len(),
            book.returns.len(),
        ));
    }
    if book.values.is_empty() {
        return Err(AnalyticsError::Invalid(
            "the book holds no positions".into(),
        ));
    }
    if horizon_days == 0 {
        return Err(AnalyticsError::Invalid(
            "horizon 0 days: use 1 day or more".into(),
        ));
    }
    let n = book.dates.len();
    for r in book.returns {
        for len in [r.total.len(), r.price.len(), r.currency.len()] {
            if len != n {
                return Err(AnalyticsError::LengthMismatch(n, len));
            }
        }
    }
    if n < 2 {
        return Err(AnalyticsError::TooFewObservations { needed: 2, got: n });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(price: &[f64], fx: Option<&[f64]>) -> SplitReturns {
        base_currency::combine(price, fx).unwrap()
    }

    #[test]
    fn components_and_currency_lines_add_up() {
        let a = split(
            &[0.01, -0.02, 0.015, -0.01, 0.005],
            Some(&[0.002, 0.001, -0.003, 0.004, 0.0]),
        );
        let b = split(&[-0.005, 0.01, 0.02, -0.03, 0.01], None);
        let book = BookInput {
            values: &[1000.0, -400.0],
            returns: &[a, b],
            dates: &[1, 2, 3, 4, 5],
        };
        for r in [
            parametric(book, &[0.95, 0.99], 2).unwrap(),
            historical(book, &[0.95, 0.99], 2).unwrap(),
        ] {
            for m in r.var.iter().chain([&r.es]) {
                let sum: f64 = m.components.iter().sum();
                assert!(
                    (sum - m.value).abs() < 1e-9,
                    "{:?}: {sum} vs {}",
                    r.method,
                    m.value
                );
            }
        }
        assert!(historical(book, &[0.95], 6).is_err());
        assert!(parametric(book, &[0.95], 0).is_err());
    }
}
