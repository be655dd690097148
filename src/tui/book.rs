//! The book as the panes see it: rows derived from a `LiveState` snapshot (weights in base
//! currency via FX, P&L percentages, movers). Pure functions, so the reducer, the views and the
//! tests all agree on what row N is.

use crate::model::Millis;
use crate::store::LiveState;
use std::cmp::Ordering;

/// One row of the positions table: the columns of `ibkr_get_positions`.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRow {
    pub account: String,
    pub con_id: i32,
    pub symbol: String,
    pub quantity: f64,
    pub avg_cost: f64,
    pub price: Option<f64>,
    pub market_value: Option<f64>,
    pub unrealized: Option<f64>,
    /// Unrealized P&L as a percent of cost basis.
    pub unrealized_pct: Option<f64>,
    pub daily: Option<f64>,
    /// When `daily` arrived. Streamed holdings' daily P&L is seconds old; on big books the
    /// smaller holdings get theirs from rotated short requests, minutes apart.
    pub daily_at: Option<Millis>,
    /// Daily change of the price, percent (from the quote's previous close).
    pub daily_pct: Option<f64>,
    /// Share of the book's gross value, in base currency (fraction).
    pub weight: Option<f64>,
    pub currency: String,
    pub delayed: bool,
    /// No market-data line for it: priced from IB's portfolio updates (minutes apart).
    pub portfolio_priced: bool,
    /// Its quote stream has had no tick since then although its market is open: stale.
    pub silent_since: Option<Millis>,
}

/// Sortable columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    Symbol,
    Quantity,
    AvgCost,
    Price,
    MarketValue,
    Unrealized,
    UnrealizedPct,
    Daily,
    Weight,
    Currency,
}

impl SortColumn {
    pub const ALL: [SortColumn; 10] = [
        SortColumn::Symbol,
        SortColumn::Quantity,
        SortColumn::AvgCost,
        SortColumn::Price,
        SortColumn::MarketValue,
        SortColumn::Unrealized,
        SortColumn::UnrealizedPct,
        SortColumn::Daily,
        SortColumn::Weight,
        SortColumn::Currency,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SortColumn::Symbol => "Symbol",
            SortColumn::Quantity => "Qty",
            SortColumn::AvgCost => "Avg cost",
            SortColumn::Price => "Price",
            SortColumn::MarketValue => "Mkt value",
            SortColumn::Unrealized => "Unrl P&L",
            SortColumn::UnrealizedPct => "Unrl %",
            SortColumn::Daily => "Daily P&L",
            SortColumn::Weight => "Weight",
            SortColumn::Currency => "Ccy",
        }
    }

    fn index(self) -> usize {
        SortColumn::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    pub fn next(self) -> SortColumn {
        SortColumn::ALL[(self.index() + 1) % SortColumn::ALL.len()]
    }

    pub fn prev(self) -> SortColumn {
        let n = SortColumn::ALL.len();
        SortColumn::ALL[(self.index() + n - 1) % n]
    }

    /// Text columns sort A→Z first; numbers sort biggest first (what a trader looks for).
    pub fn default_descending(self) -> bool {
        !matches!(self, SortColumn::Symbol | SortColumn::Currency)
    }
}

/// The base currency the book is weighed in: the primary account's, else CAD-less fallback USD.
pub fn base_currency(state: &LiveState) -> String {
    state
        .primary_account()
        .map(|a| a.base_currency.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "USD".into())
}

/// FX rates into the base currency, looked up once per currency: `LiveState::fx_rate` formats
/// and hashes a pair name per call, which at 2,000 rows was a visible share of a frame.
struct BaseRates<'a> {
    state: &'a LiveState,
    base: String,
    seen: Vec<(String, Option<f64>)>,
}

impl<'a> BaseRates<'a> {
    fn new(state: &'a LiveState, base: String) -> Self {
        BaseRates {
            state,
            base,
            seen: Vec::new(),
        }
    }

