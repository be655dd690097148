//! Parametric (variance–covariance) Value at Risk with marginal and component VaR.
//!
//! Method: with position values v (money, signed: shorts negative) and the sample covariance
//! matrix Σ of the positions' daily simple returns, the portfolio's daily P&L standard deviation
//! is σ = √(vᵀ Σ v). Returns are taken as normal with zero mean (the usual one-day convention:
//! the mean is small against σ and unreliable to estimate), so
//!
//! * VaR(c, h) = z_c · σ · √h, where z_c is the standard normal quantile at confidence c and the
//!   √h scaling assumes independent days;
//! * marginal VaRᵢ = ∂VaR/∂vᵢ = z_c · √h · (Σ v)ᵢ / σ — VaR added per unit of money in position i;
//! * component VaRᵢ = vᵢ · marginal VaRᵢ; components sum exactly to VaR (Euler allocation) and
//!   can be negative for positions that hedge the rest;
//! * expected shortfall ES(c, h) = σ · √h · φ(z_c) / (1 − c), the mean loss beyond VaR(c) under
//!   the same normal model; its components are VaR's scaled by ES / VaR.

use super::{AnalyticsError, normal};

/// VaR of a portfolio at one confidence level and horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct VarResult {
    /// e.g. 0.95
    pub confidence: f64,
    pub horizon_days: f64,
    /// The normal quantile used.
    pub z: f64,
    /// One-day P&L standard deviation √(vᵀΣv), money.
    pub sigma_daily: f64,
    /// Loss not exceeded with probability `confidence` over the horizon (positive money).
    pub var: f64,
    /// Per position, in input order.
    pub marginal: Vec<f64>,
    pub component: Vec<f64>,
    /// componentᵢ / var (sums to 1).
    pub component_share: Vec<f64>,
}

/// Parametric VaR of positions `values` with return covariance `cov` (same order).
/// `confidence` in (0.5, 1), `horizon_days` ≥ 1 (fractional allowed).
pub fn parametric_var(
    values: &[f64],
    cov: &[Vec<f64>],
    confidence: f64,
    horizon_days: f64,
) -> Result<VarResult, AnalyticsError> {
    let n = values.len();
    if cov.len() != n || cov.iter().any(|row| row.len() != n) {
        return Err(AnalyticsError::LengthMismatch(n, cov.len()));
    }
    if !(confidence > 0.5 && confidence < 1.0) {
        return Err(AnalyticsError::Invalid(format!(
            "confidence {confidence} is outside (0.5, 1): use e.g. 0.95 or 0.99"
        )));
    }
    if !(horizon_days.is_finite() && horizon_days >= 1.0) {
        return Err(AnalyticsError::Invalid(format!(
            "horizon {horizon_days} days: use 1 day or more"
        )));
    }
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(AnalyticsError::Invalid(format!(
            "position value {v} is not a number"
        )));
    }
    // Σ v, then σ² = vᵀ (Σ v).
    let sigma_v: Vec<f64> = cov
        .iter()
        .map(|row| row.iter().zip(values).map(|(c, v)| c * v).sum())
        .collect();
    let variance: f64 = values.iter().zip(&sigma_v).map(|(v, sv)| v * sv).sum();
    if !variance.is_finite() {
        return Err(AnalyticsError::Invalid(
            "covariance contains non-numbers".into(),
        ));
    }
    let sigma = variance.max(0.0).sqrt();
    let z = normal::quantile(confidence);
    let scale = z * horizon_days.sqrt();
    let var = scale * sigma;
    let marginal: Vec<f64> = sigma_v
        .iter()
        .map(|sv| {
            if sigma == 0.0 {
                0.0
            } else {
                scale * sv / sigma
            }
        })
        .collect();
    let component: Vec<f64> = marginal.iter().zip(values).map(|(m, v)| m * v).collect();
    let component_share = component
        .iter()
        .map(|c| if var == 0.0 { 0.0 } else { c / var })
        .collect();
    Ok(VarResult {
        confidence,
        horizon_days,
        z,
        sigma_daily: sigma,
        var,
        marginal,
        component,
        component_share,
    })
}

/// ES(c) / σ for a zero-mean normal P&L: φ(z_c) / (1 − c). `NaN` outside (0.5, 1).
pub fn normal_es_multiplier(confidence: f64) -> f64 {
    if !(confidence > 0.5 && confidence < 1.0) {
        return f64::NAN;
    }
    normal::pdf(normal::quantile(confidence)) / (1.0 - confidence)
}
