//! Accounts: positions, cash per currency, a margin model, fills and a resting order.
//!
//! Every account figure is computed from current prices on demand, so account values, P&L and
//! what-if answers always agree with each other and with the quotes being streamed.
//! Margin model: each position carries a maintenance rate (share of its market value); the
//! initial requirement is 10% above it. ExcessLiquidity = EWL − Maint, AvailableFunds = EWL −
//! Init, Cushion = Excess / NLV, BuyingPower = AvailableFunds × 4.

use super::market::{AssetKind, Market};
use super::universe;
use std::collections::BTreeMap;

/// Initial margin as a multiple of maintenance margin.
pub const INIT_OVER_MAINT: f64 = 1.10;
/// Buying power per unit of available funds.
pub const BUYING_POWER_MULTIPLIER: f64 = 4.0;

#[derive(Debug, Clone)]
pub struct BookPosition {
    pub inst: usize,
    pub qty: f64,
    /// Average cost per share, instrument currency.
    pub avg_cost: f64,
    /// Maintenance requirement as a share of market value.
    pub maint_rate: f64,
    /// Realized P&L today, instrument currency.
    pub realized_today: f64,
}

#[derive(Debug, Clone)]
pub struct BookFill {
    pub exec_id: String,
    pub order_id: i32,
    pub perm_id: i64,
    pub inst: usize,
    /// BOT / SLD
    pub side: &'static str,
    pub shares: f64,
    pub price: f64,
    /// Epoch seconds.
    pub time: i64,
    pub commission: f64,
    /// `None` for opening trades (IB sends 1.797e308).
    pub realized: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct RestingOrder {
    pub order_id: i32,
    pub perm_id: i64,
    pub client_id: i32,
    pub inst: usize,
    pub action: &'static str,
    pub qty: f64,
    pub order_type: &'static str,
    pub limit: f64,
    pub tif: &'static str,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub base: String,
    pub cash: BTreeMap<String, f64>,
    pub positions: Vec<BookPosition>,
    pub fills: Vec<BookFill>,
    pub open_orders: Vec<RestingOrder>,
}

/// Every account figure, in the base currency unless a field says otherwise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountFigures {
    pub nlv: f64,
    pub gpv: f64,
    pub total_cash: f64,
    pub equity_with_loan: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
    pub excess_liquidity: f64,
    pub available_funds: f64,
    pub buying_power: f64,
    pub cushion: f64,
    pub leverage: f64,
    pub daily_pnl: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl: f64,
    /// currency → cash balance in that currency.
    pub cash_by_currency: BTreeMap<String, f64>,
    /// currency → market value of positions in that currency.
    pub stock_value_by_currency: BTreeMap<String, f64>,
    /// currency → unrealized P&L in that currency.
    pub unrealized_by_currency: BTreeMap<String, f64>,
    /// currency → realized P&L in that currency.
    pub realized_by_currency: BTreeMap<String, f64>,
}

/// Per-position P&L in both currencies.
#[derive(Debug, Clone, Copy, Default)]
pub struct PositionFigures {
    pub price: f64,
    pub market_value: f64,
    pub unrealized: f64,
    pub daily: f64,
    pub realized: f64,
    /// Same figures in the account's base currency.
    pub market_value_base: f64,
    pub daily_base: f64,
    pub unrealized_base: f64,
    pub realized_base: f64,
}

impl Account {
    pub fn position_figures(&self, m: &Market, p: &BookPosition) -> PositionFigures {
        let inst = m.get(p.inst);
        let price = inst.mark();
        let fx = m.fx(&inst.currency, &self.base);
        let mv = p.qty * price;
        let unrl = p.qty * (price - p.avg_cost);
        let daily = p.qty * (price - inst.prev_close) + p.realized_today;
        PositionFigures {
            price,
            market_value: mv,
            unrealized: unrl,
            daily,
            realized: p.realized_today,
            market_value_base: mv * fx,
            daily_base: daily * fx,
            unrealized_base: unrl * fx,
            realized_base: p.realized_today * fx,
        }
    }

