//! Rebalance arithmetic: parse `SYM:PCT,…` targets, validate them, and turn current vs target
//! weights into whole-share trades.
//!
//! Weights are fractions of the `basis` the caller chooses (normally NLV in base currency).
//! Targets describe the whole book: a held symbol left out is taken to 0% (sold), and `CASH`,
//! when not given, is whatever the targets leave over. Share counts round toward zero so a plan
//! never buys more (or sells more) than its target.

use std::collections::BTreeSet;

/// One parsed target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Upper-cased symbol, or `CASH`.
    pub symbol: String,
    /// Fraction (30% → 0.30).
    pub weight: f64,
}

/// Bad targets, each naming what was wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("no targets given: expected a list such as \"KRYX:30,VLTX:20,CASH:10\"")]
    Empty,
    #[error("target {item:?} is not SYMBOL:PERCENT (e.g. \"KRYX:30\")")]
    Malformed { item: String },
    #[error("target {item:?}: percent must be a number from 0 to 100")]
    BadPercent { item: String },
    #[error("{symbol} is listed twice")]
    Duplicate { symbol: String },
    #[error("targets add up to {total_pct:.2}%, more than 100%")]
    OverAllocated { total_pct: f64 },
    #[error(
        "unknown symbol(s) {unknown}: targets must be among the held or priced symbols ({known}) or CASH"
    )]
    UnknownSymbols { unknown: String, known: String },
}

/// Parses `"KRYX:30, vltx:20%, CASH:10"` (spaces, `%` and lower case accepted).
pub fn parse_targets(text: &str) -> Result<Vec<Target>, TargetError> {
    let items: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(TargetError::Empty);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some((sym, pct)) = item.split_once(':') else {
            return Err(TargetError::Malformed { item: item.into() });
        };
        let symbol = sym.trim().to_ascii_uppercase();
        let valid_symbol = !symbol.is_empty()
            && symbol
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ' '));
        if !valid_symbol {
            return Err(TargetError::Malformed { item: item.into() });
        }
        let pct: f64 = pct
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .map_err(|_| TargetError::BadPercent { item: item.into() })?;
        if !(pct.is_finite() && (0.0..=100.0).contains(&pct)) {
            return Err(TargetError::BadPercent { item: item.into() });
        }
        if !seen.insert(symbol.clone()) {
            return Err(TargetError::Duplicate { symbol });
        }
        out.push(Target {
            symbol,
            weight: pct / 100.0,
        });
    }
    let total: f64 = out.iter().map(|t| t.weight).sum();
    // Tolerance for decimal inputs such as 33.33 × 3 + 0.01.
    if total > 1.0 + 1e-9 {
        return Err(TargetError::OverAllocated {
            total_pct: total * 100.0,
        });
    }
    Ok(out)
}

/// Rejects targets whose symbol is neither `CASH` nor in `known`.
pub fn check_symbols(targets: &[Target], known: &[&str]) -> Result<(), TargetError> {
    let known_set: BTreeSet<String> = known.iter().map(|s| s.to_ascii_uppercase()).collect();
    let unknown: Vec<&str> = targets
        .iter()
        .map(|t| t.symbol.as_str())
        .filter(|s| *s != "CASH" && !known_set.contains(*s))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(TargetError::UnknownSymbols {
        unknown: unknown.join(", "),
        known: known_set.into_iter().collect::<Vec<_>>().join(", "),
    })
}

/// A position or priced candidate the plan can trade.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub symbol: String,
    /// Current quantity (0 for a symbol not held yet).
    pub quantity: f64,
    /// Price per share in the instrument's currency.
    pub price: f64,
    /// Base-currency value of one unit of the instrument's currency.
    pub fx_to_base: f64,
    /// Contract multiplier (1 for stocks).
    pub multiplier: f64,
}

impl Holding {
    /// Base-currency value of one share.
    fn unit_value(&self) -> f64 {
        self.price * self.fx_to_base * self.multiplier
    }
    pub fn value(&self) -> f64 {
        self.quantity * self.unit_value()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Buy,
    Sell,
    Hold,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Buy => "BUY",
            Action::Sell => "SELL",
            Action::Hold => "HOLD",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    pub symbol: String,
    pub current_weight: f64,
    pub target_weight: f64,
    /// Base currency.
    pub current_value: f64,
    pub target_value: f64,
    pub action: Action,
    /// Whole shares to trade (positive), rounded toward zero.
    pub shares: f64,
    /// Base-currency amount of the trade (positive), shares × unit value.
    pub amount: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub rows: Vec<PlanRow>,
    /// Target cash weight (given, or 1 − Σ targets).
    pub cash_target_weight: f64,
    /// Cash after the trades, as a fraction of `basis`: current cash + sells − buys.
    pub cash_after_weight: f64,
}

/// Plans trades from `holdings` to `targets` over `basis` (money, base currency), with
/// `cash` the current cash in base currency. Call `check_symbols` first; a target without a
/// holding, or a holding without a usable price, gets a `Hold` row with no shares.
pub fn plan(holdings: &[Holding], cash: f64, basis: f64, targets: &[Target]) -> Plan {
    let weight_of = |v: f64| if basis != 0.0 { v / basis } else { f64::NAN };
    let mut rows = Vec::new();
    let mut cash_after = cash;
    let mut symbols: Vec<&str> = holdings.iter().map(|h| h.symbol.as_str()).collect();
    for t in targets.iter().filter(|t| t.symbol != "CASH") {
        if !symbols.iter().any(|s| s.eq_ignore_ascii_case(&t.symbol)) {
            symbols.push(&t.symbol);
        }
    }
    for symbol in symbols {
        let holding = holdings
            .iter()
            .find(|h| h.symbol.eq_ignore_ascii_case(symbol));
        let target_weight = targets
            .iter()
            .find(|t| t.symbol.eq_ignore_ascii_case(symbol))
            .map_or(0.0, |t| t.weight);
        let current_value = holding.map_or(0.0, Holding::value);
        let target_value = target_weight * basis;
        let unit = holding.map_or(f64::NAN, Holding::unit_value);
        let (action, shares, amount) = if unit.is_finite() && unit > 0.0 {
            let shares = ((target_value - current_value) / unit).trunc();
            let amount = (shares * unit).abs();
            cash_after -= shares * unit;
            let action = if shares > 0.0 {
                Action::Buy
            } else if shares < 0.0 {
                Action::Sell
            } else {
                Action::Hold
            };
            (action, shares.abs(), amount)
        } else {
            (Action::Hold, 0.0, 0.0)
        };
        rows.push(PlanRow {
            symbol: symbol.to_string(),
            current_weight: weight_of(current_value),
            target_weight,
            current_value,
            target_value,
            action,
            shares,
            amount,
        });
    }
    let listed: f64 = targets
        .iter()
        .filter(|t| t.symbol != "CASH")
        .map(|t| t.weight)
        .sum();
    let cash_target_weight = targets
        .iter()
        .find(|t| t.symbol == "CASH")
        .map_or(1.0 - listed, |t| t.weight);
    Plan {
        rows,
        cash_target_weight,
        cash_after_weight: weight_of(cash_after),
    }
}
