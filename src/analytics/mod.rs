//! Pure analytics: no I/O, no store, no gateway. Every function documents its method so tools
//! can state it in their output, and is tested by hand on small cases and against a numpy/pandas
//! reference (`tests/data/make_reference.py`) and references written out in the tests.
//!
//! One home per calculation: indicators (`technicals`), period performance (`performance`),
//! date windows (`windows`), returns and the one return basis (`returns`), base-currency
//! returns (`base_currency`), VaR and expected shortfall by both methods (`var`, `historical`,
//! `book_var`), correlation and beta (`stats`, `beta`), drawdown, concentration, stress and
//! rebalancing. Tools call these and only format the answers.
//!
//! Conventions: returns are daily fractions (0.01 = 1%); variances and covariances are sample
//! estimates (divisor n − 1, as pandas and `numpy.cov` use); money amounts are in whatever
//! single currency the caller passes (convert to base first).

pub mod base_currency;
pub mod beta;
pub mod book_var;
pub mod concentration;
pub mod correlation;
pub mod drawdown;
pub mod historical;
pub mod normal;
pub mod performance;
pub mod rebalance;
pub mod returns;
pub mod stats;
pub mod stress;
pub mod technicals;
pub mod var;
pub mod windows;

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