    pub fn figures(&self, m: &Market) -> AccountFigures {
        figures_for(self, &self.positions, &self.cash, m)
    }
}

fn figures_for(
    acct: &Account,
    positions: &[BookPosition],
    cash: &BTreeMap<String, f64>,
    m: &Market,
) -> AccountFigures {
    let mut f = AccountFigures {
        cash_by_currency: cash.clone(),
        ..Default::default()
    };
    let mut net_positions = 0.0;
    for p in positions {
        let inst = m.get(p.inst);
        let pf = acct.position_figures(m, p);
        net_positions += pf.market_value_base;
        f.gpv += pf.market_value_base.abs();
        f.maint_margin += pf.market_value_base.abs() * p.maint_rate;
        f.daily_pnl += pf.daily_base;
        f.unrealized_pnl += pf.unrealized_base;
        f.realized_pnl += pf.realized_base;
        *f.stock_value_by_currency
            .entry(inst.currency.clone())
            .or_default() += pf.market_value;
        *f.unrealized_by_currency
            .entry(inst.currency.clone())
            .or_default() += pf.unrealized;
        *f.realized_by_currency
            .entry(inst.currency.clone())
            .or_default() += pf.realized;
    }
    f.total_cash = cash.iter().map(|(c, v)| v * m.fx(c, &acct.base)).sum();
    f.nlv = net_positions + f.total_cash;
    f.equity_with_loan = f.nlv;
    f.init_margin = f.maint_margin * INIT_OVER_MAINT;
    f.excess_liquidity = f.equity_with_loan - f.maint_margin;
    f.available_funds = f.equity_with_loan - f.init_margin;
    f.buying_power = (f.available_funds * BUYING_POWER_MULTIPLIER).max(0.0);
    f.cushion = if f.nlv != 0.0 {
        f.excess_liquidity / f.nlv
    } else {
        0.0
    };
    f.leverage = if f.nlv != 0.0 { f.gpv / f.nlv } else { 0.0 };
    f
}

/// A what-if order's answer: before/after figures and the commission (instrument currency).
#[derive(Debug, Clone)]
pub struct WhatIf {
    pub before: AccountFigures,
    pub after: AccountFigures,
    pub commission: f64,
    pub commission_currency: String,
    pub warning: String,
}

/// IBKR-Pro-fixed style commission: 0.005/share, at least 1.00, at most 1% of the trade value.
pub fn commission(qty: f64, price: f64) -> f64 {
    let c = (qty.abs() * 0.005)
        .max(1.0)
        .min((qty.abs() * price * 0.01).max(1.0));
    (c * 100.0).round() / 100.0
}

impl Account {
    /// Simulates a fill of `signed_qty` at `price` without changing the book.
    pub fn what_if(&self, m: &Market, inst: usize, signed_qty: f64, price: f64) -> WhatIf {
        let before = self.figures(m);
        let i = m.get(inst);
        let comm = commission(signed_qty, price);
        let mut positions = self.positions.clone();
        match positions.iter_mut().find(|p| p.inst == inst) {
            Some(p) => {
                let new_qty = p.qty + signed_qty;
                if new_qty != 0.0
                    && new_qty.signum() == p.qty.signum()
                    && signed_qty.signum() == p.qty.signum()
                {
                    p.avg_cost = (p.avg_cost * p.qty + price * signed_qty) / new_qty;
                }
                p.qty = new_qty;
            }
            None => positions.push(BookPosition {
                inst,
                qty: signed_qty,
                avg_cost: price,
                maint_rate: default_maint_rate(i.daily_vol, i.kind),
                realized_today: 0.0,
            }),
        }
        let mut cash = self.cash.clone();
        *cash.entry(i.currency.clone()).or_default() -= signed_qty * price + comm;
        let after = figures_for(self, &positions, &cash, m);
        let warning = if after.excess_liquidity < 0.0 {
            "Order would put the account in margin deficit".to_string()
        } else if after.available_funds < 0.0 {
            "Insufficient available funds: order would exceed initial margin".to_string()
        } else {
            String::new()
        };
        WhatIf {
            before,
            after,
            commission: comm,
            commission_currency: i.currency.clone(),
            warning,
        }
    }
}

