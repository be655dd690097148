//! Concentration: Herfindahl–Hirschman index and top-N weight.
//!
//! Weights are normalised to Σ|wᵢ| = 1 first, so the measures describe the mix of the book, not
//! its leverage. HHI uses the seed's (and antitrust) convention of percentage points squared:
//! HHI = Σ (100·wᵢ)², from 10,000 / n (n equal positions) to 10,000 (a single position).

fn normalised(weights: &[f64]) -> Vec<f64> {
    let finite: Vec<f64> = weights
        .iter()
        .filter(|w| w.is_finite())
        .map(|w| w.abs())
        .collect();
    let total: f64 = finite.iter().sum();
    if total == 0.0 {
        return Vec::new();
    }
    finite.iter().map(|w| w / total).collect()
}

/// HHI on a 0–10,000 scale; `NaN` for an empty (or all-zero) book.
pub fn hhi(weights: &[f64]) -> f64 {
    let w = normalised(weights);
    if w.is_empty() {
        return f64::NAN;
    }
    w.iter().map(|x| (100.0 * x) * (100.0 * x)).sum()
}

/// 10,000 / HHI: the number of equal positions with the same concentration.
pub fn effective_positions(weights: &[f64]) -> f64 {
    10_000.0 / hhi(weights)
}

/// Combined normalised weight (fraction) of the `n` largest positions.
pub fn top_n_weight(weights: &[f64], n: usize) -> f64 {
    let mut w = normalised(weights);
    w.sort_by(|a, b| b.total_cmp(a));
    w.iter().take(n).sum()
}
