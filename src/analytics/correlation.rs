//! Correlation of daily returns: the one calculation behind `ibkr_correlation_matrix` and the
//! cockpit's heatmap, so a pair shows the same number in both.
//!
//! Method: closes keyed by UTC day, inner-joined on the days every symbol has, simple
//! close-to-close returns, the most recent `lookback` of them (a window counted in returns, i.e.
//! trading sessions), Pearson correlation with sample moments.

use super::AnalyticsError;
use super::returns::{self, ReturnKind};
use super::stats;
use crate::model::Bar;

/// One symbol's `(UTC day, close)` series.
pub type DailyCloses = (String, Vec<(i64, f64)>);

/// Pearson correlations of aligned daily returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlations {
    pub symbols: Vec<String>,
    /// End day (UTC day number) of each return used, oldest first.
    pub days: Vec<i64>,
    /// `matrix[i][j]`: correlation of `symbols[i]` and `symbols[j]`; `NaN` for a flat series.
    pub matrix: Vec<Vec<f64>>,
}

/// Correlations of the last `lookback` daily returns of `(symbol, [(day, close)])` series on
/// their common days. Fails when fewer than two returns are common to all of them.
pub fn of_daily_closes(
    series: &[DailyCloses],
    lookback: usize,
) -> Result<Correlations, AnalyticsError> {
    let aligned = returns::align(series).returns(ReturnKind::Simple, Some(lookback))?;
    let matrix = stats::correlation_matrix(&aligned.returns)?;
    Ok(Correlations {
        symbols: aligned.symbols,
        days: aligned.dates,
        matrix,
    })
}

/// A square matrix over every symbol asked for, for display: symbols without bars (or when too
/// few common returns exist) keep their place with `NaN` cells, so one missing history does not
/// blank the whole heatmap.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayMatrix {
    pub symbols: Vec<String>,
    /// Row-major, `symbols.len()²` values.
    pub values: Vec<f64>,
    /// How many daily returns the correlations used.
    pub observations: usize,
}

impl DisplayMatrix {
    pub fn get(&self, row: usize, col: usize) -> f64 {
        let n = self.symbols.len();
        if row >= n || col >= n {
            return f64::NAN;
        }
        self.values.get(row * n + col).copied().unwrap_or(f64::NAN)
    }
}

/// [`of_daily_closes`] over the symbols that have bars, laid out over all of `series`.
pub fn display_matrix(series: &[(String, Vec<Bar>)], lookback: usize) -> DisplayMatrix {
    let symbols: Vec<String> = series.iter().map(|(s, _)| s.clone()).collect();
    let n = symbols.len();
    let mut values = vec![f64::NAN; n * n];
    // Positions in `series` of the symbols that have bars, and their (day, close) series.
    let (places, closes): (Vec<usize>, Vec<DailyCloses>) = series
        .iter()
        .enumerate()
        .filter(|(_, (_, bars))| !bars.is_empty())
        .map(|(i, (s, bars))| (i, (s.clone(), returns::daily_closes(bars))))
        .unzip();
    let mut observations = 0;
    // Three returns is the least that says anything about co-movement; fewer stays NaN.
    if let Ok(c) = of_daily_closes(&closes, lookback)
        && c.days.len() >= 3
    {
        observations = c.days.len();
        for (a, i) in places.iter().enumerate() {
            for (b, j) in places.iter().enumerate() {
                values[i * n + j] = c.matrix[a][b];
            }
        }
    }
    DisplayMatrix {
        symbols,
        values,
        observations,
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
        let m = display_matrix(&[("A".into(), a), ("B".into(), b), ("C".into(), c)], 60);
        assert!((m.get(0, 1) - 1.0).abs() < 1e-9);
        assert!(m.get(0, 2) < -0.9);
        assert_eq!(m.get(2, 2), 1.0);
        assert_eq!(m.observations, 5);
    }

    #[test]
    fn lookback_limits_observations() {
        let a = bars(&[1.0, 2.0, 1.5, 1.7, 1.2, 1.9, 2.2]);
        let m = display_matrix(&[("A".into(), a.clone()), ("B".into(), a)], 3);
        assert_eq!(m.observations, 3);
    }

    #[test]
    fn a_symbol_without_bars_keeps_its_row_as_nan() {
        let a = bars(&[10.0, 11.0, 10.5, 12.0, 11.0]);
        let b = bars(&[5.0, 5.2, 5.1, 5.6, 5.3]);
        let m = display_matrix(
            &[("A".into(), a), ("X".into(), Vec::new()), ("B".into(), b)],
            60,
        );
        assert_eq!(m.symbols, ["A", "X", "B"]);
        assert!(m.get(0, 2).is_finite());
        assert!(m.get(1, 0).is_nan() && m.get(1, 1).is_nan());
        assert_eq!(m.observations, 4);
    }

    #[test]
    fn only_common_days_count() {
        // B lacks day 2: the join drops it for both, leaving 4 closes → 3 returns.
        let a = bars(&[10.0, 11.0, 10.5, 12.0, 11.0]);
        let mut b = bars(&[5.0, 5.2, 5.1, 5.6, 5.3]);
        b.remove(2);
        let c = of_daily_closes(
            &[
                ("A".into(), returns::daily_closes(&a)),
                ("B".into(), returns::daily_closes(&b)),
            ],
            60,
        )
        .unwrap();
        assert_eq!(c.days, vec![1, 3, 4]);
    }
}
