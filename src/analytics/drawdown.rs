//! Drawdown from the high-water mark of a value series (NLV history, price history).
//!
//! Method: HWMₜ = max(peak override, v₀ … vₜ); drawdownₜ = vₜ / HWMₜ − 1 (≤ 0). The maximum
//! drawdown is the most negative drawdownₜ; its peak is the last time the HWM was set before the
//! trough, and it has recovered at the first later time the value is back at or above that peak.

/// One point of the drawdown series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawdownPoint {
    pub time: i64,
    pub value: f64,
    pub high_water_mark: f64,
    /// vₜ / HWMₜ − 1, a fraction ≤ 0.
    pub drawdown: f64,
}

/// The worst peak-to-trough fall.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxDrawdown {
    /// Fraction ≤ 0 (−0.25 = −25%).
    pub drawdown: f64,
    /// Peak value and when it was set (`None` when the peak is the caller's override, which
    /// predates the series).
    pub peak_value: f64,
    pub peak_time: Option<i64>,
    pub trough_value: f64,
    pub trough_time: i64,
    /// First time at or after the trough that the value regained the peak.
    pub recovery_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DrawdownReport {
    pub series: Vec<DrawdownPoint>,
    pub high_water_mark: f64,
    /// Drawdown at the last point.
    pub current: f64,
    /// `None` when the series never fell below its high-water mark.
    pub max: Option<MaxDrawdown>,
}

/// Drawdowns of `(time, value)` points, oldest first. Non-finite or non-positive values are
/// skipped (a missing NLV sample is not a 100% loss). `peak_override` raises the starting HWM,
/// for history that began after the real peak. `None` when no usable point remains.
pub fn drawdowns(points: &[(i64, f64)], peak_override: Option<f64>) -> Option<DrawdownReport> {
    let mut series = Vec::with_capacity(points.len());
    let override_peak = peak_override.filter(|p| p.is_finite() && *p > 0.0);
    let mut hwm = override_peak.unwrap_or(f64::NEG_INFINITY);
    let mut hwm_time: Option<i64> = None;
    let mut worst: Option<(usize, f64, Option<i64>)> = None; // (index, peak value, peak time)
    for &(time, value) in points.iter().filter(|(_, v)| v.is_finite() && *v > 0.0) {
        if value > hwm {
            hwm = value;
            hwm_time = Some(time);
        }
        let dd = value / hwm - 1.0;
        if dd < 0.0 && worst.is_none_or(|(i, _, _)| dd < series_dd(&series, i)) {
            worst = Some((series.len(), hwm, hwm_time));
        }
        series.push(DrawdownPoint {
            time,
            value,
            high_water_mark: hwm,
            drawdown: dd,
        });
    }
    let last = series.last()?;
    let current = last.drawdown;
    let max = worst.map(|(i, peak_value, peak_time)| {
        let trough = series[i];
        MaxDrawdown {
            drawdown: trough.drawdown,
            peak_value,
            peak_time,
            trough_value: trough.value,
            trough_time: trough.time,
            recovery_time: series[i..]
                .iter()
                .find(|p| p.value >= peak_value)
                .map(|p| p.time),
        }
    });
    Some(DrawdownReport {
        high_water_mark: last.high_water_mark,
        current,
        max,
        series,
    })
}

impl DrawdownReport {
    /// The maximum drawdown as a number: the worst fall (≤ 0), or exactly 0 when the series never
    /// fell below its high-water mark (a real zero, not a missing value).
    pub fn max_drawdown(&self) -> f64 {
        self.max.map_or(0.0, |m| m.drawdown)
    }
}

fn series_dd(series: &[DrawdownPoint], i: usize) -> f64 {
    series.get(i).map_or(0.0, |p| p.drawdown)
}
