//! Domain types shared by every layer. Plain data: no I/O, no broker types, no terminal types.
//!
//! Timestamps are Unix epoch milliseconds (`Millis`) so that snapshots serialize cheaply and tests
//! can run against a fixed clock.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod tool_group;
pub use tool_group::ToolGroup;

/// Unix epoch milliseconds.
pub type Millis = i64;

/// Which configured gateway a piece of data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayRole {
    Primary,
    Secondary,
}

impl GatewayRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayRole::Primary => "primary",
            GatewayRole::Secondary => "secondary",
        }
    }
}

/// Identifies an instrument the way IB does; `con_id` is authoritative when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Instrument {
    pub con_id: i32,
    pub symbol: String,
    /// `STK`, `CASH`, `OPT`, `ETF` is reported as `STK` by IB.
    pub sec_type: String,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    /// For options: `YYYYMMDD`, strike, `C`/`P`; empty otherwise.
    pub expiry: String,
    pub strike: f64,
    pub right: String,
    pub multiplier: f64,
}

/// One position as the gateway reports it (positions + portfolio updates + PnL single merged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Position {
    pub account: String,
    pub instrument: Instrument,
    pub quantity: f64,
    /// Average cost per share in the instrument's currency (IB's avgCost divided by multiplier).
    pub avg_cost: f64,
    pub market_price: Option<f64>,
    pub market_value: Option<f64>,
    pub unrealized_pnl: Option<f64>,
    pub realized_pnl: Option<f64>,
    /// From the PnL-single subscription; `None` until the first update arrives.
    pub daily_pnl: Option<f64>,
    /// When `daily_pnl` last arrived (store clock). Holdings beyond the streamed ones get theirs
    /// in rotation, so it can be minutes old while the rest of the row is current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_pnl_at: Option<Millis>,
    pub updated: Millis,
    /// Where `market_price` comes from: a streaming quote, or (beyond the account's
    /// market-data lines) IB's portfolio updates, which refresh every few minutes.
    #[serde(default, skip_serializing_if = "PriceSource::is_quote")]
    pub price_source: PriceSource,
}

impl Position {
    /// Contract multiplier, 1 when IB sends none (stocks).
    pub fn multiplier(&self) -> f64 {
        if self.instrument.multiplier > 0.0 {
            self.instrument.multiplier
        } else {
            1.0
        }
    }

    /// The price to show now. A live streaming quote (last, else mid) wins: IB refreshes the
    /// portfolio mark (`market_price`) only every few minutes, while quotes tick. Without a
    /// live quote: the portfolio mark, else whatever the quote has (delayed, or the close).
    pub fn current_price(&self, quote: Option<&Quote>) -> Option<f64> {
        self.live_quote_price(quote)
            .or(self.market_price)
            .or_else(|| quote.and_then(Quote::price))
            .filter(|p| p.is_finite())
    }

    /// Market value at `current_price`: quantity × live price × multiplier when a live quote
    /// priced it, else IB's portfolio market value (or one computed from the price).
    pub fn current_market_value(&self, quote: Option<&Quote>) -> Option<f64> {
        match self.live_quote_price(quote) {
            Some(px) => Some(px * self.quantity * self.multiplier()),
            None => self.market_value.or_else(|| {
                self.current_price(quote)
                    .map(|px| px * self.quantity * self.multiplier())
            }),
        }
        .filter(|v| v.is_finite())
    }

    /// Last (else mid) of a quote for this very contract that is streaming live or frozen at
    /// the close — never delayed, and never an underlying's quote for an option position.
    fn live_quote_price(&self, quote: Option<&Quote>) -> Option<f64> {
        let q = quote?;
        let same_contract =
            q.con_id == 0 || self.instrument.con_id == 0 || q.con_id == self.instrument.con_id;
        if !same_contract || q.mode.is_delayed() {
            return None;
        }
        q.last
            .or_else(|| q.bid.zip(q.ask).map(|(b, a)| (a + b) / 2.0))
            .filter(|p| p.is_finite() && *p > 0.0)
    }
}

/// Where a position's price comes from. IB accounts have a limited number of market-data lines
/// (100 by default); positions beyond them are priced from the portfolio updates instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// A streaming quote (`LiveState::quotes`) holds the live price.
    #[default]
    Quote,
    /// No quote line: the price is the portfolio update's mark (account updates or P&L).
    Portfolio,
}

impl PriceSource {
    pub fn is_quote(&self) -> bool {
        *self == PriceSource::Quote
    }
    pub fn label(self) -> &'static str {
        match self {
            PriceSource::Quote => "quote",
            PriceSource::Portfolio => "portfolio",
        }
    }
}

