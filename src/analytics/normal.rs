//! The standard normal distribution: density, CDF and quantile (inverse CDF), accurate to about
//! 1e-15, for the z-scores of parametric VaR.

use std::f64::consts::PI;

/// Density φ(x).
pub fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Φ(x) by Marsaglia's Taylor series Φ(x) = ½ + φ(x)·(x + x³/3 + x⁵/(3·5) + …). For x ≥ 0 every
/// term is positive, so there is no cancellation; the lower tail uses symmetry. Beyond |x| = 12
/// the result is 0 or 1 to double precision.
pub fn cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 1.0 - cdf(-x);
    }
    if x > 12.0 {
        return 1.0;
    }
    let mut term = x;
    let mut sum = x;
    let x2 = x * x;
    let mut k = 1.0;
    loop {
        k += 2.0;
        term *= x2 / k;
        let next = sum + term;
        if next == sum {
            break;
        }
        sum = next;
    }
    0.5 + pdf(x) * sum
}

/// z such that Φ(z) = p, for 0 < p < 1 (`NaN` outside). Newton's method on `cdf` from a
/// logistic-style starting point; converges to full precision in a handful of steps for the
/// confidence levels VaR uses.
pub fn quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    if p < 0.5 {
        return -quantile(1.0 - p);
    }
    if p == 0.5 {
        return 0.0;
    }
    // Abramowitz & Stegun 26.2.23 start (error < 4.5e-4).
    let t = (-2.0 * (1.0 - p).ln()).sqrt();
    let mut z = t
        - (2.515517 + 0.802853 * t + 0.010328 * t * t)
            / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    for _ in 0..50 {
        let step = (cdf(z) - p) / pdf(z);
        z -= step;
        if step.abs() <= 1e-15 * z.abs().max(1.0) {
            break;
        }
    }
    z
}
