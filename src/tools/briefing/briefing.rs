//! `ibkr_briefing`: the morning briefing in one call — account health, daily P&L, positions, top
//! movers, risk metrics, alerts, open orders, FX and connection — built from the store snapshot
//! alone, so it costs the gateway nothing when the live subscriptions are up. Each briefing is
//! saved in SQLite; `since_last` compares with the previous one.

use crate::analytics::concentration;
use crate::config::Thresholds;
use crate::model::{AccountPnl, AccountSnapshot, Millis, Position, Quote, ToolGroup, tags};
use crate::store::LiveState;
use crate::tools::format::{self as f, Align};
use crate::tools::monitoring::connection_status::{GatewayRow, age_words, gateway_row};
use crate::tools::orders::order_rows::{OrderRow, open_orders_of, open_orders_table};
use crate::tools::support::{Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Rows of the positions table (the rest are one `ibkr_get_positions` away).
pub const POSITION_ROWS: usize = 20;
/// Leaders and laggards shown in the movers section.
pub const MOVERS: usize = 3;
/// Open orders listed in the briefing.
pub const ORDER_ROWS: usize = 20;
/// Weight changes listed in the `since_last` section.
const WEIGHT_CHANGES: usize = 10;
/// Weight changes smaller than this (percentage points) are noise, not news.
const WEIGHT_CHANGE_MIN_PP: f64 = 0.05;
/// Briefing snapshots kept per account in SQLite (only the latest is compared; a few more help
/// when debugging a surprising delta).
const BRIEFINGS_KEPT: usize = 20;
/// Symbols named in one alert before "and N more".
const ALERT_NAMES: usize = 10;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BriefingFormat {
    /// All nine sections (default).
    #[default]
    Full,
    /// A few lines: health, P&L, concentration, movers, alerts, connection.
    Terse,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefingParams {
    /// Account id (or its masked form as shown in answers). Default: the primary gateway's first account.
    pub account: Option<String>,
    /// Also show what changed since the previous briefing of this account (saved in SQLite).
    #[serde(default)]
    pub since_last: bool,
    /// `full` (default) or `terse`.
    #[serde(default)]
    pub format: BriefingFormat,
}

/// OK / watch / danger against the configured thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[serde(rename = "OK")]
    Ok,
    Info,
    Watch,
    Danger,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Info => "info",
            Level::Watch => "watch",
            Level::Danger => "danger",
        }
    }
    fn icon(self) -> &'static str {
        match self {
            Level::Ok => "🟢",
            Level::Info => "ℹ️",
            Level::Watch => "🟡",
            Level::Danger => "🔴",
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Health {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub gross_position_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub leverage: Option<f64>,
    pub leverage_status: Option<Level>,
    /// Percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cushion_pct: Option<f64>,
    pub cushion_status: Option<Level>,
    /// Maintenance margin / equity with loan value, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub margin_utilization_pct: Option<f64>,
    pub margin_status: Option<Level>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_liquidity: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub available_funds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PnlSection {
    /// Base currency (account P&L subscription).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily: Option<f64>,
    /// Daily P&L as a percent of NLV.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily_pct_of_nlv: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub realized: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BriefPosition {
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub quantity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub price: Option<f64>,
    /// Instrument currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value: Option<f64>,
    /// Instrument currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily_pnl: Option<f64>,
    /// Today's price move in percent (quote vs previous close, else implied by daily P&L).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub day_move_pct: Option<f64>,
    /// Percent of gross position value in the base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub weight_pct: Option<f64>,
    pub delayed: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Movers {
    /// Largest rises first.
    pub leaders: Vec<BriefPosition>,
    /// Largest falls first.
    pub laggards: Vec<BriefPosition>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RiskMetrics {
    pub top_position: Option<String>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub top_position_weight_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub top3_weight_pct: Option<f64>,
    /// Herfindahl–Hirschman index of the weights, 0–10,000.
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub hhi: Option<f64>,
    /// 10,000 / HHI: equal-weight positions with the same concentration.
    #[serde(serialize_with = "crate::tools::format::dp1")]
    pub effective_positions: Option<f64>,
    pub position_count: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Alert {
    /// Stable id (`cushion`, `concentration:KRYX`, `stale`, `delayed`, ...), used by `since_last`.
    pub key: String,
    pub level: Level,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FxRow {
    /// `USD.CAD`: units of base per unit of the currency.
    pub pair: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub rate: Option<f64>,
    /// live | delayed | frozen | delayed-frozen; `null` when no quote.
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WeightChange {
    pub symbol: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub before_pct: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub after_pct: f64,
    /// Percentage points.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub change_pp: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SinceLast {
    /// When the previous briefing was taken; `null` when this is the first.
    pub previous_time: Option<String>,
    #[serde(serialize_with = "crate::tools::format::dp1")]
    pub elapsed_s: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub nlv_change: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub nlv_change_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily_pnl_change: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized_change: Option<f64>,
    /// Largest moves in weight first (at most 10, at least 0.05 pp).
    pub weight_changes: Vec<WeightChange>,
    pub new_positions: Vec<String>,
    pub closed_positions: Vec<String>,
    /// Messages of alerts raised since.
    pub new_alerts: Vec<String>,
    /// Messages (as they were) of alerts that cleared since.
    pub cleared_alerts: Vec<String>,
    /// Why the comparison is missing or partial, in words.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BriefingOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    /// full | terse (the JSON is complete either way).
    pub format: String,
    pub health: Health,
    pub pnl: PnlSection,
    /// Largest weights first, at most 20; `position_count` says how many there are.
    pub positions: Vec<BriefPosition>,
    pub position_count: usize,
    pub movers: Movers,
    pub risk: RiskMetrics,
    pub alerts: Vec<Alert>,
    pub open_orders: Vec<OrderRow>,
    pub open_order_count: usize,
    pub fx: Vec<FxRow>,
    /// Currencies with no FX rate: their positions are left out of weights.
    pub unconverted: Vec<String>,
    pub connection: Vec<GatewayRow>,
    /// Present when `since_last` was asked for.
    pub since_last: Option<SinceLast>,
    /// The configured thresholds the health status was judged against, stated under the table.
    #[serde(skip)]
    pub thresholds: Thresholds,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

/// What is persisted per briefing for the next `since_last` (compact: weights, not rows).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct Saved {
    nlv: Option<f64>,
    daily_pnl: Option<f64>,
    unrealized: Option<f64>,
    /// Symbol → weight percent.
    weights: BTreeMap<String, f64>,
    /// Alert key → message.
    alerts: BTreeMap<String, String>,
}

pub struct Briefing;

impl Tool for Briefing {
    const NAME: &'static str = "ibkr_briefing";
    const GROUP: ToolGroup = ToolGroup::Briefing;
    const DESCRIPTION: &'static str = "Morning briefing in one call: account health, daily P&L, positions, top movers, risk metrics (HHI), alerts, open orders, FX, connection; since_last shows what changed.";
    type Params = BriefingParams;
    type Output = BriefingOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: BriefingParams) -> Result<Answer<BriefingOut>, ToolError> {
        // Everything below reads the snapshot only: no gateway request, ever.
        let view = ctx.live()?;
        let snap = &view.snap;
        let acct = resolve_account(ctx, snap, p.account.as_deref())?;
        let t = &ctx.config.thresholds;
        let base = acct.base_currency.clone();

        let health = health(acct, t);
        let pnl = pnl_of(acct.pnl.unwrap_or_default(), health.net_liquidation);
        let book = book(snap, acct);
        let weights: Vec<f64> = book.rows.iter().filter_map(|r| r.weight_pct).collect();
        let risk = risk_metrics(&book.rows, &weights);
        let movers = movers(&book.rows);
        let fx = fx_rows(snap, acct, &book.currencies);
        let open_orders = open_orders_of(ctx, &snap.open_orders, &acct.account);
        let connection: Vec<GatewayRow> = snap
            .gateways
            .iter()
            .map(|(role, s)| gateway_row(ctx, s, *role, view.now))
            .collect();
        let alerts = alerts(&health, &book, view.stale.as_ref(), t);

        let saved = Saved::of(&health, &pnl, &book.rows, &alerts);
        let since_last = if p.since_last {
            Some(since_last(ctx, &acct.account, view.now, &saved))
        } else {
            None
        };
        persist(ctx, &acct.account, view.now, &saved);

        let position_count = book.rows.len();
        let mut positions = book.rows;
        positions.truncate(POSITION_ROWS);
        let mut out = BriefingOut {
            method: method_words(&base),
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: base,
            format: match p.format {
                BriefingFormat::Full => "full",
                BriefingFormat::Terse => "terse",
            }
            .to_string(),
            health,
            pnl,
            positions,
            position_count,
            movers,
            risk,
            alerts,
            open_order_count: open_orders.len(),
            open_orders: open_orders.into_iter().take(ORDER_ROWS).collect(),
            fx,
            unconverted: book.unconverted,
            connection,
            since_last,
            thresholds: t.clone(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The answer's markdown: all sections (`full`) or a few lines (`terse`).
pub fn render(out: &BriefingOut) -> String {
    let header = out.meta.header(&format!("Briefing: {}", out.account));
    if out.format == "terse" {
        render_terse(header, out)
    } else {
        render_full(header, out)
    }
}

fn pnl_of(pnl: AccountPnl, nlv: Option<f64>) -> PnlSection {
    PnlSection {
        daily: f::json_num(pnl.daily),
        daily_pct_of_nlv: match (pnl.daily, nlv) {
            (Some(d), Some(n)) if n != 0.0 => f::json_num(Some(f::round(d / n * 100.0, 4))),
            _ => None,
        },
        unrealized: f::json_num(pnl.unrealized),
        realized: f::json_num(pnl.realized),
    }
}

impl Saved {
    fn of(health: &Health, pnl: &PnlSection, rows: &[BriefPosition], alerts: &[Alert]) -> Saved {
        Saved {
            nlv: health.net_liquidation,
            daily_pnl: pnl.daily,
            unrealized: pnl.unrealized,
            weights: rows
                .iter()
                .filter_map(|r| Some((r.symbol.clone(), r.weight_pct?)))
                .collect(),
            alerts: alerts
                .iter()
                .map(|a| (a.key.clone(), a.message.clone()))
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sections

fn status_below(v: Option<f64>, watch: f64, danger: f64) -> Option<Level> {
    let v = v.filter(|x| x.is_finite())?;
    Some(if v < danger {
        Level::Danger
    } else if v < watch {
        Level::Watch
    } else {
        Level::Ok
    })
}

fn status_above(v: Option<f64>, watch: f64, danger: f64) -> Option<Level> {
    let v = v.filter(|x| x.is_finite())?;
    Some(if v > danger {
        Level::Danger
    } else if v > watch {
        Level::Watch
    } else {
        Level::Ok
    })
}

fn health(acct: &AccountSnapshot, t: &Thresholds) -> Health {
    let nlv = f::json_num(acct.net_liquidation());
    let cushion = f::json_num(acct.get(tags::CUSHION));
    let utilization = f::json_num(acct.margin_utilization());
    let leverage = f::json_num(acct.leverage());
    Health {
        net_liquidation: nlv,
        gross_position_value: f::json_num(acct.gross_position_value()),
        leverage: leverage.map(|l| f::round(l, 4)),
        leverage_status: status_above(leverage, t.leverage_watch, t.leverage_danger),
        cushion_pct: cushion.map(|c| f::round(c * 100.0, 4)),
        cushion_status: status_below(cushion, t.cushion_watch, t.cushion_danger),
        margin_utilization_pct: utilization.map(|u| f::round(u * 100.0, 4)),
        margin_status: status_above(utilization, t.margin_util_watch, t.margin_util_danger),
        excess_liquidity: f::json_num(acct.get(tags::EXCESS_LIQUIDITY)),
        available_funds: f::json_num(acct.get(tags::AVAILABLE_FUNDS)),
    }
}

/// The account's positions with weights, largest first.
struct Book {
    rows: Vec<BriefPosition>,
    /// Non-base currencies held (positions and cash), for the FX section.
    currencies: BTreeSet<String>,
    unconverted: Vec<String>,
}

/// `KRYX` for stocks; options and others carry their contract terms so they stay distinct.
fn label(p: &Position) -> String {
    let i = &p.instrument;
    if i.sec_type.is_empty() || i.sec_type == "STK" || i.sec_type == "CASH" {
        i.symbol.clone()
    } else if i.expiry.is_empty() {
        format!("{} {}", i.symbol, i.sec_type)
    } else {
        format!(
            "{} {} {} {}{}",
            i.symbol,
            i.sec_type,
            f::ib_date(&i.expiry),
            i.strike,
            i.right
        )
    }
}

/// Today's price move in percent: the quote against the previous close, else what the daily
/// P&L implies (daily / value at the previous close; right for shorts too).
fn day_move_pct(p: &Position, q: Option<&Quote>) -> Option<f64> {
    if let Some((_, pct)) = q.and_then(Quote::change) {
        return f::json_num(Some(pct));
    }
    let (d, mv) = (p.daily_pnl?, p.market_value?);
    let before = mv - d;
    if before == 0.0 {
        None
    } else {
        f::json_num(Some(d / before * 100.0))
    }
}

fn book(snap: &LiveState, acct: &AccountSnapshot) -> Book {
    let base = acct.base_currency.as_str();
    let mut currencies: BTreeSet<String> = acct
        .cash_by_currency
        .keys()
        .filter(|c| c.as_str() != base && c.as_str() != "BASE")
        .cloned()
        .collect();
    let mut unconverted: BTreeSet<String> = BTreeSet::new();
    let mut rows: Vec<(BriefPosition, Option<f64>)> = Vec::new();
    for p in snap
        .positions_of(&acct.account)
        .filter(|p| p.quantity != 0.0)
    {
        let ccy = p.instrument.currency.as_str();
        if ccy != base {
            currencies.insert(ccy.to_string());
        }
        let rate = snap.fx_rate(ccy, base);
        if rate.is_none() {
            unconverted.insert(ccy.to_string());
        }
        let quote = snap.quotes.get(&p.instrument.symbol);
        let market_value = p.current_market_value(quote);
        let mv_base = match (market_value, rate) {
            (Some(v), Some(r)) => f::json_num(Some((v * r).abs())),
            _ => None,
        };
        rows.push((
            BriefPosition {
                symbol: label(p),
                currency: ccy.to_string(),
                quantity: p.quantity,
                price: f::json_num(p.current_price(quote)),
                market_value: f::json_num(market_value),
                daily_pnl: f::json_num(p.daily_pnl),
                day_move_pct: day_move_pct(p, quote).map(|x| f::round(x, 4)),
                weight_pct: None,
                delayed: quote.is_some_and(|q| q.mode.is_delayed()),
            },
            mv_base,
        ));
    }
    let gross: f64 = rows.iter().filter_map(|(_, v)| *v).sum();
    let mut rows: Vec<BriefPosition> = rows
        .into_iter()
        .map(|(mut r, v)| {
            r.weight_pct = match v {
                Some(v) if gross > 0.0 => Some(f::round(v / gross * 100.0, 4)),
                _ => None,
            };
            r
        })
        .collect();
    rows.sort_by(|a, b| {
        b.weight_pct
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.weight_pct.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    Book {
        rows,
        currencies,
        unconverted: unconverted.into_iter().collect(),
    }
}

fn risk_metrics(rows: &[BriefPosition], weights: &[f64]) -> RiskMetrics {
    let top = rows.iter().find(|r| r.weight_pct.is_some());
    let non_empty = !weights.is_empty();
    RiskMetrics {
        top_position: top.map(|r| r.symbol.clone()),
        top_position_weight_pct: top.and_then(|r| r.weight_pct),
        top3_weight_pct: non_empty
            .then(|| f::round(concentration::top_n_weight(weights, 3) * 100.0, 4)),
        hhi: f::json_num(non_empty.then(|| f::round(concentration::hhi(weights), 2))),
        effective_positions: f::json_num(
            non_empty.then(|| f::round(concentration::effective_positions(weights), 2)),
        ),
        position_count: rows.len(),
    }
}

fn movers(rows: &[BriefPosition]) -> Movers {
    let mut moved: Vec<&BriefPosition> = rows.iter().filter(|r| r.day_move_pct.is_some()).collect();
    let pct = |r: &BriefPosition| r.day_move_pct.unwrap_or(0.0);
    moved.sort_by(|a, b| {
        pct(b)
            .total_cmp(&pct(a))
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    let leaders = moved
        .iter()
        .filter(|r| pct(r) > 0.0)
        .take(MOVERS)
        .map(|r| (*r).clone())
        .collect();
    let laggards = moved
        .iter()
        .rev()
        .filter(|r| pct(r) < 0.0)
        .take(MOVERS)
        .map(|r| (*r).clone())
        .collect();
    Movers { leaders, laggards }
}

fn fx_rows(snap: &LiveState, acct: &AccountSnapshot, currencies: &BTreeSet<String>) -> Vec<FxRow> {
    let base = acct.base_currency.as_str();
    currencies
        .iter()
        .map(|ccy| {
            let direct = format!("{ccy}.{base}");
            let inverse = format!("{base}.{ccy}");
            let quote = snap
                .quotes
                .get(&direct)
                .or_else(|| snap.quotes.get(&inverse));
            FxRow {
                pair: direct,
                rate: f::json_num(snap.fx_rate(ccy, base)),
                mode: quote.map(|q| q.mode.label().to_string()),
            }
        })
        .collect()
}

fn names(list: &[String]) -> String {
    if list.len() <= ALERT_NAMES {
        list.join(", ")
    } else {
        format!(
            "{} and {} more",
            list[..ALERT_NAMES].join(", "),
            list.len() - ALERT_NAMES
        )
    }
}

fn alerts(
    h: &Health,
    book: &Book,
    stale: Option<&crate::store::Staleness>,
    t: &Thresholds,
) -> Vec<Alert> {
    let mut out = health_alerts(h, t);
    out.extend(book_alerts(book, stale, t));
    out
}

/// Cushion, margin utilization and leverage past their watch or danger levels.
fn health_alerts(h: &Health, t: &Thresholds) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut push = |key: String, level: Level, message: String| {
        out.push(Alert {
            key,
            level,
            message,
        })
    };
    if let (Some(level @ (Level::Watch | Level::Danger)), Some(c)) =
        (h.cushion_status, h.cushion_pct)
    {
        let limit = if level == Level::Danger {
            t.cushion_danger
        } else {
            t.cushion_watch
        };
        push(
            "cushion".into(),
            level,
            format!(
                "Cushion {} is below the {} level of {}",
                f::pct_plain(Some(c), 2),
                level.label(),
                f::pct_plain(Some(limit * 100.0), 0)
            ),
        );
    }
    if let (Some(level @ (Level::Watch | Level::Danger)), Some(u)) =
        (h.margin_status, h.margin_utilization_pct)
    {
        let limit = if level == Level::Danger {
            t.margin_util_danger
        } else {
            t.margin_util_watch
        };
        push(
            "margin".into(),
            level,
            format!(
                "Margin utilization {} is above the {} level of {}",
                f::pct_plain(Some(u), 1),
                level.label(),
                f::pct_plain(Some(limit * 100.0), 0)
            ),
        );
    }
    if let (Some(level @ (Level::Watch | Level::Danger)), Some(l)) = (h.leverage_status, h.leverage)
    {
        let limit = if level == Level::Danger {
            t.leverage_danger
        } else {
            t.leverage_watch
        };
        push(
            "leverage".into(),
            level,
            format!(
                "Leverage {} is above the {} level of {}",
                f::times(Some(l)),
                level.label(),
                f::times(Some(limit))
            ),
        );
    }
    out
}

/// Concentration past the limit, stale or delayed data, and currencies with no FX rate.
fn book_alerts(book: &Book, stale: Option<&crate::store::Staleness>, t: &Thresholds) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut push = |key: String, level: Level, message: String| {
        out.push(Alert {
            key,
            level,
            message,
        })
    };
    let limit_pct = t.concentration_pct * 100.0;
    for r in &book.rows {
        match r.weight_pct {
            Some(w) if w > limit_pct => push(
                format!("concentration:{}", r.symbol),
                Level::Watch,
                format!(
                    "{} is {} of gross exposure (concentration limit {})",
                    r.symbol,
                    f::pct_plain(Some(w), 1),
                    f::pct_plain(Some(limit_pct), 0)
                ),
            ),
            // Rows are sorted by weight: nothing further down can breach.
            _ => break,
        }
    }
    if let Some(s) = stale {
        push(
            "stale".into(),
            Level::Danger,
            format!(
                "Stale data: last update {} ago ({})",
                f::age(s.age_ms),
                s.reason
            ),
        );
    }
    let delayed: Vec<String> = book
        .rows
        .iter()
        .filter(|r| r.delayed)
        .map(|r| r.symbol.clone())
        .collect();
    if !delayed.is_empty() {
        push(
            "delayed".into(),
            Level::Info,
            format!(
                "Delayed market data (no live subscription, 15–20 min behind) for {} symbol(s): {}",
                delayed.len(),
                names(&delayed)
            ),
        );
    }
    if !book.unconverted.is_empty() {
        push(
            "fx".into(),
            Level::Watch,
            format!(
                "No FX rate for {}: those positions are left out of weights and concentration",
                book.unconverted.join(", ")
            ),
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// since_last

fn persist(ctx: &ToolContext, account: &str, now: Millis, saved: &Saved) {
    let Some(db) = ctx.store.db() else { return };
    match serde_json::to_value(saved) {
        Ok(json) => {
            if let Err(e) = db.save_briefing(account, now, &json) {
                tracing::warn!("could not save the briefing snapshot: {e}");
            } else if let Err(e) = db.prune_briefings(account, BRIEFINGS_KEPT) {
                tracing::warn!("could not prune old briefing snapshots: {e}");
            }
        }
        Err(e) => tracing::warn!("could not encode the briefing snapshot: {e}"),
    }
}

fn diff(after: Option<f64>, before: Option<f64>) -> Option<f64> {
    f::json_num(Some(f::round(after? - before?, 2)))
}

fn since_last(ctx: &ToolContext, account: &str, now: Millis, cur: &Saved) -> SinceLast {
    let mut out = SinceLast {
        previous_time: None,
        elapsed_s: None,
        nlv_change: None,
        nlv_change_pct: None,
        daily_pnl_change: None,
        unrealized_change: None,
        weight_changes: Vec::new(),
        new_positions: Vec::new(),
        closed_positions: Vec::new(),
        new_alerts: Vec::new(),
        cleared_alerts: Vec::new(),
        note: None,
    };
    let Some(db) = ctx.store.db() else {
        out.note =
            Some("No database attached (data.db_path), so earlier briefings are not kept.".into());
        return out;
    };
    let (time, json) = match db.last_briefing(account) {
        Ok(Some(x)) => x,
        Ok(None) => {
            out.note = Some(
                "No previous briefing for this account: this one is saved as the baseline for the next since_last."
                    .into(),
            );
            return out;
        }
        Err(e) => {
            out.note = Some(format!("The previous briefing could not be read ({e})."));
            return out;
        }
    };
    let prev: Saved = match serde_json::from_value(json) {
        Ok(p) => p,
        Err(e) => {
            out.note = Some(format!(
                "The previous briefing was saved in another format and cannot be compared ({e})."
            ));
            return out;
        }
    };
    out.previous_time = Some(f::utc(time));
    out.elapsed_s = Some((now - time).max(0) as f64 / 1000.0);
    out.nlv_change = diff(cur.nlv, prev.nlv);
    out.nlv_change_pct = match (cur.nlv, prev.nlv) {
        (Some(a), Some(b)) if b != 0.0 => f::json_num(Some(f::round((a / b - 1.0) * 100.0, 4))),
        _ => None,
    };
    out.daily_pnl_change = diff(cur.daily_pnl, prev.daily_pnl);
    out.unrealized_change = diff(cur.unrealized, prev.unrealized);
    let mut changes: Vec<WeightChange> = cur
        .weights
        .iter()
        .filter_map(|(sym, after)| {
            let before = *prev.weights.get(sym)?;
            let change = after - before;
            (change.abs() >= WEIGHT_CHANGE_MIN_PP).then(|| WeightChange {
                symbol: sym.clone(),
                before_pct: f::round(before, 4),
                after_pct: f::round(*after, 4),
                change_pp: f::round(change, 4),
            })
        })
        .collect();
    changes.sort_by(|a, b| {
        b.change_pp
            .abs()
            .total_cmp(&a.change_pp.abs())
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    changes.truncate(WEIGHT_CHANGES);
    out.weight_changes = changes;
    out.new_positions = cur
        .weights
        .keys()
        .filter(|s| !prev.weights.contains_key(*s))
        .cloned()
        .collect();
    out.closed_positions = prev
        .weights
        .keys()
        .filter(|s| !cur.weights.contains_key(*s))
        .cloned()
        .collect();
    out.new_alerts = cur
        .alerts
        .iter()
        .filter(|(k, _)| !prev.alerts.contains_key(*k))
        .map(|(_, m)| m.clone())
        .collect();
    out.cleared_alerts = prev
        .alerts
        .iter()
        .filter(|(k, _)| !cur.alerts.contains_key(*k))
        .map(|(_, m)| m.clone())
        .collect();
    out
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn with_status(value: String, status: Option<Level>) -> String {
    match status {
        Some(s) => format!("{value} — {} {}", s.icon(), s.label()),
        None => value,
    }
}

fn daily_cell(r: &BriefPosition) -> String {
    format!(
        "{} ({})",
        f::signed_money_dp(r.daily_pnl, &r.currency, 0),
        f::pct(r.day_move_pct)
    )
}

/// All nine sections, then the comparison with the previous briefing when asked for.
fn render_full(mut md: String, out: &BriefingOut) -> String {
    health_section(&mut md, out, &out.thresholds);
    pnl_section(&mut md, out);
    positions_section(&mut md, out);
    movers_section(&mut md, out);
    risk_section(&mut md, out);
    alerts_section(&mut md, out);
    orders_section(&mut md, out);
    fx_section(&mut md, out);
    md.push_str("\n## Connection\n");
    render_connection(&mut md, &out.connection);

    if let Some(s) = &out.since_last {
        render_since_last(&mut md, s, &out.base_currency);
    }
    md.push_str(&f::method_line(&out.method));
    md
}

/// Leverage, cushion and margin utilization with their status against the thresholds.
fn health_section(md: &mut String, out: &BriefingOut, t: &Thresholds) {
    let ccy = out.base_currency.as_str();
    let h = &out.health;
    md.push_str("\n## Account Health\n");
    md.push_str(&f::kv_table(&[
        ("NLV", f::money(h.net_liquidation, ccy)),
        (
            "Gross Position Value",
            f::money(h.gross_position_value, ccy),
        ),
        (
            "Leverage",
            with_status(f::times(h.leverage), h.leverage_status),
        ),
        (
            "Cushion",
            with_status(f::pct_plain(h.cushion_pct, 1), h.cushion_status),
        ),
        (
            "Margin Utilization",
            with_status(f::pct_plain(h.margin_utilization_pct, 1), h.margin_status),
        ),
        ("Excess Liquidity", f::money(h.excess_liquidity, ccy)),
    ]));
    let _ = writeln!(
        md,
        "\n_Status against config thresholds: cushion watch < {}, danger < {}; margin utilization (maintenance / equity) watch > {}, danger > {}; leverage watch > {}, danger > {}._",
        f::pct_plain(Some(t.cushion_watch * 100.0), 0),
        f::pct_plain(Some(t.cushion_danger * 100.0), 0),
        f::pct_plain(Some(t.margin_util_watch * 100.0), 0),
        f::pct_plain(Some(t.margin_util_danger * 100.0), 0),
        f::times(Some(t.leverage_watch)),
        f::times(Some(t.leverage_danger)),
    );
}

/// The account's daily, unrealized and realized P&L.
fn pnl_section(md: &mut String, out: &BriefingOut) {
    let ccy = out.base_currency.as_str();
    let p = &out.pnl;
    md.push_str("\n## Daily P&L\n");
    let _ = writeln!(
        md,
        "**Daily**: {} ({} of NLV)  ",
        f::signed_money(p.daily, ccy),
        f::pct(p.daily_pct_of_nlv)
    );
    let _ = writeln!(
        md,
        "**Unrealized**: {}  ",
        f::signed_money(p.unrealized, ccy)
    );
    let _ = writeln!(md, "**Realized**: {}", f::signed_money(p.realized, ccy));
}

/// The largest positions by weight.
fn positions_section(md: &mut String, out: &BriefingOut) {
    md.push_str("\n## Positions\n");
    if out.positions.is_empty() {
        md.push_str("No open positions.\n");
    } else {
        let rows: Vec<Vec<String>> = out
            .positions
            .iter()
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    f::volume(Some(r.quantity)),
                    format!(
                        "{}{}",
                        f::money(r.price, &r.currency),
                        if r.delayed { " (delayed)" } else { "" }
                    ),
                    f::money_dp(r.market_value, &r.currency, 0),
                    daily_cell(r),
                    f::pct_plain(r.weight_pct, 1),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Shares", "Price", "Value", "Daily P&L", "Weight"],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &rows,
        ));
        if out.positions.len() < out.position_count {
            let _ = writeln!(
                md,
                "\n_Largest {} of {} positions by weight; `ibkr_get_positions` lists them all._",
                out.positions.len(),
                out.position_count
            );
        }
        md.push_str("\n_Weight: share of gross position value in the base currency; daily move: price vs previous close._\n");
    }
}

/// Today's leaders and laggards.
fn movers_section(md: &mut String, out: &BriefingOut) {
    md.push_str("\n## Top Movers\n");
    if out.movers.leaders.is_empty() && out.movers.laggards.is_empty() {
        md.push_str("No price moves known yet today.\n");
    } else {
        let rows: Vec<Vec<String>> = out
            .movers
            .leaders
            .iter()
            .map(|r| ("▲", r))
            .chain(out.movers.laggards.iter().map(|r| ("▼", r)))
            .map(|(arrow, r)| {
                vec![
                    format!("{arrow} {}", r.symbol),
                    f::money(r.price, &r.currency),
                    f::pct(r.day_move_pct),
                    f::signed_money(r.daily_pnl, &r.currency),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Price", "Move", "Daily P&L"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
            &rows,
        ));
    }
}

/// Concentration: top position, top 3, HHI, effective positions.
fn risk_section(md: &mut String, out: &BriefingOut) {
    let r = &out.risk;
    md.push_str("\n## Risk Metrics\n");
    md.push_str(&f::kv_table(&[
        (
            "Top Position",
            match &r.top_position {
                Some(s) => format!("{s} ({})", f::pct_plain(r.top_position_weight_pct, 1)),
                None => f::NA.into(),
            },
        ),
        ("Top 3 Weight", f::pct_plain(r.top3_weight_pct, 1)),
        ("HHI", f::number(r.hhi, 0)),
        ("Effective Positions", f::number(r.effective_positions, 1)),
        ("Position Count", r.position_count.to_string()),
    ]));
    md.push_str("\n_HHI = Σ(weight in %)², 10,000 = a single position; effective positions = 10,000 / HHI._\n");
}

/// Alerts, worst first.
fn alerts_section(md: &mut String, out: &BriefingOut) {
    md.push_str("\n## Alerts\n");
    if out.alerts.is_empty() {
        md.push_str("🟢 None.\n");
    } else {
        for a in &out.alerts {
            let _ = writeln!(
                md,
                "- {} **{}**: {}",
                a.level.icon(),
                a.level.label(),
                a.message
            );
        }
    }
}

/// Open orders, oldest first.
fn orders_section(md: &mut String, out: &BriefingOut) {
    md.push_str("\n## Open Orders\n");
    if out.open_orders.is_empty() {
        md.push_str("None.\n");
    } else {
        md.push_str(&open_orders_table(&out.open_orders));
        if out.open_orders.len() < out.open_order_count {
            let _ = writeln!(
                md,
                "\n_First {} of {} open orders; `ibkr_get_orders` lists them all._",
                out.open_orders.len(),
                out.open_order_count
            );
        }
    }
}

/// The FX rates converting position currencies into the base currency.
fn fx_section(md: &mut String, out: &BriefingOut) {
    let ccy = out.base_currency.as_str();
    md.push_str("\n## FX\n");
    if out.fx.is_empty() {
        let _ = writeln!(md, "Everything is in {ccy}; no conversion needed.");
    } else {
        let rows: Vec<Vec<String>> = out
            .fx
            .iter()
            .map(|x| {
                vec![
                    x.pair.clone(),
                    x.rate.map_or_else(|| f::NA.into(), |v| format!("{v:.4}")),
                    x.mode.clone().unwrap_or_else(|| "no quote".into()),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Pair", "Rate", "Data"],
            &[Align::Left, Align::Right, Align::Left],
            &rows,
        ));
    }
}

fn render_connection(md: &mut String, rows: &[GatewayRow]) {
    if rows.is_empty() {
        md.push_str("**Status**: no gateway (cache only)\n");
        return;
    }
    let several = rows.len() > 1;
    for g in rows {
        let who = if several {
            format!(" ({})", g.role)
        } else {
            String::new()
        };
        let _ = writeln!(md, "**Status**{who}: {}  ", g.state);
        let _ = writeln!(md, "**Last Data**: {}  ", age_words(g.last_data_age_s));
        let _ = writeln!(
            md,
            "**Market Data**: {} · **Reconnects**: {}",
            g.market_data_mode, g.reconnects
        );
    }
}

fn render_since_last(md: &mut String, s: &SinceLast, ccy: &str) {
    md.push_str("\n## Since Last Briefing\n");
    let Some(prev) = &s.previous_time else {
        let _ = writeln!(
            md,
            "{}",
            s.note.as_deref().unwrap_or("No previous briefing.")
        );
        return;
    };
    let _ = writeln!(
        md,
        "_Compared with the briefing of {prev} ({})._\n",
        age_words(s.elapsed_s)
    );
    md.push_str(&f::kv_table(&[
        (
            "NLV",
            format!(
                "{} ({})",
                f::signed_money(s.nlv_change, ccy),
                f::pct(s.nlv_change_pct)
            ),
        ),
        ("Daily P&L", f::signed_money(s.daily_pnl_change, ccy)),
        ("Unrealized P&L", f::signed_money(s.unrealized_change, ccy)),
    ]));
    if !s.weight_changes.is_empty() {
        md.push_str("\n**Weight changes**\n\n");
        let rows: Vec<Vec<String>> = s
            .weight_changes
            .iter()
            .map(|w| {
                vec![
                    w.symbol.clone(),
                    f::pct_plain(Some(w.before_pct), 1),
                    f::pct_plain(Some(w.after_pct), 1),
                    format!("{:+.2} pp", w.change_pp),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Before", "Now", "Change"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
            &rows,
        ));
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            names(v)
        }
    };
    let _ = writeln!(md, "\n**New positions**: {}  ", list(&s.new_positions));
    let _ = writeln!(md, "**Closed positions**: {}  ", list(&s.closed_positions));
    let _ = writeln!(md, "**New alerts**: {}  ", list(&s.new_alerts));
    let _ = writeln!(md, "**Cleared alerts**: {}", list(&s.cleared_alerts));
}

fn render_terse(mut md: String, out: &BriefingOut) -> String {
    let ccy = out.base_currency.as_str();
    let h = &out.health;
    let status = |s: Option<Level>| s.map_or(String::new(), |s| format!(" ({})", s.label()));
    let _ = writeln!(
        md,
        "\n**NLV** {} · **Daily** {} ({}) · **Leverage** {}{} · **Cushion** {}{}  ",
        f::money(h.net_liquidation, ccy),
        f::signed_money(out.pnl.daily, ccy),
        f::pct(out.pnl.daily_pct_of_nlv),
        f::times(h.leverage),
        status(h.leverage_status),
        f::pct_plain(h.cushion_pct, 1),
        status(h.cushion_status),
    );
    let r = &out.risk;
    let _ = writeln!(
        md,
        "**Top** {} {} · **Top 3** {} · **HHI** {} · **Positions** {} · **Open orders** {}  ",
        r.top_position.as_deref().unwrap_or(f::NA),
        f::pct_plain(r.top_position_weight_pct, 1),
        f::pct_plain(r.top3_weight_pct, 1),
        f::number(r.hhi, 0),
        r.position_count,
        out.open_order_count,
    );
    let mover = |arrow: &str, v: &[BriefPosition]| {
        v.first()
            .map(|m| format!("{arrow} {} {}", m.symbol, f::pct(m.day_move_pct)))
    };
    let movers: Vec<String> = [
        mover("▲", &out.movers.leaders),
        mover("▼", &out.movers.laggards),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !movers.is_empty() {
        let _ = writeln!(md, "**Movers** {}  ", movers.join(" · "));
    }
    if out.alerts.is_empty() {
        md.push_str("**Alerts** none  \n");
    } else {
        let list: Vec<String> = out
            .alerts
            .iter()
            .map(|a| format!("{} {}", a.level.icon(), a.message))
            .collect();
        let _ = writeln!(
            md,
            "**Alerts** ({}): {}  ",
            out.alerts.len(),
            list.join("; ")
        );
    }
    if let Some(s) = &out.since_last {
        terse_since_last(&mut md, s, ccy);
    }
    terse_connection(&mut md, &out.connection);
    md
}

fn terse_since_last(md: &mut String, s: &SinceLast, ccy: &str) {
    match &s.previous_time {
        Some(_) => {
            let _ = writeln!(
                md,
                "**Since last** ({}): NLV {} ({}), {} new / {} closed positions, {} new alerts  ",
                age_words(s.elapsed_s),
                f::signed_money(s.nlv_change, ccy),
                f::pct(s.nlv_change_pct),
                s.new_positions.len(),
                s.closed_positions.len(),
                s.new_alerts.len()
            );
        }
        None => {
            let _ = writeln!(
                md,
                "**Since last**: {}  ",
                s.note.as_deref().unwrap_or("none")
            );
        }
    }
}

fn terse_connection(md: &mut String, rows: &[GatewayRow]) {
    let conn: Vec<String> = rows
        .iter()
        .map(|g| {
            format!(
                "{} {}, last data {}",
                g.role,
                g.state,
                age_words(g.last_data_age_s)
            )
        })
        .collect();
    let _ = writeln!(
        md,
        "**Connection** {}",
        if conn.is_empty() {
            "no gateway (cache only)".to_string()
        } else {
            conn.join("; ")
        }
    );
}

/// How the briefing figures are computed, in the base currency `base`.
fn method_words(base: &str) -> String {
    format!(
        "from the live snapshot: leverage = gross position value / NLV; cushion = excess liquidity / NLV; margin utilization = maintenance requirement / equity with loan value; weights = share of gross position value in {base} (FX at the rates listed); concentration HHI = Σ (100 × weight)² (10,000 = one position) and effective positions = 10,000 / HHI; movers ranked by the day's change in percent; alerts when a figure crosses the thresholds listed"
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &BriefingOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    f::headline(&[
        format!("NLV {} {ccy}", f::number(out.health.net_liquidation, 2)),
        format!(
            "day {} {ccy} ({})",
            f::signed(out.pnl.daily, 2),
            f::pct(out.pnl.daily_pct_of_nlv)
        ),
        format!("{} positions", out.position_count),
        format!("{} alert(s)", out.alerts.len()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::tools::support::StaleInfo;

    fn position(symbol: &str, price: f64, qty: f64, move_pct: f64, weight: f64) -> BriefPosition {
        BriefPosition {
            symbol: symbol.into(),
            currency: "USD".into(),
            quantity: qty,
            price: Some(price),
            market_value: Some(price * qty),
            daily_pnl: Some(f::round(price * qty * move_pct / 100.0, 2)),
            day_move_pct: Some(move_pct),
            weight_pct: Some(weight),
            delayed: symbol == "VLTX",
        }
    }

    fn briefing(format: &str) -> BriefingOut {
        let kryx = position("KRYX", 54.18, 340.0, -4.9, 69.4);
        let vltx = position("VLTX", 94.32, 86.0, 1.2, 30.6);
        BriefingOut {
            method: method_words("CAD"),
            warnings: Vec::new(),
            meta: Meta {
                as_of: "2026-05-03 17:17:44 UTC".into(),
                stale: Some(StaleInfo {
                    age_s: 42.0,
                    reason: "gateway reconnecting".into(),
                }),
            },
            account: "U****4321".into(),
            base_currency: "CAD".into(),
            format: format.into(),
            health: Health {
                net_liquidation: Some(24_618.0),
                gross_position_value: Some(64_124.0),
                leverage: Some(2.6048),
                leverage_status: Some(Level::Watch),
                cushion_pct: Some(10.58),
                cushion_status: Some(Level::Watch),
                margin_utilization_pct: Some(89.4175),
                margin_status: Some(Level::Watch),
                excess_liquidity: Some(2_605.19),
                available_funds: Some(416.66),
            },
            pnl: PnlSection {
                daily: Some(-1_304.24),
                daily_pct_of_nlv: Some(-5.2979),
                unrealized: Some(1_234.5),
                realized: None,
            },
            positions: vec![kryx.clone(), vltx.clone()],
            position_count: 2,
            movers: Movers {
                leaders: vec![vltx],
                laggards: vec![kryx],
            },
            risk: RiskMetrics {
                top_position: Some("KRYX".into()),
                top_position_weight_pct: Some(69.4),
                top3_weight_pct: Some(100.0),
                hhi: Some(5_752.72),
                effective_positions: Some(1.74),
                position_count: 2,
            },
            alerts: vec![Alert {
                key: "cushion".into(),
                level: Level::Watch,
                message: "Cushion 10.58% is below the watch level of 15%".into(),
            }],
            open_orders: Vec::new(),
            open_order_count: 0,
            fx: vec![FxRow {
                pair: "USD.CAD".into(),
                rate: Some(1.37),
                mode: Some("live".into()),
            }],
            unconverted: Vec::new(),
            connection: Vec::new(),
            since_last: Some(SinceLast {
                previous_time: None,
                elapsed_s: None,
                nlv_change: None,
                nlv_change_pct: None,
                daily_pnl_change: None,
                unrealized_change: None,
                weight_changes: Vec::new(),
                new_positions: Vec::new(),
                closed_positions: Vec::new(),
                new_alerts: Vec::new(),
                cleared_alerts: Vec::new(),
                note: Some("No previous briefing of this account yet.".into()),
            }),
            thresholds: Config::defaults()
                .map(|c| c.thresholds)
                .expect("embedded defaults parse"),
        }
    }

    #[test]
    fn renders_every_section() {
        insta::assert_snapshot!("render_briefing", render(&briefing("full")));
        insta::assert_snapshot!(
            "headline_briefing",
            [headline(&briefing("full"))].join("\n")
        );
    }

    #[test]
    fn terse_is_a_few_lines() {
        let md = render(&briefing("terse"));
        assert!(md.contains("**Alerts** (1): 🟡 Cushion 10.58%"), "{md}");
        assert!(
            md.ends_with("**Connection** no gateway (cache only)\n"),
            "{md}"
        );
        assert!(!md.contains("## Positions"), "{md}");
    }
}