/// Whether a price is live, delayed, or frozen (IB market-data types 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    #[default]
    Live,
    Frozen,
    Delayed,
    DelayedFrozen,
}

impl DataMode {
    pub fn from_ib(code: i32) -> Self {
        match code {
            2 => DataMode::Frozen,
            3 => DataMode::Delayed,
            4 => DataMode::DelayedFrozen,
            _ => DataMode::Live,
        }
    }
    pub fn is_delayed(self) -> bool {
        matches!(self, DataMode::Delayed | DataMode::DelayedFrozen)
    }
    pub fn label(self) -> &'static str {
        match self {
            DataMode::Live => "live",
            DataMode::Frozen => "frozen",
            DataMode::Delayed => "delayed",
            DataMode::DelayedFrozen => "delayed-frozen",
        }
    }
    /// Serializes as the label (`delayed-frozen`), the form tool answers show; use with
    /// `#[serde(serialize_with = "DataMode::serialize_label")]` and `#[schemars(with = "String")]`.
    pub fn serialize_label<S: serde::Serializer>(mode: &DataMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(mode.label())
    }
}

/// Bar sizes IB accepts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema, Default,
)]
pub enum BarSize {
    #[serde(rename = "1 min")]
    Min1,
    #[serde(rename = "2 mins")]
    Min2,
    #[serde(rename = "3 mins")]
    Min3,
    #[serde(rename = "5 mins")]
    Min5,
    #[serde(rename = "10 mins")]
    Min10,
    #[serde(rename = "15 mins")]
    Min15,
    #[serde(rename = "20 mins")]
    Min20,
    #[serde(rename = "30 mins")]
    Min30,
    #[serde(rename = "1 hour")]
    Hour1,
    #[serde(rename = "2 hours")]
    Hour2,
    #[serde(rename = "3 hours")]
    Hour3,
    #[serde(rename = "4 hours")]
    Hour4,
    #[serde(rename = "8 hours")]
    Hour8,
    #[default]
    #[serde(rename = "1 day")]
    Day1,
    #[serde(rename = "1 week")]
    Week1,
    #[serde(rename = "1 month")]
    Month1,
}

impl BarSize {
    /// IB's wording, the same string serde uses.
    pub fn ib(self) -> &'static str {
        match self {
            BarSize::Min1 => "1 min",
            BarSize::Min2 => "2 mins",
            BarSize::Min3 => "3 mins",
            BarSize::Min5 => "5 mins",
            BarSize::Min10 => "10 mins",
            BarSize::Min15 => "15 mins",
            BarSize::Min20 => "20 mins",
            BarSize::Min30 => "30 mins",
            BarSize::Hour1 => "1 hour",
            BarSize::Hour2 => "2 hours",
            BarSize::Hour3 => "3 hours",
            BarSize::Hour4 => "4 hours",
            BarSize::Hour8 => "8 hours",
            BarSize::Day1 => "1 day",
            BarSize::Week1 => "1 week",
            BarSize::Month1 => "1 month",
        }
    }
    /// Bar length in seconds (a month counted as 30 days).
    pub fn seconds(self) -> i64 {
        match self {
            BarSize::Min1 => 60,
            BarSize::Min2 => 120,
            BarSize::Min3 => 180,
            BarSize::Min5 => 300,
            BarSize::Min10 => 600,
            BarSize::Min15 => 900,
            BarSize::Min20 => 1200,
            BarSize::Min30 => 1800,
            BarSize::Hour1 => 3600,
            BarSize::Hour2 => 7200,
            BarSize::Hour3 => 10_800,
            BarSize::Hour4 => 14_400,
            BarSize::Hour8 => 28_800,
            BarSize::Day1 => 86_400,
            BarSize::Week1 => 7 * 86_400,
            BarSize::Month1 => 30 * 86_400,
        }
    }
    /// Shorter than a day (bar times carry a time of day).
    pub fn is_intraday(self) -> bool {
        self.seconds() < 86_400
    }
}

impl std::fmt::Display for BarSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.ib())
    }
}

/// What the bars are built from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema, Default,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WhatToShow {
    #[default]
    Trades,
    Midpoint,
    Bid,
    Ask,
    AdjustedLast,
}

impl WhatToShow {
    /// IB's wording, the same string serde uses.
    pub fn ib(self) -> &'static str {
        match self {
            WhatToShow::Trades => "TRADES",
            WhatToShow::Midpoint => "MIDPOINT",
            WhatToShow::Bid => "BID",
            WhatToShow::Ask => "ASK",
            WhatToShow::AdjustedLast => "ADJUSTED_LAST",
        }
    }
}

