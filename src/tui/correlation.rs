//! Correlation of daily returns for the heatmap. Pure functions: bars in, matrix out.
//! (Kept here, small, so the UI does not wait on the analytics module; same maths as
//! `ibkr_correlation_matrix`: Pearson correlation of simple daily returns on common dates.)

use crate::model::Bar;
use std::collections::BTreeSet;

/// A symmetric correlation matrix over `symbols`.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrMatrix {
    pub symbols: Vec<String>,
    /// Row-major, `symbols.len()²` values; `NaN` where a pair has too little data.
    pub values: Vec<f64>,
    /// How many daily returns each pair used.
    pub observations: usize,
}

impl CorrMatrix {
    pub fn get(&self, row: usize, col: usize) -> f64 {
        let n = self.symbols.len();
        if row >= n || col >= n {
            return f64::NAN;
        }
        self.values[row * n + col]
    }
}

/// Simple returns of each symbol on the dates every symbol traded, last `window` returns.
pub fn aligned_returns(series: &[(String, Vec<Bar>)], window: usize) -> Vec<Vec<f64>> {
    // Dates common to all series; symbols with no bars at all are kept (their row is NaN) so one
    // missing history does not blank the whole heatmap.
    let with_data: Vec<&Vec<Bar>> = series
        .iter()
        .map(|(_, b)| b)
        .filter(|b| !b.is_empty())
        .collect();
    let mut common: Option<BTreeSet<i64>> = None;
    for bars in &with_data {
        let dates: BTreeSet<i64> = bars.iter().map(|b| b.time).collect();
        common = Some(match common {
            None => dates,
            Some(c) => c.intersection(&dates).copied().collect(),
        });
    }
    let common = common.unwrap_or_default();
    series
        .iter()
        .map(|(_, bars)| {
            let closes: Vec<f64> = bars
                .iter()
                .filter(|b| common.contains(&b.time))
                .map(|b| b.close)
                .collect();
            let returns: Vec<f64> = closes
                .windows(2)
                .map(|w| {
                    if w[0] > 0.0 {
                        w[1] / w[0] - 1.0
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            let skip = returns.len().saturating_sub(window);
            returns[skip..].to_vec()
        })
        .collect()
}

/// Pearson correlation of two equally long series; `NaN` if either is flat or too short.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 3 {
        return f64::NAN;
    }
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mean_a = a.iter().sum::<f64>() / n as f64;
    let mean_b = b.iter().sum::<f64>() / n as f64;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - mean_a, y - mean_b);
        cov += dx * dy;
        va += dx * dx;
        vb += dy * dy;
    }
    if va <= 0.0 || vb <= 0.0 {
        return f64::NAN;
    }
    (cov / (va.sqrt() * vb.sqrt())).clamp(-1.0, 1.0)
}

/// The correlation matrix of `series` over the last `window` daily returns.
pub fn matrix(series: &[(String, Vec<Bar>)], window: usize) -> CorrMatrix {
    let returns = aligned_returns(series, window);
    let n = series.len();
    let mut values = vec![f64::NAN; n * n];
    for i in 0..n {
        for j in i..n {
            let v = if i == j && returns[i].len() >= 3 {
                1.0
            } else {
                pearson(&returns[i], &returns[j])
            };
            values[i * n + j] = v;
            values[j * n + i] = v;
        }
    }
    CorrMatrix {
        symbols: series.iter().map(|(s, _)| s.clone()).collect(),
        values,
        observations: returns.iter().map(Vec::len).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, c)| Bar {
                time: i as i64 * 86_400,
                close: *c,
                ..Bar::default()
            })
            .collect()
    }

    #[test]
    fn identical_moves_correlate_perfectly_and_opposite_moves_negatively() {
        let a = bars(&[10.0, 11.0, 10.5, 12.0, 11.0, 11.5]);
        let b = bars(&[20.0, 22.0, 21.0, 24.0, 22.0, 23.0]);
        let c: Vec<Bar> = a
            .iter()
            .map(|x| Bar {
                close: 30.0 - x.close,
                ..*x
            })
            .collect();
        let m = matrix(&[("A".into(), a), ("B".into(), b), ("C".into(), c)], 60);
        assert!((m.get(0, 1) - 1.0).abs() < 1e-9);
        assert!(m.get(0, 2) < -0.9);
        assert_eq!(m.get(2, 2), 1.0);
        assert_eq!(m.observations, 5);
    }

    #[test]
    fn window_limits_observations() {
        let a = bars(&[1.0, 2.0, 1.5, 1.7, 1.2, 1.9, 2.2]);
        let m = matrix(&[("A".into(), a.clone()), ("B".into(), a)], 3);
        assert_eq!(m.observations, 3);
    }
}
