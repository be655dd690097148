//! Historical-simulation Value at Risk and expected shortfall, with component allocation.
//!
//! Method: each past scenario t gives the book a P&L Lₜ = Σᵢ pnlᵢₜ (the caller revalues today's
//! holdings over that scenario's returns: pnlᵢₜ = valueᵢ × returnᵢₜ). With losses ℓₜ = −Lₜ
//! ranked worst first, ℓ₍₁₎ ≥ ℓ₍₂₎ ≥ … ≥ ℓ₍N₎ (ties keep date order):
//!
//! * VaR at confidence c is the smallest loss exceeded in at most a fraction 1 − c of the
//!   scenarios: with k = ⌊(1 − c)·N⌋, VaR = ℓ₍k+1₎. 20 scenarios at 95%: k = 1, so VaR is the
//!   second-worst loss (one scenario in twenty, 5%, is worse).
//! * Expected shortfall at c is the average loss in the worst (1 − c)·N scenarios, counting the
//!   next one fractionally when (1 − c)·N is not whole (Acerbi & Tasche, 2002):
//!   ES = [ℓ₍₁₎ + … + ℓ₍m₎ + (M − m)·ℓ₍m+1₎] / M with M = (1 − c)·N, m = ⌊M⌋.
//!   20 scenarios at 97.5%: M = 0.5, so ES is the worst loss.
//! * Components: both measures are weighted sums of scenario losses, so each position's
//!   component is the same weighted sum of its own scenario losses −pnlᵢₜ, and the components
//!   add up exactly to the total. Any other additive line (the currency part of the P&L) is
//!   allocated the same way.
//!
//! Both are losses in money, positive when the tail scenarios lose money (a VaR can be negative
//! when even the tail scenarios gained).

use super::AnalyticsError;

/// Guards ⌊(1 − c)·N⌋ against rounding: (1 − 0.95) × 20 is 1.0000000000000009 or
/// 0.9999999999999998 depending on how it is formed.
const WHOLE_EPS: f64 = 1e-9;

/// A tail measure as a weighted sum of scenario losses.
#[derive(Debug, Clone, PartialEq)]
pub struct Tail {
    pub confidence: f64,
    /// Loss in money (VaR or ES).
    pub value: f64,
    /// Per position, same order as the input; sums to `value`.
    pub components: Vec<f64>,
    /// `(scenario index, weight)`; weights sum to 1. One scenario for VaR.
    pub weights: Vec<(usize, f64)>,
}

impl Tail {
    /// The measure's share of another additive P&L line (e.g. the currency part of each
    /// scenario's P&L): −Σ weight × line[scenario].
    pub fn allocate(&self, line: &[f64]) -> f64 {
        -self
            .weights
            .iter()
            .map(|&(t, w)| w * line.get(t).copied().unwrap_or(0.0))
            .sum::<f64>()
    }
}

/// Scenario P&L of the whole book: Σᵢ pnl[i][t].
pub fn book_pnl(pnl: &[Vec<f64>]) -> Result<Vec<f64>, AnalyticsError> {
    let n = check(pnl)?;
    Ok((0..n).map(|t| pnl.iter().map(|row| row[t]).sum()).collect())
}

/// Historical VaR of positions whose scenario P&L is `pnl[position][scenario]`.
pub fn var(pnl: &[Vec<f64>], confidence: f64) -> Result<Tail, AnalyticsError> {
    check_confidence(confidence)?;
    let order = worst_first(pnl)?;
    let k = (((1.0 - confidence) * order.len() as f64) + WHOLE_EPS).floor() as usize;
    let at = order[k.min(order.len() - 1)];
    Ok(tail(pnl, confidence, vec![(at, 1.0)]))
}

/// Historical expected shortfall (average loss beyond the VaR, fractional at the boundary).
pub fn expected_shortfall(pnl: &[Vec<f64>], confidence: f64) -> Result<Tail, AnalyticsError> {
    check_confidence(confidence)?;
    let order = worst_first(pnl)?;
    let big_m = (1.0 - confidence) * order.len() as f64;
    let whole = (big_m + WHOLE_EPS).floor() as usize;
    let mut weights: Vec<(usize, f64)> = order.iter().take(whole).map(|&t| (t, 1.0)).collect();
    let rest = big_m - whole as f64;
    if rest > WHOLE_EPS
        && let Some(&t) = order.get(whole)
    {
        weights.push((t, rest));
    }
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    for w in &mut weights {
        w.1 /= total;
    }
    Ok(tail(pnl, confidence, weights))
}

fn tail(pnl: &[Vec<f64>], confidence: f64, weights: Vec<(usize, f64)>) -> Tail {
    let components: Vec<f64> = pnl
        .iter()
        .map(|row| -weights.iter().map(|&(t, w)| w * row[t]).sum::<f64>())
        .collect();
    Tail {
        confidence,
        value: components.iter().sum(),
        components,
        weights,
    }
}

/// Scenario indices ordered by book loss, worst first (ties in scenario order).
fn worst_first(pnl: &[Vec<f64>]) -> Result<Vec<usize>, AnalyticsError> {
    let book = book_pnl(pnl)?;
    if book.is_empty() {
        return Err(AnalyticsError::TooFewObservations { needed: 1, got: 0 });
    }
    if book.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::Invalid(
            "a scenario P&L is not a number".into(),
        ));
    }
    let mut order: Vec<usize> = (0..book.len()).collect();
    order.sort_by(|&a, &b| book[a].total_cmp(&book[b]).then(a.cmp(&b)));
    Ok(order)
}

fn check(pnl: &[Vec<f64>]) -> Result<usize, AnalyticsError> {
    let n = pnl.first().map_or(0, Vec::len);
    match pnl.iter().find(|row| row.len() != n) {
        Some(bad) => Err(AnalyticsError::LengthMismatch(n, bad.len())),
        None => Ok(n),
    }
}

fn check_confidence(c: f64) -> Result<(), AnalyticsError> {
    if c > 0.5 && c < 1.0 {
        Ok(())
    } else {
        Err(AnalyticsError::Invalid(format!(
            "confidence {c} is outside (0.5, 1): use e.g. 0.95, 0.975 or 0.99"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_ties_and_fractions() {
        // Losses 5, 3, 3, 1 (P&L −5, −3, −3, −1) at 75%: k = 1 → second worst = 3.
        let pnl = vec![vec![-5.0, -3.0, -3.0, -1.0]];
        let v = var(&pnl, 0.75).unwrap();
        assert_eq!((v.value, v.weights.clone()), (3.0, vec![(1, 1.0)]));
        // ES at 62.5%: M = 1.5 → (5 + 0.5 × 3) / 1.5.
        let es = expected_shortfall(&pnl, 0.625).unwrap();
        assert!((es.value - 6.5 / 1.5).abs() < 1e-12);
        assert!(var(&pnl, 1.0).is_err());
        assert!(var(&[vec![]], 0.95).is_err());
        assert!(var(&[vec![1.0], vec![1.0, 2.0]], 0.95).is_err());
    }
}