impl std::fmt::Display for WhatToShow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.ib())
    }
}

// Order side, in IB's wording (no doc comment: it would become the schema's description).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum Side {
    #[serde(rename = "BUY")]
    Buy,
    #[serde(rename = "SELL")]
    Sell,
}

impl Side {
    pub fn ib(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

// Order type of a what-if order, in IB's wording (no doc comment, as for `Side`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
pub enum OrderType {
    /// Market (default).
    #[default]
    #[serde(rename = "MKT")]
    Mkt,
    /// Limit: needs `limit_price`.
    #[serde(rename = "LMT")]
    Lmt,
}

impl OrderType {
    pub fn ib(self) -> &'static str {
        match self {
            OrderType::Mkt => "MKT",
            OrderType::Lmt => "LMT",
        }
    }
}

/// Latest top-of-book and session values for one symbol. Every field is already cleaned of IB's
/// sentinel values (-1, 0 where meaningless, f64::MAX, NaN): a `None` means "not known".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Quote {
    pub symbol: String,
    pub con_id: i32,
    pub currency: String,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    pub bid_size: Option<f64>,
    pub ask_size: Option<f64>,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    /// Previous session's close.
    pub close: Option<f64>,
    pub volume: Option<f64>,
    pub mode: DataMode,
    pub updated: Millis,
}

impl Quote {
    /// Best available price: last, else mid, else close.
    pub fn price(&self) -> Option<f64> {
        self.last
            .or_else(|| match (self.bid, self.ask) {
                (Some(b), Some(a)) => Some((a + b) / 2.0),
                _ => None,
            })
            .or(self.close)
    }
    /// Change against the previous close, absolute and percent.
    pub fn change(&self) -> Option<(f64, f64)> {
        let p = self.price()?;
        let c = self.close?;
        if c == 0.0 {
            return None;
        }
        Some((p - c, (p - c) / c * 100.0))
    }
}

/// One OHLCV bar. `time` is the bar's start in epoch seconds (daily bars: midnight UTC of the date).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Bar {
    pub time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub wap: f64,
    pub count: i32,
}

/// Account-level values keyed by IB tag (`NetLiquidation`, `Cushion`, ...). Amounts in `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AccountSnapshot {
    pub account: String,
    pub gateway: Option<GatewayRole>,
    pub base_currency: String,
    /// tag → (value, currency). Currency is the base currency for the summary tags.
    pub values: BTreeMap<String, AccountValue>,
    /// Cash balance per currency (from `TotalCashBalance` / `$LEDGER` rows).
    pub cash_by_currency: BTreeMap<String, f64>,
    pub pnl: Option<AccountPnl>,
    pub updated: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountValue {
    pub value: f64,
    pub currency: String,
}

impl AccountSnapshot {
    pub fn get(&self, tag: &str) -> Option<f64> {
        self.values.get(tag).map(|v| v.value)
    }
    pub fn net_liquidation(&self) -> Option<f64> {
        self.get(tags::NET_LIQUIDATION)
    }
    pub fn gross_position_value(&self) -> Option<f64> {
        self.get(tags::GROSS_POSITION_VALUE)
    }
    /// Margin utilisation: maintenance margin / equity with loan value (falling back to NLV).
    /// 100% is the point of forced liquidation, so this reads as "how much of the equity the
    /// maintenance requirement already uses". The one definition used by the tools and the
    /// cockpit alike. `None` when either is unknown or the equity is zero.
    pub fn margin_utilization(&self) -> Option<f64> {
        let equity = self
            .get(tags::EQUITY_WITH_LOAN)
            .or_else(|| self.net_liquidation())?;
        let maint = self.get(tags::MAINT_MARGIN_REQ)?;
        if equity == 0.0 {
            None
        } else {
            Some(maint / equity)
        }
    }
    /// GPV / NLV, `None` when either is unknown or NLV is zero.
    pub fn leverage(&self) -> Option<f64> {
        let nlv = self.net_liquidation()?;
        let gpv = self.gross_position_value()?;
        if nlv == 0.0 { None } else { Some(gpv / nlv) }
    }
}