    fn rate(&mut self, currency: &str) -> Option<f64> {
        // A book has a handful of currencies: a short list beats a hash map here.
        if let Some((_, r)) = self.seen.iter().find(|(c, _)| c == currency) {
            return *r;
        }
        let r = self.state.fx_rate(currency, &self.base);
        self.seen.push((currency.to_string(), r));
        r
    }
}

/// The book's totals in the base currency, as the positions pane's last line shows them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BookTotals {
    pub base: String,
    /// Gross value (sum of absolute market values); `None` if a currency has no FX rate.
    pub gross: Option<f64>,
    pub unrealized: Option<f64>,
    pub daily: Option<f64>,
    /// Some row is priced from a delayed quote.
    pub any_delayed: bool,
    /// Some row has no quote line and is priced from portfolio updates.
    pub any_portfolio_priced: bool,
    /// The longest-silent row's symbol and when it last ticked (its market open).
    pub oldest_silent: Option<(String, Millis)>,
    /// The row whose daily P&L is oldest: its symbol and when that P&L arrived.
    pub oldest_daily: Option<(String, Millis)>,
}

/// Totals of `rows` converted to the base currency. A sum is unknown (`None`) when any row's
/// currency has no FX rate, rather than silently leaving that row out.
pub fn book_totals(state: &LiveState, rows: &[PositionRow]) -> BookTotals {
    let base = base_currency(state);
    let mut rates = BaseRates::new(state, base.clone());
    let mut sum = |f: &dyn Fn(&PositionRow) -> Option<f64>| -> Option<f64> {
        let mut total = None;
        for r in rows {
            let fx = rates.rate(&r.currency)?;
            if let Some(v) = f(r) {
                total = Some(total.unwrap_or(0.0) + v * fx);
            }
        }
        total
    };
    let gross = sum(&|r| r.market_value.map(f64::abs));
    let unrealized = sum(&|r| r.unrealized);
    // Big books stream daily P&L for the largest holdings only: then a sum over rows would be
    // a partial figure, so take the accounts' own daily P&L (IB's, covering every position).
    let daily = if rows.iter().all(|r| r.daily.is_some()) {
        sum(&|r| r.daily)
    } else {
        state
            .accounts
            .values()
            .map(|a| Some(a.pnl.as_ref()?.daily? * rates.rate(&a.base_currency)?))
            .sum()
    };
    BookTotals {
        gross,
        unrealized,
        daily,
        any_delayed: rows.iter().any(|r| r.delayed),
        any_portfolio_priced: rows.iter().any(|r| r.portfolio_priced),
        oldest_silent: rows
            .iter()
            .filter_map(|r| Some((r.symbol.clone(), r.silent_since?)))
            .min_by_key(|(_, since)| *since),
        oldest_daily: rows
            .iter()
            .filter_map(|r| Some((r.symbol.clone(), r.daily_at?)))
            .min_by_key(|(_, at)| *at),
        base,
    }
}

