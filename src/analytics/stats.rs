//! Descriptive statistics: mean, sample variance and standard deviation, covariance, Pearson
//! correlation, and covariance/correlation matrices over several aligned series.
//!
//! Sample estimates divide by n − 1 (pandas' default). Matrices are computed from demeaned
//! series with one dot product per pair, which is both the textbook two-pass method (stable
//! when means are large relative to spreads) and fast enough for 500 × 252.

use super::AnalyticsError;

/// Arithmetic mean; `NaN` for an empty slice.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance Σ(x − x̄)² / (n − 1); `NaN` with fewer than two values.
pub fn sample_variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64
}

/// Sample standard deviation √(sample variance).
pub fn sample_std(x: &[f64]) -> f64 {
    sample_variance(x).sqrt()
}

/// Sample covariance Σ(x − x̄)(y − ȳ) / (n − 1).
pub fn covariance(x: &[f64], y: &[f64]) -> Result<f64, AnalyticsError> {
    check_pair(x, y)?;
    let (mx, my) = (mean(x), mean(y));
    let s: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    Ok(s / (x.len() - 1) as f64)
}

/// Pearson correlation cov(x, y) / (σₓ σᵧ), clipped to [−1, 1] against rounding. `NaN` when
/// either series is constant (correlation is undefined there).
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64, AnalyticsError> {
    check_pair(x, y)?;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (da, db) = (a - mx, b - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    Ok(correlation_from(sxy, sxx, syy))
}

fn correlation_from(sxy: f64, sxx: f64, syy: f64) -> f64 {
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

fn check_pair(x: &[f64], y: &[f64]) -> Result<(), AnalyticsError> {
    if x.len() != y.len() {
        return Err(AnalyticsError::LengthMismatch(x.len(), y.len()));
    }
    if x.len() < 2 {
        return Err(AnalyticsError::TooFewObservations {
            needed: 2,
            got: x.len(),
        });
    }
    Ok(())
}

/// Sample covariance matrix of equally long series: `m[i][j] = cov(series[i], series[j])`.
pub fn covariance_matrix(series: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, AnalyticsError> {
    let (centred, n) = centre(series)?;
    let k = centred.len();
    let mut m = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in i..k {
            let c = dot(&centred[i], &centred[j]) / (n - 1) as f64;
            m[i][j] = c;
            m[j][i] = c;
        }
    }
    Ok(m)
}

/// Pearson correlation matrix; the diagonal is 1 (`NaN` for a constant series).
pub fn correlation_matrix(series: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, AnalyticsError> {
    let (centred, _) = centre(series)?;
    let k = centred.len();
    let ss: Vec<f64> = centred.iter().map(|c| dot(c, c)).collect();
    let mut m = vec![vec![0.0; k]; k];
    for i in 0..k {
        m[i][i] = if ss[i] == 0.0 { f64::NAN } else { 1.0 };
        for j in i + 1..k {
            let r = correlation_from(dot(&centred[i], &centred[j]), ss[i], ss[j]);
            m[i][j] = r;
            m[j][i] = r;
        }
    }
    Ok(m)
}

/// Off-diagonal summary of a correlation matrix: highest, lowest and average pairwise value
/// with the pairs' indices (pairs with `NaN` skipped). `None` with fewer than two series.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSummary {
    pub highest: (usize, usize, f64),
    pub lowest: (usize, usize, f64),
    pub average: f64,
    pub pairs: usize,
}

pub fn pair_summary(m: &[Vec<f64>]) -> Option<PairSummary> {
    let mut out: Option<PairSummary> = None;
    let mut sum = 0.0;
    for i in 0..m.len() {
        for j in i + 1..m.len() {
            let v = m[i].get(j).copied().unwrap_or(f64::NAN);
            if v.is_nan() {
                continue;
            }
            sum += v;
            let s = out.get_or_insert(PairSummary {
                highest: (i, j, v),
                lowest: (i, j, v),
                average: 0.0,
                pairs: 0,
            });
            s.pairs += 1;
            if v > s.highest.2 {
                s.highest = (i, j, v);
            }
            if v < s.lowest.2 {
                s.lowest = (i, j, v);
            }
        }
    }
    out.map(|mut s| {
        s.average = sum / s.pairs as f64;
        s
    })
}

/// Demeans each series; all must share one length of at least 2.
fn centre(series: &[Vec<f64>]) -> Result<(Vec<Vec<f64>>, usize), AnalyticsError> {
    let n = series.first().map_or(0, Vec::len);
    if let Some(bad) = series.iter().find(|s| s.len() != n) {
        return Err(AnalyticsError::LengthMismatch(n, bad.len()));
    }
    if n < 2 {
        return Err(AnalyticsError::TooFewObservations { needed: 2, got: n });
    }
    Ok((
        series
            .iter()
            .map(|s| {
                let m = mean(s);
                s.iter().map(|v| v - m).collect()
            })
            .collect(),
        n,
    ))
}

/// Dot product with four independent partial sums: the compiler may not reorder a single f64
/// sum, so one accumulator runs at one add per cycle; four let it use SIMD lanes (~3× faster on
/// 500 × 252 matrices). The different order changes results only at rounding level.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