/// IB account-summary tag names used across the crate.
pub mod tags {
    pub const NET_LIQUIDATION: &str = "NetLiquidation";
    pub const GROSS_POSITION_VALUE: &str = "GrossPositionValue";
    pub const TOTAL_CASH_VALUE: &str = "TotalCashValue";
    pub const BUYING_POWER: &str = "BuyingPower";
    pub const AVAILABLE_FUNDS: &str = "AvailableFunds";
    pub const EXCESS_LIQUIDITY: &str = "ExcessLiquidity";
    pub const INIT_MARGIN_REQ: &str = "InitMarginReq";
    pub const MAINT_MARGIN_REQ: &str = "MaintMarginReq";
    pub const CUSHION: &str = "Cushion";
    pub const EQUITY_WITH_LOAN: &str = "EquityWithLoanValue";
    pub const SETTLED_CASH: &str = "SettledCash";
    /// Summary tags the adapter subscribes to.
    pub const SUMMARY: &[&str] = &[
        NET_LIQUIDATION,
        GROSS_POSITION_VALUE,
        TOTAL_CASH_VALUE,
        BUYING_POWER,
        AVAILABLE_FUNDS,
        EXCESS_LIQUIDITY,
        INIT_MARGIN_REQ,
        MAINT_MARGIN_REQ,
        CUSHION,
        EQUITY_WITH_LOAN,
        SETTLED_CASH,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct AccountPnl {
    pub daily: Option<f64>,
    pub unrealized: Option<f64>,
    pub realized: Option<f64>,
}

/// An order as seen in the open-orders or completed-orders snapshot. Read-only view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OrderView {
    pub order_id: i32,
    pub perm_id: i64,
    pub client_id: i32,
    pub account: String,
    pub instrument: Instrument,
    /// BUY / SELL
    pub action: String,
    pub quantity: f64,
    pub filled: f64,
    pub remaining: f64,
    pub order_type: String,
    pub limit_price: Option<f64>,
    pub stop_price: Option<f64>,
    pub tif: String,
    pub status: String,
    pub avg_fill_price: Option<f64>,
    /// For completed orders: when it completed, as IB reports it.
    pub completed_time: String,
}

/// One execution, with its commission report merged in when it has arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Fill {
    pub exec_id: String,
    pub order_id: i32,
    pub account: String,
    pub instrument: Instrument,
    /// BOT / SLD
    pub side: String,
    pub shares: f64,
    pub price: f64,
    pub time: Millis,
    pub exchange: String,
    pub commission: Option<f64>,
    pub commission_currency: String,
    pub realized_pnl: Option<f64>,
}

/// Margin figures returned by a what-if order. Amounts are in the account's base currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WhatIfResult {
    pub init_margin_before: Option<f64>,
    pub maint_margin_before: Option<f64>,
    pub equity_with_loan_before: Option<f64>,
    pub init_margin_change: Option<f64>,
    pub maint_margin_change: Option<f64>,
    pub equity_with_loan_change: Option<f64>,
    pub init_margin_after: Option<f64>,
    pub maint_margin_after: Option<f64>,
    pub equity_with_loan_after: Option<f64>,
    pub commission: Option<f64>,
    pub commission_currency: String,
    pub margin_currency: String,
    pub warning: String,
}

/// Contract details as the tools need them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ContractInfo {
    pub instrument: Instrument,
    pub long_name: String,
    pub industry: String,
    pub category: String,
    pub subcategory: String,
    pub min_tick: f64,
    pub trading_class: String,
    pub trading_hours: String,
    pub liquid_hours: String,
    pub time_zone: String,
}

/// One expiry's worth of the option chain definition (strikes from that expiry's own chain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OptionChainDef {
    pub exchange: String,
    pub trading_class: String,
    pub multiplier: String,
    pub expirations: Vec<String>,
    pub strikes: Vec<f64>,
}

/// Quote plus greeks for one option contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OptionQuote {
    pub expiry: String,
    pub strike: f64,
    /// `C` or `P`
    pub right: String,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    pub implied_vol: Option<f64>,
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    pub theta: Option<f64>,
    pub vega: Option<f64>,
    pub underlying_price: Option<f64>,
    pub mode: DataMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NewsHeadline {
    pub time: Millis,
    pub provider: String,
    pub article_id: String,
    pub headline: String,
    /// Symbol the headline was requested for.
    pub symbol: String,
}

/// A symbol search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ContractMatch {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub primary_exchange: String,
    pub currency: String,
    pub description: String,
}

/// Dividend facts for a symbol (from generic tick 456 "IB dividends": past 12m, next 12m,
/// next date, next amount).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DividendInfo {
    pub symbol: String,
    pub currency: String,
    pub past_12m: Option<f64>,
    pub next_12m: Option<f64>,
    /// `YYYYMMDD`
    pub next_date: Option<String>,
    pub next_amount: Option<f64>,
}

