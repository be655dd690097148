//! IB's market-data line budget, as pure bookkeeping. An IB account may hold about 100
//! streaming quotes at once (more with booster packs); one more is refused with error 101. So
//! the FX pairs needed for base-currency conversion get lines first, then held instruments by
//! descending size; the rest are priced from portfolio updates. A few lines stay free for the
//! short streaming requests the tools make on demand.

use std::collections::{HashMap, HashSet};

/// Largest positions whose first quote (and first position P&L) the initial sync waits for;
/// the other streamed quotes trail within the message budget.
pub const SYNC_QUOTES: usize = 40;

/// Lines kept free for on-demand streaming requests (dividend ticks and the like): 5 of IB's
/// default 100, never more than a fifth, and at least one line is always left to stream.
pub fn reserve(total: usize) -> usize {
    (total / 20).clamp(1, 5).min(total.saturating_sub(1))
}

/// How much of the book a position is, for ranking: |market value| when the portfolio update
/// has it, else |quantity × average cost × multiplier|. Never negative, never NaN.
pub fn position_weight(
    market_value: Option<f64>,
    quantity: f64,
    avg_cost: f64,
    multiplier: f64,
) -> f64 {
    let w = match market_value.filter(|v| v.is_finite() && *v != 0.0) {
        Some(v) => v.abs(),
        None => (quantity * avg_cost * multiplier.max(1.0)).abs(),
    };
    if w.is_finite() { w } else { 0.0 }
}

/// Quote keys ordered largest first. A key held in several accounts counts once, with the
/// sum of its weights; ties are broken by key so the order is deterministic.
pub fn rank(candidates: impl IntoIterator<Item = (String, f64)>) -> Vec<String> {
    let mut total: HashMap<String, f64> = HashMap::new();
    for (key, w) in candidates {
        *total.entry(key).or_default() += if w.is_finite() { w.abs() } else { 0.0 };
    }
    let mut ranked: Vec<(String, f64)> = total.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().map(|(k, _)| k).collect()
}

/// Which quote keys hold a streaming line, within a capacity that can only shrink (when the
/// gateway says it has fewer lines than configured).
#[derive(Debug, Clone)]
pub struct LineBudget {
    configured: usize,
    capacity: usize,
    held: HashSet<String>,
    refused: bool,
}

impl LineBudget {
    /// A budget for an account with `quote_lines` lines, minus the on-demand reserve.
    pub fn new(quote_lines: usize) -> Self {
        LineBudget {
            configured: quote_lines,
            capacity: quote_lines.saturating_sub(reserve(quote_lines)),
            held: HashSet::new(),
            refused: false,
        }
    }
    /// Lines the adapter may hold for streaming quotes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// The configured line count (`gateway.quote_lines`).
    pub fn configured(&self) -> usize {
        self.configured
    }
    pub fn in_use(&self) -> usize {
        self.held.len()
    }
    pub fn holds(&self, key: &str) -> bool {
        self.held.contains(key)
    }
    /// Takes a line for `key`; true when it holds one (newly or already).
    pub fn take(&mut self, key: &str) -> bool {
        if self.held.contains(key) {
            return true;
        }
        if self.held.len() >= self.capacity {
            return false;
        }
        self.held.insert(key.to_string());
        true
    }
    /// Gives `key`'s line back (its subscription ended).
    pub fn release(&mut self, key: &str) {
        self.held.remove(key);
    }
    /// The gateway refused `key` with error 101: the account has fewer lines than configured.
    /// From now on the budget is what is still held, so nothing asks again. True the first
    /// time (the caller says so in the event log once, not once per symbol).
    pub fn refused(&mut self, key: &str) -> bool {
        self.held.remove(key);
        self.capacity = self.capacity.min(self.held.len());
        !std::mem::replace(&mut self.refused, true)
    }
    /// True once the gateway has refused a line.
    pub fn exhausted(&self) -> bool {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_keeps_a_few_lines_and_never_all() {
        assert_eq!(reserve(100), 5);
        assert_eq!(reserve(1000), 5);
        assert_eq!(reserve(20), 1);
        assert_eq!(reserve(2), 1);
        assert_eq!(reserve(1), 0);
        assert_eq!(reserve(0), 0);
        assert_eq!(LineBudget::new(100).capacity(), 95);
        assert_eq!(LineBudget::new(1).capacity(), 1);
    }

    #[test]
    fn weight_prefers_market_value_then_cost() {
        assert_eq!(position_weight(Some(-5_000.0), 10.0, 1.0, 1.0), 5_000.0);
        assert_eq!(position_weight(None, -10.0, 20.0, 1.0), 200.0);
        // Options: the multiplier scales the cost basis.
        assert_eq!(position_weight(None, 2.0, 3.5, 100.0), 700.0);
        // A zero or broken market value falls back to cost.
        assert_eq!(position_weight(Some(0.0), 10.0, 2.0, 0.0), 20.0);
        assert_eq!(position_weight(Some(f64::NAN), 10.0, 2.0, 1.0), 20.0);
        assert_eq!(position_weight(None, f64::INFINITY, 2.0, 1.0), 0.0);
    }

    #[test]
    fn rank_orders_largest_first_and_merges_accounts() {
        let order = rank([
            ("SMALL".to_string(), 10.0),
            ("BIG".to_string(), 1_000.0),
            ("SPLIT".to_string(), 600.0),
            ("SPLIT".to_string(), 600.0),
            ("TIE_B".to_string(), 50.0),
            ("TIE_A".to_string(), 50.0),
            ("BAD".to_string(), f64::NAN),
        ]);
        assert_eq!(order, ["SPLIT", "BIG", "TIE_A", "TIE_B", "SMALL", "BAD"]);
    }

    #[test]
    fn budget_stops_at_capacity_and_frees_on_release() {
        let mut b = LineBudget::new(4); // reserve 1 → 3 streaming lines
        assert!(b.take("A") && b.take("B") && b.take("C"));
        assert!(b.take("A"), "a held key keeps its line");
        assert!(!b.take("D"));
        b.release("B");
        assert!(b.take("D"));
        assert_eq!(b.in_use(), 3);
    }

    #[test]
    fn a_refusal_shrinks_the_budget_once_and_for_all() {
        let mut b = LineBudget::new(100);
        for k in ["A", "B", "C", "D"] {
            assert!(b.take(k));
        }
        // The gateway has fewer lines than configured: C and D come back refused.
        assert!(b.refused("C"), "first refusal is reported");
        assert!(!b.refused("D"), "later ones are not");
        assert_eq!(b.capacity(), 2);
        assert!(!b.take("E"), "no retry beyond what the gateway accepted");
        assert!(!b.take("C"));
        assert!(b.exhausted());
        b.release("A");
        assert!(b.take("E"), "a freed line can be reused");
    }
}