/// Every position as a table row, unsorted (store order: account, con_id).
pub fn position_rows(state: &LiveState) -> Vec<PositionRow> {
    let base = base_currency(state);
    let mut rates = BaseRates::new(state, base);
    let mut rows: Vec<PositionRow> = state
        .positions
        .values()
        .filter(|p| p.quantity != 0.0)
        .map(|p| {
            let quote = state.quotes.get(&p.instrument.symbol);
            let price = p.current_price(quote);
            let mv = p.current_market_value(quote);
            let mult = if p.instrument.multiplier > 0.0 {
                p.instrument.multiplier
            } else {
                1.0
            };
            let cost_basis = (p.avg_cost * p.quantity * mult).abs();
            let unrealized_pct = match (p.unrealized_pnl, cost_basis > 0.0) {
                (Some(u), true) => Some(u / cost_basis * 100.0),
                _ => None,
            };
            PositionRow {
                account: p.account.clone(),
                con_id: p.instrument.con_id,
                symbol: p.instrument.symbol.clone(),
                quantity: p.quantity,
                avg_cost: p.avg_cost,
                price,
                market_value: mv,
                unrealized: p.unrealized_pnl,
                unrealized_pct,
                daily: p.daily_pnl,
                daily_at: p.daily_pnl.and(p.daily_pnl_at),
                daily_pct: quote.and_then(|q| q.change()).map(|(_, pct)| pct),
                weight: None,
                currency: p.instrument.currency.clone(),
                delayed: quote.is_some_and(|q| q.mode.is_delayed()),
                portfolio_priced: !p.price_source.is_quote(),
                silent_since: state.silent_since(&p.instrument.symbol),
            }
        })
        .collect();
    // Weight of gross value, every amount converted to the base currency first.
    let in_base: Vec<Option<f64>> = rows
        .iter()
        .map(|r| {
            let fx = rates.rate(&r.currency)?;
            r.market_value.map(|v| (v * fx).abs())
        })
        .collect();
    let gross: f64 = in_base.iter().flatten().sum();
    if gross > 0.0 {
        for (row, value) in rows.iter_mut().zip(in_base) {
            row.weight = value.map(|v| v / gross);
        }
    }
    rows
}

fn cmp_opt(a: Option<f64>, b: Option<f64>) -> Ordering {
    // Unknown values sort last whatever the direction (handled by the caller).
    match (a, b) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn key(row: &PositionRow, column: SortColumn) -> Option<f64> {
    match column {
        SortColumn::Quantity => Some(row.quantity),
        SortColumn::AvgCost => Some(row.avg_cost),
        SortColumn::Price => row.price,
        SortColumn::MarketValue => row.market_value,
        SortColumn::Unrealized => row.unrealized,
        SortColumn::UnrealizedPct => row.unrealized_pct,
        SortColumn::Daily => row.daily,
        SortColumn::Weight => row.weight,
        SortColumn::Symbol | SortColumn::Currency => None,
    }
}

/// Sorts rows by `column`; ties break on symbol so the order is stable between frames.
pub fn sort_rows(rows: &mut [PositionRow], column: SortColumn, descending: bool) {
    rows.sort_by(|a, b| {
        let primary = match column {
            SortColumn::Symbol => a.symbol.cmp(&b.symbol),
            SortColumn::Currency => a.currency.cmp(&b.currency),
            _ => {
                let (ka, kb) = (key(a, column), key(b, column));
                match (ka.is_some(), kb.is_some()) {
                    (true, true) => {
                        let o = cmp_opt(ka, kb);
                        if descending { o.reverse() } else { o }
                    }
                    _ => cmp_opt(ka, kb),
                }
            }
        };
        let primary = match column {
            SortColumn::Symbol | SortColumn::Currency if descending => primary.reverse(),
            _ => primary,
        };
        // A total order (con_id last), so re-sorting an already sorted table gives the same
        // rows as sorting the store's order: the cached view and a fresh build always agree.
        primary
            .then_with(|| a.symbol.cmp(&b.symbol))
            .then_with(|| a.account.cmp(&b.account))
            .then_with(|| a.con_id.cmp(&b.con_id))
    });
}

/// Rows sorted the way the positions pane shows them.
pub fn sorted_rows(state: &LiveState, column: SortColumn, descending: bool) -> Vec<PositionRow> {
    let mut rows = position_rows(state);
    sort_rows(&mut rows, column, descending);
    rows
}

/// Held symbols by weight, heaviest first, without duplicates (several accounts may hold one).
pub fn symbols_by_weight(state: &LiveState) -> Vec<String> {
    dedup_symbols(&sorted_rows(state, SortColumn::Weight, true))
}

/// The symbols of `rows` in order, each once. A set keeps this linear: a `Vec::contains` here
/// cost ~2M string compares per store update at 2,000 positions.
fn dedup_symbols(rows: &[PositionRow]) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    rows.iter()
        .filter(|r| seen.insert(r.symbol.as_str()))
        .map(|r| r.symbol.clone())
        .collect()
}

