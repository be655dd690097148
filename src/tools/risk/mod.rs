//! Risk tools: correlation, beta and VaR over daily-return histories (the math is in
//! `analytics/`), the margin stress test and the what-if order. The helpers here are shared by
//! the history-based tools: which symbols to fetch, and the footnotes every answer ends with.

pub mod correlation_matrix;
pub mod portfolio_beta;
pub mod stress_test;
pub mod var_estimate;
pub mod what_if;

use crate::tools::format as f;
use crate::tools::format::fx_lines;
use crate::tools::risk_data::{self, Book, Missing};
use crate::tools::support::FxUsed;
use std::fmt::Write as _;

/// Rows of per-position tables shown in markdown for large books (JSON has all).
pub const TABLE_ROWS: usize = 25;

/// `YYYY-MM-DD` of a day number (days since the epoch).
pub fn date_of_day(day: Option<&i64>) -> Option<String> {
    day.map(|d| f::date(d * 86_400))
}

/// Symbols whose price is delayed, in book order.
pub fn delayed_symbols(book: &Book) -> Vec<String> {
    book.holdings
        .iter()
        .filter(|h| h.delayed)
        .map(|h| h.symbol.clone())
        .collect()
}

/// `(symbol, currency)` of every held position.
pub fn held_items(book: &Book) -> Vec<(String, String)> {
    book.holdings
        .iter()
        .map(|h| (h.symbol.clone(), h.currency.clone()))
        .collect()
}

/// `" (2026-01-02 to 2026-05-01)"` when both ends of the data window are known.
pub fn window_words(first: &Option<String>, last: &Option<String>) -> String {
    match (first, last) {
        (Some(a), Some(b)) => format!(" ({a} to {b})"),
        _ => String::new(),
    }
}

/// What was left out of `what`, the FX rates used, and which prices are delayed (the first 30).
pub fn footer(
    md: &mut String,
    missing: &[Missing],
    what: &str,
    fx: &[FxUsed],
    unconverted: &[String],
    delayed: &[String],
) {
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "\n⚠️ Left out of {what} (no usable daily history): {}. Bars that were fetched are cached, so a later call only asks for the rest.",
            risk_data::missing_words(missing, 10)
        );
    }
    md.push_str(&fx_lines(fx, unconverted));
    let delayed: Vec<String> = delayed.iter().take(30).cloned().collect();
    if let Some(note) = f::delayed_note(&delayed) {
        md.push('\n');
        md.push_str(&note);
    }
}