/// Maintenance rate for a new position: riskier names need more margin.
pub fn default_maint_rate(daily_vol: f64, kind: AssetKind) -> f64 {
    match kind {
        AssetKind::Etf => 0.25,
        AssetKind::Fx => 0.03,
        AssetKind::Stock => (0.25 + (daily_vol - 0.015).max(0.0) * 5.0).min(0.5),
    }
}

/// Which book a simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimBookKind {
    /// CAD-base account holding the seed's five USD stocks on margin.
    #[default]
    Primary,
    /// USD-base account (one overlapping holding plus SPY), for consolidation.
    Secondary,
}

pub const PRIMARY_ACCOUNT: &str = "U7654321";
pub const SECONDARY_ACCOUNT: &str = "U1122334";

/// Target NLV of the seed book in CAD at the seed prices (the seed's briefing sample).
const SEED_NLV_CAD: f64 = 24_618.0;
const SEED_CAD_CASH: f64 = 1_250.0;

fn idx(m: &Market, sym: &str) -> usize {
    // The fixed universe always contains the seed symbols; fall back to 0 rather than panic.
    m.by_key(sym).unwrap_or(0)
}

/// The seed book: KRYX 340, VLTX 86, OMRA 76, FELN 51, HDRX 162 in a CAD-base margin account.
fn seed_primary(m: &Market, now: i64) -> Account {
    let rows: [(&str, f64, f64, f64); 5] = [
        ("KRYX", 340.0, 52.90, 0.375),
        ("VLTX", 86.0, 92.00, 0.35),
        ("OMRA", 76.0, 115.20, 0.30),
        ("FELN", 51.0, 118.50, 0.30),
        ("HDRX", 162.0, 30.90, 0.32),
    ];
    let mut positions: Vec<BookPosition> = rows
        .iter()
        .map(|(s, q, c, r)| BookPosition {
            inst: idx(m, s),
            qty: *q,
            avg_cost: *c,
            maint_rate: *r,
            realized_today: 0.0,
        })
        .collect();
    // Today's FELN sale realized a gain.
    let feln_sale = 10.0 * (128.90 - 118.50) - commission(10.0, 128.90);
    if let Some(p) = positions.iter_mut().find(|p| p.inst == idx(m, "FELN")) {
        p.realized_today = feln_sale;
    }
    let usd_value: f64 = positions.iter().map(|p| p.qty * m.get(p.inst).mark()).sum();
    let usdcad = m.fx("USD", "CAD");
    // Negative USD cash is the margin loan that makes NLV land on the seed's number.
    let usd_cash = ((SEED_NLV_CAD - SEED_CAD_CASH) / usdcad - usd_value).round();
    let mut cash = BTreeMap::new();
    cash.insert("CAD".to_string(), SEED_CAD_CASH);
    cash.insert("USD".to_string(), usd_cash);
    let day = 86_400;
    // "n days ago" stays on that UTC date even just after midnight, so "today's fills" (IB's
    // default execution filter) always holds the FELN sale.
    let days_ago = |n: i64, secs_before: i64| {
        let midnight = super::clock::midnight(super::clock::date_of(now)) - n * day;
        (now - n * day - secs_before).max(midnight)
    };
    let fills = vec![
        fill(
            "0000e0d5.67a1b2c3.01.01",
            31,
            1_987_650_031,
            idx(m, "OMRA"),
            "BOT",
            20.0,
            117.85,
            days_ago(2, 5_400),
            None,
        ),
        fill(
            "0000e0d5.67a2c4d1.01.01",
            32,
            1_987_650_032,
            idx(m, "KRYX"),
            "BOT",
            40.0,
            53.62,
            days_ago(1, 3_600),
            None,
        ),
        fill(
            "0000e0d5.67a3d5e2.01.01",
            33,
            1_987_650_033,
            idx(m, "FELN"),
            "SLD",
            10.0,
            128.90,
            days_ago(0, 1_800),
            Some(feln_sale),
        ),
    ];
    let open_orders = vec![RestingOrder {
        order_id: 101,
        perm_id: 1_987_654_321,
        client_id: 0,
        inst: idx(m, "HDRX"),
        action: "BUY",
        qty: 20.0,
        order_type: "LMT",
        limit: 31.50,
        tif: "GTC",
    }];
    Account {
        id: PRIMARY_ACCOUNT.into(),
        base: "CAD".into(),
        cash,
        positions,
        fills,
        open_orders,
    }
}