/// One line of the movers pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Mover {
    pub symbol: String,
    pub price: f64,
    pub change_pct: f64,
    pub currency: String,
}

/// Top gainers (best first) and losers (worst first) among held symbols, by daily %.
pub fn movers(state: &LiveState, per_side: usize) -> (Vec<Mover>, Vec<Mover>) {
    split_movers(&ranked_movers(state), per_side)
}

/// Every held symbol with a price and a daily change, best daily % first (ties by symbol).
pub fn ranked_movers(state: &LiveState) -> Vec<Mover> {
    let mut all: Vec<Mover> = Vec::new();
    // A symbol held in several accounts is one mover; a set keeps this linear for big books.
    let mut seen = std::collections::HashSet::new();
    for p in state.positions.values() {
        let sym = &p.instrument.symbol;
        if !seen.insert(sym.as_str()) {
            continue;
        }
        let Some(q) = state.quotes.get(sym) else {
            continue;
        };
        let (Some(price), Some((_, pct))) = (q.price(), q.change()) else {
            continue;
        };
        all.push(Mover {
            symbol: sym.clone(),
            price,
            change_pct: pct,
            currency: p.instrument.currency.clone(),
        });
    }
    all.sort_by(|a, b| {
        b.change_pct
            .partial_cmp(&a.change_pct)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    all
}

/// The `per_side` best gainers and worst losers of a list from [`ranked_movers`].
pub fn split_movers(ranked: &[Mover], per_side: usize) -> (Vec<Mover>, Vec<Mover>) {
    let gainers: Vec<Mover> = ranked
        .iter()
        .filter(|m| m.change_pct > 0.0)
        .take(per_side)
        .cloned()
        .collect();
    let losers: Vec<Mover> = ranked
        .iter()
        .rev()
        .filter(|m| m.change_pct < 0.0)
        .take(per_side)
        .cloned()
        .collect();
    (gainers, losers)
}

/// What the panes derive from one snapshot, computed once per store version (and re-sorted when
/// the sort changes) instead of once per frame: at 2,000 positions building, weighing and sorting
/// the rows is most of a frame's cost. The reducer keeps one in `App`; views only read it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BookView {
    /// `LiveState::version` of the snapshot this was built from; `None` before the first build.
    pub version: Option<u64>,
    pub sort: Option<(SortColumn, bool)>,
    /// The positions table, sorted by `sort`.
    pub rows: Vec<PositionRow>,
    /// Held symbols, heaviest first, each once.
    pub by_weight: Vec<String>,
    /// Movers, best daily % first (see [`ranked_movers`]).
    pub movers: Vec<Mover>,
    pub totals: BookTotals,
}

impl BookView {
    pub fn build(state: &LiveState, column: SortColumn, descending: bool) -> BookView {
        let mut rows = position_rows(state);
        sort_rows(&mut rows, SortColumn::Weight, true);
        let by_weight = dedup_symbols(&rows);
        if (column, descending) != (SortColumn::Weight, true) {
            sort_rows(&mut rows, column, descending);
        }
        BookView {
            totals: book_totals(state, &rows),
            version: Some(state.version),
            sort: Some((column, descending)),
            rows,
            by_weight,
            movers: ranked_movers(state),
        }
    }

    /// Whether this view is of `state` and sorted as asked.
    pub fn matches(&self, state: &LiveState, column: SortColumn, descending: bool) -> bool {
        self.version == Some(state.version) && self.sort == Some((column, descending))
    }

    /// Brings the view up to `state` and the sort: rebuilt for a new snapshot, only re-sorted
    /// when just the sort changed, untouched otherwise.
    pub fn refresh(&mut self, state: &LiveState, column: SortColumn, descending: bool) {
        if self.version != Some(state.version) {
            *self = BookView::build(state, column, descending);
        } else if self.sort != Some((column, descending)) {
            sort_rows(&mut self.rows, column, descending);
            self.sort = Some((column, descending));
        }
    }
}
