//! Pure analytics: no I/O, no store, no gateway. Every function documents its method so tools
//! can state it in their output, and is tested by hand on small cases and against a numpy/pandas
//! reference (`tests/data/make_reference.py`).
//!
//! Conventions: returns are daily fractions (0.01 = 1%); variances and covariances are sample
//! estimates (divisor n − 1, as pandas and `numpy.cov` use); money amounts are in whatever
//! single currency the caller passes (convert to base first).

pub mod beta;
pub mod concentration;
pub mod drawdown;
pub mod normal;
pub mod rebalance;
pub mod returns;
pub mod stats;
pub mod stress;
pub mod technicals;
pub mod var;

/// Why a computation could not be done, in words a tool can pass on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyticsError {
    #[error("not enough data: {needed} observations needed, {got} available")]
    TooFewObservations { needed: usize, got: usize },
    #[error("series lengths differ: {0} vs {1}")]
    LengthMismatch(usize, usize),
    #[error("{0}")]
    Invalid(String),
}
