//! `ibkr_position_detail`: one held position in depth: cost basis, weight, P&L, the margin it
//! uses, a technicals summary and recent daily bars.

use crate::gateway::WhatIfOrder;
use crate::model::{Bar, OrderType, Side};
use crate::tools::format as f;
use crate::tools::format::fx_lines;
use crate::tools::live_data::technicals::{self, Indicators};
use crate::tools::market_data::lookup::bars_with_cache;
use crate::tools::risk_data;
use crate::tools::support::{self, FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

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
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub sma20: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub sma50: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub sma200: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub rsi14: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub macd: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub macd_signal: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub bollinger_upper: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub bollinger_lower: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub atr14: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub high_52w: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub low_52w: Option<f64>,
    /// Plain-words reading of the above.
    pub signals: Vec<String>,
    pub bars_used: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecentBar {
    pub date: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub open: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub high: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub low: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub close: f64,
    #[serde(serialize_with = "crate::tools::format::dp0")]
    pub volume: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PositionDetailOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub quantity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub avg_cost: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cost_basis: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub price: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value_base: Option<f64>,
    /// Percent of gross position value (base currency).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub weight_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized_pnl: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized_pnl_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily_pnl: Option<f64>,
    /// Initial / maintenance margin the position uses (what closing it would free), from a what-if; base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin: Option<f64>,
    pub margin_note: Option<String>,
    pub technicals: Option<TechnicalSummary>,
    pub recent_bars: Vec<RecentBar>,
    pub delayed: bool,
    /// FX rates used to value the book (footnote).
    #[serde(skip)]
    pub fx_rates: Vec<FxUsed>,
    /// Currencies without a rate (footnote).
    #[serde(skip)]
    pub unconverted: Vec<String>,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct PositionDetail;

fn round4(v: Option<f64>) -> Option<f64> {
    f::json_num(v).map(|x| f::round(x, 4))
}

/// The same indicators and signals as `ibkr_technicals` (one computation, so the two tools can
/// never disagree), summarised for the position view.
fn technical_summary(bars: &[Bar]) -> TechnicalSummary {
    let Indicators {
        trend,
        momentum,
        volatility: vol,
        levels,
    } = technicals::compute_technicals(bars);
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
        signals: technicals::signals(price, &trend, &momentum, &vol),
        bars_used: bars.len(),
    }
}

impl Tool for PositionDetail {
    const NAME: &'static str = "ibkr_position_detail";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "One held position in depth: cost basis, weight, P&L, margin it uses, technicals summary and recent daily bars.";
    type Params = PositionDetailParams;
    type Output = PositionDetailOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

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
        let (init_margin, maint_margin, margin_note) =
            margin_used(ctx, &book.account.account, &symbol, pos.quantity).await;
        let spec = risk_data::daily_spec(&symbol, &h.currency, 252);
        let (bars, bars_stale) = match bars_with_cache(ctx, tool, &spec).await {
            Ok((b, s)) => (Some(b), s),
            Err(_) => (None, None),
        };
        let tech = bars
            .as_ref()
            .filter(|b| !b.is_empty())
            .map(|b| technical_summary(b));
        let recent = bars.as_deref().map(|b| recent_bars(b)).unwrap_or_default();
        let stale = risk_data::worst_stale(view.stale.clone(), bars_stale);
        let mut out = PositionDetailOut {
            method: method_words(&base),
            warnings: Vec::new(),
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
            fx_rates: book.fx.clone(),
            unconverted: book.unconverted.clone(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// Initial and maintenance margin the position uses, i.e. what closing it would free (an IB
/// what-if; no order placed), or why it is unknown.
async fn margin_used(
    ctx: &ToolContext,
    account: &str,
    symbol: &str,
    quantity: f64,
) -> (Option<f64>, Option<f64>, Option<String>) {
    let req = match ctx.requests() {
        Ok(req) => req,
        Err(e) => return (None, None, Some(e.message)),
    };
    let order = WhatIfOrder {
        account: account.to_string(),
        symbol: symbol.to_string(),
        action: if quantity > 0.0 {
            Side::Sell
        } else {
            Side::Buy
        },
        quantity: quantity.abs(),
        order_type: OrderType::Mkt,
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

/// The last ten daily bars, newest first.
fn recent_bars(bars: &[Bar]) -> Vec<RecentBar> {
    bars[bars.len().saturating_sub(10)..]
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
}

pub fn render(out: &PositionDetailOut) -> String {
    let ccy = &out.currency;
    let base = out.base_currency.as_str();
    let symbol = &out.symbol;
    let mut md = out.meta.header(&format!("Position: {symbol}"));
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
            f::money(out.market_value_base, base),
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
        ("Initial Margin Used", f::money(out.init_margin, base)),
        ("Maint Margin Used", f::money(out.maint_margin, base)),
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
        md.push_str(&f::delayed_note(std::slice::from_ref(symbol)).unwrap_or_default());
    }
    md.push_str(&fx_lines(&out.fx_rates, &out.unconverted));
    md.push_str(&f::method_line(&out.method));
    md
}

/// How the position figures are computed, in the base currency `base`.
fn method_words(base: &str) -> String {
    format!(
        "cost basis = quantity × average cost; market value at the current price, converted to {base} at the FX rate listed; weight = share of the book's gross position value in {base}; unrealized P&L % = unrealized P&L / cost basis; margin from an IB what-if order closing the position (never placed); technicals from daily closes as ibkr_technicals computes them"
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &PositionDetailOut) -> String {
    use crate::tools::format as f;
    f::headline(&[
        format!(
            "{} {} @ {} {}",
            out.symbol,
            f::volume(Some(out.quantity)),
            f::number(out.price, 2),
            out.currency
        ),
        format!(
            "value {} {} ({} of gross)",
            f::number(out.market_value_base, 2),
            out.base_currency,
            f::pct_plain(out.weight_pct, 1)
        ),
        format!(
            "unrealized {} {} ({})",
            f::signed(out.unrealized_pnl, 2),
            out.currency,
            f::pct(out.unrealized_pnl_pct)
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rising(n: usize) -> Vec<Bar> {
        let day0 = 1_755_907_200; // 2025-08-23 00:00 UTC: the last bar is 2026-05-01
        (0..n)
            .map(|i| {
                let c = 40.0 + i as f64 * 0.06;
                Bar {
                    time: day0 + i as i64 * 86_400,
                    open: c - 0.1,
                    high: c + 0.6,
                    low: c - 0.5,
                    close: c,
                    volume: 1_200_000.0,
                    wap: c,
                    count: 1,
                }
            })
            .collect()
    }

    #[test]
    fn render_position_detail() {
        let bars = rising(252);
        let out = PositionDetailOut {
            method: method_words("USD"),
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            base_currency: "USD".into(),
            symbol: "KRYX".into(),
            currency: "USD".into(),
            quantity: 1_200.0,
            avg_cost: 41.3,
            cost_basis: 49_560.0,
            price: Some(54.18),
            market_value: Some(65_016.0),
            market_value_base: Some(65_016.0),
            weight_pct: Some(30.71),
            unrealized_pnl: Some(15_456.0),
            unrealized_pnl_pct: Some(31.1864),
            daily_pnl: Some(-3_348.0),
            init_margin: Some(16_254.0),
            maint_margin: Some(16_254.0),
            margin_note: None,
            technicals: Some(technical_summary(&bars)),
            recent_bars: recent_bars(&bars),
            delayed: true,
            fx_rates: vec![],
            unconverted: vec![],
        };
        let bare = PositionDetailOut {
            symbol: "HDRX".into(),
            currency: "CAD".into(),
            market_value_base: Some(14_600.0),
            init_margin: None,
            maint_margin: None,
            margin_note: Some("what-if failed: the gateway is not connected".into()),
            technicals: None,
            recent_bars: vec![],
            delayed: false,
            fx_rates: vec![FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
            ..out.clone()
        };
        insta::assert_snapshot!(
            "render_position_detail",
            format!("{}\n---\n\n{}", render(&out), render(&bare))
        );
        insta::assert_snapshot!(
            "headline_position_detail",
            [headline(&out), headline(&bare)].join("\n")
        );
    }
}