#[allow(clippy::too_many_arguments)]
fn fill(
    exec_id: &str,
    order_id: i32,
    perm_id: i64,
    inst: usize,
    side: &'static str,
    shares: f64,
    price: f64,
    time: i64,
    realized: Option<f64>,
) -> BookFill {
    BookFill {
        exec_id: exec_id.into(),
        order_id,
        perm_id,
        inst,
        side,
        shares,
        price,
        time,
        commission: commission(shares, price),
        realized,
    }
}

fn seed_secondary(m: &Market, now: i64) -> Account {
    let positions = vec![
        BookPosition {
            inst: idx(m, "KRYX"),
            qty: 120.0,
            avg_cost: 48.20,
            maint_rate: 0.30,
            realized_today: 0.0,
        },
        BookPosition {
            inst: idx(m, "SPY"),
            qty: 25.0,
            avg_cost: 540.10,
            maint_rate: 0.25,
            realized_today: 0.0,
        },
    ];
    let mut cash = BTreeMap::new();
    cash.insert("USD".to_string(), 3_200.0);
    let fills = vec![fill(
        "0000e0d6.67a4e6f3.01.01",
        41,
        1_987_660_041,
        idx(m, "SPY"),
        "BOT",
        5.0,
        556.40,
        now - 3 * 86_400,
        None,
    )];
    Account {
        id: SECONDARY_ACCOUNT.into(),
        base: "USD".into(),
        cash,
        positions,
        fills,
        open_orders: Vec::new(),
    }
}

/// A book of `n` generated stocks (for scale tests) in a CAD-base account levered about 1.8x.
fn generated_book(m: &mut Market, n: usize, seed: u64, kind: SimBookKind) -> Account {
    let idxs = universe::add_generated(m, n, seed);
    let positions: Vec<BookPosition> = idxs
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let inst = m.get(i);
            let target = 1_000.0 + ((k * 7_919) % 19_000) as f64;
            let qty = (target / inst.last).round().max(1.0);
            BookPosition {
                inst: i,
                qty,
                avg_cost: inst.prev_close * (0.85 + ((k * 31) % 30) as f64 / 100.0),
                maint_rate: default_maint_rate(inst.daily_vol, inst.kind),
                realized_today: 0.0,
            }
        })
        .collect();
    let (id, base) = match kind {
        SimBookKind::Primary => (PRIMARY_ACCOUNT, "CAD"),
        SimBookKind::Secondary => (SECONDARY_ACCOUNT, "USD"),
    };
    let usd_value: f64 = positions.iter().map(|p| p.qty * m.get(p.inst).mark()).sum();
    let mut cash = BTreeMap::new();
    cash.insert("USD".to_string(), -(usd_value * (1.0 - 1.0 / 1.8)).round());
    Account {
        id: id.into(),
        base: base.into(),
        cash,
        positions,
        fills: Vec::new(),
        open_orders: Vec::new(),
    }
}

/// Builds the account a simulator serves (adding generated instruments to `m` if needed).
pub fn build_account(
    m: &mut Market,
    kind: SimBookKind,
    positions: Option<usize>,
    seed: u64,
    now: i64,
) -> Account {
    match (positions, kind) {
        (Some(n), k) => generated_book(m, n, seed, k),
        (None, SimBookKind::Primary) => seed_primary(m, now),
        (None, SimBookKind::Secondary) => seed_secondary(m, now),
    }
}