/// Connection health of one gateway, as the supervisor sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GatewayStatus {
    pub role: Option<GatewayRole>,
    pub host: String,
    pub port: u16,
    pub client_id: i32,
    pub state: ConnState,
    pub server_version: Option<i32>,
    /// When the current state began.
    pub since: Millis,
    pub last_data: Option<Millis>,
    /// Successful reconnections since start.
    pub reconnects: u32,
    /// Connection attempts that failed since the last successful one (what an outage has cost).
    #[serde(default)]
    pub failed_attempts: u32,
    pub market_data_mode: DataMode,
    pub accounts: Vec<String>,
    /// Why the gateway is not connected, in words.
    pub last_error: Option<String>,
    /// Streamed symbols with no tick for `gateway.symbol_stall_secs` while their market is
    /// open, with when each last ticked: their values are stale.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub silent_symbols: BTreeMap<String, Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    #[default]
    Connecting,
    Connected,
    Reconnecting,
    Disconnected,
    /// Connected, but the gateway has stopped answering (no heartbeat answer, no data): values
    /// are stale until it answers again or the supervisor reconnects.
    Stalled,
}

impl ConnState {
    pub fn label(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Disconnected => "disconnected",
            ConnState::Stalled => "stalled",
        }
    }
}

/// A gateway message or supervisor event, in words (1100/1101/1102/2104/... or our own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayEvent {
    pub time: Millis,
    pub role: GatewayRole,
    /// IB code when there is one (e.g. 1100); 0 for supervisor events.
    pub code: i32,
    pub message: String,
}

/// One tool call from any front door (MCP stdio/HTTP/socket, the `tool` CLI, the cockpit prompt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    pub id: u64,
    pub time: Millis,
    /// Client name from MCP initialize (e.g. "claude-code"), or "cockpit" / "cli" / "rest".
    pub client: String,
    pub tool: String,
    pub arguments: serde_json::Value,
    pub duration_ms: f64,
    pub ok: bool,
    /// Error text when `ok` is false.
    pub error: Option<String>,
    pub result_bytes: usize,
    /// The markdown answer, kept so the prompt pane can show it.
    pub markdown: String,
    /// The answer's one-line summary (the tool's `headline`), empty for an error. Defaults to
    /// empty when a record from an older daemon lacks it.
    #[serde(default)]
    pub headline: String,
}

#[cfg(test)]
mod current_price_tests {
    use super::*;

    fn held(con_id: i32, mark: f64) -> Position {
        Position {
            instrument: Instrument {
                symbol: "KRYX".into(),
                con_id,
                ..Instrument::default()
            },
            quantity: 10.0,
            market_price: Some(mark),
            market_value: Some(mark * 10.0),
            ..Position::default()
        }
    }

    fn quote(con_id: i32, last: Option<f64>, mode: DataMode) -> Quote {
        Quote {
            con_id,
            last,
            bid: Some(49.0),
            ask: Some(51.0),
            close: Some(40.0),
            mode,
            ..Quote::default()
        }
    }

    #[test]
    fn a_live_quote_beats_the_minutes_old_portfolio_mark() {
        let p = held(7, 45.0);
        let q = quote(7, Some(52.0), DataMode::Live);
        assert_eq!(p.current_price(Some(&q)), Some(52.0));
        assert_eq!(p.current_market_value(Some(&q)), Some(520.0));
        // No last yet: the mid.
        let q = quote(7, None, DataMode::Live);
        assert_eq!(p.current_price(Some(&q)), Some(50.0));
    }

    #[test]
    fn delayed_or_foreign_quotes_leave_the_mark() {
        let p = held(7, 45.0);
        let delayed = quote(7, Some(52.0), DataMode::Delayed);
        assert_eq!(p.current_price(Some(&delayed)), Some(45.0));
        assert_eq!(p.current_market_value(Some(&delayed)), Some(450.0));
        // An option position must not take its underlying's quote.
        let underlying = quote(8, Some(52.0), DataMode::Live);
        assert_eq!(p.current_price(Some(&underlying)), Some(45.0));
        assert_eq!(p.current_price(None), Some(45.0));
    }

    #[test]
    fn without_a_mark_any_quote_price_will_do() {
        let p = Position {
            market_price: None,
            market_value: None,
            ..held(7, 0.0)
        };
        let delayed = quote(7, Some(52.0), DataMode::Delayed);
        assert_eq!(p.current_price(Some(&delayed)), Some(52.0));
        assert_eq!(p.current_market_value(Some(&delayed)), Some(520.0));
    }
}
