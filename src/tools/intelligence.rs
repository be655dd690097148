//! Intelligence tools: `ibkr_sector_exposure`, `ibkr_currency`, `ibkr_position_detail`,
//! `ibkr_rebalance_planner`. Concentration, technicals and rebalance arithmetic come from
//! `analytics/`; this file gathers the inputs (book in base currency, contract details, bars)
//! and writes answers that state their method.

use super::format::{self as f, Align};
use super::risk_data;
use super::support::{self, FxUsed, Meta};
use super::{Answer, Tool, ToolContext, ToolError};
use crate::analytics::{concentration, rebalance};
use crate::gateway::{ContractQuery, WhatIfOrder};
use crate::model::tags;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

const TABLE_ROWS: usize = 25;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountParams {
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// ibkr_sector_exposure

/// How long a sector answer may spend fetching contract details it has not cached yet. IB
/// allows ~50 messages a second, so a 2,000-position book is classified over a few calls;
/// the largest positions go first and the rest are reported as pending, never guessed.
const DETAILS_BUDGET: Duration = Duration::from_secs(8);
const DETAILS_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SectorRow {
    pub sector: String,
    /// Gross value (Σ |value|), base currency.
    pub value: f64,
    /// Percent of gross position value.
    pub weight_pct: f64,
    pub positions: usize,
    /// Held symbols in this sector, largest first (at most 10).
    pub top_symbols: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SectorOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub sectors: Vec<SectorRow>,
    /// Herfindahl–Hirschman index of sector weights (0–10,000).
    pub hhi: Option<f64>,
    /// 10,000 / HHI: equally weighted sectors with the same concentration.
    pub effective_sectors: Option<f64>,
    pub gross_value: f64,
    /// Symbols classified through the configured ETF/sector table (`[sectors]` in config).
    pub mapped_by_config: Vec<String>,
    /// Symbols whose contract details were not available within this call.
    pub pending: Vec<String>,
    pub fx_rates: Vec<FxUsed>,
    pub unconverted: Vec<String>,
}

pub struct SectorExposure;

impl Tool for SectorExposure {
    const NAME: &'static str = "ibkr_sector_exposure";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "Sector weights of the book (IB contract-details industry; ETFs through the configurable sector table) with the HHI concentration index.";
    type Params = AccountParams;
    type Output = SectorOut;

    async fn run(ctx: &ToolContext, p: AccountParams) -> Result<Answer<SectorOut>, ToolError> {
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        let base = book.base.clone();
        let config_sector = |s: &str| {
            ctx.config
                .sectors
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(s))
                .map(|(_, v)| v.clone())
        };
        let mut mapped_by_config = Vec::new();
        let mut to_fetch = Vec::new();
        let mut sector_of: BTreeMap<String, String> = BTreeMap::new();
        for h in &book.holdings {
            match config_sector(&h.symbol) {
                Some(s) => {
                    mapped_by_config.push(h.symbol.clone());
                    sector_of.insert(h.symbol.clone(), s);
                }
                None => to_fetch.push((
                    h.symbol.clone(),
                    h.position.instrument.sec_type.clone(),
                    h.currency.clone(),
                )),
            }
        }
        let mut pending = Vec::new();
        if !to_fetch.is_empty() {
            let req = ctx.requests().ok();
            let deadline = tokio::time::Instant::now() + DETAILS_BUDGET;
            let found: Vec<(String, Option<String>)> = futures::stream::iter(to_fetch)
                .map(|(symbol, sec_type, currency)| async move {
                    let Some(req) = req else {
                        return (symbol, None);
                    };
                    if tokio::time::Instant::now() >= deadline {
                        return (symbol, None);
                    }
                    let q = ContractQuery {
                        symbol: symbol.clone(),
                        sec_type: Some(sec_type).filter(|s| !s.is_empty()),
                        exchange: Some("SMART".into()),
                        currency: Some(currency),
                    };
                    let got = tokio::time::timeout_at(deadline, req.contract_details(&q)).await;
                    let sector = match got {
                        Ok(Ok(infos)) => infos.first().map(|i| {
                            let s = i.industry.trim();
                            if s.is_empty() {
                                "Unclassified".to_string()
                            } else {
                                s.to_string()
                            }
                        }),
                        Ok(Err(_)) => Some("Unclassified".to_string()),
                        Err(_) => None,
                    };
                    (symbol, sector)
                })
                .buffered(DETAILS_CONCURRENCY)
                .collect()
                .await;
            for (sym, sector) in found {
                match sector {
                    Some(s) => {
                        sector_of.insert(sym, s);
                    }
                    None => pending.push(sym),
                }
            }
        }
        let gross = book.gross_base();
        let mut by_sector: BTreeMap<String, (f64, Vec<String>)> = BTreeMap::new();
        for h in &book.holdings {
            let Some(v) = h.value_base else { continue };
            let sector = sector_of
                .get(&h.symbol)
                .cloned()
                .unwrap_or_else(|| "Pending (details not fetched yet)".to_string());
            let e = by_sector.entry(sector).or_default();
            e.0 += v.abs();
            e.1.push(h.symbol.clone());
        }
        let mut sectors: Vec<SectorRow> = by_sector
            .into_iter()
            .map(|(sector, (value, syms))| SectorRow {
                sector,
                value: f::round(value, 2),
                weight_pct: if gross > 0.0 {
                    f::round(value / gross * 100.0, 4)
                } else {
                    0.0
                },
                positions: syms.len(),
                top_symbols: syms.into_iter().take(10).collect(),
            })
            .collect();
        sectors.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.sector.cmp(&b.sector)));
        let weights: Vec<f64> = sectors.iter().map(|s| s.value).collect();
        let hhi = f::json_num(Some(concentration::hhi(&weights))).map(|x| f::round(x, 2));
        let eff = hhi.filter(|h| *h > 0.0).map(|h| f::round(10_000.0 / h, 2));
        let out = SectorOut {
            meta: view.meta(),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            sectors,
            hhi,
            effective_sectors: eff,
            gross_value: f::round(gross, 2),
            mapped_by_config,
            pending,
            fx_rates: book.fx.clone(),
            unconverted: book.unconverted.clone(),
        };
        let mut md = view.header("Sector Exposure");
        let _ = writeln!(md, "Account: {}\n", out.account);
        let rows: Vec<Vec<String>> = out
            .sectors
            .iter()
            .map(|s| {
                vec![
                    s.sector.clone(),
                    f::money(Some(s.value), &base),
                    f::pct_plain(Some(s.weight_pct), 1),
                    s.positions.to_string(),
                    s.top_symbols
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Sector", "Gross Value", "Weight", "Positions", "Largest"],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Left,
            ],
            &rows,
        ));
        let level = match out.hhi {
            Some(h) if h >= 2_500.0 => " — highly concentrated",
            Some(h) if h >= 1_500.0 => " — moderately concentrated",
            Some(_) => " — diversified",
            None => "",
        };
        let _ = writeln!(md, "\n**Sector HHI**: {}{level}", f::number(out.hhi, 0));
        let _ = writeln!(
            md,
            "**Effective number of sectors**: {}",
            f::number(out.effective_sectors, 1)
        );
        let _ = writeln!(
            md,
            "**Gross value**: {}",
            f::money(Some(out.gross_value), &base)
        );
        if !out.mapped_by_config.is_empty() {
            let _ = writeln!(
                md,
                "\n_Mapped through the sector table in config (`[sectors]`): {}._",
                out.mapped_by_config.join(", ")
            );
        }
        if !out.pending.is_empty() {
            let _ = writeln!(
                md,
                "\n⚠️ Contract details for {} position(s) were not fetched within this call (IB allows ~50 requests a second); they are shown as Pending and will be classified on a later call.",
                out.pending.len()
            );
        }
        let _ = writeln!(
            md,
            "\n_Method: weights are shares of gross position value in {base}; sector from IB contract details (industry); HHI = Σ (100 × weight)² over sectors (10,000 = one sector)._"
        );
        md.push_str(&super::account::fx_lines(&out.fx_rates, &out.unconverted));
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_currency

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CurrencyRow {
    pub currency: String,
    /// Signed position value in this currency.
    pub positions: f64,
    /// Cash balance in this currency (negative = loan).
    pub cash: f64,
    /// positions + cash, in this currency.
    pub net: f64,
    /// Units of base per unit of this currency (1 for base); null without a rate.
    pub rate_to_base: Option<f64>,
    pub net_base: Option<f64>,
    /// Percent of NLV.
    pub share_pct: Option<f64>,
    /// Base-currency P&L if this currency strengthens 1% against base (0 for base).
    pub one_pct_move: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CurrencyOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub currencies: Vec<CurrencyRow>,
    /// Σ net in base.
    pub total_base: Option<f64>,
    pub net_liquidation: Option<f64>,
    /// Base P&L if every foreign currency strengthens 1% together.
    pub all_foreign_one_pct: Option<f64>,
    pub fx_rates: Vec<FxUsed>,
    pub unconverted: Vec<String>,
}

