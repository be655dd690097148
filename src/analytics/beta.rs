//! Beta against a benchmark, and the weighted portfolio beta.

use super::{AnalyticsError, stats};

/// β = cov(asset, benchmark) / var(benchmark), from aligned daily returns (the OLS slope of the
/// asset on the benchmark). `NaN` when the benchmark is constant.
pub fn beta(asset: &[f64], benchmark: &[f64]) -> Result<f64, AnalyticsError> {
    let cov = stats::covariance(asset, benchmark)?;
    let var = stats::sample_variance(benchmark);
    Ok(if var == 0.0 { f64::NAN } else { cov / var })
}

/// Weighted portfolio beta and beta-adjusted exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioBeta {
    /// Σ wᵢ βᵢ with wᵢ = valueᵢ / Σ|value| (gross weights; shorts count negative).
    pub beta: f64,
    /// Σ valueᵢ βᵢ: the benchmark-equivalent exposure in money.
    pub beta_adjusted_exposure: f64,
    /// Σ|valueᵢ| over positions with a finite beta.
    pub gross_value: f64,
}

/// Combines per-position (signed market value, beta). Positions whose beta is `NaN` (no history)
/// are left out of both sums, so the result describes the part of the book that has a beta.
pub fn portfolio_beta(positions: &[(f64, f64)]) -> PortfolioBeta {
    let known = positions
        .iter()
        .filter(|(v, b)| v.is_finite() && b.is_finite());
    let (mut gross, mut exposure) = (0.0, 0.0);
    for (v, b) in known {
        gross += v.abs();
        exposure += v * b;
    }
    PortfolioBeta {
        beta: if gross == 0.0 {
            f64::NAN
        } else {
            exposure / gross
        },
        beta_adjusted_exposure: exposure,
        gross_value: gross,
    }
}