pub struct Currency;

impl Tool for Currency {
    const NAME: &'static str = "ibkr_currency";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "Exposure by currency (positions plus cash), converted to base with live FX, and what a 1% move in each pair does.";
    type Params = AccountParams;
    type Output = CurrencyOut;

    async fn run(ctx: &ToolContext, p: AccountParams) -> Result<Answer<CurrencyOut>, ToolError> {
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        let base = book.base.clone();
        let mut acc: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for h in &book.holdings {
            if let Some(v) = h.market_value {
                acc.entry(h.currency.clone()).or_default().0 += v;
            }
        }
        for (ccy, cash) in &book.account.cash_by_currency {
            acc.entry(ccy.clone()).or_default().1 += cash;
        }
        let nlv = book.nlv();
        let mut rows: Vec<CurrencyRow> = acc
            .into_iter()
            .map(|(ccy, (pos, cash))| {
                let rate = book.rate(&ccy);
                let net = pos + cash;
                let net_base = rate.map(|r| net * r);
                CurrencyRow {
                    share_pct: net_base
                        .zip(nlv.filter(|n| *n != 0.0))
                        .map(|(v, n)| f::round(v / n * 100.0, 4)),
                    one_pct_move: if ccy == base {
                        Some(0.0)
                    } else {
                        net_base.map(|v| f::round(v * 0.01, 2))
                    },
                    currency: ccy,
                    positions: f::round(pos, 2),
                    cash: f::round(cash, 2),
                    net: f::round(net, 2),
                    rate_to_base: rate,
                    net_base: net_base.map(|v| f::round(v, 2)),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            let key = |r: &CurrencyRow| r.net_base.map_or(f64::NEG_INFINITY, f64::abs);
            key(b).total_cmp(&key(a)).then(a.currency.cmp(&b.currency))
        });
        let total_base: Option<f64> = rows
            .iter()
            .filter(|r| r.net_base.is_some())
            .map(|r| r.net_base)
            .sum::<Option<f64>>()
            .map(|t| f::round(t, 2));
        let all_foreign: f64 = rows
            .iter()
            .filter(|r| r.currency != base)
            .filter_map(|r| r.one_pct_move)
            .sum();
        let out = CurrencyOut {
            meta: view.meta(),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            all_foreign_one_pct: Some(f::round(all_foreign, 2)),
            currencies: rows,
            total_base,
            net_liquidation: nlv,
            fx_rates: book.fx.clone(),
            unconverted: book.unconverted.clone(),
        };
        let mut md = view.header("Currency Exposure");
        let _ = writeln!(md, "Account: {} (base {base})\n", out.account);
        let table: Vec<Vec<String>> = out
            .currencies
            .iter()
            .map(|r| {
                vec![
                    r.currency.clone(),
                    f::money(Some(r.positions), &r.currency),
                    f::money(Some(r.cash), &r.currency),
                    f::money(Some(r.net), &r.currency),
                    match r.rate_to_base {
                        Some(x) if r.currency != base => format!("{x:.4}"),
                        Some(_) => "1 (base)".into(),
                        None => f::NA.into(),
                    },
                    f::money(r.net_base, &base),
                    f::pct_plain(r.share_pct, 1),
                    if r.currency == base {
                        "—".into()
                    } else {
                        f::signed_money(r.one_pct_move, &base)
                    },
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Currency",
                "Positions",
                "Cash",
                "Net",
                &format!("Rate → {base}"),
                &format!("Net ({base})"),
                "Share of NLV",
                &format!("+1% vs {base}"),
            ],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
        let _ = writeln!(
            md,
            "\n**Total (converted)**: {}",
            f::money(out.total_base, &base)
        );
        let _ = writeln!(md, "**NLV**: {}", f::money(nlv, &base));
        let _ = writeln!(
            md,
            "**All foreign currencies +1% vs {base}**: {}",
            f::signed_money(out.all_foreign_one_pct, &base)
        );
        let _ = writeln!(
            md,
            "\n_Method: positions at market value plus cash balances per currency, converted at the live rates below; a 1% move of a currency against {base} changes its net exposure's {base} value by 1% (a −1% move is the mirror image)._"
        );
        md.push_str(&super::account::fx_lines(&out.fx_rates, &out.unconverted));
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_position_detail

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionDetailParams {
    /// A held symbol, e.g. KRYX.
    pub symbol: String,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TechnicalSummary {
    pub sma20: Option<f64>,
    pub sma50: Option<f64>,
    pub sma200: Option<f64>,
    pub rsi14: Option<f64>,
    pub macd: Option<f64>,
    pub macd_signal: Option<f64>,
    pub bollinger_upper: Option<f64>,
    pub bollinger_lower: Option<f64>,
    pub atr14: Option<f64>,
    pub high_52w: Option<f64>,
    pub low_52w: Option<f64>,
    /// Plain-words reading of the above.
    pub signals: Vec<String>,
    pub bars_used: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecentBar {
    pub date: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PositionDetailOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub symbol: String,
    pub currency: String,
    pub quantity: f64,
    pub avg_cost: f64,
    pub cost_basis: f64,
    pub price: Option<f64>,
    pub market_value: Option<f64>,
    pub market_value_base: Option<f64>,
    /// Percent of gross position value (base currency).
    pub weight_pct: Option<f64>,
    pub unrealized_pnl: Option<f64>,
    pub unrealized_pnl_pct: Option<f64>,
    pub daily_pnl: Option<f64>,
    /// Initial / maintenance margin the position uses (what closing it would free), from a what-if; base currency.
    pub init_margin: Option<f64>,
    pub maint_margin: Option<f64>,
    pub margin_note: Option<String>,
    pub technicals: Option<TechnicalSummary>,
    pub recent_bars: Vec<RecentBar>,
    pub delayed: bool,
}

pub struct PositionDetail;

fn round4(v: Option<f64>) -> Option<f64> {
    f::json_num(v).map(|x| f::round(x, 4))
}

/// The same indicators and signals as `ibkr_technicals` (one computation, so the two tools can
/// never disagree), summarised for the position view.
fn technical_summary(bars: &[crate::model::Bar]) -> TechnicalSummary {
    let (trend, momentum, vol, levels) = super::live_data::compute_technicals(bars);
    let price = bars.last().map(|b| b.close);
    TechnicalSummary {
        sma20: round4(trend.sma20),
        sma50: round4(trend.sma50),
        sma200: round4(trend.sma200),
        rsi14: round4(momentum.rsi14),
        macd: round4(momentum.macd),
        macd_signal: round4(momentum.macd_signal),
        bollinger_upper: round4(vol.bollinger_upper),
        bollinger_lower: round4(vol.bollinger_lower),
        atr14: round4(vol.atr14),
        high_52w: levels.high_52w,
        low_52w: levels.low_52w,
        signals: super::live_data::signals(price, &trend, &momentum, &vol),
        bars_used: bars.len(),
    }
}

impl Tool for PositionDetail {
    const NAME: &'static str = "ibkr_position_detail";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "One held position in depth: cost basis, weight, P&L, margin it uses, technicals summary and recent daily bars.";
    type Params = PositionDetailParams;
    type Output = PositionDetailOut;

    async fn run(
        ctx: &ToolContext,
        p: PositionDetailParams,
    ) -> Result<Answer<PositionDetailOut>, ToolError> {
        let tool = Self::NAME;
        let symbol = support::symbol(tool, &p.symbol)?;
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        let Some(h) = book.find(&symbol).cloned() else {
            return Err(ToolError::new(format!(
                "{tool}: `{symbol}` is not held in {}. Held symbols: {}",
                book.account_label,
                book.held_list()
            )));
        };
        let base = book.base.clone();
        let pos = &h.position;
        let gross = book.gross_base();
        let cost_basis = pos.avg_cost * pos.quantity;
        // Margin the position uses = what closing it would free (IB what-if; no order placed).
        let (init_margin, maint_margin, margin_note) = match ctx.requests() {
            Ok(req) => {
                let order = WhatIfOrder {
                    account: book.account.account.clone(),
                    symbol: symbol.clone(),
                    action: if pos.quantity > 0.0 { "SELL" } else { "BUY" }.into(),
                    quantity: pos.quantity.abs(),
                    order_type: "MKT".into(),
                    limit_price: None,
                };
                match req.what_if(&order).await {
                    Ok(w) => (
                        w.init_margin_change.map(|c| f::round(-c, 2)),
                        w.maint_margin_change.map(|c| f::round(-c, 2)),
                        None,
                    ),
                    Err(e) => (None, None, Some(format!("what-if failed: {e}"))),
                }
            }
            Err(e) => (None, None, Some(e.message)),
        };
        let spec = risk_data::daily_spec(&symbol, &h.currency, 252);
        let (bars, bars_stale) = match super::market_data::bars_with_cache(ctx, tool, &spec).await {
            Ok((b, s)) => (Some(b), s),
            Err(_) => (None, None),
        };
        let tech = bars
            .as_ref()
            .filter(|b| !b.is_empty())
            .map(|b| technical_summary(b));
        let recent: Vec<RecentBar> = bars
            .as_ref()
            .map(|b| {
                b[b.len().saturating_sub(10)..]
                    .iter()
                    .rev()
                    .map(|x| RecentBar {
                        date: f::date(x.time),
                        open: x.open,
                        high: x.high,
                        low: x.low,
                        close: x.close,
                        volume: x.volume,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let stale = risk_data::worst_stale(view.stale.clone(), bars_stale);
        let out = PositionDetailOut {
            meta: support::meta(view.now, stale.as_ref()),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            symbol: symbol.clone(),
            currency: h.currency.clone(),
            quantity: pos.quantity,
            avg_cost: pos.avg_cost,
            cost_basis: f::round(cost_basis, 2),
            price: h.price,
            market_value: h.market_value.map(|v| f::round(v, 2)),
            market_value_base: h.value_base.map(|v| f::round(v, 2)),
            weight_pct: h
                .value_base
                .filter(|_| gross > 0.0)
                .map(|v| f::round(v.abs() / gross * 100.0, 4)),
            unrealized_pnl: f::json_num(pos.unrealized_pnl),
            unrealized_pnl_pct: match pos.unrealized_pnl {
                Some(u) if cost_basis != 0.0 => Some(f::round(u / cost_basis.abs() * 100.0, 4)),
                _ => None,
            },
            daily_pnl: f::json_num(pos.daily_pnl),
            init_margin,
            maint_margin,
            margin_note,
            technicals: tech,
            recent_bars: recent,
            delayed: h.delayed,
        };
        let ccy = &out.currency;
        let mut md = support::header(&format!("Position: {symbol}"), view.now, stale.as_ref());
        let _ = writeln!(md, "Account: {}\n", out.account);
        md.push_str(&f::kv_table(&[
            ("Shares", f::volume(Some(out.quantity))),
            ("Average Cost", f::money(Some(out.avg_cost), ccy)),
            ("Cost Basis", f::money(Some(out.cost_basis), ccy)),
            (
                "Price",
                format!(
                    "{}{}",
                    f::money(out.price, ccy),
                    if out.delayed { " (delayed)" } else { "" }
                ),
            ),
            ("Market Value", f::money(out.market_value, ccy)),
            (
                &format!("Market Value ({base})"),
                f::money(out.market_value_base, &base),
            ),
            ("Weight (of gross)", f::pct_plain(out.weight_pct, 1)),
            (
                "Unrealized P&L",
                format!(
                    "{} ({})",
                    f::signed_money(out.unrealized_pnl, ccy),
                    f::pct(out.unrealized_pnl_pct)
                ),
            ),
            ("Daily P&L", f::signed_money(out.daily_pnl, ccy)),
            ("Initial Margin Used", f::money(out.init_margin, &base)),
            ("Maint Margin Used", f::money(out.maint_margin, &base)),
        ]));
        if let Some(n) = &out.margin_note {
            let _ = writeln!(md, "\n_Margin unavailable: {n}_");
        } else {
            md.push_str("\n_Margin used = what closing the position would free, from IB's what-if engine (no order placed)._\n");
        }
        match &out.technicals {
            Some(t) => {
                let m = |v: Option<f64>| f::money(v, ccy);
                let _ = writeln!(md, "\n## Technicals ({} daily bars)", t.bars_used);
                md.push_str(&f::kv_table(&[
                    (
                        "SMA 20 / 50 / 200",
                        format!("{} / {} / {}", m(t.sma20), m(t.sma50), m(t.sma200)),
                    ),
                    ("RSI 14", f::number(t.rsi14, 1)),
                    (
                        "MACD / Signal",
                        format!("{} / {}", f::number(t.macd, 3), f::number(t.macd_signal, 3)),
                    ),
                    (
                        "Bollinger 20/2",
                        format!("{} – {}", m(t.bollinger_lower), m(t.bollinger_upper)),
                    ),
                    ("ATR 14", m(t.atr14)),
                    (
                        "52-Week Range",
                        format!("{} – {}", m(t.low_52w), m(t.high_52w)),
                    ),
                ]));
                for s in &t.signals {
                    let _ = writeln!(md, "- {s}");
                }
            }
            None => md.push_str("\n_No daily bars available, so no technicals._\n"),
        }
        if !out.recent_bars.is_empty() {
            md.push_str("\n## Recent Daily Bars\n");
            md.push_str(&f::ohlcv_table(
                "Date",
                out.recent_bars
                    .iter()
                    .map(|b| (b.date.as_str(), b.open, b.high, b.low, b.close, b.volume)),
            ));
        }
        if out.delayed {
            md.push('\n');
            md.push_str(&f::delayed_note(std::slice::from_ref(&symbol)).unwrap_or_default());
        }
        md.push_str(&super::account::fx_lines(&book.fx, &book.unconverted));
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_rebalance_planner

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceParams {
    /// Target weights of NLV as "SYM:PCT,…", e.g. "KRYX:30,VLTX:20,CASH:10". Held symbols left out go to 0%; CASH (optional) is what is left over.
    pub targets: String,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RebalanceRow {
    pub symbol: String,
    /// Percent of NLV.
    pub current_weight_pct: Option<f64>,
    pub target_weight_pct: f64,
    /// Base currency.
    pub current_value: f64,
    pub target_value: f64,
    /// BUY, SELL or HOLD.
    pub action: String,
    /// Whole shares (rounded toward zero).
    pub shares: f64,
    /// Trade amount, base currency.
    pub amount: f64,
    pub price: Option<f64>,
    pub currency: String,
    /// Why a row has no trade despite a different target (no price, no FX rate).
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RebalanceOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    /// NLV, the basis of every weight.
    pub basis: f64,
    pub rows: Vec<RebalanceRow>,
    pub cash: f64,
    pub cash_current_pct: f64,
    pub cash_target_pct: f64,
    pub cash_after_pct: f64,
    pub total_buys: f64,
    pub total_sells: f64,
    pub fx_rates: Vec<FxUsed>,
}

pub struct RebalancePlanner;

impl Tool for RebalancePlanner {
    const NAME: &'static str = "ibkr_rebalance_planner";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "Trades to move the book to target weights (SYM:PCT,… with optional CASH): current vs target weight, action, whole shares, amount.";
    type Params = RebalanceParams;
    type Output = RebalanceOut;

    async fn run(ctx: &ToolContext, p: RebalanceParams) -> Result<Answer<RebalanceOut>, ToolError> {
        let tool = Self::NAME;
        let targets = rebalance::parse_targets(&p.targets)
            .map_err(|e| ToolError::new(format!("{tool}: {e}")))?;
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        // Known: held symbols plus symbols with a live stock quote (a buy of something new).
        let quoted: Vec<&str> = view
            .snap
            .quotes
            .keys()
            .filter(|k| !k.contains('.'))
            .map(String::as_str)
            .collect();
        let mut known: Vec<&str> = book.symbols();
        known.extend(quoted.iter().copied().filter(|q| book.find(q).is_none()));
        if let Err(e) = rebalance::check_symbols(&targets, &known) {
            let msg = match e {
                rebalance::TargetError::UnknownSymbols { unknown, .. } => format!(
                    "{tool}: unknown symbol(s) {unknown}: targets must be held symbols ({}) or CASH",
                    book.held_list()
                ),
                other => format!("{tool}: {other}"),
            };
            return Err(ToolError::new(msg));
        }
        let base = book.base.clone();
        let Some(basis) = book.nlv().filter(|n| *n > 0.0) else {
            return Err(ToolError::new(format!(
                "{tool}: the account's NLV is not known (or not positive), so weights cannot be computed."
            )));
        };
        let cash = book.get(tags::TOTAL_CASH_VALUE).unwrap_or(0.0);
        let mut holdings: Vec<rebalance::Holding> = book
            .holdings
            .iter()
            .map(|h| rebalance::Holding {
                symbol: h.symbol.clone(),
                quantity: h.position.quantity,
                price: h.price.unwrap_or(f64::NAN),
                fx_to_base: h.fx_to_base.unwrap_or(f64::NAN),
                multiplier: h.multiplier(),
            })
            .collect();
        for t in targets.iter().filter(|t| t.symbol != "CASH") {
            if book.find(&t.symbol).is_none()
                && let Some(q) = view.snap.quotes.get(&t.symbol)
            {
                holdings.push(rebalance::Holding {
                    symbol: t.symbol.clone(),
                    quantity: 0.0,
                    price: q.price().unwrap_or(f64::NAN),
                    fx_to_base: book.rate(&q.currency).unwrap_or(f64::NAN),
                    multiplier: 1.0,
                });
            }
        }
        let plan = rebalance::plan(&holdings, cash, basis, &targets);
        let rows: Vec<RebalanceRow> = plan
            .rows
            .iter()
            .map(|r| {
                let hold = holdings.iter().find(|h| h.symbol == r.symbol);
                let price = hold.map(|h| h.price).filter(|x| x.is_finite());
                let currency = book
                    .find(&r.symbol)
                    .map(|h| h.currency.clone())
                    .or_else(|| view.snap.quotes.get(&r.symbol).map(|q| q.currency.clone()))
                    .unwrap_or_default();
                let unpriced = hold.is_none_or(|h| {
                    !(h.price.is_finite() && h.price > 0.0 && h.fx_to_base.is_finite())
                });
                RebalanceRow {
                    symbol: r.symbol.clone(),
                    current_weight_pct: f::json_num(Some(r.current_weight * 100.0))
                        .map(|x| f::round(x, 4)),
                    target_weight_pct: f::round(r.target_weight * 100.0, 4),
                    current_value: f::round(r.current_value, 2),
                    target_value: f::round(r.target_value, 2),
                    action: r.action.label().into(),
                    shares: r.shares,
                    amount: f::round(r.amount, 2),
                    price,
                    note: unpriced.then(|| format!("no usable price or {currency}→{base} rate")),
                    currency,
                }
            })
            .collect();
        let total = |a: &str| -> f64 {
            f::round(
                rows.iter()
                    .filter(|r| r.action == a)
                    .map(|r| r.amount)
                    .sum(),
                2,
            )
        };
        let out = RebalanceOut {
            meta: view.meta(),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            basis: f::round(basis, 2),
            cash: f::round(cash, 2),
            cash_current_pct: f::round(cash / basis * 100.0, 4),
            cash_target_pct: f::round(plan.cash_target_weight * 100.0, 4),
            cash_after_pct: f::round(plan.cash_after_weight * 100.0, 4),
            total_buys: total("BUY"),
            total_sells: total("SELL"),
            rows,
            fx_rates: book.fx.clone(),
        };
        let mut md = view.header("Rebalance Plan");
        let _ = writeln!(
            md,
            "Account: {}\n**Basis (NLV)**: {}\n",
            out.account,
            f::money(Some(out.basis), &base)
        );
        let mut shown: Vec<&RebalanceRow> = out.rows.iter().collect();
        // Trades first (largest amount), then the holds.
        shown.sort_by(|a, b| b.amount.total_cmp(&a.amount).then(a.symbol.cmp(&b.symbol)));
        let table: Vec<Vec<String>> = shown
            .iter()
            .take(TABLE_ROWS * 2)
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    f::pct_plain(r.current_weight_pct, 1),
                    f::pct_plain(Some(r.target_weight_pct), 1),
                    r.action.clone(),
                    f::volume(Some(r.shares)),
                    f::money(Some(r.amount), &base),
                    f::money(r.price, &r.currency),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Symbol", "Current", "Target", "Action", "Shares", "Amount", "Price",
            ],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
        if shown.len() > TABLE_ROWS * 2 {
            let _ = writeln!(
                md,
                "\n_{} of {} rows shown (largest trades first); all are in the JSON answer._",
                TABLE_ROWS * 2,
                shown.len()
            );
        }
        let _ = writeln!(
            md,
            "\n**Cash**: {} now ({}), target {}, after trades {}",
            f::money(Some(out.cash), &base),
            f::pct_plain(Some(out.cash_current_pct), 1),
            f::pct_plain(Some(out.cash_target_pct), 1),
            f::pct_plain(Some(out.cash_after_pct), 1)
        );
        let _ = writeln!(
            md,
            "**Buys**: {} · **Sells**: {}",
            f::money(Some(out.total_buys), &base),
            f::money(Some(out.total_sells), &base)
        );
        for r in out.rows.iter().filter(|r| r.note.is_some()) {
            let _ = writeln!(
                md,
                "\n- {}: {}",
                r.symbol,
                r.note.as_deref().unwrap_or_default()
            );
        }
        let _ = writeln!(
            md,
            "\n_Method: weights are shares of NLV in {base}; held symbols not in the targets go to 0%; share counts round toward zero; prices are current marks, so fills will differ. A plan only — nothing is ordered._"
        );
        md.push_str(&super::account::fx_lines(&out.fx_rates, &[]));
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}
